//! Pure IDE features over an immutable [`Analysis`]: diagnostics, document
//! symbols, and (in their own modules) completion, hover, navigation and code
//! actions. Everything here works on byte offsets and returns plain data; only
//! `lsp` converts to protocol types.

pub mod actions;
pub mod chart_values;
pub mod completion;
pub mod diagnostics;
#[cfg(test)]
pub mod fixture;
pub mod hover;
pub mod image_markers;
pub mod migrate;
pub mod navigation;
pub mod references;
pub mod schema_completion;
pub mod schema_hover;
pub mod substitution;
pub mod symbols;
pub mod validate;

use std::path::PathBuf;

use crate::text::TextRange;
pub use crate::workspace::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
            Severity::Hint => "hint",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "information" | "info" => Severity::Information,
            "hint" => Severity::Hint,
            _ => return None,
        })
    }
}

/// One text replacement. `path: None` means the file the diagnostic is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub path: Option<PathBuf>,
    pub range: TextRange,
    pub new_text: String,
}

/// A quick fix attached to a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
    /// The preferred fix is applied by "fix all" and `check --fix`.
    pub preferred: bool,
}

/// A related place shown with a diagnostic (e.g. the other members of a cycle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub path: PathBuf,
    pub range: TextRange,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Absolute byte range in the file.
    pub range: TextRange,
    pub severity: Severity,
    /// Stable kebab-case code, listed in the README.
    pub code: &'static str,
    pub message: String,
    pub fixes: Vec<Fix>,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn new(code: &'static str, severity: Severity, range: TextRange, message: impl Into<String>) -> Self {
        Self { range, severity, code, message: message.into(), fixes: Vec::new(), related: Vec::new() }
    }
    /// The same diagnostic with every range in `path`'s own text moved by
    /// `delta` bytes (a document that moved inside its file).
    pub fn shifted(&self, delta: isize, path: &std::path::Path) -> Self {
        let mv = |r: TextRange| TextRange::new((r.start as isize + delta) as usize, (r.end as isize + delta) as usize);
        let mut d = self.clone();
        d.range = mv(d.range);
        for f in &mut d.fixes {
            for e in &mut f.edits {
                if e.path.as_deref().is_none_or(|p| p == path) {
                    e.range = mv(e.range);
                }
            }
        }
        for r in &mut d.related {
            if r.path == path {
                r.range = mv(r.range);
            }
        }
        d
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }
}
