//! The status cache: what the cluster says about each Flux object, kept up to
//! date by the watchers in [`super::runtime`] and read (never awaited) by the
//! IDE features in [`super::overlay`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

/// A cluster object's identity. The version is left out: the API server
/// converts between served versions, and a document may use an older one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(group: &str, kind: &str, namespace: &str, name: &str) -> Self {
        Self { group: group.into(), kind: kind.into(), namespace: namespace.into(), name: name.into() }
    }
    /// `HelmRelease apps/podinfo`
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: String,
}

/// What the overlay needs of one cluster object.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjStatus {
    pub api_version: String,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    pub conditions: Vec<Condition>,
    pub suspended: bool,
    pub last_applied_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    pub artifact_revision: Option<String>,
    pub last_handled_reconcile_at: Option<String>,
    /// `status.helmChart` of a HelmRelease (`namespace/name`).
    pub helm_chart: Option<String>,
    pub spec: Value,
    /// Number of entries of `status.inventory.entries`, when there is one.
    pub inventory_size: Option<usize>,
}

fn s(v: &Value, p: &str) -> Option<String> {
    v.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from)
}

impl ObjStatus {
    /// Reads an object as the API server sends it (`apiVersion`, `kind`,
    /// `metadata`, `spec`, `status`). `group` is the served group.
    pub fn from_object(group: &str, kind: &str, v: &Value) -> Option<(ObjKey, ObjStatus)> {
        let name = s(v, "/metadata/name")?;
        let namespace = s(v, "/metadata/namespace").unwrap_or_default();
        let conditions = v
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|c| Condition {
                        type_: s(c, "/type").unwrap_or_default(),
                        status: s(c, "/status").unwrap_or_default(),
                        reason: s(c, "/reason").unwrap_or_default(),
                        message: s(c, "/message").unwrap_or_default(),
                        last_transition_time: s(c, "/lastTransitionTime").unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let st = ObjStatus {
            api_version: s(v, "/apiVersion").unwrap_or_default(),
            generation: v.pointer("/metadata/generation").and_then(Value::as_i64),
            observed_generation: v.pointer("/status/observedGeneration").and_then(Value::as_i64),
            conditions,
            suspended: v.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false),
            last_applied_revision: s(v, "/status/lastAppliedRevision"),
            last_attempted_revision: s(v, "/status/lastAttemptedRevision"),
            artifact_revision: s(v, "/status/artifact/revision"),
            last_handled_reconcile_at: s(v, "/status/lastHandledReconcileAt"),
            helm_chart: s(v, "/status/helmChart"),
            spec: v.get("spec").cloned().unwrap_or(Value::Null),
            inventory_size: v.pointer("/status/inventory/entries").and_then(Value::as_array).map(Vec::len),
        };
        Some((ObjKey::new(group, kind, &namespace, &name), st))
    }

    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// The revision worth showing: applied, else the artifact's.
    pub fn revision(&self) -> Option<&str> {
        self.last_applied_revision.as_deref().or(self.artifact_revision.as_deref())
    }

    /// When the controller last finished a reconciliation, as far as the
    /// status tells: the Ready condition's transition time, else the last
    /// handled request.
    pub fn last_reconcile(&self) -> Option<&str> {
        self.condition("Ready")
            .map(|c| c.last_transition_time.as_str())
            .filter(|t| !t.is_empty())
            .or(self.last_handled_reconcile_at.as_deref())
    }
}

/// A Warning event about a Flux object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInfo {
    pub uid: String,
    pub reason: String,
    pub message: String,
    pub time: String,
    pub count: i64,
}

impl EventInfo {
    /// Reads a core/v1 Event; returns the object it is about.
    pub fn from_event(v: &Value) -> Option<(ObjKey, EventInfo)> {
        if s(v, "/type").as_deref() != Some("Warning") {
            return None;
        }
        let av = s(v, "/involvedObject/apiVersion")?;
        let group = crate::workspace::split_api_version(&av).0.to_string();
        if !crate::workspace::is_flux_group(&group) {
            return None;
        }
        let key = ObjKey {
            group,
            kind: s(v, "/involvedObject/kind")?,
            namespace: s(v, "/involvedObject/namespace").or_else(|| s(v, "/metadata/namespace")).unwrap_or_default(),
            name: s(v, "/involvedObject/name")?,
        };
        let time = s(v, "/lastTimestamp")
            .or_else(|| s(v, "/eventTime"))
            .or_else(|| s(v, "/metadata/creationTimestamp"))
            .unwrap_or_default();
        Some((
            key,
            EventInfo {
                uid: s(v, "/metadata/uid").or_else(|| s(v, "/metadata/name")).unwrap_or_default(),
                reason: s(v, "/reason").unwrap_or_default(),
                message: s(v, "/message").unwrap_or_default(),
                time,
                count: v.get("count").and_then(Value::as_i64).unwrap_or(1),
            },
        ))
    }
}

/// Events kept per object (the latest).
pub const EVENTS_PER_OBJECT: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Disabled,
    Connecting,
    Connected,
    Error,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Disabled => "disabled",
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Error => "error",
        }
    }
}

/// A kind the cluster serves, from discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedKind {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl ServedKind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }
    /// `helmreleases.helm.toolkit.fluxcd.io`
    pub fn resource(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }
}

/// The cache's content. Read it through [`Cache::read`]; never hold the
/// guard across an `.await`.
#[derive(Debug, Default)]
pub struct Inner {
    pub objects: HashMap<ObjKey, Arc<ObjStatus>>,
    pub events: HashMap<ObjKey, Vec<EventInfo>>,
    /// (group, kind) → what discovery said.
    pub served: HashMap<(String, String), ServedKind>,
    /// Scopes listed successfully: (group, kind, namespace or None for all).
    pub synced: HashSet<(String, String, Option<String>)>,
    pub state: ConnState,
    pub context: Option<String>,
    pub message: Option<String>,
    /// The connection was lost: what the cache says may be out of date.
    pub stale: bool,
    /// Namespace of objects that do not say (the context's, else `default`).
    pub default_ns: String,
}

impl Inner {
    pub fn get(&self, key: &ObjKey) -> Option<&Arc<ObjStatus>> {
        self.objects.get(key)
    }

    /// Whether the cache knows every object of this key's kind and namespace,
    /// so that a missing object is really missing.
    pub fn covers(&self, key: &ObjKey) -> bool {
        self.synced.contains(&(key.group.clone(), key.kind.clone(), None))
            || self.synced.contains(&(key.group.clone(), key.kind.clone(), Some(key.namespace.clone())))
    }

    pub fn served_kind(&self, group: &str, kind: &str) -> Option<&ServedKind> {
        self.served.get(&(group.to_string(), kind.to_string()))
    }

    /// A served Flux kind by kind name (for `sourceRef.kind`, which has no group).
    pub fn served_by_kind(&self, kind: &str) -> Option<&ServedKind> {
        let mut c: Vec<&ServedKind> = self.served.values().filter(|s| s.kind == kind).collect();
        // prefer the toolkit's source group when several groups have the kind
        c.sort_by_key(|s| (s.group != "source.toolkit.fluxcd.io", s.group.clone()));
        c.into_iter().next()
    }

    pub fn events_of(&self, key: &ObjKey) -> &[EventInfo] {
        self.events.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[derive(Debug, Default)]
pub struct Cache {
    inner: RwLock<Inner>,
}

impl Cache {
    pub fn new() -> Arc<Cache> {
        Arc::new(Cache::default())
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts or replaces an object; returns its key when what the overlay
    /// shows of it changed.
    pub fn upsert(&self, group: &str, kind: &str, obj: &Value) -> Option<ObjKey> {
        let (key, st) = ObjStatus::from_object(group, kind, obj)?;
        let mut w = self.write();
        if w.objects.get(&key).is_some_and(|old| **old == st) {
            return None;
        }
        w.objects.insert(key.clone(), Arc::new(st));
        Some(key)
    }

    pub fn remove(&self, group: &str, kind: &str, obj: &Value) -> Option<ObjKey> {
        let (key, _) = ObjStatus::from_object(group, kind, obj)?;
        self.write().objects.remove(&key).map(|_| key)
    }

    /// Replaces every object of a kind (in one namespace, or all) with a
    /// fresh list; marks the scope synced. Returns the keys that changed.
    pub fn replace_scope(&self, group: &str, kind: &str, ns: Option<&str>, items: &[Value]) -> Vec<ObjKey> {
        let mut fresh: HashMap<ObjKey, ObjStatus> = HashMap::with_capacity(items.len());
        for it in items {
            if let Some((k, st)) = ObjStatus::from_object(group, kind, it) {
                fresh.insert(k, st);
            }
        }
        let mut w = self.write();
        let mut changed = Vec::new();
        let in_scope = |k: &ObjKey| k.group == group && k.kind == kind && ns.is_none_or(|n| k.namespace == n);
        let gone: Vec<ObjKey> = w.objects.keys().filter(|k| in_scope(k) && !fresh.contains_key(*k)).cloned().collect();
        for k in gone {
            w.objects.remove(&k);
            changed.push(k);
        }
        for (k, st) in fresh {
            if w.objects.get(&k).is_some_and(|old| **old == st) {
                continue;
            }
            w.objects.insert(k.clone(), Arc::new(st));
            changed.push(k);
        }
        w.synced.insert((group.to_string(), kind.to_string(), ns.map(String::from)));
        changed
    }

    /// Adds a Warning event; returns the object it is about.
    pub fn add_event(&self, ev: &Value) -> Option<ObjKey> {
        let (key, info) = EventInfo::from_event(ev)?;
        let mut w = self.write();
        let list = w.events.entry(key.clone()).or_default();
        list.retain(|e| e.uid != info.uid);
        list.push(info);
        list.sort_by(|a, b| b.time.cmp(&a.time));
        list.truncate(EVENTS_PER_OBJECT);
        Some(key)
    }

    pub fn replace_events(&self, items: &[Value]) -> Vec<ObjKey> {
        self.write().events.clear();
        let mut keys: Vec<ObjKey> = items.iter().filter_map(|e| self.add_event(e)).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hr(name: &str, ready: &str) -> Value {
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "apps", "generation": 2},
            "spec": {"interval": "5m"},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": ready, "reason": "InstallFailed", "message": "boom", "lastTransitionTime": "2026-11-24T10:00:00Z"}]}})
    }

    #[test]
    fn upsert_reports_only_changes_and_replace_removes_missing() {
        let c = Cache::new();
        let g = "helm.toolkit.fluxcd.io";
        assert!(c.upsert(g, "HelmRelease", &hr("a", "False")).is_some());
        assert!(c.upsert(g, "HelmRelease", &hr("a", "False")).is_none());
        assert!(c.upsert(g, "HelmRelease", &hr("a", "True")).is_some());
        let changed = c.replace_scope(g, "HelmRelease", None, &[hr("b", "True")]);
        assert_eq!(changed.len(), 2);
        let r = c.read();
        let k = ObjKey::new(g, "HelmRelease", "apps", "b");
        assert!(r.covers(&k));
        let st = r.get(&k).unwrap();
        assert_eq!(st.condition("Ready").unwrap().status, "True");
        assert_eq!((st.generation, st.observed_generation), (Some(2), Some(1)));
        assert_eq!(st.last_reconcile(), Some("2026-11-24T10:00:00Z"));
    }

    #[test]
    fn keeps_latest_flux_warning_events() {
        let c = Cache::new();
        for i in 0..8 {
            let ev = json!({"type": "Warning", "reason": "Fail", "message": format!("m{i}"),
                "lastTimestamp": format!("2026-11-24T10:00:0{i}Z"), "metadata": {"uid": format!("u{i}"), "namespace": "apps"},
                "involvedObject": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "a", "namespace": "apps"}});
            c.add_event(&ev);
        }
        let normal = json!({"type": "Normal", "involvedObject": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "a"}});
        assert!(c.add_event(&normal).is_none());
        let r = c.read();
        let evs = r.events_of(&ObjKey::new("helm.toolkit.fluxcd.io", "HelmRelease", "apps", "a"));
        assert_eq!(evs.len(), EVENTS_PER_OBJECT);
        assert_eq!(evs[0].message, "m7");
    }
}
