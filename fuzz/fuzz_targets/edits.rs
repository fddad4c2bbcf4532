//! A start text and a sequence of edits in UTF-16 positions: the document
//! must equal the model string, and the incremental parse a fresh one.
#![no_main]

use flux_lsp::syntax::SyntaxFile;
use flux_lsp::text::{Document, Encoding, LineCol, TextEdit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, Vec<(u16, u16, u8, u8, String)>)| {
    let (start, edits) = input;
    let mut model = start.clone();
    let mut doc = Document::new(&start, 1);
    let mut syntax = SyntaxFile::parse(&start, None);
    for (i, (line, col, dl, dc, text)) in edits.into_iter().take(64).enumerate() {
        let s = LineCol { line: line as u32 % 64, col: col as u32 % 200 };
        let e = LineCol { line: s.line + dl as u32 % 3, col: dc as u32 % 200 };
        let idx = flux_lsp::text::LineIndex::new(&model);
        let so = idx.offset(&model, s, Encoding::Utf16);
        let eo = idx.offset(&model, e, Encoding::Utf16).max(so);
        model.replace_range(so..eo, &text);
        doc.apply(&[TextEdit { range: Some((s, e)), text }], i as i32 + 2, Encoding::Utf16);
        assert_eq!(&**doc.text(), model.as_str());
        syntax = SyntaxFile::parse(doc.text(), Some(&syntax));
    }
    let fresh = SyntaxFile::parse(&model, None);
    assert_eq!(syntax.docs.len(), fresh.docs.len());
    for (a, b) in syntax.docs.iter().zip(&fresh.docs) {
        assert_eq!(a.span, b.span);
        assert_eq!(a.parsed.errors, b.parsed.errors);
        assert_eq!(a.parsed.tree.nodes.len(), b.parsed.tree.nodes.len());
    }
});
