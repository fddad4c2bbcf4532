//! Side-by-side benchmark of flux-lsp and yaml-language-server (issue #7).
//!
//! Run: `bash .ci/bench.sh` (installs yaml-language-server@1.25.0 into a
//! cache, builds the release server, then runs this driver with
//! `cargo bench --bench lsp`). Both servers are driven over stdio through the
//! same scenarios on the same files, one after the other; every figure is
//! measured on the wire (see rpc.rs). Writes `target/bench-report.md`.
//!
//! Environment: FLUX_LSP_BIN (the server binary), YLS_JS (yaml-language-
//! server's `bin/yaml-language-server`; without it only flux-lsp runs),
//! BENCH_SHARED (default ../shared), BENCH_REPORT (default
//! target/bench-report.md), BENCH_QUICK=1 (smaller budgets, for trying it).

mod inputs;
mod rpc;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rpc::{Server, uri};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Flux,
    Yls,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Flux => "flux-lsp",
            Kind::Yls => "yaml-ls",
        }
    }
}

struct Env {
    flux: Vec<String>,
    yls: Option<Vec<String>>,
    schema_uri: String,
    work: PathBuf,
    quick: bool,
    log_dir: PathBuf,
    runs: usize,
}

const YLS_DEBOUNCE_MS: f64 = 200.0;
const MAX_SIZE: u64 = 64 * 1024 * 1024;

impl Env {
    fn cmd(&self, k: Kind) -> Option<&Vec<String>> {
        match k {
            Kind::Flux => Some(&self.flux),
            Kind::Yls => self.yls.as_ref(),
        }
    }

    fn settings(&self, k: Kind) -> Value {
        match k {
            // big generated files must get the full analysis, not syntax only;
            // no cluster and no chart downloads (yaml-ls fetches neither; the
            // generated HelmRepository's URL does not exist)
            Kind::Flux => json!({"fluxLsp": {
                "files": {"maxSize": MAX_SIZE},
                "cluster": {"enabled": false},
                "charts": {"fetch": false}
            }}),
            Kind::Yls => json!({
                "yaml": {
                    "schemas": {self.schema_uri.clone(): ["*.yaml", "*.yml"]},
                    "validate": true, "hover": true, "completion": true,
                    "schemaStore": {"enable": false},
                    "format": {"enable": false},
                    "maxItemsComputed": 100000
                },
                "http": {"proxy": "", "proxyStrictSSL": false},
                "[yaml]": {},
                "editor": {"tabSize": 2}
            }),
        }
    }

    /// Starts a server on `roots` and completes the handshake. Returns the
    /// server and the time `initialize` went on the wire.
    fn start(&self, k: Kind, roots: &[PathBuf]) -> Option<(Server, Instant)> {
        let cmd = self.cmd(k)?;
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = self.log_dir.join(format!("{}-{n}.stderr.log", k.name()));
        let settings = self.settings(k);
        let mut s = Server::spawn(k.name(), cmd, settings.clone(), &log);
        let folders: Vec<Value> = roots
            .iter()
            .map(|r| json!({"uri": uri(r), "name": r.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()}))
            .collect();
        let params = json!({
            "processId": std::process::id(),
            "clientInfo": {"name": "flux-lsp-bench"},
            "rootUri": roots.first().map(|r| uri(r)),
            "workspaceFolders": folders,
            "initializationOptions": if k == Kind::Flux { settings["fluxLsp"].clone() } else { Value::Null },
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "window": {"workDoneProgress": true},
                "workspace": {
                    "configuration": true,
                    "workspaceFolders": true,
                    "didChangeConfiguration": {"dynamicRegistration": true},
                    "didChangeWatchedFiles": {"dynamicRegistration": false}
                },
                "textDocument": {
                    "synchronization": {"dynamicRegistration": false},
                    "publishDiagnostics": {"versionSupport": true, "relatedInformation": true},
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                    "completion": {"completionItem": {"snippetSupport": true, "documentationFormat": ["markdown", "plaintext"]}}
                }
            }
        });
        let (id, t0) = s.send_request("initialize", params);
        if s.wait_response(id, Duration::from_secs(60)).is_none() {
            eprintln!("bench: {} did not answer initialize (log: {})", k.name(), log.display());
            return None;
        }
        s.notify("initialized", json!({}));
        // as VS Code does: settings changed → yaml-ls pulls its configuration
        s.notify("workspace/didChangeConfiguration", json!({"settings": settings}));
        Some((s, t0))
    }
}

fn is_diag(v: &Value) -> bool {
    v.get("method").and_then(Value::as_str) == Some("textDocument/publishDiagnostics")
}

fn is_index_end(v: &Value) -> bool {
    v.get("method").and_then(Value::as_str) == Some("$/progress")
        && v.pointer("/params/token").and_then(Value::as_str) == Some("flux-lsp/index")
        && v.pointer("/params/value/kind").and_then(Value::as_str) == Some("end")
}

// ---------------------------------------------------------------- stats

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[derive(Clone, Default)]
struct Dist(Vec<f64>);

impl Dist {
    fn q(&self, q: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut v = self.0.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        Some(v[((v.len() as f64 - 1.0) * q).round() as usize])
    }
    fn p50(&self) -> Option<f64> {
        self.q(0.5)
    }
    fn p95(&self) -> Option<f64> {
        self.q(0.95)
    }
    fn max(&self) -> Option<f64> {
        self.q(1.0)
    }
    fn n(&self) -> usize {
        self.0.len()
    }
}

fn fms(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) if x.is_nan() => "–".into(),
        Some(x) if x < 1.0 => format!("{x:.3} ms"),
        Some(x) if x < 100.0 => format!("{x:.2} ms"),
        Some(x) => format!("{x:.0} ms"),
    }
}

fn fmb(b: Option<u64>) -> String {
    b.map_or("–".into(), |b| format!("{:.1} MB", b as f64 / 1048576.0))
}

fn with_code(rss: Option<u64>, file: Option<u64>) -> String {
    match (rss, file) {
        (Some(_), Some(f)) => format!("{} ({:.1} code)", fmb(rss), f as f64 / 1048576.0),
        _ => fmb(rss),
    }
}

fn fcpu(c: Option<f64>) -> String {
    c.map_or("–".into(), |c| format!("{c:.2} s"))
}

/// yaml-ls / flux-lsp, "×" meaning how many times flux-lsp is better.
fn ratio(f: Option<f64>, y: Option<f64>) -> String {
    match (f, y) {
        (Some(f), Some(y)) if f > 0.0 && y.is_finite() => format!("{:.1}×", y / f),
        _ => "–".into(),
    }
}

fn median(v: &[f64]) -> Option<f64> {
    Dist(v.to_vec()).p50()
}

// ---------------------------------------------------------------- scenario 1

#[derive(Default, Clone)]
struct OpenFig {
    ms: Option<f64>,
    cpu: Option<f64>,
    rss: Option<u64>,
    /// resident file-backed pages (code) when measured
    rss_file: Option<u64>,
    files: usize,
    diags: usize,
    note: String,
}

/// flux-lsp: from `initialize` to the end of indexing (which follows the
/// publication of every file's diagnostics). Returns the published URIs.
fn open_flux(env: &Env, roots: &[PathBuf], timeout: Duration) -> (OpenFig, Vec<String>) {
    let mut fig = OpenFig::default();
    let Some((mut s, t0)) = env.start(Kind::Flux, roots) else { return (fig, vec![]) };
    let (msgs, ok) = s.drain_until(timeout, |m| is_index_end(&m.v));
    let (cpu, rss) = s.usage();
    fig.rss_file = Some(s.rss_file());
    if std::env::var_os("BENCH_DEBUG").is_some() {
        let st = std::fs::read_to_string(format!("/proc/{}/status", s.pid)).unwrap_or_default();
        let mem: Vec<&str> =
            st.lines().filter(|l| l.starts_with("Rss") || l.starts_with("VmHWM") || l.starts_with("Threads")).collect();
        eprintln!("bench-debug: flux-lsp {:?}: {}", roots, mem.join(", "));
    }
    let mut uris = std::collections::BTreeSet::new();
    let mut last = t0;
    let mut diags = 0;
    for m in &msgs {
        if is_diag(&m.v) {
            uris.insert(m.v.pointer("/params/uri").and_then(Value::as_str).unwrap_or_default().to_string());
            diags += m.v.pointer("/params/diagnostics").and_then(Value::as_array).map_or(0, Vec::len);
            last = last.max(m.at);
        }
        if is_index_end(&m.v) {
            last = last.max(m.at);
            fig.note = m.v.pointer("/params/value/message").and_then(Value::as_str).unwrap_or_default().into();
        }
    }
    if ok {
        fig.ms = Some(ms(last - t0));
        fig.cpu = Some(cpu);
        fig.rss = Some(rss);
    } else {
        fig.note = format!("timed out after {:?}", timeout);
    }
    fig.files = uris.len();
    fig.diags = diags;
    s.stop();
    (fig, uris.into_iter().collect())
}

/// yaml-ls diagnoses open documents only: the fair equivalent is to open
/// every file flux-lsp diagnosed right after `initialized`, and wait for the
/// diagnostics of all of them.
fn open_yls(env: &Env, roots: &[PathBuf], uris: &[String], timeout: Duration) -> OpenFig {
    let mut fig = OpenFig::default();
    let Some((mut s, t0)) = env.start(Kind::Yls, roots) else { return fig };
    for u in uris {
        let path = u.strip_prefix("file://").unwrap_or(u);
        let path = percent_decode(path);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        s.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "yaml", "version": 1, "text": text}}),
        );
    }
    let mut seen = std::collections::HashSet::new();
    let mut last = t0;
    let mut diags = 0;
    let want = uris.len();
    let (_, ok) = s.drain_until(timeout, |m| {
        if is_diag(&m.v) {
            let u = m.v.pointer("/params/uri").and_then(Value::as_str).unwrap_or_default().to_string();
            if seen.insert(u) {
                diags += m.v.pointer("/params/diagnostics").and_then(Value::as_array).map_or(0, Vec::len);
                last = m.at;
            }
        }
        seen.len() >= want
    });
    let (cpu, rss) = s.usage();
    fig.rss_file = Some(s.rss_file());
    fig.files = seen.len();
    fig.diags = diags;
    if ok {
        fig.ms = Some(ms(last - t0));
        fig.cpu = Some(cpu);
        fig.rss = Some(rss);
    } else {
        fig.note = format!("timed out after {:?} ({} of {want} files)", timeout, seen.len());
    }
    s.stop();
    fig
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Several runs; medians of time and CPU, max of peak RSS.
fn open_runs(env: &Env, k: Kind, roots: &[PathBuf], uris: &[String], runs: usize, timeout: Duration) -> OpenFig {
    let mut figs = Vec::new();
    for _ in 0..runs {
        let f = match k {
            Kind::Flux => open_flux(env, roots, timeout).0,
            Kind::Yls => open_yls(env, roots, uris, timeout),
        };
        let failed = f.ms.is_none();
        figs.push(f);
        if failed {
            break;
        }
    }
    let ok: Vec<&OpenFig> = figs.iter().filter(|f| f.ms.is_some()).collect();
    let mut out = figs.last().cloned().unwrap_or_default();
    if ok.len() == figs.len() && !ok.is_empty() {
        out.ms = median(&ok.iter().map(|f| f.ms.unwrap()).collect::<Vec<_>>());
        out.cpu = median(&ok.iter().map(|f| f.cpu.unwrap()).collect::<Vec<_>>());
        out.rss = ok.iter().filter_map(|f| f.rss).max();
        out.rss_file = ok.iter().filter_map(|f| f.rss_file).max();
        out.note = format!("{} run(s); {}", ok.len(), out.note);
    }
    out
}

// ---------------------------------------------------------------- scenarios 2–4

#[derive(Default, Clone)]
struct FileFig {
    open_ms: Option<f64>,
    hover: Dist,
    hover_nonempty: usize,
    completion: Dist,
    completion_nonempty: usize,
    keys: Dist,
    /// keystrokes after which flux-lsp published nothing (diagnostics unchanged)
    unchanged: usize,
    keys_total: usize,
    /// flux-lsp: diagnostics of an earlier version arriving after its barrier (would break the method)
    late: usize,
    cpu: Option<f64>,
    rss: Option<u64>,
    note: String,
}

struct FileCase<'a> {
    root: PathBuf,
    path: PathBuf,
    text: &'a str,
    positions: Vec<inputs::Pos>,
    /// per-operation time budget for yaml-ls, and for flux-lsp
    budget: (Duration, Duration),
    /// keystrokes measured by yaml-ls at most (spread over the typed object)
    yls_keys: usize,
    /// a pause before each keystroke (a typist's pace), if any
    pace: Option<Duration>,
}

fn nonempty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => match o.get("items") {
            Some(Value::Array(a)) => !a.is_empty(),
            _ => match o.get("contents") {
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Object(c)) => c.get("value").and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                Some(Value::Array(a)) => !a.is_empty(),
                _ => true,
            },
        },
        _ => true,
    }
}

fn file_session(env: &Env, k: Kind, c: &FileCase) -> FileFig {
    let mut fig = FileFig::default();
    let Some((mut s, _)) = env.start(k, std::slice::from_ref(&c.root)) else {
        fig.note = "not run".into();
        return fig;
    };
    let u = uri(&c.path);
    if k == Kind::Flux && s.wait_notification(Duration::from_secs(60), is_index_end).is_none() {
        fig.note = "indexing timed out".into();
        return fig;
    }
    if k == Kind::Yls {
        // let the configuration pull finish before opening
        std::thread::sleep(Duration::from_millis(300));
    }
    s.clear();
    // open → diagnostics of version 1
    let t = s.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "yaml", "version": 1, "text": c.text}}),
    );
    let open_timeout = Duration::from_secs(120);
    let got = s.wait_notification(open_timeout, |v| {
        is_diag(v) && v.pointer("/params/uri").and_then(Value::as_str) == Some(u.as_str())
    });
    match got {
        Some(m) => fig.open_ms = Some(ms(m.at - t)),
        None if k == Kind::Flux => {
            // unchanged diagnostics are not republished; a barrier tells when it is done
            if let Some((_, d)) = s.request("flux-bench/barrier", json!({}), open_timeout) {
                fig.open_ms = Some(ms(d));
            }
        }
        None => {
            fig.note = "no diagnostics after open".into();
            s.stop();
            return fig;
        }
    }
    std::thread::sleep(Duration::from_millis(if k == Kind::Yls { 300 } else { 50 }));
    if std::env::var_os("BENCH_DEBUG").is_some() {
        let (msgs, _) = s.drain_until(Duration::from_millis(10), |_| false);
        for m in msgs {
            eprintln!("bench-debug: {} got {}", k.name(), m.v.to_string().chars().take(300).collect::<String>());
        }
    }
    s.clear();
    let budget = if k == Kind::Yls { c.budget.0 } else { c.budget.1 };
    // hover and completion at every position (until the budget is spent)
    let req_timeout = Duration::from_secs(30);
    let started = Instant::now();
    for p in &c.positions {
        if started.elapsed() > budget {
            break;
        }
        let params = json!({"textDocument": {"uri": u}, "position": {"line": p.line, "character": p.hover}});
        match s.request("textDocument/hover", params, req_timeout) {
            Some((v, d)) => {
                if std::env::var_os("BENCH_DEBUG").is_some() {
                    eprintln!(
                        "bench-debug: {} hover {}:{} → {}",
                        k.name(),
                        p.line,
                        p.hover,
                        v.to_string().chars().take(160).collect::<String>()
                    );
                }
                fig.hover.0.push(ms(d));
                fig.hover_nonempty += nonempty(&v) as usize;
            }
            None => {
                fig.note += "hover timed out; ";
                break;
            }
        }
    }
    let started = Instant::now();
    for p in &c.positions {
        if started.elapsed() > budget {
            break;
        }
        let params = json!({"textDocument": {"uri": u}, "position": {"line": p.line, "character": p.complete}, "context": {"triggerKind": 1}});
        match s.request("textDocument/completion", params, req_timeout) {
            Some((v, d)) => {
                fig.completion.0.push(ms(d));
                fig.completion_nonempty += nonempty(&v) as usize;
            }
            None => {
                fig.note += "completion timed out; ";
                break;
            }
        }
    }
    s.queue.clear();
    // typing: one character per didChange at the end of the file
    let chars: Vec<char> = inputs::TYPED.chars().collect();
    let stride = if k == Kind::Yls { chars.len().div_ceil(c.yls_keys.max(1)) } else { 1 };
    let (mut line, mut col) = end_of(c.text);
    let mut version = 1;
    let started = Instant::now();
    let key_timeout = Duration::from_secs(60);
    for (i, ch) in chars.iter().enumerate() {
        if started.elapsed() > budget {
            break;
        }
        version += 1;
        let change = json!({
            "textDocument": {"uri": u, "version": version},
            "contentChanges": [{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": ch.to_string()}]
        });
        if *ch == '\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
        let measured = (i + 1) % stride == 0 || i + 1 == chars.len();
        if let Some(pace) = c.pace {
            std::thread::sleep(pace);
        }
        let sent = s.notify("textDocument/didChange", change);
        if !measured {
            continue; // yaml-ls: a fast typist's unmeasured keystroke
        }
        fig.keys_total += 1;
        match k {
            Kind::Flux => {
                // the server handles messages in order: the barrier's answer
                // comes after the diagnostics of this version, if any
                let (bid, _) = s.send_request("flux-bench/barrier", json!({}));
                let v = version;
                let (msgs, ok) = s.drain_until(key_timeout, |m| {
                    m.v.get("method").is_none() && m.v.get("id").and_then(Value::as_i64) == Some(bid)
                });
                if !ok {
                    fig.note += "keystroke timed out; ";
                    break;
                }
                fig.late += msgs
                    .iter()
                    .filter(|m| {
                        is_diag(&m.v)
                            && m.v.pointer("/params/uri").and_then(Value::as_str) == Some(u.as_str())
                            && m.v.pointer("/params/version").and_then(Value::as_i64).is_some_and(|x| x < v as i64)
                    })
                    .count();
                let mut msgs = msgs;
                let is_this = |m: &rpc::Msg| {
                    is_diag(&m.v)
                        && m.v.pointer("/params/uri").and_then(Value::as_str) == Some(u.as_str())
                        && m.v.pointer("/params/version").and_then(Value::as_i64) == Some(v as i64)
                };
                if !msgs.iter().any(is_this) {
                    // the server's responses and its notifications reach stdout
                    // through two queues: a publication made before the answer
                    // may still follow it by a few microseconds
                    let (more, _) = s.drain_until(Duration::from_millis(3), is_this);
                    msgs.extend(more);
                }
                let pubd = msgs.iter().find(|m| {
                    is_diag(&m.v)
                        && m.v.pointer("/params/uri").and_then(Value::as_str) == Some(u.as_str())
                        && m.v.pointer("/params/version").and_then(Value::as_i64) == Some(v as i64)
                });
                match pubd {
                    Some(m) => fig.keys.0.push(ms(m.at - sent)),
                    None => {
                        fig.unchanged += 1;
                        let answered = msgs
                            .iter()
                            .find(|m| m.v.get("method").is_none() && m.v.get("id").and_then(Value::as_i64) == Some(bid))
                            .unwrap();
                        fig.keys.0.push(ms(answered.at - sent));
                    }
                }
            }
            Kind::Yls => {
                let got = s.wait_notification(key_timeout, |v| {
                    is_diag(v) && v.pointer("/params/uri").and_then(Value::as_str) == Some(u.as_str())
                });
                match got {
                    Some(m) => fig.keys.0.push(ms(m.at - sent)),
                    None => {
                        fig.note += "keystroke timed out; ";
                        break;
                    }
                }
            }
        }
    }
    let (cpu, rss) = s.usage();
    fig.cpu = Some(cpu);
    fig.rss = Some(rss);
    s.stop();
    fig
}

/// Opens a file with a planted mistake (an unknown field) and returns the
/// messages the server reports: shows that yaml-ls really validates against
/// the generated schema.
fn sanity(env: &Env, k: Kind) -> String {
    let dir = env.work.join("sanity");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    let text = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: bad\n  namespace: flux-system\nspec:\n  interval: 5m\n  url: https://github.com/example/bad\n  ref:\n    branch: main\n  bogusField: true\n";
    std::fs::write(&path, text).unwrap();
    let Some((mut s, _)) = env.start(k, std::slice::from_ref(&dir)) else { return "not run".into() };
    if k == Kind::Flux {
        let _ = s.wait_notification(Duration::from_secs(30), is_index_end);
    } else {
        std::thread::sleep(Duration::from_millis(300));
    }
    s.clear();
    let u = uri(&path);
    s.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "yaml", "version": 1, "text": text}}),
    );
    let got = s.wait_notification(Duration::from_secs(30), |v| {
        is_diag(v)
            && v.pointer("/params/uri").and_then(Value::as_str) == Some(u.as_str())
            && v.pointer("/params/diagnostics").and_then(Value::as_array).is_some_and(|a| !a.is_empty())
    });
    s.stop();
    match got {
        None => "nothing reported".into(),
        Some(m) => m.v["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "line {}: \"{}\"",
                    d.pointer("/range/start/line").and_then(Value::as_u64).unwrap_or(0) + 1,
                    d["message"].as_str().unwrap_or("").replace('\n', " ").replace('|', "\\|")
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Line and UTF-16 column of the end of `text`.
fn end_of(text: &str) -> (u32, u32) {
    let line = text.matches('\n').count() as u32;
    let last = text.rsplit('\n').next().unwrap_or("");
    (line, last.encode_utf16().count() as u32)
}

// ---------------------------------------------------------------- report

struct Report {
    md: String,
    targets: Vec<(String, String, bool)>,
}

impl Report {
    fn target(&mut self, what: &str, figure: String, met: bool) {
        self.targets.push((what.into(), figure, met));
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(String::new(), |kb| format!("{:.0} GiB", kb as f64 / 1048576.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem} RAM, Linux {}", kernel.trim())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn sh(cmd: &str) -> String {
    std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("flux-lsp vs yaml-language-server: run with `bash .ci/bench.sh` (or `cargo bench --bench lsp`)");
        return;
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or(manifest.join("target"));
    let shared = std::env::var_os("BENCH_SHARED").map(PathBuf::from).unwrap_or(manifest.join("../shared"));
    // no `..` in URIs: yaml-ls's glob matching never matches a `..` segment
    let shared = shared.canonicalize().unwrap_or(shared);
    let report_path =
        std::env::var_os("BENCH_REPORT").map(PathBuf::from).unwrap_or(manifest.join("target/bench-report.md"));
    let quick = std::env::var("BENCH_QUICK").as_deref() == Ok("1");
    let flux_bin = std::env::var_os("FLUX_LSP_BIN").map(PathBuf::from).unwrap_or(target.join("release/flux-lsp"));
    assert!(flux_bin.exists(), "{} is missing: cargo build --release first", flux_bin.display());
    let work = target.join("bench-lsp");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let work = work.canonicalize().unwrap();
    let log_dir = work.join("logs");
    std::fs::create_dir_all(&log_dir).unwrap();

    // yaml-language-server and its schema
    let yls_js = std::env::var_os("YLS_JS").map(PathBuf::from).filter(|p| p.exists());
    let crds = shared.join("flux-api/crds");
    let schema_path = work.join("flux.schema.json");
    let (schema, branches) = inputs::flux_schema(&crds);
    std::fs::write(&schema_path, serde_json::to_vec(&schema).unwrap()).unwrap();
    let yls = match (&yls_js, branches) {
        (Some(js), n) if n > 0 => Some(vec!["node".to_string(), js.to_string_lossy().into(), "--stdio".into()]),
        _ => {
            eprintln!(
                "bench: yaml-language-server not available (YLS_JS) or no CRDs in {}; flux-lsp only",
                crds.display()
            );
            None
        }
    };
    let env = Env {
        flux: vec![flux_bin.to_string_lossy().into()],
        yls,
        schema_uri: uri(&schema_path),
        work: work.clone(),
        quick,
        log_dir,
        runs: if quick { 1 } else { 3 },
    };
    let mut kinds: Vec<Kind> = if env.yls.is_some() { vec![Kind::Flux, Kind::Yls] } else { vec![Kind::Flux] };
    // for profiling: BENCH_ONLY=<part of a case name>, BENCH_SERVERS=flux
    let only = std::env::var("BENCH_ONLY").ok();
    let selected = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if std::env::var("BENCH_SERVERS").as_deref() == Ok("flux") {
        kinds.retain(|k| *k == Kind::Flux);
    }
    let t_all = Instant::now();
    let mut r = Report { md: String::new(), targets: Vec::new() };
    let flux_ver = sh(&format!("{} --version", flux_bin.display()));
    let yls_ver = yls_js
        .as_ref()
        .and_then(|js| {
            let pj = js.parent()?.parent()?.join("package.json");
            let v: Value = serde_json::from_str(&std::fs::read_to_string(pj).ok()?).ok()?;
            Some(format!("yaml-language-server {}", v["version"].as_str()?))
        })
        .unwrap_or_else(|| "yaml-language-server not run".into());
    let _ = writeln!(r.md, "# flux-lsp vs yaml-language-server\n");
    let _ = writeln!(r.md, "- date: {}", sh("date -u '+%Y-%m-%d %H:%M UTC'"));
    let _ = writeln!(r.md, "- machine: {}; load average at start: {}", machine(), loadavg());
    let _ = writeln!(
        r.md,
        "- servers: {flux_ver} (git {}), {yls_ver} on node {}",
        sh(&format!("git -C {} rev-parse --short HEAD", manifest.display())),
        sh("node --version")
    );
    let _ = writeln!(
        r.md,
        "- yaml-ls schema: {branches} (apiVersion, kind) branches generated from {} into one JSON schema (`if`/`then`, strict objects)",
        crds.display()
    );
    let _ = writeln!(
        r.md,
        "- latencies are measured on the wire (frame written → frame read); ratio = yaml-ls ÷ flux-lsp (higher is better for flux-lsp)"
    );

    for k in &kinds {
        let _ = writeln!(
            r.md,
            "- sanity, a GitRepository with an unknown `spec.bogusField`: {} reports {}",
            k.name(),
            sanity(&env, *k)
        );
    }
    let _ = writeln!(r.md);

    // ------------------------------------------------------------ 1. workspaces
    eprintln!("bench: 1. opening workspaces");
    let corpora = shared.join("corpora");
    let mut corpus_dirs: Vec<PathBuf> = std::fs::read_dir(&corpora)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    corpus_dirs.sort();
    let ws1k = work.join("ws-1000");
    inputs::workspace(&ws1k, 1000);
    let ws10k = work.join("ws-10000");
    inputs::workspace(&ws10k, 10000);
    let mut cases: Vec<(String, Vec<PathBuf>, bool)> = Vec::new();
    for d in &corpus_dirs {
        cases.push((format!("corpus {}", d.file_name().unwrap().to_string_lossy()), vec![d.clone()], true));
    }
    if corpus_dirs.len() > 1 {
        cases.push(("both corpora (2 workspace folders)".into(), corpus_dirs.clone(), true));
    }
    cases.push(("generated, 1,000 files".into(), vec![ws1k.clone()], true));
    cases.push(("generated, 10,000 files (flux-lsp only)".into(), vec![ws10k.clone()], false));
    let _ = writeln!(r.md, "## 1. Opening a workspace: `initialize` → every file's diagnostics received\n");
    let _ = writeln!(
        r.md,
        "yaml-ls only diagnoses open documents: it is sent `didOpen` for every file flux-lsp diagnosed, right after `initialized`, and timed until it has published diagnostics for all of them. CPU = user+system seconds of the server process at that moment; peak RSS = VmHWM, with in brackets the resident file-backed pages at that moment (mostly the executable's code: shared and reclaimable, but counted by VmHWM).\n"
    );
    let _ = writeln!(
        r.md,
        "| workspace | files | flux-lsp time | yaml-ls time | ratio | flux-lsp CPU | yaml-ls CPU | flux-lsp peak RSS | yaml-ls peak RSS | ratio | diagnostics (flux / yaml-ls) |"
    );
    let _ = writeln!(r.md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut corpora_flux_ms: Vec<f64> = Vec::new();
    let mut mem_pairs: Vec<(String, u64, u64)> = Vec::new();
    for (name, roots, with_yls) in &cases {
        if !selected(name) {
            continue;
        }
        eprintln!("bench:   {name}");
        let (first, uris) = open_flux(&env, roots, Duration::from_secs(60));
        let mut f = open_runs(&env, Kind::Flux, roots, &uris, env.runs.max(1) + 2, Duration::from_secs(60));
        if f.ms.is_none() {
            f = first;
        }
        let y = if *with_yls && kinds.contains(&Kind::Yls) {
            open_runs(
                &env,
                Kind::Yls,
                roots,
                &uris,
                if roots == &vec![ws1k.clone()] { 1 } else { env.runs },
                Duration::from_secs(180),
            )
        } else {
            OpenFig::default()
        };
        if (name.starts_with("corpus") || name.starts_with("both"))
            && let Some(m) = f.ms
        {
            corpora_flux_ms.push(m);
        }
        if let (Some(a), Some(b)) = (f.rss, y.rss) {
            mem_pairs.push((name.clone(), a, b));
        }
        let _ = writeln!(
            r.md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            uris.len(),
            fms(f.ms),
            fms(y.ms),
            ratio(f.ms, y.ms),
            fcpu(f.cpu),
            fcpu(y.cpu),
            with_code(f.rss, f.rss_file),
            with_code(y.rss, y.rss_file),
            ratio(f.rss.map(|x| x as f64), y.rss.map(|x| x as f64)),
            f.diags,
            if y.ms.is_some() { y.diags.to_string() } else { "–".into() },
        );
        if name.contains("10,000") {
            r.target(
                "10,000 files diagnosed within 2 s, under 200 MB",
                format!("{} , {}", fms(f.ms), fmb(f.rss)),
                f.ms.is_some_and(|m| m <= 2000.0) && f.rss.is_some_and(|b| b <= 200 * 1048576),
            );
        }
        if !f.note.is_empty() || !y.note.is_empty() {
            eprintln!("bench:     flux-lsp: {} | yaml-ls: {}", f.note, y.note);
        }
    }
    if !corpora_flux_ms.is_empty() {
        let worst = corpora_flux_ms.iter().cloned().fold(0.0, f64::max);
        r.target(
            "both corpora fully diagnosed within 50 ms of initialize",
            format!("{} (slowest case)", fms(Some(worst))),
            worst <= 50.0,
        );
    }
    for (name, a, b) in &mem_pairs {
        r.target(
            &format!("peak memory ≤ 1/5 of yaml-ls's: {name}"),
            format!("{} vs {} (1/{:.1})", fmb(Some(*a)), fmb(Some(*b)), *b as f64 / *a as f64),
            *a as f64 * 5.0 <= *b as f64,
        );
    }

    // ------------------------------------------------------------ 2–4. files
    eprintln!("bench: 2–4. files");
    let real =
        corpus_dirs.iter().map(|d| d.join("apps/base/podinfo/release.yaml")).find(|p| p.exists()).or_else(|| {
            // any HelmRelease of the corpora
            corpus_dirs
                .iter()
                .flat_map(|d| walk_yaml(d))
                .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("kind: HelmRelease")))
        });
    let sizes: Vec<usize> = vec![100, 1000, 10000];
    let mut file_cases: Vec<(String, PathBuf, PathBuf, String, bool)> = Vec::new(); // name, root, path, text, full positions
    if let Some(p) = &real {
        let root = corpus_dirs.iter().find(|d| p.starts_with(d)).unwrap().clone();
        let text = std::fs::read_to_string(p).unwrap();
        file_cases.push((
            format!("real file `{}`", p.strip_prefix(&root).unwrap().display()),
            root,
            p.clone(),
            text,
            true,
        ));
    }
    for n in &sizes {
        let dir = work.join(format!("objects-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("objects.yaml");
        let text = inputs::multi_doc(*n);
        std::fs::write(&path, &text).unwrap();
        file_cases.push((format!("{n} objects"), dir, path, text, false));
    }
    // a small file of a large workspace: what the other files see of it
    // changes with most keystrokes (the typed object's name, its references)
    for (n, ws) in [(1000, &ws1k), (10000, &ws10k)] {
        let path = ws.join("clusters/c-2/sync.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        file_cases.push((format!("a file of the {n}-file workspace"), ws.clone(), path.clone(), text.clone(), true));
        if n == 10000 {
            // typed at a typist's pace (150 ms a key): the republication of
            // the other files, 30 ms after a burst, runs between keystrokes
            file_cases.push((format!("a file of the {n}-file workspace, paced"), ws.clone(), path, text, true));
        }
    }
    let mut results: Vec<(String, usize, FileFig, FileFig)> = Vec::new();
    for (name, root, path, text, full) in &file_cases {
        if !selected(name) {
            continue;
        }
        let lines = text.lines().count();
        let positions = if *full {
            inputs::positions(text, None)
        } else {
            // first, middle and last 60 lines
            let mut v = inputs::positions(text, Some(0..60));
            v.extend(inputs::positions(text, Some(lines / 2..lines / 2 + 60)));
            v.extend(inputs::positions(text, Some(lines.saturating_sub(60)..lines)));
            v
        };
        let scale = |d: u64| Duration::from_secs(if quick { d / 4 } else { d });
        let c = FileCase {
            root: root.clone(),
            path: path.clone(),
            text,
            positions,
            budget: (scale(if *full { 20 } else { 25 }), scale(30)),
            yls_keys: if *full {
                60
            } else if lines > 100_000 {
                8
            } else {
                30
            },
            pace: name.contains("paced").then(|| Duration::from_millis(150)),
        };
        eprintln!("bench:   {name} ({lines} lines, {} positions)", c.positions.len());
        let f = file_session(&env, Kind::Flux, &c);
        let y = if kinds.contains(&Kind::Yls) {
            file_session(&env, Kind::Yls, &c)
        } else {
            FileFig { note: "not run".into(), ..Default::default() }
        };
        if !f.note.is_empty() || !y.note.is_empty() {
            eprintln!("bench:     flux-lsp: {} | yaml-ls: {}", f.note, y.note);
        }
        results.push((name.clone(), lines, f, y));
    }

    let _ = writeln!(r.md, "\n## 2. Completion and hover at every key and value\n");
    let _ = writeln!(
        r.md,
        "Hover in the middle of each key and scalar value, completion at its end (`triggerKind` 1); for the generated files the keys and values of the first, middle and last 60 lines. yaml-ls stops after its time budget (n shows how many it answered). \"useful\" = non-empty answers: a server that answers `null` is fast for nothing, so read the latencies together with that column.\n"
    );
    let _ = writeln!(
        r.md,
        "| file | request | n (flux / yaml-ls) | flux-lsp p50 | p95 | max | yaml-ls p50 | p95 | max | ratio p50 | useful (flux / yaml-ls) |"
    );
    let _ = writeln!(r.md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (name, _, f, y) in &results {
        for (op, fd, fu, yd, yu) in [
            ("completion", &f.completion, f.completion_nonempty, &y.completion, y.completion_nonempty),
            ("hover", &f.hover, f.hover_nonempty, &y.hover, y.hover_nonempty),
        ] {
            let _ = writeln!(
                r.md,
                "| {name} | {op} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                fd.n(),
                yd.n(),
                fms(fd.p50()),
                fms(fd.p95()),
                fms(fd.max()),
                fms(yd.p50()),
                fms(yd.p95()),
                fms(yd.max()),
                ratio(fd.p50(), yd.p50()),
                fu,
                yu
            );
        }
    }
    let _ = writeln!(
        r.md,
        "\n## 3. Typing a new object at the end of the file: `didChange` → diagnostics of that version\n"
    );
    let _ = writeln!(
        r.md,
        "One character per incremental `didChange` ({} characters: a GitRepository). flux-lsp: every keystroke; it does not republish unchanged diagnostics, so when none comes for a version, the answer to a request sent right after the change (the server handles messages in order) marks the end of its work. yaml-ls: waits for every measured keystroke's diagnostics, which it sends after a fixed {YLS_DEBOUNCE_MS:.0} ms debounce (its figures include it; \"−debounce\" subtracts it); on big files only every k-th keystroke is measured, the others are sent in between as a fast typist would. Keystrokes follow each other at once, except in the \"paced\" case (150 ms before each, a typist's pace: the other files of the workspace are republished between them). In a file of a workspace, the typed object's name and references change what the other files see.\n",
        inputs::TYPED.chars().count()
    );
    let _ = writeln!(
        r.md,
        "| file | n (flux / yaml-ls) | flux-lsp p50 | p95 | max | yaml-ls p50 | p95 | −debounce p50 | ratio p50 | ratio p50 −debounce | flux-lsp: unchanged, not republished |"
    );
    let _ = writeln!(r.md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, _, f, y) in &results {
        let yd = y.keys.p50().map(|x| x - YLS_DEBOUNCE_MS);
        let _ = writeln!(
            r.md,
            "| {name} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} | {} of {} |",
            f.keys.n(),
            y.keys.n(),
            fms(f.keys.p50()),
            fms(f.keys.p95()),
            fms(f.keys.max()),
            fms(y.keys.p50()),
            fms(y.keys.p95()),
            fms(yd),
            ratio(f.keys.p50(), y.keys.p50()),
            ratio(f.keys.p50(), yd),
            f.unchanged,
            f.keys_total
        );
    }
    let late: usize = results.iter().map(|x| x.2.late).sum();
    let _ = writeln!(
        r.md,
        "\nflux-lsp diagnostics that arrived after the answer to the request sent behind their change: {late} (0 confirms the in-order measurement)."
    );
    let _ = writeln!(r.md, "\n## 4. Scaling with the number of objects in one file\n");
    let _ = writeln!(
        r.md,
        "| objects | lines | open → diagnostics (flux / yaml-ls) | keystroke p50 | keystroke p95 | completion p50 | hover p50 | peak RSS | CPU of the session |"
    );
    let _ = writeln!(r.md, "|---:|---:|---|---|---|---|---|---|---|");
    let both = |a: String, b: String| format!("{a} / {b}");
    for (name, lines, f, y) in results.iter().filter(|x| x.0.ends_with("objects")) {
        let _ = writeln!(
            r.md,
            "| {} | {lines} | {} | {} | {} | {} | {} | {} | {} |",
            name.trim_end_matches(" objects"),
            both(fms(f.open_ms), fms(y.open_ms)),
            both(fms(f.keys.p50()), fms(y.keys.p50())),
            both(fms(f.keys.p95()), fms(y.keys.p95())),
            both(fms(f.completion.p50()), fms(y.completion.p50())),
            both(fms(f.hover.p50()), fms(y.hover.p50())),
            both(fmb(f.rss), fmb(y.rss)),
            both(fcpu(f.cpu), fcpu(y.cpu)),
        );
    }
    // targets from the file scenarios
    if let Some((_, _, f, _)) = results.iter().find(|x| x.0.starts_with("real")) {
        r.target(
            "keystroke → diagnostics p50 ≤ 5 ms, normal file",
            fms(f.keys.p50()),
            f.keys.p50().is_some_and(|x| x <= 5.0),
        );
    }
    if let Some((_, _, f, _)) = results.iter().find(|x| x.0 == "1000 objects") {
        r.target(
            "keystroke → diagnostics p50 ≤ 20 ms, 1,000-object file",
            fms(f.keys.p50()),
            f.keys.p50().is_some_and(|x| x <= 20.0),
        );
        r.target(
            "completion p50 ≤ 1 ms, 1,000-object file",
            fms(f.completion.p50()),
            f.completion.p50().is_some_and(|x| x <= 1.0),
        );
        r.target("hover p50 ≤ 1 ms, 1,000-object file", fms(f.hover.p50()), f.hover.p50().is_some_and(|x| x <= 1.0));
    }
    let k = |n: &str| results.iter().find(|x| x.0 == n).and_then(|x| x.2.keys.p50());
    if let (Some(a), Some(b)) = (k("100 objects"), k("10000 objects")) {
        r.target(
            "edit cost flat from 100 to 10,000 objects (keystroke p50 at 10,000 ≤ 2× at 100)",
            format!("{} → {} ({:.1}×)", fms(Some(a)), fms(Some(b)), b / a),
            b <= 2.0 * a,
        );
    }
    let _ = writeln!(r.md, "\n## Targets\n");
    let _ = writeln!(r.md, "| target | flux-lsp | |");
    let _ = writeln!(r.md, "|---|---|---|");
    for (t, fig, met) in &r.targets {
        let _ = writeln!(r.md, "| {t} | {fig} | {} |", if *met { "met" } else { "**missed**" });
    }
    let _ = writeln!(
        r.md,
        "\nWhole run: {:.0} s; load average at the end: {}. Server logs: {}.",
        t_all.elapsed().as_secs_f64(),
        loadavg(),
        work.join("logs").display()
    );
    let _ = env.quick;
    let _ = &env.work;
    std::fs::create_dir_all(report_path.parent().unwrap()).unwrap();
    std::fs::write(&report_path, &r.md).unwrap();
    println!("{}", r.md);
    eprintln!("bench: report written to {}", report_path.display());
}

fn walk_yaml(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
