//! Any bytes: parse, diagnose, and ask every feature at a few offsets.
#![no_main]

use std::path::PathBuf;

use flux_lsp::ide;
use flux_lsp::workspace::Workspace;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let mut ws = Workspace::default();
    let path = PathBuf::from("/fuzz/a.yaml");
    ws.roots = vec![PathBuf::from("/fuzz")];
    ws.set_file(path.clone(), text.clone(), Some(1));
    let a = ws.analysis();
    let f = ws.file(&path).unwrap();
    let diags = ide::diagnostics::file_diagnostics(&a, f);
    for d in &diags {
        assert!(
            d.range.end <= text.len() && text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end)
        );
    }
    for off in [0, text.len() / 3, text.len() / 2, text.len()] {
        let mut o = off;
        while !text.is_char_boundary(o) {
            o -= 1;
        }
        let _ = ide::completion::completions(&a, f, o);
        let _ = ide::hover::hover(&a, f, o);
        let _ = ide::navigation::goto_definition(&a, f, o);
    }
});
