//! Finding and reading the kubeconfig, and keeping its credentials out of
//! every message and log line.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

/// Removes credentials from text that leaves the server (messages, logs).
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

/// kubeconfig keys whose values are credentials.
const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "client-key-data",
    "client-certificate-data",
    "id-token",
    "refresh-token",
    "access-token",
    "client-secret",
    "secret",
    "apiKey",
];

impl Redactor {
    /// Collects the values of credential keys from kubeconfig texts.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets = Vec::new();
        for t in texts {
            for line in t.lines() {
                let l = line.trim_start().trim_start_matches("- ").trim_start();
                let Some((k, v)) = l.split_once(':') else { continue };
                let k = k.trim().trim_matches(|c| c == '"' || c == '\'');
                if !SECRET_KEYS.contains(&k) {
                    continue;
                }
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
                if v.len() >= 4 {
                    secrets.push(v.to_string());
                }
            }
        }
        // longest first, so that a secret containing another is removed whole
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 4 {
            self.secrets.push(secret.to_string());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "<redacted>");
            }
        }
        // any bearer token, known or not
        if let Some(i) = out.find("Bearer ") {
            let end =
                out[i + 7..].find(|c: char| c.is_whitespace() || c == '"').map(|e| i + 7 + e).unwrap_or(out.len());
            out.replace_range(i + 7..end, "<redacted>");
        }
        out
    }
}

/// The outcome of looking for a kubeconfig.
pub enum Source {
    /// None found: the overlay is silently off.
    None,
    /// Found but unusable: one clear message.
    Broken {
        message: String,
        redactor: Redactor,
    },
    Ok {
        kubeconfig: Box<Kubeconfig>,
        context: String,
        paths: Vec<PathBuf>,
        redactor: Redactor,
    },
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn expand(p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    p.to_path_buf()
}

/// The kubeconfig files to read: the setting, else `$KUBECONFIG` (a path
/// list; missing files are skipped as kubectl does), else `~/.kube/config`.
/// Err when the setting names a file that does not exist.
pub fn candidate_paths(setting: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    if let Some(p) = setting.filter(|p| !p.as_os_str().is_empty()) {
        let p = expand(p);
        if !p.is_file() {
            return Err(format!(
                "the kubeconfig `{}` (setting `fluxLsp.cluster.kubeconfig`) does not exist",
                p.display()
            ));
        }
        return Ok(vec![p]);
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return Ok(std::env::split_paths(&v).filter(|p| p.is_file()).collect());
    }
    Ok(home().map(|h| h.join(".kube/config")).filter(|p| p.is_file()).into_iter().collect())
}

/// The files whose changes restart the overlay: the setting, else every
/// `$KUBECONFIG` entry, else `~/.kube/config` (present or not).
pub fn watched_paths(setting: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = setting.filter(|p| !p.as_os_str().is_empty()) {
        return vec![expand(p)];
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&v).collect();
    }
    home().map(|h| h.join(".kube/config")).into_iter().collect()
}

/// A cheap fingerprint of the files' contents (None for a missing file).
pub fn fingerprint(paths: &[PathBuf]) -> Vec<Option<u64>> {
    use std::hash::{Hash, Hasher};
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            Some(h.finish())
        })
        .collect()
}

/// Finds, reads and checks the kubeconfig and the context to use.
pub fn resolve(setting: Option<&Path>, context: Option<&str>) -> Source {
    let paths = match candidate_paths(setting) {
        Ok(p) if p.is_empty() => return Source::None,
        Ok(p) => p,
        Err(message) => return Source::Broken { message, redactor: Redactor::default() },
    };
    let mut texts = Vec::new();
    for p in &paths {
        match std::fs::read_to_string(p) {
            Ok(t) => texts.push(t),
            Err(e) => {
                return Source::Broken {
                    message: format!("cannot read the kubeconfig `{}`: {e}", p.display()),
                    redactor: Redactor::default(),
                };
            }
        }
    }
    let redactor = Redactor::from_texts(texts.iter().map(String::as_str));
    let mut merged: Option<Kubeconfig> = None;
    for (p, t) in paths.iter().zip(&texts) {
        let kc = match Kubeconfig::from_yaml(t) {
            Ok(kc) => kc,
            Err(e) => {
                let message = redactor.apply(&format!("the kubeconfig `{}` is not valid: {e}", p.display()));
                return Source::Broken { message, redactor };
            }
        };
        merged = Some(match merged {
            None => kc,
            Some(m) => match m.merge(kc) {
                Ok(m) => m,
                Err(e) => {
                    let message = redactor.apply(&format!("cannot merge the kubeconfig `{}`: {e}", p.display()));
                    return Source::Broken { message, redactor };
                }
            },
        });
    }
    let Some(kc) = merged else { return Source::None };
    let ctx = match context.filter(|c| !c.is_empty()).map(String::from).or_else(|| kc.current_context.clone()) {
        Some(c) => c,
        None => {
            return Source::Broken {
                message: "the kubeconfig has no current-context: set `fluxLsp.cluster.context`".into(),
                redactor,
            };
        }
    };
    if !kc.contexts.iter().any(|c| c.name == ctx) {
        let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Source::Broken {
            message: format!(
                "the kubeconfig has no context `{ctx}` (it has: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ),
            redactor,
        };
    }
    Source::Ok { kubeconfig: Box::new(kc), context: ctx, paths, redactor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_tokens_and_bearer_headers() {
        let r = Redactor::from_texts(["users:\n- name: u\n  user:\n    token: \"s3cr3t-token-value\"\n"]);
        assert_eq!(r.apply("failed with s3cr3t-token-value in it"), "failed with <redacted> in it");
        assert_eq!(r.apply("Authorization: Bearer abc.def rest"), "Authorization: Bearer <redacted> rest");
    }

    #[test]
    fn broken_and_missing_kubeconfigs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kc");
        std::fs::write(&p, "apiVersion: v1\nclusters: [\n  token: abcdef123\n").unwrap();
        match resolve(Some(&p), None) {
            Source::Broken { message, .. } => {
                assert!(message.contains("is not valid"), "{message}");
                assert!(!message.contains("abcdef123"), "{message}");
            }
            _ => panic!("expected broken"),
        }
        match resolve(Some(&dir.path().join("missing")), None) {
            Source::Broken { message, .. } => assert!(message.contains("does not exist")),
            _ => panic!("expected broken"),
        }
        std::fs::write(&p, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n").unwrap();
        match resolve(Some(&p), None) {
            Source::Broken { message, .. } => assert!(message.contains("current-context"), "{message}"),
            _ => panic!("expected broken"),
        }
    }
}
