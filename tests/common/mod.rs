//! End-to-end harness: spawns the built `flux-lsp` binary and talks LSP to
//! it over stdio as an editor would. Every wait has a timeout.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub mod http;

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flux-lsp"))
}

/// `../shared/corpora`, or None (with a printed reason) when it is missing;
/// under CI=true a missing folder fails the test.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = flux_lsp::workspace::normalize_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel));
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is missing; CI must run with ../shared beside the repository", p.display());
    }
    eprintln!("skipping: {} is missing", p.display());
    None
}

/// Copies a directory tree (for planting mistakes in copies of the corpora).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walk(from) {
        let rel = e.strip_prefix(from).unwrap();
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&e, &dst).unwrap();
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn uri(path: &Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

pub struct Options {
    pub root: Option<PathBuf>,
    /// Offer UTF-8 positions.
    pub utf8: bool,
    pub settings: Value,
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self { root: None, utf8: false, settings: Value::Null, env: Vec::new() }
    }
}

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications received and not yet claimed.
    pub notifications: Vec<Value>,
    pub settings: Value,
    pub init_result: Value,
    pub stderr_path: PathBuf,
    /// The server's own cache and docker config directory (removed on drop).
    pub home: PathBuf,
}

pub fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{}", body.len(), body).into_bytes()
}

impl Client {
    pub fn start(opts: Options) -> Client {
        let stderr_path =
            std::env::temp_dir().join(format!("flux-lsp-e2e-{}-{}.log", std::process::id(), rand_suffix()));
        let mut cmd = Command::new(bin());
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(std::fs::File::create(&stderr_path).unwrap());
        cmd.env("FLUX_LSP_TEST_HOOKS", "1").env("FLUX_LSP_LOG", "debug");
        // no test reaches the network: requests to anything but loopback go
        // through a proxy on a closed loopback port and fail at once (remote
        // charts of the corpora's HelmRepositories, issue #9; ALL_PROXY
        // covers https, HTTPS_PROXY is left alone as kube would use it for
        // the fake API server); the chart cache and docker credentials are
        // the test's own
        for k in ["HTTP_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"] {
            cmd.env(k, "http://127.0.0.1:9");
        }
        cmd.env("NO_PROXY", "127.0.0.1,localhost").env("no_proxy", "127.0.0.1,localhost");
        let home = std::env::temp_dir().join(format!("flux-lsp-e2e-home-{}-{}", std::process::id(), rand_suffix()));
        cmd.env("XDG_CACHE_HOME", home.join("cache")).env("DOCKER_CONFIG", home.join("docker"));
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn flux-lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let l = line.trim();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("Content-Length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&body).expect("server sent invalid JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            rx,
            next_id: 0,
            notifications: Vec::new(),
            settings: opts.settings.clone(),
            init_result: Value::Null,
            stderr_path,
            home,
        };
        let mut caps = json!({
            "workspace": {"configuration": true, "didChangeWatchedFiles": {"dynamicRegistration": true}, "workspaceFolders": true},
            "window": {"workDoneProgress": true},
            "textDocument": {"publishDiagnostics": {"versionSupport": true}, "hover": {"contentFormat": ["markdown"]}},
        });
        if opts.utf8 {
            caps["general"] = json!({"positionEncodings": ["utf-8", "utf-16"]});
        }
        let root_uri = opts.root.as_deref().map(uri);
        let folders = opts.root.as_deref().map(|r| json!([{"uri": uri(r), "name": "ws"}]));
        let res = c.request(
            "initialize",
            json!({"processId": null, "rootUri": root_uri, "workspaceFolders": folders, "capabilities": caps}),
        );
        c.init_result = res.expect("initialize failed");
        c.notify("initialized", json!({}));
        c
    }

    pub fn encoding(&self) -> String {
        self.init_result["capabilities"]["positionEncoding"].as_str().unwrap_or("utf-16").to_string()
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        self.send_raw(&frame(&body));
    }

    /// Sends a request without waiting; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        self.send_raw(&frame(&body));
        id
    }

    /// Sends a request and waits for its response: Ok(result) or Err(error).
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send_request(method, params);
        self.wait_response(json!(id))
    }

    pub fn wait_response(&mut self, id: Value) -> Result<Value, Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let msg = self
                .recv(deadline)
                .unwrap_or_else(|| panic!("no response to request {id} within {TIMEOUT:?}{}", self.log_tail()));
            if msg.get("method").is_none() && msg.get("id") == Some(&id) {
                if let Some(e) = msg.get("error") {
                    return Err(e.clone());
                }
                return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
            }
            self.handle(msg);
        }
    }

    fn recv(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => Some(v),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Answers server→client requests; keeps notifications.
    fn handle(&mut self, msg: Value) {
        if let (Some(method), Some(id)) = (msg.get("method").and_then(Value::as_str), msg.get("id")) {
            let result = match method {
                "workspace/configuration" => {
                    let n = msg["params"]["items"].as_array().map(|a| a.len()).unwrap_or(1);
                    json!(vec![self.settings.clone(); n])
                }
                _ => Value::Null,
            };
            let body = json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
            self.send_raw(&frame(&body));
            self.notifications.push(msg);
        } else if msg.get("method").is_some() {
            self.notifications.push(msg);
        } else {
            // a stray response (e.g. to a request whose answer we did not wait for)
            self.notifications.push(msg);
        }
    }

    /// Waits for a notification matching `pred` (checking ones already received first).
    pub fn wait_notification(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.notifications.iter().position(&pred) {
            return self.notifications.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let Some(msg) = self.recv(deadline) else {
                panic!("timed out waiting for {what}{}", self.log_tail());
            };
            if pred(&msg) {
                // still answer it if it is a request
                if msg.get("id").is_some() && msg.get("method").is_some() {
                    self.handle(msg.clone());
                    self.notifications.pop();
                }
                return msg;
            }
            self.handle(msg);
        }
    }

    /// Waits for diagnostics of `uri` satisfying `pred`; returns the diagnostics array.
    pub fn wait_diagnostics(&mut self, uri: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let uri = uri.to_string();
        let msg = self.wait_notification(&format!("diagnostics for {uri}"), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri.as_str()
                && pred(m["params"]["diagnostics"].as_array().map(Vec::as_slice).unwrap_or(&[]))
        });
        msg["params"]["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    pub fn open(&mut self, path: &Path, text: &str) -> String {
        let u = uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "yaml", "version": 1, "text": text}}),
        );
        u
    }

    pub fn document_text(&mut self, uri: &str) -> Option<String> {
        self.request("flux-lsp/documentText", json!({"uri": uri})).ok().and_then(|v| v.as_str().map(String::from))
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!("\n--- server log (last 30 lines) ---\n{}", lines[lines.len().saturating_sub(30)..].join("\n"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    pub fn shutdown(mut self) -> std::process::ExitStatus {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server did not exit after shutdown/exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    h.finish()
}

/// Position helpers for a text: (line, UTF-16 column) of the n-th occurrence of `needle`.
pub fn pos_utf16(text: &str, needle: &str) -> (u32, u32) {
    let off = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
    let before = &text[..off];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..off].encode_utf16().count() as u32;
    (line, col)
}

/// Every range of a file summary must slice the text it stands for: the
/// oracle for summaries put together from memoised per-document parts.
#[allow(dead_code)]
pub fn summary_ranges_ok(text: &str, s: &flux_lsp::workspace::FileSummary) -> Result<(), String> {
    use flux_lsp::text::TextRange;
    let slice = |r: TextRange| text.get(r.start..r.end).ok_or_else(|| format!("range {r:?} outside the text"));
    // a scalar's range may include its quotes; escapes and multi-line
    // (folded) scalars are not compared
    let holds = |r: TextRange, v: &str, what: &str| -> Result<(), String> {
        let t = slice(r)?;
        if v.is_empty() || v.contains(['\\', '\n', '\'', '"']) || t.contains(['\n', '\r']) || t.contains(v) {
            Ok(())
        } else {
            Err(format!("{what}: {t:?} at {r:?} is not {v:?}"))
        }
    };
    for (i, o) in s.objects.iter().enumerate() {
        if o.doc != i {
            return Err(format!("object {i} says document {}", o.doc));
        }
        for (f, what) in
            [(&o.api_version, "apiVersion"), (&o.kind, "kind"), (&o.name, "name"), (&o.namespace, "namespace")]
        {
            if let Some(f) = f {
                holds(f.range, &f.value, what)?;
                if !(o.range.start <= f.range.start && f.range.end <= o.range.end) {
                    return Err(format!("{what} {:?} outside its object {:?}", f.range, o.range));
                }
            }
        }
    }
    for r in &s.refs.refs {
        let o = s.objects.get(r.object).ok_or("reference of a missing object")?;
        holds(r.name.range, &r.name.value, "reference name")?;
        if !(o.range.start <= r.block.start && r.block.end <= o.range.end) {
            return Err(format!("reference block {:?} outside its object {:?}", r.block, o.range));
        }
        for f in [&r.kind, &r.namespace].into_iter().flatten() {
            holds(f.range, &f.value, "reference field")?;
        }
    }
    for a in &s.refs.appliers {
        if let Some(i) = a.source_ref {
            let r = s.refs.refs.get(i).ok_or("applier source of a missing reference")?;
            if r.object != a.object {
                return Err(format!("applier of object {} has the sourceRef of object {}", a.object, r.object));
            }
        }
        for f in a.path.iter().chain(a.components.iter()).chain(a.substitute.iter().map(|x| &x.0)) {
            holds(f.range, &f.value, "applier field")?;
        }
    }
    for v in &s.refs.vars {
        let t = slice(v.range)?;
        if !(t.starts_with("${") && t.ends_with('}')) || slice(v.name_range)? != v.name {
            return Err(format!("variable {:?} at {:?}: {t:?}", v.name, v.range));
        }
    }
    for m in &s.refs.markers {
        holds(m.name_range, &m.name, "marker")?;
    }
    for p in &s.refs.produced {
        holds(p.name.range, &p.name.value, "produced name")?;
    }
    for (_, keys) in &s.refs.data_keys {
        for k in keys {
            holds(k.range, &k.value, "data key")?;
        }
    }
    if let Some(k) = &s.refs.kustomize {
        for p in &k.paths {
            holds(p.range, &p.value, "kustomize path")?;
        }
    }
    Ok(())
}
