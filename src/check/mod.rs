//! `flux-lsp check`: the same analysis as the server, for CI.

mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rayon::prelude::*;

use crate::ide::{self, Diagnostic, Severity};
use crate::workspace::{FileData, Workspace};

pub use report::Format;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Files and directories to check.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Directories of CRD YAML files that extend or override the built-in schemas.
    #[arg(long = "crds", value_name = "DIR")]
    pub crds: Vec<PathBuf>,
    /// Apply every preferred quick fix (e.g. apiVersion migrations) to the files, then report what is left.
    #[arg(long)]
    pub fix: bool,
    /// Change a code's severity: `CODE=error|warning|information|hint|off` (repeatable).
    #[arg(long = "severity", value_name = "CODE=LEVEL")]
    pub severity: Vec<String>,
    /// Download the charts of HelmReleases from their Helm repositories and
    /// OCI registries (into the chart cache) before checking; without it only
    /// charts already cached (and those in the repository) are used.
    #[arg(long)]
    pub fetch_charts: bool,
    /// The chart cache (default `$XDG_CACHE_HOME/flux-lsp/charts` or `~/.cache/flux-lsp/charts`).
    #[arg(long, value_name = "DIR")]
    pub charts_cache: Option<PathBuf>,
}

/// One file's results, with what the reporters need to render them.
pub struct FileResult {
    pub file: std::sync::Arc<FileData>,
    /// The path as shown: relative to the current directory when below it.
    pub display: String,
    pub diagnostics: Vec<Diagnostic>,
}

pub struct Summary {
    pub files: usize,
    pub flux_objects: usize,
    pub errors: usize,
    pub warnings: usize,
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("flux-lsp check: {msg}");
    ExitCode::from(2)
}

pub fn run(args: CheckArgs) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut roots = Vec::new();
    for p in &args.paths {
        let abs = if p.is_absolute() { p.clone() } else { cwd.join(p) };
        if !abs.exists() {
            return usage_error(&format!("{}: no such file or directory", p.display()));
        }
        roots.push(crate::workspace::normalize_path(&abs));
    }
    let mut ws = Workspace::default();
    ws.roots = roots;
    for c in &args.crds {
        if !c.exists() {
            return usage_error(&format!("--crds {}: no such file or directory", c.display()));
        }
        ws.config.crd_paths.push(if c.is_absolute() { c.clone() } else { cwd.join(c) });
    }
    for s in &args.severity {
        let Some((code, level)) = s.split_once('=') else {
            return usage_error(&format!("--severity {s}: expected CODE=LEVEL"));
        };
        let level = if level == "off" {
            None
        } else {
            match Severity::parse(level) {
                Some(l) => Some(l),
                None => return usage_error(&format!("--severity {s}: unknown level `{level}`")),
            }
        };
        ws.config.severity.insert(code.to_string(), level);
    }
    ws.load_roots();
    remote_charts(&mut ws, &args, &cwd);
    if args.fix {
        match apply_fixes(&mut ws) {
            Ok(n) => eprintln!("flux-lsp check: applied {n} fix(es)"),
            Err(e) => return usage_error(&format!("writing fixes: {e}")),
        }
    }
    let (results, summary) = analyse(&ws, &cwd);
    let out = report::render(args.format, &results, &summary);
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if summary.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Remote charts (issue #9): the chart cache, and with `--fetch-charts`
/// the charts it lacks, fetched now (synchronously, before the analysis).
fn remote_charts(ws: &mut Workspace, args: &CheckArgs, cwd: &Path) {
    let settings = crate::charts::Settings {
        fetch: args.fetch_charts,
        cache_dir: args.charts_cache.as_ref().map(|d| if d.is_absolute() { d.clone() } else { cwd.join(d) }),
        ..Default::default()
    };
    let remote = std::sync::Arc::new(crate::charts::Remote::new(&settings));
    ws.remote_charts = remote.clone();
    // what the HelmReleases ask for (a lookup queues what the cache lacks)
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    remote.set_queue(Some(tx));
    let mut missing = 0;
    {
        let a = ws.analysis();
        for f in ws.files() {
            for doc in &f.syntax.docs {
                let t = &doc.parsed.tree;
                let Some(root) = t.root else { continue };
                if let Some(crate::workspace::charts::Resolved::Remote(_, crate::charts::Lookup::NotCached)) =
                    crate::workspace::charts::resolve(&a, f, t, root)
                {
                    missing += 1;
                }
            }
        }
    }
    remote.set_queue(None);
    let mut sources = Vec::new();
    while let Ok(s) = rx.try_recv() {
        sources.push(s);
    }
    if missing > 0 {
        eprintln!(
            "flux-lsp check: {missing} HelmRelease(s) use charts that are not in the chart cache: their values are not checked (--fetch-charts downloads them)"
        );
    }
    if sources.is_empty() {
        return;
    }
    eprintln!("flux-lsp check: fetching {} chart(s)", sources.len());
    for d in crate::charts::fetch::fetch_all(&remote, sources) {
        if let Err(e) = d.result {
            eprintln!("flux-lsp check: could not fetch {}: {e}", d.source.describe());
        }
    }
}

/// Diagnostics of every file, sorted by path.
pub fn analyse(ws: &Workspace, cwd: &Path) -> (Vec<FileResult>, Summary) {
    let a = ws.analysis();
    let mut files: Vec<_> = ws.files().cloned().collect();
    files.sort_by(|x, y| x.path.cmp(&y.path));
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|f| FileResult {
            file: f.clone(),
            display: display_path(&f.path, cwd),
            diagnostics: ide::diagnostics::file_diagnostics(&a, f),
        })
        .collect();
    let count = |s: Severity| results.iter().flat_map(|r| &r.diagnostics).filter(|d| d.severity == s).count();
    let summary = Summary {
        files: results.len(),
        flux_objects: ws.flux_objects(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
    };
    (results, summary)
}

/// Applies preferred fixes, file by file, until none is left (at most 5 rounds).
fn apply_fixes(ws: &mut Workspace) -> std::io::Result<usize> {
    let mut total = 0;
    for _ in 0..5 {
        let a = ws.analysis();
        let mut writes = Vec::new();
        for f in ws.files() {
            let mut edits: Vec<ide::Edit> = ide::diagnostics::file_diagnostics(&a, f)
                .into_iter()
                .flat_map(|d| d.fixes.into_iter().filter(|x| x.preferred))
                .flat_map(|x| x.edits)
                .filter(|e| e.path.as_ref().is_none_or(|p| p == &f.path))
                .collect();
            if edits.is_empty() {
                continue;
            }
            edits.sort_by_key(|e| (e.range.start, e.range.end));
            let mut text = f.text.to_string();
            let mut last_start = usize::MAX;
            let mut applied = 0;
            for e in edits.iter().rev() {
                if e.range.end > last_start || e.range.end > text.len() {
                    continue; // overlaps a later edit: next round
                }
                text.replace_range(e.range.start..e.range.end, &e.new_text);
                last_start = e.range.start;
                applied += 1;
            }
            writes.push((f.path.clone(), text, applied));
        }
        if writes.is_empty() {
            break;
        }
        for (path, text, n) in writes {
            std::fs::write(&path, &text)?;
            ws.set_file(path, text, None);
            total += n;
        }
    }
    Ok(total)
}

pub fn display_path(p: &Path, cwd: &Path) -> String {
    match p.strip_prefix(cwd) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => p.display().to_string(),
    }
}
