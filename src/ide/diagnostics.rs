//! Diagnostics of one file: every producer, then suppression comments and
//! severity overrides from the settings.

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

/// A producer of diagnostics for one file (schema validation, references, ...).
pub type Producer = fn(&Analysis, &FileData, &mut Vec<Diagnostic>);

/// Every producer that runs on files of normal size, in order.
pub const PRODUCERS: &[Producer] = &[
    super::references::reference_diagnostics,
    super::substitution::substitution_diagnostics,
    super::image_markers::marker_diagnostics,
    super::validate::schema_diagnostics,
    super::chart_values::values_diagnostics,
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
    if looks_like_template(file) {
        // a Go/Helm template with a .yaml name: not YAML until rendered
        out.push(Diagnostic::new(
            GO_TEMPLATE,
            Severity::Information,
            TextRange::new(0, 0),
            "this file looks like a Go/Helm template ({{ ... }}) and is not valid YAML as written: it is not checked",
        ));
        return apply_policy(a, file, out);
    }
    for doc in &file.syntax.docs {
        syntax_diagnostics(doc, &mut out);
    }
    if !file.syntax_only {
        for producer in PRODUCERS {
            producer(a, file, &mut out);
        }
    }
    apply_policy(a, file, out)
}

/// Template markers and a YAML error: the file is a template, not a manifest.
fn looks_like_template(file: &FileData) -> bool {
    // the errors first: a valid file's text is not scanned
    file.syntax.docs.iter().any(|d| d.parsed.errors.iter().any(|e| !e.limit))
        && file.text.contains("{{")
        && file.text.contains("}}")
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

fn matches(codes: &[String], code: &str) -> bool {
    codes.is_empty() || codes.iter().any(|c| c == code)
}

fn suppressions(file: &FileData) -> Suppressions {
    let mut s = Suppressions::default();
    for doc in &file.syntax.docs {
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
            if file_wide {
                s.file.get_or_insert_with(Vec::new).extend(codes.iter().cloned());
                if codes.is_empty() {
                    s.file = Some(Vec::new());
                }
            } else {
                let abs = doc.abs(*c);
                s.lines.push((file.index.line_of(abs.start), codes));
            }
        }
    }
    s
}

/// Suppression comments and configured severities; also used for the cluster overlay's diagnostics.
pub fn apply_policy(a: &Analysis, file: &FileData, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let sup = suppressions(file);
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
    out.sort_by_key(|d| (d.range.start, d.range.end, d.code));
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
    }
}
