//! The background side of the overlay: connect, discover the Flux kinds the
//! cluster serves, list and watch each of them (and Warning events) into the
//! [`Cache`], reconnect with backoff. Everything here runs in tokio tasks;
//! the language server only reads the cache and receives [`Report`]s.
//!
//! Secrets are never read: only Flux kinds and core/v1 Events are listed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::config::KubeConfigOptions;
use serde_json::Value;
use tokio::sync::mpsc;

use super::cache::{Cache, ConnState, ObjKey, ServedKind};
use super::kubeconfig::{self, Redactor, Source};

/// What the runtime tells the language server.
#[derive(Debug)]
pub enum Report {
    /// For `flux-lsp/clusterStatus` (and the log).
    Status { state: ConnState, context: Option<String>, message: Option<String> },
    /// Objects whose status changed.
    Changed(Vec<ObjKey>),
    /// Anything may have changed (reconnection, staleness).
    AllChanged,
    /// A message for the user (window/showMessage), already redacted.
    Message { error: bool, text: String },
    /// A line for the output log only (window/logMessage, warning level).
    Log(String),
    /// The CRDs of the Flux kinds the cluster serves: a schema source.
    Crds(Vec<crate::schema::KindDef>),
}

pub type Namespaces = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// How often the kubeconfig files are checked for changes.
const KUBECONFIG_POLL: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Options {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Namespaces of the workspace's objects, to list one by one when a
    /// cluster-wide list is forbidden.
    pub namespaces: Namespaces,
    /// Initial and maximum reconnection delays.
    pub backoff: (Duration, Duration),
    /// How long a request (discovery, list, the start of a watch) may take
    /// before the API server is reported unresponsive.
    pub request_timeout: Duration,
    /// The `timeoutSeconds` of each watch; a watch that sends nothing (no
    /// event, no bookmark, no end) for this plus `request_timeout` is dead.
    pub watch_timeout: Duration,
}

impl Options {
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// kubectl's and client-go's reflector's default watch length is 5–10 min; 290 s
    /// keeps under the 295 s read timeout kube sets.
    pub const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(290);
}

/// Runs a request with a deadline: a server that accepts the connection and
/// never answers is reported, not waited on for kube's 295 s read timeout.
async fn timed<T>(
    limit: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r.map_err(Failure::Kube),
        Err(_) => {
            Err(Failure::Timeout(format!("the API server did not answer {what} within {}", human_duration(limit))))
        }
    }
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{:.1}s", d.as_secs_f64()) }
}

/// A failed request.
#[derive(Debug)]
enum Failure {
    Kube(kube::Error),
    Timeout(String),
}

impl Failure {
    fn code(&self) -> Option<u16> {
        match self {
            Failure::Kube(e) => api_code(e),
            Failure::Timeout(_) => None,
        }
    }
    fn message(&self) -> String {
        match self {
            Failure::Kube(e) => api_message(e),
            Failure::Timeout(m) => m.clone(),
        }
    }
    /// The server answered, but with something that is not the JSON it
    /// should be: a fault of this resource, not of the connection.
    fn unreadable(&self) -> bool {
        matches!(self, Failure::Kube(kube::Error::SerdeError(_)))
    }
    /// The connection itself failed (transport error or no answer in time).
    fn transport(&self) -> bool {
        self.code().is_none() && !self.unreadable()
    }
}

/// The shared handles of a running overlay.
pub struct Runtime {
    pub cache: Arc<Cache>,
    /// The client, while connected (for the write commands).
    pub client: Arc<Mutex<Option<kube::Client>>>,
    pub redactor: Arc<Mutex<Redactor>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // dropping the supervisor drops its JoinSet, which aborts the watchers
        self.task.abort();
    }
}

impl Runtime {
    pub fn client(&self) -> Option<kube::Client> {
        self.client.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn redact(&self, s: &str) -> String {
        self.redactor.lock().unwrap_or_else(|e| e.into_inner()).apply(s)
    }
}

/// Starts the overlay in the background. Must be called inside a tokio runtime.
pub fn start(opts: Options, tx: mpsc::UnboundedSender<Report>) -> Runtime {
    let cache = Cache::new();
    let client = Arc::new(Mutex::new(None));
    let redactor = Arc::new(Mutex::new(Redactor::default()));
    let sup = Supervisor { opts, cache: cache.clone(), client: client.clone(), redactor: redactor.clone(), tx };
    let task = tokio::spawn(sup.run());
    Runtime { cache, client, redactor, task }
}

struct Supervisor {
    opts: Options,
    cache: Arc<Cache>,
    client: Arc<Mutex<Option<kube::Client>>>,
    redactor: Arc<Mutex<Redactor>>,
    tx: mpsc::UnboundedSender<Report>,
}

/// Why a connection ended.
enum Lost {
    /// Network or server failure: retry.
    Transport(String),
    /// Credentials rejected: retry slowly, tell the user once.
    Unauthorized(String),
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
        e => {
            // the innermost cause says the most ("Connection refused")
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            msg
        }
    }
}

impl Supervisor {
    fn send(&self, r: Report) {
        let _ = self.tx.send(r);
    }

    fn redact(&self, s: &str) -> String {
        self.redactor.lock().unwrap_or_else(|e| e.into_inner()).apply(s)
    }

    fn status(&self, state: ConnState, message: Option<String>) {
        let message = message.map(|m| self.redact(&m));
        let context = {
            let mut w = self.cache.write();
            w.state = state;
            w.message = message.clone();
            w.context.clone()
        };
        match state {
            ConnState::Error => {
                tracing::warn!(state = state.as_str(), context = ?context, message = ?message, "cluster")
            }
            _ => tracing::info!(state = state.as_str(), context = ?context, message = ?message, "cluster"),
        }
        self.send(Report::Status { state, context, message });
    }

    /// Runs the overlay; starts over when the kubeconfig changes (a new
    /// current context, a fixed file, new credentials).
    async fn run(self) {
        loop {
            let watched = kubeconfig::watched_paths(self.opts.kubeconfig.as_deref());
            let before = kubeconfig::fingerprint(&watched);
            let changed = || {
                let watched = watched.clone();
                let before = before.clone();
                async move {
                    loop {
                        tokio::time::sleep(KUBECONFIG_POLL).await;
                        if kubeconfig::fingerprint(&watched) != before {
                            return;
                        }
                    }
                }
            };
            tokio::select! {
                _ = self.run_once() => changed().await,
                _ = changed() => {}
            }
            tracing::info!("cluster: the kubeconfig changed; starting over");
            self.client.lock().unwrap_or_else(|e| e.into_inner()).take();
            {
                let mut w = self.cache.write();
                let default_ns = std::mem::take(&mut w.default_ns);
                *w = Default::default();
                w.default_ns = default_ns;
            }
            self.send(Report::AllChanged);
        }
    }

    async fn run_once(&self) {
        let (kc, context) = match kubeconfig::resolve(self.opts.kubeconfig.as_deref(), self.opts.context.as_deref()) {
            Source::None => {
                tracing::info!("cluster overlay off: no kubeconfig found");
                self.status(ConnState::Disabled, Some("no kubeconfig found".into()));
                return;
            }
            Source::Broken { message, redactor } => {
                *self.redactor.lock().unwrap_or_else(|e| e.into_inner()) = redactor;
                let text = self.redact(&format!("flux-lsp cluster overlay: {message}"));
                self.status(ConnState::Error, Some(message));
                self.send(Report::Message { error: true, text });
                return;
            }
            Source::Ok { kubeconfig, context, paths, redactor } => {
                *self.redactor.lock().unwrap_or_else(|e| e.into_inner()) = redactor;
                tracing::info!(kubeconfig = ?paths, context = %context, "cluster overlay: using kubeconfig");
                (kubeconfig, context)
            }
        };
        self.cache.write().context = Some(context.clone());
        let kopts = KubeConfigOptions { context: Some(context.clone()), cluster: None, user: None };
        let config = match kube::Config::from_custom_kubeconfig(*kc, &kopts).await {
            Ok(c) => c,
            Err(e) => {
                let message = self.redact(&format!("the kubeconfig context `{context}` is not usable: {e}"));
                self.status(ConnState::Error, Some(message.clone()));
                self.send(Report::Message { error: true, text: format!("flux-lsp cluster overlay: {message}") });
                return;
            }
        };
        self.cache.write().default_ns = config.default_namespace.clone();
        let server = config.cluster_url.to_string();
        let client = match kube::Client::try_from(config) {
            Ok(c) => c,
            Err(e) => {
                let message = self.redact(&format!("cannot create a client for context `{context}`: {e}"));
                self.status(ConnState::Error, Some(message.clone()));
                self.send(Report::Message { error: true, text: format!("flux-lsp cluster overlay: {message}") });
                return;
            }
        };
        let (min, max) = self.opts.backoff;
        let mut delay = min;
        let mut told_unauthorized = false;
        loop {
            self.status(ConnState::Connecting, Some(format!("connecting to {server}")));
            let lost = self.connection(&client, &mut delay, min).await;
            // what the cache says is now possibly out of date
            self.client.lock().unwrap_or_else(|e| e.into_inner()).take();
            self.cache.write().stale = true;
            self.send(Report::AllChanged);
            let (msg, factor) = match lost {
                Lost::Transport(m) => (m, 1),
                Lost::Unauthorized(m) => {
                    if !told_unauthorized {
                        told_unauthorized = true;
                        self.send(Report::Message {
                            error: true,
                            text: self.redact(&format!(
                                "flux-lsp cluster overlay: the API server rejected the credentials of context `{context}`: {m}"
                            )),
                        });
                    }
                    (format!("unauthorized: {m}"), 4)
                }
            };
            let wait = (delay * factor).min(max);
            self.status(ConnState::Error, Some(format!("{msg}; retrying in {}s", wait.as_secs_f32().ceil())));
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(max);
        }
    }

    /// One connection: discovery, initial lists, then watches until
    /// something breaks.
    async fn connection(&self, client: &kube::Client, delay: &mut Duration, min: Duration) -> Lost {
        let lost_of = |e: &Failure| match e.code() {
            Some(401) => Lost::Unauthorized(e.message()),
            _ => Lost::Transport(e.message()),
        };
        let limit = self.opts.request_timeout;
        if let Err(e) = timed(limit, "the version discovery", client.list_core_api_versions()).await {
            return lost_of(&e);
        }
        let kinds = match discover(client, limit).await {
            Ok(k) => k,
            Err(e) => return lost_of(&e),
        };
        {
            let mut w = self.cache.write();
            w.served = kinds.iter().map(|k| ((k.group.clone(), k.kind.clone()), k.clone())).collect();
            w.synced.clear();
        }
        tracing::info!(kinds = kinds.len(), "cluster: discovered Flux kinds");
        // the cluster's own CRDs: the exact schemas of the Flux it runs
        let crds = fetch_crds(client, &kinds, limit).await;
        if !crds.is_empty() {
            tracing::info!(crds = crds.len(), "cluster: read the CRDs of the Flux kinds");
            self.send(Report::Crds(crds));
        }
        let namespaces: BTreeSet<String> = {
            let mut s: BTreeSet<String> = (self.opts.namespaces)().into_iter().collect();
            s.insert(self.cache.read().default_ns.clone());
            s
        };
        // initial lists, concurrently
        let lists = futures::future::join_all(kinds.iter().map(|k| list_kind(client, k, &namespaces, limit))).await;
        let mut scopes = Vec::new();
        let mut denied = Vec::new();
        let mut per_ns_kinds = Vec::new();
        let mut unreadable = Vec::new();
        for (k, r) in kinds.iter().zip(lists) {
            match r {
                Ok(ListOutcome { scopes: sc, denied: d, per_namespace }) => {
                    if per_namespace {
                        per_ns_kinds.push(k.clone());
                    }
                    for (ns, rv, items) in sc {
                        self.cache.replace_scope(&k.group, &k.kind, ns.as_deref(), &items);
                        scopes.push((k.clone(), ns, rv));
                    }
                    denied.extend(d);
                }
                Err(e) if e.unreadable() => unreadable.push(format!("`{}` ({})", k.resource(), e.message())),
                Err(e) if e.transport() || e.code() == Some(401) => return lost_of(&e),
                Err(e) => {
                    tracing::warn!(kind = %k.kind, error = %self.redact(&e.message()), "cluster: list failed")
                }
            }
        }
        if !denied.is_empty() {
            let text = format!(
                "flux-lsp cluster overlay: missing permission: {}. Objects of these kinds show no cluster status.",
                denied.join("; ")
            );
            self.send(Report::Message { error: false, text: self.redact(&text) });
        }
        if !unreadable.is_empty() {
            let text = format!(
                "flux-lsp cluster overlay: the API server sent a list that is not valid JSON for {}. Objects of these kinds show no cluster status; the others do.",
                unreadable.join(", ")
            );
            self.send(Report::Message { error: false, text: self.redact(&text) });
        }
        // Warning events (optional: no permission just means no events in hovers)
        let ev_kind = ServedKind {
            group: String::new(),
            version: "v1".into(),
            kind: "Event".into(),
            plural: "events".into(),
            namespaced: true,
        };
        let ev_lp = ListParams::default().fields("type=Warning");
        let mut event_scopes = Vec::new();
        match list_raw(client, &ev_kind, None, &ev_lp, limit).await {
            Ok((rv, items)) => {
                self.cache.replace_events(&items);
                event_scopes.push((None, rv));
            }
            Err(e) if e.code() == Some(403) => {
                for ns in &namespaces {
                    if let Ok((rv, items)) = list_raw(client, &ev_kind, Some(ns), &ev_lp, limit).await {
                        for it in &items {
                            self.cache.add_event(it);
                        }
                        event_scopes.push((Some(ns.clone()), rv));
                    }
                }
                if event_scopes.is_empty() {
                    tracing::info!("cluster: no permission to list events; hovers show no events");
                }
            }
            Err(e) if e.transport() => return lost_of(&e),
            Err(e) => tracing::info!(error = %self.redact(&e.message()), "cluster: cannot list events"),
        }
        // connected
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(client.clone());
        self.cache.write().stale = false;
        *delay = min;
        let n = self.cache.read().objects.len();
        self.status(ConnState::Connected, Some(format!("{n} Flux objects")));
        self.send(Report::AllChanged);

        let (lost_tx, mut lost_rx) = mpsc::channel::<String>(4);
        let mut set = tokio::task::JoinSet::new();
        let watcher = |kind: ServedKind, ns: Option<String>, events: bool| Watcher {
            client: client.clone(),
            kind,
            ns,
            cache: self.cache.clone(),
            tx: self.tx.clone(),
            lost: lost_tx.clone(),
            events,
            timeouts: (limit, self.opts.watch_timeout),
        };
        for (k, ns, rv) in scopes {
            set.spawn(watcher(k, ns, false).run(rv));
        }
        for (ns, rv) in event_scopes {
            set.spawn(watcher(ev_kind.clone(), ns, true).run(rv));
        }
        // kinds listed per namespace: watch the namespaces the workspace gains
        let mut known = namespaces;
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                reason = lost_rx.recv() => {
                    // `set` drops on return: every watcher is aborted
                    return Lost::Transport(reason.unwrap_or_else(|| "all watches ended".into()));
                }
                _ = tick.tick(), if !per_ns_kinds.is_empty() => {
                    let new: Vec<String> = (self.opts.namespaces)().into_iter().filter(|n| !known.contains(n)).collect();
                    for ns in new {
                        known.insert(ns.clone());
                        for k in &per_ns_kinds {
                            match list_raw(client, k, Some(&ns), &ListParams::default(), limit).await {
                                Ok((rv, items)) => {
                                    let changed = self.cache.replace_scope(&k.group, &k.kind, Some(&ns), &items);
                                    let _ = self.tx.send(Report::Changed(changed));
                                    set.spawn(watcher(k.clone(), Some(ns.clone()), false).run(rv));
                                }
                                Err(e) if e.transport() => return lost_of(&e),
                                Err(e) => tracing::info!(kind = %k.kind, ns = %ns, error = %self.redact(&e.message()), "cluster: cannot list"),
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The Flux kinds the cluster serves (preferred version of each Flux group).
async fn discover(client: &kube::Client, limit: Duration) -> Result<Vec<ServedKind>, Failure> {
    let groups = timed(limit, "the API group discovery", client.list_api_groups()).await?;
    let mut out = Vec::new();
    for g in groups.groups {
        if !crate::workspace::is_flux_group(&g.name) {
            continue;
        }
        let Some(gv) = g.preferred_version.as_ref().or(g.versions.first()) else { continue };
        let list = timed(
            limit,
            &format!("the discovery of {}", gv.group_version),
            client.list_api_group_resources(&gv.group_version),
        )
        .await?;
        for r in list.resources {
            if r.name.contains('/') || !r.verbs.iter().any(|v| v == "watch") || !r.verbs.iter().any(|v| v == "list") {
                continue;
            }
            out.push(ServedKind {
                group: g.name.clone(),
                version: gv.version.clone(),
                kind: r.kind.clone(),
                plural: r.name.clone(),
                namespaced: r.namespaced,
            });
        }
    }
    Ok(out)
}

/// The CRD of each served kind (`<plural>.<group>`); kinds whose CRD cannot
/// be read (no permission, not a CRD) keep the built-in schema.
async fn fetch_crds(client: &kube::Client, kinds: &[ServedKind], limit: Duration) -> Vec<crate::schema::KindDef> {
    let gets = kinds.iter().filter(|k| !k.group.is_empty()).map(|k| async move {
        let name = format!("{}.{}", k.plural, k.group);
        let req = kube::core::Request::new("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
            .get(&name, &kube::api::GetParams::default())
            .ok()?;
        match timed(limit, &format!("the CRD {name}"), client.request::<Value>(req)).await {
            Ok(v) => crate::schema::loader::kind_from_crd(&v),
            Err(e) => {
                tracing::info!(crd = %name, error = %e.message(), "cluster: cannot read a CRD; the built-in schema stays");
                None
            }
        }
    });
    futures::future::join_all(gets).await.into_iter().flatten().collect()
}

pub(crate) fn url_path(k: &ServedKind, ns: Option<&str>) -> String {
    let base =
        if k.group.is_empty() { format!("/api/{}", k.version) } else { format!("/apis/{}/{}", k.group, k.version) };
    match ns {
        Some(ns) if k.namespaced => format!("{base}/namespaces/{ns}/{}", k.plural),
        _ => format!("{base}/{}", k.plural),
    }
}

async fn list_raw(
    client: &kube::Client,
    k: &ServedKind,
    ns: Option<&str>,
    lp: &ListParams,
    limit: Duration,
) -> Result<(String, Vec<Value>), Failure> {
    let req =
        kube::core::Request::new(url_path(k, ns)).list(lp).map_err(|e| Failure::Kube(kube::Error::BuildRequest(e)))?;
    let what = format!("the list of {}", k.resource());
    let v: Value = timed(limit, &what, client.request(req)).await?;
    let rv = v.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
    let items = match v.get("items") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    Ok((rv, items))
}

struct ListOutcome {
    /// (namespace or None for all, resourceVersion, items)
    scopes: Vec<(Option<String>, String, Vec<Value>)>,
    /// What could not be listed, as "list <resource> in ..." phrases.
    denied: Vec<String>,
    /// Listed namespace by namespace (a cluster-wide list is forbidden).
    per_namespace: bool,
}

/// Lists a kind cluster-wide; on 403 falls back to each namespace of interest.
async fn list_kind(
    client: &kube::Client,
    k: &ServedKind,
    namespaces: &BTreeSet<String>,
    limit: Duration,
) -> Result<ListOutcome, Failure> {
    let lp = ListParams::default();
    match list_raw(client, k, None, &lp, limit).await {
        Ok((rv, items)) => Ok(ListOutcome { scopes: vec![(None, rv, items)], denied: vec![], per_namespace: false }),
        Err(e) if e.code() == Some(403) && k.namespaced => {
            let mut out = ListOutcome { scopes: vec![], denied: vec![], per_namespace: true };
            let mut denied_ns = Vec::new();
            for ns in namespaces {
                match list_raw(client, k, Some(ns), &lp, limit).await {
                    Ok((rv, items)) => out.scopes.push((Some(ns.clone()), rv, items)),
                    Err(e) if e.code() == Some(403) => denied_ns.push(ns.clone()),
                    Err(e) => return Err(e),
                }
            }
            if out.scopes.is_empty() {
                let where_ = if denied_ns.is_empty() {
                    "at the cluster scope".to_string()
                } else {
                    format!("at the cluster scope or in namespace(s) {}", denied_ns.join(", "))
                };
                out.denied.push(format!(
                    "cannot `list` (nor `watch`) `{}` {where_} (server said: {})",
                    k.resource(),
                    e.message()
                ));
            }
            Ok(out)
        }
        Err(e) if e.code() == Some(403) => Ok(ListOutcome {
            per_namespace: false,
            scopes: vec![],
            denied: vec![format!(
                "cannot `list` (nor `watch`) `{}` at the cluster scope (server said: {})",
                k.resource(),
                e.message()
            )],
        }),
        Err(e) => Err(e),
    }
}

struct Watcher {
    client: kube::Client,
    kind: ServedKind,
    ns: Option<String>,
    cache: Arc<Cache>,
    tx: mpsc::UnboundedSender<Report>,
    lost: mpsc::Sender<String>,
    events: bool,
    /// (request timeout, watch timeout)
    timeouts: (Duration, Duration),
}

impl Watcher {
    fn apply(&self, ev: WatchEvent<Value>, rv: &mut String) -> Result<(), u16> {
        let key = match ev {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                if let Some(v) = o.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
                    *rv = v.to_string();
                }
                if self.events {
                    self.cache.add_event(&o)
                } else {
                    self.cache.upsert(&self.kind.group, &self.kind.kind, &o)
                }
            }
            WatchEvent::Deleted(o) => {
                if let Some(v) = o.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
                    *rv = v.to_string();
                }
                if self.events { None } else { self.cache.remove(&self.kind.group, &self.kind.kind, &o) }
            }
            WatchEvent::Bookmark(b) => {
                *rv = b.metadata.resource_version;
                None
            }
            WatchEvent::Error(s) => return Err(s.code),
        };
        if let Some(k) = key {
            let _ = self.tx.send(Report::Changed(vec![k]));
        }
        Ok(())
    }

    async fn relist(&self) -> Result<String, Failure> {
        let lp = if self.events { ListParams::default().fields("type=Warning") } else { ListParams::default() };
        let (rv, items) = list_raw(&self.client, &self.kind, self.ns.as_deref(), &lp, self.timeouts.0).await?;
        let changed = if self.events {
            items.iter().filter_map(|e| self.cache.add_event(e)).collect()
        } else {
            self.cache.replace_scope(&self.kind.group, &self.kind.kind, self.ns.as_deref(), &items)
        };
        if !changed.is_empty() {
            let _ = self.tx.send(Report::Changed(changed));
        }
        Ok(rv)
    }

    async fn run(self, mut rv: String) {
        let what =
            format!("{}{}", self.kind.resource(), self.ns.as_ref().map(|n| format!(" in {n}")).unwrap_or_default());
        let (limit, watch_len) = self.timeouts;
        // a watch that sends nothing, not even its end, for this long is dead
        let idle = watch_len + limit;
        let mut failures = 0u32;
        let mut told_unreadable = false;
        let mut need_relist = false;
        let backoff = |failures: u32| Duration::from_millis(500) * failures.min(60);
        loop {
            if need_relist {
                match self.relist().await {
                    Ok(new_rv) => {
                        rv = new_rv;
                        need_relist = false;
                    }
                    Err(e) if e.transport() => {
                        let _ = self.lost.send(format!("listing {what}: {}", e.message())).await;
                        return;
                    }
                    Err(e) => {
                        failures += 1;
                        if e.unreadable() && !told_unreadable {
                            told_unreadable = true;
                            self.log(format!(
                                "cluster: the API server sent a list of {what} that is not valid JSON ({}); retrying",
                                e.message()
                            ));
                        }
                        tracing::warn!(what = %what, error = %e.message(), "cluster: re-list failed");
                        tokio::time::sleep(backoff(failures)).await;
                        continue;
                    }
                }
            }
            let mut wp = WatchParams::default().timeout(watch_len.as_secs().clamp(1, 290) as u32);
            if self.events {
                wp = wp.fields("type=Warning");
            }
            let req = kube::core::Request::new(url_path(&self.kind, self.ns.as_deref())).watch(&wp, &rv);
            let mut req = match req {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cluster: cannot build a watch request");
                    return;
                }
            };
            req.extensions_mut().insert("watch");
            let started = tokio::time::Instant::now();
            let stream = match timed(limit, &format!("the watch of {what}"), self.client.request_events::<Value>(req))
                .await
            {
                Ok(s) => s,
                Err(e) if e.code() == Some(410) => {
                    need_relist = true;
                    continue;
                }
                Err(e) if e.transport() => {
                    let _ = self.lost.send(format!("watching {what}: {}", e.message())).await;
                    return;
                }
                Err(e) if e.code() == Some(403) => {
                    // listed but not watchable: the status stays as listed
                    let text = format!(
                        "flux-lsp cluster overlay: missing permission: cannot `watch` `{what}`; its status will not update (server said: {})",
                        e.message()
                    );
                    tracing::warn!(what = %what, "cluster: watch forbidden");
                    let _ = self.tx.send(Report::Message { error: false, text });
                    return;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(what = %what, error = %e.message(), "cluster: watch refused");
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            };
            let mut stream = std::pin::pin!(stream);
            let mut delivered = false;
            loop {
                let next = match tokio::time::timeout(idle, stream.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        // events may have been lost while it was silent
                        self.log(format!(
                            "cluster: the watch of {what} sent nothing for {}; listing again",
                            human_duration(idle)
                        ));
                        need_relist = true;
                        break;
                    }
                };
                let Some(ev) = next else {
                    // the watch ended (its timeout): resume from `rv`, unless
                    // the server ends every watch at once
                    if !delivered && started.elapsed() < Duration::from_secs(1) {
                        failures += 1;
                        tokio::time::sleep(backoff(failures)).await;
                    }
                    break;
                };
                delivered = true;
                match ev {
                    Ok(ev) => match self.apply(ev, &mut rv) {
                        Ok(()) => failures = 0,
                        Err(410) => {
                            tracing::info!(what = %what, "cluster: watch expired (410 Gone): listing again");
                            need_relist = true;
                            break;
                        }
                        Err(code) => {
                            tracing::warn!(what = %what, code, "cluster: watch error event");
                            failures += 1;
                            tokio::time::sleep(backoff(failures)).await;
                            break;
                        }
                    },
                    Err(e) => {
                        let e = Failure::Kube(e);
                        if e.unreadable() {
                            // what the event said is lost: list again, and
                            // back off in case every watch does this
                            failures += 1;
                            if !told_unreadable {
                                told_unreadable = true;
                                self.log(format!(
                                    "cluster: the API server sent a watch event for {what} that is not valid JSON ({}); listing again",
                                    e.message()
                                ));
                            }
                            need_relist = true;
                            tokio::time::sleep(backoff(failures)).await;
                        } else {
                            // a broken stream: the next watch call tells whether the server is gone
                            tracing::info!(what = %what, error = %e.message(), "cluster: watch stream broke");
                        }
                        break;
                    }
                }
            }
        }
    }

    fn log(&self, line: String) {
        tracing::warn!("{line}");
        let _ = self.tx.send(Report::Log(line));
    }
}
