//! Settings: the `fluxLsp` section of the client's configuration.

use std::path::PathBuf;

use serde_json::Value;

use crate::ide::Severity;
use crate::workspace::Config;

/// Cluster settings (used by the cluster overlay).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSettings {
    pub enabled: bool,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub read_only: bool,
    /// `cluster.requestTimeout`, in milliseconds.
    pub request_timeout_ms: u64,
    /// `cluster.watchTimeout`, in milliseconds.
    pub watch_timeout_ms: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        use crate::cluster::runtime::Options;
        Self {
            enabled: true,
            kubeconfig: None,
            context: None,
            read_only: false,
            request_timeout_ms: Options::DEFAULT_REQUEST_TIMEOUT.as_millis() as u64,
            watch_timeout_ms: Options::DEFAULT_WATCH_TIMEOUT.as_millis() as u64,
        }
    }
}

impl ClusterSettings {
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.request_timeout_ms)
    }
    pub fn watch_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.watch_timeout_ms)
    }
}

/// A duration setting in seconds (fractions allowed) within `range`.
fn seconds(v: &Value, key: &str, range: (f64, f64), warnings: &mut Vec<String>) -> Option<u64> {
    let x = v.pointer(key)?;
    match x.as_f64() {
        Some(s) if s >= range.0 && s <= range.1 => Some((s * 1000.0).round() as u64),
        _ => {
            warnings.push(format!(
                "{}: expected a number of seconds from {} to {}, got {x}",
                key.trim_start_matches('/').replace('/', "."),
                range.0,
                range.1
            ));
            None
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub config: Config,
    pub cluster: ClusterSettings,
    /// Charts from Helm repositories and OCI registries (issue #9).
    pub charts: crate::charts::Settings,
    /// Problems found in the settings themselves, reported to the user.
    pub warnings: Vec<String>,
}

/// Accepts either the section itself or an object holding `fluxLsp`.
pub fn parse(v: &Value) -> Settings {
    let v = v.get("fluxLsp").unwrap_or(v);
    let mut s = Settings::default();
    if let Some(sev) = v.pointer("/diagnostics/severity").and_then(Value::as_object) {
        for (code, level) in sev {
            match level.as_str() {
                Some("off") | Some("none") => {
                    s.config.severity.insert(code.clone(), None);
                }
                Some(l) => match Severity::parse(l) {
                    Some(sv) => {
                        s.config.severity.insert(code.clone(), Some(sv));
                    }
                    None => s.warnings.push(format!("diagnostics.severity.{code}: unknown level `{l}`")),
                },
                None => s.warnings.push(format!("diagnostics.severity.{code}: expected a string")),
            }
        }
    }
    if let Some(n) = v.pointer("/files/maxSize").and_then(Value::as_u64) {
        s.config.max_file_size = n as usize;
    }
    if let Some(a) = v.pointer("/files/exclude").and_then(Value::as_array) {
        s.config.exclude = a.iter().filter_map(Value::as_str).map(String::from).collect();
    }
    if let Some(a) = v.pointer("/schema/crdPaths").and_then(Value::as_array) {
        s.config.crd_paths = a.iter().filter_map(Value::as_str).map(PathBuf::from).collect();
    }
    if let Some(b) = v.pointer("/cluster/enabled").and_then(Value::as_bool) {
        s.cluster.enabled = b;
    }
    if let Some(p) = v.pointer("/cluster/kubeconfig").and_then(Value::as_str) {
        s.cluster.kubeconfig = Some(PathBuf::from(p));
    }
    if let Some(c) = v.pointer("/cluster/context").and_then(Value::as_str) {
        s.cluster.context = Some(c.to_string());
    }
    if let Some(b) = v.pointer("/cluster/readOnly").and_then(Value::as_bool) {
        s.cluster.read_only = b;
    }
    if let Some(ms) = seconds(v, "/cluster/requestTimeout", (0.1, 600.0), &mut s.warnings) {
        s.cluster.request_timeout_ms = ms;
    }
    if let Some(ms) = seconds(v, "/cluster/watchTimeout", (1.0, 290.0), &mut s.warnings) {
        s.cluster.watch_timeout_ms = ms;
    }
    charts(v, &mut s);
    s
}

/// `charts.fetch`, `charts.cacheDir`, `charts.cacheMaxMB`.
fn charts(v: &Value, s: &mut Settings) {
    match v.pointer("/charts/fetch") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => s.charts.fetch = *b,
        Some(x) => s.warnings.push(format!("charts.fetch: expected true or false, got {x}")),
    }
    match v.pointer("/charts/cacheDir") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if !d.is_empty() => s.charts.cache_dir = Some(PathBuf::from(d)),
        Some(x) => s.warnings.push(format!("charts.cacheDir: expected a directory, got {x}")),
    }
    match v.pointer("/charts/cacheMaxMB") {
        None | Some(Value::Null) => {}
        Some(x) => match x.as_f64() {
            Some(mb) if mb > 0.0 && mb <= 1_048_576.0 => s.charts.max_bytes = (mb * 1024.0 * 1024.0) as u64,
            _ => s.warnings.push(format!("charts.cacheMaxMB: expected a number of megabytes above 0, got {x}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_section_and_reports_bad_levels() {
        let s = parse(&serde_json::json!({"fluxLsp": {
            "diagnostics": {"severity": {"unknown-field": "warning", "duplicate-key": "off", "x": "loud"}},
            "files": {"maxSize": 10},
            "cluster": {"enabled": false, "readOnly": true}
        }}));
        assert_eq!(s.config.severity.get("unknown-field"), Some(&Some(Severity::Warning)));
        assert_eq!(s.config.severity.get("duplicate-key"), Some(&None));
        assert_eq!(s.config.max_file_size, 10);
        assert!(!s.cluster.enabled && s.cluster.read_only);
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn chart_settings() {
        let s = parse(&serde_json::json!({"charts": {"fetch": false, "cacheDir": "/tmp/c", "cacheMaxMB": 0.5}}));
        assert!(!s.charts.fetch);
        assert_eq!(s.charts.cache_dir, Some(PathBuf::from("/tmp/c")));
        assert_eq!(s.charts.max_bytes, 512 * 1024);
        assert!(s.warnings.is_empty());
        let d = parse(&serde_json::json!({}));
        assert!(d.charts.fetch && d.charts.max_bytes == 512 << 20 && d.charts.cache_dir.is_none());
        let bad = parse(&serde_json::json!({"charts": {"fetch": "no", "cacheMaxMB": -1}}));
        assert_eq!(bad.warnings.len(), 2, "{:?}", bad.warnings);
        assert!(bad.charts.fetch);
    }

    #[test]
    fn cluster_timeouts_are_seconds_and_bad_ones_are_reported() {
        let s = parse(&serde_json::json!({"cluster": {"requestTimeout": 1.5, "watchTimeout": 2}}));
        assert_eq!(s.cluster.request_timeout(), std::time::Duration::from_millis(1500));
        assert_eq!(s.cluster.watch_timeout(), std::time::Duration::from_secs(2));
        let s = parse(&serde_json::json!({"cluster": {"requestTimeout": "soon", "watchTimeout": 900}}));
        assert_eq!(s.cluster, ClusterSettings::default());
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[1].starts_with("cluster.watchTimeout: expected a number of seconds from 1 to 290"));
    }
}
