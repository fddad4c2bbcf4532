//! A loopback fake Kubernetes API server for the cluster overlay tests (no
//! real kube-apiserver can run on these machines: no Docker, no envtest).
//!
//! It speaks the wire format a client sees, over plain HTTP/1.1 on
//! 127.0.0.1:<random port>, with keep-alive:
//! - discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`;
//! - lists with a `resourceVersion`, `fieldSelector` equality on `type` and
//!   `involvedObject.*`, cluster-wide or per namespace;
//! - watches as a chunked stream of newline-delimited events (ADDED,
//!   MODIFIED, DELETED, periodic BOOKMARKs when `allowWatchBookmarks=true`,
//!   `timeoutSeconds`), resuming from a `resourceVersion`, and an ERROR
//!   event with a 410 `Status` ("too old resource version") after
//!   [`FakeApi::expire`];
//! - GET and merge PATCH (`application/merge-patch+json`, RFC 7386) of one
//!   object, bumping `metadata.generation` when the spec changes;
//! - 401 (bearer token) and 403 `Status` objects like the real server's;
//! - every request is recorded, with its body;
//! - faults: slow answers ([`FakeApi::set_delay`]), lists and watch events
//!   that are not valid JSON ([`FakeApi::garbage_list`],
//!   [`FakeApi::garbage_watch`]), watches that never send anything
//!   ([`FakeApi::silent_watches`]).
//!
//! Tests write a kubeconfig pointing at it ([`FakeApi::kubeconfig`]) and run
//! the real binary through `tests/common`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

use crate::common::http::{Request as Req, read_request as read_req};

#[derive(Clone, Debug)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    fn new(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        Resource {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
        }
    }
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }
}

/// The Flux kinds a default fake cluster serves, and core/v1 events and secrets.
pub fn flux_resources() -> Vec<Resource> {
    vec![
        Resource::new("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"),
        Resource::new("source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories"),
        Resource::new("source.toolkit.fluxcd.io", "v1", "HelmChart", "helmcharts"),
        Resource::new("source.toolkit.fluxcd.io", "v1", "OCIRepository", "ocirepositories"),
        Resource::new("source.toolkit.fluxcd.io", "v1", "Bucket", "buckets"),
        Resource::new("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"),
        Resource::new("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases"),
        Resource::new("notification.toolkit.fluxcd.io", "v1beta3", "Alert", "alerts"),
        Resource::new("notification.toolkit.fluxcd.io", "v1beta3", "Provider", "providers"),
        Resource::new("", "v1", "Event", "events"),
        Resource::new("", "v1", "Secret", "secrets"),
    ]
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Clone, Debug)]
enum Bus {
    Event(Arc<LogEntry>),
    /// Watches end with a 410 ERROR event.
    Expire,
    /// Connections are cut (the server goes away).
    Cut,
}

#[derive(Debug)]
struct LogEntry {
    rv: u64,
    group: String,
    plural: String,
    ns: String,
    typ: &'static str,
    object: Value,
}

type ObjId = (String, String, String, String); // group, plural, namespace, name

struct World {
    rv: u64,
    resources: Vec<Resource>,
    objects: BTreeMap<ObjId, Value>,
    log: Vec<Arc<LogEntry>>,
    /// Watches from an older resourceVersion get 410 Gone.
    oldest_rv: u64,
    /// (plural, None = the cluster scope, Some(ns)) denied for every verb.
    forbidden: Vec<(String, Option<String>)>,
    /// (plural, verb) denied in every scope.
    forbidden_verbs: Vec<(String, String)>,
    token: Option<String>,
    down: bool,
    requests: Vec<Recorded>,
    bookmark_every: Duration,
    uid: u64,
    /// Every request waits this long before it is answered.
    delay: Duration,
    /// Plurals whose lists answer 200 with a truncated JSON body.
    garbage_lists: Vec<String>,
    /// Plurals whose watches send a line of invalid JSON at the start and
    /// before every event.
    garbage_watches: Vec<String>,
    /// Watches send their headers and then nothing, and never end.
    silent_watches: bool,
    /// CustomResourceDefinitions by name, served at
    /// `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/<name>`.
    crds: BTreeMap<String, Value>,
}

pub struct FakeApi {
    pub addr: SocketAddr,
    world: Arc<Mutex<World>>,
    bus: broadcast::Sender<Bus>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn lock(w: &Mutex<World>) -> MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeApi {
    pub fn start() -> FakeApi {
        Self::with_resources(flux_resources())
    }

    pub fn with_resources(resources: Vec<Resource>) -> FakeApi {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let world = Arc::new(Mutex::new(World {
            rv: 1000,
            resources,
            objects: BTreeMap::new(),
            log: Vec::new(),
            oldest_rv: 0,
            forbidden: Vec::new(),
            forbidden_verbs: Vec::new(),
            token: None,
            down: false,
            requests: Vec::new(),
            bookmark_every: Duration::from_millis(500),
            uid: 0,
            delay: Duration::ZERO,
            garbage_lists: Vec::new(),
            garbage_watches: Vec::new(),
            silent_watches: false,
            crds: BTreeMap::new(),
        }));
        let (bus, _) = broadcast::channel(65536);
        let (w, b) = (world.clone(), bus.clone());
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                if lock(&w).down {
                    drop(sock);
                    continue;
                }
                let (w, b) = (w.clone(), b.clone());
                tokio::spawn(async move {
                    let _ = serve_conn(sock, w, b).await;
                });
            }
        });
        FakeApi { addr, world, bus, rt: Some(rt) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig for this server (context `fake-ctx`, namespace
    /// `default`), with a bearer token when given.
    pub fn kubeconfig(&self, dir: &Path, token: Option<&str>) -> PathBuf {
        let user = match token {
            Some(t) => format!("    token: {t}\n"),
            None => "    username: dev\n".to_string(),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake-ctx\n  context:\n    cluster: fake\n    user: fake-user\n    namespace: default\ncurrent-context: fake-ctx\nusers:\n- name: fake-user\n  user:\n{user}",
            self.url()
        );
        let p = dir.join("kubeconfig");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Requests must carry `Authorization: Bearer <token>`; others get 401.
    pub fn require_token(&self, token: &str) {
        lock(&self.world).token = Some(token.to_string());
    }

    /// Denies every verb on `plural` at the cluster scope (None) or in a namespace.
    pub fn forbid(&self, plural: &str, ns: Option<&str>) {
        lock(&self.world).forbidden.push((plural.to_string(), ns.map(String::from)));
    }

    /// Denies every verb on `plural` in every scope.
    pub fn forbid_everywhere(&self, plural: &str) {
        lock(&self.world).forbidden.push((plural.to_string(), Some("*".into())));
    }

    /// Denies one verb (`watch`, `patch`, ...) on `plural` in every scope.
    pub fn forbid_verb(&self, plural: &str, verb: &str) {
        lock(&self.world).forbidden_verbs.push((plural.to_string(), verb.to_string()));
    }

    pub fn set_bookmark_interval(&self, d: Duration) {
        lock(&self.world).bookmark_every = d;
    }

    /// Every request from now on is answered after `d`.
    pub fn set_delay(&self, d: Duration) {
        lock(&self.world).delay = d;
    }

    /// Lists of `plural` answer with a body that is not valid JSON (or valid again).
    pub fn garbage_list(&self, plural: &str, on: bool) {
        let mut w = lock(&self.world);
        w.garbage_lists.retain(|p| p != plural);
        if on {
            w.garbage_lists.push(plural.to_string());
        }
    }

    /// Watches of `plural` send a line of invalid JSON at their start and
    /// before every event (or stop doing so).
    pub fn garbage_watch(&self, plural: &str, on: bool) {
        let mut w = lock(&self.world);
        w.garbage_watches.retain(|p| p != plural);
        if on {
            w.garbage_watches.push(plural.to_string());
        }
    }

    /// Serves a CustomResourceDefinition (by its `metadata.name`).
    pub fn add_crd(&self, crd: Value) {
        let name = crd["metadata"]["name"].as_str().expect("a CRD name").to_string();
        lock(&self.world).crds.insert(name, crd);
    }

    /// Watches started from now on send their headers and then nothing.
    pub fn silent_watches(&self, on: bool) {
        lock(&self.world).silent_watches = on;
    }

    /// Creates or replaces an object (status included). Returns its resourceVersion.
    pub fn apply(&self, obj: Value) -> u64 {
        let mut w = lock(&self.world);
        let res = w.resource_of(&obj).unwrap_or_else(|| panic!("no resource serves {obj}"));
        let id = w.id_of(&res, &obj);
        let old = w.objects.get(&id).cloned();
        let mut obj = obj;
        w.stamp(&mut obj, old.as_ref());
        let typ = if old.is_some() { "MODIFIED" } else { "ADDED" };
        w.objects.insert(id.clone(), obj.clone());
        let e = w.record(&id, typ, obj);
        let rv = e.rv;
        // sent under the lock: watches see events in resourceVersion order
        let _ = self.bus.send(Bus::Event(e));
        drop(w);
        rv
    }

    /// Replaces an object's status (no generation change).
    pub fn set_status(&self, kind: &str, ns: &str, name: &str, status: Value) -> u64 {
        let mut obj = self.get(kind, ns, name).unwrap_or_else(|| panic!("no {kind} {ns}/{name}"));
        obj["status"] = status;
        self.apply(obj)
    }

    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let w = lock(&self.world);
        let r = w.resources.iter().find(|r| r.kind == kind)?;
        w.objects.get(&(r.group.clone(), r.plural.clone(), ns.to_string(), name.to_string())).cloned()
    }

    pub fn delete(&self, kind: &str, ns: &str, name: &str) {
        let mut w = lock(&self.world);
        let r = w.resources.iter().find(|r| r.kind == kind).unwrap().clone();
        let id = (r.group.clone(), r.plural.clone(), ns.to_string(), name.to_string());
        if let Some(mut obj) = w.objects.remove(&id) {
            w.rv += 1;
            obj["metadata"]["resourceVersion"] = json!(w.rv.to_string());
            let e = w.record(&id, "DELETED", obj);
            let _ = self.bus.send(Bus::Event(e));
            drop(w);
        }
    }

    /// A Warning event about an object.
    pub fn warning_event(&self, involved: &Value, reason: &str, message: &str) {
        let n = {
            let mut w = lock(&self.world);
            w.uid += 1;
            w.uid
        };
        let ns = involved["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = involved["metadata"]["name"].as_str().unwrap_or("");
        self.apply(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.{n:x}"), "namespace": ns},
            "involvedObject": {"apiVersion": involved["apiVersion"], "kind": involved["kind"], "name": name, "namespace": ns},
            "type": "Warning", "reason": reason, "message": message, "count": 1,
            "lastTimestamp": format!("2026-11-24T10:{:02}:00Z", n % 60),
            "source": {"component": "helm-controller"}
        }));
    }

    /// Compacts history: watches resuming from an older resourceVersion,
    /// and the current ones, get a 410 Gone ERROR event.
    pub fn expire(&self) {
        {
            let mut w = lock(&self.world);
            w.oldest_rv = w.rv + 1;
            w.log.clear();
        }
        let _ = self.bus.send(Bus::Expire);
    }

    /// The server goes away: connections are cut and new ones closed at once.
    pub fn go_down(&self) {
        lock(&self.world).down = true;
        let _ = self.bus.send(Bus::Cut);
    }

    pub fn come_back(&self) {
        lock(&self.world).down = false;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.world).requests.clone()
    }

    /// The PATCH requests received, in order.
    pub fn patches(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method == "PATCH").collect()
    }

    /// Requests other than GET (writes).
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method != "GET").collect()
    }

    pub fn object_count(&self) -> usize {
        lock(&self.world).objects.len()
    }
}

impl World {
    fn resource_of(&self, obj: &Value) -> Option<Resource> {
        let av = obj["apiVersion"].as_str()?;
        let kind = obj["kind"].as_str()?;
        self.resources.iter().find(|r| r.api_version() == av && r.kind == kind).cloned()
    }

    fn id_of(&self, r: &Resource, obj: &Value) -> ObjId {
        (
            r.group.clone(),
            r.plural.clone(),
            obj["metadata"]["namespace"].as_str().unwrap_or("").to_string(),
            obj["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    }

    /// Sets resourceVersion, uid, creationTimestamp and generation as the
    /// API server does.
    fn stamp(&mut self, obj: &mut Value, old: Option<&Value>) {
        self.rv += 1;
        let (uid, generation, created) = match old {
            Some(o) => {
                let g = o["metadata"]["generation"].as_i64().unwrap_or(1);
                let changed = o.get("spec") != obj.get("spec");
                (
                    o["metadata"]["uid"].clone(),
                    if changed { g + 1 } else { g },
                    o["metadata"]["creationTimestamp"].clone(),
                )
            }
            None => {
                self.uid += 1;
                (json!(format!("00000000-0000-0000-0000-{:012}", self.uid)), 1, json!("2026-11-24T09:00:00Z"))
            }
        };
        let has_spec = obj.get("spec").is_some();
        let md = &mut obj["metadata"];
        md["resourceVersion"] = json!(self.rv.to_string());
        md["uid"] = uid;
        md["creationTimestamp"] = created;
        if has_spec {
            md["generation"] = json!(generation);
        }
    }

    fn record(&mut self, id: &ObjId, typ: &'static str, object: Value) -> Arc<LogEntry> {
        let e = Arc::new(LogEntry {
            rv: object["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or(self.rv),
            group: id.0.clone(),
            plural: id.1.clone(),
            ns: id.2.clone(),
            typ,
            object,
        });
        self.log.push(e.clone());
        e
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?');
                out.push(h);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_map(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

/// `fieldSelector` equality terms (`a=b,c==d`); a value at a dotted path must equal.
fn field_match(sel: Option<&String>, obj: &Value) -> bool {
    let Some(sel) = sel.filter(|s| !s.is_empty()) else { return true };
    sel.split(',').all(|term| {
        let (k, v) = term.split_once("==").or_else(|| term.split_once('=')).unwrap_or((term, ""));
        let mut cur = obj;
        for part in k.split('.') {
            cur = &cur[part];
        }
        cur.as_str().unwrap_or("") == v
    })
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code})
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        415 => "Unsupported Media Type",
        _ => "Error",
    }
}

async fn respond(s: &mut TcpStream, code: u16, body: &Value) -> std::io::Result<()> {
    respond_raw(s, code, &body.to_string()).await
}

/// A response with `body` as it is (valid JSON or not).
async fn respond_raw(s: &mut TcpStream, code: u16, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-cache, private\r\n\r\n",
        reason_phrase(code),
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    s.flush().await
}

/// A watch line that is not JSON (a syntax error, not a truncation: kube
/// skips a truncated last line silently).
const GARBAGE_EVENT: &str = "{\"type\": \"MODIFIED\", \"object\": {\"kind\": ]}";

async fn chunk_raw(s: &mut TcpStream, line: &str) -> std::io::Result<()> {
    let line = format!("{line}\n");
    s.write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes()).await?;
    s.flush().await
}

async fn chunk(s: &mut TcpStream, v: &Value) -> std::io::Result<()> {
    let line = format!("{v}\n");
    s.write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes()).await?;
    s.flush().await
}

async fn serve_conn(sock: TcpStream, world: Arc<Mutex<World>>, bus: broadcast::Sender<Bus>) -> std::io::Result<()> {
    let mut r = BufReader::new(sock);
    while let Some(req) = read_req(&mut r).await? {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        {
            let mut w = lock(&world);
            if w.down {
                return Ok(());
            }
            w.requests.push(Recorded {
                method: req.method.clone(),
                path: req.path.clone(),
                query: req.query.clone(),
                content_type: req.headers.get("content-type").cloned().unwrap_or_default(),
                authorization: req.headers.get("authorization").cloned(),
                body: body.clone(),
            });
        }
        let delay = lock(&world).delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let keep = handle(&mut r, &req, body, &world, &bus).await?;
        if !keep {
            return Ok(());
        }
    }
    Ok(())
}

/// Handles one request; false when the connection must close.
async fn handle(
    r: &mut BufReader<TcpStream>,
    req: &Req,
    body: Value,
    world: &Arc<Mutex<World>>,
    bus: &broadcast::Sender<Bus>,
) -> std::io::Result<bool> {
    let s = r.get_mut();
    let token = lock(world).token.clone();
    if let Some(t) = token
        && req.headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {t}"))
    {
        respond(s, 401, &status(401, "Unauthorized", "Unauthorized")).await?;
        return Ok(true);
    }
    let seg: Vec<&str> = req.path.split('/').filter(|p| !p.is_empty()).collect();
    let resources = lock(world).resources.clone();
    // discovery
    match seg.as_slice() {
        ["api"] => {
            respond(
                s,
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
            )
            .await?;
            return Ok(true);
        }
        ["version"] => {
            respond(
                s,
                200,
                &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64"}),
            )
            .await?;
            return Ok(true);
        }
        ["api", v] | ["apis", "", v] if *v == "v1" => {
            respond(s, 200, &resource_list("v1", resources.iter().filter(|r| r.group.is_empty()))).await?;
            return Ok(true);
        }
        ["apis"] => {
            let mut groups: Vec<Value> = Vec::new();
            for r in resources.iter().filter(|r| !r.group.is_empty()) {
                if groups.iter().any(|g| g["name"] == r.group.as_str()) {
                    continue;
                }
                let gv = json!({"groupVersion": r.api_version(), "version": r.version});
                groups.push(json!({"name": r.group, "versions": [gv.clone()], "preferredVersion": gv}));
            }
            groups.insert(
                0,
                json!({"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}),
            );
            respond(s, 200, &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})).await?;
            return Ok(true);
        }
        ["apis", g, v] => {
            let gv = format!("{g}/{v}");
            if !resources.iter().any(|r| r.api_version() == gv) {
                respond(s, 404, &status(404, "NotFound", "the server could not find the requested resource")).await?;
                return Ok(true);
            }
            respond(s, 200, &resource_list(&gv, resources.iter().filter(|r| r.api_version() == gv))).await?;
            return Ok(true);
        }
        _ => {}
    }
    // CRDs, by name
    if let ["apis", "apiextensions.k8s.io", "v1", "customresourcedefinitions", name] = seg.as_slice() {
        let crd = lock(world).crds.get(*name).cloned();
        match crd {
            Some(c) => respond(s, 200, &c).await?,
            None => {
                let msg = format!("customresourcedefinitions.apiextensions.k8s.io \"{name}\" not found");
                respond(s, 404, &status(404, "NotFound", &msg)).await?
            }
        }
        return Ok(true);
    }
    // resource paths
    let (gv, rest): (String, &[&str]) = match seg.as_slice() {
        ["api", v, rest @ ..] => (v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => {
            respond(s, 404, &status(404, "NotFound", "the server could not find the requested resource")).await?;
            return Ok(true);
        }
    };
    let (ns, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(ns.to_string()), plural.to_string(), None),
        ["namespaces", ns, plural, name] => (Some(ns.to_string()), plural.to_string(), Some(name.to_string())),
        [plural] => (None, plural.to_string(), None),
        _ => {
            respond(s, 404, &status(404, "NotFound", "the server could not find the requested resource")).await?;
            return Ok(true);
        }
    };
    let Some(res) = resources.iter().find(|r| r.api_version() == gv && r.plural == plural).cloned() else {
        respond(s, 404, &status(404, "NotFound", "the server could not find the requested resource")).await?;
        return Ok(true);
    };
    let q = query_map(&req.query);
    let watch = q.get("watch").is_some_and(|v| v == "true" || v == "1");
    let verb = match (req.method.as_str(), &name, watch) {
        ("GET", None, true) => "watch",
        ("GET", None, false) => "list",
        ("GET", Some(_), _) => "get",
        ("PATCH", Some(_), _) => "patch",
        _ => {
            respond(
                s,
                405,
                &status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"),
            )
            .await?;
            return Ok(true);
        }
    };
    let denied = {
        let w = lock(world);
        w.forbidden.iter().any(|(p, scope)| *p == plural && (*scope == ns || scope.as_deref() == Some("*")))
            || w.forbidden_verbs.iter().any(|(p, v)| *p == plural && v == verb)
    };
    if denied {
        let resource = if res.group.is_empty() { plural.clone() } else { format!("{plural}.{}", res.group) };
        let where_ = match &ns {
            Some(n) => format!("in the namespace \"{n}\""),
            None => "at the cluster scope".to_string(),
        };
        let msg = format!(
            "{resource} is forbidden: User \"system:serviceaccount:dev:editor\" cannot {verb} resource \"{plural}\" in API group \"{}\" {where_}",
            res.group
        );
        let mut st = status(403, "Forbidden", &msg);
        st["details"] = json!({"group": res.group, "kind": plural});
        respond(s, 403, &st).await?;
        return Ok(true);
    }
    match verb {
        "list" if lock(world).garbage_lists.contains(&plural) => {
            let body = format!("{{\"kind\":\"{}List\",\"items\":[{{\"metadata\":{{\"name\":", res.kind);
            respond_raw(s, 200, &body).await?;
            Ok(true)
        }
        "list" => {
            let list = {
                let w = lock(world);
                let items: Vec<Value> = w
                    .objects
                    .iter()
                    .filter(|((g, p, n, _), o)| {
                        *g == res.group
                            && *p == res.plural
                            && ns.as_ref().is_none_or(|x| x == n)
                            && field_match(q.get("fieldSelector"), o)
                    })
                    .map(|(_, o)| o.clone())
                    .collect();
                let list = json!({"kind": format!("{}List", res.kind), "apiVersion": res.api_version(),
                "metadata": {"resourceVersion": w.rv.to_string()}, "items": items});
                list
            };
            respond(s, 200, &list).await?;
            Ok(true)
        }
        "get" => {
            let id = (res.group.clone(), res.plural.clone(), ns.clone().unwrap_or_default(), name.clone().unwrap());
            let o = lock(world).objects.get(&id).cloned();
            match o {
                Some(o) => respond(s, 200, &o).await?,
                None => {
                    let msg = format!("{}.{} \"{}\" not found", res.plural, res.group, id.3);
                    respond(s, 404, &status(404, "NotFound", &msg)).await?
                }
            }
            Ok(true)
        }
        "patch" => {
            let ct = req.headers.get("content-type").cloned().unwrap_or_default();
            if ct != "application/merge-patch+json" {
                respond(s, 415, &status(415, "UnsupportedMediaType", &format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json; got {ct}"))).await?;
                return Ok(true);
            }
            let id = (res.group.clone(), res.plural.clone(), ns.clone().unwrap_or_default(), name.clone().unwrap());
            let patched = {
                let mut w = lock(world);
                w.objects.get(&id).cloned().map(|old| {
                    let mut new = old.clone();
                    merge_patch(&mut new, &body);
                    w.stamp(&mut new, Some(&old));
                    w.objects.insert(id.clone(), new.clone());
                    let e = w.record(&id, "MODIFIED", new.clone());
                    let _ = bus.send(Bus::Event(e));
                    new
                })
            };
            let Some(new) = patched else {
                let msg = format!("{}.{} \"{}\" not found", res.plural, res.group, id.3);
                respond(s, 404, &status(404, "NotFound", &msg)).await?;
                return Ok(true);
            };
            respond(s, 200, &new).await?;
            Ok(true)
        }
        _ => watch_stream(s, &res, ns, &q, world, bus).await,
    }
}

fn resource_list<'a>(gv: &str, rs: impl Iterator<Item = &'a Resource>) -> Value {
    let resources: Vec<Value> = rs
        .flat_map(|r| {
            let main = json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]});
            let status = json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["get", "patch", "update"]});
            if r.group.is_empty() { vec![main] } else { vec![main, status] }
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

fn event_json(e: &LogEntry) -> Value {
    json!({"type": e.typ, "object": e.object})
}

async fn watch_stream(
    s: &mut TcpStream,
    res: &Resource,
    ns: Option<String>,
    q: &BTreeMap<String, String>,
    world: &Arc<Mutex<World>>,
    bus: &broadcast::Sender<Bus>,
) -> std::io::Result<bool> {
    let from: u64 = q.get("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let timeout = Duration::from_secs(q.get("timeoutSeconds").and_then(|v| v.parse().ok()).unwrap_or(1800));
    let sel = q.get("fieldSelector").cloned();
    let matches = |e: &LogEntry| {
        e.group == res.group
            && e.plural == res.plural
            && ns.as_ref().is_none_or(|n| *n == e.ns)
            && field_match(sel.as_ref(), &e.object)
    };
    // subscribe before reading history, under the lock: no event is missed
    let garbage = || lock(world).garbage_watches.contains(&res.plural);
    if lock(world).silent_watches {
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").await?;
        s.flush().await?;
        // nothing more, ever: until the server goes away or the client hangs up
        let mut rx = bus.subscribe();
        let mut probe = [0u8; 1];
        loop {
            tokio::select! {
                m = rx.recv() => if let Ok(Bus::Cut) = m { return Ok(false) },
                n = s.peek(&mut probe) => if n.unwrap_or(0) == 0 { return Ok(false) },
            }
        }
    }
    let (mut rx, replay, expired, every, mut seen) = {
        let w = lock(world);
        let rx = bus.subscribe();
        let expired = from != 0 && from < w.oldest_rv;
        let replay: Vec<Arc<LogEntry>> = if from == 0 {
            // no resourceVersion: synthetic ADDED for the current state
            w.objects
                .iter()
                .filter(|((g, p, n, _), _)| *g == res.group && *p == res.plural && ns.as_ref().is_none_or(|x| x == n))
                .map(|((g, p, n, _), o)| {
                    Arc::new(LogEntry {
                        rv: w.rv,
                        group: g.clone(),
                        plural: p.clone(),
                        ns: n.clone(),
                        typ: "ADDED",
                        object: o.clone(),
                    })
                })
                .filter(|e| matches(e))
                .collect()
        } else {
            w.log.iter().filter(|e| e.rv > from && matches(e)).cloned().collect()
        };
        (rx, replay, expired, w.bookmark_every, w.rv)
    };
    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n")
        .await?;
    if expired {
        let st = status(410, "Expired", &format!("too old resource version: {from} ({})", lock(world).oldest_rv));
        chunk(s, &json!({"type": "ERROR", "object": st})).await?;
        s.write_all(b"0\r\n\r\n").await?;
        return Ok(true);
    }
    let mut last = from;
    if garbage() {
        chunk_raw(s, GARBAGE_EVENT).await?;
    }
    for e in replay {
        chunk(s, &event_json(&e)).await?;
        last = last.max(e.rv);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Ok(Bus::Event(e)) => {
                    seen = seen.max(e.rv);
                    if e.rv > last && matches(&e) {
                        if garbage() {
                            chunk_raw(s, GARBAGE_EVENT).await?;
                        }
                        chunk(s, &event_json(&e)).await?;
                        last = e.rv;
                    }
                }
                Ok(Bus::Expire) => {
                    let st = status(410, "Expired", &format!("too old resource version: {last} ({})", lock(world).oldest_rv));
                    chunk(s, &json!({"type": "ERROR", "object": st})).await?;
                    s.write_all(b"0\r\n\r\n").await?;
                    return Ok(true);
                }
                Ok(Bus::Cut) => return Ok(false),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // like a compacted watch cache: the client must re-list
                    let st = status(410, "Expired", "too old resource version");
                    chunk(s, &json!({"type": "ERROR", "object": st})).await?;
                    s.write_all(b"0\r\n\r\n").await?;
                    return Ok(true);
                }
                Err(_) => return Ok(false),
            },
            _ = tick.tick(), if bookmarks => {
                // the newest resourceVersion this watch has been through: a
                // bookmark never skips an event not yet delivered
                let rv = seen.max(last);
                chunk(s, &json!({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version(),
                    "metadata": {"resourceVersion": rv.to_string(), "creationTimestamp": null}}})).await?;
                last = last.max(rv);
            }
            _ = tokio::time::sleep_until(deadline) => {
                s.write_all(b"0\r\n\r\n").await?;
                return Ok(true);
            }
        }
    }
}

/// A Flux condition.
pub fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2026-11-24T10:00:00Z", "observedGeneration": 1})
}

/// A HelmRelease as the cluster has it, with a Ready condition.
pub fn helmrelease(ns: &str, name: &str, ready: &str, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "5m", "chart": {"spec": {"chart": name, "version": "6.5.0",
            "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}}},
        "status": {"observedGeneration": 1, "lastAttemptedRevision": "6.5.0", "lastAppliedRevision": "6.5.0",
            "helmChart": format!("flux-system/{ns}-{name}"),
            "conditions": [condition("Ready", ready, reason, message)]}
    })
}

/// The document of a HelmRelease matching [`helmrelease`].
pub fn helmrelease_yaml(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: {name}\n      version: \"6.5.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n        namespace: flux-system\n"
    )
}
