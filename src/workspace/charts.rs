//! Helm charts that live in the workspace (issue #9): which chart a
//! HelmRelease installs, and what that chart accepts in `values`.
//!
//! A HelmRelease whose `spec.chart.spec.sourceRef` is a GitRepository (or a
//! Bucket) names its chart by path from the source's root. When a directory
//! with a `Chart.yaml` sits at that path below the workspace root (or below
//! a directory above the HelmRelease's file, closest to the root first), its
//! `values.schema.json`, else its `values.yaml`, gives the values schema.
//! Everything is read from the workspace's files, so the result is a
//! function of the workspace like every other analysis; results are cached
//! per chart directory until a chart file changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Analysis, FileData, normalize_path};
use crate::charts::{ChartSource, Lookup, OciRef};
use crate::schema::Schema;
use crate::schema::chart::{self, ValuesSource};
use crate::schema::model::Type;
use crate::syntax::{NodeId, ParsedDoc, Tree};

/// A chart found in the workspace.
#[derive(Debug)]
pub struct ChartValues {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    pub source: ValuesSource,
    pub schema: Schema,
    /// For a chart from a Helm repository or an OCI registry: where it was
    /// fetched from (`dir` is then its place in the chart cache).
    pub fetched: Option<crate::charts::cache::Meta>,
    /// The chart's `values.schema.json` as JSON, for full JSON Schema
    /// validation, and its `values.yaml` as JSON (Helm validates the merged
    /// values).
    pub schema_json: Option<Arc<serde_json::Value>>,
    pub defaults: Option<Arc<serde_json::Value>>,
    validator: std::sync::OnceLock<Option<Arc<jsonschema::Validator>>>,
}

impl ChartValues {
    /// The compiled `values.schema.json` (None without one, or when it does
    /// not compile, e.g. a `$ref` to another file or a URL: those are never
    /// fetched).
    pub fn validator(&self) -> Option<Arc<jsonschema::Validator>> {
        self.validator
            .get_or_init(|| {
                let schema = self.schema_json.as_deref()?;
                match jsonschema::validator_for(schema) {
                    Ok(v) => Some(Arc::new(v)),
                    Err(e) => {
                        tracing::info!(chart = %self.name, error = %e, "values.schema.json not usable for validation");
                        None
                    }
                }
            })
            .clone()
    }
}

/// Workspace charts by directory, filled lazily.
pub type ChartCache = std::sync::Mutex<std::collections::HashMap<PathBuf, Option<Arc<ChartValues>>>>;

/// File names whose change invalidates the chart cache.
pub fn is_chart_file(path: &Path) -> bool {
    matches!(path.file_name().and_then(|n| n.to_str()), Some("Chart.yaml" | "values.yaml" | "values.schema.json"))
}

/// `values.schema.json`: indexed (as data), checked as JSON only.
pub fn is_values_schema(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "values.schema.json")
}

/// The chart a HelmRelease document installs, if it is known: a chart of
/// the workspace, or a remote chart already in the chart cache. A document
/// without a chart (a kustomize patch that only sets values) gets the chart
/// of the HelmRelease of the same name (and namespace, when both say) that
/// has one.
pub fn local_chart(a: &Analysis, file: &FileData, tree: &Tree, root: NodeId) -> Option<Arc<ChartValues>> {
    ready(resolve(a, file, tree, root).as_ref())
}

/// The chart's values, when they are known (in the workspace or cached).
pub fn ready(r: Option<&Resolved>) -> Option<Arc<ChartValues>> {
    match r? {
        Resolved::Local(cv) | Resolved::Remote(_, Lookup::Ready(cv)) => Some(cv.clone()),
        Resolved::Remote(..) => None,
    }
}

/// What is known of the chart a HelmRelease installs.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// A chart directory of the workspace.
    Local(Arc<ChartValues>),
    /// A chart from a Helm repository or an OCI registry, and what the
    /// chart cache has of it (a missing chart is queued for fetching).
    Remote(ChartSource, Lookup),
}

/// The chart of a HelmRelease document (or of its base release, for a
/// values-only patch).
pub fn resolve(a: &Analysis, file: &FileData, tree: &Tree, root: NodeId) -> Option<Resolved> {
    if tree.get(root, "kind").and_then(|k| tree.scalar(k)) != Some("HelmRelease") {
        return None;
    }
    let (f, t, r) = release_of(a, file, tree, root)?;
    match named(a, f, t, r)? {
        Named::Local(chart) => find_chart(a, f, &chart).map(Resolved::Local),
        Named::Remote(src) => {
            let lookup = a.ws.remote_charts.lookup(&src)?;
            Some(Resolved::Remote(src, lookup))
        }
    }
}

/// What [`resolve`] gave for a document, with what it depended on beyond
/// the document's text: the other releases and chart sources of the
/// workspace with their namespaces (`RefModel::chart_env`, unchanged when
/// a keystroke touches neither), the file it is in, the workspace charts
/// and the remote charts' state. Kept at most [`RESOLVE_TTL`] so that a
/// due retry or refresh is noticed.
struct ResolveMemo {
    env: ResolveEnv,
    file: std::path::PathBuf,
    /// Shared: a remote source holds three strings, which every keystroke
    /// cloned for every release of the file before
    result: Option<Arc<Resolved>>,
}

const RESOLVE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// What every chart resolution of a file depends on besides the file's
/// documents: the model's chart environment, the workspace charts, the
/// remote charts and their generation, and the time (a resolution is kept
/// at most [`RESOLVE_TTL`], so that a due retry or refresh is noticed).
#[derive(Clone, Debug)]
pub struct ResolveEnv {
    chart_env: u64,
    charts: std::sync::Weak<ChartCache>,
    remote: std::sync::Weak<crate::charts::Remote>,
    generation: u64,
    at: std::time::Instant,
}

impl ResolveEnv {
    /// The environment now.
    pub fn new(a: &Analysis) -> ResolveEnv {
        ResolveEnv {
            chart_env: a.ref_model().chart_env,
            charts: Arc::downgrade(&a.ws.charts),
            remote: Arc::downgrade(&a.ws.remote_charts),
            generation: a.ws.remote_charts.generation(),
            at: std::time::Instant::now(),
        }
    }

    /// True when resolutions made in this environment still hold in `now`.
    /// (The weak pointers keep their allocations: a new cache cannot take
    /// the address of one this environment names.)
    pub fn holds(&self, now: &ResolveEnv) -> bool {
        self.chart_env == now.chart_env
            && self.charts.ptr_eq(&now.charts)
            && self.remote.ptr_eq(&now.remote)
            && self.generation == now.generation
            && now.at.saturating_duration_since(self.at) < RESOLVE_TTL
    }

    /// This environment, as old as a result made at `at` if that is
    /// earlier (a result built from older ones expires with the oldest).
    pub fn as_old_as(self, at: Option<std::time::Instant>) -> ResolveEnv {
        match at {
            Some(at) if at < self.at => ResolveEnv { at, ..self },
            _ => self,
        }
    }

    /// When this environment was read.
    pub fn at(&self) -> std::time::Instant {
        self.at
    }
}

/// [`resolve`] for documents, memoised on their parse: a keystroke elsewhere
/// in a file of many releases resolves none of the others again. What the
/// memo is checked against is read once.
pub struct DocResolver {
    env: ResolveEnv,
    /// When the oldest resolution it gave was made.
    oldest: std::cell::Cell<Option<std::time::Instant>>,
}

impl DocResolver {
    pub fn new(a: &Analysis) -> DocResolver {
        DocResolver { env: ResolveEnv::new(a), oldest: Default::default() }
    }

    /// When the oldest resolution it gave was made (None: it gave none).
    pub fn oldest(&self) -> Option<std::time::Instant> {
        self.oldest.get()
    }

    fn gave(&self, at: std::time::Instant) {
        if self.oldest.get().is_none_or(|o| at < o) {
            self.oldest.set(Some(at));
        }
    }

    pub fn resolve(&self, a: &Analysis, file: &FileData, doc: &crate::syntax::FileDoc) -> Option<Arc<Resolved>> {
        if let Some(m) = doc.parsed.memo::<ResolveMemo>()
            && m.file == file.path
            && m.env.holds(&self.env)
        {
            self.gave(m.env.at);
            return m.result.clone();
        }
        self.gave(self.env.at);
        let tree = &doc.parsed.tree;
        let result = resolve(a, file, tree, tree.root?).map(Arc::new);
        doc.parsed.set_memo(Arc::new(ResolveMemo {
            env: self.env.clone(),
            file: file.path.clone(),
            result: result.clone(),
        }));
        result
    }
}

/// The node naming the chart: `spec.chart.spec.chart`, or the name of
/// `spec.chartRef`.
pub fn chart_node(tree: &Tree, root: NodeId) -> Option<NodeId> {
    let spec = tree.get(root, "spec")?;
    if let Some(c) = tree.get(spec, "chart").and_then(|c| tree.get(c, "spec")).and_then(|c| tree.get(c, "chart")) {
        return Some(c);
    }
    tree.get(tree.get(spec, "chartRef")?, "name")
}

fn has_chart(tree: &Tree, root: NodeId) -> bool {
    tree.get(root, "spec").is_some_and(|s| tree.get(s, "chart").is_some() || tree.get(s, "chartRef").is_some())
}

/// The HelmRelease that says which chart `root` uses: itself, or the
/// release of the same name (and namespace) for a values-only patch.
fn release_of<'x>(
    a: &Analysis<'x>,
    file: &'x FileData,
    tree: &'x Tree,
    root: NodeId,
) -> Option<(&'x FileData, &'x Tree, NodeId)> {
    if has_chart(tree, root) {
        return Some((file, tree, root));
    }
    let meta = tree.get(root, "metadata")?;
    let name = tree.scalar(tree.get(meta, "name")?)?;
    let ns = tree.get(meta, "namespace").and_then(|n| tree.scalar(n));
    let model = a.ref_model();
    model.objects_named("HelmRelease", name).find_map(|(path, object)| {
        let f: &'x FileData = a.file(path)?;
        let obj = f.summary.objects.get(object)?;
        if let (Some(a), Some(b)) = (ns, obj.namespace.as_ref())
            && a != b.value
        {
            return None;
        }
        let doc = f.syntax.docs.get(obj.doc)?;
        let t = &doc.parsed.tree;
        let r = t.root?;
        has_chart(t, r).then_some((f, t, r))
    })
}

enum Named {
    /// A path into a Git or Bucket source.
    Local(String),
    Remote(ChartSource),
}

/// The namespace of the object whose document has `tree`: its own, else
/// the one inferred for its file (no search for the document).
fn namespace_of(a: &Analysis, file: &FileData, tree: &Tree, root: NodeId) -> Option<String> {
    tree.get(tree.get(root, "metadata")?, "namespace")
        .and_then(|n| tree.scalar(n))
        .map(String::from)
        .or_else(|| a.ref_model().file_namespace(&file.path).map(String::from))
}

/// A Flux object of the workspace by kind, name and namespace.
fn find_object<'x>(a: &Analysis<'x>, kind: &str, name: &str, ns: Option<&str>) -> Option<(&'x Tree, NodeId)> {
    let model = a.ref_model();
    model.objects_named(kind, name).find_map(|(path, object)| {
        let f: &'x FileData = a.file(path)?;
        if let (Some(want), Some(has)) = (ns, model.object_ns(f, object))
            && want != has
        {
            return None;
        }
        let doc = f.syntax.docs.get(f.summary.objects.get(object)?.doc)?;
        let t = &doc.parsed.tree;
        Some((t, t.root?))
    })
}

/// A plain (variable-free) scalar at `path` below `node`.
fn field<'t>(tree: &'t Tree, node: NodeId, path: &[&str]) -> Option<&'t str> {
    let mut n = node;
    for k in path {
        n = tree.get(n, k)?;
    }
    tree.scalar(n).filter(|v| !v.is_empty() && !v.contains("${"))
}

fn named(a: &Analysis, file: &FileData, tree: &Tree, root: NodeId) -> Option<Named> {
    let spec = tree.get(root, "spec")?;
    let own_ns = namespace_of(a, file, tree, root);
    if let Some(cspec) = tree.get(spec, "chart").and_then(|c| tree.get(c, "spec")) {
        let chart = field(tree, cspec, &["chart"])?;
        let kind = field(tree, cspec, &["sourceRef", "kind"])?;
        if matches!(kind, "GitRepository" | "Bucket") {
            return Some(Named::Local(chart.to_string()));
        }
        if kind != "HelmRepository" {
            return None;
        }
        let name = field(tree, cspec, &["sourceRef", "name"])?;
        let ns = field(tree, cspec, &["sourceRef", "namespace"]).map(String::from).or(own_ns);
        let version = tree.get(cspec, "version").and_then(|v| tree.scalar(v)).unwrap_or("*");
        return helm_repository(a, name, ns.as_deref(), chart, version).map(Named::Remote);
    }
    let cref = tree.get(spec, "chartRef")?;
    let kind = field(tree, cref, &["kind"])?;
    let name = field(tree, cref, &["name"])?;
    let ns = field(tree, cref, &["namespace"]).map(String::from).or(own_ns);
    let (t, r) = find_object(a, kind, name, ns.as_deref())?;
    let ospec = t.get(r, "spec")?;
    match kind {
        "OCIRepository" => {
            let url = field(t, ospec, &["url"])?.trim_end_matches('/').to_string();
            let reference = if let Some(d) = field(t, ospec, &["ref", "digest"]) {
                OciRef::Digest(d.to_string())
            } else if let Some(v) = field(t, ospec, &["ref", "semver"]) {
                OciRef::Semver(v.to_string())
            } else {
                OciRef::Tag(field(t, ospec, &["ref", "tag"]).unwrap_or("latest").to_string())
            };
            let insecure = field(t, ospec, &["insecure"]) == Some("true");
            url.starts_with("oci://").then_some(Named::Remote(ChartSource::Oci { url, reference, insecure }))
        }
        "HelmChart" => {
            let chart = field(t, ospec, &["chart"])?;
            if field(t, ospec, &["sourceRef", "kind"]) != Some("HelmRepository") {
                return None;
            }
            let repo = field(t, ospec, &["sourceRef", "name"])?;
            let version = t.get(ospec, "version").and_then(|v| t.scalar(v)).unwrap_or("*");
            // a HelmChart's source is in its own namespace
            let hc_ns = ns.clone();
            helm_repository(a, repo, hc_ns.as_deref(), chart, version).map(Named::Remote)
        }
        _ => None,
    }
}

/// The source of chart `chart` of HelmRepository `name`: its index, or
/// `<url>/<chart>` for an OCI repository.
fn helm_repository(a: &Analysis, name: &str, ns: Option<&str>, chart: &str, version: &str) -> Option<ChartSource> {
    let (t, r) = find_object(a, "HelmRepository", name, ns)?;
    let spec = t.get(r, "spec")?;
    let url = field(t, spec, &["url"])?.trim_end_matches('/');
    let version = if version.trim().is_empty() { "*" } else { version.trim() };
    if version.contains("${") {
        return None;
    }
    if field(t, spec, &["type"]) == Some("oci") || url.starts_with("oci://") {
        let insecure = field(t, spec, &["insecure"]) == Some("true");
        let url = format!("{url}/{chart}");
        // an exact tag that is not a constraint (`latest`) is a tag
        let reference = if crate::charts::constraint::Constraint::parse(version).is_ok() {
            OciRef::Semver(version.to_string())
        } else {
            OciRef::Tag(version.to_string())
        };
        return url.starts_with("oci://").then_some(ChartSource::Oci { url, reference, insecure });
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    Some(ChartSource::Http { repo: url.to_string(), chart: chart.to_string(), version: version.to_string() })
}

/// The chart directory `chart` names, seen from `file`.
fn find_chart(a: &Analysis, file: &FileData, chart: &str) -> Option<Arc<ChartValues>> {
    let rel = chart.trim_start_matches("./");
    // candidate source roots: the workspace roots, then the directories
    // above the file from the outermost in
    let mut bases: Vec<PathBuf> = a.ws.roots.iter().filter(|r| file.path.starts_with(r)).cloned().collect();
    let ancestors: Vec<&Path> = file.path.ancestors().skip(1).collect();
    bases.extend(ancestors.into_iter().rev().map(Path::to_path_buf));
    bases.into_iter().find_map(|b| load(a, &normalize_path(&b.join(rel)), 0))
}

/// The chart in `dir` (cached), with its subcharts' values under their keys.
fn load(a: &Analysis, dir: &Path, depth: usize) -> Option<Arc<ChartValues>> {
    a.file(&dir.join("Chart.yaml"))?;
    if let Some(hit) = a.ws.charts.lock().unwrap_or_else(|e| e.into_inner()).get(dir) {
        return hit.clone();
    }
    let built = build(&WorkspaceFiles(a), dir, depth).map(Arc::new);
    a.ws.charts.lock().unwrap_or_else(|e| e.into_inner()).insert(dir.to_path_buf(), built.clone());
    built
}

/// Where a chart's files are read from: the workspace, or a directory of
/// the chart cache.
trait ChartFiles {
    /// The first YAML document of a file, parsed.
    fn yaml(&self, path: &Path) -> Option<Arc<ParsedDoc>>;
    fn text(&self, path: &Path) -> Option<crate::text::Text>;
    /// A subchart (its own values under its key).
    fn sub(&self, dir: &Path, depth: usize) -> Option<Arc<ChartValues>>;
}

struct WorkspaceFiles<'a, 'b>(&'b Analysis<'a>);

impl ChartFiles for WorkspaceFiles<'_, '_> {
    fn yaml(&self, path: &Path) -> Option<Arc<ParsedDoc>> {
        self.0.file(path)?.syntax.docs.first().map(|d| d.parsed.clone())
    }
    fn text(&self, path: &Path) -> Option<crate::text::Text> {
        self.0.file(path).map(|f| f.text.clone())
    }
    fn sub(&self, dir: &Path, depth: usize) -> Option<Arc<ChartValues>> {
        load(self.0, dir, depth)
    }
}

/// A chart's files on disk (the chart cache).
struct DiskFiles;

impl ChartFiles for DiskFiles {
    fn yaml(&self, path: &Path) -> Option<Arc<ParsedDoc>> {
        let text = std::fs::read_to_string(path).ok()?;
        Some(Arc::new(crate::syntax::parse_document(&text)))
    }
    fn text(&self, path: &Path) -> Option<crate::text::Text> {
        std::fs::read_to_string(path).ok().map(Into::into)
    }
    fn sub(&self, dir: &Path, depth: usize) -> Option<Arc<ChartValues>> {
        build(self, dir, depth).map(Arc::new)
    }
}

/// A chart from a directory of the chart cache (issue #9: remote charts).
pub fn from_dir(dir: &Path, fetched: Option<crate::charts::cache::Meta>) -> Option<ChartValues> {
    let mut cv = build(&DiskFiles, dir, 0)?;
    cv.fetched = fetched;
    Some(cv)
}

fn build(files: &dyn ChartFiles, dir: &Path, depth: usize) -> Option<ChartValues> {
    let mdoc = files.yaml(&dir.join("Chart.yaml"))?;
    let mtree = &mdoc.tree;
    let mroot = mtree.root?;
    let field = |k: &str| mtree.get(mroot, k).and_then(|v| mtree.scalar(v)).unwrap_or("").to_string();
    let (name, version) = (field("name"), field("version"));
    let schema_text = files.text(&dir.join("values.schema.json"));
    let from_json = schema_text.as_deref().and_then(|t| chart::from_schema_json(t).ok());
    let schema_json = from_json.as_ref().and_then(|_| serde_json::from_str(schema_text.as_deref()?).ok()).map(Arc::new);
    let values_doc = files.yaml(&dir.join("values.yaml"));
    let defaults = values_doc
        .as_ref()
        .and_then(|d| Some(chart::node_json(&d.tree, d.tree.root?, &mut |_, _, _| {})))
        .filter(serde_json::Value::is_object)
        .map(Arc::new);
    let (source, mut schema) = match from_json {
        Some(s) => (ValuesSource::SchemaJson, s),
        None => {
            let inferred = values_doc
                .as_deref()
                .map(chart::infer)
                .unwrap_or_else(|| Schema { ty: Some(Type::Object), ..Default::default() });
            (ValuesSource::Inferred, inferred)
        }
    };
    // `global` is shared with every subchart; subcharts take their values
    // under their alias (or name)
    let open = || Schema { ty: Some(Type::Object), preserve_unknown_fields: true, ..Default::default() };
    if schema.property("global").is_none() {
        schema.properties.push(("global".into(), open()));
    }
    if let Some(deps) = mtree.get(mroot, "dependencies") {
        for d in mtree.items(deps) {
            let dep = |k: &str| mtree.get(*d, k).and_then(|v| mtree.scalar(v));
            let Some(dname) = dep("name") else { continue };
            let key = dep("alias").unwrap_or(dname);
            if schema.property(key).is_some() {
                continue;
            }
            let sub = (depth < 3)
                .then(|| files.sub(&dir.join("charts").join(dname), depth + 1))
                .flatten()
                .map(|c| {
                    let mut s = c.schema.clone();
                    s.description = Some(format!("Values of the subchart `{}` {}", c.name, c.version));
                    s
                })
                .unwrap_or_else(open);
            schema.properties.push((key.to_string(), sub));
        }
    }
    if schema.ty.is_none() {
        schema.ty = Some(Type::Object);
    }
    Some(ChartValues {
        dir: dir.to_path_buf(),
        name,
        version,
        source,
        schema,
        fetched: None,
        schema_json,
        defaults,
        validator: Default::default(),
    })
}
