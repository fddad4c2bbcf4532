//! Cross-object references in the editor: diagnostics (unresolved names,
//! wrong kinds, cross-namespace references, dependency cycles, missing
//! paths), hover on a reference and completion of reference names.

use std::path::{Path, PathBuf};

use super::completion::{CompletionItem, CompletionKind, CompletionList, MAX_ITEMS};
use super::hover::Hover;
use super::{Diagnostic, Edit, Fix, Related, Severity};
use crate::syntax::{NodeKind, PathSeg};
use crate::text::TextRange;
use crate::workspace::namespaces::{is_remote, normalize};
use crate::workspace::refs::{FIELDS, PathRole, RefInfo, edit_distance, fields_of, is_templated};
use crate::workspace::resolve::{
    ApplierDir, Origin, Resolution, Status, Target, TargetId, common_prefix, is_core_kind, ref_at,
};
use crate::workspace::{Analysis, FileData, ObjectClass, RefModel};

pub const UNRESOLVED_REFERENCE: &str = "unresolved-reference";
pub const INVALID_REFERENCE_KIND: &str = "invalid-reference-kind";
pub const CROSS_NAMESPACE_REFERENCE: &str = "cross-namespace-reference";
pub const DEPENDENCY_CYCLE: &str = "dependency-cycle";
pub const MISSING_PATH: &str = "missing-path";

/// A path as shown to users: relative to its workspace root.
pub fn display_path(a: &Analysis, p: &Path) -> String {
    for r in &a.ws.roots {
        if let Ok(rel) = p.strip_prefix(r) {
            return rel.display().to_string();
        }
    }
    p.display().to_string()
}

fn where_looked(kind: Option<&str>, allowed: &[&str], name: &str, ns: Option<&str>) -> String {
    let kind = match kind {
        Some(k) => k.to_string(),
        None => allowed.join(" or "),
    };
    match ns {
        Some(ns) => format!("{kind} `{name}` in namespace `{ns}`"),
        None => format!("{kind} `{name}`"),
    }
}

/// Producer: diagnostics of the references of a file.
pub fn reference_diagnostics(a: &Analysis, file: &FileData, out: &mut Vec<Diagnostic>) {
    let model = a.ref_model();
    let nfiles = a.ws.len();
    // the file's resolutions and cycles looked up once, not per reference
    let resolutions = model.resolutions_of(&file.path);
    let cycles = model.cycles_of(&file.path);
    for (i, r) in file.summary.refs.refs.iter().enumerate() {
        let Some(res) = resolutions.get(i) else { continue };
        if let Some(d) = ref_diagnostic(a, &model, file, r, res, nfiles) {
            out.push(d);
        }
        if let Some(cycle) = cycles.and_then(|c| c.get(&i)) {
            let mut d = Diagnostic::new(
                DEPENDENCY_CYCLE,
                Severity::Error,
                r.name.range,
                format!("dependency cycle: {cycle}; none of its members can become ready"),
            );
            for &t in &res.targets {
                if let Some((p, range)) = name_range(a, &model.targets[t]) {
                    d.related.push(Related {
                        path: p,
                        range,
                        message: format!("{} depends on it", model.targets[t].label()),
                    });
                }
            }
            out.push(d);
        }
    }
    path_diagnostics(a, &model, file, out);
}

fn ref_diagnostic(
    a: &Analysis,
    model: &RefModel,
    file: &FileData,
    r: &RefInfo,
    res: &Resolution,
    nfiles: usize,
) -> Option<Diagnostic> {
    let spec = r.spec();
    let looked = || where_looked(res.kind.as_deref(), spec.kinds, &r.name.value, res.ns.as_deref());
    match &res.status {
        Status::Ok | Status::Skipped => None,
        Status::WrongKind => {
            let written = r.kind.as_ref()?;
            let mut d = Diagnostic::new(
                INVALID_REFERENCE_KIND,
                Severity::Error,
                written.range,
                format!(
                    "`{}` cannot refer to a {}; allowed kinds: {}",
                    spec.label,
                    written.value,
                    spec.kinds.join(", ")
                ),
            );
            let mut kinds: Vec<&str> = res.targets.iter().map(|&t| model.targets[t].kind.as_str()).collect();
            kinds.dedup();
            if let [k] = kinds.as_slice() {
                d.fixes.push(Fix {
                    title: format!("Change kind to {k}"),
                    edits: vec![Edit { path: None, range: written.range, new_text: k.to_string() }],
                    preferred: true,
                });
            }
            Some(d)
        }
        Status::CrossNamespaceBlocked => {
            let range = r.namespace.as_ref().map(|n| n.range).unwrap_or(r.name.range);
            Some(Diagnostic::new(
                CROSS_NAMESPACE_REFERENCE,
                Severity::Error,
                range,
                format!(
                    "cross-namespace reference to {}: the controllers run with `--no-cross-namespace-refs`, so only namespace `{}` is allowed",
                    looked(),
                    model.object_ns(file, r.object).unwrap_or_default()
                ),
            ))
        }
        Status::OtherNamespace(found) => {
            if r.optional {
                return None;
            }
            let mut nss: Vec<String> = found.iter().filter_map(|&t| model.targets[t].ns.clone()).collect();
            nss.sort();
            nss.dedup();
            let sev =
                if is_core_kind(res.kind.as_deref().unwrap_or("")) { Severity::Information } else { Severity::Warning };
            let mut d = Diagnostic::new(
                UNRESOLVED_REFERENCE,
                sev,
                r.name.range,
                format!(
                    "no {} in the workspace; found in namespace {}",
                    looked(),
                    nss.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            for &t in found {
                if let Some((p, range)) = name_range(a, &model.targets[t]) {
                    d.related.push(Related { path: p, range, message: model.targets[t].label() });
                }
            }
            Some(d)
        }
        Status::Unresolved { suggestion } => {
            if r.optional {
                return None;
            }
            let kind = res.kind.as_deref().unwrap_or("");
            let core = is_core_kind(kind);
            if let Some(s) = suggestion {
                let sev = if core { Severity::Warning } else { Severity::Error };
                let mut related = Vec::new();
                let kinds: Vec<&str> = match res.kind.as_deref() {
                    Some(k) => vec![k],
                    None => spec.kinds.to_vec(),
                };
                for k in kinds {
                    for &t in model.lookup(k, s).iter().take(3) {
                        if let Some((path, range)) = name_range(a, &model.targets[t]) {
                            related.push(Related { path, range, message: model.targets[t].label() });
                        }
                    }
                }
                let mut d = Diagnostic::new(
                    UNRESOLVED_REFERENCE,
                    sev,
                    r.name.range,
                    format!("no {}; did you mean `{s}`?", looked()),
                )
                .with_fix(Fix {
                    title: format!("Change to `{s}`"),
                    edits: vec![Edit { path: None, range: r.name.range, new_text: s.clone() }],
                    preferred: true,
                });
                d.related = related;
                return Some(d);
            }
            let sev = if core { Severity::Information } else { Severity::Warning };
            let hint = if core { "; it must be created in the cluster by other means" } else { "" };
            Some(Diagnostic::new(
                UNRESOLVED_REFERENCE,
                sev,
                r.name.range,
                format!("no {} found in the {nfiles} files of the workspace{hint}", looked()),
            ))
        }
    }
}

fn name_range(a: &Analysis, t: &Target) -> Option<(PathBuf, TextRange)> {
    crate::workspace::resolve::target_name_range(t, &|p| a.file(p).cloned())
}

/// Names of the files and directories next to `p` one edit away from it.
fn similar_path(model: &RefModel, p: &Path) -> Option<String> {
    let parent = p.parent()?;
    let name = p.file_name()?.to_str()?;
    let mut cands: Vec<String> = model
        .layout
        .files
        .iter()
        .chain(model.layout.dirs.iter())
        .filter(|x| x.parent() == Some(parent))
        .filter_map(|x| x.file_name()?.to_str().map(str::to_string))
        .filter(|n| edit_distance(n, name) == 1)
        .collect();
    cands.sort();
    cands.dedup();
    if cands.len() == 1 { cands.pop() } else { None }
}

fn missing(model: &RefModel, range: TextRange, value: &str, what: String, abs: &Path) -> Diagnostic {
    let mut d = Diagnostic::new(
        MISSING_PATH,
        Severity::Error,
        range,
        format!("{what} `{value}` does not exist ({})", abs.display()),
    );
    if let Some(s) = similar_path(model, abs) {
        let new = match value.rsplit_once('/') {
            Some((head, _)) => format!("{head}/{s}"),
            None => s.clone(),
        };
        d.message.push_str(&format!("; did you mean `{new}`?"));
        d.fixes.push(Fix {
            title: format!("Change to `{new}`"),
            edits: vec![Edit { path: None, range, new_text: new }],
            preferred: true,
        });
    }
    d
}

fn path_diagnostics(a: &Analysis, model: &RefModel, file: &FileData, out: &mut Vec<Diagnostic>) {
    let dir = file.path.parent().unwrap_or(Path::new("/"));
    if let Some(k) = &file.summary.refs.kustomize {
        for p in &k.paths {
            if p.value.is_empty() || is_remote(&p.value) || is_templated(&p.value) {
                continue;
            }
            let abs = normalize(&dir.join(&p.value));
            if !model.layout.exists(&abs) {
                let what = match p.role {
                    PathRole::Resource => format!("`{}` entry", p.field),
                    PathRole::Component => "component".to_string(),
                    PathRole::Patch => "patch file".to_string(),
                    PathRole::Generator => format!("`{}` file", p.field),
                    PathRole::Other => format!("`{}` path", p.field),
                };
                out.push(missing(model, p.range, &p.value, what, &abs));
            } else if matches!(p.role, PathRole::Resource | PathRole::Component)
                && model.layout.is_dir(&abs)
                && !model.layout.kfile_of_dir.contains_key(&abs)
                && !["kustomization.yaml", "kustomization.yml", "Kustomization"].iter().any(|n| abs.join(n).is_file())
            {
                out.push(Diagnostic::new(
                    MISSING_PATH,
                    Severity::Error,
                    p.range,
                    format!("directory `{}` has no kustomization.yaml: kustomize cannot build it", p.value),
                ));
            }
        }
    }
    for (ai, ap) in file.summary.refs.appliers.iter().enumerate() {
        match model.applier_dirs.get(&(file.path.clone(), ai)) {
            Some(ApplierDir::Missing(bases)) => {
                let Some(path) = &ap.path else { continue };
                let base = bases.first().cloned().unwrap_or_default();
                let abs = normalize(&base.join(path.value.trim_start_matches('/')));
                let mut d = missing(model, path.range, &path.value, "`spec.path`".into(), &abs);
                d.message = format!(
                    "`spec.path` `{}` does not exist in this repository (the source is this repository; looked under {})",
                    path.value,
                    bases.iter().map(|b| format!("`{}`", display_path(a, b))).collect::<Vec<_>>().join(", ")
                );
                out.push(d);
            }
            Some(ApplierDir::Found(d)) => {
                for c in &ap.components {
                    if is_remote(&c.value) || is_templated(&c.value) {
                        continue;
                    }
                    let abs = normalize(&d.join(&c.value));
                    if !model.layout.exists(&abs) {
                        out.push(missing(model, c.range, &c.value, "component (relative to `spec.path`)".into(), &abs));
                    }
                }
            }
            _ => {}
        }
    }
}

/// A few facts about a target for hovers: its spec's scalar fields.
pub fn target_summary(a: &Analysis, model: &RefModel, t: &Target) -> String {
    let mut s = format!("**{}** `{}`", t.kind, t.name);
    if let Some(ns) = &t.ns {
        s.push_str(&format!(" in namespace `{ns}`"));
    }
    s.push_str("\n\n");
    match &t.origin {
        Origin::Bootstrap => {
            s.push_str("Created by `flux bootstrap` / the Flux installation (not in the repository).\n")
        }
        Origin::Produced { path, object, .. } => {
            let producer = a
                .file(path)
                .and_then(|f| f.summary.objects.get(*object).map(|o| format!("{} {}", o.kind_str(), o.name_str())));
            s.push_str(&format!("Created by {} in `{}`\n", producer.unwrap_or_default(), display_path(a, path)));
        }
        Origin::Object { path, object } => {
            let Some(f) = a.file(path) else { return s };
            s.push_str(&format!("Defined in `{}`", display_path(a, path)));
            if let Some(origin) = model.ns_origin(f, *object)
                && t.ns.is_some()
            {
                s.push_str(&format!(" (namespace from {origin})"));
            }
            s.push('\n');
            let o = &f.summary.objects[*object];
            let tree = &f.syntax.docs[o.doc].parsed.tree;
            if let Some(spec) = tree.lookup(&["spec"]) {
                let mut lines = Vec::new();
                for e in tree.entries(spec) {
                    let (Some(k), Some(v)) = (tree.scalar(e.key), e.value) else { continue };
                    if let Some(val) = tree.scalar(v) {
                        if !val.contains('\n') && lines.len() < 8 {
                            lines.push(format!("- `{k}`: `{val}`"));
                        }
                    } else if k == "ref" || k == "chart" {
                        for e2 in tree.entries(v) {
                            if let (Some(k2), Some(v2)) = (tree.scalar(e2.key), e2.value.and_then(|v| tree.scalar(v))) {
                                lines.push(format!("- `{k}.{k2}`: `{v2}`"));
                            }
                        }
                    }
                }
                if !lines.is_empty() {
                    s.push('\n');
                    s.push_str(&lines.join("\n"));
                    s.push('\n');
                }
            }
        }
    }
    s
}

/// Hover provider: the target of the reference under the cursor.
pub fn reference_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let i = ref_at(file, offset)?;
    let r = &file.summary.refs.refs[i];
    if !r.name.range.contains_inclusive(offset) {
        return None;
    }
    let model = a.ref_model();
    let res = model.resolution(&file.path, i)?;
    let mut md = String::new();
    match &res.status {
        Status::Ok | Status::CrossNamespaceBlocked => {
            for &t in res.targets.iter().take(3) {
                md.push_str(&target_summary(a, &model, &model.targets[t]));
                md.push('\n');
            }
        }
        Status::Skipped => {
            md.push_str(&format!("`{}`: not resolved (templated, wildcard or selector)\n", r.spec().label))
        }
        _ => md.push_str(&format!(
            "`{}` → {} (not found in the workspace)\n",
            r.spec().label,
            where_looked(res.kind.as_deref(), r.spec().kinds, &r.name.value, res.ns.as_deref())
        )),
    }
    Some(Hover { range: r.name.range, markdown: md.trim_end().to_string() })
}

/// Hover provider: on an object's `metadata.name`, what refers to it.
pub fn object_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let oi = crate::workspace::resolve::object_name_at(file, offset)?;
    let o = &file.summary.objects[oi];
    if o.class == ObjectClass::NotKube {
        return None;
    }
    let model = a.ref_model();
    let t = model.target_of(&file.path, oi)?;
    let sites = model.sites_of(t);
    if sites.is_empty() {
        return None;
    }
    let tg = &model.targets[t];
    let mut md = format!("**{}** `{}`", tg.kind, tg.name);
    if let Some(ns) = &tg.ns {
        md.push_str(&format!(" in namespace `{ns}`"));
        if let Some(origin) = model.ns_origin(file, oi) {
            md.push_str(&format!(" (from {origin})"));
        }
    }
    md.push_str(&format!("\n\nReferenced {} time{}:\n", sites.len(), if sites.len() == 1 { "" } else { "s" }));
    for site in sites.iter().take(10) {
        let line = match site {
            crate::workspace::resolve::Site::Ref(p, i) => a.file(p).and_then(|f| {
                let r = f.summary.refs.refs.get(*i)?;
                let by = f.summary.objects.get(r.object)?;
                Some(format!("- {} `{}` `{}` (`{}`)", by.kind_str(), by.name_str(), r.spec().label, display_path(a, p)))
            }),
            crate::workspace::resolve::Site::Marker(p, _) => {
                Some(format!("- image marker in `{}`", display_path(a, p)))
            }
        };
        md.extend(line.map(|l| l + "\n"));
    }
    if sites.len() > 10 {
        md.push_str(&format!("- and {} more\n", sites.len() - 10));
    }
    Some(Hover { range: o.name.as_ref()?.range, markdown: md.trim_end().to_string() })
}

/// The reference field at the cursor, found on the tree (so that half-typed
/// references without a name are found too): (field index, the name's
/// current range, written kind, written namespace, object index).
type FieldAt = (usize, TextRange, Option<String>, Option<String>, usize);

fn field_at(file: &FileData, offset: usize) -> Option<FieldAt> {
    let (di, doc) = file.syntax.doc_at(offset)?;
    if offset > doc.span.range.end {
        return None;
    }
    let oi = file.summary.objects.iter().position(|o| o.doc == di)?;
    let obj = &file.summary.objects[oi];
    if obj.class != ObjectClass::Flux {
        return None;
    }
    let tree = &doc.parsed.tree;
    let rel = offset.checked_sub(doc.base())?;
    let chain = tree.chain_at(rel);
    let &leaf = chain.last()?;
    let line_start = doc.parsed.text[..rel].rfind('\n').map(|x| x + 1).unwrap_or(0);
    let line = &doc.parsed.text[line_start..rel];
    // (node of the block or scalar, the name range)
    let (node, range, scalar_field) = match &tree.node(leaf).kind {
        NodeKind::Scalar { .. } if !tree.is_key(leaf) => {
            let parent = tree.node(leaf).parent?;
            let key = tree.entries(parent).iter().find(|e| e.value == Some(leaf)).and_then(|e| tree.scalar(e.key));
            if key == Some("name") {
                (parent, doc.abs(tree.node(leaf).range), false)
            } else {
                (leaf, doc.abs(tree.node(leaf).range), true)
            }
        }
        NodeKind::Map { .. } | NodeKind::Scalar { .. } => {
            // `name: |` with nothing typed yet
            let t = line.trim_start().trim_start_matches("- ");
            if t.trim_end() == "name:" {
                let m =
                    if matches!(tree.node(leaf).kind, NodeKind::Map { .. }) { leaf } else { tree.node(leaf).parent? };
                (m, TextRange::empty(offset), false)
            } else if let Some(k) = t.trim_end().strip_suffix(':') {
                let m =
                    if matches!(tree.node(leaf).kind, NodeKind::Map { .. }) { leaf } else { tree.node(leaf).parent? };
                let e = tree.get_entry(m, k)?;
                if e.value.is_some() {
                    return None;
                }
                // a scalar field with no value: find its path through the key
                let mut path = tree.path_of(m);
                path.push(PathSeg::Key(k.to_string()));
                let fi = match_field(obj.kind_str(), &path, true)?;
                return Some((fi, TextRange::empty(offset), None, None, oi));
            } else {
                return None;
            }
        }
        _ => return None,
    };
    let path = tree.path_of(node);
    let fi = match_field(obj.kind_str(), &path, scalar_field)?;
    let get =
        |k: &str| if scalar_field { None } else { tree.get(node, k).and_then(|v| tree.scalar(v)).map(str::to_string) };
    Some((fi, range, get("kind"), get("namespace"), oi))
}

fn match_field(kind: &str, path: &[PathSeg], scalar: bool) -> Option<usize> {
    use crate::workspace::refs::Shape;
    fields_of(kind)
        .find(|(_, f)| {
            (f.shape == Shape::Scalar) == scalar
                && f.path.len() == path.len()
                && f.path.iter().zip(path).all(|(p, s)| match s {
                    PathSeg::Key(k) => p == k,
                    PathSeg::Index(_) => *p == "[]",
                })
        })
        .map(|(i, _)| i)
}

/// Completion provider: names of existing objects of the right kind and
/// namespace in a reference's `name`.
pub fn reference_completion(a: &Analysis, file: &FileData, offset: usize) -> Option<CompletionList> {
    let (fi, range, kind, ns, oi) = field_at(file, offset)?;
    let spec = &FIELDS[fi];
    let model = a.ref_model();
    let own_ns = model.object_ns(file, oi);
    let ns = match spec.ns {
        crate::workspace::refs::NsRule::Same => own_ns,
        crate::workspace::refs::NsRule::Optional => ns.or(own_ns),
        crate::workspace::refs::NsRule::AsWritten => ns,
        crate::workspace::refs::NsRule::Any => None,
    };
    let kinds: Vec<String> = match kind.filter(|k| !k.is_empty()).or(spec.default_kind.map(str::to_string)) {
        Some(k) => vec![k],
        None => spec.kinds.iter().map(|k| k.to_string()).collect(),
    };
    let mut cands: Vec<(String, TargetId)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for k in &kinds {
        for &t in model.of_kind(k) {
            let tg = &model.targets[t];
            if tg.patch || !(tg.ns.is_none() || ns.is_none() || tg.ns == ns) {
                continue;
            }
            // an object does not depend on itself
            if spec.depends_on
                && matches!(&tg.origin, Origin::Object { path, object } if *object == oi && *path == file.path)
            {
                continue;
            }
            if !seen.insert((tg.kind.as_str(), tg.name.as_str())) {
                continue;
            }
            // objects near the referrer first
            let near = tg.path().map(|p| common_prefix(p, &file.path)).unwrap_or(0);
            cands.push((format!("{:03}{}", 999 - near.min(999), tg.name), t));
        }
    }
    // more than can be sent: the names holding what is typed, nearest
    // first, cut at the limit before their documentation is written
    let incomplete = cands.len() > MAX_ITEMS;
    if incomplete {
        let typed = crate::ide::completion::typed_word(file, offset, Some(range));
        cands.retain(|(_, t)| crate::ide::completion::holds_in_order(&model.targets[*t].name, typed));
        cands.sort();
        cands.truncate(MAX_ITEMS);
    }
    let items = cands
        .into_iter()
        .map(|(sort, t)| {
            let tg = &model.targets[t];
            let mut it = CompletionItem::new(tg.name.clone(), CompletionKind::Reference);
            it.detail = Some(match (&tg.ns, tg.path()) {
                (Some(n), Some(p)) => format!("{} in {n} ({})", tg.kind, display_path(a, p)),
                (Some(n), None) => format!("{} in {n}", tg.kind),
                (None, _) => tg.kind.clone(),
            });
            it.documentation = Some(target_summary(a, &model, tg));
            it.replace = Some(range);
            it.sort_text = Some(sort);
            it
        })
        .collect();
    Some(CompletionList { items, incomplete })
}

/// Every code this feature reports.
pub const CODES: &[&str] = &[
    UNRESOLVED_REFERENCE,
    INVALID_REFERENCE_KIND,
    CROSS_NAMESPACE_REFERENCE,
    DEPENDENCY_CYCLE,
    MISSING_PATH,
    super::substitution::UNDEFINED_VARIABLE,
    super::image_markers::UNRESOLVED_IMAGE_POLICY,
    super::image_markers::INVALID_IMAGE_MARKER,
];

/// Diagnostics of a fixture file with one of [`CODES`] (other features,
/// such as schema validation, are tested on their own).
#[cfg(test)]
pub(crate) fn refs_only(f: &super::fixture::Fixture, rel: &str) -> Vec<Diagnostic> {
    f.diagnostics_of(rel).into_iter().filter(|d| CODES.contains(&d.code)).collect()
}

#[cfg(test)]
mod tests {
    use crate::ide::fixture::Fixture;
    use crate::ide::{Diagnostic, Severity};

    const GIT_SRC: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app-repo\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://github.com/org/app\n";

    fn diags(f: &Fixture, rel: &str) -> Vec<Diagnostic> {
        super::refs_only(f, rel)
    }

    fn codes(f: &Fixture, rel: &str) -> Vec<(&'static str, Severity)> {
        diags(f, rel).iter().map(|d| (d.code, d.severity)).collect()
    }

    fn ks(name: &str, spec: &str) -> String {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n{spec}"
        )
    }

    #[test]
    fn typo_in_source_ref_is_an_error_with_a_fix() {
        let src = format!(
            "# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{}",
            ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: app-rep\n")
        );
        let f = Fixture::parse(&src);
        let d = diags(&f, "ks.yaml");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].code, d[0].severity), ("unresolved-reference", Severity::Error));
        assert!(d[0].message.contains("did you mean `app-repo`"), "{}", d[0].message);
        assert_eq!(d[0].fixes[0].edits[0].new_text, "app-repo");
        assert!(d[0].related[0].path.ends_with("src.yaml"));
        // the bootstrap source is known too
        let f = Fixture::parse(&ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: flux-sytem\n"));
        let d = diags(&f, "test.yaml");
        assert_eq!(d[0].fixes[0].edits[0].new_text, "flux-system");
    }

    #[test]
    fn resolved_and_bootstrap_references_are_quiet() {
        let src = format!(
            "# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{}---\n{}",
            ks(
                "apps",
                "  sourceRef:\n    kind: GitRepository\n    name: app-repo\n  serviceAccountName: kustomize-controller\n"
            ),
            ks(
                "infra",
                "  dependsOn:\n    - name: apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
            )
        );
        let f = Fixture::parse(&src);
        assert_eq!(codes(&f, "ks.yaml"), vec![]);
    }

    #[test]
    fn unknown_name_is_a_warning_saying_where_it_looked() {
        let src = format!(
            "# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{}",
            ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: other\n")
        );
        let f = Fixture::parse(&src);
        let d = diags(&f, "ks.yaml");
        assert_eq!((d[0].code, d[0].severity), ("unresolved-reference", Severity::Warning));
        assert!(d[0].message.contains("GitRepository `other` in namespace `flux-system`"), "{}", d[0].message);
        assert!(d[0].fixes.is_empty());
    }

    #[test]
    fn wrong_kind_is_an_error_with_a_fix_when_the_name_exists() {
        let src = "# file: repo.yaml\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  url: oci://ghcr.io/x\n# file: hr.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  chartRef:\n    kind: HelmRepository\n    name: podinfo\n";
        let f = Fixture::parse(src);
        let d = diags(&f, "hr.yaml");
        assert_eq!((d[0].code, d[0].severity), ("invalid-reference-kind", Severity::Error));
        assert_eq!(
            &f.ws.file(&std::path::PathBuf::from("/fixture/hr.yaml")).unwrap().text[d[0].range.start..d[0].range.end],
            "HelmRepository"
        );
        assert_eq!(d[0].fixes[0].edits[0].new_text, "OCIRepository");
    }

    #[test]
    fn missing_helm_repository_and_namespace_inference() {
        // the HelmRepository gets its namespace from the kustomization.yaml
        let src = "# file: app/kustomization.yaml\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n  - repo.yaml\n  - release.yaml\n# file: app/repo.yaml\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\nspec:\n  url: https://x\n# file: app/release.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n";
        let f = Fixture::parse(src);
        assert_eq!(codes(&f, "app/release.yaml"), vec![]);
        let f = Fixture::parse(&src.replace("name: podinfo\nspec:\n  url", "name: other\nspec:\n  url"));
        let d = diags(&f, "app/release.yaml");
        assert_eq!((d[0].code, d[0].severity), ("unresolved-reference", Severity::Warning));
        assert!(d[0].message.contains("HelmRepository `podinfo` in namespace `podinfo`"), "{}", d[0].message);
    }

    #[test]
    fn a_base_of_two_overlays_has_no_single_namespace() {
        let src = "# file: base/kustomization.yaml\nresources:\n  - repo.yaml\n  - release.yaml\n# file: base/repo.yaml\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\nspec:\n  url: https://x\n# file: base/release.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n# file: a/kustomization.yaml\nnamespace: team-a\nresources:\n  - ../base\n  - release.yaml\n# file: a/release.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: extra\nspec:\n  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n# file: b/kustomization.yaml\nnamespace: team-b\nresources:\n  - ../base\n";
        let f = Fixture::parse(src);
        assert_eq!(codes(&f, "a/release.yaml"), vec![]);
        assert_eq!(codes(&f, "base/release.yaml"), vec![]);
        let a = f.ws.analysis();
        let m = a.ref_model();
        let rel = f.ws.file(&std::path::PathBuf::from("/fixture/a/release.yaml")).unwrap();
        assert_eq!(m.object_ns(rel, 0).as_deref(), Some("team-a"));
        let base = f.ws.file(&std::path::PathBuf::from("/fixture/base/repo.yaml")).unwrap();
        assert_eq!(m.object_ns(base, 0), None);
    }

    #[test]
    fn other_namespace_is_reported_with_where_it_is() {
        let src = format!(
            "# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{}",
            ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: app-repo\n")
                .replace("namespace: flux-system", "namespace: apps")
        );
        let f = Fixture::parse(&src);
        let d = diags(&f, "ks.yaml");
        assert_eq!(d[0].code, "unresolved-reference");
        assert!(d[0].message.contains("found in namespace `flux-system`"), "{}", d[0].message);
        assert_eq!(d[0].related.len(), 1);
    }

    #[test]
    fn cross_namespace_refs_are_errors_with_the_flag() {
        let flag = "# file: clusters/flux-system/kustomization.yaml\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-components.yaml\npatches:\n  - patch: |\n      - op: add\n        path: /spec/template/spec/containers/0/args/-\n        value: --no-cross-namespace-refs=true\n    target:\n      kind: Deployment\n# file: clusters/flux-system/gotk-components.yaml\n# generated\n";
        let k = ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: app-repo\n    namespace: flux-system\n")
            .replace("namespace: flux-system\nspec", "namespace: apps\nspec");
        let src = format!("{flag}# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{k}");
        let f = Fixture::parse(&src);
        let d = diags(&f, "ks.yaml");
        assert_eq!((d[0].code, d[0].severity), ("cross-namespace-reference", Severity::Error), "{d:?}");
        // without the flag, fine
        let f = Fixture::parse(&format!("# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{k}"));
        assert_eq!(codes(&f, "ks.yaml"), vec![]);
        // the flag only applies to the controllers the patch targets
        let only_helm =
            flag.replace("      kind: Deployment\n", "      kind: Deployment\n      name: (helm-controller)\n");
        let f = Fixture::parse(&format!("{only_helm}# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{k}"));
        assert_eq!(codes(&f, "ks.yaml"), vec![]);
        let both = flag.replace(
            "      kind: Deployment\n",
            "      kind: Deployment\n      name: (helm-controller|kustomize-controller)\n",
        );
        let f = Fixture::parse(&format!("{both}# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{k}"));
        assert_eq!(codes(&f, "ks.yaml"), vec![("cross-namespace-reference", Severity::Error)]);
    }

    #[test]
    fn dependency_cycles_of_two_and_three_members() {
        let src = format!(
            "# file: a.yaml\n{}# file: b.yaml\n{}# file: c.yaml\n{}",
            ks("a", "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn:\n    - name: b\n"),
            ks("b", "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn:\n    - name: c\n"),
            ks("c", "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn:\n    - name: a\n"),
        );
        let f = Fixture::parse(&src);
        for file in ["a.yaml", "b.yaml", "c.yaml"] {
            let d = diags(&f, file);
            assert_eq!(d.len(), 1, "{d:?}");
            assert_eq!((d[0].code, d[0].severity), ("dependency-cycle", Severity::Error));
            for m in ["flux-system/a", "flux-system/b", "flux-system/c"] {
                assert!(d[0].message.contains(m), "{}", d[0].message);
            }
        }
        // HelmReleases, two members
        let hr = |n: &str, d: &str| {
            format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {n}\n  namespace: x\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: flux-system\n  dependsOn:\n    - name: {d}\n"
            )
        };
        let f = Fixture::parse(&format!("{}---\n{}", hr("p", "q"), hr("q", "p")));
        let c = codes(&f, "test.yaml");
        assert_eq!(c.iter().filter(|(c, _)| *c == "dependency-cycle").count(), 2, "{c:?}");
        // no cycle: a chain
        let f = Fixture::parse(&format!(
            "{}---\n{}",
            hr("p", "q"),
            hr("q", "r").replace("    - name: r\n", "    - name: r\n      namespace: y\n")
        ));
        assert!(!codes(&f, "test.yaml").iter().any(|(c, _)| *c == "dependency-cycle"));
    }

    #[test]
    fn a_5000_deep_dependson_chain_is_linear_and_only_the_cycle_at_its_end_is_reported() {
        let hr = |n: usize, d: usize| {
            format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r{n}\n  namespace: x\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: flux-system\n  dependsOn:\n    - name: r{d}\n"
            )
        };
        // r0 → r1 → … → r4999 → r4997: a chain ending in a cycle of three
        const N: usize = 5000;
        let docs: Vec<String> = (0..N).map(|i| hr(i, if i + 1 < N { i + 1 } else { N - 3 })).collect();
        let f = Fixture::parse(&docs.join("---\n"));
        let t = std::time::Instant::now();
        let d = diags(&f, "test.yaml");
        let took = t.elapsed();
        let cyc: Vec<&Diagnostic> = d.iter().filter(|x| x.code == "dependency-cycle").collect();
        assert_eq!(cyc.len(), 3, "{cyc:?}");
        let want = "HelmRelease x/r4997 → HelmRelease x/r4998 → HelmRelease x/r4999 → HelmRelease x/r4997";
        assert!(cyc[0].message.contains(want), "{}", cyc[0].message);
        eprintln!("5,000-deep dependsOn chain: diagnostics in {took:?}");
        // quadratic search took 2.75 s here; linear is milliseconds (generous bound for debug builds)
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn kustomization_paths_must_exist() {
        let src = "# file: app/kustomization.yaml\nresources:\n  - deploy.yaml\n  - servce.yaml\n  - ../base\n  - ../plain\n  - https://example.com/x.yaml\n  - github.com/org/repo//deploy?ref=v1\ncomponents:\n  - ../comp\npatches:\n  - path: patch.yaml\nconfigMapGenerator:\n  - name: vars\n    envs:\n      - vars.env\n# file: app/deploy.yaml\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: x\n# file: app/service.yaml\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: y\n# file: base/kustomization.yaml\nresources: []\n# file: plain/a.yaml\na: 1\n";
        let f = Fixture::parse(src);
        let d = diags(&f, "app/kustomization.yaml");
        let text = &f.ws.file(&std::path::PathBuf::from("/fixture/app/kustomization.yaml")).unwrap().text;
        let got: Vec<_> = d.iter().map(|d| (d.code, &text[d.range.start..d.range.end])).collect();
        assert_eq!(
            got,
            vec![
                ("missing-path", "servce.yaml"),
                ("missing-path", "../plain"),
                ("missing-path", "../comp"),
                ("missing-path", "patch.yaml"),
                ("missing-path", "vars.env")
            ]
        );
        assert_eq!(d[0].fixes[0].edits[0].new_text, "service.yaml");
    }

    #[test]
    fn flux_spec_path_must_exist_in_the_own_repository() {
        let src = format!(
            "# file: clusters/prod/apps.yaml\n{}---\n{}---\n{}# file: apps/prod/kustomization.yaml\nresources: []\n# file: src.yaml\n{GIT_SRC}",
            ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps/prod\n"),
            ks(
                "missing",
                "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps/production\n  components:\n    - ../nope\n"
            ),
            ks("other-repo", "  sourceRef:\n    kind: GitRepository\n    name: app-repo\n  path: ./does/not/matter\n"),
        );
        let f = Fixture::parse(&src);
        let d = diags(&f, "clusters/prod/apps.yaml");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].code, d[0].severity), ("missing-path", Severity::Error));
        assert!(d[0].message.contains("./apps/production"), "{}", d[0].message);
        // components relative to spec.path
        let src2 = src.replace("path: ./apps/production", "path: ./apps/prod");
        let f = Fixture::parse(&src2);
        let d = diags(&f, "clusters/prod/apps.yaml");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("../nope"), "{}", d[0].message);
    }

    #[test]
    fn wildcards_templates_and_produced_objects_are_not_flagged() {
        let src = "# file: gen.yaml\napiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: gen\n  namespace: flux-system\nspec:\n  sources:\n    - alias: repo\n      kind: GitRepository\n      name: flux-system\n  artifacts:\n    - name: apps\n# file: es.yaml\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: es\n  namespace: flux-system\nspec:\n  target:\n    name: creds\n# file: alert.yaml\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: a\n  namespace: flux-system\nspec:\n  providerRef:\n    name: ${PROVIDER}\n  eventSources:\n    - kind: Kustomization\n      name: '*'\n# file: ks.yaml\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  sourceRef:\n    kind: ExternalArtifact\n    name: apps\n  path: ./anything\n  decryption:\n    provider: sops\n    secretRef:\n      name: creds\n";
        let f = Fixture::parse(src);
        for file in ["gen.yaml", "es.yaml", "alert.yaml", "ks.yaml"] {
            assert_eq!(codes(&f, file), vec![], "{file}");
        }
    }

    #[test]
    fn flux_instance_sync_is_the_bootstrap_source() {
        let src = "# file: clusters/prod/flux.yaml\napiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-ops\nspec:\n  distribution:\n    version: 2.x\n  sync:\n    kind: GitRepository\n    url: https://github.com/org/fleet\n    ref: refs/heads/main\n    path: clusters/production\n# file: clusters/prod/apps.yaml\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-ops\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: flux-ops\n  path: ./apps\n# file: apps/x.yaml\na: 1\n";
        let f = Fixture::parse(src);
        assert_eq!(codes(&f, "clusters/prod/apps.yaml"), vec![]);
        let d = diags(&f, "clusters/prod/flux.yaml");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].code == "missing-path" && d[0].message.contains("clusters/production"), "{d:?}");
        // a Kustomization patch without a sourceRef is not checked
        let f = Fixture::parse(&ks("p", "  path: ./nowhere\n"));
        assert_eq!(codes(&f, "test.yaml"), vec![]);
    }

    #[test]
    fn missing_secrets_are_information_only() {
        let f = Fixture::parse(&ks(
            "apps",
            "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n",
        ));
        assert_eq!(codes(&f, "test.yaml"), vec![("unresolved-reference", Severity::Information)]);
    }

    #[test]
    fn hover_and_completion_on_references() {
        let src = format!(
            "# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{}",
            ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: app-re$0po\n")
        );
        let f = Fixture::parse(&src);
        let a = f.ws.analysis();
        let h = super::reference_hover(&a, f.file(), f.offset()).unwrap();
        assert!(h.markdown.contains("**GitRepository** `app-repo`"), "{}", h.markdown);
        assert!(h.markdown.contains("src.yaml"), "{}", h.markdown);
        assert!(h.markdown.contains("https://github.com/org/app"), "{}", h.markdown);
        let items = crate::ide::completion::completions(&a, f.file(), f.offset());
        let labels: Vec<_> = items.iter().map(|i| i.label.as_str()).collect();
        assert!(labels.contains(&"app-repo") && labels.contains(&"flux-system"), "{labels:?}");
        let src_file = f.ws.file(&std::path::PathBuf::from("/fixture/src.yaml")).unwrap();
        let at = src_file.text.find("app-repo").unwrap();
        let h = super::object_hover(&a, src_file, at).unwrap();
        assert!(
            h.markdown.contains("Referenced 1 time") && h.markdown.contains("Kustomization `apps` `spec.sourceRef`"),
            "{}",
            h.markdown
        );
        // empty name, kind decides
        let src = format!(
            "# file: src.yaml\n{GIT_SRC}# file: ks.yaml\n{}",
            ks("apps", "  sourceRef:\n    kind: GitRepository\n    name: $0\n")
        );
        let f = Fixture::parse(&src);
        let a = f.ws.analysis();
        let items = crate::ide::completion::completions(&a, f.file(), f.offset());
        assert!(items.iter().any(|i| i.label == "app-repo"), "{items:?}");
        // dependsOn offers Kustomizations of the namespace
        let src = format!("{}---\n{}", ks("a", "  dependsOn:\n    - name: $0\n"), ks("b", ""));
        let f = Fixture::parse(&src);
        let a = f.ws.analysis();
        let labels: Vec<_> =
            crate::ide::completion::completions(&a, f.file(), f.offset()).into_iter().map(|i| i.label).collect();
        assert!(labels.contains(&"b".to_string()), "{labels:?}");
    }

    /// A `dependsOn` in a workspace of 300 Kustomizations: the editor gets
    /// at most 200 names, nearest first, in a list marked incomplete; once
    /// a few characters are typed, the names that hold them (in order).
    #[test]
    fn long_reference_lists_are_cut_and_marked_incomplete() {
        let mut src = String::new();
        for i in 0..300 {
            src.push_str(&format!("# file: far/k-{i}.yaml\n{}", ks(&format!("k-{i}"), "")));
        }
        src.push_str("# file: near/k-near.yaml\n");
        src.push_str(&ks("k-near", ""));
        let at = |typed: &str| {
            let f = Fixture::parse(&format!(
                "{src}# file: near/app.yaml\n{}",
                ks("app", &format!("  dependsOn:\n    - name: {typed}$0\n"))
            ));
            let a = f.ws.analysis();
            crate::ide::completion::completion_list(&a, f.file(), f.offset())
        };
        let all = at("");
        assert_eq!(all.items.len(), crate::ide::completion::MAX_ITEMS);
        assert!(all.incomplete, "more names than sent");
        assert_eq!(all.items[0].label, "k-near", "the nearest first (not `app` itself)");
        assert!(!all.items.iter().any(|i| i.label == "app"), "an object does not depend on itself");
        assert!(all.items.iter().all(|i| i.documentation.is_some()), "the items sent are documented");
        let typed = at("k-29");
        let labels: Vec<&str> = typed.items.iter().map(|i| i.label.as_str()).collect();
        assert!(labels.contains(&"k-29") && labels.contains(&"k-299"), "{labels:?}");
        assert!(labels.iter().all(|l| crate::ide::completion::holds_in_order(l, "k-29")), "{labels:?}");
        assert!(labels.len() < 200 && typed.incomplete, "cut: the editor asks again when the word changes");
        // a short list is whole
        let few = Fixture::parse(&format!("{}---\n{}", ks("a", "  dependsOn:\n    - name: $0\n"), ks("b", "")));
        let a = few.ws.analysis();
        assert!(!crate::ide::completion::completion_list(&a, few.file(), few.offset()).incomplete);
    }
}
