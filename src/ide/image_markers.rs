//! Image update markers `# {"$imagepolicy": "ns:name[:tag|:name|:digest]"}`:
//! the policy must exist; hover, go-to-definition and completion.

use super::completion::{CompletionItem, CompletionKind};
use super::hover::Hover;
use super::references::{display_path, target_summary};
use super::{Diagnostic, Edit, Fix, Severity};
use crate::text::TextRange;
use crate::workspace::resolve::Status;
use crate::workspace::{Analysis, FileData};

pub const UNRESOLVED_IMAGE_POLICY: &str = "unresolved-image-policy";
pub const INVALID_IMAGE_MARKER: &str = "invalid-image-marker";

/// Producer: markers naming missing policies.
pub fn marker_diagnostics(a: &Analysis, file: &FileData, out: &mut Vec<Diagnostic>) {
    if file.summary.refs.markers.is_empty() {
        return;
    }
    let model = a.ref_model();
    for (i, m) in file.summary.refs.markers.iter().enumerate() {
        if let Some(s) = &m.suffix
            && !matches!(s.as_str(), "tag" | "name" | "digest")
        {
            let start = m.name_range.end + 1;
            out.push(Diagnostic::new(
                INVALID_IMAGE_MARKER,
                Severity::Error,
                TextRange::new(start, (start + s.len()).min(m.range.end)),
                format!(
                    "unknown marker field `{s}`: use `:tag`, `:name` or `:digest` (or nothing for the whole image)"
                ),
            ));
        }
        if m.namespace.is_none() {
            out.push(Diagnostic::new(
                INVALID_IMAGE_MARKER,
                Severity::Error,
                m.range,
                "the marker must name the policy as `<namespace>:<name>`",
            ));
            continue;
        }
        let Some(res) = model.marker_resolution(&file.path, i) else { continue };
        let ns = m.namespace.as_deref().unwrap_or("");
        match &res.status {
            Status::Unresolved { suggestion: Some(s) } => out.push(
                Diagnostic::new(
                    UNRESOLVED_IMAGE_POLICY,
                    Severity::Error,
                    m.name_range,
                    format!("no ImagePolicy `{}` in namespace `{ns}`; did you mean `{s}`?", m.name),
                )
                .with_fix(Fix {
                    title: format!("Change to `{s}`"),
                    edits: vec![Edit { path: None, range: m.name_range, new_text: s.clone() }],
                    preferred: true,
                }),
            ),
            Status::Unresolved { suggestion: None } => out.push(Diagnostic::new(
                UNRESOLVED_IMAGE_POLICY,
                Severity::Warning,
                m.name_range,
                format!(
                    "no ImagePolicy `{}` in namespace `{ns}` found in the {} files of the workspace; the image automation will not update this line",
                    m.name,
                    a.ws.len()
                ),
            )),
            Status::OtherNamespace(found) => {
                let mut nss: Vec<String> = found.iter().filter_map(|&t| model.targets[t].ns.clone()).collect();
                nss.dedup();
                out.push(Diagnostic::new(
                    UNRESOLVED_IMAGE_POLICY,
                    Severity::Warning,
                    m.range,
                    format!("no ImagePolicy `{}` in namespace `{ns}`; found in namespace {}", m.name, nss.join(", ")),
                ))
            }
            _ => {}
        }
    }
}

/// Hover provider: the policy of the marker under the cursor.
pub fn marker_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let (i, m) = file.summary.refs.markers.iter().enumerate().find(|(_, m)| m.range.contains_inclusive(offset))?;
    let model = a.ref_model();
    let res = model.marker_resolution(&file.path, i)?;
    let what = match m.suffix.as_deref() {
        Some("tag") => "the tag",
        Some("name") => "the image name",
        Some("digest") => "the digest",
        _ => "the whole image reference",
    };
    let mut md = format!("Image automation sets {what} from the latest image of the policy.\n\n");
    if res.targets.is_empty() {
        md.push_str(&format!("ImagePolicy `{}` is not in the workspace.", m.name));
    }
    for &t in &res.targets {
        md.push_str(&target_summary(a, &model, &model.targets[t]));
    }
    Some(Hover { range: m.range, markdown: md.trim_end().to_string() })
}

/// The marker whose name holds `offset`: (index, marker).
pub fn marker_at(file: &FileData, offset: usize) -> Option<usize> {
    file.summary.refs.markers.iter().position(|m| m.range.contains_inclusive(offset))
}

/// Completion provider: `ns:name` of every ImagePolicy inside a marker's quotes.
pub fn marker_completion(a: &Analysis, file: &FileData, offset: usize) -> Option<Vec<CompletionItem>> {
    let text = &file.text;
    let line_start = text.get(..offset)?.rfind('\n').map(|x| x + 1).unwrap_or(0);
    let before = &text[line_start..offset];
    let k = before.find("\"$imagepolicy\"")?;
    let after_key = &before[k + "\"$imagepolicy\"".len()..];
    let q = after_key.find('"')?;
    if after_key[q + 1..].contains('"') || !after_key[..q].trim().starts_with(':') {
        return None;
    }
    let start = line_start + k + "\"$imagepolicy\"".len() + q + 1;
    let rest = &text[offset..];
    let end = offset + rest.find(['"', '\n']).unwrap_or(rest.len());
    let model = a.ref_model();
    let mut items = Vec::new();
    for &t in model.of_kind("ImagePolicy") {
        let tg = &model.targets[t];
        if tg.patch {
            continue;
        }
        let label = format!("{}:{}", tg.ns.as_deref().unwrap_or("flux-system"), tg.name);
        if items.iter().any(|i: &CompletionItem| i.label == label) {
            continue;
        }
        let mut it = CompletionItem::new(label, CompletionKind::Reference);
        it.detail = tg.path().map(|p| format!("ImagePolicy ({})", display_path(a, p)));
        it.replace = Some(TextRange::new(start, end));
        items.push(it);
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use crate::ide::Severity;
    use crate::ide::fixture::Fixture;

    const POLICY: &str = "# file: policy.yaml\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: podinfo\n  policy:\n    semver:\n      range: 6.x\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  image: ghcr.io/stefanprodan/podinfo\n";

    fn deploy(marker: &str) -> Fixture {
        Fixture::parse(&format!(
            "{POLICY}# file: deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/stefanprodan/podinfo:6.0.0 # {{\"$imagepolicy\": \"{marker}\"}}\n"
        ))
    }

    #[test]
    fn markers_must_name_existing_policies() {
        assert!(crate::ide::references::refs_only(&deploy("flux-system:podinfo"), "deploy.yaml").is_empty());
        assert!(crate::ide::references::refs_only(&deploy("flux-system:podinfo:tag"), "deploy.yaml").is_empty());
        let d = crate::ide::references::refs_only(&deploy("flux-system:podinf"), "deploy.yaml");
        assert_eq!((d[0].code, d[0].severity), ("unresolved-image-policy", Severity::Error));
        assert_eq!(d[0].fixes[0].edits[0].new_text, "podinfo");
        let d = crate::ide::references::refs_only(&deploy("flux-system:other"), "deploy.yaml");
        assert_eq!((d[0].code, d[0].severity), ("unresolved-image-policy", Severity::Warning));
        let d = crate::ide::references::refs_only(&deploy("flux-system:podinfo:version"), "deploy.yaml");
        assert_eq!(d[0].code, "invalid-image-marker");
    }

    #[test]
    fn hover_definition_and_completion_in_markers() {
        let f = deploy("flux-system:podi$0nfo:tag");
        let a = f.ws.analysis();
        let h = crate::ide::hover::hover(&a, f.file(), f.offset()).unwrap();
        assert!(
            h.markdown.contains("sets the tag") && h.markdown.contains("**ImagePolicy** `podinfo`"),
            "{}",
            h.markdown
        );
        let defs = crate::ide::navigation::goto_definition(&a, f.file(), f.offset());
        assert!(defs[0].path.ends_with("policy.yaml"));
        let f = deploy("flux$0");
        let a = f.ws.analysis();
        let items = crate::ide::completion::completions(&a, f.file(), f.offset());
        assert_eq!(items.iter().map(|i| i.label.as_str()).collect::<Vec<_>>(), vec!["flux-system:podinfo"]);
        let r = items[0].replace.unwrap();
        assert_eq!(&f.file().text[r.start..r.end], "flux");
    }
}
