//! HelmRelease `spec.values` from the chart's own values schema (issue #9),
//! for charts that live in the workspace: diagnostics, completion and hover,
//! and a hover on `chart:` saying which chart was found and where.
//!
//! With a `values.schema.json`, wrong types and values outside an enum are
//! errors; with a schema inferred from `values.yaml`, only unknown keys are
//! reported. Unknown keys are always warnings (charts often take more than
//! their defaults show), with the closest known key as a quick fix.

use super::completion::CompletionItem;
use super::hover::Hover;
use super::{Diagnostic, Edit, Fix, Severity};
use crate::schema::Schema;
use crate::schema::chart::{ValuesSource, schema_at, type_fits};
use crate::schema::values;
use crate::syntax::{NodeId, NodeKind, PathSeg, Tree};
use crate::text::TextRange;
use crate::workspace::charts::{ChartValues, chart_path, is_values_schema, local_chart};
use crate::workspace::{Analysis, FileData};

pub const UNKNOWN_VALUES_KEY: &str = "chart-values-unknown-key";
pub const VALUES_TYPE: &str = "chart-values-type";
pub const VALUES_ENUM: &str = "chart-values-enum";
pub const INVALID_JSON: &str = "invalid-json";

/// The path below `spec.values`, when `path` is there.
fn values_rel(path: &[PathSeg]) -> Option<&[PathSeg]> {
    match path {
        [PathSeg::Key(s), PathSeg::Key(v), rest @ ..] if s == "spec" && v == "values" => Some(rest),
        _ => None,
    }
}

/// The diagnostics producer (registered in `diagnostics::PRODUCERS`).
pub fn values_diagnostics(a: &Analysis, file: &FileData, out: &mut Vec<Diagnostic>) {
    for doc in &file.syntax.docs {
        let tree = &doc.parsed.tree;
        let Some(root) = tree.root else { continue };
        let Some(values) = tree.get(root, "spec").and_then(|s| tree.get(s, "values")) else { continue };
        let Some(cv) = local_chart(a, file, tree, root) else { continue };
        let mut c = Checker { tree, base: doc.base(), cv: &cv, out };
        c.node(values, &cv.schema, "values", 0);
    }
}

struct Checker<'a> {
    tree: &'a Tree,
    base: usize,
    cv: &'a ChartValues,
    out: &'a mut Vec<Diagnostic>,
}

impl Checker<'_> {
    fn abs(&self, r: TextRange) -> TextRange {
        r.shift(self.base)
    }

    fn node(&mut self, id: NodeId, s: &Schema, path: &str, depth: usize) {
        if depth > 64 {
            return;
        }
        let strict = self.cv.source == ValuesSource::SchemaJson;
        let tree = self.tree;
        match &tree.node(id).kind {
            NodeKind::Map { entries, .. } => {
                let closed = !s.properties.is_empty() && !s.preserve_unknown_fields;
                for e in entries {
                    let Some(key) = tree.scalar(e.key) else { continue };
                    match s.child(key) {
                        Some(sub) => {
                            if let Some(v) = e.value {
                                self.node(v, sub, &format!("{path}.{key}"), depth + 1);
                            }
                        }
                        None if closed && key != "<<" => self.unknown(e.key, key, s, path),
                        None => {}
                    }
                }
            }
            NodeKind::Seq { items, .. } => {
                if let Some(item) = s.items.as_deref() {
                    for (i, &it) in items.iter().enumerate() {
                        self.node(it, item, &format!("{path}[{i}]"), depth + 1);
                    }
                }
            }
            NodeKind::Scalar { value, .. } if strict && !value.contains("${") => self.scalar(id, value, s, path),
            _ => {}
        }
    }

    fn unknown(&mut self, key_node: NodeId, key: &str, s: &Schema, path: &str) {
        let range = self.abs(self.tree.node(key_node).range);
        let mut d = Diagnostic::new(
            UNKNOWN_VALUES_KEY,
            Severity::Warning,
            range,
            format!("`{key}` is not a value of chart `{}` at `{path}` ({})", self.cv.name, self.cv.source.label()),
        );
        if let Some(best) = values::closest(key, s.properties.iter().map(|(k, _)| k.as_str())) {
            d.message.push_str(&format!("; did you mean `{best}`?"));
            d = d.with_fix(Fix {
                title: format!("Change to `{best}`"),
                edits: vec![Edit { path: None, range, new_text: best.to_string() }],
                preferred: true,
            });
        }
        self.out.push(d);
    }

    fn scalar(&mut self, id: NodeId, value: &str, s: &Schema, path: &str) {
        let tree = self.tree;
        let range = self.abs(tree.node(id).range);
        let Some(t) = tree.scalar_type(id) else { return };
        if let Some(ty) = s.ty
            && t != crate::syntax::ScalarType::Null
            && !type_fits(ty, t)
        {
            self.out.push(Diagnostic::new(
                VALUES_TYPE,
                Severity::Error,
                range,
                format!("`{path}` of chart `{}` must be {}, not `{value}`", self.cv.name, ty.as_str()),
            ));
            return;
        }
        if !s.enum_values.is_empty() && !s.enum_values.iter().any(|e| shown(e) == value) {
            let allowed: Vec<String> = s.enum_values.iter().map(|e| format!("`{}`", shown(e))).collect();
            self.out.push(Diagnostic::new(
                VALUES_ENUM,
                Severity::Error,
                range,
                format!("`{path}` of chart `{}` must be one of {}", self.cv.name, allowed.join(", ")),
            ));
        }
    }
}

/// A JSON scalar as it is written in YAML (strings without quotes).
fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// `values.schema.json` files are indexed as data: the only check is that
/// they are JSON (a broken one means the chart's values are not checked).
pub fn json_file_diagnostics(file: &FileData) -> Option<Vec<Diagnostic>> {
    if !is_values_schema(&file.path) {
        return None;
    }
    let mut out = Vec::new();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&file.text) {
        // serde_json counts lines from 1 and columns in bytes from 1; keep
        // the offset on the line and on a character boundary
        let line = e.line().saturating_sub(1);
        let line_range = file.index.line_range(&file.text, line);
        let mut at = (line_range.start + e.column().saturating_sub(1)).min(line_range.end);
        while !file.text.is_char_boundary(at) {
            at -= 1;
        }
        out.push(Diagnostic::new(
            INVALID_JSON,
            Severity::Error,
            TextRange::new(at, at),
            format!("not valid JSON ({e}): the chart's values fall back to its `values.yaml`"),
        ));
    }
    Some(out)
}

/// The completion provider (registered in `completion::PROVIDERS`): keys and
/// values inside `spec.values` from the chart.
pub fn values_completion(a: &Analysis, file: &FileData, offset: usize) -> Option<Vec<CompletionItem>> {
    // cheap test first: a HelmRelease installing a workspace chart
    let (_, doc) = file.syntax.doc_at(offset)?;
    let t = &doc.parsed.tree;
    local_chart(a, file, t, t.root?)?;
    super::schema_completion::with_patched_doc(file, offset, |tree, root, node, ctx| {
        let cv = local_chart(a, file, tree, root)?;
        let reg = a.schemas();
        let (kdef, _) = super::schema_completion::object_schema(&reg, tree, root)?;
        if ctx.key {
            let map = tree.node(node).parent?;
            let path = tree.path_of(map);
            let rel = values_rel(&path)?;
            let s = schema_at(&cv.schema, rel)?;
            let present: Vec<&str> = tree
                .entries(map)
                .iter()
                .filter_map(|e| tree.scalar(e.key))
                .filter(|k| *k != super::schema_completion::PLACEHOLDER)
                .collect();
            let mut items = super::schema_completion::keys(kdef, s, "values", &present, ctx.range, ctx.flow);
            for it in &mut items {
                if it.documentation.is_none() {
                    it.documentation = Some(origin(&cv));
                }
            }
            return Some(items);
        }
        let path = tree.path_of(node);
        let rel = values_rel(&path)?;
        let s = schema_at(&cv.schema, rel)?;
        Some(super::schema_completion::value_items(kdef, s, "values", ctx.range))
    })
}

fn origin(cv: &ChartValues) -> String {
    format!("From chart `{}` {} ({}), in `{}`.", cv.name, cv.version, cv.source.label(), cv.dir.display())
}

/// The hover provider (registered in `hover::PROVIDERS`): keys and values
/// inside `spec.values`, and the chart named by `spec.chart.spec.chart`.
pub fn values_hover(a: &Analysis, file: &FileData, offset: usize) -> Option<Hover> {
    let (_, doc) = file.syntax.doc_at(offset)?;
    let base = doc.base();
    let tree = &doc.parsed.tree;
    let root = tree.root?;
    let chain = tree.chain_at(offset.checked_sub(base)?);
    let &node = chain.last()?;
    tree.scalar(node)?;
    let range = doc.abs(tree.node(node).range);
    if let Some((_, chart_node)) = chart_path(tree, root)
        && chart_node == node
    {
        let cv = local_chart(a, file, tree, root)?;
        let md = format!(
            "**Chart `{}` {}**, from the workspace: `{}`\n\nValues schema: {}.",
            cv.name,
            cv.version,
            cv.dir.display(),
            cv.source.label()
        );
        return Some(Hover { range, markdown: md });
    }
    let path = tree.path_of(node);
    let rel = values_rel(&path)?;
    let Some(PathSeg::Key(name)) = rel.last() else { return None };
    let cv = local_chart(a, file, tree, root)?;
    let s = schema_at(&cv.schema, rel)?;
    let mut md = format!("**`{name}`**: {}", s.type_label());
    if let Some(d) = &s.default {
        let shown = match d {
            serde_json::Value::String(x) => x.clone(),
            other => other.to_string(),
        };
        if shown.len() <= 200 {
            md.push_str(&format!("\n\nDefault: `{shown}`"));
        }
    }
    if !s.enum_values.is_empty() {
        let v: Vec<String> = s
            .enum_values
            .iter()
            .map(|e| format!("`{}`", e.as_str().map(String::from).unwrap_or(e.to_string())))
            .collect();
        md.push_str(&format!("\n\nAllowed: {}", v.join(", ")));
    }
    if let Some(desc) = &s.description {
        md.push_str(&format!("\n\n{desc}"));
    }
    md.push_str(&format!("\n\n{}", origin(&cv)));
    Some(Hover { range, markdown: md })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::fixture::Fixture;

    const CHART: &str = "# file: charts/podinfo/Chart.yaml\napiVersion: v2\nname: podinfo\nversion: 6.5.0\ndependencies:\n  - name: redis\n    alias: cache\n    version: 1.x\n  - name: absent\n# file: charts/podinfo/values.yaml\n# -- Number of pods\nreplicaCount: 1\nimage:\n  # the image repository\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: 6.5.0\n  pullPolicy: IfNotPresent\npodAnnotations: {}\nservice:\n  type: ClusterIP\n  port: 9898\n# file: charts/podinfo/charts/redis/Chart.yaml\napiVersion: v2\nname: redis\nversion: 1.2.0\n# file: charts/podinfo/charts/redis/values.yaml\nauth:\n  enabled: true\n";
    const SCHEMA: &str = "# file: charts/podinfo/values.schema.json\n{\"type\": \"object\", \"properties\": {\"replicaCount\": {\"type\": \"integer\", \"description\": \"How many pods\"}, \"service\": {\"$ref\": \"#/definitions/service\"}, \"image\": {\"type\": \"object\"}}, \"definitions\": {\"service\": {\"type\": \"object\", \"properties\": {\"type\": {\"type\": \"string\", \"enum\": [\"ClusterIP\", \"NodePort\", \"LoadBalancer\"]}, \"port\": {\"type\": \"integer\"}}}}}\n";

    fn release(values: &str) -> String {
        format!(
            "# file: apps/podinfo.yaml\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/podinfo\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n{values}"
        )
    }

    fn codes(f: &Fixture) -> Vec<(&'static str, String)> {
        f.diagnostics().into_iter().filter(|(c, _)| c.starts_with("chart-values")).collect()
    }

    #[test]
    fn values_yaml_gives_unknown_key_warnings_with_a_fix_and_no_type_errors() {
        let src = format!(
            "{CHART}{}",
            release(
                "    replicaCount: \"two\"$0\n    imagee:\n      tag: 1\n    image:\n      tagg: x\n    podAnnotations:\n      any: thing\n    global:\n      x: 1\n    cache:\n      auth:\n        enabld: false\n    absent:\n      anything: 1\n"
            )
        );
        let f = Fixture::parse(&src);
        assert_eq!(
            codes(&f),
            vec![
                ("chart-values-unknown-key", "imagee".to_string()),
                ("chart-values-unknown-key", "tagg".to_string()),
                ("chart-values-unknown-key", "enabld".to_string()),
            ]
        );
        let d = f.ws.analysis();
        let all = crate::ide::diagnostics::file_diagnostics(&d, f.file());
        let imagee = all.iter().find(|d| f.slice(d.range) == "imagee").unwrap();
        assert_eq!(imagee.severity, Severity::Warning);
        assert!(imagee.message.contains("(inferred from `values.yaml`); did you mean `image`?"), "{}", imagee.message);
        assert_eq!(imagee.fixes[0].edits[0].new_text, "image");
    }

    #[test]
    fn values_schema_json_gives_type_and_enum_errors() {
        let src = format!(
            "{CHART}{SCHEMA}{}",
            release(
                "    replicaCount: two$0\n    service:\n      type: Headless\n      port: \"80\"\n    image:\n      anything: goes\n    colour: blue\n    other: ${REPLICAS}\n"
            )
        );
        let f = Fixture::parse(&src);
        assert_eq!(
            codes(&f),
            vec![
                ("chart-values-type", "two".to_string()),
                ("chart-values-enum", "Headless".to_string()),
                ("chart-values-type", "\"80\"".to_string()),
                ("chart-values-unknown-key", "colour".to_string()),
                ("chart-values-unknown-key", "other".to_string()),
            ]
        );
        let d = f.diagnostics_of("apps/podinfo.yaml");
        let e = d.iter().find(|x| x.code == VALUES_ENUM).unwrap();
        assert_eq!(
            e.message,
            "`values.service.type` of chart `podinfo` must be one of `ClusterIP`, `NodePort`, `LoadBalancer`"
        );
        // the schema file itself is checked as JSON only
        assert!(f.diagnostics_of("charts/podinfo/values.schema.json").is_empty());
        let broken = Fixture::parse("# file: charts/x/values.schema.json\n{\"type\": \n");
        let d = broken.diagnostics_of("charts/x/values.schema.json");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, INVALID_JSON);
        // an error after multi-byte text lands on a character boundary
        let broken = Fixture::parse("# file: charts/x/values.schema.json\n{\"é\": \"ü\" x}\n");
        let f = broken.ws.file(&std::path::PathBuf::from("/fixture/charts/x/values.schema.json")).unwrap();
        let d = broken.diagnostics_of("charts/x/values.schema.json");
        assert!(f.text.is_char_boundary(d[0].range.start), "{:?}", d[0].range);
    }

    #[test]
    fn no_chart_in_the_workspace_means_no_values_checks() {
        // a chart from a Helm repository, and a path that is not in the workspace
        let helm = release("    anything: 1\n").replace("kind: GitRepository", "kind: HelmRepository");
        assert!(codes(&Fixture::parse(&format!("{CHART}{helm}"))).is_empty());
        let elsewhere = release("    anything: 1\n").replace("./charts/podinfo", "./charts/other");
        assert!(codes(&Fixture::parse(&format!("{CHART}{elsewhere}"))).is_empty());
    }

    fn complete(src: &str) -> Vec<CompletionItem> {
        let f = Fixture::parse(src);
        crate::ide::completion::completions(&f.ws.analysis(), f.file(), f.offset())
    }

    #[test]
    fn completion_offers_the_charts_keys_at_any_depth_and_enum_values() {
        let items = complete(&format!("{CHART}{}", release("    replicaCount: 2\n    $0\n")));
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        for want in ["image", "podAnnotations", "service", "global", "cache", "absent"] {
            assert!(labels.contains(&want), "{want} in {labels:?}");
        }
        assert!(!labels.contains(&"replicaCount"), "present keys are not offered again");
        let items = complete(&format!("{CHART}{}", release("    image:\n      pu$0\n")));
        let pp = items.iter().find(|i| i.label == "pullPolicy").expect("pullPolicy");
        assert_eq!(pp.insert_text.as_deref(), Some("pullPolicy: ${1:IfNotPresent}"));
        // a subchart's values under its alias
        let items = complete(&format!("{CHART}{}", release("    cache:\n      auth:\n        $0\n")));
        assert!(items.iter().any(|i| i.label == "enabled"), "{items:?}");
        // enum values from values.schema.json
        let items = complete(&format!("{CHART}{SCHEMA}{}", release("    service:\n      type: $0\n")));
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, vec!["ClusterIP", "NodePort", "LoadBalancer"]);
    }

    fn hover_at(src: &str) -> String {
        let f = Fixture::parse(src);
        crate::ide::hover::hover(&f.ws.analysis(), f.file(), f.offset()).expect("a hover").markdown
    }

    #[test]
    fn hover_shows_type_default_comment_and_the_chart() {
        let md = hover_at(&format!("{CHART}{}", release("    image:\n      repo$0sitory: x\n")));
        assert!(md.contains("**`repository`**: string"), "{md}");
        assert!(md.contains("Default: `ghcr.io/stefanprodan/podinfo`"), "{md}");
        assert!(md.contains("the image repository"), "{md}");
        assert!(
            md.contains("From chart `podinfo` 6.5.0 (inferred from `values.yaml`), in `/fixture/charts/podinfo`"),
            "{md}"
        );
        let md = hover_at(
            &format!("{CHART}{SCHEMA}{}", release("    replica$0Count: 2\n"))
                .replace("./charts/podinfo", "charts/podinfo"),
        );
        assert!(md.contains("How many pods") && md.contains("`values.schema.json`"), "{md}");
        let md = hover_at(
            &format!("{CHART}{}", release("    a: 1\n"))
                .replace("chart: ./charts/podinfo", "chart: ./charts/pod$0info"),
        );
        assert!(md.starts_with("**Chart `podinfo` 6.5.0**, from the workspace: `/fixture/charts/podinfo`"), "{md}");
    }
}
