//! Text layer: rope documents, line index, position encodings, edits.
//!
//! Everything inside the server works on UTF-8 byte offsets. Conversions to
//! and from LSP positions (UTF-16 or UTF-8 code units) happen only through
//! [`LineIndex`], which is exact for non-ASCII text, CRLF and lone CR.

mod document;
mod line_index;

pub use document::{ByteEdit, Document, EditHint, TextEdit};
pub use line_index::{Encoding, LineCol, LineIndex};

/// A file's text as the analysis reads it: shared by the snapshots that
/// read it, and changed where it is (no copy) when nothing else holds it.
#[derive(Clone, Default)]
pub struct Text(std::sync::Arc<String>);

impl Text {
    /// Replaces `self[start..end]` by `insert`: in place when this is the
    /// only holder, else in a copy.
    pub fn edit(&mut self, start: usize, end: usize, insert: &str) {
        let s = std::sync::Arc::make_mut(&mut self.0);
        let grow = insert.len().saturating_sub(end - start);
        if s.capacity() - s.len() < grow {
            // room for the next keystrokes too (not double: a 7 MB file
            // would keep 7 MB more)
            s.reserve_exact(grow + 64 * 1024);
        }
        s.replace_range(start..end, insert);
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self.0, f)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(std::sync::Arc::new(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(std::sync::Arc::new(s.to_string()))
    }
}

/// A half-open byte range `[start, end)` into a text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
    pub const fn empty(at: usize) -> Self {
        Self { start: at, end: at }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// Inclusive of the end, so a cursor just after a token is inside it.
    pub fn contains_inclusive(&self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset < self.end
    }
    pub fn shift(self, by: usize) -> Self {
        Self::new(self.start + by, self.end + by)
    }
    /// The same range `delta` bytes later (earlier when negative).
    pub fn moved(self, delta: isize) -> Self {
        Self::new(self.start.wrapping_add_signed(delta), self.end.wrapping_add_signed(delta))
    }
    pub fn cover(self, other: Self) -> Self {
        Self::new(self.start.min(other.start), self.end.max(other.end))
    }
}
