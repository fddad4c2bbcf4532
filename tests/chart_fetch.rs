//! HelmRelease values from charts of Helm repositories and OCI registries
//! (issue #9), through the real binary over stdio, against loopback
//! fixtures (`tests/chart_fixture`): an HTTP Helm repository and an OCI
//! registry with a token challenge. No test reaches the real network.

mod chart_fixture;
mod common;

use std::path::{Path, PathBuf};

use chart_fixture::{ChartServer, chart};
use common::{Client, Options, pos_utf16};
use serde_json::{Value, json};

const VALUES: &str = "# -- Number of pods\nreplicaCount: 1\nimage:\n  # the image repository\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: 6.5.0\nservice:\n  type: ClusterIP\n  port: 9898\n";
const SCHEMA: &str = r#"{"type": "object", "required": ["image"], "properties": {"replicaCount": {"type": "integer", "minimum": 1, "description": "How many pods"}, "service": {"type": "object", "properties": {"type": {"type": "string", "enum": ["ClusterIP", "NodePort"]}, "port": {"type": "integer"}}}, "image": {"type": "object"}}}"#;

fn codes(d: &[Value]) -> Vec<String> {
    d.iter()
        .filter_map(|x| x["code"].as_str())
        .filter(|c| c.starts_with("chart-"))
        .map(String::from)
        .collect::<Vec<_>>()
}

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn settings(cache: &Path, extra: Value) -> Value {
    let mut charts = json!({"cacheDir": cache});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            charts[k] = v;
        }
    }
    json!({"fluxLsp": {"charts": charts, "cluster": {"enabled": false}}})
}

fn start(root: &Path, settings: Value) -> Client {
    Client::start(Options { root: Some(root.to_path_buf()), settings, ..Default::default() })
}

fn hover(c: &mut Client, u: &str, text: &str, needle: &str) -> String {
    let (l, col) = pos_utf16(text, needle);
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": u}, "position": {"line": l, "character": col + 1}}),
        )
        .unwrap();
    h["contents"]["value"].as_str().unwrap_or_default().to_string()
}

fn complete(c: &mut Client, u: &str, line: u32, character: u32) -> Vec<String> {
    let r = c
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": u}, "position": {"line": line, "character": character}}),
        )
        .unwrap();
    let items = r.as_array().cloned().or_else(|| r["items"].as_array().cloned()).unwrap_or_default();
    items.iter().filter_map(|i| i["label"].as_str().map(String::from)).collect()
}

fn helm_repository(name: &str, url: &str, oci: bool) -> String {
    let ty = if oci { "  type: oci\n  insecure: true\n" } else { "" };
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  interval: 1h\n{ty}  url: {url}\n"
    )
}

fn release(chart: &str, repo: &str, version: &str, values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {chart}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: {chart}\n      version: \"{version}\"\n      sourceRef:\n        kind: HelmRepository\n        name: {repo}\n  values:\n{values}"
    )
}

fn cached_charts(cache: &Path) -> usize {
    std::fs::read_dir(cache.join("charts")).map(|d| d.count()).unwrap_or(0)
}

/// Several versions in the index: `>=6.0 <7` picks 6.5.0 (not 7.0.0, not
/// the 6.6.0-rc.1 prerelease); its values.schema.json drives diagnostics,
/// completion and hover; a second server with the same cache and the
/// repository gone still gets all of it.
#[test]
fn http_repository_chart_resolved_fetched_cached_and_served_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    let mut srv = ChartServer::start();
    srv.add_http_chart("podinfo", "6.4.0", chart("podinfo", "6.4.0", "oldKey: 1\n", None), None);
    srv.add_http_chart("podinfo", "6.5.0", chart("podinfo", "6.5.0", VALUES, Some(SCHEMA)), None);
    srv.add_http_chart("podinfo", "6.6.0-rc.1", chart("podinfo", "6.6.0-rc.1", "rcKey: 1\n", None), None);
    srv.add_http_chart("podinfo", "7.0.0", chart("podinfo", "7.0.0", "newKey: 1\n", None), None);
    write(&root, "apps/repository.yaml", &helm_repository("podinfo", &srv.repo_url(), false));
    let text = release(
        "podinfo",
        "podinfo",
        ">=6.0 <7",
        "    replicaCount: two\n    service:\n      type: Headless\n      \n    imagee: x\n",
    );
    let path = write(&root, "apps/release.yaml", &text);
    let mut c = start(&root, settings(&cache, json!({})));
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |d| codes(d).len() >= 3);
    assert_eq!(codes(&d), vec!["chart-values-type", "chart-values-enum", "chart-values-unknown-key"], "{d:#?}");
    let (l, col) = pos_utf16(&text, "two");
    let ty = d.iter().find(|x| x["code"] == "chart-values-type").unwrap();
    assert_eq!(ty["range"]["start"], json!({"line": l, "character": col}));
    assert_eq!(ty["severity"], 1);
    // hover on the chart: version, repository, cache
    let md = hover(&mut c, &u, &text, "podinfo\n      version");
    assert!(md.starts_with("**Chart `podinfo` 6.5.0**, resolved from version `>=6.0 <7`"), "{md}");
    assert!(md.contains(&srv.repo_url()) && md.contains(&cache.display().to_string()), "{md}");
    // hover on a key: the schema's description
    let md = hover(&mut c, &u, &text, "replicaCount");
    assert!(md.contains("**`replicaCount`**: integer") && md.contains("How many pods"), "{md}");
    // completion below `service` (type is set: port is left)
    let (l, _) = pos_utf16(&text, "      \n    imagee");
    assert_eq!(complete(&mut c, &u, l, 6), vec!["port"]);
    // one index and one archive were downloaded
    let reqs = srv.requests();
    assert_eq!(reqs, vec!["GET /repo/index.yaml", "GET /repo/podinfo-6.5.0.tgz"], "{reqs:?}");
    assert_eq!(cached_charts(&cache), 1);
    c.shutdown();

    // the repository goes away; a new server with the same cache still helps
    srv.stop();
    let mut c = start(&root, settings(&cache, json!({})));
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |d| codes(d).len() >= 3);
    assert_eq!(codes(&d), vec!["chart-values-type", "chart-values-enum", "chart-values-unknown-key"], "{d:#?}");
    let md = hover(&mut c, &u, &text, "podinfo\n      version");
    assert!(md.starts_with("**Chart `podinfo` 6.5.0**"), "{md}");
    assert!(c.is_alive());
    c.shutdown();
}

/// OCI: a HelmRepository of type oci (semver over the tags) behind a token
/// challenge, and a chartRef to an OCIRepository (a tag).
#[test]
fn oci_registry_charts_through_helmrepository_and_chartref() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    let srv = ChartServer::start();
    srv.require_token("t0ken");
    srv.add_oci_chart("charts/podinfo", "6.4.0", chart("podinfo", "6.4.0", "oldKey: 1\n", None));
    srv.add_oci_chart("charts/podinfo", "6.5.0", chart("podinfo", "6.5.0", VALUES, None));
    srv.add_oci_chart("charts/podinfo", "7.0.0", chart("podinfo", "7.0.0", "newKey: 1\n", None));
    srv.add_oci_chart(
        "charts/other",
        "1.0.0",
        chart(
            "other",
            "1.0.0",
            "enabled: true\nmode: a\n",
            Some(r#"{"type": "object", "properties": {"enabled": {"type": "boolean"}, "mode": {"enum": ["a", "b"]}}}"#),
        ),
    );
    write(&root, "apps/repository.yaml", &helm_repository("charts", &srv.oci_url("charts"), true));
    let ocirepo = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: other\n  namespace: apps\nspec:\n  interval: 1h\n  insecure: true\n  url: {}\n  ref:\n    tag: 1.0.0\n",
        srv.oci_url("charts/other")
    );
    write(&root, "apps/ocirepository.yaml", &ocirepo);
    let text = format!(
        "{}---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: other\n  namespace: apps\nspec:\n  interval: 10m\n  chartRef:\n    kind: OCIRepository\n    name: other\n  values:\n    enabled: yes please\n    mode: c\n",
        release("podinfo", "charts", "6.x", "    imagee: x\n    replicaCount: two\n    image:\n      \n")
    );
    let path = write(&root, "apps/release.yaml", &text);
    let mut c = start(&root, settings(&cache, json!({})));
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |d| codes(d).len() >= 3);
    // inferred from values.yaml: only the unknown key; the schema of `other`: type and enum
    assert_eq!(codes(&d), vec!["chart-values-unknown-key", "chart-values-type", "chart-values-enum"], "{d:#?}");
    let md = hover(&mut c, &u, &text, "podinfo\n      version");
    assert!(md.starts_with("**Chart `podinfo` 6.5.0**, resolved from version `6.x` of the OCI repository"), "{md}");
    assert!(md.contains(&srv.oci_url("charts/podinfo")), "{md}");
    let md = hover(&mut c, &u, &text, "other\n  values");
    assert!(md.contains("**Chart `other` 1.0.0**, resolved from tag `1.0.0`"), "{md}");
    let (l, _) = pos_utf16(&text, "      \n---");
    assert_eq!(complete(&mut c, &u, l, 6), vec!["repository", "tag"]);
    let reqs = srv.requests();
    assert!(reqs.iter().any(|r| r.starts_with("GET /token?")), "{reqs:?}");
    assert!(reqs.iter().any(|r| r.starts_with("GET /v2/charts/podinfo/tags/list")), "{reqs:?}");
    assert!(!reqs.iter().any(|r| r.contains("7.0.0") || r.contains("6.4.0")), "{reqs:?}");
    assert_eq!(cached_charts(&cache), 2);
    c.shutdown();
}

/// `charts.fetch: false`: no request reaches the repository, the hover says
/// why there is no help, nothing else changes.
#[test]
fn fetching_off_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    let srv = ChartServer::start();
    srv.add_http_chart("podinfo", "6.5.0", chart("podinfo", "6.5.0", VALUES, Some(SCHEMA)), None);
    write(&root, "apps/repository.yaml", &helm_repository("podinfo", &srv.repo_url(), false));
    let text = release("podinfo", "podinfo", "*", "    replicaCount: two\n");
    let path = write(&root, "apps/release.yaml", &text);
    let mut c = start(&root, settings(&cache, json!({"fetch": false})));
    // the settings are applied before the workspace is indexed
    c.wait_notification("the end of indexing", |m| {
        m["method"] == "$/progress" && m["params"]["token"] == "flux-lsp/index" && m["params"]["value"]["kind"] == "end"
    });
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |_| true);
    assert!(codes(&d).is_empty(), "{d:#?}");
    let md = hover(&mut c, &u, &text, "podinfo\n      version");
    assert!(md.contains("fetching is off"), "{md}");
    // give a (wrong) background fetch the time to happen
    std::thread::sleep(std::time::Duration::from_millis(500));
    let d = c.wait_diagnostics(&u, |_| true);
    assert!(codes(&d).is_empty(), "{d:#?}");
    assert!(srv.requests().is_empty(), "{:?}", srv.requests());
    assert_eq!(cached_charts(&cache), 0);
    assert!(c.is_alive());
    c.shutdown();
}

/// An archive whose digest is not the index's: reported (information, on
/// the chart), not cached.
#[test]
fn digest_mismatch_is_reported_and_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    let srv = ChartServer::start();
    let wrong = "0".repeat(64);
    srv.add_http_chart("podinfo", "6.5.0", chart("podinfo", "6.5.0", VALUES, Some(SCHEMA)), Some(&wrong));
    write(&root, "apps/repository.yaml", &helm_repository("podinfo", &srv.repo_url(), false));
    let text = release("podinfo", "podinfo", "6.5.0", "    replicaCount: two\n");
    let path = write(&root, "apps/release.yaml", &text);
    let mut c = start(&root, settings(&cache, json!({})));
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |d| !codes(d).is_empty());
    assert_eq!(codes(&d), vec!["chart-fetch"], "{d:#?}");
    let f = &d.iter().find(|x| x["code"] == "chart-fetch").unwrap();
    assert_eq!(f["severity"], 3, "information");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("digest mismatch") && msg.contains(&wrong), "{msg}");
    let (l, col) = pos_utf16(&text, "podinfo\n      version");
    assert_eq!(f["range"]["start"], json!({"line": l, "character": col}));
    let md = hover(&mut c, &u, &text, "podinfo\n      version");
    assert!(md.contains("Could not be fetched") && md.contains("digest mismatch"), "{md}");
    assert_eq!(cached_charts(&cache), 0);
    c.wait_notification("the failure in the log", |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"].as_str().is_some_and(|s| s.contains("digest mismatch"))
    });
    c.shutdown();
}

/// `charts.cacheMaxMB`: past the cap, the least recently used chart goes.
#[test]
fn the_cache_keeps_under_its_size_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    let srv = ChartServer::start();
    let big = |k: &str| format!("# {}\n{k}: 1\n", "x".repeat(6000));
    srv.add_http_chart("one", "1.0.0", chart("one", "1.0.0", &big("a"), None), None);
    srv.add_http_chart("two", "1.0.0", chart("two", "1.0.0", &big("b"), None), None);
    write(&root, "apps/repository.yaml", &helm_repository("charts", &srv.repo_url(), false));
    let text =
        format!("{}---\n{}", release("one", "charts", "*", "    x: 1\n"), release("two", "charts", "*", "    y: 1\n"));
    let path = write(&root, "apps/release.yaml", &text);
    let mut c = start(&root, settings(&cache, json!({"cacheMaxMB": 0.01})));
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |d| codes(d).len() >= 2);
    assert_eq!(codes(&d), vec!["chart-values-unknown-key", "chart-values-unknown-key"], "{d:#?}");
    // each chart is ~6 kB; the cap is ~10 kB: one was evicted
    assert_eq!(cached_charts(&cache), 1);
    c.shutdown();
}

/// A repository that cannot be reached (here: an https address, which the
/// harness's proxy guard turns into a refused loopback connection): one
/// information on the chart, no error, and the server goes on.
#[test]
fn an_unreachable_repository_is_an_information_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    write(&root, "apps/repository.yaml", &helm_repository("podinfo", "https://charts.example.invalid/podinfo", false));
    let text = release("podinfo", "podinfo", "6.x", "    replicaCount: two\n");
    let path = write(&root, "apps/release.yaml", &text);
    let mut c = start(&root, settings(&cache, json!({})));
    let u = c.open(&path, &text);
    let d = c.wait_diagnostics(&u, |d| !codes(d).is_empty());
    assert_eq!(codes(&d), vec!["chart-fetch"], "{d:#?}");
    let f = d.iter().find(|x| x["code"] == "chart-fetch").unwrap();
    assert_eq!(f["severity"], 3);
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("could not be fetched: GET https://charts.example.invalid/podinfo/index.yaml"), "{msg}");
    assert!(!d.iter().any(|x| x["severity"] == 1), "{d:#?}");
    assert!(c.is_alive());
    c.shutdown();
}

fn check_json(root: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = std::process::Command::new(common::bin())
        .arg("check")
        .args(["--format", "json"])
        .args(args)
        .arg(root)
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, String::from_utf8_lossy(&out.stderr).into())
}

fn check_codes(v: &Value) -> Vec<String> {
    codes(v["diagnostics"].as_array().map(Vec::as_slice).unwrap_or(&[]))
}

/// `flux-lsp check` reads the chart cache only; `--fetch-charts` fills it
/// first, synchronously.
#[test]
fn check_uses_the_cache_and_fetches_with_fetch_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (root, cache) = (dir.path().join("repo"), dir.path().join("cache"));
    let cache_s = cache.to_str().unwrap();
    let mut srv = ChartServer::start();
    srv.add_http_chart("podinfo", "6.5.0", chart("podinfo", "6.5.0", VALUES, Some(SCHEMA)), None);
    write(&root, "apps/repository.yaml", &helm_repository("podinfo", &srv.repo_url(), false));
    write(&root, "apps/release.yaml", &release("podinfo", "podinfo", "^6", "    replicaCount: two\n"));
    // nothing cached, no fetching: no values checks, a note on stderr
    let (code, v, err) = check_json(&root, &["--charts-cache", cache_s]);
    assert_eq!((code, check_codes(&v)), (0, vec![]), "{v}");
    assert!(err.contains("1 HelmRelease(s) use charts that are not in the chart cache"), "{err}");
    assert!(srv.requests().is_empty());
    // --fetch-charts: fetched, then checked
    let (code, v, err) = check_json(&root, &["--charts-cache", cache_s, "--fetch-charts"]);
    assert_eq!((code, check_codes(&v)), (1, vec!["chart-values-type".to_string()]), "{v}\n{err}");
    assert_eq!(srv.requests().len(), 2);
    // the repository gone: the cache still serves
    srv.stop();
    let (code, v, _) = check_json(&root, &["--charts-cache", cache_s]);
    assert_eq!((code, check_codes(&v)), (1, vec!["chart-values-type".to_string()]), "{v}");
}
