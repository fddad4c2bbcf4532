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
///
/// Only lines that start with `---` or `...` can be markers, so the text is
/// searched for those (memchr's SIMD search) instead of walked line by line:
/// a 7 MB file with 10,000 documents is split in a fraction of a millisecond.
pub fn split_documents(text: &str) -> Vec<DocSpan> {
    let first = if text.starts_with('\u{feff}') { 3 } else { 0 };
    split_from(text, first, first, None, &|_| None).0
}

/// [`split_documents`] of a text after one change of the text `prev` was
/// split from: `text[..edit_start]` is unchanged, and the old
/// `[old_end..]` is now `text[new_end..]`. The documents opened by a `---`
/// line that ends before the change are kept, and the split resumes after
/// that line; it stops at the first `---` line after the change that opened
/// a document before it, and the documents from there on are the old ones,
/// moved. (After a `---` line the split depends only on the text that
/// follows.) A keystroke anywhere in a 10,000-document file scans about one
/// document.
#[cfg(test)]
pub fn split_after_edit<'a>(
    text: &str,
    prev_len: usize,
    prev: impl Fn(usize) -> &'a DocSpan,
    edit_start: usize,
    old_end: usize,
    new_end: usize,
) -> Vec<DocSpan> {
    let run = split_run_after_edit(text, prev_len, &prev, edit_start, old_end, new_end);
    let delta = new_end as isize - old_end as isize;
    let mut docs: Vec<DocSpan> = (0..run.k).map(|i| prev(i).clone()).collect();
    docs.extend(run.spans);
    docs.extend((run.resume..prev_len).map(|i| prev(i).moved(delta)));
    docs
}

/// What one change did to a file's split: the old documents `[k, resume)`
/// became `spans`; those before `k` are unchanged, and those from `resume`
/// on are the old ones moved by the change's length.
#[derive(Debug)]
pub struct SplitRun {
    pub k: usize,
    pub spans: Vec<DocSpan>,
    pub resume: usize,
}

impl DocSpan {
    /// The same span `delta` bytes later.
    pub fn moved(&self, delta: isize) -> DocSpan {
        DocSpan { range: self.range.moved(delta), marker: self.marker.map(|m| m.moved(delta)) }
    }
}

/// The run of documents a change replaced (see [`split_after_edit`]), without
/// copying the documents around it: a keystroke in a file of 10,000
/// documents costs a search and the split of about one document.
pub fn split_run_after_edit<'a>(
    text: &str,
    prev_len: usize,
    prev: &impl Fn(usize) -> &'a DocSpan,
    edit_start: usize,
    old_end: usize,
    new_end: usize,
) -> SplitRun {
    let bytes = text.as_bytes();
    let first = if text.starts_with('\u{feff}') { 3 } else { 0 };
    // the first old document starting at or after `at`
    let first_at = |at: usize| {
        let (mut lo, mut hi) = (0, prev_len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if prev(mid).range.start < at {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    // a `---` line at `line` (new text) after the change, that opened old document k
    let delta = new_end as isize - old_end as isize;
    let resync = |line: usize| -> Option<usize> {
        // the line and all after it are old text (whether it starts a line
        // was decided by the scan)
        if line < new_end {
            return None;
        }
        let old_line = usize::try_from(line as isize - delta).ok()?;
        let k = first_at(old_line + 3);
        (k < prev_len && prev(k).marker == Some(TextRange::new(old_line, old_line + 3))).then_some(k)
    };
    // the last document whose `---` starts before the change
    let mut k = first_at(edit_start);
    while k > 0 {
        k -= 1;
        let span = prev(k);
        let Some(m) = span.marker else { continue };
        // its whole `---` line, terminator included, is before the change
        let unchanged = &bytes[m.start.min(edit_start)..edit_start.min(bytes.len())];
        if memchr::memchr2(b'\n', b'\r', unchanged).is_some() {
            let (spans, resumed) = split_from(text, first, m.end, Some(m), &resync);
            return SplitRun { k, spans, resume: resumed.unwrap_or(prev_len) };
        }
    }
    let (spans, resumed) = split_from(text, first, first, None, &resync);
    SplitRun { k: 0, spans, resume: resumed.unwrap_or(prev_len) }
}

/// The split from `start` on, in the state left by the marker `marker` (or
/// at the start of the stream); `first` is where the stream's text begins
/// (after a BOM). It stops before a `---` line for which `resync` gives an
/// old document (returned with the documents before that line).
fn split_from(
    text: &str,
    first: usize,
    start: usize,
    marker: Option<TextRange>,
    resync: &dyn Fn(usize) -> Option<usize>,
) -> (Vec<DocSpan>, Option<usize>) {
    use memchr::memmem;
    let bytes = text.as_bytes();
    let mut docs = Vec::new();
    let mut start = start;
    let mut marker = marker;
    let scan = start;
    let body = &bytes[scan..];
    let at_line_start = |p: usize| p == first || matches!(bytes[p - 1], b'\n' | b'\r');
    // lazy searches, in order, so that a resync stops them early: the next
    // `---` line start, then any `...` line start before it
    let mut dashes = memmem::find_iter(body, b"---").map(|p| p + scan).filter(|&p| at_line_start(p)).peekable();
    let dots = memmem::Finder::new(b"...");
    let mut pos = scan;
    loop {
        let until = dashes.peek().copied().unwrap_or(bytes.len());
        let dot = dots.find_iter(&bytes[pos..until]).map(|p| p + pos).find(|&p| at_line_start(p));
        let Some(line_start) = dot.or_else(|| dashes.next()) else { break };
        pos = line_start + 1;
        let line_end = memchr::memchr2(b'\n', b'\r', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
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
            if let Some(k) = resync(line_start) {
                return (docs, Some(k));
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
    }
    if start < bytes.len() || marker.is_some() || docs.is_empty() {
        docs.push(DocSpan { range: TextRange::new(start.min(bytes.len()), bytes.len()), marker });
    }
    (docs, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        split_documents(src).iter().map(|d| &src[d.range.start..d.range.end]).collect()
    }

    /// The line-by-line split this module had first: the oracle. A leading BOM is skipped. There is always at
    /// least one document (possibly empty).
    fn reference_split(text: &str) -> Vec<DocSpan> {
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

    proptest::proptest! {
        #[test]
        fn equals_the_line_by_line_split(parts in proptest::collection::vec(proptest::sample::select(vec![
            "---", "...", "\n", "\r", "\r\n", "a: 1", " ", "\t", "-", ".", "# c", "\u{feff}", "----", "é",
        ]), 0..40)) {
            let text = parts.concat();
            proptest::prop_assert_eq!(split_documents(&text), reference_split(&text));
        }
    }

    proptest::proptest! {
        /// Resuming after the last `---` line before a change gives the
        /// split of the whole new text.
        #[test]
        fn a_split_resumed_after_an_edit_equals_a_full_split(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "---", "...", "\n", "\r", "\r\n", "a: 1", " ", "-", ".", "# c", "\u{feff}", "é",
            ]), 0..40),
            at in proptest::prelude::any::<proptest::sample::Index>(),
            del in 0..8usize,
            ins in proptest::sample::select(vec!["", "-", "---", "\n", "\r", "x", "...", "\n---\n", " ", "\r\n---"]),
        ) {
            let old = parts.concat();
            let mut s = at.index(old.len() + 1);
            while !old.is_char_boundary(s) { s -= 1; }
            let mut e = (s + del).min(old.len());
            while !old.is_char_boundary(e) { e += 1; }
            let new = format!("{}{}{}", &old[..s], ins, &old[e..]);
            let prev = split_documents(&old);
            let resumed = split_after_edit(&new, prev.len(), |i| &prev[i], s, e, s + ins.len());
            proptest::prop_assert_eq!(resumed, split_documents(&new));
        }
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
