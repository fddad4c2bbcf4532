//! The network side of remote charts: a background worker that takes chart
//! sources from [`Remote`]'s queue (deduplicated there), fetches a few at a
//! time with timeouts, writes the disk cache and reports each end.
//!
//! HTTP(S) Helm repositories: `<url>/index.yaml`, the highest version that
//! satisfies the constraint, the archive at the entry's first URL (relative
//! to the repository), its sha256 checked against the index's `digest`.
//! OCI registries through `oci-client` (the distribution API, anonymous or
//! with a `~/.docker/config.json` `auths` entry, token challenges handled by
//! the crate): tags → version → manifest → the Helm chart layer, its digest
//! checked. Credential helpers are never run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client as OciClient, Reference};
use tokio::sync::{Semaphore, mpsc};

use super::archive;
use super::cache::{DiskCache, Meta, RepoIndex};
use super::constraint::Constraint;
use super::{ChartSource, OciRef, Remote, http_ref_key, oci_digest_key, oci_tag_key, stale, tag_to_version};

/// The media type of a Helm chart's content layer in an OCI artifact.
pub const HELM_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Fetches running at once.
pub const CONCURRENCY: usize = 4;
/// One HTTP request (connect to last byte).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// One whole fetch (index + archive, or tags + manifest + layer).
pub const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest index or archive downloaded.
const MAX_DOWNLOAD: u64 = 128 << 20;

/// The end of one fetch, for the server.
#[derive(Debug)]
pub struct Done {
    pub source: ChartSource,
    /// What was fetched (for the log), or why it failed.
    pub result: Result<String, String>,
}

/// The HTTP client (rustls with the ring provider, which kube also uses).
pub fn http_client() -> Result<reqwest::Client, String> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("flux-lsp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot create an HTTP client: {e}"))
}

fn install_crypto() {
    // reqwest and oci-client are built without a provider of their own
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Starts the worker: fetch requests from `remote`'s queue run in the
/// background, `CONCURRENCY` at a time, each ending with a [`Done`].
pub fn start(remote: Arc<Remote>, done: mpsc::UnboundedSender<Done>) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<ChartSource>();
    remote.set_queue(Some(tx));
    tokio::spawn(async move {
        let http = match http_client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "charts: no fetching");
                return;
            }
        };
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        while let Some(src) = rx.recv().await {
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            let (remote, http, done) = (remote.clone(), http.clone(), done.clone());
            tokio::spawn(async move {
                let result = run_with_timeout(&remote, &http, &src).await;
                remote.finish(&src, &result.as_ref().map(|_| ()).map_err(Clone::clone));
                drop(permit);
                let _ = done.send(Done { source: src, result });
            });
        }
    })
}

/// One fetch, bounded by [`JOB_TIMEOUT`].
pub async fn run_with_timeout(remote: &Remote, http: &reqwest::Client, src: &ChartSource) -> Result<String, String> {
    match tokio::time::timeout(JOB_TIMEOUT, run(remote, http, src)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {}s", JOB_TIMEOUT.as_secs())),
    }
}

/// Fetches what the cache lacks for `src` (or refreshes what is stale).
pub async fn run(remote: &Remote, http: &reqwest::Client, src: &ChartSource) -> Result<String, String> {
    let cache = remote.cache.as_ref().ok_or("no chart cache directory (set `charts.cacheDir`)")?;
    if !remote.fetch {
        return Err("`charts.fetch` is false".into());
    }
    match src {
        ChartSource::Http { repo, chart, version } => fetch_http(cache, http, repo, chart, version).await,
        ChartSource::Oci { url, reference, insecure } => fetch_oci(cache, url, reference, *insecure).await,
    }
}

/// A URL without its user info (for messages and logs).
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn get(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let shown = redact(url);
    let resp = http.get(url).send().await.map_err(|e| format!("GET {shown}: {}", error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {shown}: HTTP {status}"));
    }
    if resp.content_length().is_some_and(|n| n > MAX_DOWNLOAD) {
        return Err(format!("GET {shown}: larger than {} MB", MAX_DOWNLOAD >> 20));
    }
    let bytes = resp.bytes().await.map_err(|e| format!("GET {shown}: {}", error_chain(&e)))?;
    if bytes.len() as u64 > MAX_DOWNLOAD {
        return Err(format!("GET {shown}: larger than {} MB", MAX_DOWNLOAD >> 20));
    }
    Ok(bytes.to_vec())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// `urls[0]` of an index entry, relative to the repository URL.
fn chart_url(repo: &str, u: &str) -> Result<String, String> {
    if u.contains("://") {
        return Ok(u.to_string());
    }
    let base = reqwest::Url::parse(&format!("{}/", repo.trim_end_matches('/')))
        .map_err(|e| format!("`{}` is not a URL: {e}", redact(repo)))?;
    base.join(u).map(|x| x.to_string()).map_err(|e| format!("`{u}` in the index: {e}"))
}

async fn fetch_http(
    cache: &DiskCache,
    http: &reqwest::Client,
    repo: &str,
    chart: &str,
    version: &str,
) -> Result<String, String> {
    let c = Constraint::parse(version).map_err(|e| format!("`{version}` is not a version constraint: {e}"))?;
    let idx = match cache.read_index(repo) {
        Some((at, idx)) if !stale(at) => idx,
        _ => {
            let url = format!("{}/index.yaml", repo.trim_end_matches('/'));
            let bytes = get(http, &url).await?;
            let text = String::from_utf8_lossy(&bytes);
            let repo_s = repo.to_string();
            let text = text.into_owned();
            let idx = tokio::task::spawn_blocking(move || RepoIndex::from_yaml(&repo_s, &text))
                .await
                .map_err(|e| e.to_string())??;
            cache.write_index(&idx).map_err(|e| format!("writing the chart cache: {e}"))?;
            idx
        }
    };
    let entries = idx.entries.get(chart).ok_or_else(|| format!("the repository has no chart `{chart}`"))?;
    let (_, e) = c
        .best(entries.iter().map(|e| (e.version.as_str(), e)))
        .ok_or_else(|| format!("no version of chart `{chart}` satisfies `{version}`"))?;
    let want = e.digest.as_deref().and_then(archive::normalize_digest);
    let key = http_ref_key(repo, chart, &e.version);
    let known = want.clone().or_else(|| cache.read_ref(&key).map(|(_, d)| d));
    if let Some(d) = &known
        && cache.has_chart(d)
    {
        return Ok(format!("chart `{chart}` {} is cached", e.version));
    }
    let first = e.urls.first().ok_or_else(|| format!("the index gives no URL for `{chart}` {}", e.version))?;
    let url = chart_url(repo, first)?;
    let bytes = get(http, &url).await?;
    let got = archive::sha256_hex(&bytes);
    if let Some(w) = &want
        && *w != got
    {
        return Err(format!(
            "digest mismatch for `{}`: the index says sha256:{w}, the download is sha256:{got} (not cached)",
            redact(&url)
        ));
    }
    let meta = Meta { source: redact(repo), chart: chart.to_string(), version: e.version.clone(), digest: got.clone() };
    store(cache, bytes, meta).await?;
    cache.write_ref(&key, &got).map_err(|e| format!("writing the chart cache: {e}"))?;
    Ok(format!("chart `{chart}` {} (sha256:{})", e.version, &got[..12]))
}

async fn store(cache: &DiskCache, bytes: Vec<u8>, meta: Meta) -> Result<(), String> {
    let cache = cache.clone();
    tokio::task::spawn_blocking(move || {
        let files = archive::extract(&bytes)?;
        cache.store_chart(&meta, &files).map_err(|e| format!("writing the chart cache: {e}"))?;
        Ok::<_, String>(())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// `oci://host[:port]/path` → (registry, repository).
pub fn split_oci(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("oci://").ok_or_else(|| format!("`{url}` is not an oci:// URL"))?;
    let (host, path) = rest.split_once('/').ok_or_else(|| format!("`{url}` names no repository"))?;
    let path = path.trim_matches('/');
    if host.is_empty() || path.is_empty() {
        return Err(format!("`{url}` names no repository"));
    }
    Ok((host.to_string(), path.to_string()))
}

async fn fetch_oci(cache: &DiskCache, url: &str, reference: &OciRef, insecure: bool) -> Result<String, String> {
    install_crypto();
    let (registry, repository) = split_oci(url)?;
    let client = OciClient::new(ClientConfig {
        protocol: if insecure { ClientProtocol::Http } else { ClientProtocol::Https },
        read_timeout: Some(REQUEST_TIMEOUT),
        connect_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    });
    let auth = docker_auth(&registry);
    let oci_err = |what: &str, e: oci_client::errors::OciDistributionError| format!("{what} of `{url}`: {e}");
    let (image, key, version) = match reference {
        OciRef::Digest(d) => {
            (Reference::with_digest(registry.clone(), repository.clone(), d.clone()), oci_digest_key(url, d), d.clone())
        }
        OciRef::Tag(t) => {
            (Reference::with_tag(registry.clone(), repository.clone(), t.clone()), oci_tag_key(url, t), t.clone())
        }
        OciRef::Semver(v) => {
            let c = Constraint::parse(v).map_err(|e| format!("`{v}` is not a version constraint: {e}"))?;
            let tags = match cache.read_tags(url) {
                Some((at, tags)) if !stale(at) => tags,
                _ => {
                    let any = Reference::with_tag(registry.clone(), repository.clone(), "latest".into());
                    let mut tags: Vec<String> = Vec::new();
                    // pages of 1,000 (registries may page with `last`)
                    for _ in 0..20 {
                        let page = client
                            .list_tags(&any, &auth, Some(1000), tags.last().map(String::as_str))
                            .await
                            .map_err(|e| oci_err("listing the tags", e))?;
                        let n = page.tags.len();
                        let new: Vec<String> = page.tags.into_iter().filter(|t| !tags.contains(t)).collect();
                        let stop = n < 1000 || new.is_empty();
                        tags.extend(new);
                        if stop {
                            break;
                        }
                    }
                    cache.write_tags(url, &tags).map_err(|e| format!("writing the chart cache: {e}"))?;
                    tags
                }
            };
            let versions: Vec<(String, &String)> = tags.iter().map(|t| (tag_to_version(t), t)).collect();
            let (_, tag) = c
                .best(versions.iter().map(|(v, t)| (v.as_str(), *t)))
                .ok_or_else(|| format!("no tag of `{url}` satisfies `{v}`"))?;
            let tag = tag.clone();
            (Reference::with_tag(registry.clone(), repository.clone(), tag.clone()), oci_tag_key(url, &tag), tag)
        }
    };
    if let Some((at, d)) = cache.read_ref(&key)
        && cache.has_chart(&d)
        && (matches!(reference, OciRef::Digest(_)) || !stale(at))
    {
        return Ok(format!("`{url}` {version} is cached"));
    }
    let (manifest, _) = client.pull_manifest(&image, &auth).await.map_err(|e| oci_err("the manifest", e))?;
    let OciManifest::Image(m) = manifest else {
        return Err(format!("`{url}` {version} is an image index, not a Helm chart"));
    };
    let layer = m
        .layers
        .iter()
        .find(|l| l.media_type == HELM_LAYER)
        .ok_or_else(|| format!("`{url}` {version} is not a Helm chart (no layer of type {HELM_LAYER})"))?;
    let want = archive::normalize_digest(&layer.digest)
        .ok_or_else(|| format!("`{url}` {version}: unsupported layer digest `{}`", layer.digest))?;
    if !cache.has_chart(&want) {
        if layer.size < 0 || layer.size as u64 > MAX_DOWNLOAD {
            return Err(format!("`{url}` {version}: the chart layer is larger than {} MB", MAX_DOWNLOAD >> 20));
        }
        let mut bytes: Vec<u8> = Vec::with_capacity(layer.size as usize);
        client.pull_blob(&image, layer, &mut bytes).await.map_err(|e| oci_err("the chart layer", e))?;
        let got = archive::sha256_hex(&bytes);
        if got != want {
            return Err(format!(
                "digest mismatch for `{url}` {version}: the manifest says sha256:{want}, the download is sha256:{got} (not cached)"
            ));
        }
        let chart = repository.rsplit('/').next().unwrap_or(&repository).to_string();
        let meta = Meta { source: url.to_string(), chart, version: tag_to_version(&version), digest: got };
        store(cache, bytes, meta).await?;
    }
    cache.write_ref(&key, &want).map_err(|e| format!("writing the chart cache: {e}"))?;
    Ok(format!("`{url}` {version} (sha256:{})", &want[..12]))
}

/// Credentials for `registry` from the docker config file
/// (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`): its `auths`
/// entries (`auth` = base64 of `user:password`, or `username`/`password`).
/// Credential helpers (`credsStore`, `credHelpers`) are not run.
pub fn docker_auth(registry: &str) -> RegistryAuth {
    let path = std::env::var_os("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("config.json"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json")));
    let Some(text) = path.and_then(|p| std::fs::read(p).ok()) else { return RegistryAuth::Anonymous };
    auth_from_config(&text, registry).unwrap_or(RegistryAuth::Anonymous)
}

fn auth_from_config(text: &[u8], registry: &str) -> Option<RegistryAuth> {
    use base64::Engine as _;
    let v: serde_json::Value = serde_json::from_slice(text).ok()?;
    let auths = v.get("auths")?.as_object()?;
    let host_of = |k: &str| {
        let k = k.split("://").nth(1).unwrap_or(k);
        k.split('/').next().unwrap_or(k).to_string()
    };
    let docker_hub = |h: &str| matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io");
    let (_, entry) = auths.iter().find(|(k, _)| {
        let h = host_of(k);
        h == registry || (docker_hub(&h) && docker_hub(registry))
    })?;
    if let Some(a) = entry.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD.decode(a.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        return Some(RegistryAuth::Basic(u.to_string(), p.to_string()));
    }
    let u = entry.get("username")?.as_str()?;
    let p = entry.get("password")?.as_str()?;
    Some(RegistryAuth::Basic(u.to_string(), p.to_string()))
}

/// `check --fetch-charts`: fetches every source queued so far, then
/// returns what happened to each (synchronously, on its own runtime).
pub fn fetch_all(remote: &Remote, sources: Vec<ChartSource>) -> Vec<Done> {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return sources.into_iter().map(|s| Done { source: s, result: Err(e.to_string()) }).collect();
        }
    };
    rt.block_on(async {
        let http = match http_client() {
            Ok(h) => h,
            Err(e) => return sources.into_iter().map(|s| Done { source: s, result: Err(e.clone()) }).collect(),
        };
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let jobs = sources.into_iter().map(|src| {
            let (permits, http) = (permits.clone(), http.clone());
            async move {
                let _p = permits.acquire_owned().await;
                let result = run_with_timeout(remote, &http, &src).await;
                remote.finish(&src, &result.as_ref().map(|_| ()).map_err(Clone::clone));
                Done { source: src, result }
            }
        });
        futures::future::join_all(jobs).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_urls_are_relative_to_the_repository() {
        assert_eq!(chart_url("https://x.io/charts", "app-1.0.0.tgz").unwrap(), "https://x.io/charts/app-1.0.0.tgz");
        assert_eq!(chart_url("https://x.io/charts/", "sub/app.tgz").unwrap(), "https://x.io/charts/sub/app.tgz");
        assert_eq!(chart_url("https://x.io/charts", "https://cdn.io/a.tgz").unwrap(), "https://cdn.io/a.tgz");
        assert_eq!(redact("https://user:secret@x.io/charts"), "https://x.io/charts");
        assert_eq!(split_oci("oci://ghcr.io/org/charts/app").unwrap(), ("ghcr.io".into(), "org/charts/app".into()));
        assert!(split_oci("oci://ghcr.io").is_err());
    }

    #[test]
    fn docker_config_auths() {
        let cfg = br#"{"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}, "ghcr.io": {"username": "me", "password": "tok"}}, "credsStore": "desktop"}"#;
        let basic = |r: &str| match auth_from_config(cfg, r) {
            Some(RegistryAuth::Basic(u, p)) => Some((u, p)),
            _ => None,
        };
        assert_eq!(basic("docker.io"), Some(("user".into(), "pass".into())));
        assert_eq!(basic("ghcr.io"), Some(("me".into(), "tok".into())));
        assert_eq!(basic("quay.io"), None);
    }
}
