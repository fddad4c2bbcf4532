//! Completion: each provider looks at the cursor and offers what fits.

use crate::text::TextRange;
use crate::workspace::{Analysis, FileData};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Field,
    Value,
    EnumMember,
    Kind,
    Snippet,
    Reference,
    Variable,
    Keyword,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionItem {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    /// Markdown.
    pub documentation: Option<String>,
    /// Text to insert (defaults to the label); a snippet when `is_snippet`.
    pub insert_text: Option<String>,
    pub is_snippet: bool,
    /// The range the insert text replaces (defaults to the word at the cursor).
    pub replace: Option<TextRange>,
    pub sort_text: Option<String>,
    pub filter_text: Option<String>,
}

impl CompletionItem {
    pub fn new(label: impl Into<String>, kind: CompletionKind) -> Self {
        Self {
            label: label.into(),
            kind,
            detail: None,
            documentation: None,
            insert_text: None,
            is_snippet: false,
            replace: None,
            sort_text: None,
            filter_text: None,
        }
    }
}

/// A completion provider: returns None when the cursor is not its business,
/// Some(items) (possibly empty) when it is, which stops the search.
pub type Provider = fn(&Analysis, &FileData, usize) -> Option<Vec<CompletionItem>>;

/// Providers, most specific first.
pub const PROVIDERS: &[Provider] = &[
    super::image_markers::marker_completion,
    super::substitution::variable_completion,
    super::references::reference_completion,
    super::chart_values::values_completion,
    super::schema_completion::schema_completion,
];

pub fn completions(a: &Analysis, file: &FileData, offset: usize) -> Vec<CompletionItem> {
    for p in PROVIDERS {
        if let Some(items) = p(a, file, offset) {
            return items;
        }
    }
    Vec::new()
}
