//! A minimal LSP client over stdio for the benchmark. Every message is
//! time-stamped on the wire: just before the frame is written to the
//! server's stdin, and as soon as a whole frame has been read from its stdout
//! (before JSON parsing), so the driver's own work stays out of the figures.
//! Requests from the server (workspace/configuration, registerCapability,
//! workDoneProgress/create) are answered at once by the reader thread.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Msg {
    pub at: Instant,
    pub v: Value,
}

pub struct Server {
    child: Child,
    pub pid: u32,
    stdin: Arc<Mutex<ChildStdin>>,
    rx: Receiver<Msg>,
    next_id: i64,
    /// Notifications received and not yet consumed.
    pub queue: VecDeque<Msg>,
}

fn write_frame(w: &Mutex<ChildStdin>, v: &Value) -> Instant {
    let body = serde_json::to_vec(v).unwrap();
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(&body);
    let mut w = w.lock().unwrap();
    let at = Instant::now();
    // a dead server shows up as timeouts; never panic here
    let _ = w.write_all(&frame).and_then(|_| w.flush());
    at
}

fn config_answer(settings: &Value, params: &Value) -> Value {
    let items = params.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        items
            .iter()
            .map(|it| match it.get("section").and_then(Value::as_str) {
                Some(s) => settings.get(s).cloned().unwrap_or(Value::Null),
                None => settings.clone(),
            })
            .collect(),
    )
}

impl Server {
    pub fn spawn(name: &str, cmd: &[String], settings: Value, stderr: &std::path::Path) -> Server {
        let mut c = Command::new(&cmd[0]);
        c.args(&cmd[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).expect("stderr log"));
        let mut child = c.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let pid = child.id();
        let stdin = Arc::new(Mutex::new(child.stdin.take().unwrap()));
        let stdout = child.stdout.take().unwrap();
        let settings = Arc::new(Mutex::new(settings));
        let (tx, rx) = channel();
        let (w, s) = (stdin.clone(), settings.clone());
        let debug = std::env::var_os("BENCH_DEBUG_RPC").is_some();
        std::thread::spawn(move || {
            let mut r = BufReader::with_capacity(1 << 20, stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        if len.is_some() {
                            break;
                        }
                        continue;
                    }
                    if let Some((k, v)) = l.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.unwrap()];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let at = Instant::now();
                let Ok(v) = serde_json::from_slice::<Value>(&body) else { continue };
                if debug {
                    eprintln!("bench-rpc: <- {}", v.to_string().chars().take(400).collect::<String>());
                }
                if let (Some(id), Some(m)) = (v.get("id"), v.get("method").and_then(Value::as_str)) {
                    let result = match m {
                        "workspace/configuration" => config_answer(&s.lock().unwrap(), &v["params"]),
                        _ => Value::Null,
                    };
                    write_frame(&w, &json!({"jsonrpc": "2.0", "id": id, "result": result}));
                }
                if tx.send(Msg { at, v }).is_err() {
                    return;
                }
            }
        });
        Server { child, pid, stdin, rx, next_id: 1, queue: VecDeque::new() }
    }

    pub fn notify(&mut self, method: &str, params: Value) -> Instant {
        write_frame(&self.stdin, &json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    /// Sends a request; returns its id and the time it went on the wire.
    pub fn send_request(&mut self, method: &str, params: Value) -> (i64, Instant) {
        let id = self.next_id;
        self.next_id += 1;
        let at = write_frame(&self.stdin, &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        (id, at)
    }

    fn recv(&mut self, deadline: Instant) -> Option<Msg> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(left.min(Duration::from_millis(50)));
                None
            }
        }
    }

    /// Waits for the response to `id`; notifications meanwhile are queued.
    pub fn wait_response(&mut self, id: i64, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.recv(deadline)?;
            if m.v.get("method").is_none() && m.v.get("id").and_then(Value::as_i64) == Some(id) {
                return Some(m);
            }
            if m.v.get("method").is_some() && m.v.get("id").is_none() {
                self.queue.push_back(m);
            }
        }
    }

    /// Request and response; the latency is measured on the wire.
    pub fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Option<(Value, Duration)> {
        let (id, sent) = self.send_request(method, params);
        let m = self.wait_response(id, timeout)?;
        Some((m.v.get("result").cloned().unwrap_or(Value::Null), m.at - sent))
    }

    /// The first queued or incoming notification matching `pred` (earlier
    /// non-matching ones are dropped).
    pub fn wait_notification(&mut self, timeout: Duration, mut pred: impl FnMut(&Value) -> bool) -> Option<Msg> {
        while let Some(m) = self.queue.pop_front() {
            if pred(&m.v) {
                return Some(m);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.recv(deadline)?;
            if m.v.get("id").is_none() && pred(&m.v) {
                return Some(m);
            }
        }
    }

    /// Everything received until `deadline` or until `stop` says so (the
    /// message that stops is included).
    pub fn drain_until(&mut self, timeout: Duration, mut stop: impl FnMut(&Msg) -> bool) -> (Vec<Msg>, bool) {
        let mut out: Vec<Msg> = self.queue.drain(..).collect();
        if out.iter().any(&mut stop) {
            return (out, true);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let Some(m) = self.recv(deadline) else { return (out, false) };
            let s = stop(&m);
            out.push(m);
            if s {
                return (out, true);
            }
        }
    }

    pub fn clear(&mut self) {
        self.queue.clear();
        while self.rx.try_recv().is_ok() {}
    }

    /// (CPU seconds, peak RSS bytes) of the server process so far.
    pub fn usage(&self) -> (f64, u64) {
        proc_usage(self.pid)
    }

    /// Resident file-backed pages now (mostly the executable's code), bytes.
    pub fn rss_file(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                let l = s.lines().find(|l| l.starts_with("RssFile:"))?;
                Some(l.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
            })
            .unwrap_or(0)
    }

    /// shutdown/exit with short timeouts, then kill.
    pub fn stop(mut self) {
        let (id, _) = self.send_request("shutdown", Value::Null);
        let _ = self.wait_response(id, Duration::from_secs(3));
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn clk_tck() -> f64 {
    static T: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime+stime (all threads) and VmHWM of a process.
pub fn proc_usage(pid: u32) -> (f64, u64) {
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            // fields 14 and 15 of stat; `rest` starts at field 3
            Some((f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?) / clk_tck())
        })
        .unwrap_or(f64::NAN);
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            Some(l.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
        })
        .unwrap_or(0);
    (cpu, hwm)
}

pub fn uri(path: &std::path::Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}
