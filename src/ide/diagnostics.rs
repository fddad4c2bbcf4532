//! Diagnostics of one file: every producer, then suppression comments and
//! severity overrides from the settings.

use std::sync::Arc;

use super::{Diagnostic, Severity};
use crate::syntax::FileDoc;
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData};

pub const YAML_SYNTAX: &str = "yaml-syntax";
pub const YAML_LIMITS: &str = "yaml-limits";
pub const DUPLICATE_KEY: &str = "duplicate-key";
pub const FILE_TOO_LARGE: &str = "file-too-large";
pub const INVALID_UTF8: &str = "invalid-utf8";
pub const GO_TEMPLATE: &str = "go-template";

/// A producer of diagnostics for one file (references, substitutions, ...).
pub type Producer = fn(&Analysis, &FileData, &mut Vec<Diagnostic>);

/// The producers that read across documents and files, run on each file
/// of normal size after the per-document checks (syntax, schema, chart
/// values: see [`DocTable`]), in order.
pub const PRODUCERS: &[Producer] = &[
    super::references::reference_diagnostics,
    super::substitution::substitution_diagnostics,
    super::image_markers::marker_diagnostics,
    super::chart_values::valuesfrom_diagnostics,
];

/// All diagnostics of `file`, filtered by `# flux-lsp: ignore[...]` comments
/// and with the configured severities applied.
pub fn file_diagnostics(a: &Analysis, file: &FileData) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(at) = file.invalid_utf8_at {
        out.push(Diagnostic::new(
            INVALID_UTF8,
            Severity::Warning,
            TextRange::new(at, at),
            "the file is not valid UTF-8; invalid bytes were read as U+FFFD",
        ));
    }
    if file.syntax_only {
        let what = if file.syntax.docs.is_empty() { "it is not analysed" } else { "only YAML syntax is checked" };
        out.push(Diagnostic::new(
            FILE_TOO_LARGE,
            Severity::Information,
            TextRange::new(0, 0),
            format!("file is larger than {} bytes: {what} (setting `files.maxSize`)", a.config.max_file_size),
        ));
    }
    if let Some(json) = super::chart_values::json_file_diagnostics(file) {
        // a chart's values.schema.json: data, checked as JSON only
        out.extend(json);
        return apply_policy(a, file, out);
    }
    let table = DocTable::of(a, file);
    if table.template {
        // a Go/Helm template with a .yaml name: not YAML until rendered
        out.push(Diagnostic::new(
            GO_TEMPLATE,
            Severity::Information,
            TextRange::new(0, 0),
            "this file looks like a Go/Helm template ({{ ... }}) and is not valid YAML as written: it is not checked",
        ));
        return policy(a, file, out, &table.suppressions(file));
    }
    for (doc, local) in file.syntax.docs.iter().zip(&table.docs) {
        if let Some(local) = local {
            out.extend(local.diags.iter().map(|d| d.shifted(doc.base() as isize, &file.path)));
        }
    }
    if !file.syntax_only {
        for producer in PRODUCERS {
            producer(a, file, &mut out);
        }
    }
    policy(a, file, out, &table.suppressions(file))
}

/// The diagnostics of each document of a file that depend only on that
/// document and on the file's environment ([`DocEnv`]): syntax, schema and
/// chart values, with the document's suppression comments.
///
/// An open document keeps its table for its next version, which takes the
/// entries of the documents it kept unchanged (by [`FileDoc::id`]) while the
/// environment holds. A keystroke then computes one document and walks a
/// contiguous array, instead of reading every document's memos: at 10,000
/// documents that walk was a third of a keystroke (cache misses).
pub struct DocTable {
    /// The documents' ids, in order.
    ids: Vec<u64>,
    /// Per document, relative to it; None when it has nothing to say.
    docs: Vec<Option<Arc<DocLocal>>>,
    env: DocEnv,
    /// The file looks like a Go/Helm template: a YAML error, and `{{ }}`.
    template: bool,
    /// The entries with a YAML syntax error.
    syntax_errors: usize,
}

/// One document's entry in a [`DocTable`].
#[derive(Default)]
struct DocLocal {
    /// Relative to the document.
    diags: Vec<Diagnostic>,
    syntax_error: bool,
    suppressions: Vec<Suppression>,
}

/// What the per-document diagnostics depend on besides the document: the
/// schemas, whether the file is a kustomize patch, its size class and the
/// chart resolution environment.
struct DocEnv {
    reg: Arc<crate::schema::Registry>,
    patch: bool,
    syntax_only: bool,
    charts: crate::workspace::charts::ResolveEnv,
}

impl DocEnv {
    fn new(a: &Analysis, file: &FileData) -> DocEnv {
        DocEnv {
            reg: a.schemas(),
            patch: super::validate::is_patch_file(a, file),
            syntax_only: file.syntax_only,
            charts: crate::workspace::charts::ResolveEnv::new(a),
        }
    }

    /// Results computed in `self` still hold in `now`.
    fn holds(&self, now: &DocEnv) -> bool {
        Arc::ptr_eq(&self.reg, &now.reg)
            && self.patch == now.patch
            && self.syntax_only == now.syntax_only
            && self.charts.holds(&now.charts)
    }
}

impl DocTable {
    /// The table of `file`: the one it already has, else one built from
    /// its previous version's (kept as the file's memo for open documents).
    fn of(a: &Analysis, file: &FileData) -> Arc<DocTable> {
        let docs = &file.syntax.docs;
        let env = DocEnv::new(a, file);
        if let Some(t) = Self::updated(a, file, &env) {
            return t;
        }
        let prev = file.memo::<DocTable>().filter(|p| p.env.holds(&env));
        if let Some(p) = &prev
            && p.describes(file)
        {
            return p.clone();
        }
        let mut reused = false;
        let mut entries: Vec<Result<Option<Arc<DocLocal>>, DocLocal>> = docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                let kept = prev
                    .as_ref()
                    .and_then(|p| crate::syntax::kept_index(&p.ids, docs.len(), i, doc.id).map(|j| p.docs[j].clone()));
                match kept {
                    Some(e) => {
                        reused = true;
                        Ok(e)
                    }
                    None => Err(syntax_local(doc, &file.path)),
                }
            })
            .collect();
        let syntax_errors = entries.iter().any(|e| match e {
            Ok(kept) => kept.as_ref().is_some_and(|k| k.syntax_error),
            Err(fresh) => fresh.syntax_error,
        });
        let template = syntax_errors && file.text.contains("{{") && file.text.contains("}}");
        let mut resolved_at = None;
        if !template && !env.syntax_only {
            // the other checks, for the documents not kept (a template is
            // not checked: its releases must not even queue chart fetches)
            let mut resolver = None;
            for (i, (doc, e)) in docs.iter().zip(&mut entries).enumerate() {
                if let Err(fresh) = e {
                    other_checks(a, &env, file, i, doc, &mut resolver, fresh);
                }
            }
            resolved_at = resolver.and_then(|r: crate::workspace::charts::DocResolver| r.oldest());
        }
        let entries: Vec<Option<Arc<DocLocal>>> = entries
            .into_iter()
            .map(|e| match e {
                Ok(kept) => kept,
                Err(fresh) => keep(fresh),
            })
            .collect();
        let syntax_errors = entries.iter().filter(|e| e.as_ref().is_some_and(|l| l.syntax_error)).count();
        // as old as the oldest entry it kept and the oldest chart resolution
        // it used: it expires with them
        let kept_at = prev.as_ref().filter(|_| reused).map(|p| p.env.charts.at());
        let oldest = [kept_at, resolved_at].into_iter().flatten().min();
        let env = DocEnv { charts: env.charts.as_old_as(oldest), ..env };
        let table = Arc::new(DocTable {
            ids: docs.iter().map(|d| d.id).collect(),
            docs: entries,
            env,
            template,
            syntax_errors,
        });
        if !template {
            // (a template's entries lack the checks it was not given)
            file.set_memo(table.clone());
        }
        table
    }

    /// The file's table (this version's, or the previous version's brought
    /// up to date where it is), when nothing else holds it and the file kept
    /// its number of documents: the
    /// entries of the documents that changed are computed again, and nothing
    /// is copied (at 10,000 documents, a new table was most of a keystroke's
    /// diagnostics). None, with the table left to [`DocTable::of`], when it
    /// cannot be.
    fn updated(a: &Analysis, file: &FileData, env: &DocEnv) -> Option<Arc<DocTable>> {
        let docs = &file.syntax.docs;
        let mut t = file.take_memo::<DocTable>()?;
        let fits = |t: &DocTable| {
            t.env.holds(env)
                && !t.template
                && !env.syntax_only
                && t.ids.len() == docs.len()
                && t.docs.len() == docs.len()
        };
        let Some(table) = Arc::get_mut(&mut t).filter(|t| fits(t)) else {
            file.set_memo(t);
            return None;
        };
        let changed: Vec<usize> = (0..docs.len()).filter(|&i| table.ids[i] != docs[i].id).collect();
        if changed.is_empty() {
            // this version's table already
            file.set_memo(t.clone());
            return Some(t);
        }
        let fresh: Vec<DocLocal> = changed.iter().map(|&i| syntax_local(&docs[i], &file.path)).collect();
        let errors = |l: &Option<Arc<DocLocal>>| l.as_ref().is_some_and(|l| l.syntax_error);
        let syntax_errors = table.syntax_errors - changed.iter().filter(|&&i| errors(&table.docs[i])).count()
            + fresh.iter().filter(|l| l.syntax_error).count();
        if syntax_errors > 0 && file.text.contains("{{") && file.text.contains("}}") {
            // a template now: built anew
            file.set_memo(t);
            return None;
        }
        let mut resolver = None;
        for (&i, mut local) in changed.iter().zip(fresh) {
            other_checks(a, env, file, i, &docs[i], &mut resolver, &mut local);
            table.docs[i] = keep(local);
            table.ids[i] = docs[i].id;
        }
        table.syntax_errors = syntax_errors;
        let resolved_at = resolver.and_then(|r: crate::workspace::charts::DocResolver| r.oldest());
        let oldest = [Some(table.env.charts.at()), resolved_at].into_iter().flatten().min();
        table.env.charts = env.charts.clone().as_old_as(oldest);
        file.set_memo(t.clone());
        Some(t)
    }

    /// The table was built for this very version of the file.
    fn describes(&self, file: &FileData) -> bool {
        self.ids.len() == file.syntax.docs.len() && self.ids.iter().zip(&file.syntax.docs).all(|(i, d)| *i == d.id)
    }

    fn suppressions(&self, file: &FileData) -> Suppressions {
        let mut s = Suppressions::default();
        for (doc, local) in file.syntax.docs.iter().zip(&self.docs) {
            for sup in local.iter().flat_map(|l| &l.suppressions) {
                s.add(file, doc.base(), sup);
            }
        }
        s
    }
}

/// The checks of a document's entry besides its syntax (schema, chart
/// values), added to `local`.
fn other_checks(
    a: &Analysis,
    env: &DocEnv,
    file: &FileData,
    i: usize,
    doc: &FileDoc,
    resolver: &mut Option<crate::workspace::charts::DocResolver>,
    local: &mut DocLocal,
) {
    let mut diags = Vec::new();
    super::validate::doc_schema_diagnostics(&env.reg, env.patch, file, doc, &mut diags);
    super::chart_values::release_values_diagnostics(a, file, i, doc, resolver, &mut diags);
    let base = doc.base() as isize;
    local.diags.extend(diags.iter().map(|d| d.shifted(-base, &file.path)));
}

/// An entry is kept only when it has something to say.
fn keep(local: DocLocal) -> Option<Arc<DocLocal>> {
    (!local.diags.is_empty() || local.syntax_error || !local.suppressions.is_empty()).then(|| Arc::new(local))
}

/// The syntax part of a document's entry (the other checks are added when
/// the file is not a template), relative to the document.
fn syntax_local(doc: &FileDoc, path: &std::path::Path) -> DocLocal {
    let mut diags = Vec::new();
    syntax_diagnostics(doc, &mut diags);
    let base = doc.base() as isize;
    DocLocal {
        diags: diags.iter().map(|d| d.shifted(-base, path)).collect(),
        syntax_error: doc.parsed.errors.iter().any(|e| !e.limit),
        suppressions: doc_suppressions(doc),
    }
}

fn syntax_diagnostics(doc: &FileDoc, out: &mut Vec<Diagnostic>) {
    for e in &doc.parsed.errors {
        let (code, severity) = if e.limit { (YAML_LIMITS, Severity::Warning) } else { (YAML_SYNTAX, Severity::Error) };
        out.push(Diagnostic::new(code, severity, doc.abs(e.range), e.message.clone()));
    }
    // duplicate keys: saphyr is told to accept them so that later errors are
    // still found; the parse lists them
    let tree = &doc.parsed.tree;
    for (key, range) in &doc.parsed.duplicate_keys {
        let k = tree.scalar(*key).unwrap_or("");
        out.push(Diagnostic::new(
            DUPLICATE_KEY,
            Severity::Error,
            doc.abs(*range),
            format!("duplicate key `{k}`: Kubernetes rejects the object"),
        ));
    }
}

/// Parsed `# flux-lsp: ignore[...]` comments of a file.
#[derive(Default)]
struct Suppressions {
    /// (line, codes); empty codes = every code.
    lines: Vec<(usize, Vec<String>)>,
    file: Option<Vec<String>>,
}

/// One `# flux-lsp: ignore...` comment of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Suppression {
    /// Where the comment starts, relative to its document.
    at: usize,
    /// `ignore-file`.
    file_wide: bool,
    /// Empty: every code.
    codes: Vec<String>,
}

impl Suppressions {
    fn add(&mut self, file: &FileData, base: usize, sup: &Suppression) {
        if sup.file_wide {
            match &mut self.file {
                // already every code
                Some(codes) if codes.is_empty() => {}
                _ if sup.codes.is_empty() => self.file = Some(Vec::new()),
                Some(codes) => codes.extend(sup.codes.iter().cloned()),
                None => self.file = Some(sup.codes.clone()),
            }
        } else {
            self.lines.push((file.index.line_of(base + sup.at), sup.codes.clone()));
        }
    }
}

fn matches(codes: &[String], code: &str) -> bool {
    codes.is_empty() || codes.iter().any(|c| c == code)
}

fn doc_suppressions(doc: &FileDoc) -> Vec<Suppression> {
    let mut out = Vec::new();
    for c in &doc.parsed.comments {
        let text = doc.parsed.comment_text(*c);
        let Some(rest) = text.trim_start_matches('#').trim().strip_prefix("flux-lsp:") else { continue };
        let rest = rest.trim();
        let (file_wide, rest) = if let Some(r) = rest.strip_prefix("ignore-file") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("ignore") {
            (false, r)
        } else {
            continue;
        };
        let codes: Vec<String> = match rest.trim().strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((list, _)) => list.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(),
            None => Vec::new(),
        };
        out.push(Suppression { at: c.start, file_wide, codes });
    }
    out
}

/// The suppression comments of a file: from its table when it has one for
/// this version, else read from every document.
fn suppressions(file: &FileData) -> Suppressions {
    if let Some(t) = file.memo::<DocTable>()
        && t.describes(file)
    {
        return t.suppressions(file);
    }
    let mut s = Suppressions::default();
    for doc in &file.syntax.docs {
        for sup in doc_suppressions(doc) {
            s.add(file, doc.base(), &sup);
        }
    }
    s
}

/// Suppression comments and configured severities; also used for the cluster overlay's diagnostics.
pub fn apply_policy(a: &Analysis, file: &FileData, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    policy(a, file, diags, &suppressions(file))
}

fn policy(a: &Analysis, file: &FileData, diags: Vec<Diagnostic>, sup: &Suppressions) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| {
            if let Some(codes) = &sup.file
                && matches(codes, d.code)
            {
                return false;
            }
            let line = file.index.line_of(d.range.start);
            // a comment on the same line, or on the line just above
            !sup.lines.iter().any(|(l, codes)| (*l == line || *l + 1 == line) && matches(codes, d.code))
        })
        .filter_map(|mut d| match a.config.severity.get(d.code) {
            Some(None) => None,
            Some(Some(s)) => {
                d.severity = *s;
                Some(d)
            }
            None => Some(d),
        })
        .collect();
    // a reference to a kind its field does not allow is reported by the
    // references check, which knows the field; the schema's enum error on
    // the same text says less
    let ref_kinds: Vec<_> = out.iter().filter(|d| d.code == "invalid-reference-kind").map(|d| d.range).collect();
    out.retain(|d| !(d.code == "invalid-enum" && ref_kinds.contains(&d.range)));
    // the message too: a diagnostic two producers give is one, whatever the
    // order the producers ran in
    out.sort_by(|x, y| {
        (x.range.start, x.range.end, x.code, &x.message).cmp(&(y.range.start, y.range.end, y.code, &y.message))
    });
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use crate::workspace::Workspace;

    fn codes(src: &str) -> Vec<(&'static str, String)> {
        let mut ws = Workspace::default();
        let path = std::path::PathBuf::from("/t/a.yaml");
        ws.set_file(path.clone(), src.to_string(), None);
        let a = ws.analysis();
        let f = ws.file(&path).unwrap();
        super::file_diagnostics(&a, f)
            .into_iter()
            .map(|d| (d.code, src[d.range.start..d.range.end].to_string()))
            .collect()
    }

    #[test]
    fn reports_syntax_errors_per_document_and_duplicate_keys() {
        let src = "a: [1\n---\nb: 1\nb: 2\n---\nc: 'x\n";
        let got = codes(src);
        assert!(got.contains(&("duplicate-key", "b".to_string())), "{got:?}");
        assert_eq!(got.iter().filter(|(c, _)| *c == "yaml-syntax").count(), 2, "{got:?}");
    }

    /// Per-document memos (schema validation) must give exactly what a fresh
    /// analysis gives after edits move documents around.
    #[test]
    fn memoised_document_diagnostics_equal_a_fresh_analysis() {
        let obj = |name: &str, extra: &str| {
            format!(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: x\nspec:\n  intervall: 1m\n  url: https://example.com/{name}{extra}\n"
            )
        };
        let path = std::path::PathBuf::from("/t/a.yaml");
        let mut ws = Workspace::default();
        let v1 = format!("{}---\n{}---\n{}", obj("a", ""), obj("b", ""), obj("c", ""));
        ws.set_file(path.clone(), v1, None);
        let _ = super::file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
        // grow the middle document: the third moves, its memo must follow
        let v2 = format!("{}---\n{}---\n{}", obj("a", ""), obj("bbbbbb", "\n  timeout: 5x"), obj("c", ""));
        ws.set_file(path.clone(), v2.clone(), None);
        let memo = super::file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
        let mut fresh_ws = Workspace::default();
        fresh_ws.set_file(path.clone(), v2.clone(), None);
        let fresh = super::file_diagnostics(&fresh_ws.analysis(), fresh_ws.file(&path).unwrap());
        assert_eq!(memo, fresh);
        // three unknown-field errors, the last on the moved document's text
        let unknown: Vec<_> = memo.iter().filter(|d| d.code == "unknown-field").collect();
        assert_eq!(unknown.len(), 3, "{memo:#?}");
        assert_eq!(&v2[unknown[2].range.start..unknown[2].range.end], "intervall");
        let fix = &unknown[2].fixes[0].edits[0];
        assert_eq!(&v2[fix.range.start..fix.range.end], "intervall");
    }

    /// A GitRepository with an unknown field (`intervall`).
    fn repo(name: &str) -> String {
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: x\nspec:\n  intervall: 1m\n  url: https://example.com/{name}\n"
        )
    }

    /// Inserts `text` at the start of `line` of the open document `doc`
    /// (`path` in `ws`) as version `version`; the file's diagnostics, which
    /// must equal a fresh analysis of the same text.
    fn insert_line(
        ws: &mut Workspace,
        path: &std::path::Path,
        doc: &mut crate::text::Document,
        line: u32,
        text: &str,
        version: i32,
    ) -> Vec<crate::ide::Diagnostic> {
        use crate::text::{Encoding, LineCol, TextEdit};
        let at = LineCol { line, col: 0 };
        let bytes = doc.apply(&[TextEdit { range: Some((at, at)), text: text.into() }], version, Encoding::Utf16);
        assert!(ws.edit_file(path, version - 1, version, &bytes).is_some());
        let got = super::file_diagnostics(&ws.analysis(), ws.file(path).unwrap());
        let mut fresh = Workspace::default();
        fresh.set_file(path.to_path_buf(), doc.text().to_string(), Some(1));
        assert_eq!(got, super::file_diagnostics(&fresh.analysis(), fresh.file(path).unwrap()));
        got
    }

    /// An open document's per-document table: after an edit in one
    /// document, the entries of the others are the previous version's (not
    /// recomputed), and the diagnostics equal a fresh analysis.
    #[test]
    fn the_table_keeps_the_entries_of_unchanged_documents() {
        use crate::text::Document;
        use std::sync::Arc;
        let path = std::path::PathBuf::from("/t/a.yaml");
        let mut ws = Workspace::default();
        let mut doc = Document::new(&format!("{}---\n{}---\n{}", repo("a"), repo("b"), repo("c")), 1);
        ws.set_file(path.clone(), doc.text().to_string(), Some(1));
        let _ = super::file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
        let table = |ws: &Workspace| ws.file(&path).unwrap().memo::<super::DocTable>().unwrap();
        let before = table(&ws);
        // edit, then check the entries and the diagnostics against a fresh analysis
        let mut step = |doc: &mut Document, line: u32, text: &str, version: i32, unknown: usize| {
            let got = insert_line(&mut ws, &path, doc, line, text, version);
            assert_eq!(got.iter().filter(|d| d.code == "unknown-field").count(), unknown, "{got:#?}");
            table(&ws)
        };
        // a new unknown field in the middle document
        let after = step(&mut doc, 16, "  timeoutt: 1m\n", 2, 4);
        let same = |i: usize, j: usize, a: &super::DocTable, b: &super::DocTable| match (&a.docs[i], &b.docs[j]) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        };
        assert!(same(0, 0, &before, &after) && same(2, 2, &before, &after));
        assert!(!same(1, 1, &before, &after), "the edited document is checked again");
        // a new document before the last: the last keeps its entry, from the end
        let grown = step(
            &mut doc,
            19,
            &format!("{}---\n", repo("d").replace("intervall: 1m\n", "intervall: 1m\n  refx: 1\n")),
            3,
            6,
        );
        assert_eq!(grown.docs.len(), 4);
        assert!(same(0, 0, &after, &grown) && same(1, 1, &after, &grown) && same(2, 3, &after, &grown));
    }

    /// When nothing else holds an open file's table, an edit that keeps the
    /// number of documents brings it up to date where it is: the same
    /// table, the edited document's entry computed again, the others kept,
    /// and the diagnostics those of a fresh analysis; an edit that makes the
    /// file a template (a YAML error and `{{ }}`) is not followed in place.
    #[test]
    fn a_table_follows_an_edit_where_it_is() {
        use crate::text::Document;
        use std::sync::Arc;
        let path = std::path::PathBuf::from("/t/a.yaml");
        let mut ws = Workspace::default();
        let mut doc = Document::new(&format!("{}---\n{}---\n{}# {{{{ x }}}}\n", repo("a"), repo("b"), repo("c")), 1);
        ws.set_file(path.clone(), doc.text().to_string(), Some(1));
        let _ = super::file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
        let table = |ws: &Workspace| ws.file(&path).unwrap().memo::<super::DocTable>().unwrap();
        let entries = |ws: &Workspace| table(ws).docs.iter().map(|e| e.as_ref().map(Arc::as_ptr)).collect::<Vec<_>>();
        let mut step = |doc: &mut Document, line: u32, text: &str, version: i32| {
            let (at_table, at_entries) = (Arc::as_ptr(&table(&ws)), entries(&ws));
            let got = insert_line(&mut ws, &path, doc, line, text, version);
            let kept: Vec<bool> = at_entries.iter().zip(entries(&ws)).map(|(a, b)| *a == b).collect();
            (Arc::as_ptr(&table(&ws)) == at_table, kept, got)
        };
        // an unknown field more in the middle document: in place
        let (same, kept, got) = step(&mut doc, 16, "  timeoutt: 1m\n", 2);
        assert!(same, "the table was changed where it is");
        assert_eq!(kept, [true, false, true]);
        assert_eq!(got.iter().filter(|d| d.code == "unknown-field").count(), 4, "{got:#?}");
        // a YAML error in a file with `{{ }}`: a template, built anew
        let (_, _, got) = step(&mut doc, 17, "  [oops\n", 3);
        assert!(got.iter().any(|d| d.code == "go-template"), "{got:#?}");
    }

    #[test]
    fn a_wrong_reference_kind_is_reported_once() {
        let src = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\n  namespace: x\nspec:\n  interval: 1m\n  chartRef:\n    kind: HelmRepository\n    name: r\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: r\n  namespace: x\nspec:\n  url: https://example.com\n";
        let got = codes(src);
        let on_kind: Vec<_> = got.iter().filter(|(_, t)| t == "HelmRepository").collect();
        assert_eq!(on_kind.len(), 1, "{got:?}");
        assert_eq!(on_kind[0].0, "invalid-reference-kind");
    }

    #[test]
    fn ignore_comments_silence_codes() {
        assert!(codes("b: 1\n# flux-lsp: ignore[duplicate-key]\nb: 2\n").is_empty());
        assert!(codes("b: 1\nb: 2 # flux-lsp: ignore\n").is_empty());
        assert_eq!(codes("b: 1\nb: 2 # flux-lsp: ignore[other]\n").len(), 1);
        assert!(codes("# flux-lsp: ignore-file[duplicate-key]\nb: 1\nb: 2\n").is_empty());
        // a narrower file-wide comment after a total one does not narrow it
        assert!(codes("# flux-lsp: ignore-file\n# flux-lsp: ignore-file[other]\nb: 1\nb: 2\n").is_empty());
    }
}
