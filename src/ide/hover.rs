//! Hover: the first provider with something to say at the cursor answers.

use crate::text::TextRange;
use crate::workspace::{Analysis, FileData};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    pub range: TextRange,
    pub markdown: String,
}

pub type Provider = fn(&Analysis, &FileData, usize) -> Option<Hover>;

/// Providers, most specific first.
pub const PROVIDERS: &[Provider] = &[
    super::chart_values::chart_hover,
    super::references::reference_hover,
    super::image_markers::marker_hover,
    super::substitution::variable_hover,
    super::references::object_hover,
    super::chart_values::values_hover,
    super::schema_hover::schema_hover,
];

pub fn hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    PROVIDERS.iter().find_map(|p| p(a, file, offset))
}
