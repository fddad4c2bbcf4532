//! End-to-end tests of the live cluster overlay (issue #6): the real binary
//! over stdio, talking to the loopback fake API server of `tests/support`
//! through a kubeconfig written by each test.

mod common;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Client, Options, pos_utf16};
use serde_json::{Value, json};
use support::{FakeApi, condition, helmrelease, helmrelease_yaml};

struct Env {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Env {
    fn new(api: &FakeApi, token: Option<&str>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo")).unwrap();
        let kubeconfig = api.kubeconfig(dir.path(), token);
        Env { dir, kubeconfig }
    }
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }
    fn start(&self, settings: Value) -> Client {
        Client::start(Options {
            root: Some(self.repo()),
            settings,
            env: vec![
                ("KUBECONFIG".into(), self.kubeconfig.display().to_string()),
                ("HOME".into(), self.dir.path().display().to_string()),
            ],
            ..Default::default()
        })
    }
}

fn is_status(m: &Value, state: &str) -> bool {
    m["method"] == "flux-lsp/clusterStatus" && m["params"]["state"] == state
}

fn wait_connected(c: &mut Client) -> Value {
    c.wait_notification("clusterStatus connected", |m| is_status(m, "connected"))
}

/// The overlay's diagnostics (the documents also get reference diagnostics:
/// their sources are not in the test repository).
fn cluster_diags(d: &[Value]) -> Vec<Value> {
    d.iter().filter(|x| x["code"].as_str().unwrap_or("").starts_with("cluster-")).cloned().collect()
}

fn has_code(d: &[Value], code: &str) -> bool {
    d.iter().any(|x| x["code"] == code)
}

fn find<'a>(d: &'a [Value], code: &str) -> &'a Value {
    d.iter().find(|x| x["code"] == code).unwrap_or_else(|| panic!("no {code} in {d:#?}"))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn range_of(text: &str, needle: &str) -> Value {
    let (l, c) = pos_utf16(text, needle);
    json!({"start": {"line": l, "character": c}, "end": {"line": l, "character": c + needle.len() as u32}})
}

const FAILED: &str = "Helm install failed for release apps/podinfo with chart podinfo@6.5.0: context deadline exceeded";

/// A cluster whose HelmRelease apps/podinfo failed to install, a connected
/// server, and the release's document open with its `cluster-not-ready` in.
fn failing_podinfo() -> (FakeApi, Env, Client, String, String) {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    podinfo_open(api)
}

/// A connected server on `api` (which has apps/podinfo failing), with the
/// release's document open and its `cluster-not-ready` in.
fn podinfo_open(api: FakeApi) -> (FakeApi, Env, Client, String, String) {
    let env = Env::new(&api, None);
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let text = helmrelease_yaml("apps", "podinfo");
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    (api, env, c, u, text)
}

#[test]
fn not_ready_helmrelease_is_a_diagnostic_within_a_second_and_clears_when_ready() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    let env = Env::new(&api, None);
    let mut c = env.start(Value::Null);
    let st = wait_connected(&mut c);
    assert_eq!(st["params"]["context"], "fake-ctx");
    // a $/progress while connecting, and a log line
    let progress = |kind: &'static str| {
        move |m: &Value| {
            m["method"] == "$/progress"
                && m["params"]["token"] == "flux-lsp/cluster"
                && m["params"]["value"]["kind"] == kind
        }
    };
    let begin = c.wait_notification("cluster progress begin", progress("begin"));
    assert_eq!(begin["params"]["value"]["title"], "Connecting to the cluster");
    c.wait_notification("cluster progress end", progress("end"));
    c.wait_notification("a log line", |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"].as_str().unwrap().starts_with("cluster: connected (context `fake-ctx`)")
    });
    let text = helmrelease_yaml("apps", "podinfo");
    let t0 = Instant::now();
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    let d = c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let nr = find(&d, "cluster-not-ready");
    assert_eq!(nr["severity"], 1);
    assert_eq!(nr["range"], range_of(&text, "podinfo"));
    assert_eq!(
        nr["message"],
        format!("HelmRelease apps/podinfo is not ready in the cluster: InstallFailed: {FAILED}").as_str()
    );
    // the controller succeeds: the watch event clears the diagnostic
    let t1 = Instant::now();
    api.set_status(
        "HelmRelease",
        "apps",
        "podinfo",
        json!({"observedGeneration": 1, "lastAppliedRevision": "6.5.0",
            "conditions": [condition("Ready", "True", "InstallSucceeded", "Helm install succeeded")]}),
    );
    let d = c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready"));
    assert!(t1.elapsed() < Duration::from_secs(1), "took {:?}", t1.elapsed());
    assert!(cluster_diags(&d).is_empty(), "{d:#?}");
    c.shutdown();
}

#[test]
fn hover_shows_live_status_and_warning_events_and_code_lenses_offer_commands() {
    let api = FakeApi::start();
    let hr = helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED);
    api.apply(hr.clone());
    api.warning_event(&hr, "InstallFailed", "Helm install failed: context deadline exceeded");
    let (_api, _env, mut c, u, text) = podinfo_open(api);
    let (l, col) = pos_utf16(&text, "podinfo");
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": u}, "position": {"line": l, "character": col + 2}}),
        )
        .unwrap();
    let md = h["contents"]["value"].as_str().unwrap();
    for want in [
        "**Cluster** `fake-ctx`",
        "**Ready**: False (InstallFailed)",
        FAILED,
        "**Revision**: `6.5.0`",
        "**Last reconcile**: 2026-11-24T10:00:00Z",
        "**Suspended**: no",
        "**Warning events**",
        "Helm install failed: context deadline exceeded",
    ] {
        assert!(md.contains(want), "hover lacks {want:?}:\n{md}");
    }
    let lenses = c.request("textDocument/codeLens", json!({"textDocument": {"uri": u}})).unwrap();
    let lenses = lenses.as_array().unwrap();
    let titles: Vec<&str> = lenses.iter().map(|l| l["command"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Not ready · 6.5.0 · InstallFailed", "Reconcile", "Reconcile with source", "Suspend"]);
    assert_eq!(lenses[1]["command"]["command"], "flux-lsp.reconcile");
    assert_eq!(lenses[1]["command"]["arguments"], json!([{"uri": u, "line": l}]));
    assert_eq!(lenses[0]["range"]["start"]["line"], 0);
    c.shutdown();
}

#[test]
fn drift_and_missing_objects() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "True", "InstallSucceeded", "ok"));
    let env = Env::new(&api, None);
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let text = helmrelease_yaml("apps", "podinfo").replace("interval: 5m", "interval: 10m")
        + "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\nspec:\n  interval: 1h\n  path: ./infra\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
    let u = c.open(&env.repo().join("apps.yaml"), &text);
    let d = c.wait_diagnostics(&u, |d| has_code(d, "cluster-drift") && has_code(d, "cluster-not-found"));
    let drift = find(&d, "cluster-drift");
    assert_eq!(drift["range"], range_of(&text, "10m"));
    assert_eq!(drift["message"], "drift: the cluster has `spec.interval` = \"5m\"");
    assert_eq!(drift["severity"], 3);
    let nf = find(&d, "cluster-not-found");
    assert_eq!(nf["severity"], 4);
    // no namespace in the document: the context's namespace
    assert_eq!(nf["message"], "Kustomization default/infra does not exist in cluster context `fake-ctx`");
    // suspended and not yet reconciled objects
    let mut obj = api.get("HelmRelease", "apps", "podinfo").unwrap();
    obj["spec"]["interval"] = json!("10m");
    api.apply(obj); // generation 2, observed 1
    let d = c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-reconciled") && !has_code(d, "cluster-drift"));
    assert!(find(&d, "cluster-not-reconciled")["message"].as_str().unwrap().contains("generation 2, observed 1"));
    c.shutdown();
}

#[test]
fn api_server_going_away_marks_diagnostics_stale_and_reconnects() {
    let (api, _env, mut c, u, text) = failing_podinfo();
    api.go_down();
    let d = c.wait_diagnostics(&u, |d| {
        d.iter().any(|x| x["code"] == "cluster-not-ready" && x["message"].as_str().unwrap().starts_with("(stale) "))
    });
    assert_eq!(cluster_diags(&d).len(), 1, "{d:#?}");
    let st = c.wait_notification("clusterStatus error", |m| is_status(m, "error"));
    assert!(st["params"]["message"].as_str().unwrap().contains("retrying"), "{st}");
    // everything else keeps working
    let (l, col) = pos_utf16(&text, "podinfo");
    let h = c
        .request("textDocument/hover", json!({"textDocument": {"uri": u}, "position": {"line": l, "character": col}}))
        .unwrap();
    assert!(h["contents"]["value"].as_str().unwrap().contains("stale"), "{h}");
    let r = c.request(
        "workspace/executeCommand",
        json!({"command": "flux-lsp.reconcile", "arguments": [{"uri": u, "line": l}]}),
    );
    assert!(r.unwrap_err()["message"].as_str().unwrap().contains("no cluster connection"));
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": text.replace("5m", "6m")}]}),
    );
    assert!(c.document_text(&u).unwrap().contains("6m"));
    assert!(c.is_alive());
    // the server comes back: fresh, non-stale status
    api.set_status("HelmRelease", "apps", "podinfo", json!({"conditions": [condition("Ready", "True", "Ok", "ok")]}));
    api.come_back();
    wait_connected(&mut c);
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready") && has_code(d, "cluster-drift"));
    c.shutdown();
}

#[test]
fn watch_expiry_410_relists() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    let env = Env::new(&api, None);
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let u = c.open(&env.repo().join("podinfo.yaml"), &helmrelease_yaml("apps", "podinfo"));
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    let lists_before =
        api.requests().iter().filter(|r| r.path.ends_with("/helmreleases") && !r.query.contains("watch")).count();
    api.expire();
    // a change the watch missed during compaction is seen through the re-list
    wait_until("re-list after 410", || {
        api.requests().iter().filter(|r| r.path.ends_with("/helmreleases") && !r.query.contains("watch")).count()
            > lists_before
    });
    api.set_status("HelmRelease", "apps", "podinfo", json!({"conditions": [condition("Ready", "True", "Ok", "ok")]}));
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready"));
    assert!(c.is_alive());
    c.shutdown();
}

#[test]
fn forbidden_list_names_the_missing_permission_and_namespaced_fallback_works() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    api.forbid("helmreleases", None);
    api.forbid("helmreleases", Some("default"));
    api.forbid_everywhere("kustomizations");
    api.forbid_verb("gitrepositories", "watch");
    let env = Env::new(&api, None);
    // the repository on disk: the namespaces of interest come from it
    let text = helmrelease_yaml("apps", "podinfo");
    std::fs::write(env.repo().join("podinfo.yaml"), &text).unwrap();
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let msg = c.wait_notification("a showMessage about permissions", |m| {
        m["method"] == "window/showMessage" && m["params"]["message"].as_str().unwrap().contains("missing permission")
    });
    let text_msg = msg["params"]["message"].as_str().unwrap();
    assert!(
        text_msg.contains("cannot `list` (nor `watch`) `kustomizations.kustomize.toolkit.fluxcd.io`"),
        "{text_msg}"
    );
    assert!(text_msg.contains("cannot list resource \"kustomizations\""), "{text_msg}");
    c.wait_notification("a showMessage about watch permission", |m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot `watch` `gitrepositories.source.toolkit.fluxcd.io`")
    });
    // helmreleases: forbidden cluster-wide, allowed in `apps` (listed per namespace)
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    api.set_status("HelmRelease", "apps", "podinfo", json!({"conditions": [condition("Ready", "True", "Ok", "ok")]}));
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready"));
    // the status may have come with the namespaced list, made before the
    // status was set; the watch that follows it is then moments later
    let watching = || {
        api.requests().iter().any(|r| {
            r.path == "/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases" && r.query.contains("watch=true")
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !watching() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(watching(), "no namespaced watch of helmreleases in apps");
    c.shutdown();
}

fn reconcile_env() -> (FakeApi, Env) {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "True", "InstallSucceeded", "ok"));
    api.apply(json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": "apps-podinfo", "namespace": "flux-system"},
        "spec": {"chart": "podinfo", "sourceRef": {"kind": "HelmRepository", "name": "charts"}, "interval": "5m"},
        "status": {"conditions": [condition("Ready", "True", "ChartPullSucceeded", "pulled")]}}));
    let env = Env::new(&api, None);
    (api, env)
}

fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() >= 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && s.ends_with('Z')
}

#[test]
fn reconcile_suspend_resume_send_exactly_the_flux_cli_patches() {
    let (api, env) = reconcile_env();
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let text = helmrelease_yaml("apps", "podinfo");
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    c.wait_diagnostics(&u, |d| cluster_diags(d).is_empty());
    let arg = json!([{"uri": u, "line": 7}]); // a line inside the object
    let r = c.request("workspace/executeCommand", json!({"command": "flux-lsp.reconcile", "arguments": arg})).unwrap();
    assert_eq!(r["message"], "Reconcile requested for HelmRelease apps/podinfo");
    wait_until("the reconcile patch", || api.patches().len() == 1);
    let p = &api.patches()[0];
    assert_eq!(p.path, "/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases/podinfo");
    assert_eq!(p.content_type, "application/merge-patch+json");
    let ts = p.body["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].as_str().unwrap().to_string();
    assert!(is_rfc3339_utc(&ts), "{ts}");
    assert_eq!(p.body, json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": ts}}}));

    // with source: the HelmChart first, then the release
    c.request("workspace/executeCommand", json!({"command": "flux-lsp.reconcileWithSource", "arguments": arg}))
        .unwrap();
    wait_until("two more patches", || api.patches().len() == 3);
    let ps = api.patches();
    assert_eq!(ps[1].path, "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/helmcharts/apps-podinfo");
    assert_eq!(ps[2].path, "/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases/podinfo");
    for p in &ps[1..] {
        assert_eq!(p.body["metadata"]["annotations"].as_object().unwrap().len(), 1);
        assert!(is_rfc3339_utc(p.body["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].as_str().unwrap()));
    }

    // suspend: the patch, then the watch event shows it
    c.request("workspace/executeCommand", json!({"command": "flux-lsp.suspend", "arguments": arg})).unwrap();
    wait_until("the suspend patch", || api.patches().len() == 4);
    assert_eq!(api.patches()[3].body, json!({"spec": {"suspend": true}}));
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-suspended"));
    c.request("workspace/executeCommand", json!({"command": "flux-lsp.resume", "arguments": arg})).unwrap();
    wait_until("the resume patch", || api.patches().len() == 5);
    assert_eq!(api.patches()[4].body, json!({"spec": {"suspend": false}}));
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-suspended"));

    // not on a Flux object / unknown arguments: errors, no write
    let e = c
        .request("workspace/executeCommand", json!({"command": "flux-lsp.reconcile", "arguments": [{"uri": u}]}))
        .unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("expected the arguments"), "{e}");
    // only PATCH writes, and never a Secret
    assert_eq!(api.writes().len(), 5);
    assert!(!api.requests().iter().any(|r| r.path.contains("secrets")));
    c.shutdown();
}

#[test]
fn read_only_refuses_commands_and_writes_nothing() {
    let (api, env) = reconcile_env();
    let mut c = env.start(json!({"fluxLsp": {"cluster": {"readOnly": true}}}));
    wait_connected(&mut c);
    let u = c.open(&env.repo().join("podinfo.yaml"), &helmrelease_yaml("apps", "podinfo"));
    c.wait_diagnostics(&u, |d| cluster_diags(d).is_empty());
    for cmd in ["flux-lsp.reconcile", "flux-lsp.reconcileWithSource", "flux-lsp.suspend", "flux-lsp.resume"] {
        let e = c
            .request("workspace/executeCommand", json!({"command": cmd, "arguments": [{"uri": u, "line": 3}]}))
            .unwrap_err();
        assert!(e["message"].as_str().unwrap().contains("`fluxLsp.cluster.readOnly` is true"), "{e}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(api.writes().is_empty(), "{:?}", api.writes());
    c.shutdown();
}

fn all_text(c: &Client, seen: &[Value]) -> String {
    let mut s = std::fs::read_to_string(&c.stderr_path).unwrap_or_default();
    for m in seen.iter().chain(c.notifications.iter()) {
        s.push_str(&m.to_string());
    }
    s
}

#[test]
fn the_token_never_appears_in_logs_or_messages() {
    const TOKEN: &str = "flux-lsp-test-token-7d1c0b9e4a2f";
    let api = FakeApi::start();
    api.require_token(TOKEN);
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    let env = Env::new(&api, Some(TOKEN));
    let mut c = env.start(Value::Null);
    let mut seen = vec![wait_connected(&mut c)];
    let text = helmrelease_yaml("apps", "podinfo");
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    c.request(
        "workspace/executeCommand",
        json!({"command": "flux-lsp.reconcile", "arguments": [{"uri": u, "line": 3}]}),
    )
    .unwrap();
    wait_until("the patch", || api.patches().len() == 1);
    assert_eq!(api.patches()[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    api.go_down();
    seen.push(c.wait_notification("clusterStatus error", |m| is_status(m, "error")));
    let text_all = all_text(&c, &seen);
    assert!(!text_all.contains(TOKEN), "the token leaked");
    assert!(!text_all.contains("7d1c0b9e4a2f"), "part of the token leaked");
    c.shutdown();

    // a rejected token
    const WRONG: &str = "wrong-token-0a9b8c7d6e5f";
    let env = Env::new(&api, Some(WRONG));
    api.come_back();
    let mut c = env.start(Value::Null);
    let m = c.wait_notification("the credentials message", |m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"].as_str().unwrap().contains("rejected the credentials")
    });
    let text_all = all_text(&c, &[m]);
    assert!(!text_all.contains(WRONG));
    c.shutdown();

    // a broken kubeconfig holding a token: the parse error must not quote it
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, format!("apiVersion: v1\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n  - bad: [\n"))
        .unwrap();
    let mut c = Client::start(Options {
        root: Some(dir.path().to_path_buf()),
        env: vec![("KUBECONFIG".into(), kc.display().to_string()), ("HOME".into(), dir.path().display().to_string())],
        ..Default::default()
    });
    let m = c.wait_notification("the broken kubeconfig message", |m| m["method"] == "window/showMessage");
    assert!(m["params"]["message"].as_str().unwrap().contains("is not valid"), "{m}");
    let text_all = all_text(&c, &[m]);
    assert!(!text_all.contains(TOKEN));
    c.shutdown();
}

#[test]
fn no_kubeconfig_is_silently_off_and_a_broken_one_gives_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    let mut c = Client::start(Options {
        root: Some(root.clone()),
        env: vec![("HOME".into(), dir.path().display().to_string()), ("KUBECONFIG".into(), String::new())],
        ..Default::default()
    });
    let st = c.wait_notification("clusterStatus disabled", |m| is_status(m, "disabled"));
    assert_eq!(st["params"]["context"], Value::Null);
    let u = c.open(&root.join("a.yaml"), "a: 1\na: 2\n");
    c.wait_diagnostics(&u, |d| has_code(d, "duplicate-key"));
    assert!(!c.notifications.iter().any(|m| m["method"] == "window/showMessage"), "{:?}", c.notifications);
    let lenses = c.request("textDocument/codeLens", json!({"textDocument": {"uri": u}})).unwrap();
    assert!(lenses.is_null() || lenses.as_array().unwrap().is_empty());
    c.shutdown();

    // broken: exactly one message, and the rest works
    let kc = dir.path().join("broken");
    std::fs::write(&kc, "apiVersion: v1\nclusters: {{{\n").unwrap();
    let mut c = Client::start(Options {
        root: Some(root.clone()),
        settings: json!({"fluxLsp": {"cluster": {"kubeconfig": kc}}}),
        env: vec![("HOME".into(), dir.path().display().to_string())],
        ..Default::default()
    });
    c.wait_notification("clusterStatus error", |m| is_status(m, "error"));
    let u = c.open(&root.join("a.yaml"), "a: 1\na: 2\n");
    c.wait_diagnostics(&u, |d| has_code(d, "duplicate-key"));
    std::thread::sleep(Duration::from_millis(200));
    let _ = c.request("flux-lsp/documentText", json!({"uri": u}));
    let msgs: Vec<&Value> = c.notifications.iter().filter(|m| m["method"] == "window/showMessage").collect();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert!(msgs[0]["params"]["message"].as_str().unwrap().contains(&kc.display().to_string()));
    c.shutdown();
}

#[test]
fn the_enabled_setting_turns_the_overlay_off_and_on_at_run_time() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    let env = Env::new(&api, None);
    let mut c = env.start(json!({"fluxLsp": {"cluster": {"enabled": false}}}));
    let st = c.wait_notification("clusterStatus disabled", |m| is_status(m, "disabled"));
    assert_eq!(st["params"]["message"], "fluxLsp.cluster.enabled is false");
    let u = c.open(&env.repo().join("podinfo.yaml"), &helmrelease_yaml("apps", "podinfo"));
    let d = c.wait_diagnostics(&u, |_| true);
    assert!(cluster_diags(&d).is_empty());
    assert!(api.requests().is_empty(), "{:?}", api.requests());
    // turned on: connects and shows the status
    c.settings = json!({"fluxLsp": {"cluster": {"enabled": true}}});
    c.notify("workspace/didChangeConfiguration", json!({"settings": c.settings.clone()}));
    wait_connected(&mut c);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    // and off again: the overlay's diagnostics go away
    c.notify("workspace/didChangeConfiguration", json!({"settings": {"fluxLsp": {"cluster": {"enabled": false}}}}));
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready"));
    c.shutdown();
}

#[test]
fn a_changed_kubeconfig_is_picked_up() {
    let a = FakeApi::start();
    a.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    let b = FakeApi::start(); // another cluster, without the release
    let env = Env::new(&a, None);
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let u = c.open(&env.repo().join("podinfo.yaml"), &helmrelease_yaml("apps", "podinfo"));
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    // e.g. `kubectl config use-context`: the file now points at the other cluster
    b.kubeconfig(env.dir.path(), None);
    let d = c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-found"));
    assert!(!has_code(&d, "cluster-not-ready"), "{d:#?}");
    assert!(!b.requests().is_empty());
    // a broken file: one message; fixed again: connected again
    std::fs::write(&env.kubeconfig, "apiVersion: v1\nclusters: [\n").unwrap();
    c.wait_notification("the broken kubeconfig message", |m| {
        m["method"] == "window/showMessage" && m["params"]["message"].as_str().unwrap().contains("is not valid")
    });
    a.kubeconfig(env.dir.path(), None);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    c.shutdown();
}

// ---- faults (issue #8): the editor stays responsive and the status says what happened

/// A hover on the open document answers quickly whatever the cluster does.
fn hover_is_quick(c: &mut Client, u: &str, text: &str) {
    let (l, col) = pos_utf16(text, "interval");
    let t = Instant::now();
    let h = c
        .request("textDocument/hover", json!({"textDocument": {"uri": u}, "position": {"line": l, "character": col}}))
        .unwrap();
    assert!(h["contents"]["value"].as_str().unwrap().contains("interval"), "{h}");
    assert!(t.elapsed() < Duration::from_millis(500), "hover took {:?}", t.elapsed());
}

fn kustomization(ns: &str, name: &str, ready: &str, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m", "path": "./apps", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"observedGeneration": 1, "conditions": [condition("Ready", ready, reason, message)]}
    })
}

const KS_YAML: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";

#[test]
fn slow_api_server_is_reported_and_never_blocks_requests() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    api.set_delay(Duration::from_secs(3));
    let env = Env::new(&api, None);
    let mut c = env.start(json!({"cluster": {"requestTimeout": 1}}));
    let text = helmrelease_yaml("apps", "podinfo");
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    c.wait_diagnostics(&u, |_| true);
    let st = c.wait_notification("clusterStatus error", |m| is_status(m, "error"));
    let msg = st["params"]["message"].as_str().unwrap();
    assert!(msg.contains("the API server did not answer the version discovery within 1s"), "{msg}");
    assert!(msg.contains("retrying"), "{msg}");
    // requests are answered while the server hangs
    for _ in 0..5 {
        hover_is_quick(&mut c, &u, &text);
    }
    // slow but within the limit: it connects and the status arrives
    api.set_delay(Duration::from_millis(200));
    wait_connected(&mut c);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    hover_is_quick(&mut c, &u, &text);
    c.shutdown();
}

#[test]
fn a_list_that_is_not_json_costs_only_its_kind() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    api.apply(kustomization("flux-system", "apps", "False", "BuildFailed", "kustomize build failed: missing file"));
    api.garbage_list("helmreleases", true);
    let env = Env::new(&api, None);
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let m = c.wait_notification("a message about the unreadable list", |m| {
        m["method"] == "window/showMessage" && m["params"]["message"].as_str().unwrap().contains("not valid JSON")
    });
    let text = m["params"]["message"].as_str().unwrap();
    assert!(text.contains("`helmreleases.helm.toolkit.fluxcd.io`"), "{text}");
    assert!(!text.contains("kustomizations"), "{text}");
    // the other kinds work
    let uk = c.open(&env.repo().join("apps.yaml"), KS_YAML);
    let d = c.wait_diagnostics(&uk, |d| has_code(d, "cluster-not-ready"));
    assert!(find(&d, "cluster-not-ready")["message"].as_str().unwrap().contains("missing file"));
    // and the unreadable kind is not claimed to be missing from the cluster
    let text = helmrelease_yaml("apps", "podinfo");
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    let d = c.wait_diagnostics(&u, |_| true);
    assert!(cluster_diags(&d).is_empty(), "{d:#?}");
    hover_is_quick(&mut c, &u, &text);
    c.shutdown();
}

#[test]
fn a_watch_event_that_is_not_json_is_recovered_by_a_list_without_spinning() {
    let (api, _env, mut c, u, text) = failing_podinfo();
    let watches = || {
        api.requests().iter().filter(|r| r.path.ends_with("/helmreleases") && r.query.contains("watch=true")).count()
    };
    // from now on every watch of helmreleases sends a garbage line first
    api.garbage_watch("helmreleases", true);
    api.set_status("HelmRelease", "apps", "podinfo", json!({"conditions": [condition("Ready", "True", "Ok", "ok")]}));
    // the change is not lost: the watcher lists again
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready"));
    let log = c.wait_notification("a log line about the invalid event", |m| {
        m["method"] == "window/logMessage" && m["params"]["message"].as_str().unwrap().contains("not valid JSON")
    });
    assert!(log["params"]["message"].as_str().unwrap().contains("watch event for helmreleases.helm.toolkit.fluxcd.io"));
    // it backs off instead of re-watching in a loop
    let before = watches();
    std::thread::sleep(Duration::from_secs(3));
    let during = watches() - before;
    assert!(during <= 6, "{during} watches in 3 s");
    hover_is_quick(&mut c, &u, &text);
    // and recovers when the server behaves
    api.garbage_watch("helmreleases", false);
    api.set_status(
        "HelmRelease",
        "apps",
        "podinfo",
        json!({"conditions": [condition("Ready", "False", "UpgradeFailed", "upgrade failed")]}),
    );
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    c.shutdown();
}

#[test]
fn a_watch_that_never_sends_is_replaced_and_missed_changes_arrive() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "False", "InstallFailed", FAILED));
    api.silent_watches(true);
    let env = Env::new(&api, None);
    let mut c = env.start(json!({"cluster": {"requestTimeout": 1, "watchTimeout": 1}}));
    wait_connected(&mut c);
    let text = helmrelease_yaml("apps", "podinfo");
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    c.wait_diagnostics(&u, |d| has_code(d, "cluster-not-ready"));
    // the watch is silent: this change only arrives through the re-list
    let t = Instant::now();
    api.set_status("HelmRelease", "apps", "podinfo", json!({"conditions": [condition("Ready", "True", "Ok", "ok")]}));
    hover_is_quick(&mut c, &u, &text);
    c.wait_diagnostics(&u, |d| !has_code(d, "cluster-not-ready"));
    assert!(t.elapsed() < Duration::from_secs(6), "took {:?}", t.elapsed());
    let log = c.wait_notification("a log line about the silent watch", |m| {
        m["method"] == "window/logMessage" && m["params"]["message"].as_str().unwrap().contains("sent nothing for 2s")
    });
    assert!(log["params"]["message"].as_str().unwrap().contains("listing again"), "{log}");
    c.shutdown();
}

/// A HelmRelease CRD as a newer Flux might serve it: `spec.clusterOnlyField`
/// exists only there.
fn helmrelease_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "helmreleases.helm.toolkit.fluxcd.io"},
        "spec": {"group": "helm.toolkit.fluxcd.io", "scope": "Namespaced",
            "names": {"kind": "HelmRelease", "plural": "helmreleases", "singular": "helmrelease", "listKind": "HelmReleaseList"},
            "versions": [{"name": "v2", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                    "spec": {"type": "object", "required": ["interval"], "properties": {
                        "interval": {"type": "string"},
                        "chart": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "clusterOnlyField": {"type": "integer", "description": "How many times this cluster's Flux retries (cluster CRD)."}
                    }},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}}}]}
    })
}

#[test]
fn the_clusters_crds_are_a_schema_source() {
    let api = FakeApi::start();
    api.apply(helmrelease("apps", "podinfo", "True", "InstallSucceeded", "ok"));
    api.add_crd(helmrelease_crd());
    let env = Env::new(&api, None);
    let text = format!("{}  clusterOnlyField: many\n", helmrelease_yaml("apps", "podinfo"));
    // without a cluster the built-in schema does not know the field
    let mut off = env.start(json!({"cluster": {"enabled": false}}));
    let u = off.open(&env.repo().join("podinfo.yaml"), &text);
    off.wait_diagnostics(&u, |d| has_code(d, "unknown-field"));
    off.shutdown();
    // connected: the cluster's CRD knows it, as an integer, with its description
    let mut c = env.start(Value::Null);
    wait_connected(&mut c);
    let u = c.open(&env.repo().join("podinfo.yaml"), &text);
    let d = c.wait_diagnostics(&u, |d| has_code(d, "wrong-type"));
    assert!(!has_code(&d, "unknown-field"), "{d:#?}");
    assert_eq!(find(&d, "wrong-type")["range"], range_of(&text, "many"));
    let (l, col) = pos_utf16(&text, "clusterOnlyField");
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": u}, "position": {"line": l, "character": col + 3}}),
        )
        .unwrap();
    let md = h["contents"]["value"].as_str().unwrap();
    assert!(md.contains("How many times this cluster's Flux retries (cluster CRD)."), "{md}");
    assert!(
        api.requests()
            .iter()
            .any(|r| r.path.ends_with("/customresourcedefinitions/helmreleases.helm.toolkit.fluxcd.io"))
    );
    // turned off at run time: back to the built-in schema
    c.notify("workspace/didChangeConfiguration", json!({"settings": {"fluxLsp": {"cluster": {"enabled": false}}}}));
    c.wait_diagnostics(&u, |d| has_code(d, "unknown-field"));
    c.shutdown();
}
