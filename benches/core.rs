//! Core benchmarks (issue #2): indexing the shared corpora, and one keystroke
//! in a 5,000-line multi-document file re-analysed (edit applied, changed
//! document reparsed, file diagnostics recomputed).
//!
//! Run: `cargo bench --bench core`. Prints p50/p95/max per scenario.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::text::{Document, Encoding, LineCol, TextEdit};
use flux_lsp::workspace::Workspace;

fn stats(name: &str, mut v: Vec<Duration>, target: Option<Duration>) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let fmt = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    let verdict = match target {
        Some(t) if p(0.5) <= t => format!("  (target {} : met)", fmt(t)),
        Some(t) => format!("  (target {} : MISSED)", fmt(t)),
        None => String::new(),
    };
    println!(
        "{name:<58} p50 {:>10}  p95 {:>10}  max {:>10}  n={}{verdict}",
        fmt(p(0.5)),
        fmt(p(0.95)),
        fmt(*v.last().unwrap()),
        v.len()
    );
}

/// `objects` objects in one file, as the LSP benchmark's (benches/lsp): a
/// HelmRepository and HelmReleases installing its chart, all valid.
pub fn generated_file(objects: usize) -> String {
    let mut s = String::from(
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: https://charts.example.com\n",
    );
    for i in 1..objects {
        s.push_str(&format!(
            "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app-{i}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n      version: \">=1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  install:\n    remediation:\n      retries: 3\n  values:\n    replicaCount: 2\n    image:\n      repository: ghcr.io/example/app-{i}\n      tag: 1.2.3\n    resources:\n      limits:\n        memory: 256Mi\n"
        ));
    }
    s
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test` this runs as a quick smoke test
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = |n: usize| if full { n } else { 2 };
    if let Some(word) = only() {
        if "values completion".contains(&word) {
            values_completion(rounds(300));
            remote_values_completion(rounds(300));
        }
        // `-- keystroke` / `-- typing`: the 10,000-document scaling cases
        // alone (for profiling; ROUNDS=1500 makes the set-up a small part)
        if word == "keystroke" {
            let n = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(200);
            keystrokes(10000, rounds(n), None);
        }
        if word == "typing" {
            typing_new_object(10000, if full { usize::MAX } else { 3 });
        }
        if word == "workspace" {
            for source in ["fleet", "flux-system"] {
                for n in [100, 1000, 10000] {
                    typing_in_workspace(n, if full { usize::MAX } else { 3 }, source);
                }
            }
        }
        return;
    }
    // 1. index the shared corpora
    let corpora = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if corpora.exists() {
        let mut times = Vec::new();
        let mut files = 0;
        for _ in 0..rounds(30) {
            let t = Instant::now();
            let mut ws = Workspace::default();
            ws.roots = vec![corpora.clone()];
            ws.load_roots();
            let a = ws.analysis();
            let mut n = 0;
            for f in ws.files() {
                n += file_diagnostics(&a, f).len();
            }
            std::hint::black_box(n);
            times.push(t.elapsed());
            files = ws.len();
        }
        stats(&format!("index + diagnose both shared corpora ({files} files)"), times, Some(Duration::from_millis(50)));
    } else {
        println!("skipping corpora benchmark: {} is missing", corpora.display());
    }

    // 2. one keystroke in a 5,000-line multi-document file, then the scaling
    //    of the same keystroke with 100, 1,000 and 10,000 objects
    // 26 lines per object: at least 5,000 lines
    keystrokes(5000 / 26 + 1, rounds(400), Some(Duration::from_millis(2)));
    for n in [100, 1000, 10000] {
        keystrokes(n, rounds(if n == 10000 { 60 } else { 200 }), None);
    }
    // 3. typing a whole new object at the end (what other documents see of
    //    the file changes with most keystrokes: the cross-file model is rebuilt)
    for n in [100, 1000, 10000] {
        typing_new_object(n, if full { usize::MAX } else { 3 });
    }
    // 3b. typing a Flux Kustomization into a new file of a workspace of many files
    //     (from another repository: its files are not followed; from this
    //     one, the bootstrap repository: the files each applies are found)
    for source in ["fleet", "flux-system"] {
        for n in [100, 1000, 10000] {
            typing_in_workspace(n, if full { usize::MAX } else { 3 }, source);
        }
    }
    // 4. completion inside `spec.values` from a chart in the workspace (issue #9)
    values_completion(rounds(300));
    // 5. the same from a chart of a Helm repository, once it is in the chart cache
    remote_values_completion(rounds(300));
}

/// `cargo bench --bench core -- values`: only the scenarios whose name has
/// the word (the others are skipped).
fn only() -> Option<String> {
    std::env::args().skip(1).find(|a| !a.starts_with('-'))
}

/// A values.yaml the size of a popular chart's (~400 keys).
fn big_values() -> String {
    let mut values = String::new();
    for i in 0..40 {
        values.push_str(&format!("# -- section {i}\nsection{i}:\n"));
        for j in 0..10 {
            values.push_str(&format!("  # -- key {j} of section {i}\n  key{j}: value{j}\n"));
        }
    }
    values
}

fn remote_values_completion(rounds: usize) {
    use flux_lsp::charts::cache::{DiskCache, IndexEntry, Meta, RepoIndex};
    let dir = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(dir.path().to_path_buf(), 512 << 20);
    let repo = "https://charts.example.com";
    let digest = "a".repeat(64);
    let files = vec![
        ("Chart.yaml".to_string(), b"apiVersion: v2\nname: app\nversion: 1.2.0\n".to_vec()),
        ("values.yaml".to_string(), big_values().into_bytes()),
    ];
    let meta = Meta { source: repo.into(), chart: "app".into(), version: "1.2.0".into(), digest: digest.clone() };
    cache.store_chart(&meta, &files).unwrap();
    let mut idx = RepoIndex { url: repo.into(), ..Default::default() };
    idx.entries.insert(
        "app".into(),
        vec![IndexEntry { version: "1.2.0".into(), digest: Some(format!("sha256:{digest}")), urls: vec![] }],
    );
    cache.write_index(&idx).unwrap();
    let settings =
        flux_lsp::charts::Settings { fetch: false, cache_dir: Some(dir.path().to_path_buf()), max_bytes: 512 << 20 };
    let mut ws = Workspace::default();
    let root = PathBuf::from("/bench");
    ws.roots = vec![root.clone()];
    ws.remote_charts = std::sync::Arc::new(flux_lsp::charts::Remote::new(&settings));
    ws.set_file(
        root.join("apps/repo.yaml"),
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: {repo}\n"),
        None,
    );
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n      version: \">=1.0 <2\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    section20:\n      key1: x\n      \n";
    let path = root.join("apps/app.yaml");
    ws.set_file(path.clone(), release.into(), Some(1));
    time_values_completion(&ws, &path, release.len() - 1, rounds, "cached Helm repository chart");
}

/// Completion at the end of `path` (inside `spec.values.section20`), timed.
fn time_values_completion(ws: &Workspace, path: &std::path::Path, offset: usize, rounds: usize, chart: &str) {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let items = flux_lsp::ide::completion::completions(&ws.analysis(), ws.file(path).unwrap(), offset);
        times.push(t.elapsed());
        assert_eq!(items.len(), 9, "the other keys of section20");
    }
    stats(&format!("completion in spec.values, {chart} (400 keys)"), times, Some(Duration::from_millis(2)));
}

fn values_completion(rounds: usize) {
    let mut ws = Workspace::default();
    let root = PathBuf::from("/bench");
    ws.roots = vec![root.clone()];
    ws.set_file(root.join("charts/app/Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\n".into(), None);
    ws.set_file(root.join("charts/app/values.yaml"), big_values(), None);
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n    section20:\n      key1: x\n      \n";
    let path = root.join("apps/app.yaml");
    ws.set_file(path.clone(), release.into(), Some(1));
    time_values_completion(&ws, &path, release.len() - 1, rounds, "workspace chart");
}

const TYPED: &str = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: typed\n  namespace: apps\nspec:\n  interval: 5m\n  url: https://github.com/example/typed\n  ref:\n    branch: main\n";

fn typing_new_object(objects: usize, max: usize) {
    let text = generated_file(objects);
    let path = PathBuf::from("/bench/big.yaml");
    let mut ws = Workspace::default();
    // the 10,000-object file is 7 MB: analyse it fully, as the LSP benchmark's settings do
    ws.config.max_file_size = 64 << 20;
    let mut doc = Document::new(&text, 1);
    ws.set_file(path.clone(), text.clone(), Some(1));
    std::hint::black_box(file_diagnostics(&ws.analysis(), ws.file(&path).unwrap()));
    let times = type_text(&mut ws, &path, &mut doc, text.lines().count() as u32, TYPED, max).0;
    stats(&format!("typing a new object at the end ({objects} docs)"), times, None);
}

/// Types the first `max` characters of `typed` into `doc` (open as `path`)
/// from the start of line `line`, one change each, as an editor sends them;
/// the time of each, from the change to the file's diagnostics, and what
/// it did to the cross-file reference model.
fn type_text(
    ws: &mut Workspace,
    path: &std::path::Path,
    doc: &mut Document,
    mut line: u32,
    typed: &str,
    max: usize,
) -> (Vec<Duration>, Vec<ModelChange>) {
    let mut col = 0u32;
    let mut times = Vec::new();
    let mut changes = Vec::new();
    for (i, ch) in typed.chars().take(max).enumerate() {
        let edit = TextEdit { range: Some((LineCol { line, col }, LineCol { line, col })), text: ch.to_string() };
        if ch == '\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
        let patches = ws.ref_model().patches;
        let from = doc.version;
        let t = Instant::now();
        let bytes = doc.apply(&[edit], 2 + i as i32, Encoding::Utf16);
        ws.edit_file(path, from, 2 + i as i32, &bytes).expect("the file follows its document");
        std::hint::black_box(file_diagnostics(&ws.analysis(), ws.file(path).unwrap()));
        times.push(t.elapsed());
        // (the diagnostics asked for the model: it is there, patched or rebuilt)
        let after = ws.ref_model().patches;
        changes.push(if after == patches {
            ModelChange::None
        } else if after == patches + 1 {
            ModelChange::Patched
        } else {
            ModelChange::Rebuilt
        });
    }
    (times, changes)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ModelChange {
    None,
    Patched,
    Rebuilt,
}

/// A Flux Kustomization, typed.
const TYPED_KS: &str = "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: typed\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/app-1\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n  dependsOn:\n    - name: infra\n";

/// Typing a Flux Kustomization into a new file of a workspace of `files`
/// files (the LSP benchmark's generated workspace: sources, releases and
/// Kustomizations that depend on each other), the new file's diagnostics
/// after each keystroke.
fn typing_in_workspace(files: usize, max: usize, source: &str) {
    let mut ws = Workspace::default();
    let root = PathBuf::from("/bench");
    ws.roots = vec![root.clone()];
    ws.set_file(
        root.join("infra/sources.yaml"),
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: https://charts.example.com\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 5m\n  url: https://github.com/example/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./infra\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n".into(),
        None,
    );
    let release = generated_file(2);
    let release = &release[release.find("---\napiVersion: helm").unwrap()..];
    for i in 1..files {
        if i % 2 == 1 {
            ws.set_file(
                root.join(format!("apps/app-{i}/release.yaml")),
                release.replace("app-1", &format!("app-{i}")),
                None,
            );
        } else {
            let dep = if i % 8 != 2 { format!("    - name: apps-{}\n", i - 2) } else { String::new() };
            ws.set_file(
                root.join(format!("clusters/c-{i}/sync.yaml")),
                format!("---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps-{i}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/app-{}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  dependsOn:\n    - name: infra\n{dep}", i - 1),
                None,
            );
        }
    }
    let path = root.join("clusters/typed/sync.yaml");
    let mut doc = Document::new("", 1);
    ws.set_file(path.clone(), String::new(), Some(1));
    std::hint::black_box(file_diagnostics(&ws.analysis(), ws.file(&path).unwrap()));
    let typed = TYPED_KS.replace("name: fleet", &format!("name: {source}"));
    let (times, changes) = type_text(&mut ws, &path, &mut doc, 0, &typed, max);
    let d = file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
    if max == usize::MAX {
        assert!(d.is_empty(), "the typed Kustomization is valid: {:?}", d.first());
    }
    // the keystrokes that changed the Kustomization's summary (its name,
    // path, source or dependencies) brought the reference model up to date:
    // shown apart, as p95 of all falls near their edge
    let from = if source == "flux-system" { "this repository" } else { "another repository" };
    stats(&format!("typing a Flux Kustomization (from {from}), {files} files"), times.clone(), None);
    for (what, label) in [(ModelChange::Patched, "patched"), (ModelChange::Rebuilt, "rebuilt")] {
        let v: Vec<Duration> = times.iter().zip(&changes).filter(|(_, c)| **c == what).map(|(t, _)| *t).collect();
        if !v.is_empty() {
            stats(&format!("  the {} of them that {label} the reference model", v.len()), v, None);
        }
    }
}

fn keystrokes(objects: usize, rounds: usize, target: Option<Duration>) {
    let text = generated_file(objects);
    let lines = text.lines().count();
    let path = PathBuf::from("/bench/big.yaml");
    let mut ws = Workspace::default();
    // the 10,000-object file is 7 MB: analyse it fully, as the LSP benchmark's settings do
    ws.config.max_file_size = 64 << 20;
    let mut doc = Document::new(&text, 1);
    ws.set_file(path.clone(), text.clone(), Some(1));
    {
        let a = ws.analysis();
        let d = file_diagnostics(&a, ws.file(&path).unwrap());
        assert!(d.is_empty(), "the generated file is valid: {:?}", d.first());
    }
    // type characters into the `repository:` value of the middle object
    let mid_line =
        (text.lines().position(|l| l.contains(&format!("app-{}", objects / 2)) && l.contains("repository")).unwrap())
            as u32;
    let col0 = text.lines().nth(mid_line as usize).unwrap().len() as u32;
    let mut times = Vec::new();
    for i in 0..rounds as u32 {
        let col = col0 + (i % 40);
        let edit = if i % 40 == 39 {
            // delete what was typed, to keep the line short
            TextEdit {
                range: Some((LineCol { line: mid_line, col: col0 }, LineCol { line: mid_line, col: col0 + 39 })),
                text: String::new(),
            }
        } else {
            TextEdit {
                range: Some((LineCol { line: mid_line, col }, LineCol { line: mid_line, col })),
                text: "x".into(),
            }
        };
        let from = doc.version;
        let t = Instant::now();
        let bytes = doc.apply(&[edit], 2 + i as i32, Encoding::Utf16);
        ws.edit_file(&path, from, 2 + i as i32, &bytes).expect("the file follows its document");
        let a = ws.analysis();
        let d = file_diagnostics(&a, ws.file(&path).unwrap());
        std::hint::black_box(d);
        times.push(t.elapsed());
    }
    stats(&format!("keystroke re-analysis, {lines}-line file ({objects} docs)"), times, target);
}
