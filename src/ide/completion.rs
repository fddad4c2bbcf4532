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

/// At most this many items are sent. A provider with more (the names of
/// 5,000 Kustomizations for a `dependsOn`) keeps those whose label holds
/// the typed word's characters in order, nearest first, and marks the list
/// incomplete: the editor asks again as the user types or deletes.
pub const MAX_ITEMS: usize = 200;

/// What the editor gets: the items, and whether more would match.
#[derive(Debug, Default)]
pub struct CompletionList {
    pub items: Vec<CompletionItem>,
    pub incomplete: bool,
}

impl From<Vec<CompletionItem>> for CompletionList {
    fn from(items: Vec<CompletionItem>) -> Self {
        CompletionList { items, incomplete: false }
    }
}

/// A completion provider: returns None when the cursor is not its business,
/// Some(list) (possibly empty) when it is, which stops the search.
pub type Provider = fn(&Analysis, &FileData, usize) -> Option<CompletionList>;

/// Providers, most specific first.
pub const PROVIDERS: &[Provider] = &[
    |a, f, o| super::image_markers::marker_completion(a, f, o).map(Into::into),
    |a, f, o| super::substitution::variable_completion(a, f, o).map(Into::into),
    super::references::reference_completion,
    |a, f, o| super::chart_values::values_completion(a, f, o).map(Into::into),
    |a, f, o| super::schema_completion::schema_completion(a, f, o).map(Into::into),
];

/// The items at `offset` (at most [`MAX_ITEMS`]).
pub fn completions(a: &Analysis, file: &FileData, offset: usize) -> Vec<CompletionItem> {
    completion_list(a, file, offset).items
}

pub fn completion_list(a: &Analysis, file: &FileData, offset: usize) -> CompletionList {
    let Some(mut list) = PROVIDERS.iter().find_map(|p| p(a, file, offset)) else { return CompletionList::default() };
    if list.items.len() > MAX_ITEMS {
        // (a provider that cuts its own list does it before writing each
        // item's documentation; this is for the others)
        let typed = typed_word(file, offset, list.items.iter().find_map(|i| i.replace));
        list.items.retain(|i| holds_in_order(i.filter_text.as_deref().unwrap_or(&i.label), typed));
        list.items
            .sort_by(|x, y| x.sort_text.as_deref().unwrap_or(&x.label).cmp(y.sort_text.as_deref().unwrap_or(&y.label)));
        list.items.truncate(MAX_ITEMS);
        list.incomplete = true;
    }
    list
}

/// The part of the word being completed before the cursor: from the start
/// of the range an item replaces, else from the last space, quote or colon.
pub fn typed_word(file: &FileData, offset: usize, replace: Option<TextRange>) -> &str {
    let text = &file.text[..offset.min(file.text.len())];
    let start = match replace {
        Some(r) if r.start <= offset => r.start,
        _ => text.rfind(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ':')).map(|i| i + 1).unwrap_or(0),
    };
    text.get(start..).unwrap_or("")
}

/// Does `label` hold the characters of `typed` in order (ignoring case)? The
/// matching editors do is at least this strict, so nothing they would show
/// is left out.
pub fn holds_in_order(label: &str, typed: &str) -> bool {
    let mut it = label.chars().flat_map(char::to_lowercase);
    typed.chars().flat_map(char::to_lowercase).all(|c| it.any(|x| x == c))
}
