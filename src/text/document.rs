use ropey::Rope;

use super::{Encoding, LineCol, Text};

/// One change of an LSP `didChange`: a range (None = whole document) and
/// the new text.
#[derive(Clone, Debug)]
pub struct TextEdit {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

/// Where a change fell, in bytes: `text[..start]` is unchanged, and the old
/// `text[old_end..]` is now `text[new_end..]`. The syntax layer uses it to
/// reuse the documents outside the change without comparing their text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditHint {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

/// One change in bytes: `text[start..end]` becomes `text` (offsets into the
/// text as the previous change of the same batch left it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl ByteEdit {
    pub fn hint(&self) -> EditHint {
        EditHint { start: self.start, old_end: self.end, new_end: self.start + self.text.len() }
    }
}

/// An open document: the rope is the source of truth for positions. The
/// flat text the analysis reads is not kept here but in the workspace,
/// which applies each change's [`ByteEdit`]s to it where it is (see
/// `Workspace::edit_file`): a keystroke in a 7 MB file copies nothing.
#[derive(Clone, Debug)]
pub struct Document {
    rope: Rope,
    pub version: i32,
}

impl Document {
    pub fn new(text: &str, version: i32) -> Self {
        Self { rope: Rope::from_str(text), version }
    }

    /// The whole text, written out from the rope (a copy: for opening a
    /// file, and for a workspace that could not follow a change).
    pub fn text(&self) -> Text {
        let mut s = String::with_capacity(self.rope.len_bytes());
        for chunk in self.rope.chunks() {
            s.push_str(chunk);
        }
        s.into()
    }

    /// Applies LSP content changes in order. Each range is resolved against
    /// the text as left by the previous change; out-of-range positions
    /// clamp. Returns the changes in bytes, for the workspace's copy.
    pub fn apply(&mut self, edits: &[TextEdit], version: i32, enc: Encoding) -> Vec<ByteEdit> {
        let mut out = Vec::with_capacity(edits.len());
        for edit in edits {
            let (s, e) = match edit.range {
                None => (0, self.rope.len_chars()),
                Some((start, end)) => {
                    let s = self.rope_char(start, enc);
                    (s, self.rope_char(end, enc).max(s))
                }
            };
            let (sb, eb) = (self.rope.char_to_byte(s), self.rope.char_to_byte(e));
            self.rope.remove(s..e);
            self.rope.insert(s, &edit.text);
            out.push(ByteEdit { start: sb, end: eb, text: edit.text.clone() });
        }
        self.version = version;
        out
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
        assert_eq!(&*d.text(), "a: 😀z\r\nb: y\r\n");
        // utf-8: emoji is 4 bytes, so 'z' is at byte col 7
        d.apply(&[TextEdit { range: Some((lc(0, 7), lc(0, 8))), text: "w".into() }], 3, Encoding::Utf8);
        assert_eq!(&*d.text(), "a: 😀w\r\nb: y\r\n");
        // a column past the line end inserts before the CRLF
        d.apply(&[TextEdit { range: Some((lc(1, 99), lc(1, 99))), text: "!".into() }], 4, Encoding::Utf16);
        assert_eq!(&*d.text(), "a: 😀w\r\nb: y!\r\n");
        // two edits in one notification apply in order
        d.apply(
            &[
                TextEdit { range: Some((lc(0, 0), lc(0, 1))), text: "c".into() },
                TextEdit { range: Some((lc(0, 0), lc(0, 1))), text: "dd".into() },
            ],
            5,
            Encoding::Utf16,
        );
        assert_eq!(&*d.text(), "dd: 😀w\r\nb: y!\r\n");
        assert_eq!(d.version, 5);
        // full replacement
        d.apply(&[TextEdit { range: None, text: "x".into() }], 6, Encoding::Utf16);
        assert_eq!(&*d.text(), "x");
    }

    #[test]
    fn out_of_range_edit_clamps() {
        let mut d = Document::new("ab", 1);
        d.apply(&[TextEdit { range: Some((lc(5, 0), lc(9, 9))), text: "c".into() }], 2, Encoding::Utf16);
        assert_eq!(&*d.text(), "abc");
        d.apply(&[TextEdit { range: Some((lc(0, 2), lc(0, 1))), text: "".into() }], 3, Encoding::Utf16);
        assert_eq!(&*d.text(), "abc");
    }
}
