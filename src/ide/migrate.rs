//! Migration of documents from removed Flux API versions to the current
//! ones, as text edits that keep comments and layout: the apiVersion, then
//! the field changes of [`history::changes`] (patches → `patches`,
//! `valuesFile` → `valuesFiles`, dropped fields removed).

use super::actions::{ActionKind, CodeAction};
use super::{Edit, Fix};
use crate::schema::{Registry, history};
use crate::syntax::{FileDoc, NodeId, NodeKind, Tree};
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData, split_api_version};

/// Applies non-overlapping edits to a text (for tests and `check --fix`).
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut es: Vec<&Edit> = edits.iter().collect();
    es.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in es {
        if e.range.start < at {
            continue;
        }
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.new_text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The edits that move one object (a document root) from a removed
/// apiVersion to its kind's current version. Empty when nothing to do.
pub fn migrate_object(text: &str, doc: &FileDoc, root: NodeId, reg: &Registry) -> Vec<Edit> {
    let tree = &doc.parsed.tree;
    let (Some(av_id), Some(kind_id)) = (tree.get(root, "apiVersion"), tree.get(root, "kind")) else { return vec![] };
    let (Some(av), Some(kind)) = (tree.scalar(av_id), tree.scalar(kind_id)) else { return vec![] };
    let (group, version) = split_api_version(av);
    if history::removed(group, version, kind).is_none() {
        return vec![];
    }
    let Some(current) = reg.kind(group, kind).and_then(|(k, _)| k.preferred()).map(|v| v.name.clone()) else {
        return vec![];
    };
    let mut m = Migrator { text, doc, tree, edits: Vec::new() };
    let r = doc.abs(tree.node(av_id).range);
    let raw = &text[r.start..r.end];
    let new = format!("{group}/{current}");
    let new_text = match raw.chars().next() {
        Some(q @ ('"' | '\'')) => format!("{q}{new}{q}"),
        _ => new,
    };
    m.edits.push(Edit { path: None, range: r, new_text });
    for change in history::changes(group, kind) {
        match *change {
            history::Change::ToList { at, from, to } => {
                for map in m.maps_at(root, at) {
                    m.scalar_to_list(map, from, to);
                }
            }
            history::Change::Drop { at, key } => {
                for map in m.maps_at(root, at) {
                    if let Some(e) = tree.get_entry(map, key) {
                        let range = m.entry_lines(e.key, e.range);
                        m.edits.push(Edit { path: None, range, new_text: String::new() });
                    }
                }
            }
            history::Change::Patches { at } => {
                for map in m.maps_at(root, at) {
                    m.patches(map);
                }
            }
        }
    }
    m.edits
}

struct Migrator<'a> {
    text: &'a str,
    doc: &'a FileDoc,
    tree: &'a Tree,
    edits: Vec<Edit>,
}

impl Migrator<'_> {
    fn maps_at(&self, root: NodeId, path: &[&str]) -> Vec<NodeId> {
        let mut cur = vec![root];
        for seg in path {
            let mut next = Vec::new();
            for n in cur {
                if *seg == "*" {
                    next.extend(self.tree.items(n).iter().copied());
                } else if let Some(v) = self.tree.get(n, seg) {
                    next.push(v);
                }
            }
            cur = next;
        }
        cur.into_iter().filter(|&n| matches!(self.tree.node(n).kind, NodeKind::Map { flow: false, .. })).collect()
    }

    fn abs(&self, r: TextRange) -> TextRange {
        self.doc.abs(r)
    }

    /// Column of an absolute offset.
    fn col(&self, at: usize) -> usize {
        at - self.line_start(at)
    }

    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0)
    }

    fn line_end(&self, at: usize) -> usize {
        self.text[at..].find('\n').map(|i| at + i).unwrap_or(self.text.len())
    }

    /// The whole lines of an entry, with the final newline.
    fn entry_lines(&self, key: NodeId, range: TextRange) -> TextRange {
        let start = self.line_start(self.abs(self.tree.node(key).range).start);
        let end = self.line_end(self.abs(range).end);
        let end = if end < self.text.len() { end + 1 } else { end };
        TextRange::new(start, end)
    }

    /// The source text of a node re-indented so its first line sits at
    /// `indent` and the others keep their relative indentation.
    fn reindent(&self, id: NodeId, indent: usize) -> String {
        let r = self.abs(self.tree.span_of(id));
        let col = self.col(r.start);
        let pad = " ".repeat(indent);
        let mut out = String::new();
        for (i, line) in self.text[r.start..r.end].trim_end().split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                let strip = line.len() - line.trim_start_matches(' ').len();
                let line = &line[strip.min(col)..];
                if !line.is_empty() {
                    out.push_str(&pad);
                }
                out.push_str(line.trim_end_matches('\r'));
            } else {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        out
    }

    fn scalar_to_list(&mut self, map: NodeId, from: &str, to: &str) {
        let tree = self.tree;
        if tree.get_entry(map, to).is_some() {
            return;
        }
        let Some(e) = tree.get_entry(map, from) else { return };
        let key_r = self.abs(tree.node(e.key).range);
        let ind = self.col(key_r.start);
        match e.value.filter(|&v| tree.scalar(v).is_some_and(|s| !s.is_empty())) {
            Some(v) => {
                let vr = self.abs(tree.node(v).range);
                let raw = self.text[vr.start..vr.end].to_string();
                self.edits.push(Edit { path: None, range: key_r, new_text: to.to_string() });
                let colon_end = e.colon.map(|c| self.abs(c).end).unwrap_or(key_r.end);
                self.edits.push(Edit {
                    path: None,
                    range: TextRange::new(colon_end, vr.end),
                    new_text: format!("\n{}  - {raw}", " ".repeat(ind)),
                });
            }
            None => self.edits.push(Edit { path: None, range: key_r, new_text: to.to_string() }),
        }
    }

    fn patches(&mut self, map: NodeId) {
        let tree = self.tree;
        let psm = tree.get_entry(map, "patchesStrategicMerge");
        let pj = tree.get_entry(map, "patchesJson6902");
        if psm.is_none() && pj.is_none() {
            return;
        }
        let first_key = psm.or(pj).map(|e| e.key).expect("one exists");
        let ind = self.col(self.abs(tree.node(first_key).range).start);
        let item_ind = ind + 2;
        let mut items = String::new();
        if let Some(v) = psm.and_then(|e| e.value) {
            for &it in tree.items(v) {
                items.push_str(&format!("\n{}- patch: |\n", " ".repeat(item_ind)));
                items.push_str(&self.reindent(it, item_ind + 4));
            }
        }
        if let Some(v) = pj.and_then(|e| e.value) {
            for &it in tree.items(v) {
                let target = tree.get(it, "target");
                let patch = tree.get(it, "patch");
                items.push_str(&format!("\n{}- ", " ".repeat(item_ind)));
                let mut first = true;
                if let Some(t) = target {
                    items.push_str("target:\n");
                    items.push_str(&self.reindent(t, item_ind + 4));
                    first = false;
                }
                if let Some(p) = patch {
                    if !first {
                        items.push_str(&format!("\n{}", " ".repeat(item_ind + 2)));
                    }
                    items.push_str("patch: |\n");
                    items.push_str(&self.reindent(p, item_ind + 4));
                }
            }
        }
        let existing = tree.get_entry(map, "patches");
        let olds: Vec<_> = [psm, pj].into_iter().flatten().collect();
        match existing.and_then(|e| e.value).filter(|&v| matches!(tree.node(v).kind, NodeKind::Seq { flow: false, .. }))
        {
            Some(seq) => {
                let end = self.line_end(self.abs(tree.node(seq).range).end);
                // existing items keep their own indentation
                let col = tree.items(seq).first().map(|&i| self.col(self.abs(tree.node(i).range).start) - 2);
                let items = match col {
                    Some(c) if c != item_ind => {
                        items.replace(&format!("\n{}", " ".repeat(item_ind)), &format!("\n{}", " ".repeat(c)))
                    }
                    _ => items,
                };
                self.edits.push(Edit { path: None, range: TextRange::empty(end), new_text: items });
                for e in olds {
                    let r = self.entry_lines(e.key, e.range);
                    self.edits.push(Edit { path: None, range: r, new_text: String::new() });
                }
            }
            None if existing.is_some() => {}
            None => {
                let (first, rest) = olds.split_first().expect("one exists");
                let r = self.entry_lines(first.key, first.range);
                let start = r.start + ind;
                let end = self.line_end(self.abs(first.range).end);
                self.edits.push(Edit {
                    path: None,
                    range: TextRange::new(start, end),
                    new_text: format!("patches:{items}"),
                });
                for e in rest {
                    let r = self.entry_lines(e.key, e.range);
                    self.edits.push(Edit { path: None, range: r, new_text: String::new() });
                }
            }
        }
    }
}

/// Source action: migrate every object of the file that uses a removed
/// apiVersion (registered in `actions::PROVIDERS`).
pub fn migrate_file_action(a: &Analysis, file: &FileData, _range: TextRange) -> Vec<CodeAction> {
    let reg = a.schemas();
    let mut edits = Vec::new();
    let mut n = 0;
    for doc in &file.syntax.docs {
        let Some(root) = doc.parsed.tree.root else { continue };
        let e = migrate_object(&file.text, doc, root, &reg);
        if !e.is_empty() {
            n += 1;
            edits.extend(e);
        }
    }
    if edits.is_empty() {
        return vec![];
    }
    vec![CodeAction {
        title: format!("Migrate {n} object{} from removed Flux API versions", if n == 1 { "" } else { "s" }),
        kind: ActionKind::Source,
        edits,
        diagnostic: None,
        preferred: false,
    }]
}

/// The fix attached to `removed-api-version` (same edits as the action).
pub fn migrate_fix(text: &str, doc: &FileDoc, root: NodeId, reg: &Registry, title: String) -> Option<Fix> {
    let edits = migrate_object(text, doc, root, reg);
    (!edits.is_empty()).then_some(Fix { title, edits, preferred: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::fixture::Fixture;

    fn migrated(src: &str) -> (String, Vec<(&'static str, String)>) {
        let f = Fixture::parse(src);
        let a = f.ws.analysis();
        let actions = migrate_file_action(&a, f.file(), TextRange::empty(0));
        assert_eq!(actions.len(), 1, "no migration offered");
        let out = apply_edits(&f.file().text, &actions[0].edits);
        let after = Fixture::parse(&out);
        let diags = after.diagnostics();
        (out, diags)
    }

    #[test]
    fn kustomization_patches_move_to_patches_keeping_comments() {
        let src = "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  interval: 10m # how often\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  validation: client\n  patchesStrategicMerge:\n    - apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: web # the web app\n      spec:\n        replicas: 2\n  patchesJson6902:\n    - target:\n        kind: Deployment\n        name: web\n      patch:\n        - op: replace\n          path: /spec/replicas\n          value: 3\n";
        let (out, diags) = migrated(src);
        assert!(out.starts_with("apiVersion: kustomize.toolkit.fluxcd.io/v1\n"), "{out}");
        assert!(out.contains("interval: 10m # how often"), "{out}");
        assert!(
            !out.contains("validation") && !out.contains("patchesStrategicMerge") && !out.contains("patchesJson6902"),
            "{out}"
        );
        let want = "  patches:\n    - patch: |\n        apiVersion: apps/v1\n        kind: Deployment\n        metadata:\n          name: web # the web app\n        spec:\n          replicas: 2\n    - target:\n        kind: Deployment\n        name: web\n      patch: |\n        - op: replace\n          path: /spec/replicas\n          value: 3\n";
        assert!(out.ends_with(want), "{out}");
        assert!(diags.iter().all(|(c, _)| !crate::ide::validate::is_schema_code(c)), "{diags:?}\n{out}");
    }

    #[test]
    fn helmrelease_values_file_becomes_values_files() {
        let src = "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      valuesFile: values-prod.yaml\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n";
        let (out, diags) = migrated(src);
        assert!(out.contains("apiVersion: helm.toolkit.fluxcd.io/v2\n"), "{out}");
        assert!(out.contains("      valuesFiles:\n        - values-prod.yaml\n"), "{out}");
        assert!(diags.iter().all(|(c, _)| !crate::ide::validate::is_schema_code(c)), "{diags:?}\n{out}");
    }

    #[test]
    fn git_repository_drops_removed_fields() {
        let src = "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  gitImplementation: go-git\n  url: https://github.com/x/y\n";
        let (out, diags) = migrated(src);
        assert_eq!(
            out,
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  url: https://github.com/x/y\n"
        );
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn corpus_kyverno_oci_repository_gets_warning_and_working_migration() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpora/fluxcd__flux2-multi-tenancy/infrastructure/kyverno/source.yaml"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "corpus missing in CI: {path}");
            eprintln!("skipped: {path} not found");
            return;
        };
        let f = Fixture::parse(&text);
        let d = f.diagnostics();
        assert!(d.contains(&("removed-api-version", "source.toolkit.fluxcd.io/v1beta2".to_string())), "{d:?}");
        let a = f.ws.analysis();
        let ds = crate::ide::diagnostics::file_diagnostics(&a, f.file());
        let w = ds.iter().find(|d| d.code == "removed-api-version").unwrap();
        assert_eq!(w.severity, crate::ide::Severity::Warning);
        assert!(w.message.contains("Flux 2.8"), "{}", w.message);
        let out = apply_edits(&text, &w.fixes[0].edits);
        assert!(out.contains("apiVersion: source.toolkit.fluxcd.io/v1\n"));
        assert_eq!(out.len(), text.len() - "beta2".len());
        assert!(Fixture::parse(&out).diagnostics().is_empty(), "{:?}", Fixture::parse(&out).diagnostics());
    }
}
