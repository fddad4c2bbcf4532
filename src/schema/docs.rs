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
