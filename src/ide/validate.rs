//! Schema validation of Flux objects (and of any kind a workspace CRD
//! defines): unknown fields, types, required fields, enums, formats the
//! controllers check (durations, semver ranges, regexes, URL schemes, names),
//! the CRDs' CEL rules, and unknown or removed apiVersions.
//!
//! No false alarms: templated values (`${VAR}`, `<< inputs.x >>`, `{{ }}`),
//! aliases and merge keys are never flagged; documents that are partial
//! (syntax errors) or used as kustomize patches skip the checks that need the
//! whole object (required fields, CEL rules).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::{Diagnostic, Edit, Fix, Severity};
use crate::schema::model::{KindDef, Schema, Type};
use crate::schema::values::{self, is_templated};
use crate::schema::{Registry, cel, history};
use crate::syntax::{FileDoc, NodeId, NodeKind, ScalarType, Tree};
use crate::text::TextRange;
use crate::workspace::{Analysis, FileData, is_flux_group, split_api_version};

pub const UNKNOWN_FIELD: &str = "unknown-field";
pub const WRONG_TYPE: &str = "wrong-type";
pub const MISSING_REQUIRED: &str = "missing-required";
pub const INVALID_ENUM: &str = "invalid-enum";
pub const INVALID_DURATION: &str = "invalid-duration";
pub const INVALID_SEMVER_RANGE: &str = "invalid-semver-range";
pub const INVALID_REGEX: &str = "invalid-regex";
pub const INVALID_URL_SCHEME: &str = "invalid-url-scheme";
pub const PATTERN_MISMATCH: &str = "pattern-mismatch";
pub const OUT_OF_RANGE: &str = "out-of-range";
pub const INVALID_NAME: &str = "invalid-name";
pub const CEL_RULE: &str = "cel-rule";
pub const UNKNOWN_KIND: &str = "unknown-kind";
pub const UNKNOWN_API_VERSION: &str = "unknown-api-version";
pub const REMOVED_API_VERSION: &str = "removed-api-version";

/// Fields holding a semver constraint: (kind, path).
const SEMVER_FIELDS: &[(&str, &str)] = &[
    ("HelmRelease", "spec.chart.spec.version"),
    ("HelmChart", "spec.version"),
    ("GitRepository", "spec.ref.semver"),
    ("OCIRepository", "spec.ref.semver"),
    ("ImagePolicy", "spec.policy.semver.range"),
    ("ResourceSetInputProvider", "spec.filter.semver"),
    ("FluxInstance", "spec.distribution.version"),
];

/// Fields holding a Go regular expression.
const REGEX_FIELDS: &[(&str, &str)] = &[
    ("ImagePolicy", "spec.filterTags.pattern"),
    ("ImageRepository", "spec.exclusionList[]"),
    ("Alert", "spec.exclusionList[]"),
    ("Alert", "spec.inclusionList[]"),
    ("OCIRepository", "spec.ref.semverFilter"),
    ("ResourceSetInputProvider", "spec.filter.includeBranch"),
    ("ResourceSetInputProvider", "spec.filter.excludeBranch"),
    ("ResourceSetInputProvider", "spec.filter.includeTag"),
    ("ResourceSetInputProvider", "spec.filter.excludeTag"),
    ("ResourceSetInputProvider", "spec.filter.includeEnvironment"),
    ("ResourceSetInputProvider", "spec.filter.excludeEnvironment"),
];

/// URL fields and the schemes their controller accepts.
const URL_FIELDS: &[(&str, &str, &[&str])] = &[
    ("GitRepository", "spec.url", &["http", "https", "ssh"]),
    ("OCIRepository", "spec.url", &["oci"]),
    ("HelmRepository", "spec.url", &["http", "https", "oci"]),
];

/// The schema diagnostics of a whole file (`diagnostics::file_diagnostics`
/// calls [`doc_schema_diagnostics`] per document).
pub fn schema_diagnostics(a: &Analysis, file: &FileData, out: &mut Vec<Diagnostic>) {
    let reg = a.schemas();
    let patch = is_patch_file(a, file);
    for doc in &file.syntax.docs {
        doc_schema_diagnostics(&reg, patch, file, doc, out);
    }
}

/// The schema diagnostics of one document of `file` (`patch`: the file is
/// a kustomize patch, whose objects are partial on purpose).
pub fn doc_schema_diagnostics(
    reg: &Arc<Registry>,
    patch: bool,
    file: &FileData,
    doc: &FileDoc,
    out: &mut Vec<Diagnostic>,
) {
    let tree = &doc.parsed.tree;
    let Some(root) = tree.root else { return };
    let whole = !patch && !doc.parsed.partial;
    // a document's diagnostics depend on its text, the registry and
    // `whole`: reuse them while those are unchanged (ranges are kept
    // relative to the document and moved to where it is now)
    let base = doc.base() as isize;
    if let Some(m) = doc.parsed.memo::<SchemaMemo>()
        && Arc::ptr_eq(&m.reg, reg)
        && m.whole == whole
    {
        out.extend(m.diags.iter().map(|d| d.shifted(base, &file.path)));
        return;
    }
    let mut local = Vec::new();
    let mut v = Validator { reg, doc, text: &file.text, out: &mut local, whole, kind: String::new() };
    v.object(root, 0);
    let diags = local.iter().map(|d| d.shifted(-base, &file.path)).collect();
    doc.parsed.set_memo(Arc::new(SchemaMemo { reg: reg.clone(), whole, diags }));
    out.extend(local);
}

/// Schema diagnostics of one document, relative to its start.
struct SchemaMemo {
    reg: Arc<crate::schema::Registry>,
    whole: bool,
    diags: Vec<Diagnostic>,
}

/// True when a kustomization file of the workspace lists the file under
/// `patches`/`patchesStrategicMerge`/`patchesJson6902` (such files hold
/// partial objects on purpose).
pub fn is_patch_file(a: &Analysis, file: &FileData) -> bool {
    a.ref_model().layout.patch_files.contains(&normalize(&file.path))
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

struct Validator<'a, 'o> {
    reg: &'a Registry,
    doc: &'a FileDoc,
    text: &'a str,
    out: &'o mut Vec<Diagnostic>,
    /// The object is whole: required fields and CEL rules are checked.
    whole: bool,
    kind: String,
}

/// What the value at a path is, for messages.
fn describe(tree: &Tree, id: NodeId) -> &'static str {
    match &tree.node(id).kind {
        NodeKind::Map { .. } => "a mapping",
        NodeKind::Seq { .. } => "a list",
        NodeKind::Alias { .. } => "an alias",
        NodeKind::Scalar { .. } => match tree.scalar_type(id) {
            Some(ScalarType::Bool) => "a boolean",
            Some(ScalarType::Int) => "an integer",
            Some(ScalarType::Float) => "a number",
            Some(ScalarType::Null) => "null",
            _ => "a string",
        },
    }
}

impl<'a, 'o> Validator<'a, 'o> {
    fn tree(&self) -> &'a Tree {
        &self.doc.parsed.tree
    }

    fn abs(&self, r: TextRange) -> TextRange {
        self.doc.abs(r)
    }

    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    /// Validates an object (a document root or an embedded object, such as
    /// a ResourceSet resource).
    fn object(&mut self, root: NodeId, depth: usize) {
        let tree = self.tree();
        if !matches!(tree.node(root).kind, NodeKind::Map { .. }) || depth > 4 {
            return;
        }
        let Some((av, av_range)) = scalar_at(tree, root, "apiVersion") else { return };
        let Some((kind, kind_range)) = scalar_at(tree, root, "kind") else { return };
        if is_templated(av) || is_templated(kind) {
            return;
        }
        let (group, version) = split_api_version(av);
        let flux = is_flux_group(group);
        if !flux && !self.reg.is_runtime(group, kind) {
            return;
        }
        let Some((kdef, _)) = self.reg.kind(group, kind) else {
            if flux {
                self.unknown_kind(group, kind, kind_range);
            }
            return;
        };
        if let Some(rm) = history::removed(group, version, kind) {
            let current = kdef.preferred().map(|v| v.name.as_str()).unwrap_or("");
            let mut d = Diagnostic::new(
                REMOVED_API_VERSION,
                Severity::Warning,
                self.abs(av_range),
                format!("{av} {kind} was removed in {} ({}); use {group}/{current}", rm.flux, rm.controller),
            );
            let title = format!("Migrate {kind} to {group}/{current}");
            if let Some(fix) = super::migrate::migrate_fix(self.text, self.doc, root, self.reg, title) {
                d = d.with_fix(fix);
            }
            self.push(d);
        }
        let Some(ver) = kdef.version(version) else {
            if history::removed(group, version, kind).is_none() {
                self.unknown_version(kdef, av, av_range);
            }
            return;
        };
        self.kind = kind.to_string();
        if self.doc.parsed.partial {
            // the tree misses parts: only apiVersion and kind are checked
            return;
        }
        let schema = &ver.schema;
        self.metadata(root);
        let mut path = String::new();
        self.node(root, schema, None, &mut path, depth);
    }

    fn unknown_kind(&mut self, group: &str, kind: &str, range: TextRange) {
        let kinds: Vec<&str> = self.reg.kinds_of_group(group).map(|k| k.kind.as_str()).collect();
        let mut d = Diagnostic::new(
            UNKNOWN_KIND,
            Severity::Error,
            self.abs(range),
            if kinds.is_empty() {
                format!("`{group}` is not a Flux API group")
            } else {
                format!("`{kind}` is not a kind of {group} (kinds: {})", kinds.join(", "))
            },
        );
        if let Some(best) = values::closest(kind, kinds.iter().copied()) {
            d = d.with_fix(Fix {
                title: format!("Change to `{best}`"),
                edits: vec![Edit { path: None, range: self.abs(range), new_text: best.to_string() }],
                preferred: true,
            });
        }
        self.push(d);
    }

    fn unknown_version(&mut self, kdef: &KindDef, av: &str, range: TextRange) {
        let versions: Vec<&str> = kdef.versions.iter().filter(|v| v.served).map(|v| v.name.as_str()).collect();
        let mut d = Diagnostic::new(
            UNKNOWN_API_VERSION,
            Severity::Error,
            self.abs(range),
            format!("`{av}` is not a version of {} (served: {})", kdef.kind, versions.join(", ")),
        );
        if let Some(p) = kdef.preferred() {
            d = d.with_fix(Fix {
                title: format!("Change to `{}`", kdef.api_version(&p.name)),
                edits: vec![Edit { path: None, range: self.abs(range), new_text: kdef.api_version(&p.name) }],
                preferred: true,
            });
        }
        self.push(d);
    }

    fn metadata(&mut self, root: NodeId) {
        let tree = self.tree();
        let Some(meta) = tree.get(root, "metadata") else { return };
        if let Some((name, r)) = scalar_at(tree, meta, "name")
            && !is_templated(name)
            && let Err(e) = values::check_dns1123_subdomain(name)
        {
            let d = Diagnostic::new(INVALID_NAME, Severity::Error, self.abs(r), format!("invalid name `{name}`: {e}"));
            self.push(d);
        }
        if let Some((ns, r)) = scalar_at(tree, meta, "namespace")
            && !is_templated(ns)
            && let Err(e) = values::check_dns1123_label(ns)
        {
            let d =
                Diagnostic::new(INVALID_NAME, Severity::Error, self.abs(r), format!("invalid namespace `{ns}`: {e}"));
            self.push(d);
        }
    }

    /// The range to report a problem of the value `id` on: its key when it
    /// has one, else its first line.
    fn anchor(&self, id: NodeId, key: Option<NodeId>) -> TextRange {
        let tree = self.tree();
        if let Some(k) = key {
            return self.abs(tree.node(k).range);
        }
        let r = tree.node(id).range;
        let t = &self.doc.parsed.text[r.start..r.end];
        let end = t.find('\n').map(|i| r.start + i).unwrap_or(r.end);
        self.abs(TextRange::new(r.start, end))
    }

    fn node(&mut self, id: NodeId, schema: &Schema, key: Option<NodeId>, path: &mut String, depth: usize) {
        let tree = self.tree();
        if depth > 64 {
            return;
        }
        let n = tree.node(id);
        match &n.kind {
            NodeKind::Alias { .. } => {}
            NodeKind::Scalar { value, .. } => self.scalar(id, value, schema, path),
            NodeKind::Map { entries, .. } => {
                if matches!(schema.ty, Some(t) if t != Type::Object) {
                    self.wrong_type(id, key, schema, path);
                    return;
                }
                if path == "status" {
                    return;
                }
                let props: &[(String, Schema)] = &schema.properties;
                let free = schema.is_free_form() || (props.is_empty() && schema.additional_properties.is_none());
                let has_merge = entries.iter().any(|e| tree.scalar(e.key) == Some("<<"));
                for e in entries {
                    let Some(k) = tree.scalar(e.key) else { continue };
                    if k == "<<" || is_templated(k) {
                        continue;
                    }
                    // every object has these, whatever its CRD's schema says
                    if path.is_empty() && matches!(k, "apiVersion" | "kind") && schema.property(k).is_none() {
                        continue;
                    }
                    let sub = if path.is_empty() {
                        schema.root_child(k)
                    } else {
                        schema.property(k).or(schema.additional_properties.as_deref())
                    };
                    match sub {
                        Some(sub) => {
                            if let Some(v) = e.value {
                                let len = path.len();
                                if !path.is_empty() {
                                    path.push('.');
                                }
                                path.push_str(k);
                                self.node(v, sub, Some(e.key), path, depth + 1);
                                path.truncate(len);
                            }
                        }
                        None if free => {}
                        None => self.unknown_field(id, e.key, k, schema, path),
                    }
                }
                if path == "spec"
                    && self.kind == "ResourceSet"
                    && let Some(res) = tree.get(id, "resources")
                {
                    for &item in tree.items(res) {
                        self.object(item, depth + 1);
                    }
                }
                if path == "spec" && self.kind == "HelmRepository" {
                    self.helm_repository_type(id);
                }
                if self.whole && !has_merge {
                    self.required(id, key, schema, path);
                    if path.is_empty() {
                        self.missing_spec(id, schema);
                    }
                    self.cel(id, key, schema, path);
                }
            }
            NodeKind::Seq { items, .. } => {
                if matches!(schema.ty, Some(t) if t != Type::Array) {
                    self.wrong_type(id, key, schema, path);
                    return;
                }
                if let Some(is) = schema.items.as_deref() {
                    for &i in items {
                        let len = path.len();
                        path.push_str("[]");
                        self.node(i, is, None, path, depth + 1);
                        path.truncate(len);
                    }
                }
                let n = items.len() as u64;
                if let Some(min) = schema.min_items.filter(|m| n < *m) {
                    let r = self.anchor(id, key);
                    self.push(Diagnostic::new(
                        OUT_OF_RANGE,
                        Severity::Error,
                        r,
                        format!("`{path}` needs at least {min} item(s)"),
                    ));
                }
                if let Some(max) = schema.max_items.filter(|m| n > *m) {
                    let r = self.anchor(id, key);
                    self.push(Diagnostic::new(
                        OUT_OF_RANGE,
                        Severity::Error,
                        r,
                        format!("`{path}` takes at most {max} item(s)"),
                    ));
                }
                if self.whole {
                    self.cel(id, key, schema, path);
                }
            }
        }
    }

    fn wrong_type(&mut self, id: NodeId, key: Option<NodeId>, schema: &Schema, path: &str) {
        let got = describe(self.tree(), id);
        let r = self.anchor(id, key);
        let d = Diagnostic::new(
            WRONG_TYPE,
            Severity::Error,
            r,
            format!("`{path}` must be {}, not {got}", article(&schema.type_label())),
        );
        self.push(d);
    }

    fn scalar(&mut self, id: NodeId, value: &str, schema: &Schema, path: &str) {
        let tree = self.tree();
        let st = tree.scalar_type(id).unwrap_or(ScalarType::Str);
        if st == ScalarType::Null || is_templated(value) {
            return;
        }
        let range = self.abs(tree.node(id).range);
        let ok = if schema.int_or_string {
            matches!(st, ScalarType::Int | ScalarType::Str)
        } else {
            match schema.ty {
                None => true,
                Some(Type::String) => st == ScalarType::Str,
                Some(Type::Boolean) => st == ScalarType::Bool,
                Some(Type::Integer) => st == ScalarType::Int,
                Some(Type::Number) => matches!(st, ScalarType::Int | ScalarType::Float),
                Some(Type::Object) | Some(Type::Array) => false,
            }
        };
        if !ok {
            let label = schema.type_label();
            let got = describe(tree, id);
            let mut d = Diagnostic::new(
                WRONG_TYPE,
                Severity::Error,
                range,
                format!("`{path}` must be {}, not {got} (`{value}`)", article(&label)),
            );
            if schema.ty == Some(Type::String) {
                d = d.with_fix(Fix {
                    title: format!("Quote `{value}`"),
                    edits: vec![Edit { path: None, range, new_text: format!("\"{}\"", value.replace('"', "\\\"")) }],
                    preferred: true,
                });
            } else if st == ScalarType::Str {
                // a quoted boolean or number where one is expected
                let unquoted = crate::syntax::resolve_plain(value);
                let fits = match schema.ty {
                    Some(Type::Boolean) => unquoted == ScalarType::Bool,
                    Some(Type::Integer) => unquoted == ScalarType::Int,
                    Some(Type::Number) => matches!(unquoted, ScalarType::Int | ScalarType::Float),
                    _ => false,
                };
                if fits {
                    d = d.with_fix(Fix {
                        title: format!("Unquote `{value}`"),
                        edits: vec![Edit { path: None, range, new_text: value.to_string() }],
                        preferred: true,
                    });
                }
            }
            self.push(d);
            return;
        }
        // enums
        if !schema.enum_values.is_empty() {
            let allowed: Vec<String> = schema
                .enum_values
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            if !allowed.iter().any(|a| a == value) {
                let mut d = Diagnostic::new(
                    INVALID_ENUM,
                    Severity::Error,
                    range,
                    format!("`{value}` is not a valid `{path}`; expected one of: {}", allowed.join(", ")),
                );
                let best = values::closest(value, allowed.iter().map(String::as_str));
                for a in
                    best.iter().copied().chain(allowed.iter().map(String::as_str).filter(|a| Some(*a) != best)).take(8)
                {
                    d = d.with_fix(Fix {
                        title: format!("Change to `{a}`"),
                        edits: vec![Edit { path: None, range, new_text: a.to_string() }],
                        preferred: Some(a) == best,
                    });
                }
                self.push(d);
                return;
            }
        }
        let kind = self.kind.as_str();
        if schema.ty == Some(Type::String) || schema.int_or_string {
            let n = value.chars().count() as u64;
            if let Some(min) = schema.min_length.filter(|m| n < *m) {
                self.push(Diagnostic::new(
                    OUT_OF_RANGE,
                    Severity::Error,
                    range,
                    format!("`{path}` must have at least {min} character(s)"),
                ));
                return;
            }
            if let Some(max) = schema.max_length.filter(|m| n > *m) {
                self.push(Diagnostic::new(
                    OUT_OF_RANGE,
                    Severity::Error,
                    range,
                    format!("`{path}` must have at most {max} characters (has {n})"),
                ));
                return;
            }
            if let Some((_, _, schemes)) = URL_FIELDS.iter().find(|(k, p, _)| *k == kind && *p == path) {
                self.url(value, range, schemes);
                return;
            }
            if schema.is_duration() {
                if !values::is_flux_duration(value) {
                    let hint = if values::is_go_duration(value) {
                        " (only the units ms, s, m and h are accepted)"
                    } else {
                        ""
                    };
                    self.push(Diagnostic::new(
                        INVALID_DURATION,
                        Severity::Error,
                        range,
                        format!("`{value}` is not a duration such as `30s`, `5m` or `1h30m`{hint}"),
                    ));
                }
                return;
            }
            if let Some(p) = &schema.pattern
                && let Ok(re) = cached_regex(p)
                && !re.is_match(value)
            {
                self.push(Diagnostic::new(
                    PATTERN_MISMATCH,
                    Severity::Error,
                    range,
                    format!("`{value}` does not match the pattern of `{path}`: {p}"),
                ));
                return;
            }
            if SEMVER_FIELDS.iter().any(|(k, p)| *k == kind && *p == path) {
                if let Err(e) = values::check_semver_range(value) {
                    self.push(Diagnostic::new(
                        INVALID_SEMVER_RANGE,
                        Severity::Error,
                        range,
                        format!("`{value}` is not a semver version or range: {e}"),
                    ));
                }
            } else if REGEX_FIELDS.iter().any(|(k, p)| *k == kind && *p == path)
                && let Err(e) = values::check_regex(value)
            {
                self.push(Diagnostic::new(
                    INVALID_REGEX,
                    Severity::Error,
                    range,
                    format!("`{value}` is not a valid regular expression: {e}"),
                ));
            }
        }
        if matches!(st, ScalarType::Int | ScalarType::Float)
            && let Ok(x) = value.parse::<f64>()
        {
            if let Some(min) = schema.minimum.filter(|m| x < *m) {
                self.push(Diagnostic::new(
                    OUT_OF_RANGE,
                    Severity::Error,
                    range,
                    format!("`{path}` must be at least {min}"),
                ));
            } else if let Some(max) = schema.maximum.filter(|m| x > *m) {
                self.push(Diagnostic::new(
                    OUT_OF_RANGE,
                    Severity::Error,
                    range,
                    format!("`{path}` must be at most {max}"),
                ));
            }
        }
    }

    /// `type: oci` needs an `oci://` URL and an `oci://` URL needs `type: oci`.
    fn helm_repository_type(&mut self, spec: NodeId) {
        let tree = self.tree();
        let Some((url, ur)) = scalar_at(tree, spec, "url") else { return };
        let ty = scalar_at(tree, spec, "type");
        if is_templated(url) || ty.is_some_and(|(t, _)| is_templated(t)) {
            return;
        }
        let oci_url = values::url_scheme(url) == Some("oci");
        let oci_type = ty.is_some_and(|(t, _)| t == "oci");
        if oci_url && !oci_type {
            let mut d = Diagnostic::new(
                INVALID_URL_SCHEME,
                Severity::Error,
                self.abs(ur),
                "an `oci://` URL needs `type: oci` on the HelmRepository",
            );
            let fix = match ty {
                Some((_, tr)) => Edit { path: None, range: self.abs(tr), new_text: "oci".into() },
                None => match insert_fields(self.text, self.doc, spec, &Schema::default(), &[]) {
                    Some(e) => Edit {
                        new_text: format!("{}type: oci", indent_prefix(&e.new_text, self.text, self.doc, tree, spec)),
                        ..e
                    },
                    None => {
                        self.push(d);
                        return;
                    }
                },
            };
            d = d.with_fix(Fix { title: "Set `type: oci`".into(), edits: vec![fix], preferred: true });
            self.push(d);
        } else if oci_type && !oci_url && values::url_scheme(url).is_some() {
            self.push(Diagnostic::new(
                INVALID_URL_SCHEME,
                Severity::Error,
                self.abs(ur),
                "a HelmRepository of `type: oci` needs an `oci://` URL",
            ));
        }
    }

    fn url(&mut self, value: &str, range: TextRange, schemes: &[&str]) {
        let scheme = values::url_scheme(value);
        let ok = scheme.is_some_and(|s| schemes.contains(&s));
        if ok {
            return;
        }
        let list = schemes.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(", ");
        let msg = match scheme {
            Some(s) => format!("`{s}://` is not supported by {} (use {list})", self.kind),
            None if self.kind == "GitRepository" && value.contains('@') && value.contains(':') => {
                format!("scp-like Git addresses are not supported: use `ssh://{}`", value.replacen(':', "/", 1))
            }
            None => format!("`{value}` has no URL scheme (use {list})"),
        };
        let mut d = Diagnostic::new(INVALID_URL_SCHEME, Severity::Error, range, msg);
        if scheme.is_none() && self.kind == "GitRepository" && value.contains('@') && !value.contains("//") {
            d = d.with_fix(Fix {
                title: "Rewrite as an ssh:// URL".into(),
                edits: vec![Edit { path: None, range, new_text: format!("ssh://{}", value.replacen(':', "/", 1)) }],
                preferred: true,
            });
        }
        self.push(d);
    }

    fn unknown_field(&mut self, map: NodeId, key: NodeId, k: &str, schema: &Schema, path: &str) {
        let tree = self.tree();
        let present: Vec<&str> = tree.entries(map).iter().filter_map(|e| tree.scalar(e.key)).collect();
        let candidates = schema.properties.iter().map(|(n, _)| n.as_str()).filter(|n| !present.contains(n));
        let best = values::closest(k, candidates);
        let r = self.abs(tree.node(key).range);
        let at = if path.is_empty() { String::from("the top level") } else { format!("`{path}`") };
        let msg = match best {
            Some(b) => format!("unknown field `{k}` in {at} of {}: did you mean `{b}`?", self.kind),
            None => format!("unknown field `{k}` in {at} of {}", self.kind),
        };
        let mut d = Diagnostic::new(UNKNOWN_FIELD, Severity::Error, r, msg);
        if let Some(b) = best {
            d = d.with_fix(Fix {
                title: format!("Rename to `{b}`"),
                edits: vec![Edit { path: None, range: r, new_text: b.to_string() }],
                preferred: true,
            });
        }
        // removing the whole entry (block mappings only, where it has its own lines)
        let entry = tree.entries(map).iter().find(|e| e.key == key);
        if let (Some(e), NodeKind::Map { flow: false, .. }) = (entry, &tree.node(map).kind) {
            let text = self.text;
            let start = self.abs(e.range).start;
            let ls = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            if text[ls..start].trim().is_empty() {
                let end = self.abs(e.range).end;
                let le = text[end..].find('\n').map(|i| end + i + 1).unwrap_or(text.len());
                d = d.with_fix(Fix {
                    title: format!("Remove `{k}`"),
                    edits: vec![Edit { path: None, range: TextRange::new(ls, le), new_text: String::new() }],
                    preferred: best.is_none(),
                });
            }
        }
        self.push(d);
    }

    fn required(&mut self, map: NodeId, key: Option<NodeId>, schema: &Schema, path: &str) {
        let tree = self.tree();
        let missing: Vec<&str> =
            schema.required.iter().map(String::as_str).filter(|r| tree.get_entry(map, r).is_none()).collect();
        if missing.is_empty() {
            return;
        }
        let r = self.anchor(map, key);
        let at = if path.is_empty() { self.kind.clone() } else { format!("`{path}`") };
        let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        let mut d = Diagnostic::new(
            MISSING_REQUIRED,
            Severity::Error,
            r,
            format!("{at} is missing required field{} {list}", if missing.len() > 1 { "s" } else { "" }),
        );
        if let Some(edit) = insert_fields(self.text, self.doc, map, schema, &missing) {
            d = d.with_fix(Fix { title: format!("Add {list}"), edits: vec![edit], preferred: true });
        }
        self.push(d);
    }

    /// A root without `spec` when the spec has required fields.
    fn missing_spec(&mut self, root: NodeId, schema: &Schema) {
        let tree = self.tree();
        let Some(spec) = schema.property("spec") else { return };
        if spec.required.is_empty() || tree.get_entry(root, "spec").is_some() {
            return;
        }
        let Some((_, kr)) = scalar_at(tree, root, "kind") else { return };
        let list = spec.required.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        let mut d = Diagnostic::new(
            MISSING_REQUIRED,
            Severity::Error,
            self.abs(kr),
            format!("{} is missing `spec` (required: {list})", self.kind),
        );
        if let Some(edit) = insert_fields(self.text, self.doc, root, schema, &["spec"]) {
            d = d.with_fix(Fix { title: "Add `spec`".into(), edits: vec![edit], preferred: true });
        }
        self.push(d);
    }

    fn cel(&mut self, id: NodeId, key: Option<NodeId>, schema: &Schema, path: &str) {
        for rule in &schema.validations {
            if rule.rule.contains("oldSelf") {
                continue;
            }
            let Some(expr) = cel::parse(&rule.rule) else { continue };
            if cel::eval(&expr, self.tree(), id, schema) == Some(false) {
                let r = if path.is_empty() {
                    scalar_at(self.tree(), id, "kind").map(|(_, r)| self.abs(r)).unwrap_or_else(|| self.anchor(id, key))
                } else {
                    self.anchor(id, key)
                };
                let msg = rule.message.clone().unwrap_or_else(|| format!("rule `{}` is not satisfied", rule.rule));
                self.push(Diagnostic::new(CEL_RULE, Severity::Error, r, msg));
            }
        }
    }
}

fn article(label: &str) -> String {
    let a = if label.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{a} {label}")
}

fn scalar_at<'t>(tree: &'t Tree, map: NodeId, key: &str) -> Option<(&'t str, TextRange)> {
    let v = tree.get(map, key)?;
    Some((tree.scalar(v)?, tree.node(v).range))
}

fn cached_regex(p: &str) -> Result<regex::Regex, ()> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = std::sync::OnceLock::new();
    let m = CACHE.get_or_init(Default::default);
    let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
    if g.len() > 512 {
        g.clear();
    }
    g.entry(p.to_string()).or_insert_with(|| regex::Regex::new(p).ok()).clone().ok_or(())
}

/// A placeholder value for a field, as YAML text after `key:` (with a
/// leading space or newline), including required children.
pub fn placeholder(schema: &Schema, indent: usize, depth: usize) -> String {
    if let Some(d) = &schema.default
        && !d.is_object()
        && !d.is_array()
    {
        return format!(" {}", json_scalar(d));
    }
    if let Some(first) = schema.enum_values.first() {
        return format!(" {}", json_scalar(first));
    }
    match schema.ty {
        Some(Type::String) if schema.is_duration() => " 10m".into(),
        Some(Type::String) => " \"\"".into(),
        Some(Type::Boolean) => " true".into(),
        Some(Type::Integer) | Some(Type::Number) => " 0".into(),
        Some(Type::Array) => " []".into(),
        Some(Type::Object) if !schema.required.is_empty() && depth < 4 => {
            let mut s = String::new();
            for r in &schema.required {
                let sub = schema.property(r).cloned().unwrap_or_default();
                s.push('\n');
                s.push_str(&" ".repeat(indent + 2));
                s.push_str(r);
                s.push(':');
                s.push_str(&placeholder(&sub, indent + 2, depth + 1));
            }
            s
        }
        _ => " {}".into(),
    }
}

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => {
            let plain = !s.is_empty()
                && crate::syntax::resolve_plain(s) == ScalarType::Str
                && !s.starts_with(['*', '&', '!', '{', '[', '-', '?', '|', '>', '\'', '"', '%', '@', '`', '#'])
                && !s.contains(": ")
                && !s.contains(" #");
            if plain { s.clone() } else { format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")) }
        }
        other => other.to_string(),
    }
}

/// `\n` plus the indentation of the entries of a block mapping.
fn indent_prefix(_new: &str, text: &str, doc: &FileDoc, tree: &Tree, map: NodeId) -> String {
    let first = tree.entries(map).first().map(|e| doc.base() + tree.node(e.key).range.start).unwrap_or(0);
    let ls = text[..first].rfind('\n').map(|i| i + 1).unwrap_or(0);
    format!("\n{}", " ".repeat(first - ls))
}

/// An edit inserting `names` (with placeholders) at the end of a block
/// mapping, at its indentation. None for flow mappings.
pub fn insert_fields(text: &str, doc: &FileDoc, map: NodeId, schema: &Schema, names: &[&str]) -> Option<Edit> {
    let tree = &doc.parsed.tree;
    let NodeKind::Map { entries, flow: false } = &tree.node(map).kind else { return None };
    let last = entries.last()?;
    let first = entries.first()?;
    let key_start = doc.base() + tree.node(first.key).range.start;
    let line_start = text[..key_start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let indent = key_start - line_start;
    if !text[line_start..key_start].chars().all(|c| c == ' ') {
        // `- key: v` items: the indentation is the key's column
        if !text[line_start..key_start].trim_start().starts_with('-') {
            return None;
        }
    }
    let end = doc.base() + last.range.end;
    let eol = text[end..].find('\n').map(|i| end + i).unwrap_or(text.len());
    let mut s = String::new();
    for n in names {
        let sub = schema.property(n).cloned().unwrap_or_default();
        s.push('\n');
        s.push_str(&" ".repeat(indent));
        s.push_str(n);
        s.push(':');
        s.push_str(&placeholder(&sub, indent, 0));
    }
    Some(Edit { path: None, range: TextRange::empty(eol), new_text: s })
}

/// True for the codes this module produces.
pub fn is_schema_code(code: &str) -> bool {
    [
        UNKNOWN_FIELD,
        WRONG_TYPE,
        MISSING_REQUIRED,
        INVALID_ENUM,
        INVALID_DURATION,
        INVALID_SEMVER_RANGE,
        INVALID_REGEX,
        INVALID_URL_SCHEME,
        PATTERN_MISMATCH,
        OUT_OF_RANGE,
        INVALID_NAME,
        CEL_RULE,
        UNKNOWN_KIND,
        UNKNOWN_API_VERSION,
        REMOVED_API_VERSION,
    ]
    .contains(&code)
}

#[cfg(test)]
mod tests {
    use crate::ide::fixture::Fixture;

    fn diags(src: &str) -> Vec<(&'static str, String)> {
        Fixture::parse(src).diagnostics()
    }

    fn has(src: &str, code: &str, text: &str) {
        let d = diags(src);
        assert!(d.iter().any(|(c, t)| *c == code && t == text), "want {code} on `{text}`, got {d:?}");
    }

    fn clean(src: &str) {
        let d = diags(src);
        let schema: Vec<_> = d.iter().filter(|(c, _)| super::super::validate::is_schema_code(c)).collect();
        assert!(schema.is_empty(), "{schema:?}");
    }

    /// Applies the preferred fix of the first diagnostic with `code`.
    fn fixed(src: &str, code: &str) -> String {
        let f = Fixture::parse(src);
        let a = f.ws.analysis();
        let ds = crate::ide::diagnostics::file_diagnostics(&a, f.file());
        let d = ds.iter().find(|d| d.code == code).unwrap_or_else(|| panic!("no {code} in {ds:?}"));
        let fix = d.fixes.iter().find(|x| x.preferred).expect("a preferred fix");
        crate::ide::migrate::apply_edits(&f.file().text, &fix.edits)
    }

    const GIT: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  url: https://github.com/x/y\n";

    #[test]
    fn valid_objects_are_clean() {
        clean(GIT);
        clean(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  interval: 10m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps\n",
        );
    }

    #[test]
    fn unknown_field_with_suggestion_and_fix() {
        let src = GIT.replace("  interval:", "  intervall:");
        has(&src, "unknown-field", "intervall");
        let out = fixed(&src, "unknown-field");
        assert!(out.contains("  interval: 5m"), "{out}");
        // without a close match the fix removes the entry, nested lines included
        let src = GIT.replace("  interval: 5m\n", "  interval: 5m\n  colour:\n    a: b\n");
        has(&src, "unknown-field", "colour");
        assert_eq!(fixed(&src, "unknown-field"), GIT);
    }

    #[test]
    fn wrong_type_is_reported_on_the_value_with_a_quote_fix() {
        let src = GIT.replace("interval: 5m", "interval: 5m\n  suspend: \"yes\"\n  timeout: 60");
        has(&src, "wrong-type", "\"yes\"");
        let quoted = GIT.replace("interval: 5m", "interval: 5m\n  suspend: \"true\"");
        assert!(fixed(&quoted, "wrong-type").contains("  suspend: true\n"));
        has(&src, "wrong-type", "60");
        let src2 = GIT.replace("interval: 5m", "interval: 5m\n  timeout: 60");
        assert!(fixed(&src2, "wrong-type").contains("timeout: \"60\""));
        has(&GIT.replace("url: https://github.com/x/y", "url:\n    a: b"), "wrong-type", "url");
    }

    #[test]
    fn missing_required_with_insert_fix() {
        let src = GIT.replace("  interval: 5m\n", "");
        has(&src, "missing-required", "spec");
        let out = fixed(&src, "missing-required");
        assert!(out.contains("  url: https://github.com/x/y\n  interval: 10m"), "{out}");
        let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  interval: 10m\n";
        let hc = format!(
            "{ks}  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: x\n  healthChecks:\n    - name: web\n"
        );
        has(&hc, "missing-required", "name: web");
        assert!(fixed(&hc, "missing-required").ends_with("    - name: web\n      kind: \"\"\n"));
        let out = fixed(ks, "missing-required");
        assert!(out.contains("  prune: true\n  sourceRef:\n    kind: OCIRepository\n    name: \"\""), "{out}");
    }

    #[test]
    fn enum_duration_semver_regex_url_name() {
        has(&GIT.replace("interval: 5m", "interval: 5m\n  provider: azzure"), "invalid-enum", "azzure");
        assert!(
            fixed(&GIT.replace("interval: 5m", "interval: 5m\n  provider: azzure"), "invalid-enum")
                .contains("provider: azure")
        );
        has(&GIT.replace("interval: 5m", "interval: 5 minutes"), "invalid-duration", "5 minutes");
        has(&GIT.replace("interval: 5m", "interval: 1d"), "invalid-duration", "1d");
        has(
            &GIT.replace("url: https://github.com/x/y", "url: git@github.com:x/y"),
            "invalid-url-scheme",
            "git@github.com:x/y",
        );
        assert!(
            fixed(&GIT.replace("url: https://github.com/x/y", "url: git@github.com:x/y"), "invalid-url-scheme")
                .contains("url: ssh://git@github.com/x/y")
        );
        has(&GIT.replace("name: app", "name: My_App"), "invalid-name", "My_App");
        has(
            &GIT.replace("interval: 5m", "interval: 5m\n  ref:\n    semver: \">= 1.0 <\""),
            "invalid-semver-range",
            "\">= 1.0 <\"",
        );
        let oci = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: x\nspec:\n  interval: 5m\n  url: https://ghcr.io/x\n";
        has(oci, "invalid-url-scheme", "https://ghcr.io/x");
        let helm = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: x\nspec:\n  url: oci://ghcr.io/x\n";
        has(helm, "invalid-url-scheme", "oci://ghcr.io/x");
        assert!(fixed(helm, "invalid-url-scheme").ends_with("  url: oci://ghcr.io/x\n  type: oci\n"));
        clean(&helm.replace("url: oci", "type: oci\n  url: oci"));
        has(&helm.replace("url: oci", "type: oci\n  url: https"), "invalid-url-scheme", "https://ghcr.io/x");
        let pol = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: p\nspec:\n  imageRepositoryRef:\n    name: r\n  filterTags:\n    pattern: '^main-(?P<ts>[0-9+'\n  policy:\n    semver:\n      range: '>=1.0.0'\n";
        has(pol, "invalid-regex", "'^main-(?P<ts>[0-9+'");
    }

    #[test]
    fn cel_rules_and_out_of_range() {
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: x\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  maxHistory: -1\n";
        has(hr, "cel-rule", "spec");
        let long = "x".repeat(60);
        let one = hr.replace("  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  maxHistory: -1\n", "");
        clean(&one);
        has(
            &one.replace("  interval: 5m\n", &format!("  interval: 5m\n  releaseName: {long}\n")),
            "out-of-range",
            &long,
        );
        let vk = one.replace(
            "  interval: 5m\n",
            "  interval: 5m\n  valuesFrom:\n    - kind: ConfigMap\n      name: v\n      valuesKey: 'bad key!'\n",
        );
        has(&vk, "pattern-mismatch", "'bad key!'");
        let rc = "apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata:\n  name: r\nspec:\n  type: github\n  resources:\n    - kind: GitRepository\n      name: x\n";
        has(rc, "cel-rule", "spec");
        clean(&rc.replace("type: github", "type: github\n  secretRef:\n    name: token"));
    }

    #[test]
    fn metadata_fields_are_checked() {
        let src = GIT.replace("  name: app\n", "  name: app\n  namepsace: apps\n  labels:\n    team: 1\n");
        has(&src, "unknown-field", "namepsace");
        assert!(fixed(&src, "unknown-field").contains("  namespace: apps"));
        has(&src, "wrong-type", "1");
        clean(&GIT.replace(
            "  name: app\n",
            "  name: app\n  labels:\n    team: \"1\"\n  annotations:\n    a: b\n  finalizers: [x]\n",
        ));
    }

    #[test]
    fn versions_and_kinds() {
        has(&GIT.replace("kind: GitRepository", "kind: GitRepo"), "unknown-kind", "GitRepo");
        has(&GIT.replace("/v1\n", "/v3\n"), "unknown-api-version", "source.toolkit.fluxcd.io/v3");
        let d = diags(&GIT.replace("/v1\n", "/v1beta2\n"));
        assert!(d.contains(&("removed-api-version", "source.toolkit.fluxcd.io/v1beta2".into())), "{d:?}");
        // Alert/Provider v1beta3 is current
        clean(
            "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: slack\nspec:\n  type: slack\n  channel: general\n",
        );
    }

    #[test]
    fn no_false_alarms() {
        // post-build variables, ResourceSet inputs, aliases and merge keys
        clean(
            &GIT.replace(
                "interval: 5m",
                "interval: ${SYNC_INTERVAL:=5m}\n  suspend: ${SUSPEND}\n  timeout: $${ESCAPED}",
            ),
        );
        clean(
            "base: &b\n  interval: 5m\n  url: https://x/y\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  <<: *b\n",
        );
        clean(&GIT.replace("interval: 5m", "interval: &i 5m\n  timeout: *i"));
        // ResourceSet resources are validated, templated values are not flagged
        let rs = "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\nspec:\n  inputs:\n    - tenant: a\n  resources:\n    - apiVersion: source.toolkit.fluxcd.io/v1\n      kind: GitRepository\n      metadata:\n        name: << inputs.tenant >>\n      spec:\n        interval: << inputs.interval >>\n        url: https://github.com/x/y\n        intervall: 5m\n";
        let d = diags(rs);
        assert_eq!(
            d.iter().filter(|(c, _)| super::is_schema_code(c)).collect::<Vec<_>>(),
            vec![&("unknown-field", "intervall".to_string())]
        );
        // a kustomize patch file misses required fields on purpose
        let patch = "# file: apps/kustomization.yaml\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - base.yaml\npatches:\n  - path: patch.yaml\n# file: apps/patch.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  chart:\n    spec:\n      version: \">=1.0.0\"\n$0";
        let f = Fixture::parse(patch);
        assert!(f.diagnostics().iter().all(|(c, _)| !super::is_schema_code(c)), "{:?}", f.diagnostics());
        // also when the kustomization.yaml lives elsewhere
        let far = "# file: clusters/prod/kustomization.yaml\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../apps\npatches:\n  - path: ../../patches/hr.yaml\n    target:\n      kind: HelmRelease\n# file: patches/hr.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  values:\n    replicas: 2\n$0";
        let f = Fixture::parse(far);
        assert!(f.diagnostics().iter().all(|(c, _)| !super::is_schema_code(c)), "{:?}", f.diagnostics());
        // the patch list is followed as it changes
        let mut f = Fixture::parse(far);
        let k = std::path::PathBuf::from("/fixture/clusters/prod/kustomization.yaml");
        f.ws.set_file(k.clone(), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n".into(), None);
        assert!(f.diagnostics().iter().any(|(c, _)| *c == "missing-required"), "{:?}", f.diagnostics());
        f.ws.set_file(
            k,
            far.split("# file: patches").next().unwrap().replace("# file: clusters/prod/kustomization.yaml\n", ""),
            None,
        );
        assert!(f.diagnostics().iter().all(|(c, _)| !super::is_schema_code(c)), "{:?}", f.diagnostics());
        // partial documents skip missing-required
        clean(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\nspec:\n  url: [https://x\n",
        );
    }
}
