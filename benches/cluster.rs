//! Cluster overlay benchmark (issue #6).
//!
//! 1. End to end: the real binary connected to the loopback fake API server
//!    holding 2,000 HelmReleases, with one open document declaring all of
//!    them; the time from a status change on the API server (a watch event)
//!    to the `publishDiagnostics` of the open document that shows it.
//! 2. The status cache's memory for those 2,000 objects (a counting
//!    allocator, in process), and the overlay's diagnostics computation alone.
//!
//! Run: `cargo bench --bench cluster`. Under `cargo test` it runs as a quick
//! smoke test (200 objects, 3 rounds).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn stats(name: &str, mut v: Vec<Duration>, target: Duration) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let fmt = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    let verdict = if p(0.5) <= target { "met" } else { "MISSED" };
    println!(
        "{name:<62} p50 {:>9}  p95 {:>9}  max {:>9}  n={}  (target {}: {verdict})",
        fmt(p(0.5)),
        fmt(p(0.95)),
        fmt(*v.last().unwrap()),
        v.len(),
        fmt(target)
    );
}

/// A HelmRelease as a cluster has it, with realistic values.
fn cluster_object(i: usize, ready: &str, message: &str) -> Value {
    let mut o = support::helmrelease("apps", &format!("app-{i}"), ready, "Reconciled", message);
    o["spec"]["values"] = json!({
        "replicaCount": 2,
        "image": {"repository": format!("ghcr.io/example/app-{i}"), "tag": "1.2.3", "pullPolicy": "IfNotPresent"},
        "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}, "requests": {"memory": "128Mi", "cpu": "100m"}},
        "ingress": {"enabled": true, "hosts": [{"host": format!("app-{i}.example.com"), "paths": ["/"]}]},
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "FEATURE_X", "value": "true"}]
    });
    o["status"]["history"] = json!([{"chartName": "app", "chartVersion": "6.5.0", "status": "deployed", "version": 3}]);
    o["metadata"]["annotations"] = json!({"meta.helm.sh/release-name": format!("app-{i}")});
    o
}

fn document(n: usize) -> String {
    let mut s = String::from(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://charts.example.com\n",
    );
    for i in 0..n {
        s.push_str("---\n");
        s.push_str(&support::helmrelease_yaml("apps", &format!("app-{i}")));
    }
    s
}

fn has_message(m: &Value, uri: &str, needle: &str) -> bool {
    m["method"] == "textDocument/publishDiagnostics"
        && m["params"]["uri"] == uri
        && m["params"]["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x["message"].as_str().is_some_and(|s| s.contains(needle))))
}

fn lacks_cluster_codes(m: &Value, uri: &str) -> bool {
    m["method"] == "textDocument/publishDiagnostics"
        && m["params"]["uri"] == uri
        && m["params"]["diagnostics"]
            .as_array()
            .is_some_and(|d| !d.iter().any(|x| x["code"].as_str().is_some_and(|c| c.starts_with("cluster-"))))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 2000 } else { 200 };
    let rounds = if full { 40 } else { 3 };

    // --- 1. end to end ---
    let api = support::FakeApi::start();
    api.apply(json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": "flux-system"}, "spec": {"interval": "1h", "url": "https://charts.example.com"},
        "status": {"conditions": [support::condition("Ready", "True", "Succeeded", "stored artifact")]}}));
    for i in 0..n {
        api.apply(cluster_object(i, "True", "Helm upgrade succeeded"));
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let kc = api.kubeconfig(dir.path(), Some("bench-token"));
    let mut c = common::Client::start(common::Options {
        root: Some(repo.clone()),
        env: vec![
            ("KUBECONFIG".into(), kc.display().to_string()),
            ("HOME".into(), dir.path().display().to_string()),
            ("FLUX_LSP_LOG".into(), "info".into()),
        ],
        ..Default::default()
    });
    c.wait_notification("connected", |m| {
        m["method"] == "flux-lsp/clusterStatus" && m["params"]["state"] == "connected"
    });
    let text = document(n);
    let uri = c.open(&repo.join("apps.yaml"), &text);
    c.wait_notification("first diagnostics", |m| lacks_cluster_codes(m, &uri));
    let mut to_bad = Vec::new();
    let mut to_good = Vec::new();
    for r in 0..rounds {
        let i = (r * 37) % n;
        let msg = format!("install failed in round {r}");
        let t = Instant::now();
        api.set_status("HelmRelease", "apps", &format!("app-{i}"), cluster_object(i, "False", &msg)["status"].clone());
        c.wait_notification("the not-ready diagnostic", |m| has_message(m, &uri, &msg));
        to_bad.push(t.elapsed());
        let t = Instant::now();
        api.set_status("HelmRelease", "apps", &format!("app-{i}"), cluster_object(i, "True", "ok")["status"].clone());
        c.wait_notification("the cleared diagnostics", |m| lacks_cluster_codes(m, &uri));
        to_good.push(t.elapsed());
        c.notifications.clear();
    }
    println!("cluster overlay, {n} HelmReleases in the fake API server and in one open document");
    stats("watch event → publishDiagnostics (Ready=False appears)", to_bad, Duration::from_millis(100));
    stats("watch event → publishDiagnostics (Ready=True clears it)", to_good, Duration::from_millis(100));
    c.shutdown();

    // --- 2. cache memory and overlay computation, in process ---
    let items: Vec<Value> = (0..2000).map(|i| cluster_object(i, "False", "Helm install failed: timed out")).collect();
    let events: Vec<Value> = (0..2000)
        .map(|i| {
            json!({"type": "Warning", "reason": "InstallFailed", "message": "Helm install failed: context deadline exceeded",
                "metadata": {"uid": format!("e{i}"), "namespace": "apps"}, "lastTimestamp": "2026-11-24T10:00:00Z",
                "involvedObject": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": format!("app-{i}"), "namespace": "apps"}})
        })
        .collect();
    let before = ALLOCATED.load(Ordering::SeqCst);
    let cache = flux_lsp::cluster::Cache::new();
    cache.replace_scope("helm.toolkit.fluxcd.io", "HelmRelease", None, &items);
    for e in &events {
        cache.add_event(e);
    }
    let bytes = ALLOCATED.load(Ordering::SeqCst) - before;
    let mb = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "{:<62} {mb:>6.2} MiB  (target 30 MiB: {})",
        "status cache, 2,000 HelmReleases + 2,000 warning events",
        if mb < 30.0 { "met" } else { "MISSED" }
    );
    {
        let mut w = cache.write();
        w.state = flux_lsp::cluster::ConnState::Connected;
        w.default_ns = "default".into();
        w.context = Some("bench".into());
        w.served.insert(
            ("helm.toolkit.fluxcd.io".into(), "HelmRelease".into()),
            flux_lsp::cluster::cache::ServedKind {
                group: "helm.toolkit.fluxcd.io".into(),
                version: "v2".into(),
                kind: "HelmRelease".into(),
                plural: "helmreleases".into(),
                namespaced: true,
            },
        );
    }
    let mut ws = flux_lsp::workspace::Workspace::default();
    let path = std::path::PathBuf::from("/bench/apps.yaml");
    ws.set_file(path.clone(), document(2000), Some(1));
    let f = ws.file(&path).unwrap().clone();
    let mut times = Vec::new();
    for _ in 0..if full { 30 } else { 2 } {
        let t = Instant::now();
        let a = ws.analysis();
        let d = flux_lsp::cluster::overlay::diagnostics(&a, &f, &cache.read());
        times.push(t.elapsed());
        assert_eq!(d.len(), 2000);
    }
    stats("overlay diagnostics of a 2,000-object document (in process)", times, Duration::from_millis(20));
}
