//! Hostile input and protocol abuse, through the real binary (issue #8).
//! Each case asserts what the user sees: a clear diagnostic, and a server
//! that keeps answering with the right text.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Options};
use serde_json::{Value, json};

fn start(dir: &Path) -> Client {
    Client::start(Options { root: Some(dir.to_path_buf()), ..Default::default() })
}

/// The server answers a request promptly after the hostile input.
fn assert_responsive(c: &mut Client, uri: &str) {
    let t = Instant::now();
    let r = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    assert!(r.is_ok(), "{r:?}");
    let r =
        c.request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}}));
    assert!(r.is_ok(), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "slow answer: {:?}", t.elapsed());
    assert!(c.is_alive());
}

fn codes(d: &[Value]) -> Vec<String> {
    d.iter().map(|x| x["code"].as_str().unwrap_or("").to_string()).collect()
}

fn billion_laughs() -> String {
    let mut s = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10u8 {
        let (n, p) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        s.push_str(&format!("{n}: &{n} [{}]\n", vec![format!("*{p}"); 9].join(", ")));
    }
    s
}

#[test]
fn alias_bombs_and_deep_nesting_are_reported_not_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = start(dir.path());
    let cases: Vec<(&str, String)> = vec![
        ("bomb.yaml", billion_laughs()),
        ("flow.yaml", format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000))),
        ("flowmap.yaml", format!("a: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000))),
        // 2,000 block levels at one space each (~2 MB, under the size limit)
        ("block.yaml", (0..2000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect::<String>()),
        ("block300.yaml", (0..300).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect()),
    ];
    for (name, text) in cases {
        let u = c.open(&dir.path().join(name), &text);
        let d = c.wait_diagnostics(&u, |d| !d.is_empty());
        let cs = codes(&d);
        assert!(cs.iter().any(|c| c == "yaml-limits" || c == "file-too-large"), "{name}: {cs:?}");
        assert!(!cs.iter().any(|c| c == "yaml-syntax"), "{name}: a limit is not a syntax error: {cs:?}");
        assert_responsive(&mut c, &u);
    }
    c.shutdown();
}

#[test]
fn huge_files_and_lines_stay_responsive_and_say_what_was_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = start(dir.path());
    let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: v\n---\n";
    let big = doc.repeat(50_000_000 / doc.len());
    let u = c.open(&dir.path().join("big.yaml"), &big);
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["file-too-large"]);
    assert_responsive(&mut c, &u);
    // an edit at the end of the 50 MB document is applied
    let lines = big.matches('\n').count();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}, "text": "z: 1\n"}]}),
    );
    let t = c.document_text(&u).unwrap();
    assert!(t.ends_with("---\nz: 1\n") && t.len() == big.len() + 5);
    drop(t);
    // a single 5 MB line
    let long = format!("a: {}\n", "x".repeat(5_000_000));
    let u2 = c.open(&dir.path().join("long.yaml"), &long);
    let d = c.wait_diagnostics(&u2, |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["file-too-large"]);
    assert_responsive(&mut c, &u2);
    // a 1 MB line under the limit is analysed
    let mid = format!("a: 1\na: {}\n", "y".repeat(1_000_000));
    let u3 = c.open(&dir.path().join("mid.yaml"), &mid);
    let d = c.wait_diagnostics(&u3, |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["duplicate-key"]);
    c.shutdown();
}

#[test]
fn awkward_but_common_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = start(dir.path());
    // tabs as indentation: a syntax error naming tabs
    let u = c.open(&dir.path().join("tabs.yaml"), "a:\n\tb: 1\n");
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert!(d[0]["message"].as_str().unwrap().contains("tab"), "{d:?}");
    // mixed CRLF/LF and a BOM: valid, no diagnostics, exact positions after it
    let u = c.open(&dir.path().join("mixed.yaml"), "\u{feff}a: 1\r\nb: 2\nc: 3\r\nc: 4\n");
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["duplicate-key"]);
    assert_eq!(d[0]["range"]["start"], json!({"line": 3, "character": 0}));
    // a Helm template with a .yaml name outside a chart: one note, no errors
    let u = c.open(
        &dir.path().join("tpl.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\ndata: {}\n{{- end }}\n",
    );
    let d = c.wait_diagnostics(&u, |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["go-template"]);
    assert_eq!(d[0]["severity"], 3);
    c.shutdown();
}

#[test]
fn binary_files_symlink_loops_and_vanishing_files_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("bin.yaml"), b"\x00\x01binary\xff").unwrap();
    std::fs::write(root.join("latin1.yaml"), b"a: caf\xe9\n").unwrap();
    std::fs::write(outside.join("secret.yaml"), "a: [\n").unwrap();
    std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
    let mut c = start(&root);
    c.wait_notification("progress end", |m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end");
    let d = c.wait_diagnostics(&common::uri(&root.join("latin1.yaml")), |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["invalid-utf8"]);
    std::thread::sleep(Duration::from_millis(200));
    let published: Vec<String> = c
        .notifications
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .map(|m| m["params"]["uri"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !published.iter().any(|u| u.contains("/out/") || u.contains("/loop/") || u.contains("secret")),
        "{published:?}"
    );
    // a file opened, then deleted and replaced by a directory
    let p = root.join("gone.yaml");
    std::fs::write(&p, "a: 1\n").unwrap();
    let u = c.open(&p, "a: 1\na: 2\n");
    c.wait_diagnostics(&u, |d| !d.is_empty());
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": u, "type": 3}, {"uri": u, "type": 1}]}));
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": u}}));
    c.wait_diagnostics(&u, |d| d.is_empty());
    assert_eq!(c.document_text(&u), None);
    assert!(c.is_alive());
    c.shutdown();
}

#[test]
fn protocol_abuse_is_answered_or_ignored() {
    let dir = tempfile::tempdir().unwrap();
    // a request before initialize gets an error, then initialize works
    let mut raw = std::process::Command::new(common::bin())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::{Read, Write};
        let mut stdin = raw.stdin.take().unwrap();
        stdin
            .write_all(&common::frame(r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}"#))
            .unwrap();
        stdin.flush().unwrap();
        let mut out = raw.stdout.take().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // read until a whole frame (header and body) is in
        while !String::from_utf8_lossy(&got).contains('}') || !got.ends_with(b"}") {
            let n = out.read(&mut buf).unwrap();
            assert!(n > 0, "server closed its output");
            got.extend_from_slice(&buf[..n]);
        }
        let s = String::from_utf8_lossy(&got);
        assert!(s.contains("\"error\"") && s.contains("-32002"), "{s}");
        drop(stdin);
        let _ = raw.wait();
    }
    let mut c = start(dir.path());
    let u = c.open(&dir.path().join("a.yaml"), "a: 1\n");
    // 10,000 edits in one notification, and a version gap
    let changes: Vec<Value> = (0..10_000)
        .map(|_| json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "x"}))
        .collect();
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": u, "version": 50}, "contentChanges": changes}));
    let t = c.document_text(&u).unwrap();
    assert_eq!(t, format!("{}a: 1\n", "x".repeat(10_000)));
    // ranges out of bounds clamp; a reversed range is treated as empty
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 51}, "contentChanges": [{"range": {"start": {"line": 99, "character": 5}, "end": {"line": 120, "character": 0}}, "text": "b: 2\n"}]}),
    );
    assert!(c.document_text(&u).unwrap().ends_with("a: 1\nb: 2\n"));
    // wrongly typed params
    let e = c.request("textDocument/hover", json!({"textDocument": 5})).unwrap_err();
    assert_eq!(e["code"], -32602);
    // a notification for an unknown method is ignored
    c.notify("$/unknownNotification", json!({}));
    c.notify("custom/unknown", json!([1, 2]));
    assert_responsive(&mut c, &u);
    c.shutdown();
}

/// Reads one LSP frame from `r`; None at end of output.
fn read_frame(r: &mut impl std::io::BufRead) -> Option<Value> {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("Content-Length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn proc_status(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
}

#[test]
fn a_client_that_stops_reading_does_not_grow_the_server_and_loses_no_answer() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const FIELDS: usize = 300;
    const EDITS: i32 = 400;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo.yaml");
    let text = |v: i32| {
        let mut t = String::from(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: r\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://example.com/r\n",
        );
        for i in 0..FIELDS {
            // long names: each publish is ~140 KB
            t.push_str(&format!("  unknown{v}x{i}{}: 1\n", "y".repeat(80)));
        }
        t
    };
    std::fs::write(&path, text(0)).unwrap();
    let mut child = Command::new(common::bin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("FLUX_LSP_LOG", "info")
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let send = |w: &mut std::process::ChildStdin, v: Value| {
        w.write_all(&common::frame(&v.to_string())).unwrap();
    };
    let root = common::uri(dir.path());
    let u = common::uri(&path);
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"processId": null, "rootUri": root,
            "capabilities": {}, "workspaceFolders": [{"uri": root, "name": "w"}]}}),
    );
    while read_frame(&mut out).and_then(|m| m.get("id").cloned()) != Some(json!(0)) {}
    send(&mut stdin, json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    // from here on, nothing is read until everything is sent and handled
    let writer = std::thread::spawn(move || {
        send(
            &mut stdin,
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
                {"uri": u, "languageId": "yaml", "version": 0, "text": text(0)}}}),
        );
        for v in 1..=EDITS {
            send(
                &mut stdin,
                json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                    "textDocument": {"uri": u, "version": v}, "contentChanges": [{"text": text(v)}]}}),
            );
            if v % 10 == 0 {
                send(
                    &mut stdin,
                    json!({"jsonrpc": "2.0", "id": v, "method": "textDocument/hover", "params": {
                        "textDocument": {"uri": u}, "position": {"line": 6, "character": 3}}}),
                );
            }
        }
        stdin
    });
    let stdin = writer.join().unwrap();
    // wait until the server has handled it all (its CPU time stops moving)
    let mut last = cpu_ticks(pid);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let now = cpu_ticks(pid);
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
    }
    let peak_kib = proc_status(pid, "VmHWM:");
    // kept, the 400 publishes (~140 KB each) would add ~55 MB
    assert!(peak_kib < 60 * 1024, "peak RSS {peak_kib} KiB while the client was not reading");
    // the client reads again: every hover answered, the newest diagnostics there
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut msgs = Vec::new();
        while let Some(m) = read_frame(&mut out) {
            if m["id"] == 999_999 {
                let _ = tx.send(());
            }
            msgs.push(m);
        }
        msgs
    });
    let mut stdin = stdin;
    send(&mut stdin, json!({"jsonrpc": "2.0", "id": 999_999, "method": "shutdown"}));
    rx.recv_timeout(Duration::from_secs(20)).expect("the shutdown answer");
    send(&mut stdin, json!({"jsonrpc": "2.0", "method": "exit"}));
    drop(stdin);
    let msgs = reader.join().unwrap();
    eprintln!("peak RSS {peak_kib} KiB while not reading; {} messages once reading again", msgs.len());
    let _ = child.wait();
    let answered: Vec<i64> = msgs
        .iter()
        .filter(|m| m.get("method").is_none())
        .filter_map(|m| m["id"].as_i64())
        .filter(|id| *id != 999_999)
        .collect();
    assert_eq!(answered, (1..=EDITS / 10).map(|i| i64::from(i * 10)).collect::<Vec<_>>());
    for m in msgs.iter().filter(|m| m.get("method").is_none() && m["id"] != 999_999) {
        assert!(m["result"]["contents"]["value"].as_str().unwrap_or("").contains("interval"), "{m}");
    }
    let publishes: Vec<&Value> = msgs.iter().filter(|m| m["method"] == "textDocument/publishDiagnostics").collect();
    let newest = publishes.last().expect("diagnostics");
    assert_eq!(newest["params"]["version"], EDITS);
    let d = newest["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(d.len(), FIELDS, "{newest}");
    assert!(d[0]["message"].as_str().unwrap().contains(&format!("unknown{EDITS}x0")), "{}", d[0]);
    assert!(publishes.len() < 100, "{} publishes were queued, not coalesced", publishes.len());
}

/// Every file under `dir` with a digest of its bytes.
fn tree_digest(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    use std::hash::{Hash, Hasher};
    let mut out: Vec<_> = common::walk(dir)
        .into_iter()
        .map(|p| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(&p).unwrap_or_default().hash(&mut h);
            (p, h.finish())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_server_executes_nothing_from_the_workspace_and_writes_no_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let marker = dir.path().join("EXECUTED");
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    };
    // an executable that leaves a marker, reachable every way a tool might run one
    let script = w("plugin.sh", &format!("#!/bin/sh\ntouch '{}'\n", marker.display()));
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for hook in ["post-checkout", "pre-commit", "fsmonitor-watchman"] {
        let h = w(&format!(".git/hooks/{hook}"), &std::fs::read_to_string(&script).unwrap());
        std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    w(".git/HEAD", "ref: refs/heads/main\n");
    w(".git/config", &format!("[core]\n\tfsmonitor = {}\n\thooksPath = .git/hooks\n", script.display()));
    w(
        "kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - app.yaml\ngenerators:\n  - gen.yaml\n",
    );
    w(
        "gen.yaml",
        "apiVersion: example.com/v1\nkind: Generator\nmetadata:\n  name: gen\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./plugin.sh\n",
    );
    let app = "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./plugin.sh\n  prune: true\n  patchesStrategicMerge:\n    - $(./plugin.sh)\n  sourceRef:\n    kind: GitRepository\n    name: \"`./plugin.sh`\"\n  postBuild:\n    substitute:\n      cmd: \"$(sh ./plugin.sh)\"\n";
    let app_path = w("app.yaml", app);
    let before = tree_digest(&root);
    let mut c = start(&root);
    let u = c.open(&app_path, app);
    let diags = c.wait_diagnostics(&u, |d| d.iter().any(|x| x["code"] == "removed-api-version"));
    let tdoc = json!({"uri": u});
    let everywhere: Vec<(u32, u32)> = (0..18).flat_map(|l| [(l, 2), (l, 12)]).collect();
    for (line, character) in everywhere {
        let pos = json!({"line": line, "character": character});
        let _ = c.request("textDocument/hover", json!({"textDocument": tdoc, "position": pos}));
        let _ = c.request("textDocument/completion", json!({"textDocument": tdoc, "position": pos}));
        let _ = c.request("textDocument/definition", json!({"textDocument": tdoc, "position": pos}));
        let _ = c.request("textDocument/rename", json!({"textDocument": tdoc, "position": pos, "newName": "x"}));
    }
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 18, "character": 0}});
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": tdoc, "range": range, "context": {"diagnostics": diags}}),
        )
        .unwrap();
    assert!(actions.as_array().is_some_and(|a| !a.is_empty()), "the migration is offered: {actions}");
    let _ = c.request("textDocument/codeLens", json!({"textDocument": tdoc}));
    let _ = c.request("textDocument/documentLink", json!({"textDocument": tdoc}));
    let _ = c.request("workspace/symbol", json!({"query": "plugin"}));
    c.notify("textDocument/didSave", json!({"textDocument": tdoc}));
    assert_responsive(&mut c, &u);
    c.shutdown();
    // and the CLI without --fix
    let out = std::process::Command::new(common::bin()).arg("check").arg(&root).output().unwrap();
    // warnings only (the removed version, the unresolved source): exit 0
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!marker.exists(), "something from the workspace was executed");
    assert_eq!(tree_digest(&root), before, "the workspace changed on disk");
}
