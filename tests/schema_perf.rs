//! Completion and hover only look at the cursor's document, so they stay
//! fast on big files; and no offset of odd input makes them panic.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flux_lsp::ide::completion::completions;
use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::ide::hover::hover;
use flux_lsp::workspace::Workspace;

fn object(i: usize) -> String {
    match i % 3 {
        0 => format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-{i}\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  path: ./apps/{i}\n  sourceRef:\n    kind: GitRepository\n    name: repo-{i}\n"
        ),
        1 => format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: rel-{i}\n  namespace: apps\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: \">=6.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  values:\n    replicaCount: 2\n"
        ),
        _ => format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: repo-{i}\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://github.com/org/repo-{i}\n  ref:\n    branch: main\n"
        ),
    }
}

fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    f(); // warm-up (catalog parse, registry)
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

#[test]
fn completion_and_hover_are_fast_on_a_1000_object_file() {
    let mut text = String::new();
    for i in 0..1000 {
        if i > 0 {
            text.push_str("---\n");
        }
        if i == 500 {
            // the cursor's document, with a half-typed key
            text.push_str("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: edited\nspec:\n  interval: 10m\n  pru\n");
            continue;
        }
        text.push_str(&object(i));
    }
    let cursor = text.find("  pru\n").unwrap() + 5;
    let hover_at = text.find("  interval: 10m\n  pru").unwrap() + 4;
    let path = PathBuf::from("/perf/big.yaml");
    let mut ws = Workspace::default();
    ws.set_file(path.clone(), text.clone(), None);
    let a = ws.analysis();
    let f = ws.file(&path).unwrap();
    assert_eq!(f.syntax.docs.len(), 1000);
    let items = completions(&a, f, cursor);
    assert!(items.iter().any(|i| i.label == "prune"), "{items:?}");
    assert!(hover(&a, f, hover_at).is_some_and(|h| h.markdown.contains("**interval**")));
    let c = per_call(200, || {
        std::hint::black_box(completions(&a, f, cursor));
    });
    let h = per_call(2000, || {
        std::hint::black_box(hover(&a, f, hover_at));
    });
    let t = Instant::now();
    let mut diags = Vec::new();
    flux_lsp::ide::validate::schema_diagnostics(&a, f, &mut diags);
    let d = t.elapsed();
    let t = Instant::now();
    let _ = file_diagnostics(&a, f);
    let all = t.elapsed();
    eprintln!(
        "1000-object file: completion {c:?}/call, hover {h:?}/call, schema validation {d:?} ({:?}/document), all diagnostics {all:?}",
        d / 1000
    );
    // debug builds are ~10x slower than release; the release numbers are
    // what the budget (well under 1 ms) is about
    let budget = if cfg!(debug_assertions) { Duration::from_millis(15) } else { Duration::from_micros(900) };
    assert!(c < budget, "completion took {c:?}");
    assert!(h < budget, "hover took {h:?}");
    // only the half-typed document has problems
    assert!(diags.is_empty(), "{:?}", &diags[..diags.len().min(3)]);
}

#[test]
fn no_offset_of_odd_input_panics() {
    let inputs = [
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  sourceRef: {kind: Git, na\n  prune: ${P}\n  patches:\n  - patch: |\n      a: b\n---\n\n---\nkind: HelmRelease\napiVersion: helm.toolkit.fluxcd.io/v2\nspec:\n  chart: &c\n    spec: {chart: x}\n  chartRef: *c\n  <<: *c\n  values: [1, {a: \"ü\"}]\n",
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: 'ä'}\nspec:\n  url: \"oci://x\n  interval: 5\n  ref:\n  - tag\n",
        "- a\n- b: [\n---\n{apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSet, spec: {resources: [{apiVersion: x, kind: 1}]}}\n\u{feff}# c\n\t- x: y\n",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\r\nkind: Kustomization\r\nspec:\r\n  pru\r\n  sourceRef: {kind: \r\n\r---\rkind: \"[- >-\n😀: : \r\n",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nspec:\n  patchesStrategicMerge: [{a: 1}]\n  patchesJson6902:\n  - target: {kind: X}\n    patch: []\n  patches: x\n",
    ];
    for src in inputs {
        let path = PathBuf::from("/odd/a.yaml");
        let mut ws = Workspace::default();
        ws.set_file(path.clone(), src.to_string(), None);
        let a = ws.analysis();
        let f = ws.file(&path).unwrap();
        let _ = file_diagnostics(&a, f);
        let _ = flux_lsp::ide::actions::code_actions(&a, f, flux_lsp::text::TextRange::new(0, src.len()), &[]);
        for off in (0..=src.len()).filter(|o| src.is_char_boundary(*o)) {
            let _ = completions(&a, f, off);
            let _ = hover(&a, f, off);
        }
    }
}

/// A workspace `gotk-components.yaml` (here: every Flux CRD in one file)
/// overrides the built-in schemas and brings the upstream descriptions.
#[test]
fn workspace_crds_bring_descriptions_and_load_quickly() {
    let Some(dir) = common::shared("flux-api/crds") else { return };
    let mut all = String::new();
    let mut files: Vec<_> =
        common::walk(&dir).into_iter().filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
    files.sort();
    for f in files {
        let t = std::fs::read_to_string(&f).unwrap();
        if t.contains("kind: CustomResourceDefinition") {
            if !all.is_empty() && !t.starts_with("---") {
                all.push_str("---\n");
            }
            all.push_str(&t);
        }
    }
    let mut ws = Workspace::default();
    ws.set_file(PathBuf::from("/ws/clusters/prod/flux-system/gotk-components.yaml"), all.clone(), None);
    let app = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  url: https://github.com/x/y\n";
    let path = PathBuf::from("/ws/apps/git.yaml");
    ws.set_file(path.clone(), app.to_string(), None);
    let t = Instant::now();
    let reg = ws.schemas();
    let built = t.elapsed();
    eprintln!("registry from a {} KB CRD file: {built:?}, {} run-time kinds", all.len() / 1024, reg.runtime_kinds());
    assert_eq!(reg.runtime_kinds(), 19);
    let a = ws.analysis();
    let f = ws.file(&path).unwrap();
    let h = hover(&a, f, app.find("interval").unwrap() + 2).unwrap();
    assert!(h.markdown.contains("---"), "upstream description expected: {}", h.markdown);
    assert!(file_diagnostics(&a, f).is_empty());
    // the CRD file itself is not validated as a Flux object
    let g = ws.file(&PathBuf::from("/ws/clusters/prod/flux-system/gotk-components.yaml")).unwrap();
    assert!(file_diagnostics(&a, g).iter().all(|d| d.severity != flux_lsp::ide::Severity::Error));
}
