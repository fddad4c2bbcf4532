//! Charts from Helm repositories and OCI registries (issue #9, second part).
//!
//! Requests never wait on the network: [`Remote::lookup`] reads only the
//! disk cache ([`cache`]) and answers what it has. What it lacks is queued
//! for a background task ([`fetch`]) that downloads the repository index or
//! tag list, picks the version as Helm does ([`constraint`]), downloads the
//! chart archive, checks its digest and keeps its values files
//! ([`archive`]). The server is told when a fetch ends and re-publishes the
//! affected diagnostics. With `charts.fetch: false` nothing is queued: the
//! cache still serves.

pub mod archive;
pub mod cache;
pub mod constraint;
pub mod fetch;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use cache::{DiskCache, RepoIndex, TTL};
use constraint::Constraint;

use crate::workspace::charts::ChartValues;

/// Where a remote chart comes from, as the workspace's Flux objects say.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChartSource {
    /// An HTTP(S) Helm repository (its `index.yaml`), a chart name and a
    /// version constraint.
    Http { repo: String, chart: String, version: String },
    /// An OCI artifact: `oci://host/path/chart` and which version.
    Oci { url: String, reference: OciRef, insecure: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OciRef {
    /// A semver constraint over the repository's tags.
    Semver(String),
    Tag(String),
    /// A manifest digest (`sha256:...`).
    Digest(String),
}

impl ChartSource {
    /// The repository or registry URL, for messages.
    pub fn location(&self) -> &str {
        match self {
            ChartSource::Http { repo, .. } => repo,
            ChartSource::Oci { url, .. } => url,
        }
    }

    /// What was asked for, for messages: `podinfo` `>=6.0` from `https://...`.
    pub fn describe(&self) -> String {
        match self {
            ChartSource::Http { repo, chart, version } => {
                format!("chart `{chart}` (version `{version}`) from the Helm repository `{repo}`")
            }
            ChartSource::Oci { url, reference, .. } => {
                let r = match reference {
                    OciRef::Semver(c) => format!("version `{c}`"),
                    OciRef::Tag(t) => format!("tag `{t}`"),
                    OciRef::Digest(d) => format!("digest `{d}`"),
                };
                format!("chart `{url}` ({r})")
            }
        }
    }
}

/// The key of the chart digest an exact version of an HTTP chart was seen
/// to have (when its index gives no digest).
fn http_ref_key(repo: &str, chart: &str, version: &str) -> String {
    format!("http {repo} {chart} {version}")
}

fn oci_tag_key(url: &str, tag: &str) -> String {
    format!("{url}:{tag}")
}

fn oci_digest_key(url: &str, digest: &str) -> String {
    format!("{url}@{digest}")
}

/// OCI tags cannot hold `+`: Helm writes `1.0.0+build` as `1.0.0_build`.
pub fn tag_to_version(tag: &str) -> String {
    tag.replace('_', "+")
}

/// What the cache says about a chart source.
#[derive(Clone, Debug)]
pub enum Lookup {
    Ready(Arc<ChartValues>),
    /// Queued or being fetched.
    Pending,
    /// The last fetch failed (and is retried later, with backoff).
    Failed(String),
    /// Not cached, and `charts.fetch` is false.
    NotCached,
    /// Nothing to fetch: the constraint is invalid or matches no version of
    /// the (cached, fresh) index.
    NoMatch(String),
}

/// The chart settings (`fluxLsp.charts.*`).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `charts.fetch`: allow network access.
    pub fetch: bool,
    /// `charts.cacheDir`; None: [`DiskCache::default_dir`].
    pub cache_dir: Option<PathBuf>,
    /// `charts.cacheMaxMB`, in bytes.
    pub max_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { fetch: true, cache_dir: None, max_bytes: 512 << 20 }
    }
}

#[derive(Clone, Debug)]
enum Job {
    Queued { attempts: u32 },
    Failed { message: String, retry_at: Instant, attempts: u32 },
}

/// How long an answer of [`Remote::lookup`] is reused (a refresh or a retry
/// that came due is then noticed).
const LOOKUP_TTL: Duration = Duration::from_secs(10);

/// First retry delay after a failed fetch; doubled on each failure.
pub const BACKOFF_START: Duration = Duration::from_secs(30);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30 * 60);

/// The remote charts known to this process: the disk cache, what is in
/// flight, and parsed charts and indexes kept in memory. Shared by every
/// workspace snapshot (its answers depend on the cache, like the cluster
/// overlay's on its cache); the default has no cache and resolves nothing.
#[derive(Default)]
pub struct Remote {
    pub cache: Option<DiskCache>,
    pub fetch: bool,
    jobs: Mutex<HashMap<ChartSource, Job>>,
    queue: Mutex<Option<tokio::sync::mpsc::UnboundedSender<ChartSource>>>,
    /// Charts by digest.
    loaded: Mutex<HashMap<String, Option<Arc<ChartValues>>>>,
    /// Indexes by repository URL, with the file's modification time.
    indexes: Mutex<HashMap<String, (SystemTime, Arc<RepoIndex>)>>,
    /// Bumped whenever a fetch ends (the cache or a failure changed): what
    /// was looked up before may be out of date.
    generation: std::sync::atomic::AtomicU64,
    /// Answers of [`Remote::lookup`] per source, with the generation and time
    /// they were given at: a file of many releases reads the disk once.
    looked: Mutex<HashMap<ChartSource, (u64, Instant, Lookup)>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("cache", &self.cache).field("fetch", &self.fetch).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn stale(at: SystemTime) -> bool {
    SystemTime::now().duration_since(at).map(|d| d > TTL).unwrap_or(false)
}

impl Remote {
    /// A remote with a disk cache (no worker yet: see [`fetch::start`]).
    pub fn new(settings: &Settings) -> Remote {
        let dir = settings.cache_dir.clone().or_else(DiskCache::default_dir);
        Remote {
            cache: dir.map(|d| DiskCache::new(d, settings.max_bytes)),
            fetch: settings.fetch,
            ..Default::default()
        }
    }

    /// Where fetch requests go (the background worker, or a collector for
    /// `check --fetch-charts`).
    pub fn set_queue(&self, tx: Option<tokio::sync::mpsc::UnboundedSender<ChartSource>>) {
        *lock(&self.queue) = tx;
    }

    /// What the cache has for `src`; queues a fetch for what it lacks (and a
    /// refresh when what it has is older than the TTL). Never blocks on the
    /// network.
    pub fn lookup(&self, src: &ChartSource) -> Option<Lookup> {
        self.cache.as_ref()?;
        let generation = self.generation();
        if let Some((g, at, l)) = lock(&self.looked).get(src)
            && *g == generation
            && at.elapsed() < LOOKUP_TTL
        {
            return Some(l.clone());
        }
        let l = self.lookup_uncached(src)?;
        let mut looked = lock(&self.looked);
        if looked.len() > 10_000 {
            looked.clear();
        }
        looked.insert(src.clone(), (generation, Instant::now(), l.clone()));
        Some(l)
    }

    /// Which state of the remote charts answers were given for.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn lookup_uncached(&self, src: &ChartSource) -> Option<Lookup> {
        let cache = self.cache.as_ref()?;
        let (found, refresh) = self.cached(cache, src);
        if let Some(Ok(cv)) = &found {
            if refresh {
                self.enqueue(src);
            }
            return Some(Lookup::Ready(cv.clone()));
        }
        if let Some(Err(why)) = &found
            && !refresh
        {
            return Some(Lookup::NoMatch(why.clone()));
        }
        if !self.fetch {
            return Some(match found {
                Some(Err(why)) => Lookup::NoMatch(why),
                _ => Lookup::NotCached,
            });
        }
        Some(self.enqueue(src))
    }

    /// Queues `src` unless it is queued already or failed recently; the
    /// state to show.
    fn enqueue(&self, src: &ChartSource) -> Lookup {
        if !self.fetch {
            return Lookup::NotCached;
        }
        let mut jobs = lock(&self.jobs);
        let attempts = match jobs.get(src) {
            Some(Job::Queued { .. }) => return Lookup::Pending,
            Some(Job::Failed { message, retry_at, .. }) if Instant::now() < *retry_at => {
                return Lookup::Failed(message.clone());
            }
            Some(Job::Failed { attempts, .. }) => *attempts,
            None => 0,
        };
        let Some(tx) = lock(&self.queue).clone() else {
            return Lookup::NotCached;
        };
        if tx.send(src.clone()).is_err() {
            return Lookup::NotCached;
        }
        jobs.insert(src.clone(), Job::Queued { attempts });
        Lookup::Pending
    }

    /// Records the end of a fetch: success clears the state, a failure is
    /// kept (and shown) until its retry time, which doubles each time.
    pub fn finish(&self, src: &ChartSource, result: &Result<(), String>) {
        let mut jobs = lock(&self.jobs);
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match result {
            Ok(()) => {
                jobs.remove(src);
            }
            Err(message) => {
                let attempts = match jobs.get(src) {
                    Some(Job::Queued { attempts } | Job::Failed { attempts, .. }) => attempts + 1,
                    None => 1,
                };
                let delay = BACKOFF_START.saturating_mul(1 << (attempts - 1).min(10)).min(BACKOFF_MAX);
                jobs.insert(
                    src.clone(),
                    Job::Failed { message: message.clone(), retry_at: Instant::now() + delay, attempts },
                );
            }
        }
    }

    /// Forgets failures (a retry is allowed at once): `check --fetch-charts`
    /// and settings changes.
    pub fn clear_failures(&self) {
        lock(&self.jobs).retain(|_, j| matches!(j, Job::Queued { .. }));
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The cached chart for `src` (Ok), or why there is none to fetch
    /// (Err), or None when the cache lacks something; and whether a
    /// refresh is due.
    fn cached(&self, cache: &DiskCache, src: &ChartSource) -> (Option<Result<Arc<ChartValues>, String>>, bool) {
        match src {
            ChartSource::Http { repo, chart, version } => {
                let c = match Constraint::parse(version) {
                    Ok(c) => c,
                    Err(e) => return (Some(Err(format!("`{version}` is not a version constraint: {e}"))), false),
                };
                let Some((at, idx)) = self.index(cache, repo) else { return (None, true) };
                let refresh = stale(at);
                let Some(entries) = idx.entries.get(chart) else {
                    return (Some(Err(format!("the repository `{repo}` has no chart `{chart}`"))), refresh);
                };
                let Some((_, e)) = c.best(entries.iter().map(|e| (e.version.as_str(), e))) else {
                    return (
                        Some(Err(format!("no version of chart `{chart}` in `{repo}` satisfies `{version}`"))),
                        refresh,
                    );
                };
                let digest = e
                    .digest
                    .as_deref()
                    .and_then(archive::normalize_digest)
                    .or_else(|| cache.read_ref(&http_ref_key(repo, chart, &e.version)).map(|(_, d)| d));
                (digest.and_then(|d| self.chart(cache, &d)).map(Ok), refresh)
            }
            ChartSource::Oci { url, reference, .. } => {
                let (key, refresh) = match reference {
                    OciRef::Digest(d) => (oci_digest_key(url, d), false),
                    OciRef::Tag(t) => {
                        let key = oci_tag_key(url, t);
                        let refresh = cache.read_ref(&key).is_none_or(|(at, _)| stale(at));
                        (key, refresh)
                    }
                    OciRef::Semver(v) => {
                        let c = match Constraint::parse(v) {
                            Ok(c) => c,
                            Err(e) => return (Some(Err(format!("`{v}` is not a version constraint: {e}"))), false),
                        };
                        let Some((at, tags)) = cache.read_tags(url) else { return (None, true) };
                        let refresh = stale(at);
                        let versions: Vec<(String, &String)> = tags.iter().map(|t| (tag_to_version(t), t)).collect();
                        let Some((_, tag)) = c.best(versions.iter().map(|(v, t)| (v.as_str(), *t))) else {
                            return (Some(Err(format!("no tag of `{url}` satisfies `{v}`"))), refresh);
                        };
                        (oci_tag_key(url, tag), refresh)
                    }
                };
                let found = cache.read_ref(&key).and_then(|(_, d)| self.chart(cache, &d));
                (found.map(Ok), refresh)
            }
        }
    }

    /// A repository's index, parsed once per version of the file.
    fn index(&self, cache: &DiskCache, repo: &str) -> Option<(SystemTime, Arc<RepoIndex>)> {
        let at = cache.index_modified(repo)?;
        if let Some((t, idx)) = lock(&self.indexes).get(repo)
            && *t == at
        {
            return Some((at, idx.clone()));
        }
        let (at, idx) = cache.read_index(repo)?;
        let idx = Arc::new(idx);
        lock(&self.indexes).insert(repo.to_string(), (at, idx.clone()));
        Some((at, idx))
    }

    /// A cached chart by digest, built once.
    fn chart(&self, cache: &DiskCache, digest: &str) -> Option<Arc<ChartValues>> {
        if let Some(hit) = lock(&self.loaded).get(digest) {
            return hit.clone();
        }
        if !cache.has_chart(digest) {
            return None;
        }
        let meta = cache.read_meta(digest);
        let built = crate::workspace::charts::from_dir(&cache.chart_dir(digest), meta).map(Arc::new);
        cache.touch(digest);
        lock(&self.loaded).insert(digest.to_string(), built.clone());
        built
    }
}
