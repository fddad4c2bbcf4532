//! Schema validation on real repositories (../shared/corpora): both are
//! valid, so `check` must report no errors; then each planted mistake must be
//! reported at the right place.

use std::path::{Path, PathBuf};

use flux_lsp::ide::Severity;
use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::workspace::Workspace;

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora");

fn corpora() -> Option<PathBuf> {
    let p = flux_lsp::workspace::normalize_path(std::path::Path::new(CORPORA));
    if p.is_dir() {
        return Some(p);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{CORPORA} is missing in CI");
    eprintln!("skipped: {CORPORA} not found");
    None
}

fn load(root: &Path) -> Workspace {
    let mut ws = Workspace::default();
    ws.roots = vec![root.to_path_buf()];
    ws.load_roots();
    ws
}

#[test]
fn corpora_have_no_errors() {
    let Some(root) = corpora() else { return };
    let ws = load(&root);
    assert!(ws.len() > 40, "only {} files loaded", ws.len());
    let a = ws.analysis();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for f in ws.files() {
        for d in file_diagnostics(&a, f) {
            let line = format!("{}: {} {}: {}", f.path.display(), d.severity.as_str(), d.code, d.message);
            match d.severity {
                Severity::Error => errors.push(line),
                _ => warnings.push(line),
            }
        }
    }
    assert!(errors.is_empty(), "errors on valid repositories:\n{}", errors.join("\n"));
    // the one removed apiVersion of the corpora is reported as a warning
    assert!(
        warnings.iter().any(|w| w.contains("kyverno/source.yaml") && w.contains("removed-api-version")),
        "{warnings:#?}"
    );
}

/// (file relative to the corpora, text to replace, replacement, code, text the
/// diagnostic must cover)
const PLANTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "fluxcd__flux2-kustomize-helm-example/apps/base/podinfo/release.yaml",
        "  interval:",
        "  intervl:",
        "unknown-field",
        "intervl",
    ),
    (
        "fluxcd__flux2-kustomize-helm-example/clusters/production/apps.yaml",
        "prune: true",
        "prune: \"yes\"",
        "wrong-type",
        "\"yes\"",
    ),
    (
        "fluxcd__flux2-kustomize-helm-example/apps/base/podinfo/repository.yaml",
        "interval: ",
        "interval: 5 minutes\n  timeout: ",
        "invalid-duration",
        "5 minutes",
    ),
    (
        "fluxcd__flux2-kustomize-helm-example/apps/base/podinfo/release.yaml",
        "  interval:",
        "  driftDetection:\n    mode: sometimes\n  interval:",
        "invalid-enum",
        "sometimes",
    ),
    (
        "fluxcd__flux2-kustomize-helm-example/apps/base/podinfo/release.yaml",
        "      chart: podinfo\n",
        "      chart: podinfo\n      version: \">=6.x <\"\n",
        "invalid-semver-range",
        "\">=6.x <\"",
    ),
    (
        "fluxcd__flux2-kustomize-helm-example/clusters/production/apps.yaml",
        "  prune: true\n",
        "",
        "missing-required",
        "spec",
    ),
    (
        "fluxcd__flux2-kustomize-helm-example/apps/base/podinfo/release.yaml",
        "  interval:",
        "  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  interval:",
        "cel-rule",
        "spec",
    ),
];

#[test]
fn planted_mistakes_are_reported_in_place() {
    let Some(root) = corpora() else { return };
    let base = load(&root);
    for (rel, from, to, code, covered) in PLANTS {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(text.contains(from), "{rel} has no `{from}`");
        let planted = text.replacen(from, to, 1);
        let mut ws = load(&root);
        ws.set_file(path.clone(), planted.clone(), None);
        let a = ws.analysis();
        let f = ws.file(&path).unwrap();
        let ds = file_diagnostics(&a, f);
        let hit = ds.iter().find(|d| d.code == *code);
        let Some(d) = hit else { panic!("{rel}: no {code} after planting `{to}`; got {ds:?}") };
        assert_eq!(&planted[d.range.start..d.range.end], *covered, "{rel}: {code} at the wrong place: {}", d.message);
        // the untouched file was clean of that code
        let fa = base.analysis();
        let orig = base.file(&path).unwrap();
        assert!(file_diagnostics(&fa, orig).iter().all(|d| d.code != *code), "{rel} already had {code}");
    }
}
