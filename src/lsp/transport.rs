//! A JSON-RPC framing guard in front of tower-lsp-server.
//!
//! tower-lsp-server ends the whole server after one malformed message
//! (truncated JSON, invalid UTF-8, an array, a non-JSON-RPC object). This
//! layer reads `Content-Length` frames from the real stdin, answers malformed
//! ones itself with a JSON-RPC error, and passes only well-formed messages on.
//! Output frames from the service and our own error replies are interleaved
//! at frame boundaries only.
//!
//! The output side is a bounded queue, for a client that stops reading:
//! queued diagnostics for a document are replaced by newer ones, log
//! messages are dropped (and counted) once the queue is backed up, and past
//! [`HARD_LIMIT`] queued bytes the input is no longer read, so the client
//! feels back-pressure instead of the server growing without bound.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

/// Queued bytes above which log messages are dropped.
pub const SOFT_LIMIT: usize = 1 << 20;
/// Queued bytes above which input is not read until the client reads.
pub const HARD_LIMIT: usize = 64 << 20;

/// Largest message accepted (a whole-document change of a 50 MB file fits).
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

pub fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one frame body. Ok(None) at end of input.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<Option<Vec<u8>>> {
    let mut len: Option<usize> = None;
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).await?;
        if n == 0 {
            return Ok(None);
        }
        let l = line.trim_end();
        if l.is_empty() {
            if len.is_some() {
                break;
            }
            continue; // stray blank line between frames
        }
        if let Some((k, v)) = l.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok();
        }
    }
    let len = len.unwrap_or(0);
    if len > MAX_FRAME {
        // skip it without buffering
        let mut left = len as u64;
        let mut sink = tokio::io::sink();
        left -= tokio::io::copy(&mut r.take(left), &mut sink).await?;
        let _ = left;
        return Ok(Some(Vec::new()));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Why a frame was refused, as a JSON-RPC error (code, message, id).
fn validate(body: &[u8]) -> Result<(), (i64, String, serde_json::Value)> {
    let text = std::str::from_utf8(body)
        .map_err(|_| (-32700, "message is not valid UTF-8".to_string(), serde_json::Value::Null))?;
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| (-32700, format!("parse error: {e}"), serde_json::Value::Null))?;
    let Some(obj) = v.as_object() else {
        return Err((
            -32600,
            "a JSON-RPC message must be an object (batches are not supported)".into(),
            serde_json::Value::Null,
        ));
    };
    let id = obj.get("id").cloned().unwrap_or(serde_json::Value::Null);
    if obj.get("jsonrpc").and_then(|j| j.as_str()) != Some("2.0") {
        return Err((-32600, "missing \"jsonrpc\": \"2.0\"".into(), id));
    }
    let has_method = obj.get("method").is_some_and(|m| m.is_string());
    let is_response = obj.contains_key("result") || obj.contains_key("error");
    if !has_method && !is_response {
        return Err((-32600, "neither a request, a notification nor a response".into(), id));
    }
    if let Some(p) = obj.get("params")
        && !p.is_object()
        && !p.is_array()
        && !p.is_null()
    {
        return Err((-32600, "params must be an object or an array".into(), id));
    }
    if obj.get("id").is_some_and(|i| !(i.is_string() || i.is_number() || i.is_null())) {
        return Err((-32600, "id must be a string or a number".into(), serde_json::Value::Null));
    }
    Ok(())
}

/// What the queue needs to know of an outgoing message.
#[derive(Debug, PartialEq)]
enum Kind {
    /// `textDocument/publishDiagnostics` for this URI: newer replaces older.
    Diagnostics(String),
    /// `window/logMessage`: may be dropped when backed up.
    Log,
    Other,
}

fn classify(body: &[u8]) -> Kind {
    #[derive(serde::Deserialize)]
    struct Params {
        uri: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Head {
        method: Option<String>,
        id: Option<serde::de::IgnoredAny>,
        params: Option<Params>,
    }
    let Ok(h) = serde_json::from_slice::<Head>(body) else { return Kind::Other };
    if h.id.is_some() {
        return Kind::Other; // a request to the client or a response
    }
    match (h.method.as_deref(), h.params.and_then(|p| p.uri)) {
        (Some("textDocument/publishDiagnostics"), Some(uri)) => Kind::Diagnostics(uri),
        (Some("window/logMessage"), _) => Kind::Log,
        _ => Kind::Other,
    }
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<(Kind, Vec<u8>)>,
    bytes: usize,
    dropped_logs: u64,
    closed: bool,
}

/// The outgoing side: frames wait here until the writer can send them.
#[derive(Default)]
struct Outbox {
    q: Mutex<Queue>,
    /// Wakes the writer.
    ready: Notify,
    /// Wakes the reader waiting for room.
    room: Notify,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one message body.
    fn push(&self, body: Vec<u8>) {
        let kind = classify(&body);
        let frame = encode(&body);
        {
            let mut q = self.lock();
            match &kind {
                Kind::Diagnostics(uri) => {
                    if let Some(slot) = q.frames.iter_mut().find(|(k, _)| matches!(k, Kind::Diagnostics(u) if u == uri))
                    {
                        let old = std::mem::replace(&mut slot.1, frame);
                        let new_len = slot.1.len();
                        q.bytes = q.bytes - old.len() + new_len;
                        return;
                    }
                }
                Kind::Log if q.bytes > SOFT_LIMIT => {
                    q.dropped_logs += 1;
                    return;
                }
                _ => {}
            }
            q.bytes += frame.len();
            q.frames.push_back((kind, frame));
        }
        self.ready.notify_one();
    }

    /// Waits until the queue has room for more input to be read.
    async fn wait_for_room(&self) {
        loop {
            let notified = self.room.notified();
            {
                let q = self.lock();
                if q.bytes <= HARD_LIMIT || q.closed {
                    return;
                }
            }
            notified.await;
        }
    }

    /// The next frame to write; None once closed and empty.
    async fn pop(&self) -> Option<Vec<u8>> {
        loop {
            let notified = self.ready.notified();
            {
                let mut q = self.lock();
                if let Some((_, f)) = q.frames.pop_front() {
                    q.bytes -= f.len();
                    if q.frames.is_empty() && q.dropped_logs > 0 {
                        let n = std::mem::take(&mut q.dropped_logs);
                        let note = serde_json::json!({"jsonrpc": "2.0", "method": "window/logMessage", "params": {
                            "type": 2,
                            "message": format!("flux-lsp: {n} log message(s) dropped while the client was not reading")
                        }});
                        let nf = encode(note.to_string().as_bytes());
                        q.bytes += nf.len();
                        q.frames.push_back((Kind::Log, nf));
                    }
                    drop(q);
                    self.room.notify_one();
                    return Some(f);
                }
                if q.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
        self.room.notify_one();
    }
}

/// Waits, at most `limit`, until every queued frame is written (at exit).
pub struct Drain(Arc<Outbox>, tokio::task::JoinHandle<()>);

impl Drain {
    /// The service's output has ended (it was dropped): the queue closes
    /// when its last frame is read, and the writer ends when it is written.
    pub async fn wait(self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.1).await;
        self.0.close();
    }
}

/// Runs the guard: `input` is the real stdin, `output` the real stdout;
/// returns the (reader, writer) pair to hand to `tower_lsp_server::Server`,
/// and a [`Drain`] to flush what is queued when the server ends.
pub fn guard<I, O>(input: I, output: O) -> (tokio::io::DuplexStream, tokio::io::DuplexStream, Drain)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (svc_in, mut feed) = tokio::io::duplex(1 << 20);
    let (svc_out, from_svc) = tokio::io::duplex(1 << 20);
    let outbox = Arc::new(Outbox::default());
    // input side
    let err_out = outbox.clone();
    tokio::spawn(async move {
        let mut r = BufReader::new(input);
        loop {
            // a client that does not read what we write is not read either
            err_out.wait_for_room().await;
            let Ok(Some(body)) = read_frame(&mut r).await else { break };
            match validate(&body) {
                Ok(()) => {
                    if feed.write_all(&encode(&body)).await.is_err() {
                        break;
                    }
                }
                Err((code, message, id)) => {
                    tracing::warn!(code, %message, "refused a malformed JSON-RPC message");
                    let reply =
                        serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
                    err_out.push(reply.to_string().into_bytes());
                }
            }
        }
        // end of input: closing the feed lets the service see EOF and stop
        let _ = feed.shutdown().await;
    });
    // service output → queue, frame by frame
    let svc_out_box = outbox.clone();
    tokio::spawn(async move {
        let mut r = BufReader::new(from_svc);
        while let Ok(Some(body)) = read_frame(&mut r).await {
            svc_out_box.push(body);
        }
        svc_out_box.close();
    });
    // one writer to the real output
    let writer_box = outbox.clone();
    let writer = tokio::spawn(async move {
        let outbox = writer_box;
        let mut out = output;
        while let Some(frame) = outbox.pop().await {
            if out.write_all(&frame).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
        // the client is gone: stop holding input back
        outbox.close();
    });
    (svc_in, svc_out, Drain(outbox, writer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(uri: &str, version: i32) -> Vec<u8> {
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
            "params": {"uri": uri, "version": version, "diagnostics": []}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_backed_up_queue_keeps_the_newest_diagnostics_per_document_and_every_response() {
        let o = Outbox::default();
        for v in 0..1000 {
            o.push(diag("file:///a.yaml", v));
            o.push(diag("file:///b.yaml", v));
            o.push(format!(r#"{{"jsonrpc":"2.0","id":{v},"result":null}}"#).into_bytes());
        }
        let q = o.lock();
        assert_eq!(q.frames.len(), 1002);
        let a = q.frames.iter().find(|(k, _)| *k == Kind::Diagnostics("file:///a.yaml".into())).unwrap();
        assert!(String::from_utf8_lossy(&a.1).contains("\"version\":999"));
        assert_eq!(q.bytes, q.frames.iter().map(|f| f.1.len()).sum::<usize>());
    }

    #[test]
    fn logs_are_dropped_only_when_backed_up_and_the_drop_is_reported() {
        let o = Outbox::default();
        let log = |i: usize| {
            serde_json::json!({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 3, "message": format!("{i} {}", "x".repeat(1000))}})
                .to_string()
                .into_bytes()
        };
        for i in 0..5000 {
            o.push(log(i));
        }
        let kept = o.lock().frames.len();
        assert!((900..1100).contains(&kept), "{kept}");
        assert!(o.lock().bytes <= SOFT_LIMIT + 2000);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut last = Vec::new();
        for _ in 0..=kept {
            last = rt.block_on(o.pop()).unwrap();
        }
        let text = String::from_utf8(last).unwrap();
        assert!(text.contains(&format!("{} log message(s) dropped", 5000 - kept)), "{text}");
        assert_eq!(o.lock().bytes, 0);
    }

    #[test]
    fn validates_messages() {
        assert!(validate(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#).is_ok());
        assert!(validate(br#"{"jsonrpc":"2.0","method":"x","params":{}}"#).is_ok());
        assert_eq!(validate(b"{\"jsonrpc\":").unwrap_err().0, -32700);
        assert_eq!(validate(b"\xff\xfe").unwrap_err().0, -32700);
        assert_eq!(validate(b"[1,2]").unwrap_err().0, -32600);
        assert_eq!(validate(br#"{"jsonrpc":"2.0","id":3}"#).unwrap_err().2, serde_json::json!(3));
        assert_eq!(validate(br#"{"jsonrpc":"2.0","method":"x","params":5}"#).unwrap_err().0, -32600);
    }
}
