//! Conversions between the IDE's plain data and LSP types.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use tower_lsp_server::lsp_types as lsp;

use crate::ide::{self, Severity};
use crate::text::{Encoding, LineCol, LineIndex, TextRange};

/// `file:///a%20b/c.yaml` → `/a b/c.yaml`. None for non-file URIs.
pub fn uri_to_path(uri: &lsp::Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // drop an authority (file://localhost/...)
    let rest = &rest[rest.find('/')?..];
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    let decoded = String::from_utf8(out).ok()?;
    // Windows drive paths: /C:/x → C:/x
    let b = decoded.as_bytes();
    if cfg!(windows) && b.len() > 2 && b[0] == b'/' && b[2] == b':' {
        return Some(PathBuf::from(&decoded[1..]));
    }
    Some(PathBuf::from(decoded))
}

pub fn path_to_uri(path: &Path) -> Option<lsp::Uri> {
    let s = path.to_string_lossy();
    let mut out = String::from("file://");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            b'\\' => out.push('/'),
            b':' if cfg!(windows) => out.push(':'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    lsp::Uri::from_str(&out).ok()
}

pub fn position(text: &str, index: &LineIndex, offset: usize, enc: Encoding) -> lsp::Position {
    let lc = index.line_col(text, offset, enc);
    lsp::Position { line: lc.line, character: lc.col }
}

pub fn offset(text: &str, index: &LineIndex, pos: lsp::Position, enc: Encoding) -> usize {
    index.offset(text, LineCol { line: pos.line, col: pos.character }, enc)
}

pub fn range(text: &str, index: &LineIndex, r: TextRange, enc: Encoding) -> lsp::Range {
    lsp::Range { start: position(text, index, r.start, enc), end: position(text, index, r.end, enc) }
}

pub fn text_range(text: &str, index: &LineIndex, r: lsp::Range, enc: Encoding) -> TextRange {
    let s = offset(text, index, r.start, enc);
    let e = offset(text, index, r.end, enc);
    TextRange::new(s.min(e), s.max(e))
}

pub fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Information => lsp::DiagnosticSeverity::INFORMATION,
        Severity::Hint => lsp::DiagnosticSeverity::HINT,
    }
}

/// A resolver of (path → text, index) for ranges in other files.
pub trait Texts {
    fn text_of(&self, path: &Path) -> Option<(crate::text::Text, std::sync::Arc<LineIndex>)>;
}

pub fn diagnostic(
    text: &str,
    index: &LineIndex,
    d: &ide::Diagnostic,
    enc: Encoding,
    texts: &dyn Texts,
) -> lsp::Diagnostic {
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            let (t, i) = texts.text_of(&r.path)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location { uri: path_to_uri(&r.path)?, range: range(&t, &i, r.range, enc) },
                message: r.message.clone(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range: range(text, index, d.range, enc),
        severity: Some(severity(d.severity)),
        code: Some(lsp::NumberOrString::String(d.code.to_string())),
        code_description: None,
        source: Some("flux-lsp".into()),
        message: d.message.clone(),
        related_information: if related.is_empty() { None } else { Some(related) },
        tags: None,
        data: None,
    }
}

/// Edits grouped per file into a WorkspaceEdit. `current` is the file that
/// edits with `path: None` belong to.
#[allow(clippy::mutable_key_type)] // lsp::Uri caches its parse; hashing is by string
pub fn workspace_edit(edits: &[ide::Edit], current: &Path, enc: Encoding, texts: &dyn Texts) -> lsp::WorkspaceEdit {
    let mut changes: std::collections::HashMap<lsp::Uri, Vec<lsp::TextEdit>> = Default::default();
    for e in edits {
        let path = e.path.as_deref().unwrap_or(current);
        let Some((t, i)) = texts.text_of(path) else { continue };
        let Some(uri) = path_to_uri(path) else { continue };
        changes
            .entry(uri)
            .or_default()
            .push(lsp::TextEdit { range: range(&t, &i, e.range, enc), new_text: e.new_text.clone() });
    }
    lsp::WorkspaceEdit { changes: Some(changes), document_changes: None, change_annotations: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_roundtrip_with_spaces_and_unicode() {
        let p = PathBuf::from("/tmp/a b/é #1.yaml");
        let u = path_to_uri(&p).unwrap();
        assert_eq!(u.as_str(), "file:///tmp/a%20b/%C3%A9%20%231.yaml");
        assert_eq!(uri_to_path(&u).unwrap(), p);
        let u = lsp::Uri::from_str("file://localhost/x/y.yaml").unwrap();
        assert_eq!(uri_to_path(&u).unwrap(), PathBuf::from("/x/y.yaml"));
        let u = lsp::Uri::from_str("untitled:Untitled-1").unwrap();
        assert_eq!(uri_to_path(&u), None);
    }
}
