//! Navigation along references: definition, references, rename, links.
//!
//! Everything goes through the workspace's reference model (resolved
//! references and the reverse index), so requests never rescan file texts.

use std::path::{Path, PathBuf};

use super::Edit;
use crate::text::TextRange;
use crate::workspace::namespaces::{is_remote, normalize};
use crate::workspace::refs::PathRole;
use crate::workspace::resolve::{
    ApplierDir, Origin, RefModel, Site, TargetId, object_name_at, ref_at, target_name_range,
};
use crate::workspace::{Analysis, FileData};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub path: PathBuf,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentLink {
    pub range: TextRange,
    /// A file path or a URL.
    pub target: String,
    pub tooltip: Option<String>,
}

fn name_loc(a: &Analysis, model: &RefModel, t: TargetId) -> Option<Location> {
    let (path, range) = target_name_range(&model.targets[t], &|p| a.file(p).cloned())?;
    Some(Location { path, range })
}

/// The file a kustomization path or a Flux `spec.path` leads to: the file
/// itself, or the directory's kustomization file.
fn path_target(model: &RefModel, abs: &Path) -> Option<PathBuf> {
    if model.layout.has_file(abs) || abs.is_file() {
        return Some(abs.to_path_buf());
    }
    if let Some(k) = model.layout.kfile_of_dir.get(abs) {
        return Some(k.clone());
    }
    None
}

pub fn goto_definition(a: &Analysis, file: &FileData, offset: usize) -> Vec<Location> {
    let model = a.ref_model();
    if let Some(i) = ref_at(file, offset)
        && let Some(res) = model.resolution(&file.path, i)
    {
        let locs: Vec<Location> = res.targets.iter().filter_map(|&t| name_loc(a, &model, t)).collect();
        if !locs.is_empty() {
            return locs;
        }
    }
    if let Some(i) = super::image_markers::marker_at(file, offset)
        && let Some(res) = model.marker_resolution(&file.path, i)
    {
        return res.targets.iter().filter_map(|&t| name_loc(a, &model, t)).collect();
    }
    if let Some(locs) = super::substitution::variable_definitions(a, file, offset) {
        return locs;
    }
    // kustomization paths and Flux spec.path
    let dir = file.path.parent().unwrap_or(Path::new("/"));
    if let Some(k) = &file.summary.refs.kustomize
        && let Some(p) = k.paths.iter().find(|p| p.range.contains_inclusive(offset))
        && !is_remote(&p.value)
        && let Some(t) = path_target(&model, &normalize(&dir.join(&p.value)))
    {
        return vec![Location { path: t, range: TextRange::empty(0) }];
    }
    for (ai, ap) in file.summary.refs.appliers.iter().enumerate() {
        if ap.path.as_ref().is_some_and(|p| p.range.contains_inclusive(offset))
            && let Some(ApplierDir::Found(d)) = model.applier_dirs.get(&(file.path.clone(), ai))
            && let Some(t) = path_target(&model, d)
        {
            return vec![Location { path: t, range: TextRange::empty(0) }];
        }
    }
    Vec::new()
}

/// The object (targets) under the cursor: its `metadata.name`, a reference
/// to it or an image marker naming it. The group holds the object and its
/// patches (partial copies that kustomize merges into it).
fn targets_at(a: &Analysis, model: &RefModel, file: &FileData, offset: usize) -> Option<(Vec<TargetId>, TextRange)> {
    let first = if let Some(oi) = object_name_at(file, offset) {
        let range = file.summary.objects[oi].name.as_ref()?.range;
        (model.target_of(&file.path, oi)?, range)
    } else if let Some(i) =
        ref_at(file, offset).filter(|&i| file.summary.refs.refs[i].name.range.contains_inclusive(offset))
    {
        let res = model.resolution(&file.path, i)?;
        (*res.targets.first()?, file.summary.refs.refs[i].name.range)
    } else if let Some(i) = super::image_markers::marker_at(file, offset) {
        let m = &file.summary.refs.markers[i];
        if !m.name_range.contains_inclusive(offset) {
            return None;
        }
        let res = model.marker_resolution(&file.path, i)?;
        (*res.targets.first()?, m.name_range)
    } else if let Some((pi, p)) =
        file.summary.refs.produced.iter().enumerate().find(|(_, p)| p.name.range.contains_inclusive(offset))
    {
        let _ = p;
        let t = (0..model.targets.len()).find(|&t| {
            matches!(&model.targets[t].origin, Origin::Produced { path, produced, .. } if path == &file.path && *produced == pi)
        })?;
        (t, file.summary.refs.produced[pi].name.range)
    } else {
        return None;
    };
    let _ = a;
    let t0 = &model.targets[first.0];
    let mut group = vec![first.0];
    // the object and its patches (or, from a patch, the object it patches)
    for &t in model.lookup(&t0.kind, &t0.name) {
        let tg = &model.targets[t];
        if t != first.0 && (tg.patch || t0.patch) && (tg.ns.is_none() || t0.ns.is_none() || tg.ns == t0.ns) {
            group.push(t);
        }
    }
    Some((group, first.1))
}

fn site_range(a: &Analysis, site: &Site) -> Option<Location> {
    match site {
        Site::Ref(p, i) => {
            let f = a.file(p)?;
            Some(Location { path: p.clone(), range: f.summary.refs.refs.get(*i)?.name.range })
        }
        Site::Marker(p, i) => {
            let f = a.file(p)?;
            Some(Location { path: p.clone(), range: f.summary.refs.markers.get(*i)?.name_range })
        }
    }
}

pub fn references(a: &Analysis, file: &FileData, offset: usize, include_declaration: bool) -> Vec<Location> {
    let model = a.ref_model();
    let Some((group, _)) = targets_at(a, &model, file, offset) else { return Vec::new() };
    let mut out = Vec::new();
    for &t in &group {
        if include_declaration {
            out.extend(name_loc(a, &model, t));
        }
        out.extend(model.sites_of(t).iter().filter_map(|s| site_range(a, s)));
    }
    out.sort();
    out.dedup();
    out
}

pub fn prepare_rename(a: &Analysis, file: &FileData, offset: usize) -> Option<TextRange> {
    let model = a.ref_model();
    let (group, range) = targets_at(a, &model, file, offset)?;
    // objects created by the Flux installation cannot be renamed here
    if group.iter().any(|&t| model.targets[t].origin == Origin::Bootstrap) {
        return None;
    }
    Some(range)
}

/// Edits (each with its path set) that rename the object at the cursor.
pub fn rename(a: &Analysis, file: &FileData, offset: usize, new_name: &str) -> Option<Vec<Edit>> {
    let new_name = new_name.trim();
    if new_name.is_empty() || new_name.chars().any(|c| c.is_whitespace() || c == ':' || c == '"' || c == '#') {
        return None;
    }
    prepare_rename(a, file, offset)?;
    let locs = references(a, file, offset, true);
    if locs.is_empty() {
        return None;
    }
    Some(
        locs.into_iter()
            .map(|l| {
                // keep the quoting of quoted names
                let f = a.file(&l.path);
                let old = f.map(|f| &f.text[l.range.start..l.range.end]).unwrap_or("");
                let range = match old.as_bytes().first() {
                    Some(b'"') | Some(b'\'') if l.range.len() >= 2 => {
                        TextRange::new(l.range.start + 1, l.range.end - 1)
                    }
                    _ => l.range,
                };
                Edit { path: Some(l.path), range, new_text: new_name.to_string() }
            })
            .collect(),
    )
}

pub fn document_links(a: &Analysis, file: &FileData) -> Vec<DocumentLink> {
    let model = a.ref_model();
    let mut out = Vec::new();
    let dir = file.path.parent().unwrap_or(Path::new("/"));
    if let Some(k) = &file.summary.refs.kustomize {
        for p in &k.paths {
            if p.value.starts_with("https://") || p.value.starts_with("http://") {
                out.push(DocumentLink { range: p.range, target: p.value.clone(), tooltip: None });
                continue;
            }
            if is_remote(&p.value) {
                if p.value.starts_with("github.com/") {
                    let url = p.value.split("//").next().unwrap_or(&p.value);
                    let url = url.split('?').next().unwrap_or(url);
                    out.push(DocumentLink {
                        range: p.range,
                        target: format!("https://{url}"),
                        tooltip: Some("remote base".into()),
                    });
                }
                continue;
            }
            let abs = normalize(&dir.join(&p.value));
            let target = path_target(&model, &abs)
                .or_else(|| (p.role != PathRole::Resource && abs.exists()).then(|| abs.clone()));
            if let Some(t) = target {
                out.push(DocumentLink { range: p.range, target: t.display().to_string(), tooltip: None });
            }
        }
    }
    for (ai, ap) in file.summary.refs.appliers.iter().enumerate() {
        let (Some(path), Some(ApplierDir::Found(d))) = (&ap.path, model.applier_dirs.get(&(file.path.clone(), ai)))
        else {
            continue;
        };
        let target = path_target(&model, d).unwrap_or_else(|| d.clone());
        out.push(DocumentLink {
            range: path.range,
            target: target.display().to_string(),
            tooltip: Some("directory applied by this Kustomization".into()),
        });
    }
    // URLs of sources
    for o in &file.summary.objects {
        if o.class != crate::workspace::ObjectClass::Flux {
            continue;
        }
        let doc = &file.syntax.docs[o.doc];
        for key in ["url"] {
            if let Some((v, r)) = doc.parsed.tree.lookup_str(&["spec", key])
                && (v.starts_with("https://") || v.starts_with("http://"))
            {
                let r = doc.abs(r);
                let quoted = r.len() > v.len();
                let r = if quoted { TextRange::new(r.start + 1, r.end - 1) } else { r };
                out.push(DocumentLink { range: r, target: v.to_string(), tooltip: None });
            }
        }
    }
    out.sort_by_key(|l| l.range);
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ide::fixture::{Fixture, ROOT};

    const REPO: &str = "# file: infra/repo.yaml\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  url: https://stefanprodan.github.io/podinfo\n";
    fn hr(name: &str, repo: &str) -> String {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: {repo}\n"
        )
    }

    fn text_at<'a>(f: &'a Fixture, l: &Location) -> &'a str {
        let file = f.ws.file(&l.path).unwrap();
        &file.text[l.range.start..l.range.end]
    }

    #[test]
    fn definition_references_and_rename() {
        let src = format!(
            "{REPO}# file: apps/a.yaml\n{}# file: apps/b.yaml\n{}",
            hr("a", "podi$0nfo"),
            hr("b", "\"podinfo\"")
        );
        let f = Fixture::parse(&src);
        let a = f.ws.analysis();
        let def = goto_definition(&a, f.file(), f.offset());
        assert_eq!(def.len(), 1);
        assert_eq!(def[0].path, PathBuf::from(ROOT).join("infra/repo.yaml"));
        assert_eq!(text_at(&f, &def[0]), "podinfo");
        let refs = references(&a, f.file(), f.offset(), true);
        assert_eq!(refs.len(), 3, "{refs:?}");
        assert_eq!(references(&a, f.file(), f.offset(), false).len(), 2);
        // from the declaration
        let repo = f.ws.file(&PathBuf::from(ROOT).join("infra/repo.yaml")).unwrap();
        let at = repo.text.find("podinfo").unwrap() + 1;
        assert_eq!(references(&a, repo, at, true).len(), 3);
        let r = prepare_rename(&a, f.file(), f.offset()).unwrap();
        assert_eq!(&f.file().text[r.start..r.end], "podinfo");
        let edits = rename(&a, f.file(), f.offset(), "charts").unwrap();
        assert_eq!(edits.len(), 3);
        assert!(edits.iter().all(|e| e.path.is_some() && e.new_text == "charts"));
        // quoted names keep their quotes
        let b = edits.iter().find(|e| e.path.as_ref().unwrap().ends_with("apps/b.yaml")).unwrap();
        let bf = f.ws.file(b.path.as_ref().unwrap()).unwrap();
        assert_eq!(&bf.text[b.range.start..b.range.end], "podinfo");
        assert!(rename(&a, f.file(), f.offset(), "bad name").is_none());
    }

    #[test]
    fn rename_includes_patches_and_markers_and_not_bootstrap() {
        let src = "# file: base/kustomization.yaml\nresources:\n  - policy.yaml\n# file: base/policy.yaml\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: ap$0p\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n# file: prod/kustomization.yaml\nresources:\n  - ../base\npatches:\n  - path: patch.yaml\n# file: prod/patch.yaml\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  policy:\n    semver:\n      range: 1.x\n# file: deploy.yaml\nimage: x:1 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
        let f = Fixture::parse(src);
        let a = f.ws.analysis();
        let edits = rename(&a, f.file(), f.offset(), "web").unwrap();
        let mut files: Vec<_> = edits.iter().map(|e| e.path.clone().unwrap()).collect();
        files.sort();
        assert_eq!(
            files,
            vec![
                PathBuf::from("/fixture/base/policy.yaml"),
                PathBuf::from("/fixture/deploy.yaml"),
                PathBuf::from("/fixture/prod/patch.yaml")
            ]
        );
        let k = Fixture::parse(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: flux-system\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: flux-sy$0stem\n",
        );
        let a = k.ws.analysis();
        assert!(prepare_rename(&a, k.file(), k.offset()).is_none());
    }

    #[test]
    fn every_offset_of_every_file_is_safe() {
        let src = format!(
            "{REPO}# file: apps/a.yaml\n{}---\n{}# file: apps/kustomization.yaml\nnamespace: apps\nresources:\n  - a.yaml\n  - ../nope\n# file: k.yaml\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: é\n  namespace: flux-system\nspec:\n  path: ./apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn:\n    - name:\n  postBuild:\n    substitute:\n      x: y\n---\nimage: a # {{\"$imagepolicy\": \"ns:p:tag\"}}\nv: ${{x}} ${{\n",
            hr("a", "podinfo"),
            hr("b", "\"podinfo\"")
        );
        let f = Fixture::parse(&src);
        let a = f.ws.analysis();
        for file in f.ws.files() {
            for off in 0..=file.text.len() {
                if !file.text.is_char_boundary(off) {
                    continue;
                }
                let _ = goto_definition(&a, file, off);
                let _ = references(&a, file, off, true);
                let _ = prepare_rename(&a, file, off);
                let _ = rename(&a, file, off, "x");
                let _ = crate::ide::hover::hover(&a, file, off);
                let _ = crate::ide::completion::completions(&a, file, off);
            }
            let _ = document_links(&a, file);
            let _ = crate::ide::diagnostics::file_diagnostics(&a, file);
        }
    }

    #[test]
    fn links_on_kustomization_paths_and_urls() {
        let src = format!(
            "# file: app/kustomization.yaml\nresources:\n  - ../infra/repo.yaml\n  - ../infra\n  - https://example.com/x.yaml\n  - github.com/org/repo//deploy?ref=v1\n{REPO}# file: infra/kustomization.yaml\nresources:\n  - repo.yaml\n"
        );
        let f = Fixture::parse(&src);
        let a = f.ws.analysis();
        let file = f.ws.file(&PathBuf::from("/fixture/app/kustomization.yaml")).unwrap();
        let targets: Vec<_> = document_links(&a, file).into_iter().map(|l| l.target).collect();
        assert_eq!(
            targets,
            vec![
                "/fixture/infra/repo.yaml",
                "/fixture/infra/kustomization.yaml",
                "https://example.com/x.yaml",
                "https://github.com/org/repo"
            ]
        );
        let repo = f.ws.file(&PathBuf::from("/fixture/infra/repo.yaml")).unwrap();
        let links = document_links(&a, repo);
        assert_eq!(links[0].target, "https://stefanprodan.github.io/podinfo");
        // go to definition on a path
        let at = file.text.find("../infra\n").unwrap() + 2;
        let d = goto_definition(&a, file, at);
        assert_eq!(d[0].path, PathBuf::from("/fixture/infra/kustomization.yaml"));
    }
}
