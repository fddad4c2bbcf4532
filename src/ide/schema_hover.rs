//! Hover from the Flux API schemas: on a key, its type, whether it is
//! required, default, allowed values, constraints, a one-line summary, the
//! documentation link and, when a run-time CRD is loaded, the upstream
//! description; on apiVersion/kind, the kind's summary and the version's
//! status (current, or removed in which release); on enum values, the field
//! with the value's place among the allowed ones.

use super::hover::Hover;
use crate::schema::model::{KindDef, Schema};
use crate::schema::{Registry, docs, history};
use crate::syntax::{NodeId, NodeKind, PathSeg, Tree};
use crate::workspace::{Analysis, FileData, split_api_version};

/// The hover provider (registered in `hover::PROVIDERS`).
pub fn schema_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let (_, doc) = file.syntax.doc_at(offset)?;
    let base = doc.base();
    if offset < base || offset > doc.span.range.end {
        return None;
    }
    let tree = &doc.parsed.tree;
    let chain = tree.chain_at(offset - base);
    let &node = chain.last()?;
    let root = tree.root?;
    tree.scalar(node)?;
    let reg = a.schemas();
    let range = doc.abs(tree.node(node).range);
    let is_key = tree.is_key(node);
    let path = tree.path_of(node);
    // apiVersion / kind of an object (the document root or an embedded one)
    if let Some(PathSeg::Key(last)) = path.last()
        && (last == "apiVersion" || last == "kind")
    {
        let obj = tree.node(node).parent?;
        if obj == root || embedded_object(&reg, tree, obj) {
            let md = kind_markdown(&reg, tree, obj)?;
            return Some(Hover { range, markdown: md });
        }
    }
    let (schema, kdef, rel_path, parent_schema) = resolve(&reg, tree, root, &path)?;
    let name = match path.last() {
        Some(PathSeg::Key(k)) => k.clone(),
        _ => return None,
    };
    if is_key {
        let required = parent_schema.is_some_and(|p| p.is_required(&name));
        return Some(Hover { range, markdown: field_markdown(kdef, &name, &rel_path, schema, required, None) });
    }
    // a value: only enum values get a hover
    let value = tree.scalar(node)?;
    if schema.enum_values.iter().any(|v| v.as_str() == Some(value)) {
        let required = parent_schema.is_some_and(|p| p.is_required(&name));
        return Some(Hover { range, markdown: field_markdown(kdef, &name, &rel_path, schema, required, Some(value)) });
    }
    None
}

fn embedded_object(reg: &Registry, tree: &Tree, obj: NodeId) -> bool {
    let (Some(av), Some(k)) = (tree.get(obj, "apiVersion"), tree.get(obj, "kind")) else { return false };
    let (Some(av), Some(k)) = (tree.scalar(av), tree.scalar(k)) else { return false };
    reg.kind(split_api_version(av).0, k).is_some()
}

/// The schema of the node at `path`, its kind, the path relative to its
/// object, and the schema of the mapping holding it.
fn resolve<'r>(
    reg: &'r Registry,
    tree: &Tree,
    root: NodeId,
    path: &[PathSeg],
) -> Option<(&'r Schema, &'r KindDef, String, Option<&'r Schema>)> {
    let (mut kdef, mut schema) = object_schema(reg, tree, root)?;
    let mut node = Some(root);
    let mut parent = None;
    let mut obj_depth = 0;
    for (i, seg) in path.iter().enumerate() {
        match seg {
            PathSeg::Key(k) => {
                parent = Some(schema);
                schema = if i == obj_depth { schema.root_child(k)? } else { schema.child(k)? };
                node = node.and_then(|n| tree.get(n, k));
            }
            PathSeg::Index(ix) => {
                parent = None;
                node = node.and_then(|n| tree.items(n).get(*ix).copied());
                let items = schema.items.as_deref()?;
                schema = items;
                if items.is_free_form()
                    && let Some((k, s)) = node.and_then(|n| object_schema(reg, tree, n))
                {
                    kdef = k;
                    schema = s;
                    obj_depth = i + 1;
                }
            }
        }
    }
    let rel = crate::syntax::path_to_string(&path[obj_depth..]);
    Some((schema, kdef, rel, parent))
}

fn object_schema<'r>(reg: &'r Registry, tree: &Tree, node: NodeId) -> Option<(&'r KindDef, &'r Schema)> {
    if !matches!(tree.node(node).kind, NodeKind::Map { .. }) {
        return None;
    }
    let av = tree.scalar(tree.get(node, "apiVersion")?)?;
    let kind = tree.scalar(tree.get(node, "kind")?)?;
    let r = reg.resolve(av, kind)?;
    Some((r.kind, &r.version.schema))
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field_markdown(kdef: &KindDef, name: &str, path: &str, s: &Schema, required: bool, value: Option<&str>) -> String {
    let mut md = format!(
        "**{name}** `{}` · {}\n\n`{}` of {}",
        s.type_label(),
        if required { "required" } else { "optional" },
        path.replace("[]", "[*]"),
        kdef.kind
    );
    let doc = docs::field(&kdef.kind, path);
    if let Some((summary, _)) = &doc {
        md.push_str("\n\n");
        md.push_str(summary);
    }
    let mut facts = Vec::new();
    if let Some(d) = &s.default {
        facts.push(format!("Default: `{}`", json_text(d)));
    }
    if !s.enum_values.is_empty() {
        let vals: Vec<String> = s
            .enum_values
            .iter()
            .map(json_text)
            .map(|v| if Some(v.as_str()) == value { format!("**`{v}`**") } else { format!("`{v}`") })
            .collect();
        facts.push(format!("Allowed: {}", vals.join(", ")));
    }
    if s.is_duration() {
        facts.push("Format: Go duration with units ms, s, m, h (e.g. `1m30s`)".into());
    } else if let Some(p) = &s.pattern {
        facts.push(format!("Pattern: `{p}`"));
    }
    match (s.minimum, s.maximum) {
        (Some(a), Some(b)) => facts.push(format!("Range: {a} to {b}")),
        (Some(a), None) => facts.push(format!("Minimum: {a}")),
        (None, Some(b)) => facts.push(format!("Maximum: {b}")),
        _ => {}
    }
    match (s.min_length, s.max_length) {
        (Some(a), Some(b)) => facts.push(format!("Length: {a} to {b} characters")),
        (Some(a), None) => facts.push(format!("Length: at least {a} characters")),
        (None, Some(b)) => facts.push(format!("Length: at most {b} characters")),
        _ => {}
    }
    if let (Some(a), Some(b)) = (s.min_items, s.max_items) {
        facts.push(format!("Items: {a} to {b}"));
    } else if let Some(a) = s.min_items {
        facts.push(format!("Items: at least {a}"));
    } else if let Some(b) = s.max_items {
        facts.push(format!("Items: at most {b}"));
    }
    for r in &s.validations {
        if let Some(m) = &r.message {
            facts.push(format!("Rule: {m}"));
        }
    }
    if !facts.is_empty() {
        md.push_str("\n\n");
        md.push_str(&facts.join("  \n"));
    }
    if let Some(desc) = &s.description {
        md.push_str("\n\n---\n\n");
        md.push_str(desc);
    }
    let url = doc.map(|(_, u)| u).or_else(|| docs::kind(&kdef.kind).map(|d| d.url.clone()));
    if let Some(u) = url {
        md.push_str(&format!("\n\n[Documentation]({u})"));
    }
    md
}

fn kind_markdown(reg: &Registry, tree: &Tree, obj: NodeId) -> Option<String> {
    let av = tree.scalar(tree.get(obj, "apiVersion")?)?;
    let kind = tree.scalar(tree.get(obj, "kind")?)?;
    let (group, version) = split_api_version(av);
    let (kdef, runtime) = reg.kind(group, kind)?;
    let mut md = format!("**{kind}** `{av}`");
    if let Some(d) = docs::kind(kind) {
        md.push_str("\n\n");
        md.push_str(&d.summary);
    }
    let current = kdef.preferred().map(|v| v.name.as_str()).unwrap_or("");
    let status = if let Some(r) = history::removed(group, version, kind) {
        format!("Version `{version}`: **removed** in {} ({}); use `{group}/{current}`", r.flux, r.controller)
    } else if kdef.version(version).is_some() {
        match history::current(group, kind).filter(|c| c.version == version) {
            Some(c) => format!("Version `{version}`: current, since {}", c.since),
            None if version == current => format!("Version `{version}`: current"),
            None => format!("Version `{version}`: served; the preferred version is `{current}`"),
        }
    } else {
        let served: Vec<&str> = kdef.versions.iter().filter(|v| v.served).map(|v| v.name.as_str()).collect();
        format!("Version `{version}` is unknown; served: {}", served.join(", "))
    };
    md.push_str("\n\n");
    md.push_str(&status);
    let removed: Vec<String> =
        history::removed_versions(group, kind).map(|r| format!("`{}` ({})", r.version, r.flux)).collect();
    if !removed.is_empty() {
        md.push_str(&format!("  \nRemoved versions: {}", removed.join(", ")));
    }
    if runtime {
        md.push_str("  \nSchema from a CustomResourceDefinition in the workspace");
    }
    if let Some(d) = docs::kind(kind) {
        md.push_str(&format!("\n\n[Documentation]({})", d.url));
    }
    Some(md)
}

#[cfg(test)]
mod tests {
    use crate::ide::fixture::Fixture;
    use crate::ide::hover::hover;

    fn hover_at(src: &str) -> (String, String) {
        let f = Fixture::parse(src);
        let a = f.ws.analysis();
        let h = hover(&a, f.file(), f.offset()).expect("a hover");
        (f.slice(h.range).to_string(), h.markdown)
    }

    const GIT: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  url: https://github.com/x/y\n  provider: azure\n  timeout: 1m\n";

    #[test]
    fn key_hover_shows_type_required_summary_and_link() {
        let (word, md) = hover_at(&GIT.replace("  interval:", "  inte$0rval:"));
        assert_eq!(word, "interval");
        assert!(md.contains("**interval** `duration` · required"), "{md}");
        assert!(md.contains("How often"), "{md}");
        assert!(md.contains("(https://fluxcd.io/flux/components/source/gitrepositories/#interval)"), "{md}");
        let (_, md) = hover_at(&GIT.replace("  timeout:", "  time$0out:"));
        assert!(md.contains("optional") && md.contains("Default: `60s`"), "{md}");
        let (_, md) = hover_at(&GIT.replace("  provider:", "  prov$0ider:"));
        assert!(md.contains("Allowed: `generic`, `aws`, `azure`, `github`"), "{md}");
    }

    #[test]
    fn enum_value_hover_highlights_the_value() {
        let (word, md) = hover_at(&GIT.replace("provider: azure", "provider: az$0ure"));
        assert_eq!(word, "azure");
        assert!(md.contains("**`azure`**"), "{md}");
    }

    #[test]
    fn api_version_and_kind_hover_show_status() {
        let (_, md) = hover_at(&GIT.replace("kind: GitRepository", "kind: Git$0Repository"));
        assert!(
            md.contains("Clones a Git repository") && md.contains("current, since source-controller v1.0.0 (Flux 2.0)"),
            "{md}"
        );
        assert!(md.contains("Removed versions: `v1alpha1` (2020), `v1beta1` (Flux 2.7), `v1beta2` (Flux 2.8)"), "{md}");
        let (_, md) = hover_at(&GIT.replace("fluxcd.io/v1\n", "fluxcd.io/v1be$0ta2\n"));
        assert!(md.contains("**removed** in Flux 2.8 (source-controller v1.8.0)"), "{md}");
        let p = "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provi$0der\nmetadata:\n  name: x\nspec:\n  type: slack\n";
        let (_, md) = hover_at(p);
        assert!(md.contains("current, since notification-controller v1.2.0 (Flux 2.2)"), "{md}");
    }

    #[test]
    fn runtime_crd_descriptions_show_up() {
        let src = "# file: crds.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size:\n                type: integer\n                minimum: 1\n                description: How big the widget is.\n# file: w.yaml\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  si$0ze: 3\n";
        let (_, md) = hover_at(src);
        assert!(
            md.contains("**size** `integer`") && md.contains("Minimum: 1") && md.contains("How big the widget is."),
            "{md}"
        );
        // and validation applies to run-time kinds
        let f = Fixture::parse(&src.replace("ze: 3", "ze: 0\n  colour: red"));
        let d = f.diagnostics();
        assert!(d.contains(&("out-of-range", "0".into())) && d.contains(&("unknown-field", "colour".into())), "{d:?}");
    }

    #[test]
    fn no_hover_on_plain_values_or_foreign_objects() {
        let f = Fixture::parse(&GIT.replace("url: https", "url: ht$0tps"));
        assert!(hover(&f.ws.analysis(), f.file(), f.offset()).is_none());
        let f = Fixture::parse("apiVersion: apps/v1\nkind: Deployment\nspec:\n  repl$0icas: 1\n");
        assert!(hover(&f.ws.analysis(), f.file(), f.offset()).is_none());
    }
}
