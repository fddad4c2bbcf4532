//! Splitting a YAML stream into its documents at `---` / `...` lines.
//!
//! This is line-level and never fails, so an error in one manifest can never
//! hide the others. A `---` line may carry content after it (`--- !tag`,
//! `--- # comment`); that content belongs to the new document.

use crate::text::TextRange;

/// One document of a stream. `range` covers the document's own text (after
/// its `---` marker line, if any, up to the next marker); `marker` is the
/// `---` line that opened it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocSpan {
    pub range: TextRange,
    pub marker: Option<TextRange>,
}

/// Splits `text` into documents. A leading BOM is skipped. There is always at
/// least one document (possibly empty).
pub fn split_documents(text: &str) -> Vec<DocSpan> {
    let bytes = text.as_bytes();
    let mut docs = Vec::new();
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut marker: Option<TextRange> = None;
    let mut line_start = start;
    while line_start <= bytes.len() {
        let mut line_end = line_start;
        while line_end < bytes.len() && bytes[line_end] != b'\n' && bytes[line_end] != b'\r' {
            line_end += 1;
        }
        let mut next = line_end;
        if next < bytes.len() {
            if bytes[next] == b'\r' && bytes.get(next + 1) == Some(&b'\n') {
                next += 2;
            } else {
                next += 1;
            }
        }
        let line = &bytes[line_start..line_end];
        let is_marker = |m: &[u8]| line.starts_with(m) && (line.len() == 3 || line[3] == b' ' || line[3] == b'\t');
        if is_marker(b"---") {
            if marker.is_some() || !text[start..line_start].trim().is_empty() {
                docs.push(DocSpan { range: TextRange::new(start, line_start), marker });
            }
            // content after "--- " stays in the new document
            let content = line_start + 3;
            marker = Some(TextRange::new(line_start, line_start + 3));
            start = content;
        } else if is_marker(b"...") {
            docs.push(DocSpan { range: TextRange::new(start, line_start), marker });
            marker = None;
            start = next;
        }
        if next == line_end {
            break;
        }
        line_start = next;
    }
    if start < bytes.len() || marker.is_some() || docs.is_empty() {
        docs.push(DocSpan { range: TextRange::new(start.min(bytes.len()), bytes.len()), marker });
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        split_documents(src).iter().map(|d| &src[d.range.start..d.range.end]).collect()
    }

    #[test]
    fn splits_on_markers() {
        assert_eq!(texts("a: 1\n---\nb: 2\n"), vec!["a: 1\n", "\nb: 2\n"]);
        assert_eq!(texts("---\na: 1\n"), vec!["\na: 1\n"]);
        assert_eq!(texts("a: 1\n...\n---\nb: 1"), vec!["a: 1\n", "\nb: 1"]);
        assert_eq!(texts("--- # c\na: 1\r\n---\r\nb"), vec![" # c\na: 1\r\n", "\r\nb"]);
        assert_eq!(texts(""), vec![""]);
        assert_eq!(texts("a: ---\n----\nb"), vec!["a: ---\n----\nb"]);
        assert_eq!(texts("\u{feff}a: 1"), vec!["a: 1"]);
        assert_eq!(texts("---\n---\n"), vec!["\n", "\n"]);
    }
}
