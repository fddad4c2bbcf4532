//! Soak: random edits across 50 open documents with completion, hover and
//! references interleaved. No crash, every document's final text equals the
//! client's, and memory is flat after warm-up.
//!
//! CI runs the full 100,000 edits (about 40 s in a debug build, 4 s in
//! release); `cargo test --release --test soak -- --nocapture` prints the
//! memory curve, `SOAK_EDITS=N` changes the length.

mod common;

use common::{Client, Options};
use serde_json::json;

fn object(i: usize) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-{i}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/{i}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn:\n    - name: app-{}\n",
        (i + 1) % 50
    )
}

#[test]
fn random_edits_across_fifty_documents() {
    let edits: usize = std::env::var("SOAK_EDITS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let mut docs: Vec<(String, String, i32)> = (0..50)
        .map(|i| {
            let text = object(i);
            let u = c.open(&dir.path().join(format!("app-{i}.yaml")), &text);
            (u, text, 1)
        })
        .collect();
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut rnd = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let mut curve = Vec::new();
    for k in 0..edits {
        let d = rnd(docs.len());
        let (uri, text, version) = &mut docs[d];
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let at = rnd(chars.len() + 1);
        let byte = chars.get(at).map(|c| c.0).unwrap_or(text.len());
        let before = &text[..byte];
        let line = before.matches('\n').count();
        let col = before[before.rfind('\n').map(|i| i + 1).unwrap_or(0)..].encode_utf16().count();
        // keep documents around their original size: delete as often as insert
        let delete = at < chars.len() && chars[at].1 != '\n' && rnd(2) == 0;
        let (end, new_text) = if delete {
            let ch = chars[at].1;
            text.replace_range(byte..byte + ch.len_utf8(), "");
            (col + ch.len_utf16(), String::new())
        } else {
            let ins = ["x", "é", "1", " ", ":", "-", "a", "${V}"][rnd(8)];
            text.insert_str(byte, ins);
            (col, ins.to_string())
        };
        *version += 1;
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": *version}, "contentChanges": [{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": end}}, "text": new_text}]}),
        );
        let uri = uri.clone();
        match k % 50 {
            10 => {
                c.send_request(
                    "textDocument/completion",
                    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}),
                );
            }
            20 => {
                c.send_request(
                    "textDocument/hover",
                    json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 9}}),
                );
            }
            30 => {
                c.send_request("textDocument/references", json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 9}, "context": {"includeDeclaration": true}}));
            }
            _ => {}
        }
        if k % 1000 == 999 {
            // a round trip keeps the client from running far ahead, and drops
            // what was received so far (the harness keeps notifications)
            assert!(c.document_text(&uri).is_some());
            c.notifications.clear();
        }
        if k % (edits / 10).max(1) == 0 {
            curve.push((k, c.rss_kib()));
        }
    }
    for (uri, text, _) in &docs {
        assert_eq!(c.document_text(uri).as_deref(), Some(text.as_str()), "{uri}");
    }
    curve.push((edits, c.rss_kib()));
    println!("soak memory curve (edits, RSS KiB): {curve:?}");
    // flat after warm-up: the end is within 1.5x + 20 MiB of the level at 20%
    let warm = curve[curve.len().min(3) - 1].1;
    let end = curve.last().unwrap().1;
    assert!(end <= warm * 3 / 2 + 20 * 1024, "memory grew from {warm} KiB to {end} KiB: {curve:?}");
    assert!(c.is_alive());
    c.shutdown();
}
