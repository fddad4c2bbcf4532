//! Code actions: the quick fixes of the diagnostics under the cursor, plus
//! refactorings offered by providers.

use super::{Diagnostic, Edit};
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    QuickFix,
    Refactor,
    /// Applies to the whole file (e.g. migrate every removed apiVersion).
    Source,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeAction {
    pub title: String,
    pub kind: ActionKind,
    pub edits: Vec<Edit>,
    pub diagnostic: Option<Diagnostic>,
    pub preferred: bool,
}

pub type Provider = fn(&Analysis, &FileData, TextRange) -> Vec<CodeAction>;

pub const PROVIDERS: &[Provider] = &[super::migrate::migrate_file_action, super::chart_values::insert_defaults_action];

/// Quick fixes of `diagnostics` that overlap `range`, then provider actions.
pub fn code_actions(a: &Analysis, file: &FileData, range: TextRange, diagnostics: &[Diagnostic]) -> Vec<CodeAction> {
    let mut out = Vec::new();
    for d in diagnostics {
        let overlaps = d.range.start <= range.end && range.start <= d.range.end;
        if !overlaps {
            continue;
        }
        for f in &d.fixes {
            out.push(CodeAction {
                title: f.title.clone(),
                kind: ActionKind::QuickFix,
                edits: f.edits.clone(),
                diagnostic: Some(d.clone()),
                preferred: f.preferred,
            });
        }
    }
    for p in PROVIDERS {
        out.extend(p(a, file, range));
    }
    out
}
