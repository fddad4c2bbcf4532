//! The write commands: Reconcile, Reconcile with source, Suspend, Resume.
//! They send the merge patches the flux CLI sends:
//!
//! - reconcile: `{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt": <RFC 3339 time>}}}`
//! - with source: the same on the source first (a Kustomization's
//!   `spec.sourceRef`; a HelmRelease's `spec.chartRef`, else its HelmChart
//!   `<namespace>-<name>` in the chart source's namespace), then on the object;
//! - suspend / resume: `{"spec":{"suspend":true}}` / `{"spec":{"suspend":false}}`.
//!
//! Planning is pure (over the cache); only [`execute`] does I/O.

use serde_json::{Value, json};

use super::cache::{Inner, ObjKey, ServedKind};
use super::*;

pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Reconcile,
    ReconcileWithSource,
    Suspend,
    Resume,
}

impl Action {
    pub fn from_command(c: &str) -> Option<Action> {
        Some(match c {
            CMD_RECONCILE => Action::Reconcile,
            CMD_RECONCILE_WITH_SOURCE => Action::ReconcileWithSource,
            CMD_SUSPEND => Action::Suspend,
            CMD_RESUME => Action::Resume,
            _ => return None,
        })
    }
    pub fn title(self) -> &'static str {
        match self {
            Action::Reconcile => "Reconcile",
            Action::ReconcileWithSource => "Reconcile with source",
            Action::Suspend => "Suspend",
            Action::Resume => "Resume",
        }
    }
}

/// One merge patch to send.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedPatch {
    pub key: ObjKey,
    pub served: ServedKind,
    pub patch: Value,
}

pub fn requested_at(now: &str) -> Value {
    json!({"metadata": {"annotations": {REQUESTED_AT: now}}})
}

/// The current time as the flux CLI writes it (RFC 3339, UTC).
pub fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

fn str_at<'a>(v: &'a Value, p: &str) -> Option<&'a str> {
    v.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The source a "reconcile with source" reconciles first: (kind, namespace, name).
pub fn source_of(key: &ObjKey, spec: &Value) -> Option<(String, String, String)> {
    match key.kind.as_str() {
        "Kustomization" => {
            let kind = str_at(spec, "/sourceRef/kind")?;
            let name = str_at(spec, "/sourceRef/name")?;
            let ns = str_at(spec, "/sourceRef/namespace").unwrap_or(&key.namespace);
            Some((kind.into(), ns.into(), name.into()))
        }
        "HelmRelease" => {
            if let (Some(kind), Some(name)) = (str_at(spec, "/chartRef/kind"), str_at(spec, "/chartRef/name")) {
                let ns = str_at(spec, "/chartRef/namespace").unwrap_or(&key.namespace);
                return Some((kind.into(), ns.into(), name.into()));
            }
            let ns = str_at(spec, "/chart/spec/sourceRef/namespace").unwrap_or(&key.namespace);
            Some(("HelmChart".into(), ns.into(), format!("{}-{}", key.namespace, key.name)))
        }
        _ => None,
    }
}

/// The patches for `action` on `key`, in order.
pub fn plan(action: Action, key: &ObjKey, inner: &Inner, now: &str) -> Result<Vec<PlannedPatch>, String> {
    let served = inner
        .served_kind(&key.group, &key.kind)
        .ok_or_else(|| format!("the cluster does not serve {} ({})", key.kind, key.group))?
        .clone();
    let st = inner.get(key).ok_or_else(|| {
        format!("{} does not exist in cluster context `{}`", key.label(), inner.context.as_deref().unwrap_or("?"))
    })?;
    let own = |patch: Value| PlannedPatch { key: key.clone(), served: served.clone(), patch };
    Ok(match action {
        Action::Reconcile => vec![own(requested_at(now))],
        Action::Suspend => vec![own(json!({"spec": {"suspend": true}}))],
        Action::Resume => vec![own(json!({"spec": {"suspend": false}}))],
        Action::ReconcileWithSource => {
            let (kind, ns, name) =
                source_of(key, &st.spec).ok_or_else(|| format!("{} has no source to reconcile", key.label()))?;
            let src_served = inner
                .served_by_kind(&kind)
                .ok_or_else(|| format!("the cluster does not serve the source kind {kind}"))?
                .clone();
            let src_key = ObjKey::new(&src_served.group, &kind, &ns, &name);
            vec![PlannedPatch { key: src_key, served: src_served, patch: requested_at(now) }, own(requested_at(now))]
        }
    })
}

/// Sends the patches in order; stops at the first failure.
pub async fn execute(client: &kube::Client, patches: &[PlannedPatch]) -> Result<(), String> {
    use kube::api::{Patch, PatchParams};
    for p in patches {
        let ns = if p.served.namespaced { Some(p.key.namespace.as_str()) } else { None };
        let req = kube::core::Request::new(super::runtime::url_path(&p.served, ns))
            .patch(&p.key.name, &PatchParams::default(), &Patch::Merge(&p.patch))
            .map_err(|e| e.to_string())?;
        let r: Result<Value, kube::Error> = client.request(req).await;
        if let Err(e) = r {
            let why = match &e {
                kube::Error::Api(s) if s.code == 403 => {
                    format!("missing permission to `patch` `{}`: {}", p.served.resource(), s.message)
                }
                kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
                e => e.to_string(),
            };
            return Err(format!("patching {}: {why}", p.key.label()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Cache;

    #[test]
    fn plans_flux_cli_patches() {
        let c = Cache::new();
        {
            let mut w = c.write();
            for (g, k) in [
                ("helm.toolkit.fluxcd.io", "HelmRelease"),
                ("source.toolkit.fluxcd.io", "HelmChart"),
                ("source.toolkit.fluxcd.io", "GitRepository"),
            ] {
                w.served.insert(
                    (g.into(), k.into()),
                    ServedKind {
                        group: g.into(),
                        version: "v1".into(),
                        kind: k.into(),
                        plural: format!("{}s", k.to_lowercase()),
                        namespaced: true,
                    },
                );
            }
        }
        c.upsert(
            "helm.toolkit.fluxcd.io",
            "HelmRelease",
            &json!({"metadata": {"name": "podinfo", "namespace": "apps"}, "spec": {"chart": {"spec": {"sourceRef": {"kind": "HelmRepository", "name": "r", "namespace": "flux-system"}}}}}),
        );
        let key = ObjKey::new("helm.toolkit.fluxcd.io", "HelmRelease", "apps", "podinfo");
        let r = c.read();
        let p = plan(Action::Reconcile, &key, &r, "2026-11-24T10:00:00Z").unwrap();
        assert_eq!(
            p[0].patch,
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "2026-11-24T10:00:00Z"}}})
        );
        let p = plan(Action::ReconcileWithSource, &key, &r, "t").unwrap();
        assert_eq!(p[0].key, ObjKey::new("source.toolkit.fluxcd.io", "HelmChart", "flux-system", "apps-podinfo"));
        assert_eq!(p[1].key, key);
        assert_eq!(plan(Action::Suspend, &key, &r, "t").unwrap()[0].patch, json!({"spec": {"suspend": true}}));
        let missing = ObjKey::new("helm.toolkit.fluxcd.io", "HelmRelease", "apps", "nope");
        assert!(plan(Action::Reconcile, &missing, &r, "t").unwrap_err().contains("does not exist"));
        assert!(now_rfc3339().ends_with('Z'));
    }
}
