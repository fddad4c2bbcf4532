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
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self { enabled: true, kubeconfig: None, context: None, read_only: false }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub config: Config,
    pub cluster: ClusterSettings,
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
    s
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
}
