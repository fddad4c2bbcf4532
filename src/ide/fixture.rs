//! Test fixtures: a mini-language for multi-file workspaces with a cursor.
//!
//! ```text
//! # file: clusters/prod/apps.yaml
//! apiVersion: kustomize.toolkit.fluxcd.io/v1
//! kind: Kustomization
//! spec:
//!   sourceRef:
//!     name: fl$0ux-system
//! # file: clusters/prod/sync.yaml
//! ...
//! ```
//! A line `# file: PATH` starts a file (paths are relative to `/fixture`);
//! text before the first header goes to `/fixture/test.yaml`. `$0` marks the
//! cursor and is removed. Lines `# file:` are not part of any file.

use std::path::PathBuf;

use crate::workspace::{FileData, Workspace};

pub const ROOT: &str = "/fixture";

pub struct Fixture {
    pub ws: Workspace,
    /// The file holding `$0` (or the first file) and the cursor offset in it.
    pub path: PathBuf,
    pub cursor: Option<usize>,
    pub files: Vec<(PathBuf, String)>,
}

impl Fixture {
    pub fn parse(src: &str) -> Fixture {
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        let mut cur: Option<(PathBuf, String)> = None;
        for line in src.split_inclusive('\n') {
            if let Some(p) = line.trim_end().strip_prefix("# file: ") {
                if let Some(f) = cur.take() {
                    files.push(f);
                }
                cur = Some((PathBuf::from(ROOT).join(p.trim()), String::new()));
                continue;
            }
            cur.get_or_insert_with(|| (PathBuf::from(ROOT).join("test.yaml"), String::new())).1.push_str(line);
        }
        files.extend(cur);
        let mut ws = Workspace::default();
        ws.roots = vec![PathBuf::from(ROOT)];
        let mut path = files.first().map(|f| f.0.clone()).unwrap_or_else(|| PathBuf::from(ROOT).join("test.yaml"));
        let mut cursor = None;
        for (p, text) in &mut files {
            if let Some(i) = text.find("$0") {
                text.replace_range(i..i + 2, "");
                cursor = Some(i);
                path = p.clone();
            }
            ws.set_file(p.clone(), text.clone(), None);
        }
        Fixture { ws, path, cursor, files }
    }

    /// The file holding the cursor.
    pub fn file(&self) -> &FileData {
        self.ws.file(&self.path).expect("fixture file")
    }

    pub fn offset(&self) -> usize {
        self.cursor.expect("fixture has no $0 cursor")
    }

    /// The text of a range in the cursor's file.
    pub fn slice(&self, r: crate::text::TextRange) -> &str {
        &self.file().text[r.start..r.end]
    }

    /// Diagnostics of the cursor's file as (code, covered text).
    pub fn diagnostics(&self) -> Vec<(&'static str, String)> {
        let a = self.ws.analysis();
        super::diagnostics::file_diagnostics(&a, self.file())
            .into_iter()
            .map(|d| (d.code, self.slice(d.range).to_string()))
            .collect()
    }

    /// Diagnostics of one file of the fixture by relative path.
    pub fn diagnostics_of(&self, rel: &str) -> Vec<super::Diagnostic> {
        let a = self.ws.analysis();
        let f = self.ws.file(&PathBuf::from(ROOT).join(rel)).expect("fixture file");
        super::diagnostics::file_diagnostics(&a, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_files_and_cursor() {
        let f = Fixture::parse("a: 1\n# file: b/c.yaml\nx: y$0z\n");
        assert_eq!(f.files.len(), 2);
        assert_eq!(f.path, PathBuf::from("/fixture/b/c.yaml"));
        assert_eq!(f.offset(), 4);
        assert_eq!(&*f.file().text, "x: yz\n");
        assert_eq!(f.diagnostics(), vec![]);
    }
}
