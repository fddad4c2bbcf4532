//! The layout of the repository as kustomize and Flux see it: which
//! kustomization includes which file, which files are patches, the
//! namespace a kustomization gives its resources, which files a Flux
//! Kustomization applies, and the git remote of each root.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::FileData;
use super::refs::{PathRole, kustomize_file_name};

/// Lexically normalises `a/./b/../c` to `a/c`.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Paths kustomize fetches from elsewhere (git, http).
pub fn is_remote(p: &str) -> bool {
    p.contains("://")
        || p.starts_with("github.com/")
        || p.starts_with("git@")
        || p.contains("?ref=")
        || p.contains("//")
}

#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The workspace's files in path order: the files below a directory
    /// are a run of it (paths compare by component).
    pub files: Vec<PathBuf>,
    /// Every directory holding a workspace file (and their ancestors).
    pub dirs: HashSet<PathBuf>,
    /// directory → its kustomization file.
    pub kfile_of_dir: HashMap<PathBuf, PathBuf>,
    /// kustomization file → resources and components it includes (files or
    /// kustomization files).
    pub includes: HashMap<PathBuf, Vec<PathBuf>>,
    pub included_by: HashMap<PathBuf, Vec<PathBuf>>,
    /// Files used as patches (their objects are partial).
    pub patch_files: HashSet<PathBuf>,
    /// Namespace given to a file's objects by the kustomizations including it,
    /// with the kustomization that set it.
    pub kustomize_ns: HashMap<PathBuf, (String, PathBuf)>,
}

impl Layout {
    pub fn build(files: &HashMap<PathBuf, Arc<FileData>>) -> Layout {
        let mut l = Layout::default();
        for p in files.keys() {
            l.files.push(p.clone());
            let mut d = p.parent();
            while let Some(dir) = d {
                if !l.dirs.insert(dir.to_path_buf()) {
                    break;
                }
                d = dir.parent();
            }
            if kustomize_file_name(p)
                && let Some(dir) = p.parent()
            {
                l.kfile_of_dir.insert(dir.to_path_buf(), p.clone());
            }
        }
        l.files.sort_unstable();
        for (p, f) in files {
            let Some(k) = &f.summary.refs.kustomize else { continue };
            let dir = p.parent().unwrap_or(Path::new("/"));
            let mut inc = Vec::new();
            for pr in &k.paths {
                if is_remote(&pr.value) || pr.value.contains("${") {
                    continue;
                }
                let target = normalize(&dir.join(&pr.value));
                match pr.role {
                    PathRole::Resource | PathRole::Component => {
                        if l.has_file(&target) {
                            inc.push(target);
                        } else if let Some(kf) = l.kfile_of_dir.get(&target) {
                            inc.push(kf.clone());
                        }
                    }
                    PathRole::Patch => {
                        l.patch_files.insert(target);
                    }
                    _ => {}
                }
            }
            for t in &inc {
                l.included_by.entry(t.clone()).or_default().push(p.clone());
            }
            l.includes.insert(p.clone(), inc);
        }
        // namespaces: from the outermost kustomization down (kustomize's
        // namespace transformer of an overlay wins over the base's)
        let mut roots: Vec<&PathBuf> = l.includes.keys().filter(|k| !l.included_by.contains_key(*k)).collect();
        roots.sort();
        let mut visited = HashSet::new();
        let mut ns_out: HashMap<PathBuf, Vec<Option<(String, PathBuf)>>> = HashMap::new();
        for r in roots {
            l.propagate_ns(files, r, None, &mut visited, &mut ns_out);
        }
        // a file built into several namespaces (a base of two overlays) has
        // no single namespace: left unknown
        l.kustomize_ns = ns_out
            .into_iter()
            .filter_map(|(p, v)| {
                let first = v.first()?.clone()?;
                v.iter().all(|x| x.as_ref().is_some_and(|x| x.0 == first.0)).then_some((p, first))
            })
            .collect();
        l
    }

    fn propagate_ns(
        &self,
        files: &HashMap<PathBuf, Arc<FileData>>,
        k: &Path,
        inherited: Option<(String, PathBuf)>,
        visited: &mut HashSet<(PathBuf, Option<String>)>,
        out: &mut HashMap<PathBuf, Vec<Option<(String, PathBuf)>>>,
    ) {
        // an explicit stack keeps deep or cyclic inclusions safe
        let mut stack = vec![(k.to_path_buf(), inherited)];
        while let Some((k, inherited)) = stack.pop() {
            if !visited.insert((k.clone(), inherited.as_ref().map(|i| i.0.clone()))) {
                continue;
            }
            let own = files
                .get(&k)
                .and_then(|f| f.summary.refs.kustomize.as_ref())
                .and_then(|ki| ki.namespace.as_ref())
                .map(|n| (n.value.to_string(), k.clone()));
            let eff = inherited.or(own);
            for child in self.includes.get(&k).into_iter().flatten() {
                if self.includes.contains_key(child) {
                    stack.push((child.clone(), eff.clone()));
                } else {
                    out.entry(child.clone()).or_default().push(eff.clone());
                }
            }
        }
    }

    /// True when `p` is a workspace file or directory, or exists on disk.
    pub fn exists(&self, p: &Path) -> bool {
        self.has_file(p) || self.dirs.contains(p) || p.exists()
    }

    pub fn is_dir(&self, p: &Path) -> bool {
        self.dirs.contains(p) || p.is_dir()
    }

    /// Is this a file of the workspace?
    pub fn has_file(&self, p: &Path) -> bool {
        self.files.binary_search_by(|f| f.as_path().cmp(p)).is_ok()
    }

    /// Every file a kustomize build of `dir` reads objects from: through its
    /// kustomization file, or (as kustomize-controller generates one) every
    /// YAML file below it.
    pub fn applied_files(&self, dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if let Some(k) = self.kfile_of_dir.get(dir) {
            self.collect(k, &mut out, &mut seen);
            return out;
        }
        // the run of files below `dir` (a search, not a scan: a build asks
        // this for every Flux Kustomization)
        let from = self.files.partition_point(|f| f.as_path() < dir);
        for f in self.files[from..].iter().take_while(|f| f.starts_with(dir)) {
            // the nearest kustomization between the file and `dir`
            let mut nearest = None;
            let mut d = f.parent();
            while let Some(x) = d {
                if !x.starts_with(dir) {
                    break;
                }
                if let Some(k) = self.kfile_of_dir.get(x) {
                    nearest = Some(k);
                }
                d = x.parent();
            }
            match nearest {
                None => {
                    if seen.insert(f.clone()) {
                        out.push(f.clone());
                    }
                }
                Some(k) => self.collect(k, &mut out, &mut seen),
            }
        }
        out
    }

    fn collect(&self, k: &Path, out: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>) {
        let mut stack = vec![k.to_path_buf()];
        while let Some(k) = stack.pop() {
            if !seen.insert(k.clone()) {
                continue;
            }
            for c in self.includes.get(&k).into_iter().flatten() {
                if self.includes.contains_key(c) {
                    stack.push(c.clone());
                } else if seen.insert(c.clone()) {
                    out.push(c.clone());
                }
            }
        }
    }
}

/// The git repository a root belongs to.
#[derive(Clone, Debug, Default)]
pub struct GitInfo {
    pub root: PathBuf,
    /// Normalised remote URLs.
    pub remotes: Vec<String>,
    pub branch: Option<String>,
}

/// Reads `.git/config` and `.git/HEAD` above `start`.
pub fn git_info(start: &Path) -> Option<GitInfo> {
    let mut d = Some(start);
    while let Some(dir) = d {
        let git = dir.join(".git");
        if git.is_dir() {
            let config = std::fs::read_to_string(git.join("config")).unwrap_or_default();
            let remotes = config
                .lines()
                .filter_map(|l| l.trim().strip_prefix("url"))
                .filter_map(|l| l.trim().strip_prefix('='))
                .map(|u| normalize_url(u.trim()))
                .collect();
            let head = std::fs::read_to_string(git.join("HEAD")).unwrap_or_default();
            let branch = head.trim().strip_prefix("ref: refs/heads/").map(str::to_string);
            return Some(GitInfo { root: dir.to_path_buf(), remotes, branch });
        }
        d = dir.parent();
    }
    None
}

/// `git@github.com:org/repo.git`, `ssh://git@github.com/org/repo`,
/// `https://github.com/org/repo/` → `github.com/org/repo`.
pub fn normalize_url(u: &str) -> String {
    let mut s = u.trim().to_ascii_lowercase();
    for p in ["https://", "http://", "ssh://", "git://", "git+ssh://"] {
        if let Some(r) = s.strip_prefix(p) {
            s = r.to_string();
        }
    }
    if let Some((_, r)) = s.split_once('@') {
        s = r.to_string();
    }
    // scp-like `host:org/repo`
    if let Some((host, rest)) = s.split_once(':') {
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches('/');
        s = format!("{host}/{rest}");
    }
    let s = s.trim_end_matches('/');
    s.strip_suffix(".git").unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths_and_urls() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(normalize_url("git@github.com:Org/Repo.git"), "github.com/org/repo");
        assert_eq!(normalize_url("ssh://git@github.com/org/repo"), "github.com/org/repo");
        assert_eq!(normalize_url("https://github.com/org/repo/"), "github.com/org/repo");
        assert!(is_remote("github.com/org/repo//deploy?ref=v1"));
        assert!(!is_remote("../base"));
    }

    /// The files a directory applies are found by a search in path order:
    /// siblings whose names extend the directory's (`app-1-x`, `app-10`)
    /// sort around its files and are not taken; files in its
    /// sub-directories are, unless a kustomization decides.
    #[test]
    fn applied_files_are_the_files_below_the_directory() {
        let mut files = HashMap::new();
        for p in [
            "/r/apps/app-1.yaml",
            "/r/apps/app-1/a.yaml",
            "/r/apps/app-1/sub/d.yaml",
            "/r/apps/app-1-x/c.yaml",
            "/r/apps/app-10/b.yaml",
            "/r/apps/app-0/z.yaml",
        ] {
            let path = PathBuf::from(p);
            let text = "kind: ConfigMap\n";
            let index = Arc::new(crate::text::LineIndex::new(text));
            let data =
                crate::workspace::FileData::new(path.clone(), text.into(), index, None, None, &Default::default());
            files.insert(path, Arc::new(data));
        }
        let l = Layout::build(&files);
        let got = l.applied_files(Path::new("/r/apps/app-1"));
        assert_eq!(got, vec![PathBuf::from("/r/apps/app-1/a.yaml"), PathBuf::from("/r/apps/app-1/sub/d.yaml")]);
        assert_eq!(l.applied_files(Path::new("/r/apps")).len(), 6);
        assert!(l.applied_files(Path::new("/r/other")).is_empty());
    }
}
