//! Navigation along references: definition, references, rename, links.

use std::path::PathBuf;

use super::Edit;
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub path: PathBuf,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentLink {
    pub range: TextRange,
    /// A file path or a URL.
    pub target: String,
    pub tooltip: Option<String>,
}

pub fn goto_definition(_a: &Analysis, _file: &FileData, _offset: usize) -> Vec<Location> {
    Vec::new()
}

pub fn references(_a: &Analysis, _file: &FileData, _offset: usize, _include_declaration: bool) -> Vec<Location> {
    Vec::new()
}

pub fn prepare_rename(_a: &Analysis, _file: &FileData, _offset: usize) -> Option<TextRange> {
    None
}

/// Edits (each with its path set) that rename the object at the cursor.
pub fn rename(_a: &Analysis, _file: &FileData, _offset: usize, _new_name: &str) -> Option<Vec<Edit>> {
    None
}

pub fn document_links(_a: &Analysis, _file: &FileData) -> Vec<DocumentLink> {
    Vec::new()
}
