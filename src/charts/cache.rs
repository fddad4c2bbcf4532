//! The disk cache of remote charts (issue #9).
//!
//! ```text
//! <cacheDir>/charts/<sha256 of the .tgz>/   Chart.yaml, values.yaml, values.schema.json,
//!                                            charts/<sub>/..., .meta.json, .used
//! <cacheDir>/index/<key>.json               an HTTP repository's index, reduced to
//!                                            name → [{version, digest, urls}]
//! <cacheDir>/tags/<key>.json                an OCI repository's tags
//! <cacheDir>/refs/<key>                     a version, tag or manifest digest → the
//!                                            digest of the chart it names
//! <cacheDir>/tmp/                           writes in progress
//! ```
//!
//! Every write goes to `tmp/` first and is renamed into place, so a reader
//! (another flux-lsp, or this one) never sees half a file or half a chart.
//! Charts are kept by the digest of their archive, so two repositories
//! serving the same archive share one entry. Index files and tag lists are
//! refreshed after [`TTL`] but served however old they are. Past the size
//! cap, the least recently used entries go first (`.used` is touched when a
//! chart is loaded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::archive::{self, Files};

/// How long an index or a tag list (or a tag's digest) is fresh.
pub const TTL: Duration = Duration::from_secs(3600);

/// An HTTP Helm repository's index, reduced to what resolution needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoIndex {
    pub url: String,
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default)]
    pub urls: Vec<String>,
}

impl RepoIndex {
    /// Reads an `index.yaml` (only `entries.<name>[].{version,digest,urls}`).
    pub fn from_yaml(url: &str, text: &str) -> Result<RepoIndex, String> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            entries: BTreeMap<String, Vec<IndexEntry>>,
        }
        // large repositories have indexes of tens of MB
        let mut budget = serde_saphyr::Budget::default();
        budget.max_events = 100_000_000;
        budget.max_nodes = 50_000_000;
        budget.max_total_scalar_bytes = 512 << 20;
        let mut opts = serde_saphyr::Options::default();
        opts.budget = Some(budget);
        let raw: Raw = serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
            let e = e.to_string();
            format!("the repository's index.yaml is not valid: {}", e.lines().next().unwrap_or(""))
        })?;
        Ok(RepoIndex { url: url.to_string(), entries: raw.entries })
    }
}

/// What is known of a cached chart besides its files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The repository or registry URL it was fetched from.
    pub source: String,
    pub chart: String,
    pub version: String,
    pub digest: String,
}

#[derive(Clone, Debug)]
pub struct DiskCache {
    pub root: PathBuf,
    pub max_bytes: u64,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A short stable file name for a key (URL, reference...).
fn key_name(key: &str) -> String {
    archive::sha256_hex(key.as_bytes())[..32].to_string()
}

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl DiskCache {
    pub fn new(root: PathBuf, max_bytes: u64) -> Self {
        DiskCache { root, max_bytes }
    }

    /// `$XDG_CACHE_HOME/flux-lsp/charts`, else `~/.cache/flux-lsp/charts`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("flux-lsp").join("charts"))
    }

    fn tmp_path(&self) -> PathBuf {
        let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        self.root.join("tmp").join(format!("{}-{n}-{t}", std::process::id()))
    }

    /// Writes `bytes` to `path` through a temporary file and a rename.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.tmp_path();
        std::fs::create_dir_all(tmp.parent().unwrap_or(&self.root))?;
        std::fs::write(&tmp, bytes)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    fn index_path(&self, repo: &str) -> PathBuf {
        self.root.join("index").join(format!("{}.json", key_name(repo)))
    }

    /// A repository's cached index and when it was written.
    pub fn read_index(&self, repo: &str) -> Option<(SystemTime, RepoIndex)> {
        let p = self.index_path(repo);
        let at = modified(&p)?;
        let idx: RepoIndex = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
        (idx.url == repo).then_some((at, idx))
    }

    pub fn index_modified(&self, repo: &str) -> Option<SystemTime> {
        modified(&self.index_path(repo))
    }

    pub fn write_index(&self, idx: &RepoIndex) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(idx).map_err(std::io::Error::other)?;
        self.write_atomic(&self.index_path(&idx.url), &bytes)?;
        self.evict(None);
        Ok(())
    }

    fn tags_path(&self, url: &str) -> PathBuf {
        self.root.join("tags").join(format!("{}.json", key_name(url)))
    }

    pub fn read_tags(&self, url: &str) -> Option<(SystemTime, Vec<String>)> {
        let p = self.tags_path(url);
        let at = modified(&p)?;
        let tags: Vec<String> = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
        Some((at, tags))
    }

    pub fn write_tags(&self, url: &str, tags: &[String]) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(tags).map_err(std::io::Error::other)?;
        self.write_atomic(&self.tags_path(url), &bytes)
    }

    fn ref_path(&self, key: &str) -> PathBuf {
        self.root.join("refs").join(key_name(key))
    }

    /// The chart digest a reference (`<repo> <chart> <version>`, `<oci
    /// url>:<tag>`, `<oci url>@<digest>`) was last seen to name.
    pub fn read_ref(&self, key: &str) -> Option<(SystemTime, String)> {
        let p = self.ref_path(key);
        let text = std::fs::read_to_string(&p).ok()?;
        let (k, d) = text.split_once('\n')?;
        (k == key).then(|| Some((modified(&p)?, archive::normalize_digest(d)?))).flatten()
    }

    pub fn write_ref(&self, key: &str, digest: &str) -> std::io::Result<()> {
        self.write_atomic(&self.ref_path(key), format!("{key}\n{digest}").as_bytes())
    }

    pub fn chart_dir(&self, digest: &str) -> PathBuf {
        self.root.join("charts").join(digest)
    }

    pub fn has_chart(&self, digest: &str) -> bool {
        self.chart_dir(digest).join("Chart.yaml").is_file()
    }

    pub fn read_meta(&self, digest: &str) -> Option<Meta> {
        serde_json::from_slice(&std::fs::read(self.chart_dir(digest).join(".meta.json")).ok()?).ok()
    }

    /// Marks a chart as used now (for the least-recently-used eviction).
    pub fn touch(&self, digest: &str) {
        let p = self.chart_dir(digest).join(".used");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .and_then(|f| f.set_modified(SystemTime::now()));
    }

    /// Stores a chart's files under its digest: written in a temporary
    /// directory, renamed into place. Then evicts down to the size cap.
    pub fn store_chart(&self, meta: &Meta, files: &Files) -> std::io::Result<PathBuf> {
        let dst = self.chart_dir(&meta.digest);
        if dst.join("Chart.yaml").is_file() {
            self.touch(&meta.digest);
            return Ok(dst);
        }
        let tmp = self.tmp_path();
        let write = || -> std::io::Result<()> {
            for (rel, bytes) in files {
                let p = tmp.join(rel);
                std::fs::create_dir_all(p.parent().unwrap_or(&tmp))?;
                std::fs::write(p, bytes)?;
            }
            std::fs::write(tmp.join(".meta.json"), serde_json::to_vec(meta).map_err(std::io::Error::other)?)?;
            std::fs::write(tmp.join(".used"), b"")?;
            std::fs::create_dir_all(dst.parent().unwrap_or(&self.root))?;
            std::fs::rename(&tmp, &dst)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_dir_all(&tmp);
            // another writer won the race: theirs is the same chart
            if dst.join("Chart.yaml").is_file() {
                return Ok(dst);
            }
            return Err(e);
        }
        self.evict(Some(&meta.digest));
        Ok(dst)
    }

    /// Total size of the cache in bytes.
    pub fn size(&self) -> u64 {
        self.entries().iter().map(|e| e.size).sum()
    }

    fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(self.root.join("charts")) {
            for e in rd.flatten() {
                let p = e.path();
                let used = modified(&p.join(".used")).or_else(|| modified(&p)).unwrap_or(SystemTime::UNIX_EPOCH);
                out.push(Entry { size: dir_size(&p, 0), used, path: p, dir: true });
            }
        }
        for sub in ["index", "tags", "refs"] {
            if let Ok(rd) = std::fs::read_dir(self.root.join(sub)) {
                for e in rd.flatten() {
                    let Ok(m) = e.metadata() else { continue };
                    let used = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    out.push(Entry { size: m.len(), used, path: e.path(), dir: false });
                }
            }
        }
        out
    }

    /// Removes the least recently used entries until the cache fits its
    /// cap (never the chart `keep`, just stored). Returns how many went.
    pub fn evict(&self, keep: Option<&str>) -> usize {
        let mut entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.size).sum();
        if total <= self.max_bytes {
            return 0;
        }
        entries.sort_by_key(|e| e.used);
        let mut n = 0;
        for e in entries {
            if total <= self.max_bytes {
                break;
            }
            if keep.is_some_and(|k| e.path.file_name().is_some_and(|f| f == k)) {
                continue;
            }
            let r = if e.dir { std::fs::remove_dir_all(&e.path) } else { std::fs::remove_file(&e.path) };
            if r.is_ok() {
                tracing::info!(path = %e.path.display(), bytes = e.size, "chart cache: evicted (over the size cap)");
                total = total.saturating_sub(e.size);
                n += 1;
            }
        }
        n
    }
}

struct Entry {
    path: PathBuf,
    size: u64,
    used: SystemTime,
    dir: bool,
}

fn dir_size(p: &Path, depth: usize) -> u64 {
    if depth > 8 {
        return 0;
    }
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path(), depth + 1),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(d: &str) -> Meta {
        Meta { source: "https://charts.example".into(), chart: "app".into(), version: "1.0.0".into(), digest: d.into() }
    }

    #[test]
    fn stores_reads_and_evicts_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let c = DiskCache::new(dir.path().to_path_buf(), 10_000);
        let files =
            |n: usize| vec![("Chart.yaml".to_string(), b"name: app\n".to_vec()), ("values.yaml".into(), vec![b'#'; n])];
        let (a, b, d) = ("a".repeat(64), "b".repeat(64), "d".repeat(64));
        c.store_chart(&meta(&a), &files(4000)).unwrap();
        // `a` used long ago, `b` later
        std::fs::File::options()
            .write(true)
            .open(c.chart_dir(&a).join(".used"))
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(100))
            .unwrap();
        c.store_chart(&meta(&b), &files(4000)).unwrap();
        assert!(c.has_chart(&a) && c.has_chart(&b));
        assert_eq!(c.read_meta(&a).unwrap().chart, "app");
        // a third one goes over 10 kB: the oldest (`a`) is evicted
        c.store_chart(&meta(&d), &files(4000)).unwrap();
        assert!(!c.has_chart(&a) && c.has_chart(&b) && c.has_chart(&d));
        assert!(c.size() <= 10_000);
        // nothing half-written is left behind
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn index_tags_and_refs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let c = DiskCache::new(dir.path().to_path_buf(), 1 << 20);
        let idx = RepoIndex::from_yaml(
            "https://charts.example",
            "apiVersion: v1\nentries:\n  app:\n    - version: 1.0.0\n      digest: abc\n      urls: [app-1.0.0.tgz]\n      description: x\n    - version: 1.1.0\n      urls: [https://cdn.example/app-1.1.0.tgz]\ngenerated: now\n",
        )
        .unwrap();
        assert_eq!(idx.entries["app"].len(), 2);
        c.write_index(&idx).unwrap();
        assert_eq!(c.read_index("https://charts.example").unwrap().1, idx);
        assert!(c.read_index("https://other.example").is_none());
        c.write_tags("oci://r/app", &["1.0.0".into()]).unwrap();
        assert_eq!(c.read_tags("oci://r/app").unwrap().1, vec!["1.0.0".to_string()]);
        let d = "e".repeat(64);
        c.write_ref("oci://r/app:1.0.0", &format!("sha256:{d}")).unwrap();
        assert_eq!(c.read_ref("oci://r/app:1.0.0").unwrap().1, d);
        assert!(RepoIndex::from_yaml("u", "entries: [").is_err());
    }
}
