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
use crate::schema::Schema;
use crate::schema::chart::{self, ValuesSource};
use crate::schema::model::Type;
use crate::syntax::{NodeId, Tree};

/// A chart found in the workspace.
#[derive(Debug)]
pub struct ChartValues {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    pub source: ValuesSource,
    pub schema: Schema,
}

/// File names whose change invalidates the chart cache.
pub fn is_chart_file(path: &Path) -> bool {
    matches!(path.file_name().and_then(|n| n.to_str()), Some("Chart.yaml" | "values.yaml" | "values.schema.json"))
}

/// `values.schema.json`: indexed (as data), checked as JSON only.
pub fn is_values_schema(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "values.schema.json")
}

/// The chart path and source kind a HelmRelease document names, if it is a
/// path into a Git or Bucket source.
pub fn chart_path(tree: &Tree, root: NodeId) -> Option<(String, NodeId)> {
    if tree.get(root, "kind").and_then(|k| tree.scalar(k)) != Some("HelmRelease") {
        return None;
    }
    let spec = tree.get(root, "spec")?;
    let cspec = tree.get(tree.get(spec, "chart")?, "spec")?;
    let chart_node = tree.get(cspec, "chart")?;
    let chart = tree.scalar(chart_node)?;
    let kind = tree.get(cspec, "sourceRef").and_then(|s| tree.get(s, "kind")).and_then(|k| tree.scalar(k))?;
    if !matches!(kind, "GitRepository" | "Bucket") || chart.is_empty() || chart.contains("${") {
        return None;
    }
    Some((chart.to_string(), chart_node))
}

/// The workspace chart a HelmRelease document installs, if any. A document
/// without a chart (a kustomize patch that only sets values) gets the chart
/// of the HelmRelease of the same name (and namespace, when both say) that
/// has one.
pub fn local_chart(a: &Analysis, file: &FileData, tree: &Tree, root: NodeId) -> Option<Arc<ChartValues>> {
    if let Some((chart, _)) = chart_path(tree, root) {
        return find_chart(a, file, &chart);
    }
    if tree.get(root, "kind").and_then(|k| tree.scalar(k)) != Some("HelmRelease") {
        return None;
    }
    let meta = tree.get(root, "metadata")?;
    let name = tree.scalar(tree.get(meta, "name")?)?;
    let ns = tree.get(meta, "namespace").and_then(|n| tree.scalar(n));
    let index = a.index();
    index.lookup("HelmRelease", name).iter().find_map(|loc| {
        let f = a.file(&loc.path)?;
        let obj = f.summary.objects.get(loc.object)?;
        if let (Some(a), Some(b)) = (ns, obj.namespace.as_ref())
            && a != b.value
        {
            return None;
        }
        let doc = f.syntax.docs.get(obj.doc)?;
        let t = &doc.parsed.tree;
        let (chart, _) = chart_path(t, t.root?)?;
        find_chart(a, f, &chart)
    })
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
    let built = build(a, dir, depth).map(Arc::new);
    a.ws.charts.lock().unwrap_or_else(|e| e.into_inner()).insert(dir.to_path_buf(), built.clone());
    built
}

fn build(a: &Analysis, dir: &Path, depth: usize) -> Option<ChartValues> {
    let meta = a.file(&dir.join("Chart.yaml"))?;
    let mdoc = meta.syntax.docs.first()?;
    let mtree = &mdoc.parsed.tree;
    let mroot = mtree.root?;
    let field = |k: &str| mtree.get(mroot, k).and_then(|v| mtree.scalar(v)).unwrap_or("").to_string();
    let (name, version) = (field("name"), field("version"));
    let from_json = a.file(&dir.join("values.schema.json")).and_then(|f| chart::from_schema_json(&f.text).ok());
    let (source, mut schema) = match from_json {
        Some(s) => (ValuesSource::SchemaJson, s),
        None => {
            let inferred = a
                .file(&dir.join("values.yaml"))
                .and_then(|f| f.syntax.docs.first().map(|d| chart::infer(&d.parsed)))
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
                .then(|| load(a, &dir.join("charts").join(dname), depth + 1))
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
    Some(ChartValues { dir: dir.to_path_buf(), name, version, source, schema })
}
