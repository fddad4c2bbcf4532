use ropey::Rope;

use super::{Encoding, LineCol, LineIndex, TextRange};

/// One change of an LSP `didChange`: a range (None = whole document) and
/// the new text.
#[derive(Clone, Debug)]
pub struct TextEdit {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

/// Where the last change of a document fell, in bytes: `text[..start]` is
/// unchanged, and the old `text[old_end..]` is now `text[new_end..]`. The
/// syntax layer uses it to reuse the documents outside the change without
/// comparing their text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditHint {
    /// The address of the text the change was applied to: a hint holds only
    /// for that text (see [`EditHint::follows`]).
    before: usize,
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl EditHint {
    /// True when `prev` is the text this change was applied to. Two texts
    /// alive at once have distinct addresses, and the text the change was
    /// applied to was alive until the change, so a text still alive with
    /// that address is that text.
    pub fn follows(&self, prev: &std::sync::Arc<str>) -> bool {
        std::sync::Arc::as_ptr(prev) as *const u8 as usize == self.before
    }

    /// A change of `before`.
    fn new(before: &std::sync::Arc<str>, start: usize, old_end: usize, new_end: usize) -> EditHint {
        EditHint { before: std::sync::Arc::as_ptr(before) as *const u8 as usize, start, old_end, new_end }
    }
}

/// An open document: the rope is the source of truth for positions; `text`
/// and `index` are the flat snapshot the analysis reads (after each edit, one
/// copy of the text and the moved line starts after the edit).
#[derive(Clone, Debug)]
pub struct Document {
    rope: Rope,
    pub version: i32,
    text: std::sync::Arc<str>,
    index: std::sync::Arc<LineIndex>,
    last_edit: Option<EditHint>,
}

impl Document {
    pub fn new(text: &str, version: i32) -> Self {
        let rope = Rope::from_str(text);
        Self { rope, version, text: text.into(), index: std::sync::Arc::new(LineIndex::new(text)), last_edit: None }
    }

    pub fn text(&self) -> &std::sync::Arc<str> {
        &self.text
    }

    pub fn index(&self) -> &std::sync::Arc<LineIndex> {
        &self.index
    }

    /// Where the last [`Document::apply`] changed the text, when it was one
    /// ranged change.
    pub fn last_edit(&self) -> Option<EditHint> {
        self.last_edit
    }

    /// Applies LSP content changes in order. Each range is resolved against
    /// the text as left by the previous change; out-of-range positions clamp.
    pub fn apply(&mut self, edits: &[TextEdit], version: i32, enc: Encoding) {
        // the flat text and its line index are updated per edit: one copy of
        // the text, and the line starts after the edit moved, not rescanned
        let mut text: Option<std::sync::Arc<str>> = None;
        let mut index = None;
        let mut hint = None;
        for edit in edits {
            let flat: &str = text.as_deref().unwrap_or(&self.text);
            match edit.range {
                None => {
                    self.rope = Rope::from_str(&edit.text);
                    index = Some(LineIndex::new(&edit.text));
                    text = Some(edit.text.as_str().into());
                }
                Some((start, end)) => {
                    let s = self.rope_char(start, enc);
                    let e = self.rope_char(end, enc).max(s);
                    let (sb, eb) = (self.rope.char_to_byte(s), self.rope.char_to_byte(e));
                    self.rope.remove(s..e);
                    self.rope.insert(s, &edit.text);
                    let next = splice(flat, sb, eb, &edit.text);
                    hint = (edits.len() == 1).then(|| EditHint::new(&self.text, sb, eb, sb + edit.text.len()));
                    let prev_index = index.take().unwrap_or_else(|| (*self.index).clone());
                    index = Some(prev_index.edited(&next, sb, eb, sb + edit.text.len()));
                    text = Some(next);
                }
            }
        }
        self.version = version;
        self.last_edit = hint;
        if let (Some(text), Some(index)) = (text, index) {
            self.index = std::sync::Arc::new(index);
            self.text = text;
        }
    }

    /// A position to a char index in the rope, clamped as [`LineIndex::offset`]
    /// does, computed on the rope itself (so a batch of edits needs no flat copy
    /// between changes).
    fn rope_char(&self, pos: LineCol, enc: Encoding) -> usize {
        let rope = &self.rope;
        let nlines = rope.len_lines();
        let line = pos.line as usize;
        if line >= nlines {
            return rope.len_chars();
        }
        let line_start = rope.line_to_char(line);
        let line_slice = rope.line(line);
        // length without the terminator (ropey is built with `cr_lines` and
        // without `unicode_lines`, so its lines are exactly the LSP's)
        let mut len = line_slice.len_chars();
        while len > 0 && matches!(line_slice.char(len - 1), '\n' | '\r') {
            len -= 1;
        }
        let want = pos.col as usize;
        match enc {
            Encoding::Utf16 => {
                let slice = line_slice.slice(..len);
                let total = slice.len_utf16_cu();
                if want >= total {
                    return line_start + len;
                }
                let mut c = slice.utf16_cu_to_char(want);
                // inside a surrogate pair: utf16_cu_to_char already rounds down
                c = c.min(len);
                line_start + c
            }
            Encoding::Utf8 => {
                let slice = line_slice.slice(..len);
                let total = slice.len_bytes();
                if want >= total {
                    return line_start + len;
                }
                line_start + slice.byte_to_char(want)
            }
        }
    }

    pub fn range_to_lsp(&self, range: TextRange, enc: Encoding) -> (LineCol, LineCol) {
        (self.index.line_col(&self.text, range.start, enc), self.index.line_col(&self.text, range.end, enc))
    }
}

/// `flat` with `flat[start..end]` replaced by `insert`, written once into its
/// shared allocation. Through a `String`, the 7 MB text of a 10,000-object
/// file was copied twice per keystroke (`Arc<str>::from(String)` copies).
fn splice(flat: &str, start: usize, end: usize, insert: &str) -> std::sync::Arc<str> {
    let parts = [&flat.as_bytes()[..start], insert.as_bytes(), &flat.as_bytes()[end..]];
    let len = parts.iter().map(|p| p.len()).sum();
    let mut buf = std::sync::Arc::<[u8]>::new_uninit_slice(len);
    let dst = std::sync::Arc::get_mut(&mut buf).expect("a new allocation is not shared");
    let mut at = 0;
    for part in parts {
        // a memcpy (a loop of byte writes was not turned into one)
        let d = &mut dst[at..at + part.len()];
        // SAFETY: `d` is `part.len()` bytes (the slice checked the bounds) of
        // a new allocation, so it cannot overlap `part`; `MaybeUninit<u8>`
        // has the layout of `u8`.
        unsafe { std::ptr::copy_nonoverlapping(part.as_ptr(), d.as_mut_ptr().cast::<u8>(), part.len()) };
        at += part.len();
    }
    debug_assert_eq!(at, len);
    // SAFETY: the loop above wrote all `len` bytes.
    let bytes = unsafe { buf.assume_init() };
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: the bytes are valid UTF-8: two slices of `flat` cut at char
    // boundaries (byte offsets of rope chars) around a `&str`; and `str`
    // has the layout of `[u8]`, so the pointer cast keeps the allocation.
    unsafe { std::sync::Arc::from_raw(std::sync::Arc::into_raw(bytes) as *const str) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn incremental_edits_with_emoji_and_crlf() {
        let mut d = Document::new("a: 😀x\r\nb: y\r\n", 1);
        // replace "x" (after the emoji: utf16 col 5) with "z"
        d.apply(&[TextEdit { range: Some((lc(0, 5), lc(0, 6))), text: "z".into() }], 2, Encoding::Utf16);
        assert_eq!(&**d.text(), "a: 😀z\r\nb: y\r\n");
        // utf-8: emoji is 4 bytes, so 'z' is at byte col 7
        d.apply(&[TextEdit { range: Some((lc(0, 7), lc(0, 8))), text: "w".into() }], 3, Encoding::Utf8);
        assert_eq!(&**d.text(), "a: 😀w\r\nb: y\r\n");
        // a column past the line end inserts before the CRLF
        d.apply(&[TextEdit { range: Some((lc(1, 99), lc(1, 99))), text: "!".into() }], 4, Encoding::Utf16);
        assert_eq!(&**d.text(), "a: 😀w\r\nb: y!\r\n");
        // two edits in one notification apply in order
        d.apply(
            &[
                TextEdit { range: Some((lc(0, 0), lc(0, 1))), text: "c".into() },
                TextEdit { range: Some((lc(0, 0), lc(0, 1))), text: "dd".into() },
            ],
            5,
            Encoding::Utf16,
        );
        assert_eq!(&**d.text(), "dd: 😀w\r\nb: y!\r\n");
        assert_eq!(d.version, 5);
        // full replacement
        d.apply(&[TextEdit { range: None, text: "x".into() }], 6, Encoding::Utf16);
        assert_eq!(&**d.text(), "x");
    }

    #[test]
    fn out_of_range_edit_clamps() {
        let mut d = Document::new("ab", 1);
        d.apply(&[TextEdit { range: Some((lc(5, 0), lc(9, 9))), text: "c".into() }], 2, Encoding::Utf16);
        assert_eq!(&**d.text(), "abc");
        d.apply(&[TextEdit { range: Some((lc(0, 2), lc(0, 1))), text: "".into() }], 3, Encoding::Utf16);
        assert_eq!(&**d.text(), "abc");
    }
}
