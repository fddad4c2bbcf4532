//! File discovery: every `*.yaml`/`*.yml` under the roots, respecting
//! `.gitignore`, skipping `.git`, Helm chart `templates/` directories and
//! (with a log line) files over the size limit, never following symlinks.

use std::path::{Path, PathBuf};

use super::Config;

#[derive(Debug, Default)]
pub struct DiscoverReport {
    pub files: usize,
    /// (path, reason) for files that were found but not indexed.
    pub skipped: Vec<(PathBuf, String)>,
}

/// A file the workspace indexes: YAML, and charts' `values.schema.json`
/// (data for HelmRelease values, issue #9).
pub fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) || super::charts::is_values_schema(path)
}

/// Lists the YAML files to index under `roots` (a root may also be a file).
pub fn discover(roots: &[PathBuf], config: &Config) -> (Vec<PathBuf>, DiscoverReport) {
    let mut out = Vec::new();
    let mut report = DiscoverReport::default();
    for root in roots {
        if root.is_file() {
            out.push(root.clone());
            continue;
        }
        let exclude: Vec<PathBuf> = config.exclude.iter().map(|e| root.join(e)).collect();
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |e| {
                let name = e.file_name();
                if name == ".git" || name == "node_modules" {
                    return false;
                }
                if e.file_type().is_some_and(|t| t.is_dir()) {
                    // Helm chart templates are Go templates, not YAML
                    if name == "templates" && e.path().parent().is_some_and(|p| p.join("Chart.yaml").exists()) {
                        return false;
                    }
                    if exclude.iter().any(|x| e.path().starts_with(x)) {
                        return false;
                    }
                }
                true
            })
            .build();
        for entry in walker.flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) || !is_yaml(entry.path()) {
                continue;
            }
            let path = entry.path().to_path_buf();
            match entry.metadata() {
                Ok(m) if m.len() as usize > config.max_file_size.saturating_mul(8) => {
                    tracing::info!(path = %path.display(), bytes = m.len(), "skipping file over the size limit");
                    report.skipped.push((path, format!("{} bytes, over the size limit", m.len())));
                }
                _ => out.push(path),
            }
        }
    }
    out.sort();
    out.dedup();
    (out, report)
}

/// Reads a file as text. Binary files (with a NUL byte) give None; invalid
/// UTF-8 is read lossily and the first bad offset is returned with it.
pub fn read_file(path: &Path) -> Option<(String, Option<usize>)> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.contains(&0) {
        tracing::info!(path = %path.display(), "skipping binary file");
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(s) => Some((s, None)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Some((String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(at)))
        }
    }
}

/// Whether a single path (from a watcher event or a closed document) belongs
/// in the index: a YAML file under a root (any file when there is no root),
/// not inside `.git`, `node_modules`, a chart's `templates/` or an excluded path.
pub fn discover_accepts(ws: &super::Workspace, path: &Path) -> bool {
    if !is_yaml(path) {
        return false;
    }
    let under_root = ws.roots.is_empty() || ws.roots.iter().any(|r| path.starts_with(r));
    if !under_root {
        return false;
    }
    if path.components().any(|c| matches!(c.as_os_str().to_str(), Some(".git" | "node_modules"))) {
        return false;
    }
    let mut cur = path.parent();
    while let Some(dir) = cur {
        if dir.file_name().is_some_and(|n| n == "templates")
            && dir.parent().is_some_and(|p| p.join("Chart.yaml").exists())
        {
            return false;
        }
        cur = dir.parent();
    }
    !ws.roots.iter().any(|r| ws.config.exclude.iter().any(|x| path.starts_with(r.join(x))))
}
