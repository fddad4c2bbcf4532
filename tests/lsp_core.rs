//! End-to-end tests of the core server over stdio.

mod common;

use common::{Client, Options, pos_utf16};
use serde_json::{Value, json};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn syntax_error_range_is_exact_in_utf16_with_emoji() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    assert_eq!(c.encoding(), "utf-16");
    // the error is after an emoji (2 UTF-16 units, 4 bytes) and an é
    let text = "metadata:\n  name: \"😀é\"\ndata: [1, 2\nkey: 3\n";
    let u = c.open(&dir.path().join("a.yaml"), text);
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(d[0]["code"], "yaml-syntax");
    let (l, col) = pos_utf16(text, ": 3");
    assert_eq!(d[0]["range"]["start"], json!({"line": l, "character": col}));
    // a hover after the emoji on line 1 must not fail
    let r =
        c.request("textDocument/hover", json!({"textDocument": {"uri": u}, "position": {"line": 1, "character": 10}}));
    assert!(r.is_ok(), "{r:?}");
    c.shutdown();
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), utf8: true, ..Default::default() });
    assert_eq!(c.encoding(), "utf-8");
    let text = "a: \"😀\"\nb: 1\nb: 2\n";
    let u = c.open(&dir.path().join("a.yaml"), text);
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(d[0]["code"], "duplicate-key");
    assert_eq!(d[0]["range"], json!({"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 1}}));
    // an edit in UTF-8 columns: the closing quote ends at byte 9 (the emoji is 4 bytes)
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"range": {"start": {"line": 0, "character": 9}, "end": {"line": 0, "character": 9}}, "text": " # x"}]}),
    );
    assert_eq!(c.document_text(&u).unwrap(), "a: \"😀\" # x\nb: 1\nb: 2\n");
    c.shutdown();
}

#[test]
fn crlf_documents_keep_exact_positions_and_edits() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let text = "a: 1\r\nb: 2\r\nb: 3\r\n";
    let u = c.open(&dir.path().join("crlf.yaml"), text);
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(d[0]["range"]["start"], json!({"line": 2, "character": 0}));
    // fix the duplicate: change `b` on line 2 to `c`
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 1}}, "text": "c"}]}),
    );
    let d = c.wait_diagnostics(&u, |d| d.is_empty());
    assert!(d.is_empty());
    assert_eq!(c.document_text(&u).unwrap(), "a: 1\r\nb: 2\r\nc: 3\r\n");
    c.shutdown();
}

/// 1,000 rapid incremental edits, sent without waiting: the server's text
/// must equal the client's (edits applied in order, none lost).
#[test]
fn one_thousand_rapid_edits_are_applied_in_order() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n  k: é\n");
    let u = c.open(&dir.path().join("edit.yaml"), &text);
    let mut seed = 42u64;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for v in 2..1002 {
        // pick a char boundary and either insert or delete one char
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let at = if chars.is_empty() { 0 } else { rnd(chars.len() + 1) };
        let byte = chars.get(at).map(|c| c.0).unwrap_or(text.len());
        let (line, col) = {
            let before = &text[..byte];
            let line = before.matches('\n').count();
            let ls = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
            (line, text[ls..byte].encode_utf16().count())
        };
        let insert = ["x", "é", "😀", "\n", " ", ":"][rnd(6)];
        let delete = at < chars.len() && chars[at].1 != '\n' && rnd(3) == 0;
        let (end, new_text) = if delete {
            let c = chars[at].1;
            text.replace_range(byte..byte + c.len_utf8(), "");
            (col + c.len_utf16(), "")
        } else {
            text.insert_str(byte, insert);
            (col, insert)
        };
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": v}, "contentChanges": [{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": end}}, "text": new_text}]}),
        );
        if v % 100 == 0 {
            // interleave a request, as an editor does
            let _ = c.send_request(
                "textDocument/hover",
                json!({"textDocument": {"uri": u}, "position": {"line": 0, "character": 1}}),
            );
        }
    }
    assert_eq!(c.document_text(&u).unwrap(), text);
    c.shutdown();
}

#[test]
fn a_handler_panic_answers_with_an_error_and_the_server_goes_on() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let u = c.open(&dir.path().join("p.yaml"), "a: 1\n");
    let e = c.request("flux-lsp/debugPanic", json!({})).unwrap_err();
    assert_eq!(e["code"], -32603, "{e}");
    assert!(e["message"].as_str().unwrap().contains("internal error"));
    // still answering, still applying edits
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": "b: 2\n"}]}),
    );
    assert_eq!(c.document_text(&u).unwrap(), "b: 2\n");
    let syms = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": u}}));
    assert!(syms.is_ok());
    assert!(c.is_alive());
    c.shutdown();
}

#[test]
fn malformed_messages_get_errors_and_the_server_keeps_answering() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    c.send_raw(&common::frame("{\"jsonrpc\": \"2.0\", \"id\": 77, \"method\""));
    c.send_raw(&common::frame("[1, 2, 3]"));
    c.send_raw(b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc");
    c.send_raw(&common::frame("{\"jsonrpc\": \"2.0\", \"id\": 78}"));
    let e = c.wait_response(json!(78)).unwrap_err();
    assert_eq!(e["code"], -32600);
    let unknown = c.request("flux-lsp/noSuchMethod", json!({})).unwrap_err();
    assert_eq!(unknown["code"], -32601);
    // out-of-range positions and a change for a document never opened
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///never/opened.yaml", "version": 2}, "contentChanges": [{"text": "x"}]}),
    );
    let u = c.open(&dir.path().join("m.yaml"), "a: 1\n");
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": u}, "position": {"line": 999, "character": 999}}),
    );
    assert!(h.is_ok());
    assert_eq!(c.document_text(&u).unwrap(), "a: 1\n");
    assert!(c.is_alive());
    c.shutdown();
}

fn write(dir: &std::path::Path, rel: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const REPO: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://github.com/stefanprodan/podinfo\n";

#[test]
fn indexes_the_workspace_with_progress_and_publishes_every_file() {
    let dir = tempdir();
    write(dir.path(), "clusters/repo.yaml", REPO);
    let broken = write(dir.path(), "apps/broken.yaml", "a: [1\n");
    write(dir.path(), ".git/config.yaml", "a: [1\n");
    write(dir.path(), "ignored/x.yaml", "a: [1\n");
    write(dir.path(), ".gitignore", "ignored/\n");
    write(dir.path(), "chart/Chart.yaml", "name: c\n");
    write(dir.path(), "chart/templates/t.yaml", "a: {{ .Values.x }\n");
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let d = c.wait_diagnostics(&common::uri(&broken), |d| !d.is_empty());
    assert_eq!(d[0]["code"], "yaml-syntax");
    let begin = c.wait_notification("progress begin", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin"
    });
    assert_eq!(begin["params"]["value"]["title"], "Indexing Flux manifests");
    c.wait_notification("progress end", |m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end");
    // nothing from .git, .gitignored paths or chart templates
    let sym = c.request("workspace/symbol", json!({"query": "gitrepo podinfo"})).unwrap();
    let names: Vec<&str> = sym.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["GitRepository podinfo"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let published: Vec<String> = c
        .notifications
        .iter()
        .filter(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && !m["params"]["diagnostics"].as_array().unwrap().is_empty()
        })
        .map(|m| m["params"]["uri"].as_str().unwrap().to_string())
        .collect();
    assert!(
        published.iter().all(|u| !u.contains("/.git/") && !u.contains("/ignored/") && !u.contains("/templates/")),
        "{published:?}"
    );
    c.shutdown();
}

#[test]
fn watched_file_changes_update_the_index_and_open_text_overrides_disk() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    c.wait_notification("progress end", |m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end");
    let reg = c.notifications.iter().any(|m| m["method"] == "client/registerCapability");
    assert!(reg, "the server registers a file watcher");
    let p = write(dir.path(), "new.yaml", "x: 1\nx: 2\n");
    let u = common::uri(&p);
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": u, "type": 1}]}));
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(d[0]["code"], "duplicate-key");
    // open with different text: the open text wins over disk
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "yaml", "version": 1, "text": "x: 1\n"}}),
    );
    c.wait_diagnostics(&u, |d| d.is_empty());
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": u, "type": 2}]}));
    assert_eq!(c.document_text(&u).unwrap(), "x: 1\n");
    // close: back to the disk content; delete: diagnostics cleared
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": u}}));
    c.wait_diagnostics(&u, |d| !d.is_empty());
    std::fs::remove_file(&p).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": u, "type": 3}]}));
    c.wait_diagnostics(&u, |d| d.is_empty());
    assert_eq!(c.document_text(&u), None);
    c.shutdown();
}

#[test]
fn diagnostics_carry_the_version_they_were_computed_for() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let u = c.open(&dir.path().join("v.yaml"), "a: 1\n");
    for v in 2..=20 {
        let text = if v % 2 == 0 { "a: [\n" } else { "a: 1\n" };
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": v}, "contentChanges": [{"text": text}]}),
        );
    }
    // v20 is the broken text: the last published diagnostics must be for v20
    let m = c.wait_notification("diagnostics for v20", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == u.as_str()
            && m["params"]["version"] == 20
    });
    assert!(!m["params"]["diagnostics"].as_array().unwrap().is_empty());
    let versions: Vec<i64> = c
        .notifications
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == u.as_str())
        .filter_map(|m| m["params"]["version"].as_i64())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions out of order: {versions:?}");
    c.shutdown();
}

#[test]
fn document_symbols_outline_objects_with_spec_keys() {
    let dir = tempdir();
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), ..Default::default() });
    let text = format!("{REPO}---\nname: not-kube\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n");
    let u = c.open(&dir.path().join("s.yaml"), &text);
    let r = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": u}})).unwrap();
    let syms = r.as_array().unwrap();
    let names: Vec<&str> = syms.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["GitRepository podinfo", "Secret s"]);
    let kids: Vec<&str> = syms[0]["children"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(kids, vec!["interval", "url"]);
    let (l, col) = pos_utf16(&text, "podinfo\n");
    assert_eq!(syms[0]["selectionRange"]["start"], json!({"line": l, "character": col}));
    c.shutdown();
}

#[test]
fn settings_change_severities_and_exit_without_shutdown_ends_the_process() {
    let dir = tempdir();
    let settings = json!({"diagnostics": {"severity": {"duplicate-key": "hint"}}});
    let mut c = Client::start(Options { root: Some(dir.path().to_path_buf()), settings, ..Default::default() });
    c.wait_notification("progress end", |m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end");
    let u = c.open(&dir.path().join("s.yaml"), "a: 1\na: 2\n");
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(d[0]["severity"], 4);
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"fluxLsp": {"diagnostics": {"severity": {"duplicate-key": "off"}}}}}),
    );
    c.wait_diagnostics(&u, |d| d.is_empty());
    c.notify("exit", Value::Null);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.is_alive() {
        assert!(std::time::Instant::now() < deadline, "server did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
