//! What a Helm chart accepts in `values` (issue #9): its `values.schema.json`
//! (JSON Schema, local `$ref`s inlined) or, when it has none, a schema
//! inferred from its `values.yaml` (keys, types, defaults, and the comment
//! above each key as its description).
//!
//! Inferred schemas are lenient by design: they only know the keys the
//! chart's defaults show, so the checks built on them report unknown keys
//! (as warnings) and never types.

use serde_json::Value;

use super::model::{Schema, Type};
use crate::syntax::{NodeId, NodeKind, ParsedDoc, PathSeg, ScalarType, Tree};

/// Where a chart's values schema came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValuesSource {
    /// The chart's `values.schema.json`: types and enums are checked.
    SchemaJson,
    /// Inferred from `values.yaml`: only unknown keys are reported.
    Inferred,
}

impl ValuesSource {
    pub fn label(self) -> &'static str {
        match self {
            ValuesSource::SchemaJson => "`values.schema.json`",
            ValuesSource::Inferred => "inferred from `values.yaml`",
        }
    }
}

/// Builds a schema from the text of a `values.schema.json`; Err with the
/// parser's message when it is not JSON.
pub fn from_schema_json(text: &str) -> Result<Schema, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let inlined = inline_refs(&v, &v, 0);
    Ok(Schema::from_json(&inlined))
}

/// Replaces `{"$ref": "#/..."}` by what it points at (local references only;
/// depth-limited, so a recursive schema ends as an open node).
fn inline_refs(v: &Value, root: &Value, depth: usize) -> Value {
    if depth > 24 {
        return Value::Object(Default::default());
    }
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                return match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                    Some(target) => inline_refs(target, root, depth + 1),
                    None => Value::Object(Default::default()),
                };
            }
            Value::Object(o.iter().map(|(k, x)| (k.clone(), inline_refs(x, root, depth + 1))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| inline_refs(x, root, depth + 1)).collect()),
        other => other.clone(),
    }
}

/// Infers a schema from a parsed `values.yaml`.
pub fn infer(doc: &ParsedDoc) -> Schema {
    match doc.tree.root {
        Some(root) => infer_node(doc, root, 0),
        None => Schema { ty: Some(Type::Object), preserve_unknown_fields: true, ..Default::default() },
    }
}

fn infer_node(doc: &ParsedDoc, id: NodeId, depth: usize) -> Schema {
    let tree = &doc.tree;
    let mut s = Schema::default();
    if depth > 64 {
        s.preserve_unknown_fields = true;
        return s;
    }
    match &tree.node(id).kind {
        NodeKind::Map { entries, .. } => {
            s.ty = Some(Type::Object);
            for e in entries {
                let Some(key) = tree.scalar(e.key) else { continue };
                let mut sub = match e.value {
                    Some(v) => infer_node(doc, v, depth + 1),
                    None => Schema::default(),
                };
                sub.description = comment_above(doc, tree.node(e.key).range.start);
                s.properties.push((key.to_string(), sub));
            }
            // `{}` in the defaults: the chart takes any keys there
            s.preserve_unknown_fields = entries.is_empty();
        }
        NodeKind::Seq { items, .. } => {
            s.ty = Some(Type::Array);
            s.items = Some(Box::new(match items.first() {
                Some(&first) => {
                    let mut i = infer_node(doc, first, depth + 1);
                    i.default = None;
                    i
                }
                None => Schema::default(),
            }));
            s.default = to_json(tree, id, 0);
        }
        NodeKind::Scalar { .. } => {
            s.ty = match tree.scalar_type(id) {
                Some(ScalarType::Bool) => Some(Type::Boolean),
                Some(ScalarType::Int) => Some(Type::Integer),
                Some(ScalarType::Float) => Some(Type::Number),
                Some(ScalarType::Str) => Some(Type::String),
                _ => None,
            };
            s.default = to_json(tree, id, 0);
        }
        NodeKind::Alias { .. } => {}
    }
    s
}

/// The comment lines right above a key (helm-docs' `# --` prefix removed).
fn comment_above(doc: &ParsedDoc, at: usize) -> Option<String> {
    let text = &*doc.text;
    let line_start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let mut lines = Vec::new();
    let mut end = line_start;
    while end > 0 {
        let prev_start = text[..end - 1].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = text[prev_start..end - 1].trim();
        let Some(c) = line.strip_prefix('#') else { break };
        // a commented-out key (`# foo: bar`) is not a description of the next key
        let c = c.trim_start_matches('#').trim();
        lines.push(c.strip_prefix("--").map(str::trim).unwrap_or(c).to_string());
        end = prev_start;
    }
    lines.reverse();
    let out = lines.join("\n").trim().to_string();
    (!out.is_empty()).then_some(out)
}

/// A node as JSON (for defaults); None for large or aliased values.
fn to_json(tree: &Tree, id: NodeId, depth: usize) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    Some(match &tree.node(id).kind {
        NodeKind::Scalar { value, .. } => match tree.scalar_type(id)? {
            ScalarType::Null => Value::Null,
            ScalarType::Bool => Value::Bool(matches!(&**value, "true" | "True" | "TRUE")),
            ScalarType::Int => value.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(value.to_string())),
            ScalarType::Float => {
                value.parse::<f64>().ok().map(Value::from).unwrap_or_else(|| Value::from(value.to_string()))
            }
            ScalarType::Str => Value::from(value.to_string()),
        },
        NodeKind::Seq { items, .. } if items.len() <= 16 => {
            Value::Array(items.iter().map(|&i| to_json(tree, i, depth + 1)).collect::<Option<_>>()?)
        }
        NodeKind::Map { entries, .. } if entries.len() <= 16 => Value::Object(
            entries
                .iter()
                .map(|e| Some((tree.scalar(e.key)?.to_string(), to_json(tree, e.value?, depth + 1)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// A YAML node as JSON, whole (depth-limited), as Helm reads values:
/// `visit` is called with each node's JSON pointer (`/a/0/b`), the node and
/// its key node in the parent mapping. Keys that are not plain scalars and
/// merge keys are left out; aliases are null.
pub fn node_json(tree: &Tree, id: NodeId, visit: &mut dyn FnMut(&str, NodeId, Option<NodeId>)) -> Value {
    let mut ptr = String::new();
    node_json_at(tree, id, None, &mut ptr, 0, visit)
}

fn node_json_at(
    tree: &Tree,
    id: NodeId,
    key: Option<NodeId>,
    ptr: &mut String,
    depth: usize,
    visit: &mut dyn FnMut(&str, NodeId, Option<NodeId>),
) -> Value {
    visit(ptr, id, key);
    if depth > 64 {
        return Value::Null;
    }
    let len = ptr.len();
    match &tree.node(id).kind {
        NodeKind::Scalar { value, .. } => match tree.scalar_type(id) {
            Some(ScalarType::Null) | None => Value::Null,
            Some(ScalarType::Bool) => Value::Bool(matches!(&**value, "true" | "True" | "TRUE")),
            Some(ScalarType::Int) => value.parse::<i64>().map(Value::from).unwrap_or_else(|_| {
                value.parse::<f64>().ok().map(Value::from).unwrap_or_else(|| Value::from(value.to_string()))
            }),
            Some(ScalarType::Float) => {
                value.parse::<f64>().ok().map(Value::from).unwrap_or_else(|| Value::from(value.to_string()))
            }
            Some(ScalarType::Str) => Value::from(value.to_string()),
        },
        NodeKind::Seq { items, .. } => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, &it)| {
                    ptr.push_str(&format!("/{i}"));
                    let v = node_json_at(tree, it, None, ptr, depth + 1, visit);
                    ptr.truncate(len);
                    v
                })
                .collect(),
        ),
        NodeKind::Map { entries, .. } => {
            let mut m = serde_json::Map::new();
            for e in entries {
                let Some(k) = tree.scalar(e.key) else { continue };
                if k == "<<" {
                    continue;
                }
                ptr.push('/');
                ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                let v = match e.value {
                    Some(v) => node_json_at(tree, v, Some(e.key), ptr, depth + 1, visit),
                    None => Value::Null,
                };
                ptr.truncate(len);
                m.insert(k.to_string(), v);
            }
            Value::Object(m)
        }
        NodeKind::Alias { .. } => Value::Null,
    }
}

/// Helm's coalescing of values: `over` on top of `base`, maps merged key by
/// key, a null removing the key.
pub fn merge_values(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(bv) = b.get_mut(k)
                    && bv.is_object()
                    && v.is_object()
                {
                    merge_values(bv, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The schema at a path below the values' root (keys through properties or
/// the map's value schema, indexes through `items`).
pub fn schema_at<'s>(mut s: &'s Schema, path: &[PathSeg]) -> Option<&'s Schema> {
    for seg in path {
        s = match seg {
            PathSeg::Key(k) => s.child(k)?,
            PathSeg::Index(_) => s.items.as_deref()?,
        };
    }
    Some(s)
}

/// Whether a scalar of YAML type `t` fits JSON Schema type `ty`.
pub fn type_fits(ty: Type, t: ScalarType) -> bool {
    match ty {
        Type::String => t == ScalarType::Str,
        Type::Integer => t == ScalarType::Int,
        Type::Number => matches!(t, ScalarType::Int | ScalarType::Float),
        Type::Boolean => t == ScalarType::Bool,
        Type::Object | Type::Array => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_document;

    #[test]
    fn infers_keys_types_defaults_and_comments() {
        let doc = parse_document(
            "# -- How many pods\nreplicaCount: 2\nimage:\n  # the image to run\n  repository: ghcr.io/x/app\n  pullPolicy: IfNotPresent\n# podAnnotations: {}\nannotations: {}\nports:\n  - name: http\n    port: 80\nratio: 0.5\nenabled: true\n",
        );
        let s = infer(&doc);
        let rc = s.property("replicaCount").unwrap();
        assert_eq!((rc.ty, rc.default.clone()), (Some(Type::Integer), Some(Value::from(2))));
        assert_eq!(rc.description.as_deref(), Some("How many pods"));
        let repo = schema_at(&s, &[PathSeg::Key("image".into()), PathSeg::Key("repository".into())]).unwrap();
        assert_eq!(repo.description.as_deref(), Some("the image to run"));
        assert_eq!(repo.default, Some(Value::from("ghcr.io/x/app")));
        // a commented-out key above is still a comment: the text is kept as written
        assert_eq!(s.property("annotations").unwrap().description.as_deref(), Some("podAnnotations: {}"));
        assert!(s.property("annotations").unwrap().preserve_unknown_fields);
        let port = schema_at(&s, &[PathSeg::Key("ports".into()), PathSeg::Index(3), PathSeg::Key("port".into())]);
        assert_eq!(port.unwrap().ty, Some(Type::Integer));
        assert_eq!(s.property("ratio").unwrap().ty, Some(Type::Number));
        assert_eq!(s.property("enabled").unwrap().ty, Some(Type::Boolean));
    }

    #[test]
    fn values_as_json_with_pointers_and_helm_merging() {
        let doc = parse_document("a: 1\nb:\n  - x: \"s\"\n    y: 2.5\nc/d: ~\n<<: {z: 1}\n");
        let mut seen = Vec::new();
        let v = node_json(&doc.tree, doc.tree.root.unwrap(), &mut |p, _, k| seen.push((p.to_string(), k.is_some())));
        assert_eq!(v, serde_json::json!({"a": 1, "b": [{"x": "s", "y": 2.5}], "c/d": null}));
        let ptrs: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(ptrs, vec!["", "/a", "/b", "/b/0", "/b/0/x", "/b/0/y", "/c~1d"]);
        let mut base = serde_json::json!({"image": {"repo": "r", "tag": "1"}, "keep": true, "drop": 1});
        merge_values(&mut base, &serde_json::json!({"image": {"tag": "2"}, "drop": null, "new": [1]}));
        assert_eq!(base, serde_json::json!({"image": {"repo": "r", "tag": "2"}, "keep": true, "new": [1]}));
    }

    #[test]
    fn schema_json_with_local_refs() {
        let s = from_schema_json(
            r##"{"type":"object","properties":{"service":{"$ref":"#/definitions/svc"}},
            "definitions":{"svc":{"type":"object","properties":{"type":{"type":"string","enum":["ClusterIP","NodePort"]}}}}}"##,
        )
        .unwrap();
        let t = schema_at(&s, &[PathSeg::Key("service".into()), PathSeg::Key("type".into())]).unwrap();
        assert_eq!(t.enum_values.len(), 2);
        // a recursive schema ends, open
        let r = from_schema_json(r##"{"properties":{"a":{"$ref":"#"}}}"##).unwrap();
        assert!(schema_at(&r, &[PathSeg::Key("a".into()), PathSeg::Key("a".into())]).is_some());
        assert!(from_schema_json("{not json").unwrap_err().contains("key must be a string"));
    }
}
