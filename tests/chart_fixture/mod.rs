//! Loopback chart sources for the remote-chart tests (issue #9), on one
//! plain-HTTP server at 127.0.0.1:<random port>:
//! - an HTTP Helm repository under `/repo`: `index.yaml` and `.tgz` archives
//!   (built here with `tar` and `flate2`), digests in the index (or a wrong
//!   one on request);
//! - an OCI registry speaking the distribution API: `/v2/`, an optional
//!   bearer-token challenge (`/token`), `/v2/<name>/tags/list`,
//!   `/v2/<name>/manifests/<tag|digest>`, `/v2/<name>/blobs/<digest>`, with
//!   Helm's media types.
//!
//! Every request is recorded; [`ChartServer::stop`] shuts the server down
//! (connections are then refused).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::common::http::read_request as read_req;

pub const HELM_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// A chart archive: `files` are paths below the chart's directory (built
/// by the crate's own archive builder).
pub fn tgz(name: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_bytes())).collect();
    flux_lsp::charts::archive::build(name, &files)
}

/// A chart with a Chart.yaml, values.yaml and, when given, values.schema.json.
pub fn chart(name: &str, version: &str, values: &str, schema: Option<&str>) -> Vec<u8> {
    let meta = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
    let mut files = vec![("Chart.yaml", meta.as_str()), ("values.yaml", values)];
    if let Some(s) = schema {
        files.push(("values.schema.json", s));
    }
    tgz(name, &files)
}

struct IndexEntry {
    name: String,
    version: String,
    file: String,
    digest: String,
}

/// A served file: content type, body, extra headers.
type Served = (String, Vec<u8>, Vec<(String, String)>);

#[derive(Default)]
struct World {
    files: BTreeMap<String, Served>,
    index: Vec<IndexEntry>,
    /// OCI repository → tags
    tags: BTreeMap<String, Vec<String>>,
    token: Option<String>,
    requests: Vec<String>,
}

pub struct ChartServer {
    pub addr: SocketAddr,
    world: Arc<Mutex<World>>,
    rt: Option<tokio::runtime::Runtime>,
}

fn lock(w: &Mutex<World>) -> MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for ChartServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl ChartServer {
    pub fn start() -> ChartServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let world: Arc<Mutex<World>> = Default::default();
        let w = world.clone();
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                let w = w.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, w, addr).await;
                });
            }
        });
        ChartServer { addr, world, rt: Some(rt) }
    }

    /// The HTTP Helm repository's URL.
    pub fn repo_url(&self) -> String {
        format!("http://{}/repo", self.addr)
    }

    /// `oci://127.0.0.1:<port>/<path>`.
    pub fn oci_url(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    /// Adds a chart archive to the HTTP repository; `digest` overrides the
    /// index's digest (a wrong one for the mismatch test).
    pub fn add_http_chart(&self, name: &str, version: &str, archive: Vec<u8>, digest: Option<&str>) {
        let mut w = lock(&self.world);
        let file = format!("{name}-{version}.tgz");
        let digest = digest.map(String::from).unwrap_or_else(|| sha256(&archive));
        w.files.insert(format!("/repo/{file}"), ("application/gzip".into(), archive, vec![]));
        w.index.push(IndexEntry { name: name.into(), version: version.into(), file, digest });
        let mut idx = String::from("apiVersion: v1\nentries:\n");
        let mut names: Vec<&str> = w.index.iter().map(|e| e.name.as_str()).collect();
        names.sort();
        names.dedup();
        for n in names {
            idx.push_str(&format!("  {n}:\n"));
            for e in w.index.iter().filter(|e| e.name == n) {
                idx.push_str(&format!(
                    "    - apiVersion: v2\n      name: {n}\n      version: {}\n      digest: {}\n      created: \"2026-11-24T10:00:00Z\"\n      urls:\n        - {}\n",
                    e.version, e.digest, e.file
                ));
            }
        }
        idx.push_str("generated: \"2026-11-24T10:00:00Z\"\n");
        w.files.insert("/repo/index.yaml".into(), ("application/x-yaml".into(), idx.into_bytes(), vec![]));
    }

    /// Pushes a chart archive to the OCI registry as `<repo>:<tag>`; returns
    /// the manifest digest.
    pub fn add_oci_chart(&self, repo: &str, tag: &str, archive: Vec<u8>) -> String {
        let mut w = lock(&self.world);
        let config = b"{}".to_vec();
        let (cd, ld) = (format!("sha256:{}", sha256(&config)), format!("sha256:{}", sha256(&archive)));
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": HELM_CONFIG, "digest": cd, "size": config.len()},
            "layers": [{"mediaType": HELM_LAYER, "digest": ld, "size": archive.len()}],
            "annotations": {"org.opencontainers.image.title": repo.rsplit('/').next().unwrap()}
        })
        .to_string()
        .into_bytes();
        let md = format!("sha256:{}", sha256(&manifest));
        let hdr = vec![("Docker-Content-Digest".to_string(), md.clone())];
        w.files.insert(format!("/v2/{repo}/blobs/{cd}"), ("application/octet-stream".into(), config, vec![]));
        w.files.insert(format!("/v2/{repo}/blobs/{ld}"), ("application/octet-stream".into(), archive, vec![]));
        w.files.insert(format!("/v2/{repo}/manifests/{tag}"), (OCI_MANIFEST.into(), manifest.clone(), hdr.clone()));
        w.files.insert(format!("/v2/{repo}/manifests/{md}"), (OCI_MANIFEST.into(), manifest, hdr));
        w.tags.entry(repo.to_string()).or_default().push(tag.to_string());
        md
    }

    /// Registry requests must carry `Authorization: Bearer <token>`, which
    /// `/token` hands out after a `WWW-Authenticate` challenge.
    pub fn require_token(&self, token: &str) {
        lock(&self.world).token = Some(token.to_string());
    }

    /// `METHOD /path?query` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.world).requests.clone()
    }

    /// Shuts the server down: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn respond(
    s: &mut TcpStream,
    code: u16,
    ctype: &str,
    body: &[u8],
    extra: &[(String, String)],
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut head = format!("HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    if !head_only {
        s.write_all(body).await?;
    }
    s.flush().await
}

async fn serve(sock: TcpStream, world: Arc<Mutex<World>>, addr: SocketAddr) -> std::io::Result<()> {
    let mut r = BufReader::new(sock);
    while let Some(req) = read_req(&mut r).await? {
        lock(&world).requests.push(format!("{} {}", req.method, req.target()));
        let (path, query) = (req.path.as_str(), req.query.as_str());
        let head_only = req.method == "HEAD";
        let s = r.get_mut();
        let token = lock(&world).token.clone();
        // the distribution API's token dance
        if path == "/token" {
            let t = token.unwrap_or_default();
            let body = serde_json::json!({"token": t, "access_token": t, "expires_in": 300}).to_string();
            respond(s, 200, "application/json", body.as_bytes(), &[], head_only).await?;
            continue;
        }
        if path.starts_with("/v2")
            && let Some(t) = &token
            && req.headers.get("authorization") != Some(&format!("Bearer {t}"))
        {
            let challenge = (
                "WWW-Authenticate".to_string(),
                format!("Bearer realm=\"http://{addr}/token\",service=\"fake-registry\""),
            );
            let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
            respond(s, 401, "application/json", body, &[challenge], head_only).await?;
            continue;
        }
        if path == "/v2/" || path == "/v2" {
            respond(s, 200, "application/json", b"{}", &[], head_only).await?;
            continue;
        }
        if let Some(repo) = path.strip_prefix("/v2/").and_then(|p| p.strip_suffix("/tags/list")) {
            let tags = lock(&world).tags.get(repo).cloned();
            match tags {
                Some(mut tags) => {
                    tags.sort();
                    // pagination: `n` and `last`
                    let q: BTreeMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
                    if let Some(last) = q.get("last") {
                        tags.retain(|t| t.as_str() > *last);
                    }
                    if let Some(n) = q.get("n").and_then(|n| n.parse::<usize>().ok()) {
                        tags.truncate(n);
                    }
                    let body = serde_json::json!({"name": repo, "tags": tags}).to_string();
                    respond(s, 200, "application/json", body.as_bytes(), &[], head_only).await?;
                }
                None => respond(s, 404, "application/json", b"{\"errors\":[]}", &[], head_only).await?,
            }
            continue;
        }
        let found = lock(&world).files.get(path).cloned();
        match found {
            Some((ctype, body, extra)) => respond(s, 200, &ctype, &body, &extra, head_only).await?,
            None => respond(s, 404, "text/plain", b"not found", &[], head_only).await?,
        }
    }
    Ok(())
}
