//! HelmRelease `spec.values` from the chart's own values schema (issue #9),
//! for charts of the workspace and of the chart cache: diagnostics, completion and hover,
//! and a hover on `chart:` saying which chart was found and where.
//!
//! With a `values.schema.json`, wrong types and values outside an enum are
//! errors; with a schema inferred from `values.yaml`, only unknown keys are
//! reported. Unknown keys are always warnings (charts often take more than
//! their defaults show), with the closest known key as a quick fix.

use std::sync::{Arc, Weak};

use super::completion::CompletionItem;
use super::hover::Hover;
use super::{Diagnostic, Edit, Fix, Severity};
use crate::charts::{ChartSource, Lookup, OciRef};
use crate::schema::Schema;
use crate::schema::chart::{ValuesSource, schema_at, type_fits};
use crate::schema::values;
use crate::syntax::{NodeId, NodeKind, PathSeg, Tree};
use crate::text::TextRange;
use crate::workspace::charts::{
    ChartValues, DocResolver, Resolved, chart_node, is_values_schema, local_chart, ready, resolve,
};
use crate::workspace::{Analysis, FileData};

pub const UNKNOWN_VALUES_KEY: &str = "chart-values-unknown-key";
pub const VALUES_TYPE: &str = "chart-values-type";
pub const VALUES_ENUM: &str = "chart-values-enum";
pub const INVALID_JSON: &str = "invalid-json";
pub const CHART_FETCH: &str = "chart-fetch";
pub const VALUES_SCHEMA: &str = "chart-values-schema";

/// The path below `spec.values`, when `path` is there.
fn values_rel(path: &[PathSeg]) -> Option<&[PathSeg]> {
    match path {
        [PathSeg::Key(s), PathSeg::Key(v), rest @ ..] if s == "spec" && v == "values" => Some(rest),
        _ => None,
    }
}

/// The values diagnostics of document `di` of `file`, when it is a
/// HelmRelease (`diagnostics::file_diagnostics` calls it per document; the
/// `valuesFrom` checks are [`valuesfrom_diagnostics`], per file).
///
/// Documents are picked by their summary (kind) before any tree is read,
/// and a release's chart comes from a per-document memo.
pub fn release_values_diagnostics(
    a: &Analysis,
    file: &FileData,
    di: usize,
    doc: &crate::syntax::FileDoc,
    resolver: &mut Option<DocResolver>,
    out: &mut Vec<Diagnostic>,
) {
    if !is_kind(file, di, &["HelmRelease"]) {
        return;
    }
    let resolver = resolver.get_or_insert_with(|| DocResolver::new(a));
    let Some(resolved) = resolver.resolve(a, file, doc) else { return };
    let tree = &doc.parsed.tree;
    let Some(root) = tree.root else { return };
    let why = match &*resolved {
        Resolved::Remote(src, Lookup::Failed(e)) => Some(format!("{} could not be fetched: {e}", src.describe())),
        Resolved::Remote(_, Lookup::NoMatch(e)) => Some(e.clone()),
        _ => None,
    };
    if let Some(why) = why {
        // a remote chart that could not be fetched, or that no version
        // matches: one information on the chart's name (values are then
        // not checked)
        if let Some(node) = chart_node(tree, root) {
            out.push(Diagnostic::new(
                CHART_FETCH,
                Severity::Information,
                doc.abs(tree.node(node).range),
                format!("{why}; values are not checked"),
            ));
        }
    }
    let Some(cv) = ready(Some(&*resolved)) else { return };
    // the checks depend on the document and the chart only: reused
    // while both are the same (ranges kept relative to the document)
    let base = doc.base() as isize;
    if let Some(m) = doc.parsed.memo::<ValuesMemo>()
        && std::ptr::eq(m.chart.as_ptr(), Arc::as_ptr(&cv))
    {
        out.extend(m.diags.iter().map(|d| d.shifted(base, &file.path)));
        return;
    }
    let mut local = Vec::new();
    check_values(doc, root, &cv, &mut local);
    let diags = local.iter().map(|d| d.shifted(-base, &file.path)).collect();
    doc.parsed.set_memo(Arc::new(ValuesMemo { chart: Arc::downgrade(&cv), diags }));
    out.extend(local);
}

/// The values diagnostics of one release, relative to its document, for
/// the chart they were computed with (not kept alive by it).
struct ValuesMemo {
    chart: Weak<ChartValues>,
    diags: Vec<Diagnostic>,
}

/// Checks `spec.values` of one release document against its chart.
fn check_values(doc: &crate::syntax::FileDoc, root: NodeId, cv: &ChartValues, out: &mut Vec<Diagnostic>) {
    let tree = &doc.parsed.tree;
    let Some(values) = tree.get(root, "spec").and_then(|s| tree.get(s, "values")) else { return };
    let base = doc.base();
    let map = move |r: TextRange| r.shift(base);
    let mut c = Checker { tree, map: &map, cv, out };
    c.node(values, &cv.schema, "values", 0);
    // values also come from elsewhere (valuesFrom, or the base release of a
    // patch): `required` cannot be judged from this block alone
    let spec = tree.get(root, "spec");
    let partial = spec.is_some_and(|s| tree.get(s, "valuesFrom").is_some())
        || spec.is_some_and(|s| tree.get(s, "chart").is_none() && tree.get(s, "chartRef").is_none());
    let values_key =
        spec.and_then(|s| tree.entries(s).iter().find(|e| tree.scalar(e.key) == Some("values")).map(|e| e.key));
    schema_check(cv, tree, values, values_key, &map, "values", partial, out);
}

/// Document `di` of `file` is a Kubernetes object of one of `kinds` (read
/// from the file's summary, not from the document's tree).
fn is_kind(file: &FileData, di: usize, kinds: &[&str]) -> bool {
    file.summary.objects.get(di).is_some_and(|o| {
        o.doc == di && o.class != crate::workspace::ObjectClass::NotKube && kinds.contains(&o.kind_str())
    })
}

struct Checker<'a> {
    tree: &'a Tree,
    /// From the tree's ranges to the file's.
    map: &'a dyn Fn(TextRange) -> TextRange,
    cv: &'a ChartValues,
    out: &'a mut Vec<Diagnostic>,
}

impl Checker<'_> {
    fn abs(&self, r: TextRange) -> TextRange {
        (self.map)(r)
    }

    fn node(&mut self, id: NodeId, s: &Schema, path: &str, depth: usize) {
        if depth > 64 {
            return;
        }
        let strict = self.cv.source == ValuesSource::SchemaJson;
        let tree = self.tree;
        match &tree.node(id).kind {
            NodeKind::Map { entries, .. } => {
                let closed = !s.properties.is_empty() && !s.preserve_unknown_fields;
                for e in entries {
                    let Some(key) = tree.scalar(e.key) else { continue };
                    match s.child(key) {
                        Some(sub) => {
                            if let Some(v) = e.value {
                                self.node(v, sub, &format!("{path}.{key}"), depth + 1);
                            }
                        }
                        None if closed && key != "<<" => self.unknown(e.key, key, s, path),
                        None => {}
                    }
                }
            }
            NodeKind::Seq { items, .. } => {
                if let Some(item) = s.items.as_deref() {
                    for (i, &it) in items.iter().enumerate() {
                        self.node(it, item, &format!("{path}[{i}]"), depth + 1);
                    }
                }
            }
            NodeKind::Scalar { value, .. } if strict && !value.contains("${") => self.scalar(id, value, s, path),
            _ => {}
        }
    }

    fn unknown(&mut self, key_node: NodeId, key: &str, s: &Schema, path: &str) {
        let range = self.abs(self.tree.node(key_node).range);
        let mut d = Diagnostic::new(
            UNKNOWN_VALUES_KEY,
            Severity::Warning,
            range,
            format!("`{key}` is not a value of chart `{}` at `{path}` ({})", self.cv.name, self.cv.source.label()),
        );
        if let Some(best) = values::closest(key, s.properties.iter().map(|(k, _)| k.as_str())) {
            d.message.push_str(&format!("; did you mean `{best}`?"));
            d = d.with_fix(Fix {
                title: format!("Change to `{best}`"),
                edits: vec![Edit { path: None, range, new_text: best.to_string() }],
                preferred: true,
            });
        }
        self.out.push(d);
    }

    fn scalar(&mut self, id: NodeId, value: &str, s: &Schema, path: &str) {
        let tree = self.tree;
        let range = self.abs(tree.node(id).range);
        let Some(t) = tree.scalar_type(id) else { return };
        if let Some(ty) = s.ty
            && t != crate::syntax::ScalarType::Null
            && !type_fits(ty, t)
        {
            self.out.push(Diagnostic::new(
                VALUES_TYPE,
                Severity::Error,
                range,
                format!("`{path}` of chart `{}` must be {}, not `{value}`", self.cv.name, ty.as_str()),
            ));
            return;
        }
        if !s.enum_values.is_empty() && !s.enum_values.iter().any(|e| shown(e) == value) {
            let allowed: Vec<String> = s.enum_values.iter().map(|e| format!("`{}`", shown(e))).collect();
            self.out.push(Diagnostic::new(
                VALUES_ENUM,
                Severity::Error,
                range,
                format!("`{path}` of chart `{}` must be one of {}", self.cv.name, allowed.join(", ")),
            ));
        }
    }
}

/// The code action provider (registered in `actions::PROVIDERS`): in a
/// mapping under `spec.values`, add keys the chart has defaults for and the
/// mapping does not set yet, one at a time or all at once.
pub fn insert_defaults_action(a: &Analysis, file: &FileData, range: TextRange) -> Vec<super::actions::CodeAction> {
    insert_defaults(a, file, range).unwrap_or_default()
}

fn insert_defaults(a: &Analysis, file: &FileData, range: TextRange) -> Option<Vec<super::actions::CodeAction>> {
    use super::actions::{ActionKind, CodeAction};
    let (_, doc) = file.syntax.doc_at(range.start)?;
    let tree = &doc.parsed.tree;
    let root = tree.root?;
    chart_node(tree, root)?;
    let chain = tree.chain_at(range.start.checked_sub(doc.base())?);
    // the innermost block mapping under spec.values holding the cursor
    let (map, rel) = chain.iter().rev().find_map(|&n| {
        let NodeKind::Map { entries, flow: false } = &tree.node(n).kind else { return None };
        if entries.is_empty() {
            return None;
        }
        let path = tree.path_of(n);
        values_rel(&path).map(|r| (n, r.to_vec()))
    })?;
    let cv = local_chart(a, file, tree, root)?;
    let s = schema_at(&cv.schema, &rel)?;
    let entries = tree.entries(map);
    let present: Vec<&str> = entries.iter().filter_map(|e| tree.scalar(e.key)).collect();
    let missing: Vec<(&str, String)> = s
        .properties
        .iter()
        .filter(|(k, _)| !present.contains(&k.as_str()))
        .filter_map(|(k, sub)| Some((k.as_str(), yaml_scalar(sub.default.as_ref()?)?)))
        .take(50)
        .collect();
    if missing.is_empty() {
        return None;
    }
    // keys go below the last entry, at the first key's column
    let text = &*doc.parsed.text;
    let first_key = tree.node(entries[0].key).range.start;
    let indent = first_key - text[..first_key].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let last = entries.last()?;
    let end = last.value.map(|v| tree.node(v).range.end).unwrap_or(tree.node(last.key).range.end);
    let at = text[end..].find('\n').map(|i| end + i).unwrap_or(text.len());
    let line = |k: &str, v: &str| format!("\n{}{k}: {v}", " ".repeat(indent));
    let at = doc.base() + at;
    let edit = |new_text: String| super::Edit { path: None, range: TextRange::new(at, at), new_text };
    let mut out: Vec<CodeAction> = missing
        .iter()
        .take(10)
        .map(|(k, v)| CodeAction {
            title: format!("Add `{k}: {v}` (default of chart `{}`)", cv.name),
            kind: ActionKind::Refactor,
            edits: vec![edit(line(k, v))],
            diagnostic: None,
            preferred: false,
        })
        .collect();
    if missing.len() > 1 {
        let all: String = missing.iter().map(|(k, v)| line(k, v)).collect();
        let here = crate::syntax::path_to_string(&rel);
        out.push(CodeAction {
            title: format!(
                "Add the {} keys of `values{}{here}` that chart `{}` has defaults for",
                missing.len(),
                if here.is_empty() { "" } else { "." },
                cv.name
            ),
            kind: ActionKind::Refactor,
            edits: vec![edit(all)],
            diagnostic: None,
            preferred: false,
        });
    }
    Some(out)
}

/// A default as a YAML scalar (strings quoted when YAML would read them
/// otherwise); None for maps and lists.
fn yaml_scalar(v: &serde_json::Value) -> Option<String> {
    Some(match v {
        serde_json::Value::String(s) => {
            let plain = !s.is_empty()
                && crate::syntax::resolve_plain(s) == crate::syntax::ScalarType::Str
                && s.chars().all(|c| c.is_alphanumeric() || "-_./@+".contains(c));
            if plain { s.clone() } else { serde_json::Value::String(s.clone()).to_string() }
        }
        serde_json::Value::Object(_) | serde_json::Value::Array(_) => return None,
        other => other.to_string(),
    })
}

/// Values a HelmRelease takes from a ConfigMap or Secret of the workspace
/// (`spec.valuesFrom`): the block of YAML under the data key, with the chart
/// of the release and the path the values go to.
struct ValuesBlock {
    chart: std::sync::Arc<ChartValues>,
    /// Where the values go: `values` or `values.<targetPath>`.
    target: Vec<PathSeg>,
    /// The data key's value node (a literal block scalar) in the document.
    node: NodeId,
    /// The parsed block, and each of its lines' start in the file.
    parsed: crate::syntax::ParsedDoc,
    line_starts: Vec<usize>,
    /// Set with a `targetPath`: the text is one value placed there (with
    /// `--set` typing), so only the path is checked.
    target_path: bool,
}

impl ValuesBlock {
    /// A range of the parsed block to the file (ranges stay within a line).
    fn to_file(&self, r: TextRange) -> TextRange {
        let at = |off: usize| {
            let text = &*self.parsed.text;
            let line = text[..off.min(text.len())].matches('\n').count();
            let ls = text[..off.min(text.len())].rfind('\n').map(|i| i + 1).unwrap_or(0);
            self.line_starts.get(line).map(|s| s + (off - ls)).unwrap_or(0)
        };
        TextRange::new(at(r.start), at(r.end))
    }
}

/// The values blocks of the ConfigMaps/Secrets in `file` that HelmReleases
/// with a workspace chart read through `valuesFrom`. The releases come from
/// the reference model (its resolved `valuesFrom` entries pointing at each
/// object, with their namespace rule), not from a scan of the workspace.
fn values_blocks(a: &Analysis, file: &FileData) -> Vec<(usize, ValuesBlock)> {
    let mut out = Vec::new();
    let mut model = None;
    // the ConfigMaps and Secrets of the file are those with data keys in
    // its summary: not a walk over every document
    for &(oi, _) in &file.summary.refs.data_keys {
        let Some(di) = file.summary.objects.get(oi).map(|o| o.doc) else { continue };
        let Some(doc) = file.syntax.docs.get(di) else { continue };
        if !is_kind(file, di, &["ConfigMap", "Secret"]) {
            continue;
        }
        let tree = &doc.parsed.tree;
        let Some(root) = tree.root else { continue };
        let oi = di;
        let model = model.get_or_insert_with(|| a.ref_model());
        let Some(t) = model.target_of(&file.path, oi) else { continue };
        let kind = tree.get(root, "kind").and_then(|k| tree.scalar(k)).unwrap_or_default();
        for site in model.sites_of(t) {
            let crate::workspace::resolve::Site::Ref(path, ri) = site else { continue };
            let Some(hf) = a.file(path) else { continue };
            let Some(r) = hf.summary.refs.refs.get(*ri) else { continue };
            if r.spec().label != "spec.valuesFrom" {
                continue;
            }
            let Some(hdoc) = hf.summary.objects.get(r.object).and_then(|o| hf.syntax.docs.get(o.doc)) else { continue };
            let ht = &hdoc.parsed.tree;
            let Some(hroot) = ht.root else { continue };
            // the valuesFrom item this reference was read from
            let Some(vf) = ht.get(hroot, "spec").and_then(|s| ht.get(s, "valuesFrom")) else { continue };
            let Some(&item) = ht.items(vf).iter().find(|&&it| hdoc.abs(ht.node(it).range).start == r.block.start)
            else {
                continue;
            };
            let field = |k: &str| ht.get(item, k).and_then(|v| ht.scalar(v));
            let key = field("valuesKey").unwrap_or("values.yaml");
            let data = if kind == "Secret" { "stringData" } else { "data" };
            let Some(node) = tree.get(root, data).and_then(|d| tree.get(d, key)) else { continue };
            let Some(chart) = local_chart(a, hf, ht, hroot) else { continue };
            let mut target = vec![PathSeg::Key("values".into())];
            if let Some(tp) = field("targetPath") {
                target.extend(tp.split('.').filter(|s| !s.is_empty()).map(|s| PathSeg::Key(s.to_string())));
            }
            let target_path = target.len() > 1;
            if target_path {
                let parsed = crate::syntax::parse_document("");
                out.push((di, ValuesBlock { chart, target, node, parsed, line_starts: vec![], target_path }));
            } else if let Some((parsed, line_starts)) = parse_block(&doc.parsed, node, doc.base()) {
                out.push((di, ValuesBlock { chart, target, node, parsed, line_starts, target_path }));
            }
        }
    }
    out
}

/// A literal block scalar (`|`) parsed as YAML, with its lines' starts in
/// the file. Other styles are not parsed (their text does not map back
/// line by line).
fn parse_block(
    doc: &crate::syntax::ParsedDoc,
    node: NodeId,
    base: usize,
) -> Option<(crate::syntax::ParsedDoc, Vec<usize>)> {
    let tree = &doc.tree;
    let NodeKind::Scalar { value, style: crate::syntax::ScalarStyle::Literal } = &tree.node(node).kind else {
        return None;
    };
    let raw = &doc.text[tree.node(node).range.start..tree.node(node).range.end];
    // content lines follow the header line (`|`, `|-`, `|2`...)
    let first_nl = raw.find('\n')?;
    // an explicit indentation indicator (`|2`) is rare: not mapped
    if raw[..first_nl].split('#').next().is_some_and(|h| h.chars().any(|c| c.is_ascii_digit())) {
        return None;
    }
    let content_start = tree.node(node).range.start + first_nl + 1;
    let content = &doc.text[content_start..tree.node(node).range.end];
    let indent = content.lines().find(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start_matches(' ').len())?;
    let mut starts = Vec::new();
    let mut at = content_start;
    for line in content.split_inclusive('\n') {
        let lead = line.len() - line.trim_start_matches(' ').len();
        starts.push(base + at + lead.min(indent));
        at += line.len();
    }
    Some((crate::syntax::parse_document(value), starts))
}

/// Diagnostics of the values blocks in `file`.
/// The checks of values that ConfigMaps and Secrets of `file` give
/// releases through `valuesFrom` (a producer of `diagnostics::PRODUCERS`).
pub fn valuesfrom_diagnostics(a: &Analysis, file: &FileData, out: &mut Vec<Diagnostic>) {
    for (di, b) in values_blocks(a, file) {
        let rel: Vec<PathSeg> = b.target[1..].to_vec();
        let label = crate::syntax::path_to_string(&b.target);
        let Some(s) = schema_at(&b.chart.schema, &rel) else {
            // a targetPath the chart does not know
            let doc = &file.syntax.docs[di];
            let r = doc.abs(doc.parsed.tree.node(b.node).range);
            let first_line = file.text[r.start..r.end].find('\n').map(|i| r.start + i).unwrap_or(r.end);
            out.push(Diagnostic::new(
                UNKNOWN_VALUES_KEY,
                Severity::Warning,
                TextRange::new(r.start, first_line),
                format!(
                    "`{label}` (a `valuesFrom` targetPath) is not a value of chart `{}` ({})",
                    b.chart.name,
                    b.chart.source.label()
                ),
            ));
            continue;
        };
        if b.target_path {
            continue;
        }
        let Some(root) = b.parsed.tree.root else { continue };
        let map = |r: TextRange| b.to_file(r);
        let mut c = Checker { tree: &b.parsed.tree, map: &map, cv: &b.chart, out };
        c.node(root, s, &label, 0);
        schema_check(&b.chart, &b.parsed.tree, root, None, &map, &label, true, out);
    }
}

/// Full JSON Schema validation of a block of values against the chart's
/// `values.schema.json`, as Helm does it: on the chart's defaults with the
/// block merged over them. Only violations at values the block sets are
/// reported (a `required` one on the mapping that lacks the key, unless
/// `partial`: the values also come from elsewhere). Types and enums keep
/// their codes (when [`Checker`] did not report them already), unknown keys
/// are left to it (warnings), the rest is `chart-values-schema`. Values
/// holding `${VAR}` substitutions, templates or flux-operator inputs are
/// never judged, nor what contains them.
#[allow(clippy::too_many_arguments)]
fn schema_check(
    cv: &ChartValues,
    tree: &Tree,
    node: NodeId,
    root_key: Option<NodeId>,
    map: &dyn Fn(TextRange) -> TextRange,
    label: &str,
    partial: bool,
    out: &mut Vec<Diagnostic>,
) {
    use jsonschema::error::ValidationErrorKind as K;
    if cv.source != ValuesSource::SchemaJson {
        return;
    }
    let Some(validator) = cv.validator() else { return };
    let mut nodes: std::collections::HashMap<String, (NodeId, Option<NodeId>)> = Default::default();
    let mut dynamic: Vec<String> = Vec::new();
    let user = crate::schema::chart::node_json(tree, node, &mut |ptr, id, key| {
        nodes.insert(ptr.to_string(), (id, key.or(if ptr.is_empty() { root_key } else { None })));
        if let Some(v) = tree.scalar(id)
            && (v.contains("${") || v.contains("{{") || v.contains("<<"))
        {
            dynamic.push(ptr.to_string());
        }
    });
    if !user.is_object() {
        return;
    }
    let mut merged = cv.defaults.as_deref().cloned().unwrap_or_else(|| serde_json::json!({}));
    crate::schema::chart::merge_values(&mut merged, &user);
    let mut seen: Vec<TextRange> = Vec::new();
    for e in validator.iter_errors(&merged) {
        let ptr = e.instance_path().as_str();
        let Some(&(id, key)) = nodes.get(ptr) else { continue };
        let below = |a: &str, b: &str| a == b || (a.starts_with(b) && a[b.len()..].starts_with('/'));
        // at or under a substituted value; or above one, for what depends on
        // the values below (oneOf, anyOf, not...), but not for a missing key
        let required = matches!(e.kind(), K::Required { .. });
        if dynamic.iter().any(|d| below(ptr, d) || (!required && below(d, ptr))) {
            continue;
        }
        let code = match e.kind() {
            K::AdditionalProperties { .. } | K::UnevaluatedProperties { .. } => continue,
            K::Required { .. } if partial => continue,
            K::Type { .. } => VALUES_TYPE,
            K::Enum { .. } | K::Constant { .. } => VALUES_ENUM,
            _ => VALUES_SCHEMA,
        };
        let at = match e.kind() {
            K::Required { .. } => key.unwrap_or(id),
            _ => id,
        };
        let range = map(tree.node(at).range);
        let dup = |d: &Diagnostic| d.range == range && d.code.starts_with("chart-values");
        if seen.contains(&range) || out.iter().any(dup) {
            continue;
        }
        seen.push(range);
        let path = pointer_path(label, ptr);
        out.push(Diagnostic::new(code, Severity::Error, range, format!("`{path}` of chart `{}`: {e}", cv.name)));
    }
}

/// `values` + `/a/0/b` → `values.a[0].b`.
fn pointer_path(label: &str, ptr: &str) -> String {
    let mut s = label.to_string();
    for seg in ptr.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            s.push_str(&format!("[{seg}]"));
        } else {
            s.push('.');
            s.push_str(&seg);
        }
    }
    s
}

/// A JSON scalar as it is written in YAML (strings without quotes).
fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// `values.schema.json` files are indexed as data: the only check is that
/// they are JSON (a broken one means the chart's values are not checked).
pub fn json_file_diagnostics(file: &FileData) -> Option<Vec<Diagnostic>> {
    if !is_values_schema(&file.path) {
        return None;
    }
    let mut out = Vec::new();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&file.text) {
        // serde_json counts lines from 1 and columns in bytes from 1; keep
        // the offset on the line and on a character boundary
        let line = e.line().saturating_sub(1);
        let line_range = file.index.line_range(&file.text, line);
        let mut at = (line_range.start + e.column().saturating_sub(1)).min(line_range.end);
        while !file.text.is_char_boundary(at) {
            at -= 1;
        }
        out.push(Diagnostic::new(
            INVALID_JSON,
            Severity::Error,
            TextRange::new(at, at),
            format!("not valid JSON ({e}): the chart's values fall back to its `values.yaml`"),
        ));
    }
    Some(out)
}

/// The completion provider (registered in `completion::PROVIDERS`): keys and
/// values inside `spec.values` from the chart.
pub fn values_completion(a: &Analysis, file: &FileData, offset: usize) -> Option<Vec<CompletionItem>> {
    let (di, doc) = file.syntax.doc_at(offset)?;
    let t = &doc.parsed.tree;
    let reg = a.schemas();
    let (kdef, _) = reg.kind("helm.toolkit.fluxcd.io", "HelmRelease")?;
    if is_data_object(t) {
        // inside a values block of a ConfigMap/Secret read through valuesFrom
        let blocks = values_blocks(a, file);
        let (b, rel_off) = block_at(file, di, &blocks, offset)?;
        let prefix = &b.target[1..];
        return super::schema_completion::with_patched_text(&b.parsed.text, rel_off, |tree, _, node, ctx| {
            let ctx = super::schema_completion::PatchedCtx { range: b.to_file(ctx.range), ..*ctx };
            items_at(&b.chart, kdef, tree, node, &ctx, |path| {
                let mut p = prefix.to_vec();
                p.extend_from_slice(path);
                Some(p)
            })
        });
    }
    // cheap test first: a HelmRelease installing a workspace chart
    local_chart(a, file, t, t.root?)?;
    super::schema_completion::with_patched_doc(file, offset, |tree, root, node, ctx| {
        let cv = local_chart(a, file, tree, root)?;
        items_at(&cv, kdef, tree, node, ctx, |path| values_rel(path).map(<[PathSeg]>::to_vec))
    })
}

/// Keys (or values) of the chart at the placeholder `node`; `rel` turns a
/// path in `tree` into the path below `values`.
fn items_at(
    cv: &ChartValues,
    kdef: &crate::schema::KindDef,
    tree: &Tree,
    node: NodeId,
    ctx: &super::schema_completion::PatchedCtx,
    rel: impl Fn(&[PathSeg]) -> Option<Vec<PathSeg>>,
) -> Option<Vec<CompletionItem>> {
    if ctx.key {
        let map = tree.node(node).parent?;
        let rel = rel(&tree.path_of(map))?;
        let s = schema_at(&cv.schema, &rel)?;
        let present: Vec<&str> = tree
            .entries(map)
            .iter()
            .filter_map(|e| tree.scalar(e.key))
            .filter(|k| *k != super::schema_completion::PLACEHOLDER)
            .collect();
        let mut items = super::schema_completion::keys(kdef, s, "values", &present, ctx.range, ctx.flow);
        for it in &mut items {
            if it.documentation.is_none() {
                it.documentation = Some(origin(cv));
            }
        }
        return Some(items);
    }
    let rel = rel(&tree.path_of(node))?;
    let s = schema_at(&cv.schema, &rel)?;
    Some(super::schema_completion::value_items(kdef, s, "values", ctx.range))
}

fn is_data_object(tree: &Tree) -> bool {
    tree.root
        .and_then(|r| tree.get(r, "kind"))
        .and_then(|k| tree.scalar(k))
        .is_some_and(|k| k == "ConfigMap" || k == "Secret")
}

/// The values block holding `offset` and the offset in the block's text.
fn block_at<'b>(
    file: &FileData,
    di: usize,
    blocks: &'b [(usize, ValuesBlock)],
    offset: usize,
) -> Option<(&'b ValuesBlock, usize)> {
    let doc = file.syntax.docs.get(di)?;
    let tree = &doc.parsed.tree;
    let b = blocks.iter().filter(|(d, b)| *d == di && !b.target_path).map(|(_, b)| b).find(|b| {
        let n = tree.node(b.node).range.shift(doc.base());
        n.start <= offset && offset <= n.end
    })?;
    let line = b.line_starts.iter().rposition(|&s| s <= offset)?;
    let text = &*b.parsed.text;
    let line_start = text.split_inclusive('\n').take(line).map(str::len).sum::<usize>();
    let line_len = text[line_start..].find('\n').unwrap_or(text.len() - line_start);
    let col = (offset - b.line_starts[line]).min(line_len);
    Some((b, line_start + col))
}

fn origin(cv: &ChartValues) -> String {
    match &cv.fetched {
        Some(m) => format!(
            "From chart `{}` {} ({}), fetched from `{}` (cached in `{}`).",
            cv.name,
            cv.version,
            cv.source.label(),
            m.source,
            cv.dir.display()
        ),
        None => format!("From chart `{}` {} ({}), in `{}`.", cv.name, cv.version, cv.source.label(), cv.dir.display()),
    }
}

/// The hover on `chart:` (or the name of `chartRef`): which chart was found
/// and where, or why none is known yet.
fn chart_markdown(r: &Resolved) -> String {
    match r {
        Resolved::Local(cv) => format!(
            "**Chart `{}` {}**, from the workspace: `{}`\n\nValues schema: {}.",
            cv.name,
            cv.version,
            cv.dir.display(),
            cv.source.label()
        ),
        Resolved::Remote(src, Lookup::Ready(cv)) => {
            let m = cv.fetched.clone().unwrap_or_default();
            format!(
                "**Chart `{}` {}**, resolved from {}: `{}`\n\nCached in `{}` (sha256:{}).\n\nValues schema: {}.",
                cv.name,
                cv.version,
                asked(src),
                m.source,
                cv.dir.display(),
                m.digest.get(..12).unwrap_or(&m.digest),
                cv.source.label()
            )
        }
        Resolved::Remote(src, Lookup::Pending) => {
            format!("**{}**\n\nBeing fetched in the background: values help follows when it is cached.", title(src))
        }
        Resolved::Remote(src, Lookup::Failed(e)) => {
            format!("**{}**\n\nCould not be fetched: {e}\n\nValues are not checked; retried later.", title(src))
        }
        Resolved::Remote(src, Lookup::NotCached) => format!(
            "**{}**\n\nNot in the chart cache, and fetching is off (`charts.fetch: false`, or `flux-lsp check` without `--fetch-charts`): values are not checked.",
            title(src)
        ),
        Resolved::Remote(src, Lookup::NoMatch(e)) => format!("**{}**\n\n{e}: values are not checked.", title(src)),
    }
}

fn title(src: &ChartSource) -> String {
    let d = src.describe();
    let mut c = d.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or(d)
}

/// The version asked for: `version `>=6.0` of the Helm repository`.
fn asked(src: &ChartSource) -> String {
    match src {
        ChartSource::Http { version, .. } => format!("version `{version}` of the Helm repository"),
        ChartSource::Oci { reference, .. } => match reference {
            OciRef::Semver(v) => format!("version `{v}` of the OCI repository"),
            OciRef::Tag(t) => format!("tag `{t}` of the OCI repository"),
            OciRef::Digest(d) => format!("digest `{d}` of the OCI repository"),
        },
    }
}

/// The hover provider (registered in `hover::PROVIDERS`): keys and values
/// inside `spec.values`, and the chart named by `spec.chart.spec.chart`.
pub fn values_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let (di, doc) = file.syntax.doc_at(offset)?;
    if let Some(h) = block_hover(a, file, di, offset) {
        return Some(h);
    }
    let base = doc.base();
    let tree = &doc.parsed.tree;
    let root = tree.root?;
    let chain = tree.chain_at(offset.checked_sub(base)?);
    let &node = chain.last()?;
    tree.scalar(node)?;
    let range = doc.abs(tree.node(node).range);
    let path = tree.path_of(node);
    let rel = values_rel(&path)?;
    let cv = local_chart(a, file, tree, root)?;
    values_markdown(&cv, rel).map(|markdown| Hover { range, markdown })
}

/// The hover provider for the node naming the chart (`chart:`, or the name
/// of `chartRef`, after what the reference hover says of it).
pub fn chart_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let (_, doc) = file.syntax.doc_at(offset)?;
    let tree = &doc.parsed.tree;
    let root = tree.root?;
    let node = chart_node(tree, root)?;
    let range = doc.abs(tree.node(node).range);
    if offset < range.start || offset > range.end {
        return None;
    }
    let mut markdown = chart_markdown(&resolve(a, file, tree, root)?);
    if let Some(r) = super::references::reference_hover(a, file, offset) {
        markdown = format!("{}\n\n---\n\n{markdown}", r.markdown);
    }
    Some(Hover { range, markdown })
}

/// Hover on a key inside a values block of a ConfigMap/Secret.
fn block_hover(a: &Analysis, file: &FileData, di: usize, offset: usize) -> Option<Hover> {
    if !is_data_object(&file.syntax.docs.get(di)?.parsed.tree) {
        return None;
    }
    let blocks = values_blocks(a, file);
    let (b, rel_off) = block_at(file, di, &blocks, offset)?;
    let bt = &b.parsed.tree;
    let &node = bt.chain_at(rel_off).last()?;
    bt.scalar(node)?;
    let mut path: Vec<PathSeg> = b.target[1..].to_vec();
    path.extend(bt.path_of(node));
    let markdown = values_markdown(&b.chart, &path)?;
    Some(Hover { range: b.to_file(bt.node(node).range), markdown })
}

/// The hover text of the value at `rel` (below `values`).
fn values_markdown(cv: &ChartValues, rel: &[PathSeg]) -> Option<String> {
    let Some(PathSeg::Key(name)) = rel.last() else { return None };
    let s = schema_at(&cv.schema, rel)?;
    let mut md = format!("**`{name}`**: {}", s.type_label());
    if let Some(d) = &s.default {
        let shown = match d {
            serde_json::Value::String(x) => x.clone(),
            other => other.to_string(),
        };
        if shown.len() <= 200 {
            md.push_str(&format!("\n\nDefault: `{shown}`"));
        }
    }
    if !s.enum_values.is_empty() {
        let v: Vec<String> = s
            .enum_values
            .iter()
            .map(|e| format!("`{}`", e.as_str().map(String::from).unwrap_or(e.to_string())))
            .collect();
        md.push_str(&format!("\n\nAllowed: {}", v.join(", ")));
    }
    if let Some(desc) = &s.description {
        md.push_str(&format!("\n\n{desc}"));
    }
    md.push_str(&format!("\n\n{}", origin(cv)));
    Some(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::fixture::Fixture;

    const CHART: &str = "# file: charts/podinfo/Chart.yaml\napiVersion: v2\nname: podinfo\nversion: 6.5.0\ndependencies:\n  - name: redis\n    alias: cache\n    version: 1.x\n  - name: absent\n# file: charts/podinfo/values.yaml\n# -- Number of pods\nreplicaCount: 1\nimage:\n  # the image repository\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: 6.5.0\n  pullPolicy: IfNotPresent\npodAnnotations: {}\nservice:\n  type: ClusterIP\n  port: 9898\n# file: charts/podinfo/charts/redis/Chart.yaml\napiVersion: v2\nname: redis\nversion: 1.2.0\n# file: charts/podinfo/charts/redis/values.yaml\nauth:\n  enabled: true\n";
    const SCHEMA: &str = "# file: charts/podinfo/values.schema.json\n{\"type\": \"object\", \"properties\": {\"replicaCount\": {\"type\": \"integer\", \"description\": \"How many pods\"}, \"service\": {\"$ref\": \"#/definitions/service\"}, \"image\": {\"type\": \"object\"}}, \"definitions\": {\"service\": {\"type\": \"object\", \"properties\": {\"type\": {\"type\": \"string\", \"enum\": [\"ClusterIP\", \"NodePort\", \"LoadBalancer\"]}, \"port\": {\"type\": \"integer\"}}}}}\n";

    fn release(values: &str) -> String {
        format!(
            "# file: apps/podinfo.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/podinfo\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n{values}"
        )
    }

    fn codes(f: &Fixture) -> Vec<(&'static str, String)> {
        f.diagnostics().into_iter().filter(|(c, _)| c.starts_with("chart-values")).collect()
    }

    #[test]
    fn values_yaml_gives_unknown_key_warnings_with_a_fix_and_no_type_errors() {
        let src = format!(
            "{CHART}{}",
            release(
                "    replicaCount: \"two\"$0\n    imagee:\n      tag: 1\n    image:\n      tagg: x\n    podAnnotations:\n      any: thing\n    global:\n      x: 1\n    cache:\n      auth:\n        enabld: false\n    absent:\n      anything: 1\n"
            )
        );
        let f = Fixture::parse(&src);
        assert_eq!(
            codes(&f),
            vec![
                ("chart-values-unknown-key", "imagee".to_string()),
                ("chart-values-unknown-key", "tagg".to_string()),
                ("chart-values-unknown-key", "enabld".to_string()),
            ]
        );
        let d = f.ws.analysis();
        let all = crate::ide::diagnostics::file_diagnostics(&d, f.file());
        let imagee = all.iter().find(|d| f.slice(d.range) == "imagee").unwrap();
        assert_eq!(imagee.severity, Severity::Warning);
        assert!(imagee.message.contains("(inferred from `values.yaml`); did you mean `image`?"), "{}", imagee.message);
        assert_eq!(imagee.fixes[0].edits[0].new_text, "image");
    }

    #[test]
    fn values_schema_json_gives_type_and_enum_errors() {
        let src = format!(
            "{CHART}{SCHEMA}{}",
            release(
                "    replicaCount: two$0\n    service:\n      type: Headless\n      port: \"80\"\n    image:\n      anything: goes\n    colour: blue\n    other: ${REPLICAS}\n"
            )
        );
        let f = Fixture::parse(&src);
        assert_eq!(
            codes(&f),
            vec![
                ("chart-values-type", "two".to_string()),
                ("chart-values-enum", "Headless".to_string()),
                ("chart-values-type", "\"80\"".to_string()),
                ("chart-values-unknown-key", "colour".to_string()),
                ("chart-values-unknown-key", "other".to_string()),
            ]
        );
        let d = f.diagnostics_of("apps/podinfo.yaml");
        let e = d.iter().find(|x| x.code == VALUES_ENUM).unwrap();
        assert_eq!(
            e.message,
            "`values.service.type` of chart `podinfo` must be one of `ClusterIP`, `NodePort`, `LoadBalancer`"
        );
        // the schema file itself is checked as JSON only
        assert!(f.diagnostics_of("charts/podinfo/values.schema.json").is_empty());
        let broken = Fixture::parse("# file: charts/x/values.schema.json\n{\"type\": \n");
        let d = broken.diagnostics_of("charts/x/values.schema.json");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, INVALID_JSON);
        // an error after multi-byte text lands on a character boundary
        let broken = Fixture::parse("# file: charts/x/values.schema.json\n{\"é\": \"ü\" x}\n");
        let f = broken.ws.file(&std::path::PathBuf::from("/fixture/charts/x/values.schema.json")).unwrap();
        let d = broken.diagnostics_of("charts/x/values.schema.json");
        assert!(f.text.is_char_boundary(d[0].range.start), "{:?}", d[0].range);
    }

    #[test]
    fn no_chart_in_the_workspace_means_no_values_checks() {
        // a chart from a Helm repository, and a path that is not in the workspace
        let helm = release("    anything: 1\n").replace("kind: GitRepository", "kind: HelmRepository");
        assert!(codes(&Fixture::parse(&format!("{CHART}{helm}"))).is_empty());
        let elsewhere = release("    anything: 1\n").replace("./charts/podinfo", "./charts/other");
        assert!(codes(&Fixture::parse(&format!("{CHART}{elsewhere}"))).is_empty());
    }

    #[test]
    fn a_values_patch_gets_the_chart_of_its_base_release() {
        let patch = "# file: apps/prod/values.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  values:\n    replicas: 3\n    image:\n      $0\n";
        let src = format!("{CHART}{}{patch}", release("    replicaCount: 1\n"));
        let f = Fixture::parse(&src);
        let d = f.diagnostics_of("apps/prod/values.yaml");
        let unknown: Vec<&str> = d.iter().filter(|x| x.code == UNKNOWN_VALUES_KEY).map(|x| &x.message[..10]).collect();
        assert_eq!(unknown, vec!["`replicas`"], "{d:?}");
        let items = crate::ide::completion::completions(&f.ws.analysis(), f.file(), f.offset());
        assert!(items.iter().any(|i| i.label == "pullPolicy"), "{items:?}");
        // another namespace: not the same release
        let other = src.replace(
            "  namespace: apps\nspec:\n  values:\n    replicas",
            "  namespace: other\nspec:\n  values:\n    replicas",
        );
        let f = Fixture::parse(&other);
        assert!(!f.diagnostics_of("apps/prod/values.yaml").iter().any(|x| x.code == UNKNOWN_VALUES_KEY));
    }

    /// Values checks are memoised per document: after an edit in an earlier
    /// document of the file, the later release's diagnostics move with it
    /// and equal a fresh analysis.
    #[test]
    fn memoised_values_checks_follow_their_document() {
        let two = format!(
            "{}---\n{}",
            release("    replicaCount: 1\n"),
            release("    imagee: x\n$0").replacen("# file: apps/podinfo.yaml\n", "", 1)
        );
        let mut f = Fixture::parse(&format!("{CHART}{two}"));
        let path = std::path::PathBuf::from("/fixture/apps/podinfo.yaml");
        let before = f.diagnostics_of("apps/podinfo.yaml");
        assert_eq!(before.iter().filter(|d| d.code == UNKNOWN_VALUES_KEY).count(), 1, "{before:?}");
        let text =
            f.ws.file(&path).unwrap().text.replacen("  interval: 10m\n", "  interval: 10m\n  suspend: false\n", 1);
        f.ws.set_file(path.clone(), text.clone(), Some(2));
        let after = f.diagnostics_of("apps/podinfo.yaml");
        let d = after.iter().find(|d| d.code == UNKNOWN_VALUES_KEY).unwrap();
        assert_eq!(&text[d.range.start..d.range.end], "imagee");
        let fresh = Fixture::parse(&format!("{CHART}# file: apps/podinfo.yaml\n{text}$0"));
        assert_eq!(after, fresh.diagnostics_of("apps/podinfo.yaml"));
    }

    /// The chart a release resolves to is memoised per document: when the
    /// base release moves to another chart, its patch in another file must
    /// follow (the chart fields are part of what other files see).
    #[test]
    fn a_patch_follows_its_base_release_to_another_chart() {
        let other_chart = "# file: charts/other/Chart.yaml\napiVersion: v2\nname: other\nversion: 1.0.0\n# file: charts/other/values.yaml\nreplicas: 1\n";
        let patch = "# file: apps/prod/values.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  values:\n    replicas: 3\n$0";
        let mut f = Fixture::parse(&format!("{CHART}{other_chart}{}{patch}", release("    replicaCount: 1\n")));
        let unknown = |f: &Fixture| {
            f.diagnostics_of("apps/prod/values.yaml").iter().filter(|x| x.code == UNKNOWN_VALUES_KEY).count()
        };
        assert_eq!(unknown(&f), 1, "`replicas` is not a value of podinfo");
        let base = std::path::PathBuf::from("/fixture/apps/podinfo.yaml");
        let text = f.ws.file(&base).unwrap().text.replace("./charts/podinfo", "./charts/other");
        f.ws.set_file(base, text, None);
        assert_eq!(unknown(&f), 0, "`replicas` is a value of the other chart");
    }

    #[test]
    fn values_from_a_configmap_are_checked_and_explained_in_place() {
        let hr = release("    replicaCount: 1\n").replace(
            "  values:\n",
            "  valuesFrom:\n    - kind: ConfigMap\n      name: podinfo-values\n    - kind: ConfigMap\n      name: podinfo-values\n      valuesKey: tag\n      targetPath: image.tagg\n  values:\n",
        );
        let cm = "# file: apps/values.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo-values\n  namespace: apps\ndata:\n  values.yaml: |\n    replicaCount: 2\n    imagee:\n      tag: x\n    image:\n      repository: r$0\n  tag: 1.2.3\n";
        let f = Fixture::parse(&format!("{CHART}{hr}{cm}"));
        let d = f.diagnostics_of("apps/values.yaml");
        let text = &f.ws.file(&std::path::PathBuf::from("/fixture/apps/values.yaml")).unwrap().text;
        let got: Vec<(&str, &str)> = d.iter().map(|x| (x.code, &text[x.range.start..x.range.end])).collect();
        assert_eq!(got, vec![("chart-values-unknown-key", "imagee"), ("chart-values-unknown-key", "1.2.3")], "{d:?}");
        assert!(d[1].message.starts_with("`values.image.tagg` (a `valuesFrom` targetPath)"), "{}", d[1].message);
        // hover inside the block
        let at = text.find("repository").unwrap() + 3;
        let h = crate::ide::hover::hover(
            &f.ws.analysis(),
            f.ws.file(&std::path::PathBuf::from("/fixture/apps/values.yaml")).unwrap(),
            at,
        )
        .unwrap();
        assert!(
            h.markdown.contains("**`repository`**: string") && h.markdown.contains("the image repository"),
            "{}",
            h.markdown
        );
        assert_eq!(&text[h.range.start..h.range.end], "repository");
        // completion inside the block: the keys of `image` not set yet, replacing the typed word
        let cm2 = cm.replace("      repository: r$0\n", "      pu$0\n");
        let f = Fixture::parse(&format!("{CHART}{hr}{cm2}"));
        let items = crate::ide::completion::completions(&f.ws.analysis(), f.file(), f.offset());
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, vec!["repository", "tag", "pullPolicy"], "{items:?}");
        assert_eq!(f.slice(items[2].replace.unwrap()), "pu");
    }

    #[test]
    fn json_schema_violations_on_the_merged_values_keep_their_codes() {
        let schema = "# file: charts/podinfo/values.schema.json\n{\"type\": \"object\", \"required\": [\"image\", \"token\"], \"properties\": {\"replicaCount\": {\"type\": \"integer\", \"minimum\": 1}, \"image\": {\"type\": \"object\", \"required\": [\"repository\"], \"properties\": {\"tag\": {\"type\": \"string\", \"pattern\": \"^[a-z0-9.]+$\"}, \"repository\": {\"type\": \"string\"}}}, \"service\": {\"type\": \"object\", \"properties\": {\"type\": {\"enum\": [\"ClusterIP\", \"NodePort\"]}, \"port\": {\"type\": \"integer\", \"maximum\": 65535}}}, \"ports\": {\"type\": \"array\", \"maxItems\": 1}, \"mode\": {\"oneOf\": [{\"type\": \"integer\"}, {\"enum\": [\"auto\"]}]}, \"token\": {\"type\": \"string\"}}}\n";
        let src = format!(
            "{CHART}{schema}{}",
            release(
                "    replicaCount: 0$0\n    image:\n      tag: Bad Tag\n    service:\n      type: Headless\n      port: ${PORT}\n    ports: [1, 2]\n    mode: manual\n    other: 1\n"
            )
        );
        let f = Fixture::parse(&src);
        let d = f.diagnostics_of("apps/podinfo.yaml");
        let text = &f.file().text;
        let got: Vec<(&str, &str)> = d
            .iter()
            .filter(|x| x.code.starts_with("chart-"))
            .map(|x| (x.code, &text[x.range.start..x.range.end]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("chart-values-schema", "values"),
                ("chart-values-schema", "0"),
                ("chart-values-schema", "Bad Tag"),
                ("chart-values-enum", "Headless"),
                ("chart-values-schema", "[1, 2]"),
                ("chart-values-schema", "manual"),
                ("chart-values-unknown-key", "other"),
            ],
            "{d:#?}"
        );
        // `image` is required and set by the chart's defaults; `token` is missing everywhere
        let req = d.iter().find(|x| x.code == VALUES_SCHEMA && text[x.range.start..x.range.end] == *"values").unwrap();
        assert_eq!(req.message, "`values` of chart `podinfo`: \"token\" is a required property");
        assert!(d.iter().all(|x| x.severity == Severity::Error || x.code == UNKNOWN_VALUES_KEY));
        // with valuesFrom, values come from elsewhere too: `required` is not judged
        let with_from =
            src.replace("  values:\n", "  valuesFrom:\n    - kind: ConfigMap\n      name: extra\n  values:\n");
        let f = Fixture::parse(&with_from);
        assert!(!f.diagnostics_of("apps/podinfo.yaml").iter().any(|x| x.message.contains("required")));
    }

    fn complete(src: &str) -> Vec<CompletionItem> {
        let f = Fixture::parse(src);
        crate::ide::completion::completions(&f.ws.analysis(), f.file(), f.offset())
    }

    #[test]
    fn completion_offers_the_charts_keys_at_any_depth_and_enum_values() {
        let items = complete(&format!("{CHART}{}", release("    replicaCount: 2\n    $0\n")));
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        for want in ["image", "podAnnotations", "service", "global", "cache", "absent"] {
            assert!(labels.contains(&want), "{want} in {labels:?}");
        }
        assert!(!labels.contains(&"replicaCount"), "present keys are not offered again");
        let items = complete(&format!("{CHART}{}", release("    image:\n      pu$0\n")));
        let pp = items.iter().find(|i| i.label == "pullPolicy").expect("pullPolicy");
        assert_eq!(pp.insert_text.as_deref(), Some("pullPolicy: ${1:IfNotPresent}"));
        // a subchart's values under its alias
        let items = complete(&format!("{CHART}{}", release("    cache:\n      auth:\n        $0\n")));
        assert!(items.iter().any(|i| i.label == "enabled"), "{items:?}");
        // enum values from values.schema.json
        let items = complete(&format!("{CHART}{SCHEMA}{}", release("    service:\n      type: $0\n")));
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, vec!["ClusterIP", "NodePort", "LoadBalancer"]);
    }

    #[test]
    fn code_action_adds_missing_keys_with_the_charts_defaults() {
        let src = format!("{CHART}{}", release("    image:\n      tag: \"7.0\"$0\n    replicaCount: 3\n"));
        let f = Fixture::parse(&src);
        let at = f.offset();
        let acts = crate::ide::actions::code_actions(&f.ws.analysis(), f.file(), TextRange::new(at, at), &[]);
        let titles: Vec<&str> = acts.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Add `repository: ghcr.io/stefanprodan/podinfo` (default of chart `podinfo`)",
                "Add `pullPolicy: IfNotPresent` (default of chart `podinfo`)",
                "Add the 2 keys of `values.image` that chart `podinfo` has defaults for",
            ]
        );
        let e = &acts[2].edits[0];
        let mut text = f.file().text.to_string();
        text.replace_range(e.range.start..e.range.end, &e.new_text);
        assert!(
            text.contains("    image:\n      tag: \"7.0\"\n      repository: ghcr.io/stefanprodan/podinfo\n      pullPolicy: IfNotPresent\n    replicaCount: 3\n"),
            "{text}"
        );
        // the edited file has no unknown keys
        let f2 = Fixture::parse(&format!("{CHART}# file: apps/podinfo.yaml\n{}", &text));
        assert!(codes(&f2).is_empty(), "{:?}", codes(&f2));
        // a string that YAML would read as a number is quoted
        assert_eq!(yaml_scalar(&serde_json::json!("6.5")), Some("\"6.5\"".to_string()));
        assert_eq!(yaml_scalar(&serde_json::json!(true)), Some("true".to_string()));
    }

    fn hover_at(src: &str) -> String {
        let f = Fixture::parse(src);
        crate::ide::hover::hover(&f.ws.analysis(), f.file(), f.offset()).expect("a hover").markdown
    }

    #[test]
    fn hover_shows_type_default_comment_and_the_chart() {
        let md = hover_at(&format!("{CHART}{}", release("    image:\n      repo$0sitory: x\n")));
        assert!(md.contains("**`repository`**: string"), "{md}");
        assert!(md.contains("Default: `ghcr.io/stefanprodan/podinfo`"), "{md}");
        assert!(md.contains("the image repository"), "{md}");
        assert!(
            md.contains("From chart `podinfo` 6.5.0 (inferred from `values.yaml`), in `/fixture/charts/podinfo`"),
            "{md}"
        );
        let md = hover_at(
            &format!("{CHART}{SCHEMA}{}", release("    replica$0Count: 2\n"))
                .replace("./charts/podinfo", "charts/podinfo"),
        );
        assert!(md.contains("How many pods") && md.contains("`values.schema.json`"), "{md}");
        let md = hover_at(
            &format!("{CHART}{}", release("    a: 1\n"))
                .replace("chart: ./charts/podinfo", "chart: ./charts/pod$0info"),
        );
        assert!(md.starts_with("**Chart `podinfo` 6.5.0**, from the workspace: `/fixture/charts/podinfo`"), "{md}");
    }
}
