//! Document symbols: one per object (`Kind name`), with the spec's top-level
//! keys as children.

use crate::syntax::NodeKind;
use crate::text::TextRange;
use crate::workspace::{FileData, ObjectClass};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    pub range: TextRange,
    pub selection: TextRange,
    pub children: Vec<Symbol>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Object,
    Field,
}

pub fn document_symbols(file: &FileData) -> Vec<Symbol> {
    let mut out = Vec::new();
    for obj in &file.summary.objects {
        if obj.class == ObjectClass::NotKube {
            continue;
        }
        let doc = &file.syntax.docs[obj.doc];
        let tree = &doc.parsed.tree;
        let mut children = Vec::new();
        if let Some(spec) = tree.lookup(&["spec"])
            && let NodeKind::Map { entries, .. } = &tree.node(spec).kind
        {
            for e in entries {
                let key = tree.scalar(e.key).unwrap_or("").to_string();
                children.push(Symbol {
                    name: key,
                    detail: None,
                    kind: SymbolKind::Field,
                    range: doc.abs(e.range),
                    selection: doc.abs(tree.node(e.key).range),
                    children: Vec::new(),
                });
            }
        }
        let name = match &obj.name {
            Some(n) => format!("{} {}", obj.kind_str(), n.value),
            None => obj.kind_str().to_string(),
        };
        let range = trim_range(&file.text, obj.range);
        let selection = obj.anchor_range();
        out.push(Symbol {
            name,
            detail: obj
                .namespace
                .as_ref()
                .map(|n| n.value.to_string())
                .or_else(|| obj.api_version.as_ref().map(|a| a.value.to_string())),
            kind: SymbolKind::Object,
            range: range.cover(selection),
            selection,
            children,
        });
    }
    out
}

/// The document's range without trailing blank lines.
fn trim_range(text: &str, r: TextRange) -> TextRange {
    let s = &text[r.start..r.end];
    TextRange::new(r.start, r.start + s.trim_end().len())
}
