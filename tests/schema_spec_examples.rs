//! No false alarms on the upstream examples: every YAML example of the
//! current API docs (../shared/flux-api/spec) is checked, and none may get
//! a value or field error. (Examples are often trimmed to the fields they
//! explain, so missing required fields and the CEL rules that need them are
//! not asserted; examples with `<placeholders>` or `...` are skipped.)

use std::path::{Path, PathBuf};

use flux_lsp::ide::diagnostics::file_diagnostics;
use flux_lsp::workspace::Workspace;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/flux-api/spec");

const CURRENT: &[&str] = &[
    "source-controller/v1",
    "kustomize-controller/v1",
    "helm-controller/v2",
    "notification-controller/v1",
    "notification-controller/v1beta3",
    "image-reflector-controller/v1",
    "image-automation-controller/v1",
    "source-watcher/v1beta1",
    "flux-operator/v1",
];

const VALUE_CODES: &[&str] = &[
    "unknown-field",
    "wrong-type",
    "invalid-enum",
    "invalid-duration",
    "invalid-semver-range",
    "invalid-regex",
    "invalid-url-scheme",
    "pattern-mismatch",
    "out-of-range",
];

fn examples(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match &mut cur {
            None if line.trim_start().starts_with("```yaml") => cur = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                out.push(std::mem::take(block));
                cur = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

/// `<name>`-style placeholders.
fn has_placeholder(s: &str) -> bool {
    s.split('<').skip(1).any(|rest| {
        let end = rest.find('>').unwrap_or(0);
        end > 0 && rest[..end].bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
    })
}

#[test]
fn upstream_examples_have_no_value_or_field_errors() {
    let root = Path::new(SPEC);
    if !root.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{SPEC} missing in CI");
        eprintln!("skipped: {SPEC} not found");
        return;
    }
    let mut ws = Workspace::default();
    let mut n = 0;
    for dir in CURRENT {
        let mut mds: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        mds.sort();
        for md in mds {
            let text = std::fs::read_to_string(&md).unwrap();
            for (i, ex) in examples(&text).into_iter().enumerate() {
                if !ex.contains("apiVersion:") || has_placeholder(&ex) || ex.contains("...") {
                    continue;
                }
                let name = format!("/examples/{}/{}-{i}.yaml", dir, md.file_stem().unwrap().to_string_lossy());
                ws.set_file(PathBuf::from(name), ex, None);
                n += 1;
            }
        }
    }
    assert!(n > 150, "only {n} examples found");
    let a = ws.analysis();
    let mut bad = Vec::new();
    for f in ws.files() {
        for d in file_diagnostics(&a, f) {
            if VALUE_CODES.contains(&d.code) {
                bad.push(format!("{}: {} {}", f.path.display(), d.code, d.message));
            }
        }
    }
    // completion and hover never panic anywhere in them (a sample of offsets)
    let mut files: Vec<_> = ws.files().collect();
    files.sort_by(|x, y| x.path.cmp(&y.path));
    for f in files.iter().step_by(8) {
        for off in (0..=f.text.len()).step_by(5).filter(|o| f.text.is_char_boundary(*o)) {
            let _ = flux_lsp::ide::completion::completions(&a, f, off);
            let _ = flux_lsp::ide::hover::hover(&a, f, off);
        }
    }
    bad.sort();
    assert!(bad.is_empty(), "{} false alarms on {n} upstream examples:\n{}", bad.len(), bad.join("\n"));
}
