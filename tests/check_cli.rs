//! `flux-lsp check` through the real binary.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::bin()).current_dir(dir).arg("check").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let (code, out, err) = check(dir, &a);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad json ({e}): {out}\n{err}")))
}

#[test]
fn shared_corpora_have_no_errors() {
    let Some(corpora) = common::shared("corpora") else { return };
    let (code, v) = json(&corpora, &["."]);
    let errors: Vec<&Value> =
        v["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    assert!(errors.is_empty(), "false errors on the corpora: {errors:#?}");
    assert_eq!(code, 0);
    assert!(v["summary"]["files"].as_u64().unwrap() >= 40, "{}", v["summary"]);
    assert!(v["summary"]["flux_objects"].as_u64().unwrap() >= 20, "{}", v["summary"]);
}

#[test]
fn syntax_errors_planted_in_a_copy_of_the_corpora_are_reported_exactly() {
    let Some(corpora) = common::shared("corpora") else { return };
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&corpora, tmp.path());
    let release = tmp.path().join("fluxcd__flux2-kustomize-helm-example/apps/base/podinfo/release.yaml");
    let text = std::fs::read_to_string(&release).unwrap();
    // an unclosed flow sequence on the `hostnames` item
    let broken = text.replacen("        - podinfo.local", "        - [podinfo.local", 1);
    assert_ne!(text, broken);
    std::fs::write(&release, &broken).unwrap();
    // a tab used as indentation in another file, in the second document
    let apps = tmp.path().join("fluxcd__flux2-kustomize-helm-example/clusters/production/apps.yaml");
    let mut a = std::fs::read_to_string(&apps).unwrap();
    a.push_str("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n");
    std::fs::write(&apps, &a).unwrap();
    let (code, v) = json(tmp.path(), &["."]);
    assert_eq!(code, 1);
    let diags = v["diagnostics"].as_array().unwrap();
    let find = |suffix: &str| -> Vec<&Value> {
        diags.iter().filter(|d| d["path"].as_str().unwrap().ends_with(suffix) && d["code"] == "yaml-syntax").collect()
    };
    let r = find("apps/base/podinfo/release.yaml");
    assert_eq!(r.len(), 1, "{diags:#?}");
    // the parser reports where the unclosed sequence runs into the next key
    let line = r[0]["line"].as_u64().unwrap() as usize;
    let src_line = broken.lines().nth(line - 1).unwrap();
    assert!(line > broken.lines().position(|l| l.contains("[podinfo.local")).unwrap(), "{:?}", r[0]);
    assert!(!src_line.trim().is_empty());
    let t = find("clusters/production/apps.yaml");
    assert_eq!(t.len(), 1, "{diags:#?}");
    let tab_line = a.lines().position(|l| l.starts_with('\t')).unwrap() + 1;
    assert_eq!(t[0]["line"].as_u64().unwrap() as usize, tab_line);
    assert!(t[0]["message"].as_str().unwrap().contains("tab"), "{}", t[0]);
    // the other documents of that file are still analysed: no error for the first one
    assert_eq!(
        diags.iter().filter(|d| d["path"].as_str().unwrap().ends_with("clusters/production/apps.yaml")).count(),
        1
    );
}

fn demo_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"é😀\"\ndata:\n  k: [1, 2\n  j: 3\n---\nx: 1\nx: 2\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("ok.yml"), "a: 1\n").unwrap();
    tmp
}

#[test]
fn text_format_shows_source_line_caret_and_summary() {
    let tmp = demo_dir();
    let (code, out, _) = check(tmp.path(), &[]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "a.yaml:7:4: error[yaml-syntax]: illegal placement of ':' indicator");
    assert_eq!(lines[1], " 7 |   j: 3");
    assert_eq!(lines[2], "   |    ^");
    assert!(out.contains("a.yaml:10:1: error[duplicate-key]"), "{out}");
    assert_eq!(*lines.last().unwrap(), "2 files checked, 0 Flux objects: 2 errors, 0 warnings");
}

#[test]
fn json_format_has_the_documented_shape() {
    let tmp = demo_dir();
    let (code, v) = json(tmp.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["version"], 1);
    let d = &v["diagnostics"][1];
    assert_eq!(d["path"], "a.yaml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64(), d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(10), Some(1), Some(10), Some(2))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "duplicate-key");
    assert_eq!(v["summary"], serde_json::json!({"files": 2, "flux_objects": 0, "errors": 2, "warnings": 0}));
}

#[test]
fn sarif_and_github_formats() {
    let tmp = demo_dir();
    let (code, out, _) = check(tmp.path(), &["--format", "sarif"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "flux-lsp");
    let res = run["results"].as_array().unwrap();
    assert_eq!(res.len(), 2);
    assert_eq!(res[0]["ruleId"], "yaml-syntax");
    assert_eq!(res[0]["level"], "error");
    let loc = &res[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "a.yaml");
    assert_eq!(loc["region"]["startLine"], 7);
    assert_eq!(loc["region"]["startColumn"], 4);
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(res[0]["ruleIndex"].as_u64().map(|i| rules[i as usize]), Some("yaml-syntax"));

    let (_, out, _) = check(tmp.path(), &["--format", "github"]);
    assert!(
        out.lines().any(|l| l == "::error file=a.yaml,line=10,col=1,endLine=10,endColumn=2,title=flux-lsp duplicate-key::duplicate key `x`: Kubernetes rejects the object"),
        "{out}"
    );
}

#[test]
fn exit_codes_and_severity_overrides() {
    let tmp = demo_dir();
    let (code, _, err) = check(tmp.path(), &["does-not-exist"]);
    assert_eq!(code, 2);
    assert!(err.contains("does-not-exist"), "{err}");
    let (code, _, _) = check(tmp.path(), &["--format", "xml"]);
    assert_eq!(code, 2);
    let (code, _, _) = check(tmp.path(), &["ok.yml"]);
    assert_eq!(code, 0);
    let (code, v) = json(tmp.path(), &["--severity", "yaml-syntax=warning", "--severity", "duplicate-key=off"]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["warnings"], 1);
    let out = Command::new(common::bin()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("flux-lsp "));
}

#[test]
fn binary_and_invalid_utf8_files_never_crash_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bin.yaml"), b"\x00\x01\x02binary").unwrap();
    std::fs::write(tmp.path().join("latin1.yaml"), b"a: caf\xe9\n").unwrap();
    let (code, v) = json(tmp.path(), &[]);
    assert_eq!(code, 0);
    let d = v["diagnostics"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["code"], "invalid-utf8");
    assert_eq!(d[0]["path"], "latin1.yaml");
}

#[test]
fn the_shipped_example_reports_its_deliberate_mistakes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, v) = json(root, &["examples/demo"]);
    assert_eq!(code, 1);
    let codes: Vec<&str> = v["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"yaml-syntax"), "{codes:?}");
    // the chart kept in the example repository checks its release's values
    let chart: Vec<(&str, u64)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"] == "examples/demo/apps/internal-api/release.yaml")
        .map(|d| (d["code"].as_str().unwrap(), d["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(chart, vec![("chart-values-type", 16), ("chart-values-enum", 19), ("chart-values-unknown-key", 21)]);
}
