//! Pure features over the status cache: the cluster's view of the Flux
//! objects of a file as diagnostics, hovers and code lenses. No I/O here.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::Value;

use super::cache::{Inner, ObjKey, ObjStatus};
use super::*;
use crate::ide::hover::Hover;
use crate::ide::{Diagnostic, Severity};
use crate::syntax::{NodeId, NodeKind, Tree};
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData, ObjectClass};

/// A Flux object of a file mapped to its cluster identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Index in `file.summary.objects`.
    pub object: usize,
    pub key: ObjKey,
    /// Where diagnostics about the whole object go (its name).
    pub anchor: TextRange,
    /// Where its code lenses go (its first line).
    pub head: TextRange,
}

fn concrete(s: &str) -> bool {
    !s.is_empty() && !s.contains("${")
}

/// The Flux objects of `file` with their cluster keys. Objects without a
/// name, or whose name or namespace is a substitution variable, are left out.
pub fn targets(a: &Analysis, file: &FileData, default_ns: &str) -> Vec<Target> {
    let objects = &file.summary.objects;
    if !objects.iter().any(|o| o.class == ObjectClass::Flux) {
        return Vec::new();
    }
    let model = a.ref_model();
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if o.class != ObjectClass::Flux || !concrete(o.name_str()) {
            continue;
        }
        let ns = model.object_ns(file, i).unwrap_or_else(|| default_ns.to_string());
        if !concrete(&ns) {
            continue;
        }
        let head = o
            .api_version
            .as_ref()
            .or(o.kind.as_ref())
            .map(|s| s.range)
            .unwrap_or(TextRange::new(o.range.start, o.range.start));
        out.push(Target {
            object: i,
            key: ObjKey::new(o.group(), o.kind_str(), &ns, o.name_str()),
            anchor: o.anchor_range(),
            head,
        });
    }
    out
}

/// Whether `file` has an object among `keys`.
pub fn mentions(a: &Analysis, file: &FileData, default_ns: &str, keys: &HashSet<ObjKey>) -> bool {
    targets(a, file, default_ns).iter().any(|t| keys.contains(&t.key))
}

/// The object whose document contains `line` (0-based).
pub fn target_at_line(a: &Analysis, file: &FileData, default_ns: &str, line: u32) -> Option<Target> {
    let off = file.index.line_start((line as usize).min(file.index.line_count().saturating_sub(1)));
    targets(a, file, default_ns).into_iter().find(|t| {
        let r = file.summary.objects[t.object].range;
        r.start <= off && off <= r.end
    })
}

fn stale_prefix(inner: &Inner) -> &'static str {
    if inner.stale { "(stale) " } else { "" }
}

fn context(inner: &Inner) -> &str {
    inner.context.as_deref().unwrap_or("?")
}

fn true_(st: &ObjStatus, t: &str) -> bool {
    st.condition(t).is_some_and(|c| c.status == "True")
}

fn reason_message(reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        (true, false) => message.to_string(),
        (true, true) => "no reason given".to_string(),
    }
}

/// The overlay's diagnostics for `file`.
pub fn diagnostics(a: &Analysis, file: &FileData, inner: &Inner) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if matches!(inner.state, ConnState::Disabled) || inner.served.is_empty() {
        return out;
    }
    let stale = stale_prefix(inner);
    for t in targets(a, file, &inner.default_ns) {
        let label = t.key.label();
        let Some(st) = inner.get(&t.key) else {
            if inner.covers(&t.key) && !inner.stale {
                out.push(Diagnostic::new(
                    CLUSTER_NOT_FOUND,
                    Severity::Hint,
                    t.anchor,
                    format!("{label} does not exist in cluster context `{}`", context(inner)),
                ));
            }
            continue;
        };
        let ready = st.condition("Ready");
        if let Some(c) = st.condition("Stalled").filter(|c| c.status == "True") {
            out.push(Diagnostic::new(
                CLUSTER_NOT_READY,
                Severity::Error,
                t.anchor,
                format!("{stale}{label} is stalled in the cluster: {}", reason_message(&c.reason, &c.message)),
            ));
        } else if let Some(c) = ready.filter(|c| c.status == "False") {
            out.push(Diagnostic::new(
                CLUSTER_NOT_READY,
                Severity::Error,
                t.anchor,
                format!("{stale}{label} is not ready in the cluster: {}", reason_message(&c.reason, &c.message)),
            ));
        }
        if !st.suspended && (true_(st, "Reconciling") || ready.is_some_and(|c| c.status == "Unknown")) {
            let c = st.condition("Reconciling").filter(|c| c.status == "True").or(ready);
            let detail = c.map(|c| reason_message(&c.reason, &c.message)).unwrap_or_default();
            out.push(Diagnostic::new(
                CLUSTER_RECONCILING,
                Severity::Information,
                t.anchor,
                format!("{stale}{label} is reconciling: {detail}"),
            ));
        }
        if st.suspended {
            out.push(Diagnostic::new(
                CLUSTER_SUSPENDED,
                Severity::Hint,
                t.anchor,
                format!("{stale}{label} is suspended in the cluster: the controller does not reconcile it"),
            ));
        } else if let (Some(g), Some(o)) = (st.generation, st.observed_generation)
            && o < g
        {
            out.push(Diagnostic::new(
                CLUSTER_NOT_RECONCILED,
                Severity::Information,
                t.anchor,
                format!(
                    "{stale}{label}: the controller has not reconciled the latest change yet (generation {g}, observed {o})"
                ),
            ));
        }
        drift(file, t.object, st, stale, &mut out);
    }
    // severity overrides from the settings
    out.retain_mut(|d| match a.config.severity.get(d.code) {
        Some(None) => false,
        Some(Some(s)) => {
            d.severity = *s;
            true
        }
        None => true,
    });
    out
}

/// At most this many drift diagnostics per object.
const MAX_DRIFT: usize = 20;

fn drift(file: &FileData, object: usize, st: &ObjStatus, stale: &str, out: &mut Vec<Diagnostic>) {
    let o = &file.summary.objects[object];
    let Some(doc) = file.syntax.docs.get(o.doc) else { return };
    let tree = &doc.parsed.tree;
    let Some(spec) = tree.lookup(&["spec"]) else { return };
    if st.spec.is_null() {
        return;
    }
    let mut found = Vec::new();
    let mut path = String::from("spec");
    walk(tree, spec, &st.spec, &mut path, 0, &mut found);
    for (node, path, cv) in found.into_iter().take(MAX_DRIFT) {
        let mut shown = serde_json::to_string(&cv).unwrap_or_default();
        if shown.len() > 120 {
            let mut cut = 117;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push_str("...");
        }
        out.push(Diagnostic::new(
            CLUSTER_DRIFT,
            Severity::Information,
            doc.abs(tree.node(node).range),
            format!("{stale}drift: the cluster has `{path}` = {shown}"),
        ));
    }
}

fn walk(
    tree: &Tree,
    node: NodeId,
    cv: &Value,
    path: &mut String,
    depth: usize,
    out: &mut Vec<(NodeId, String, Value)>,
) {
    if depth > 64 || out.len() >= MAX_DRIFT {
        return;
    }
    match &tree.node(node).kind {
        NodeKind::Map { entries, .. } => {
            let Value::Object(map) = cv else { return };
            for e in entries {
                let (Some(k), Some(v)) = (tree.scalar(e.key), e.value) else { continue };
                let Some(child) = map.get(k) else { continue };
                let len = path.len();
                path.push('.');
                path.push_str(k);
                walk(tree, v, child, path, depth + 1, out);
                path.truncate(len);
            }
        }
        NodeKind::Seq { items, .. } => {
            let Value::Array(arr) = cv else { return };
            for (i, it) in items.iter().enumerate() {
                let Some(child) = arr.get(i) else { break };
                let len = path.len();
                let _ = write!(path, "[{i}]");
                walk(tree, *it, child, path, depth + 1, out);
                path.truncate(len);
            }
        }
        NodeKind::Scalar { .. } => {
            if same_scalar(tree, node, cv) == Some(false) {
                out.push((node, path.clone(), cv.clone()));
            }
        }
        NodeKind::Alias { .. } => {}
    }
}

/// Whether a YAML scalar equals the cluster's value; None when it cannot be
/// told (substitution variables, nulls).
fn same_scalar(tree: &Tree, node: NodeId, cv: &Value) -> Option<bool> {
    use crate::syntax::ScalarType;
    let text = tree.scalar(node)?;
    if text.contains("${") {
        return None;
    }
    let ty = tree.scalar_type(node)?;
    if ty == ScalarType::Null {
        return None;
    }
    Some(match cv {
        Value::String(s) => s == text,
        Value::Bool(b) => text.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => match (text.parse::<f64>(), n.as_f64()) {
            (Ok(a), Some(b)) => a == b,
            _ => false,
        },
        Value::Null => return None,
        Value::Array(_) | Value::Object(_) => false,
    })
}

fn ready_word(st: &ObjStatus) -> &'static str {
    if true_(st, "Stalled") {
        return "Stalled";
    }
    match st.condition("Ready").map(|c| c.status.as_str()) {
        Some("True") => "Ready",
        Some("False") => "Not ready",
        Some(_) => "Reconciling",
        None => "No status yet",
    }
}

/// Hover on an object's name: the live status and the latest warning events.
pub fn hover(a: &Analysis, file: &FileData, offset: usize, inner: &Inner) -> Option<Hover> {
    if matches!(inner.state, ConnState::Disabled) {
        return None;
    }
    let t = targets(a, file, &inner.default_ns)
        .into_iter()
        .find(|t| file.summary.objects[t.object].name.as_ref().is_some_and(|n| n.range.contains_inclusive(offset)))?;
    let mut md = String::new();
    let ctx = context(inner);
    let _ = writeln!(md, "**Cluster** `{ctx}`: {}\n", t.key.label());
    if inner.stale {
        let _ = writeln!(md, "_(stale: the connection to the cluster is lost; this is the last known status)_\n");
    }
    let Some(st) = inner.get(&t.key) else {
        if inner.covers(&t.key) {
            let _ = writeln!(md, "Not found in the cluster.");
        } else if inner.state != ConnState::Connected {
            let _ = writeln!(md, "No status yet (cluster: {}).", inner.state.as_str());
        } else {
            let _ = writeln!(md, "No status: this kind is not watched (not served, or no permission to list it).");
        }
        return Some(Hover { range: t.anchor, markdown: md });
    };
    let ready = st.condition("Ready");
    let _ = write!(md, "- **Ready**: {}", ready.map(|c| c.status.as_str()).unwrap_or("unknown"));
    if let Some(c) = ready.filter(|c| !c.reason.is_empty()) {
        let _ = write!(md, " ({})", c.reason);
    }
    md.push('\n');
    if let Some(c) = st.condition("Stalled").filter(|c| c.status == "True") {
        let _ = writeln!(md, "- **Stalled**: {}", reason_message(&c.reason, &c.message));
    }
    if let Some(c) = ready.filter(|c| !c.message.is_empty()) {
        let _ = writeln!(md, "- **Message**: {}", c.message.replace('\n', " "));
    }
    if let Some(r) = st.revision() {
        let _ = writeln!(md, "- **Revision**: `{r}`");
    }
    if let Some(r) = st.last_attempted_revision.as_deref().filter(|r| Some(*r) != st.revision()) {
        let _ = writeln!(md, "- **Last attempted revision**: `{r}`");
    }
    if let Some(t) = st.last_reconcile() {
        let _ = writeln!(md, "- **Last reconcile**: {t}");
    }
    let _ = writeln!(md, "- **Suspended**: {}", if st.suspended { "yes" } else { "no" });
    if let Some(n) = st.inventory_size {
        let _ = writeln!(md, "- **Inventory**: {n} object{}", if n == 1 { "" } else { "s" });
    }
    if let (Some(g), Some(o)) = (st.generation, st.observed_generation) {
        let _ = writeln!(md, "- **Generation**: {g} (observed {o})");
    }
    let events = inner.events_of(&t.key);
    if !events.is_empty() {
        let _ = writeln!(md, "\n**Warning events**\n");
        for e in events {
            let times = if e.count > 1 { format!(" (x{})", e.count) } else { String::new() };
            let _ = writeln!(md, "- `{}` **{}**{times}: {}", e.time, e.reason, e.message.replace('\n', " "));
        }
    }
    Some(Hover { range: t.anchor, markdown: md })
}

/// A code lens: a title and, for actions, the command to run on the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lens {
    pub range: TextRange,
    pub title: String,
    /// None for the status line.
    pub command: Option<&'static str>,
    /// A line inside the object (the command argument).
    pub line: u32,
}

/// Kinds whose "reconcile with source" makes sense (as in the flux CLI).
pub fn has_source(kind: &str) -> bool {
    matches!(kind, "Kustomization" | "HelmRelease")
}

/// One status lens and the action lenses over each Flux object.
pub fn code_lenses(a: &Analysis, file: &FileData, inner: &Inner) -> Vec<Lens> {
    let mut out = Vec::new();
    if matches!(inner.state, ConnState::Disabled) {
        return out;
    }
    let stale = stale_prefix(inner);
    for t in targets(a, file, &inner.default_ns) {
        let line = file.index.line_of(t.anchor.start) as u32;
        let st = inner.get(&t.key);
        let title = match st {
            Some(st) => {
                let mut s = format!("{stale}{}", ready_word(st));
                if st.suspended {
                    s.push_str(" · suspended");
                }
                if let Some(r) = st.revision() {
                    let _ = write!(s, " · {r}");
                }
                if let Some(c) = st.condition("Ready").filter(|c| c.status != "True" && !c.reason.is_empty()) {
                    let _ = write!(s, " · {}", c.reason);
                }
                s
            }
            None if inner.covers(&t.key) => format!("{stale}Not in cluster `{}`", context(inner)),
            None if inner.state == ConnState::Connected => "No cluster status".to_string(),
            None => format!("Cluster: {}", inner.state.as_str()),
        };
        out.push(Lens { range: t.head, title, command: None, line });
        if st.is_none() {
            continue;
        }
        out.push(Lens { range: t.head, title: "Reconcile".into(), command: Some(CMD_RECONCILE), line });
        if has_source(&t.key.kind) {
            out.push(Lens {
                range: t.head,
                title: "Reconcile with source".into(),
                command: Some(CMD_RECONCILE_WITH_SOURCE),
                line,
            });
        }
        if st.is_some_and(|s| s.suspended) {
            out.push(Lens { range: t.head, title: "Resume".into(), command: Some(CMD_RESUME), line });
        } else {
            out.push(Lens { range: t.head, title: "Suspend".into(), command: Some(CMD_SUSPEND), line });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Cache;
    use crate::workspace::Workspace;
    use serde_json::json;

    const DOC: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 5m\n  suspend: false\n  chart:\n    spec:\n      chart: podinfo\n      version: \"6.5.0\"\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: missing\n  namespace: apps\nspec:\n  interval: 1m\n";

    fn setup(status: Value, spec: Value) -> (Workspace, std::sync::Arc<Cache>) {
        let mut ws = Workspace::default();
        ws.set_file("/t/a.yaml".into(), DOC.to_string(), Some(1));
        let c = Cache::new();
        {
            let mut w = c.write();
            w.state = ConnState::Connected;
            w.context = Some("kind-dev".into());
            w.default_ns = "default".into();
            for (g, k) in [("helm.toolkit.fluxcd.io", "HelmRelease"), ("kustomize.toolkit.fluxcd.io", "Kustomization")]
            {
                w.served.insert(
                    (g.into(), k.into()),
                    cache::ServedKind {
                        group: g.into(),
                        version: "v1".into(),
                        kind: k.into(),
                        plural: format!("{}s", k.to_lowercase()),
                        namespaced: true,
                    },
                );
            }
        }
        let obj = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo", "namespace": "apps", "generation": 3},
            "spec": spec, "status": status});
        c.replace_scope("helm.toolkit.fluxcd.io", "HelmRelease", None, &[obj]);
        c.replace_scope("kustomize.toolkit.fluxcd.io", "Kustomization", None, &[]);
        (ws, c)
    }

    fn diags(ws: &Workspace, c: &Cache) -> Vec<(&'static str, String, String)> {
        let f = ws.file(std::path::Path::new("/t/a.yaml")).unwrap();
        let a = ws.analysis();
        diagnostics(&a, f, &c.read())
            .into_iter()
            .map(|d| (d.code, DOC[d.range.start..d.range.end].to_string(), d.message))
            .collect()
    }

    #[test]
    fn not_ready_not_found_not_reconciled_and_drift() {
        let (ws, c) = setup(
            json!({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed", "message": "timed out"}]}),
            json!({"interval": "10m", "suspend": false, "chart": {"spec": {"chart": "podinfo", "version": "6.5.0"}}}),
        );
        let d = diags(&ws, &c);
        assert!(d.contains(&(
            CLUSTER_NOT_READY,
            "podinfo".into(),
            "HelmRelease apps/podinfo is not ready in the cluster: InstallFailed: timed out".into()
        )));
        assert!(d.iter().any(|x| x.0 == CLUSTER_NOT_RECONCILED && x.2.contains("generation 3, observed 2")));
        assert!(d.contains(&(CLUSTER_DRIFT, "5m".into(), "drift: the cluster has `spec.interval` = \"10m\"".into())));
        assert!(d.iter().any(|x| x.0 == CLUSTER_NOT_FOUND && x.1 == "missing" && x.2.contains("kind-dev")));
        assert_eq!(d.iter().filter(|x| x.0 == CLUSTER_DRIFT).count(), 1, "{d:?}");
        // stale
        c.write().stale = true;
        let d = diags(&ws, &c);
        assert!(d.iter().any(|x| x.0 == CLUSTER_NOT_READY && x.2.starts_with("(stale) ")), "{d:?}");
        assert!(!d.iter().any(|x| x.0 == CLUSTER_NOT_FOUND));
    }

    #[test]
    fn reconciling_and_stalled() {
        let (ws, c) = setup(
            json!({"observedGeneration": 3, "conditions": [
                {"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": "Reconciliation in progress"},
                {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "installing chart"}]}),
            json!({}),
        );
        let d = diags(&ws, &c);
        let r: Vec<_> = d.iter().filter(|x| x.0 != CLUSTER_NOT_FOUND).collect();
        assert_eq!(r.len(), 1, "{d:?}");
        assert_eq!(r[0].0, CLUSTER_RECONCILING);
        assert_eq!(r[0].2, "HelmRelease apps/podinfo is reconciling: Progressing: installing chart");
        let obj = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo", "namespace": "apps", "generation": 3},
            "status": {"observedGeneration": 3, "conditions": [
                {"type": "Ready", "status": "False", "reason": "RetriesExceeded", "message": "failed 5 times"},
                {"type": "Stalled", "status": "True", "reason": "RetriesExceeded", "message": "failed 5 times"}]}});
        c.upsert("helm.toolkit.fluxcd.io", "HelmRelease", &obj);
        let d = diags(&ws, &c);
        assert!(
            d.contains(&(
                CLUSTER_NOT_READY,
                "podinfo".into(),
                "HelmRelease apps/podinfo is stalled in the cluster: RetriesExceeded: failed 5 times".into()
            )),
            "{d:?}"
        );
        assert_eq!(d.iter().filter(|x| x.0 == CLUSTER_NOT_READY).count(), 1);
    }

    #[test]
    fn suspended_reconciling_hover_and_lenses() {
        let (ws, c) = setup(
            json!({"observedGeneration": 3, "lastAppliedRevision": "6.5.0", "inventory": {"entries": [{}, {}]},
                "conditions": [{"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": "installing"}, {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "installing"}]}),
            json!({"suspend": true}),
        );
        let d = diags(&ws, &c);
        assert!(d.iter().any(|x| x.0 == CLUSTER_SUSPENDED), "{d:?}");
        assert!(d.iter().any(|x| x.0 == CLUSTER_DRIFT && x.1 == "false"), "{d:?}");
        let f = ws.file(std::path::Path::new("/t/a.yaml")).unwrap();
        let a = ws.analysis();
        let h = hover(&a, f, DOC.find("podinfo").unwrap() + 2, &c.read()).unwrap();
        assert!(h.markdown.contains("**Inventory**: 2 objects"), "{}", h.markdown);
        assert!(h.markdown.contains("**Suspended**: yes"));
        let lenses = code_lenses(&a, f, &c.read());
        let titles: Vec<&str> = lenses.iter().map(|l| l.title.as_str()).collect();
        assert_eq!(titles[1..], ["Reconcile", "Reconcile with source", "Resume", "Not in cluster `kind-dev`"]);
        assert!(titles[0].starts_with("Reconciling · suspended · 6.5.0"), "{titles:?}");
        let t = target_at_line(&a, f, "kind-dev", 7).unwrap();
        assert_eq!(t.key.name, "podinfo");
        assert_eq!(target_at_line(&a, f, "kind-dev", 16).unwrap().key.name, "missing");
    }
}
