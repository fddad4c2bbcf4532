//! Hand-written one-line summaries and documentation links for every Flux
//! kind and its main fields (`docs.txt`, written for flux-lsp; not upstream
//! text).
//!
//! Format of `docs.txt`: a `[Kind]` line with `doc = URL`, then lines
//! `kind = summary` and `path = summary #anchor` (the anchor is optional and
//! is appended to the kind's page; without it the kind's page is linked).

use std::collections::HashMap;
use std::sync::OnceLock;

const DOCS_TXT: &str = include_str!("docs.txt");

#[derive(Debug, Default)]
pub struct KindDocs {
    pub url: String,
    pub summary: String,
    /// `spec.interval` → (summary, anchor).
    pub fields: HashMap<String, (String, Option<String>)>,
}

fn all() -> &'static HashMap<String, KindDocs> {
    static DOCS: OnceLock<HashMap<String, KindDocs>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut out: HashMap<String, KindDocs> = HashMap::new();
        let mut cur: Option<String> = None;
        for line in DOCS_TXT.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            if let Some(k) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                cur = Some(k.to_string());
                out.entry(k.to_string()).or_default();
                continue;
            }
            let (Some(k), Some((key, val))) = (&cur, line.split_once(" = ")) else { continue };
            let d = out.get_mut(k).expect("entry exists");
            match key.trim() {
                "doc" => d.url = val.trim().to_string(),
                "kind" => d.summary = val.trim().to_string(),
                path => {
                    let (text, anchor) = match val.rsplit_once(" #") {
                        Some((t, a)) if !a.contains(' ') => (t.trim(), Some(a.trim().to_string())),
                        _ => (val.trim(), None),
                    };
                    d.fields.insert(path.to_string(), (text.to_string(), anchor));
                }
            }
        }
        out
    })
}

/// Documentation of a kind.
pub fn kind(kind: &str) -> Option<&'static KindDocs> {
    all().get(kind)
}

/// Summary and link of a field path (`spec.interval`; list items are
/// looked up without brackets: `spec.patches.patch`). Kind-specific entries
/// first, then the shared `[*]` ones by full path, by the last two segments
/// and by the last segment.
pub fn field(kind: &str, path: &str) -> Option<(&'static str, String)> {
    let d = all().get(kind)?;
    let path = path.replace("[]", "");
    let common = all().get("*");
    let segs: Vec<&str> = path.split('.').collect();
    let tail2 = (segs.len() >= 2).then(|| segs[segs.len() - 2..].join("."));
    let last = segs.last().copied().unwrap_or("");
    let (text, anchor) = d
        .fields
        .get(path.as_str())
        .or_else(|| tail2.as_ref().and_then(|t| d.fields.get(t.as_str())))
        .or_else(|| common.and_then(|c| c.fields.get(path.as_str())))
        .or_else(|| tail2.as_ref().and_then(|t| common.and_then(|c| c.fields.get(t.as_str()))))
        .or_else(|| common.and_then(|c| c.fields.get(last)))?;
    let url = match anchor {
        Some(a) => format!("{}#{}", d.url, a),
        None => d.url.clone(),
    };
    Some((text.as_str(), url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::catalog::builtin;
    use crate::schema::model::Type;

    /// The spec document of each kind in ../shared/flux-api (the source of
    /// the section headings the links point at).
    const SPEC_DOCS: &[(&str, &str)] = &[
        ("GitRepository", "source-controller/v1/gitrepositories.md"),
        ("OCIRepository", "source-controller/v1/ocirepositories.md"),
        ("HelmRepository", "source-controller/v1/helmrepositories.md"),
        ("HelmChart", "source-controller/v1/helmcharts.md"),
        ("Bucket", "source-controller/v1/buckets.md"),
        ("ExternalArtifact", "source-controller/v1/externalartifacts.md"),
        ("Kustomization", "kustomize-controller/v1/kustomizations.md"),
        ("HelmRelease", "helm-controller/v2/helmreleases.md"),
        ("Provider", "notification-controller/v1beta3/providers.md"),
        ("Alert", "notification-controller/v1beta3/alerts.md"),
        ("Receiver", "notification-controller/v1/receivers.md"),
        ("ImageRepository", "image-reflector-controller/v1/imagerepositories.md"),
        ("ImagePolicy", "image-reflector-controller/v1/imagepolicies.md"),
        ("ImageUpdateAutomation", "image-automation-controller/v1/imageupdateautomations.md"),
        ("ArtifactGenerator", "source-watcher/v1beta1/artifactgenerators.md"),
        ("FluxInstance", "flux-operator/v1/fluxinstance.md"),
        ("ResourceSet", "flux-operator/v1/resourceset.md"),
        ("ResourceSetInputProvider", "flux-operator/v1/resourcesetinputprovider.md"),
        ("FluxReport", "flux-operator/v1/fluxreport.md"),
    ];

    fn anchor_of(heading: &str) -> String {
        let h: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
            .collect();
        h.replace(' ', "-")
    }

    #[test]
    fn links_point_at_existing_sections() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/flux-api/spec"));
        if !root.is_dir() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{} missing in CI", root.display());
            eprintln!("skipped: {} not found", root.display());
            return;
        }
        let mut bad = Vec::new();
        for (kind, file) in SPEC_DOCS {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let anchors: Vec<String> =
                text.lines().filter(|l| l.starts_with("##")).map(|l| anchor_of(l.trim_start_matches('#'))).collect();
            let d = super::kind(kind).unwrap();
            for (path, (_, a)) in &d.fields {
                if let Some(a) = a
                    && !anchors.contains(a)
                {
                    bad.push(format!("{kind} {path}: #{a}"));
                }
            }
            // shared entries, as resolved for this kind's fields
            let k = builtin().iter().find(|k| k.kind == *kind).unwrap();
            let spec = k.preferred().unwrap().schema.property("spec").unwrap();
            for (name, s) in &spec.properties {
                let inner = if s.ty == Some(Type::Array) { s.items.as_deref() } else { Some(s) };
                let subs =
                    inner.map(|i| i.properties.iter().map(|(n, _)| format!("spec.{name}.{n}")).collect::<Vec<_>>());
                for p in std::iter::once(format!("spec.{name}")).chain(subs.unwrap_or_default()) {
                    let Some((_, url)) = field(kind, &p) else { continue };
                    if let Some((_, a)) = url.split_once('#')
                        && !anchors.iter().any(|x| x == a)
                    {
                        bad.push(format!("{kind} {p}: #{a} (shared)"));
                    }
                }
            }
        }
        bad.sort();
        assert!(bad.is_empty(), "anchors without a section:\n{}", bad.join("\n"));
    }

    #[test]
    fn every_kind_and_spec_field_to_depth_two_has_a_summary_and_link() {
        let mut missing = Vec::new();
        for k in builtin() {
            let Some(d) = kind(&k.kind) else {
                missing.push(k.kind.clone());
                continue;
            };
            assert!(d.url.starts_with("https://"), "{}", k.kind);
            assert!(!d.summary.is_empty(), "{}", k.kind);
            let Some(spec) = k.preferred().unwrap().schema.property("spec") else { continue };
            for (name, s) in &spec.properties {
                let p = format!("spec.{name}");
                if field(&k.kind, &p).is_none() {
                    missing.push(format!("{}: {p}", k.kind));
                }
                let inner = match s.ty {
                    Some(Type::Array) => s.items.as_deref(),
                    _ => Some(s),
                };
                for (sub, _) in inner.map(|i| i.properties.as_slice()).unwrap_or(&[]) {
                    let p = format!("spec.{name}.{sub}");
                    if field(&k.kind, &p).is_none() {
                        missing.push(format!("{}: {p}", k.kind));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{} missing:\n{}", missing.len(), missing.join("\n"));
    }
}
