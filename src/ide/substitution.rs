//! Flux post-build substitution: `${VAR}` in the files a Flux Kustomization
//! applies must be defined by its `postBuild.substitute`/`substituteFrom`
//! or have a default. Hover shows the value and where it is defined;
//! completion offers the defined names after `${`.

use std::path::PathBuf;
use std::sync::Arc;

use super::completion::{CompletionItem, CompletionKind};
use super::hover::Hover;
use super::navigation::Location;
use super::references::display_path;
use super::{Diagnostic, Severity};
use crate::text::TextRange;
use crate::workspace::resolve::{Origin, Status};
use crate::workspace::{Analysis, FileData, RefModel};

pub const UNDEFINED_VARIABLE: &str = "undefined-variable";

/// Where a variable gets its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarDef {
    /// `postBuild.substitute` of the Kustomization.
    Inline { path: PathBuf, range: TextRange, value: String },
    /// A key of a ConfigMap or Secret of `substituteFrom`.
    Data { path: PathBuf, range: TextRange, what: String, value: Option<String> },
    /// A `substituteFrom` object whose keys the server cannot see.
    Unknown(String),
}

/// The Flux Kustomizations (file, applier index) with `postBuild` that apply `file`.
fn appliers(a: &Analysis, model: &RefModel, file: &FileData) -> Vec<(Arc<FileData>, usize)> {
    let mut out = Vec::new();
    for (p, ai) in model.applied_by.get(&file.path).into_iter().flatten() {
        if let Some(f) = a.file(p)
            && f.summary.refs.appliers.get(*ai).is_some_and(|ap| ap.post_build)
        {
            out.push((f.clone(), *ai));
        }
    }
    out
}

fn ks_label(f: &FileData, ai: usize) -> String {
    let ap = &f.summary.refs.appliers[ai];
    format!("Kustomization `{}`", f.summary.objects[ap.object].name_str())
}

/// Every variable a Kustomization defines: (name, definition).
fn definitions(a: &Analysis, model: &RefModel, ks: &FileData, ai: usize) -> Vec<(String, VarDef)> {
    let ap = &ks.summary.refs.appliers[ai];
    let mut out: Vec<(String, VarDef)> = Vec::new();
    for (i, r) in ks.summary.refs.refs.iter().enumerate() {
        if r.object != ap.object || r.spec().label != "spec.postBuild.substituteFrom" {
            continue;
        }
        let what = format!("{} `{}`", r.target_kind().unwrap_or("object"), r.name.value);
        let Some(res) = model.resolution(&ks.path, i) else { continue };
        if res.status != Status::Ok {
            out.push((String::new(), VarDef::Unknown(what)));
            continue;
        }
        let Some(&t) = res.targets.first() else { continue };
        match &model.targets[t].origin {
            Origin::Object { path, object } => {
                let Some(f) = a.file(path) else { continue };
                let sops = f.summary.refs.sops.contains(object);
                let o = &f.summary.objects[*object];
                let tree = &f.syntax.docs[o.doc].parsed.tree;
                for (oi, keys) in &f.summary.refs.data_keys {
                    if oi != object {
                        continue;
                    }
                    for k in keys {
                        let value = if sops || o.kind_str() == "Secret" {
                            None
                        } else {
                            tree.lookup(&["data", &k.value]).and_then(|v| tree.scalar(v)).map(str::to_string)
                        };
                        out.push((
                            k.value.to_string(),
                            VarDef::Data { path: path.clone(), range: k.range, what: what.clone(), value },
                        ));
                    }
                }
            }
            _ => out.push((String::new(), VarDef::Unknown(what))),
        }
    }
    // inline values win over substituteFrom; later substituteFrom entries win
    out.reverse();
    for (k, v) in ap.substitute.iter().rev() {
        out.insert(
            0,
            (k.value.to_string(), VarDef::Inline { path: ks.path.clone(), range: k.range, value: v.clone() }),
        );
    }
    out
}

/// The definition of `var` in a Kustomization: Some(def), Some(Unknown) when
/// a `substituteFrom` object cannot be read, None when undefined.
fn lookup(defs: &[(String, VarDef)], var: &str) -> Option<VarDef> {
    if let Some((_, d)) = defs.iter().find(|(k, _)| k == var) {
        return Some(d.clone());
    }
    defs.iter().find(|(_, d)| matches!(d, VarDef::Unknown(_))).map(|(_, d)| d.clone())
}

/// Producer: undefined variables.
pub fn substitution_diagnostics(a: &Analysis, file: &FileData, out: &mut Vec<Diagnostic>) {
    if file.summary.refs.vars.is_empty() {
        return;
    }
    let model = a.ref_model();
    let aps = appliers(a, &model, file);
    if aps.is_empty() {
        return;
    }
    let defs: Vec<_> = aps.iter().map(|(f, ai)| (f, *ai, definitions(a, &model, f, *ai))).collect();
    for v in &file.summary.refs.vars {
        if v.has_default {
            continue;
        }
        for (ks, ai, d) in &defs {
            if lookup(d, &v.name).is_none() {
                let mut diag = Diagnostic::new(
                    UNDEFINED_VARIABLE,
                    Severity::Warning,
                    v.range,
                    format!(
                        "`${{{}}}` is not defined by {} (in `{}`: `postBuild.substitute` or `substituteFrom`) and has no default (`${{{}:=value}}`); it is replaced by an empty string",
                        v.name,
                        ks_label(ks, *ai),
                        display_path(a, &ks.path),
                        v.name
                    ),
                );
                let ap = &ks.summary.refs.appliers[*ai];
                let o = &ks.summary.objects[ap.object];
                diag.related.push(super::Related {
                    path: ks.path.clone(),
                    range: o.anchor_range(),
                    message: "applied by this Kustomization".into(),
                });
                out.push(diag);
                break;
            }
        }
    }
}

/// Hover provider: the value of `${VAR}` and where it is defined.
pub fn variable_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let v = file.summary.refs.vars.iter().find(|v| v.range.contains_inclusive(offset))?;
    let model = a.ref_model();
    let aps = appliers(a, &model, file);
    let mut md = format!("**`${{{}}}`** (Flux post-build substitution)\n\n", v.name);
    if aps.is_empty() {
        md.push_str("No Flux Kustomization with `postBuild` applies this file: the text is left as is.\n");
    }
    for (ks, ai) in &aps {
        let defs = definitions(a, &model, ks, *ai);
        let line = match lookup(&defs, &v.name) {
            Some(VarDef::Inline { path, value, .. }) => {
                format!("`{value}` from `postBuild.substitute` of {} (`{}`)", ks_label(ks, *ai), display_path(a, &path))
            }
            Some(VarDef::Data { path, what, value, .. }) => match value {
                Some(val) => format!(
                    "`{val}` from {what} (`{}`), `substituteFrom` of {}",
                    display_path(a, &path),
                    ks_label(ks, *ai)
                ),
                None => format!(
                    "(secret value) from {what} (`{}`), `substituteFrom` of {}",
                    display_path(a, &path),
                    ks_label(ks, *ai)
                ),
            },
            Some(VarDef::Unknown(what)) => format!(
                "maybe from {what} (`substituteFrom` of {}; its keys are not in the workspace)",
                ks_label(ks, *ai)
            ),
            None if v.has_default => format!("not defined by {}: the default is used", ks_label(ks, *ai)),
            None => format!("**not defined** by {}", ks_label(ks, *ai)),
        };
        md.push_str(&format!("- {line}\n"));
    }
    Some(Hover { range: v.range, markdown: md.trim_end().to_string() })
}

/// Definitions of the variable under the cursor, for go-to-definition.
pub fn variable_definitions(a: &Analysis, file: &FileData, offset: usize) -> Option<Vec<Location>> {
    let v = file.summary.refs.vars.iter().find(|v| v.range.contains_inclusive(offset))?;
    let model = a.ref_model();
    let mut out = Vec::new();
    for (ks, ai) in appliers(a, &model, file) {
        match lookup(&definitions(a, &model, &ks, ai), &v.name) {
            Some(VarDef::Inline { path, range, .. }) | Some(VarDef::Data { path, range, .. }) => {
                out.push(Location { path, range })
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// Completion provider: variable names after `${`.
pub fn variable_completion(a: &Analysis, file: &FileData, offset: usize) -> Option<Vec<CompletionItem>> {
    let text = &file.text;
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map(|x| x + 1).unwrap_or(0);
    let open = before[line_start..].rfind("${")? + line_start;
    let typed = &before[open + 2..];
    if !typed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    if open > 0 && text.as_bytes()[open - 1] == b'$' {
        return None;
    }
    let model = a.ref_model();
    let aps = appliers(a, &model, file);
    if aps.is_empty() {
        return None;
    }
    let mut items: Vec<CompletionItem> = Vec::new();
    for (ks, ai) in &aps {
        for (name, def) in definitions(a, &model, ks, *ai) {
            if name.is_empty() || items.iter().any(|i| i.label == name) {
                continue;
            }
            let mut it = CompletionItem::new(name.clone(), CompletionKind::Variable);
            it.detail = Some(match &def {
                VarDef::Inline { value, .. } => format!("{value} ({})", ks_label(ks, *ai)),
                VarDef::Data { what, value, .. } => {
                    format!("{} ({what})", value.clone().unwrap_or_else(|| "secret".into()))
                }
                VarDef::Unknown(w) => w.clone(),
            });
            it.replace = Some(TextRange::new(open + 2, offset));
            items.push(it);
        }
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use crate::ide::Severity;
    use crate::ide::fixture::Fixture;

    const SETUP: &str = "# file: clusters/prod/apps.yaml\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps\n  postBuild:\n    substitute:\n      cluster_name: prod\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n      - kind: Secret\n        name: cluster-secrets\n# file: clusters/prod/vars.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  domain: example.com\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\nstringData:\n  token: ENC[AES256_GCM,data:x]\nsops:\n  version: 3.9.0\n";

    fn setup(app: &str) -> Fixture {
        Fixture::parse(&format!("{SETUP}# file: apps/app.yaml\n{app}"))
    }

    #[test]
    fn undefined_variables_are_warnings() {
        let f = setup(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: ${cluster_name}\n  b: ${domain}\n  c: ${token}\n  d: ${missing}\n  e: ${with_default:=x}\n  f: $${escaped}\n",
        );
        let d = crate::ide::references::refs_only(&f, "apps/app.yaml");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].code, d[0].severity), ("undefined-variable", Severity::Warning));
        assert!(
            d[0].message.contains("${missing}") && d[0].message.contains("Kustomization `apps`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn disabled_substitution_and_unapplied_files_are_quiet() {
        let f = setup(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  d: ${missing}\n",
        );
        assert!(crate::ide::references::refs_only(&f, "apps/app.yaml").is_empty());
        let f = Fixture::parse(&format!(
            "{SETUP}# file: other/app.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  d: ${{missing}}\n"
        ));
        assert!(crate::ide::references::refs_only(&f, "other/app.yaml").is_empty());
        // substituteFrom an object not in the workspace: keys unknown
        let f = Fixture::parse(&format!(
            "{}# file: apps/app.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  d: ${{missing}}\n",
            SETUP.replace("name: cluster-vars\n  namespace", "name: renamed\n  namespace")
        ));
        assert!(crate::ide::references::refs_only(&f, "apps/app.yaml").iter().all(|d| d.code != "undefined-variable"));
    }

    #[test]
    fn files_of_an_external_artifact_are_followed_to_the_repository() {
        let src = "# file: clusters/prod/artifacts.yaml\napiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: gen\n  namespace: flux-system\nspec:\n  sources:\n    - alias: repo\n      kind: GitRepository\n      name: flux-system\n  artifacts:\n    - name: apps\n      copy:\n        - from: \"@repo/apps/base/**\"\n          to: \"@artifact/base/\"\n        - from: \"@repo/apps/prod/**\"\n          to: \"@artifact/prod/\"\n# file: clusters/prod/apps.yaml\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  sourceRef:\n    kind: ExternalArtifact\n    name: apps\n  path: ./prod\n  targetNamespace: web\n  postBuild:\n    substitute:\n      domain: example.com\n# file: apps/prod/kustomization.yaml\nresources:\n  - ../base/app\n# file: apps/base/app/kustomization.yaml\nresources:\n  - cm.yaml\n# file: apps/base/app/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: ${domain}\n  b: ${region}\n";
        let f = Fixture::parse(src);
        let d = crate::ide::references::refs_only(&f, "apps/base/app/cm.yaml");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("${region}"), "{}", d[0].message);
        // the namespace comes from targetNamespace
        let a = f.ws.analysis();
        let m = a.ref_model();
        let cm = f.ws.file(&std::path::PathBuf::from("/fixture/apps/base/app/cm.yaml")).unwrap();
        assert_eq!(m.object_ns(cm, 0).as_deref(), Some("web"));
    }

    #[test]
    fn hover_definition_and_completion() {
        let f = setup("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: ${dom$0ain}\n");
        let a = f.ws.analysis();
        let h = super::variable_hover(&a, f.file(), f.offset()).unwrap();
        assert!(h.markdown.contains("`example.com`") && h.markdown.contains("cluster-vars"), "{}", h.markdown);
        let defs = crate::ide::navigation::goto_definition(&a, f.file(), f.offset());
        assert_eq!(defs.len(), 1);
        assert!(defs[0].path.ends_with("clusters/prod/vars.yaml"));
        let f = setup("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: ${cl$0\n");
        let a = f.ws.analysis();
        let labels: Vec<_> =
            crate::ide::completion::completions(&a, f.file(), f.offset()).into_iter().map(|i| i.label).collect();
        assert_eq!(labels, vec!["cluster_name", "token", "domain"]);
    }
}
