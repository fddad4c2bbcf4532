//! Schema-driven completion for Flux objects: apiVersion and kind (kept
//! consistent with each other), keys at any depth (only those not present,
//! required first, snippets for objects and lists), enum values, booleans,
//! and a skeleton per kind in an empty document.
//!
//! Half-typed lines (`  pru`) make tree-sitter give up on the whole document,
//! so the cursor's document (only that one) is reparsed with the cursor line
//! patched: the partial word becomes a placeholder key (or value), and the
//! placeholder's path in the patched tree tells what to offer.

use super::completion::{CompletionItem, CompletionKind};
use crate::schema::model::{KindDef, Schema, Type};
use crate::schema::{Registry, docs};
use crate::syntax::{NodeId, NodeKind, PathSeg, Tree, parse_document};
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData, split_api_version};

pub(super) const PLACEHOLDER: &str = "__flux_lsp_cursor__";

/// Where the cursor is, in terms of the patched document.
#[derive(Debug)]
struct Ctx {
    /// Replace range of the typed word, relative to the document.
    word: TextRange,
    /// A key is being typed (else a value).
    key: bool,
    /// Inside a flow collection (`{...}`): no multi-line snippets.
    flow: bool,
    patched: String,
    /// Offset of the placeholder in `patched`.
    at: usize,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '$' | '{' | '}' | '*')
}

fn context(text: &str, rel: usize) -> Option<Ctx> {
    let ls = text[..rel].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let le = text[rel..].find('\n').map(|i| rel + i).unwrap_or(text.len());
    let le = if le > rel && text[..le].ends_with('\r') { le - 1 } else { le };
    let before = &text[ls..rel];
    if before.trim_start().starts_with('#') || before.contains(" #") {
        return None;
    }
    // flow context: an unclosed `{` on the line before the cursor
    let mut depth: i32 = 0;
    let mut flow_start = None;
    for (i, c) in before.char_indices() {
        match c {
            '{' | '[' => {
                depth += 1;
                flow_start = Some(i);
            }
            '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    let flow = depth > 0 && before.contains('{');
    // the segment being typed: after the last `{`/`,` in flow, else after
    // indentation and `- ` markers
    let seg_start = if flow {
        before.rfind(['{', ',', '[']).map(|i| i + 1).unwrap_or(0)
    } else {
        let mut i = 0;
        let b = before.as_bytes();
        loop {
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'-' && b[i + 1] == b' ' {
                i += 2;
                continue;
            }
            if i + 1 == b.len() && b[i] == b'-' {
                return None;
            }
            break;
        }
        i
    };
    let _ = flow_start;
    let seg = &before[seg_start..];
    let colon = seg.find(": ").or_else(|| seg.strip_suffix(':').map(|s| s.len()));
    let stop = |c: char| !is_word(c) || (flow && matches!(c, '{' | '}' | '[' | ']' | ','));
    let after_end = rel + text[rel..le].find(stop).unwrap_or(le - rel);
    let (key, word_start) = match colon {
        Some(c) => {
            let v = seg_start + c + 1;
            let v = v + before[v..].len() - before[v..].trim_start().len();
            (false, ls + v)
        }
        None => {
            let ws = seg.len() - seg.trim_start().len();
            let w = &seg[ws..];
            if !w.chars().all(is_word) {
                return None;
            }
            (true, ls + seg_start + ws)
        }
    };
    // quoted values: replace inside the quotes
    let mut word_start = word_start;
    if !key && matches!(text[word_start..rel].chars().next(), Some('"' | '\'')) {
        word_start += 1;
    }
    let word = TextRange::new(word_start, after_end.max(rel));
    let mut line = String::new();
    line.push_str(&text[ls..word.start]);
    let at_in_line = line.len();
    line.push_str(PLACEHOLDER);
    if key {
        line.push_str(if flow { ": x" } else { ":" });
    }
    let rest = &text[word.end..le];
    if flow {
        line.push_str(rest);
        let opens = line.matches(['{', '[']).count() as i32;
        let closes = line.matches(['}', ']']).count() as i32;
        if opens > closes {
            // close in reverse order of opening
            let mut stack = Vec::new();
            for c in line.chars() {
                match c {
                    '{' => stack.push('}'),
                    '[' => stack.push(']'),
                    '}' | ']' => {
                        stack.pop();
                    }
                    _ => {}
                }
            }
            while let Some(c) = stack.pop() {
                line.push(c);
            }
        }
    } else if !key && matches!(text[word.start.saturating_sub(1)..word.start].chars().next(), Some('"' | '\'')) {
        line.push_str(rest);
    }
    let mut patched = String::with_capacity(text.len() + PLACEHOLDER.len() + 4);
    patched.push_str(&text[..ls]);
    patched.push_str(&line);
    patched.push_str(&text[le..]);
    Some(Ctx { word, key, flow, patched, at: ls + at_in_line })
}

/// The node of the placeholder and the tree.
fn placeholder_node(tree: &Tree, at: usize) -> Option<NodeId> {
    let chain = tree.chain_at(at + 1);
    let last = *chain.last()?;
    (tree.scalar(last) == Some(PLACEHOLDER)).then_some(last)
}

/// The schema at a path, switching to an embedded object's own schema
/// below free-form lists (ResourceSet resources).
fn schema_at<'r>(
    reg: &'r Registry,
    tree: &Tree,
    root: NodeId,
    path: &[PathSeg],
) -> Option<(&'r Schema, &'r KindDef, NodeId)> {
    let (mut kdef, mut schema) = object_schema(reg, tree, root)?;
    let mut node = root;
    let mut obj = root;
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                schema = if node == obj { schema.root_child(k)? } else { schema.child(k)? };
                node = tree.get(node, k)?;
            }
            PathSeg::Index(i) => {
                node = *tree.items(node).get(*i)?;
                let items = schema.items.as_deref()?;
                schema = items;
                if items.is_free_form()
                    && let Some((k, s)) = object_schema(reg, tree, node)
                {
                    kdef = k;
                    schema = s;
                    obj = node;
                }
            }
        }
    }
    Some((schema, kdef, obj))
}

pub(super) fn object_schema<'r>(reg: &'r Registry, tree: &Tree, node: NodeId) -> Option<(&'r KindDef, &'r Schema)> {
    let av = tree.scalar(tree.get(node, "apiVersion")?)?;
    let kind = tree.scalar(tree.get(node, "kind")?)?;
    let r = reg.resolve(av, kind)?;
    Some((r.kind, &r.version.schema))
}

/// The completion provider (registered in `completion::PROVIDERS`).
/// Where a completion is asked, for providers that work on the patched
/// document: a key or a value, inside a flow collection, and the range the
/// typed word covers in the file.
#[derive(Clone, Copy)]
pub(super) struct PatchedCtx {
    pub key: bool,
    pub flow: bool,
    pub range: TextRange,
}

/// The document at `offset`, its text and the offset in it; None where
/// nothing can be inserted (outside the document, on its `---` line).
fn doc_text_at(file: &FileData, offset: usize) -> Option<(&crate::syntax::FileDoc, &str, usize)> {
    let (_, doc) = file.syntax.doc_at(offset)?;
    let base = doc.base();
    if offset < base || offset > doc.span.range.end {
        return None;
    }
    let text: &str = &doc.parsed.text;
    let rel = offset - base;
    if !text.is_char_boundary(rel) {
        return None;
    }
    // on the `---` line itself: nothing to insert there
    if doc.span.marker.is_some() && !text[..rel].contains('\n') && text[..rel].trim().is_empty() {
        return None;
    }
    Some((doc, text, rel))
}

/// Runs `f` on the document at `offset` parsed with a placeholder at the
/// cursor: (tree, root, placeholder node, context).
pub(super) fn with_patched_doc<T>(
    file: &FileData,
    offset: usize,
    f: impl FnOnce(&Tree, NodeId, NodeId, &PatchedCtx) -> Option<T>,
) -> Option<T> {
    let (doc, text, rel) = doc_text_at(file, offset)?;
    let base = doc.base();
    with_patched_text(text, rel, |tree, root, node, ctx| {
        f(tree, root, node, &PatchedCtx { range: ctx.range.shift(base), ..*ctx })
    })
}

/// Like [`with_patched_doc`] on any YAML text (e.g. a block of values in a
/// ConfigMap); the range in the context is relative to `text`.
pub(super) fn with_patched_text<T>(
    text: &str,
    rel: usize,
    f: impl FnOnce(&Tree, NodeId, NodeId, &PatchedCtx) -> Option<T>,
) -> Option<T> {
    if rel > text.len() || !text.is_char_boundary(rel) {
        return None;
    }
    let ctx = context(text, rel)?;
    let parsed = parse_document(&ctx.patched);
    let tree = &parsed.tree;
    let node = placeholder_node(tree, ctx.at)?;
    let root = tree.root?;
    f(tree, root, node, &PatchedCtx { key: ctx.key, flow: ctx.flow, range: ctx.word })
}

pub fn schema_completion(a: &Analysis, file: &FileData, offset: usize) -> Option<Vec<CompletionItem>> {
    let (doc, text, rel) = doc_text_at(file, offset)?;
    let base = doc.base();
    let reg = a.schemas();
    let orig = &doc.parsed.tree;
    // an empty document (or only comments): skeletons per kind
    let only_comments = text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    let ctx = context(text, rel)?;
    let abs = |r: TextRange| r.shift(base);
    if only_comments || (orig.root.is_some_and(|r| matches!(orig.node(r).kind, NodeKind::Scalar { .. })) && ctx.key) {
        let mut items = skeletons(&reg, abs(ctx.word));
        items.extend(top_keys(None, abs(ctx.word), &[]));
        return Some(items);
    }
    let parsed = parse_document(&ctx.patched);
    let tree = &parsed.tree;
    let node = placeholder_node(tree, ctx.at)?;
    let root = tree.root?;
    let is_flux = || {
        tree.get(root, "apiVersion")
            .and_then(|v| tree.scalar(v))
            .map(|av| crate::workspace::is_flux_group(split_api_version(av).0))
            .unwrap_or(false)
    };
    let range = abs(ctx.word);
    if ctx.key {
        let map = tree.node(node).parent?;
        let present: Vec<&str> =
            tree.entries(map).iter().filter_map(|e| tree.scalar(e.key)).filter(|k| *k != PLACEHOLDER).collect();
        let path = tree.path_of(map);
        if path.is_empty() && map == root {
            return match object_schema(&reg, tree, root) {
                Some((kdef, schema)) => Some(keys(kdef, schema, "", &present, range, ctx.flow)),
                None if present.is_empty() => {
                    let mut items = skeletons(&reg, range);
                    items.extend(top_keys(None, range, &present));
                    Some(items)
                }
                None if present.iter().any(|p| *p == "apiVersion" || *p == "kind") && !is_other_kube(tree, root) => {
                    Some(top_keys(None, range, &present))
                }
                None => None,
            };
        }
        let (schema, kdef, obj) = schema_at(&reg, tree, root, &path)?;
        let obj_path = tree.path_of(obj);
        let rel_path = crate::syntax::path_to_string(&path[obj_path.len()..]);
        if obj != root && rel_path.is_empty() && object_schema(&reg, tree, obj).is_none() {
            return None;
        }
        if schema.is_free_form() && schema.properties.is_empty() {
            return None;
        }
        return Some(keys(kdef, schema, &rel_path, &present, range, ctx.flow));
    }
    // values
    let path = tree.path_of(node);
    let Some(PathSeg::Key(last)) = path.last() else { return None };
    let parent = tree.node(node).parent?;
    if path.len() == 1 && (last == "apiVersion" || last == "kind") {
        if last == "apiVersion" && !is_flux() {
            // only offer when the kind (if any) is known to us
            let kind = tree.get(parent, "kind").and_then(|k| tree.scalar(k));
            if kind.is_some_and(|k| !reg.kinds().any(|d| d.kind == k)) {
                return None;
            }
        }
        let items = api_values(&reg, tree, parent, last, range);
        return (!items.is_empty()).then_some(items);
    }
    let (schema, kdef, _) = schema_at(&reg, tree, root, &path)?;
    let items = value_items(kdef, schema, &crate::syntax::path_to_string(&path), range);
    if items.is_empty() { None } else { Some(items) }
}

fn is_other_kube(tree: &Tree, root: NodeId) -> bool {
    tree.get(root, "apiVersion")
        .and_then(|v| tree.scalar(v))
        .is_some_and(|av| !crate::workspace::is_flux_group(split_api_version(av).0))
}

fn doc_for(kind: &str, path: &str) -> Option<String> {
    let (text, url) = docs::field(kind, path)?;
    Some(format!("{text}\n\n[Documentation]({url})"))
}

fn top_keys(_kdef: Option<&KindDef>, range: TextRange, present: &[&str]) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    for (i, (k, snippet)) in [
        ("apiVersion", "apiVersion: $0"),
        ("kind", "kind: $0"),
        ("metadata", "metadata:\n  name: $1\n  namespace: $2"),
        ("spec", "spec:\n  $0"),
    ]
    .into_iter()
    .enumerate()
    {
        if present.contains(&k) {
            continue;
        }
        let mut it = CompletionItem::new(k, CompletionKind::Field);
        it.insert_text = Some(snippet.into());
        it.is_snippet = true;
        it.replace = Some(range);
        it.sort_text = Some(format!("0{i}"));
        out.push(it);
    }
    out
}

/// Key items of an object schema.
pub(super) fn keys(
    kdef: &KindDef,
    schema: &Schema,
    path: &str,
    present: &[&str],
    range: TextRange,
    flow: bool,
) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    for (name, sub) in &schema.properties {
        if present.contains(&name.as_str()) || (path.is_empty() && name == "status") {
            continue;
        }
        let required = schema.is_required(name);
        let full = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        let mut it = CompletionItem::new(name.clone(), CompletionKind::Field);
        it.detail = Some(format!("{}{}", sub.type_label(), if required { " (required)" } else { "" }));
        it.documentation = doc_for(&kdef.kind, &full).or_else(|| sub.description.clone());
        it.insert_text = Some(key_snippet(name, sub, flow));
        it.is_snippet = true;
        it.replace = Some(range);
        it.sort_text = Some(format!("{}{name}", if required { 0 } else { 1 }));
        out.push(it);
    }
    out
}

fn escape_snippet(s: &str) -> String {
    s.replace('\\', "\\\\").replace('$', "\\$").replace('}', "\\}")
}

fn choices(values: &[String]) -> String {
    let v: Vec<String> =
        values.iter().map(|s| s.replace('\\', "\\\\").replace(',', "\\,").replace('|', "\\|")).collect();
    format!("${{1|{}|}}", v.join(","))
}

fn enum_strings(s: &Schema) -> Vec<String> {
    s.enum_values
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// `name: ...` with a snippet fitting the value's type. Lines after the
/// first are indented relative to the key (clients add the line's indent).
fn key_snippet(name: &str, s: &Schema, flow: bool) -> String {
    let enums = enum_strings(s);
    if !enums.is_empty() {
        return format!("{name}: {}", choices(&enums));
    }
    if let Some(d) = s.default.as_ref().filter(|d| !d.is_object() && !d.is_array()) {
        let d = match d {
            serde_json::Value::String(x) => x.clone(),
            other => other.to_string(),
        };
        return format!("{name}: ${{1:{}}}", escape_snippet(&d));
    }
    match s.ty {
        Some(Type::Boolean) => format!("{name}: ${{1|true,false|}}"),
        Some(Type::Object) if flow => format!("{name}: {{$1}}"),
        Some(Type::Array) if flow => format!("{name}: [$1]"),
        Some(Type::Object) if !s.properties.is_empty() || s.additional_properties.is_some() || s.is_free_form() => {
            let mut out = format!("{name}:");
            let mut n = 1;
            if s.required.is_empty() {
                out.push_str("\n  $1");
            } else {
                for r in &s.required {
                    let sub = s.property(r).cloned().unwrap_or_default();
                    out.push_str(&format!("\n  {r}: {}", inline_tabstop(&sub, n)));
                    n += 1;
                }
            }
            out
        }
        Some(Type::Array) => match s.items.as_deref() {
            Some(i) if i.ty == Some(Type::Object) && !i.required.is_empty() => {
                let mut out = format!("{name}:");
                for (n, r) in i.required.iter().enumerate() {
                    let sub = i.property(r).cloned().unwrap_or_default();
                    let lead = if n == 0 { "\n  - " } else { "\n    " };
                    out.push_str(&format!("{lead}{r}: {}", inline_tabstop(&sub, n + 1)));
                }
                out
            }
            _ => format!("{name}:\n  - $1"),
        },
        Some(Type::String) if s.is_duration() => format!("{name}: ${{1:5m}}"),
        _ => format!("{name}: $1"),
    }
}

fn inline_tabstop(s: &Schema, n: usize) -> String {
    let enums = enum_strings(s);
    if !enums.is_empty() {
        let v: Vec<String> = enums.iter().map(|s| s.replace(',', "\\,").replace('|', "\\|")).collect();
        return format!("${{{n}|{}|}}", v.join(","));
    }
    match s.ty {
        Some(Type::Boolean) => format!("${{{n}|true,false|}}"),
        Some(Type::String) if s.is_duration() => format!("${{{n}:5m}}"),
        Some(Type::Object) => format!("{{${n}}}"),
        Some(Type::Array) => format!("[${n}]"),
        _ => format!("${n}"),
    }
}

pub(super) fn value_items(kdef: &KindDef, s: &Schema, path: &str, range: TextRange) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    let def = s.default.as_ref().map(|d| match d {
        serde_json::Value::String(x) => x.clone(),
        other => other.to_string(),
    });
    let enums = enum_strings(s);
    for (i, v) in enums.iter().enumerate() {
        let mut it = CompletionItem::new(v.clone(), CompletionKind::EnumMember);
        if def.as_deref() == Some(v.as_str()) {
            it.detail = Some("default".into());
        }
        it.replace = Some(range);
        it.sort_text = Some(format!("{i:03}"));
        it.documentation = doc_for(&kdef.kind, path);
        out.push(it);
    }
    if enums.is_empty() && s.ty == Some(Type::Boolean) {
        for v in ["true", "false"] {
            let mut it = CompletionItem::new(v, CompletionKind::Value);
            if def.as_deref() == Some(v) {
                it.detail = Some("default".into());
            }
            it.replace = Some(range);
            out.push(it);
        }
    } else if enums.is_empty()
        && let Some(d) = def.filter(|d| !d.is_empty())
    {
        let mut it = CompletionItem::new(d, CompletionKind::Value);
        it.detail = Some("default".into());
        it.replace = Some(range);
        out.push(it);
    }
    if enums.is_empty() && s.is_duration() {
        for (i, v) in ["1m", "5m", "10m", "30m", "1h"].into_iter().enumerate() {
            if out.iter().any(|x| x.label == v) {
                continue;
            }
            let mut it = CompletionItem::new(v, CompletionKind::Value);
            it.detail = Some("duration".into());
            it.replace = Some(range);
            it.sort_text = Some(format!("1{i}"));
            out.push(it);
        }
    }
    out
}

/// apiVersion or kind values, consistent with the other field.
fn api_values(reg: &Registry, tree: &Tree, map: NodeId, field: &str, range: TextRange) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    if field == "apiVersion" {
        let kind = tree.get(map, "kind").and_then(|k| tree.scalar(k)).filter(|k| *k != PLACEHOLDER);
        let mut seen = Vec::new();
        for k in reg.kinds() {
            if kind.is_some_and(|x| x != k.kind && reg.kinds().any(|d| d.kind == x)) {
                continue;
            }
            for v in k.versions.iter().filter(|v| v.served) {
                let av = k.api_version(&v.name);
                if seen.contains(&av) {
                    continue;
                }
                let mut it = CompletionItem::new(av.clone(), CompletionKind::Value);
                let kinds: Vec<&str> = reg
                    .kinds()
                    .filter(|d| d.group == k.group && d.version(&v.name).is_some())
                    .map(|d| d.kind.as_str())
                    .collect();
                it.detail = Some(kinds.join(", "));
                it.replace = Some(range);
                it.sort_text = Some(format!("{}{}", u8::from(!v.storage), av));
                seen.push(av);
                out.push(it);
            }
        }
    } else {
        let av = tree.get(map, "apiVersion").and_then(|k| tree.scalar(k)).filter(|k| *k != PLACEHOLDER);
        let (group, version) = av.map(split_api_version).unwrap_or(("", ""));
        let group_known = reg.kinds().any(|k| k.group == group);
        if av.is_some() && !group_known {
            // not a Flux (or workspace CRD) group: its kinds are not ours to offer
            return out;
        }
        for k in reg.kinds() {
            if av.is_some() && group_known && (k.group != group || k.version(version).is_none()) {
                continue;
            }
            let mut it = CompletionItem::new(k.kind.clone(), CompletionKind::Kind);
            it.detail = Some(k.api_version(&k.preferred().map(|v| v.name.clone()).unwrap_or_default()));
            it.documentation = docs::kind(&k.kind).map(|d| format!("{}\n\n[Documentation]({})", d.summary, d.url));
            it.replace = Some(range);
            out.push(it);
        }
    }
    out
}

/// A full object skeleton per kind, for empty documents.
fn skeletons(reg: &Registry, range: TextRange) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    for k in reg.kinds() {
        let Some(v) = k.preferred() else { continue };
        let mut s =
            format!("apiVersion: {}\nkind: {}\nmetadata:\n  name: ${{1:name}}\n", k.api_version(&v.name), k.kind);
        if k.namespaced {
            s.push_str("  namespace: ${2:flux-system}\n");
        }
        let mut n = 3;
        if let Some(spec) = v.schema.property("spec") {
            s.push_str("spec:\n");
            if spec.required.is_empty() {
                s.push_str("  $0\n");
            }
            for r in &spec.required {
                let sub = spec.property(r).cloned().unwrap_or_default();
                skeleton_field(&mut s, r, &sub, 1, &mut n);
            }
        }
        let mut it = CompletionItem::new(k.kind.clone(), CompletionKind::Snippet);
        it.detail = Some(format!("{} skeleton", k.api_version(&v.name)));
        it.documentation = docs::kind(&k.kind).map(|d| format!("{}\n\n[Documentation]({})", d.summary, d.url));
        it.insert_text = Some(s);
        it.is_snippet = true;
        it.replace = Some(range);
        it.filter_text = Some(k.kind.clone());
        it.sort_text = Some(format!("1{}", k.kind));
        out.push(it);
    }
    out
}

fn skeleton_field(s: &mut String, name: &str, sub: &Schema, level: usize, n: &mut usize) {
    let pad = "  ".repeat(level);
    if sub.ty == Some(Type::Object) && !sub.required.is_empty() && level < 4 {
        s.push_str(&format!("{pad}{name}:\n"));
        for r in &sub.required {
            let c = sub.property(r).cloned().unwrap_or_default();
            skeleton_field(s, r, &c, level + 1, n);
        }
        return;
    }
    s.push_str(&format!("{pad}{name}: {}\n", inline_tabstop(sub, *n)));
    *n += 1;
}

#[cfg(test)]
mod tests {
    use crate::ide::completion::{CompletionItem, completions};
    use crate::ide::fixture::Fixture;

    fn complete(src: &str) -> (Fixture, Vec<CompletionItem>) {
        let f = Fixture::parse(src);
        let a = f.ws.analysis();
        let items = completions(&a, f.file(), f.offset());
        (f, items)
    }

    fn labels(src: &str) -> Vec<String> {
        complete(src).1.into_iter().map(|i| i.label).collect()
    }

    const KS: &str =
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n";

    #[test]
    fn keys_not_present_required_first_on_a_half_typed_line() {
        let (f, items) = complete(&format!("{KS}  interval: 5m\n  pru$0\n"));
        let names: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert!(names.contains(&"prune") && names.contains(&"sourceRef"), "{names:?}");
        assert!(!names.contains(&"interval"), "present keys are not offered");
        let prune = items.iter().find(|i| i.label == "prune").unwrap();
        assert_eq!(f.slice(prune.replace.unwrap()), "pru");
        assert_eq!(prune.insert_text.as_deref(), Some("prune: ${1|true,false|}"));
        assert!(prune.documentation.as_deref().unwrap().contains("#prune"), "{:?}", prune.documentation);
        // required fields sort first
        let mut sorted = items.clone();
        sorted.sort_by(|a, b| a.sort_text.cmp(&b.sort_text));
        let first: Vec<&str> = sorted.iter().take(2).map(|i| i.label.as_str()).collect();
        assert_eq!(first, ["prune", "sourceRef"]);
        let src_ref = items.iter().find(|i| i.label == "sourceRef").unwrap();
        assert_eq!(
            src_ref.insert_text.as_deref(),
            Some("sourceRef:\n  kind: ${1|OCIRepository,GitRepository,Bucket,ExternalArtifact|}\n  name: $2")
        );
    }

    #[test]
    fn nested_keys_and_list_items() {
        let l = labels(&format!("{KS}  sourceRef:\n    kind: GitRepository\n    $0\n"));
        assert!(
            l.contains(&"name".to_string()) && l.contains(&"namespace".to_string()) && !l.contains(&"kind".to_string()),
            "{l:?}"
        );
        let l = labels(&format!("{KS}  patches:\n    - tar$0\n"));
        assert_eq!(l, ["patch", "target"]);
        let l = labels(&format!("{KS}  healthChecks:\n    - kind: Deployment\n      na$0\n"));
        assert!(l.contains(&"name".to_string()) && l.contains(&"namespace".to_string()), "{l:?}");
    }

    #[test]
    fn metadata_keys() {
        let l = labels("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: x\n  na$0\n");
        assert!(l.contains(&"namespace".to_string()) && l.contains(&"labels".to_string()), "{l:?}");
        assert!(!l.contains(&"name".to_string()));
    }

    #[test]
    fn enum_values_booleans_and_source_ref_kinds() {
        let l = labels(&format!("{KS}  sourceRef:\n    kind: $0\n"));
        assert_eq!(l, ["OCIRepository", "GitRepository", "Bucket", "ExternalArtifact"]);
        let l = labels(&format!("{KS}  prune: $0\n"));
        assert_eq!(l, ["true", "false"]);
        let l = labels(&format!("{KS}  interval: $0\n"));
        assert_eq!(l, ["1m", "5m", "10m", "30m", "1h"]);
        let l = labels(&format!("{KS}  deletionPolicy: Mi$0\n"));
        assert!(l.contains(&"MirrorPrune".to_string()), "{l:?}");
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: x\nspec:\n  chart:\n    spec:\n      sourceRef:\n        kind: $0\n";
        assert_eq!(labels(hr), ["HelmRepository", "GitRepository", "Bucket"]);
    }

    #[test]
    fn api_version_and_kind_are_consistent() {
        let l = labels("apiVersion: $0\nkind: HelmRelease\n");
        assert_eq!(l, ["helm.toolkit.fluxcd.io/v2"]);
        let l = labels("apiVersion: source.toolkit.fluxcd.io/v1\nkind: $0\n");
        assert!(l.contains(&"GitRepository".to_string()) && !l.contains(&"HelmRelease".to_string()), "{l:?}");
        assert_eq!(l.len(), 6, "{l:?}");
        let l = labels("apiVersion: $0\n");
        assert!(l.contains(&"notification.toolkit.fluxcd.io/v1beta3".to_string()) && l.len() >= 8, "{l:?}");
        assert!(labels("apiVersion: apps/v1\nkind: $0\n").is_empty());
        let l = labels("kind: Kus$0\n");
        assert!(l.contains(&"Kustomization".to_string()), "{l:?}");
    }

    #[test]
    fn skeletons_in_empty_documents_and_after_separators() {
        let (_, items) = complete("$0");
        let git = items.iter().find(|i| i.label == "GitRepository").expect("skeleton");
        let s = git.insert_text.as_deref().unwrap();
        assert!(
            s.starts_with(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: ${1:name}\n"
            ),
            "{s}"
        );
        assert!(s.contains("spec:\n  interval: ${3:5m}\n  url: $4\n"), "{s}");
        assert_eq!(items.iter().filter(|i| i.kind == crate::ide::completion::CompletionKind::Snippet).count(), 19);
        let (_, items) = complete(&format!("{KS}  interval: 5m\n---\n$0"));
        assert!(items.iter().any(|i| i.label == "HelmRelease"), "{items:?}");
        assert!(complete("a: 1\n---$0\n").1.is_empty());
        let (_, items) = complete("---\nGit$0");
        assert!(items.iter().any(|i| i.label == "GitRepository"));
    }

    #[test]
    fn flow_mappings() {
        let (f, items) = complete(&format!("{KS}  sourceRef: {{kind: GitRepository, na$0}}\n"));
        let name = items.iter().find(|i| i.label == "name").expect("name offered");
        assert_eq!(f.slice(name.replace.unwrap()), "na");
        assert!(!items.iter().any(|i| i.label == "kind"));
        let l = labels(&format!("{KS}  sourceRef: {{kind: $0}}\n"));
        assert!(l.contains(&"GitRepository".to_string()), "{l:?}");
        let (_, items) = complete(&format!("{KS}  sourceRef: {{$0\n"));
        assert!(items.iter().any(|i| i.label == "kind" && i.insert_text.as_deref().is_some_and(|t| !t.contains('\n'))));
    }

    #[test]
    fn resource_set_resources_and_no_completion_in_foreign_objects() {
        let rs = "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: x\nspec:\n  resources:\n    - apiVersion: source.toolkit.fluxcd.io/v1\n      kind: GitRepository\n      spec:\n        ur$0\n";
        assert!(labels(rs).contains(&"url".to_string()));
        assert!(labels("apiVersion: apps/v1\nkind: Deployment\nspec:\n  rep$0\n").is_empty());
        assert!(labels("name: CI\non:\n  pu$0\n").is_empty());
    }
}
