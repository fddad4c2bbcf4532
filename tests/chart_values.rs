//! HelmRelease values from a chart in the workspace (issue #9, first part:
//! no network), through the real binary over stdio.

mod common;

use common::{Client, Options, pos_utf16, uri};
use serde_json::{Value, json};

const RELEASE: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/podinfo\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n    replicaCount: two\n    service:\n      type: ClusterIP\n";

fn codes(d: &[Value]) -> Vec<String> {
    d.iter().filter_map(|x| x["code"].as_str()).filter(|c| c.starts_with("chart-values")).map(String::from).collect()
}

#[test]
fn values_checked_completed_and_explained_from_a_workspace_chart_and_its_schema_file_watched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    };
    w("charts/podinfo/Chart.yaml", "apiVersion: v2\nname: podinfo\nversion: 6.5.0\n");
    w(
        "charts/podinfo/values.yaml",
        "# -- Number of pods\nreplicaCount: 1\nservice:\n  type: ClusterIP\n  port: 9898\n",
    );
    let schema = w(
        "charts/podinfo/values.schema.json",
        r#"{"type": "object", "properties": {"replicaCount": {"type": "integer"}, "service": {"type": "object", "properties": {"type": {"enum": ["ClusterIP", "NodePort"]}, "port": {"type": "integer"}}}}}"#,
    );
    let rel = w("apps/podinfo.yaml", RELEASE);
    let mut c = Client::start(Options { root: Some(root.to_path_buf()), ..Default::default() });
    let u = c.open(&rel, RELEASE);
    // values.schema.json: `two` is not an integer
    let d = c.wait_diagnostics(&u, |d| !codes(d).is_empty());
    assert_eq!(codes(&d), vec!["chart-values-type"], "{d:#?}");
    let (l, col) = pos_utf16(RELEASE, "two");
    assert_eq!(
        d.iter().find(|x| x["code"] == "chart-values-type").unwrap()["range"]["start"],
        json!({"line": l, "character": col})
    );
    // completion of the chart's keys below `service`
    let text2 = RELEASE.replace("      type: ClusterIP\n", "      type: ClusterIP\n      \n");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": text2}]}),
    );
    let r = c
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": u}, "position": {"line": 18, "character": 6}}),
        )
        .unwrap();
    let items = r.as_array().cloned().or_else(|| r["items"].as_array().cloned()).unwrap();
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    assert_eq!(labels, vec!["port"], "{r}");
    // hover on a values key, and on the chart
    let mut hover_in = |needle: &str| {
        let (l, col) = pos_utf16(&text2, needle);
        let h = c
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": u}, "position": {"line": l, "character": col + 2}}),
            )
            .unwrap();
        h["contents"]["value"].as_str().unwrap_or_default().to_string()
    };
    let md = hover_in("replicaCount");
    assert!(md.contains("**`replicaCount`**: integer") && md.contains("`values.schema.json`"), "{md}");
    let md = hover_in("./charts/podinfo");
    assert!(md.starts_with("**Chart `podinfo` 6.5.0**"), "{md}");
    // the schema file goes away: the inferred schema knows no types, so no error
    std::fs::remove_file(&schema).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": uri(&schema), "type": 3}]}));
    c.wait_diagnostics(&u, |d| codes(d).is_empty());
    assert!(c.is_alive());
    c.shutdown();
}
