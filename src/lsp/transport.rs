//! A JSON-RPC framing guard in front of tower-lsp-server.
//!
//! tower-lsp-server ends the whole server after one malformed message
//! (truncated JSON, invalid UTF-8, an array, a non-JSON-RPC object). This
//! layer reads `Content-Length` frames from the real stdin, answers malformed
//! ones itself with a JSON-RPC error, and passes only well-formed messages on.
//! Output frames from the service and our own error replies are interleaved
//! at frame boundaries only.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

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

/// Runs the guard: `input` is the real stdin, `output` the real stdout;
/// returns the (reader, writer) pair to hand to `tower_lsp_server::Server`.
pub fn guard<I, O>(input: I, output: O) -> (tokio::io::DuplexStream, tokio::io::DuplexStream)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (svc_in, mut feed) = tokio::io::duplex(1 << 20);
    let (svc_out, from_svc) = tokio::io::duplex(1 << 20);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    // input side
    let err_tx = tx.clone();
    tokio::spawn(async move {
        let mut r = BufReader::new(input);
        while let Ok(Some(body)) = read_frame(&mut r).await {
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
                    let _ = err_tx.send(encode(reply.to_string().as_bytes()));
                }
            }
        }
        // end of input: closing the feed lets the service see EOF and stop
        let _ = feed.shutdown().await;
    });
    // service output → channel, frame by frame
    tokio::spawn(async move {
        let mut r = BufReader::new(from_svc);
        while let Ok(Some(body)) = read_frame(&mut r).await {
            if tx.send(encode(&body)).is_err() {
                break;
            }
        }
    });
    // one writer to the real output
    tokio::spawn(async move {
        let mut out = output;
        while let Some(frame) = rx.recv().await {
            if out.write_all(&frame).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
    });
    (svc_in, svc_out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
