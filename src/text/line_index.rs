use super::TextRange;

/// How the client counts columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    #[default]
    Utf16,
}

/// A zero-based line and a column in code units of some [`Encoding`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// Line start offsets of a text. Lines end at `\n`, `\r\n` or a lone `\r`,
/// as the LSP specification says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(i + 1);
                }
                _ => {}
            }
            i += 1;
        }
        Self { starts, len: bytes.len() }
    }

    /// Follows a change: the index becomes that of `new_text`, which is
    /// this index's text with the bytes `start..old_end` replaced by
    /// `start..new_end`. Line starts before the change are kept, those after
    /// it moved, and only the changed bytes are scanned. (Whether `p` starts
    /// a line depends on the bytes at `p - 1` and `p` only.)
    pub fn edit(&mut self, new_text: &str, start: usize, old_end: usize, new_end: usize) {
        let b = new_text.as_bytes();
        let before = self.starts.partition_point(|&s| s < start);
        let after = self.starts.partition_point(|&s| s <= old_end);
        let mut mid = Vec::new();
        if start == 0 {
            mid.push(0);
        }
        for p in start.max(1)..=new_end.min(b.len()) {
            let c = b[p - 1];
            if c == b'\n' || (c == b'\r' && b.get(p) != Some(&b'\n')) {
                mid.push(p);
            }
        }
        for s in &mut self.starts[after..] {
            *s = *s - old_end + new_end;
        }
        self.starts.splice(before..after, mid);
        self.len = b.len();
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte offset where `line` starts (clamped to the last line).
    pub fn line_start(&self, line: usize) -> usize {
        self.starts[line.min(self.starts.len() - 1)]
    }

    /// Byte range of a line without its terminator.
    pub fn line_range(&self, text: &str, line: usize) -> TextRange {
        let start = self.line_start(line);
        let mut end = if line + 1 < self.starts.len() { self.starts[line + 1] } else { self.len };
        let b = text.as_bytes();
        while end > start && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
            end -= 1;
        }
        TextRange::new(start, end)
    }

    /// Zero-based line containing a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        }
    }

    /// Converts a byte offset to a line and column in `enc` units. Offsets
    /// inside a character or past the end are clamped.
    pub fn line_col(&self, text: &str, offset: usize, enc: Encoding) -> LineCol {
        let offset = clamp_to_char(text, offset.min(self.len));
        let line = self.line_of(offset);
        let start = self.starts[line];
        let seg = &text[start..offset];
        let col = match enc {
            Encoding::Utf8 => seg.len(),
            Encoding::Utf16 => seg.chars().map(char::len_utf16).sum(),
        };
        LineCol { line: line as u32, col: col as u32 }
    }

    /// Converts a line and column in `enc` units to a byte offset. A column
    /// past the end of its line clamps to the line end (before the line
    /// terminator); a line past the end clamps to the end of the text; a
    /// column inside a character (half a surrogate pair) rounds down.
    pub fn offset(&self, text: &str, pos: LineCol, enc: Encoding) -> usize {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            return self.len;
        }
        let range = self.line_range(text, line);
        let seg = &text[range.start..range.end];
        let want = pos.col as usize;
        match enc {
            Encoding::Utf8 => range.start + clamp_to_char(seg, want.min(seg.len())),
            Encoding::Utf16 => {
                let mut units = 0;
                for (i, c) in seg.char_indices() {
                    let next = units + c.len_utf16();
                    if next > want {
                        return range.start + i;
                    }
                    units = next;
                }
                range.end
            }
        }
    }

    /// Character column (1-based) of an offset, as reported by `check`.
    pub fn char_col(&self, text: &str, offset: usize) -> usize {
        let offset = clamp_to_char(text, offset.min(self.len));
        let line = self.line_of(offset);
        text[self.starts[line]..offset].chars().count() + 1
    }
}

/// Rounds a byte offset down to a char boundary.
pub fn clamp_to_char(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_count_surrogate_pairs() {
        let text = "a: \"😀é\"\nb: x\n";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.line_col(text, x, Encoding::Utf16), LineCol { line: 1, col: 3 });
        let close = text.rfind('"').unwrap();
        // a: "  = 4 units, emoji = 2, é = 1
        assert_eq!(idx.line_col(text, close, Encoding::Utf16), LineCol { line: 0, col: 7 });
        assert_eq!(idx.line_col(text, close, Encoding::Utf8), LineCol { line: 0, col: 10 });
        assert_eq!(idx.offset(text, LineCol { line: 0, col: 7 }, Encoding::Utf16), close);
        assert_eq!(idx.offset(text, LineCol { line: 0, col: 10 }, Encoding::Utf8), close);
        // half a surrogate pair rounds down to the emoji start
        assert_eq!(idx.offset(text, LineCol { line: 0, col: 5 }, Encoding::Utf16), 4);
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "a\r\nb\rc\nd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 4);
        assert_eq!(idx.line_start(1), 3);
        assert_eq!(idx.line_start(2), 5);
        assert_eq!(idx.line_start(3), 7);
        // a column past the end clamps before the CRLF
        assert_eq!(idx.offset(text, LineCol { line: 0, col: 9 }, Encoding::Utf16), 1);
        assert_eq!(idx.offset(text, LineCol { line: 9, col: 0 }, Encoding::Utf16), text.len());
        assert_eq!(idx.line_range(text, 0), TextRange::new(0, 1));
    }
}
