//! Inputs of the benchmark: the combined Flux JSON schema for
//! yaml-language-server (generated from the CRDs), generated workspaces and
//! multi-document files, the object typed in the typing scenario, and the
//! key/value positions for completion and hover.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Objects with `properties` get `additionalProperties: false` unless they
/// preserve unknown fields or already say otherwise (the "strict" variant
/// of the CRD→JSON-schema conversion that editors use with yaml-ls, so that
/// both servers report unknown fields).
fn strict(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let preserve = m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if m.contains_key("properties") && !m.contains_key("additionalProperties") && !preserve {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (_, c) in m.iter_mut() {
                strict(c);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strict),
        _ => {}
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut es: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    es.sort();
    for p in es {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// One JSON schema for every Flux kind: `allOf` of `if {apiVersion, kind}
/// then <openAPIV3Schema>`; each `if` value is anchored with a `pattern` as
/// well as a `const` (yaml-ls completion treats a `const` as matched by a
/// prefix). Returns the schema and the number of (group/version, kind) pairs.
pub fn flux_schema(crds: &Path) -> (Value, usize) {
    let mut files = Vec::new();
    yaml_files(crds, &mut files);
    let mut branches = Vec::new();
    let mut api_versions: Vec<String> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let Ok(docs) = serde_saphyr::from_multiple::<Value>(&text) else {
            eprintln!("bench: cannot parse {}", f.display());
            continue;
        };
        for crd in docs {
            if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
                continue;
            }
            let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
            let kind = crd.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or_default();
            for ver in crd.pointer("/spec/versions").and_then(Value::as_array).into_iter().flatten() {
                let name = ver.get("name").and_then(Value::as_str).unwrap_or_default();
                let Some(schema) = ver.pointer("/schema/openAPIV3Schema") else { continue };
                let av = format!("{group}/{name}");
                let mut then = schema.clone();
                strict(&mut then);
                let anchor =
                    |s: &str| json!({"type": "string", "const": s, "pattern": format!("^{}$", regex_escape(s))});
                branches.push(json!({
                    "if": {
                        "type": "object",
                        "properties": {"apiVersion": anchor(&av), "kind": anchor(kind)},
                        "required": ["apiVersion", "kind"]
                    },
                    "then": then
                }));
                if !api_versions.contains(&av) {
                    api_versions.push(av);
                }
                if !kinds.contains(&kind.to_string()) {
                    kinds.push(kind.to_string());
                }
            }
        }
    }
    let n = branches.len();
    let mut root = Map::new();
    root.insert("$schema".into(), json!("http://json-schema.org/draft-07/schema#"));
    root.insert("title".into(), json!("Flux custom resources (generated from the CRDs)"));
    // completion of apiVersion/kind themselves; `examples`, not `enum`, so
    // that the other Kubernetes objects of a repository stay valid
    root.insert(
        "properties".into(),
        json!({
            "apiVersion": {"type": "string", "examples": api_versions},
            "kind": {"type": "string", "examples": kinds}
        }),
    );
    root.insert("allOf".into(), Value::Array(branches));
    (Value::Object(root), n)
}

/// A HelmRelease object (26 lines), as in benches/core.rs.
pub fn helm_release(i: usize) -> String {
    format!(
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app-{i}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n      version: \">=1.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  install:\n    remediation:\n      retries: 3\n  values:\n    replicaCount: 2\n    image:\n      repository: ghcr.io/example/app-{i}\n      tag: 1.2.3\n    resources:\n      limits:\n        memory: 256Mi\n"
    )
}

/// `objects` objects in one file: a HelmRepository `charts` and HelmReleases
/// that use it (≈27 lines per object).
pub fn multi_doc(objects: usize) -> String {
    let mut s = String::from(
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: https://charts.example.com\n",
    );
    for i in 1..objects {
        s.push_str(&helm_release(i));
    }
    s
}

/// A workspace of `files` files: sources in infra/, and per app a
/// HelmRelease (apps/) or a Kustomization (clusters/), all cross-referenced.
pub fn workspace(dir: &Path, files: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::write(
        dir.join("infra/sources.yaml"),
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: https://charts.example.com\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 5m\n  url: https://github.com/example/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./infra\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n",
    )
    .unwrap();
    for i in 1..files {
        if i % 2 == 1 {
            let d = dir.join(format!("apps/app-{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("release.yaml"), helm_release(i)).unwrap();
        } else {
            let d = dir.join(format!("clusters/c-{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("sync.yaml"),
                format!(
                    "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps-{i}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/app-{}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n  dependsOn:\n    - name: infra\n{}",
                    i - 1,
                    // short chains, as in real repositories (infra → apps-a → apps-b)
                    if i % 8 != 2 { format!("    - name: apps-{}\n", i - 2) } else { String::new() }
                ),
            )
            .unwrap();
        }
    }
}

/// The object typed character by character at the end of a file.
pub const TYPED: &str = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: typed\n  namespace: apps\nspec:\n  interval: 5m\n  url: https://github.com/example/typed\n  ref:\n    branch: main\n";

#[derive(Clone, Copy, Debug)]
pub struct Pos {
    pub line: u32,
    /// where hover is asked (middle of the token)
    pub hover: u32,
    /// where completion is asked (end of the token)
    pub complete: u32,
}

/// A position on every key and on every scalar value (block style lines
/// only; comments, document markers and block scalars' bodies are skipped).
/// Lines are ASCII in the generated files; for real files columns are
/// counted in UTF-16 units.
pub fn positions(text: &str, lines: Option<std::ops::Range<usize>>) -> Vec<Pos> {
    let mut out = Vec::new();
    let mut block_indent: Option<usize> = None;
    for (ln, line) in text.lines().enumerate() {
        if let Some(r) = &lines
            && !r.contains(&ln)
        {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if let Some(bi) = block_indent {
            if t.is_empty() || indent > bi {
                continue;
            }
            block_indent = None;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with("---") || t.starts_with("...") {
            continue;
        }
        let u16 = |s: &str| s.encode_utf16().count() as u32;
        let mut col = indent;
        let mut rest = &line[indent..];
        while let Some(r) = rest.strip_prefix("- ") {
            col += 2;
            rest = r;
        }
        let (key, value_at) = match rest.find(": ").or_else(|| rest.strip_suffix(':').map(|k| k.len())) {
            Some(k) if !rest.starts_with('"') && !rest.starts_with('{') && !rest.starts_with('[') => {
                (Some(&rest[..k]), col + k + 1)
            }
            _ => (None, col),
        };
        let token = |start: usize, tok: &str, out: &mut Vec<Pos>| {
            if tok.is_empty() {
                return;
            }
            let before = u16(&line[..start]);
            let len = u16(tok);
            out.push(Pos { line: ln as u32, hover: before + len / 2, complete: before + len });
        };
        if let Some(k) = key {
            token(col, k, &mut out);
        }
        let v_raw = &line[value_at.min(line.len())..];
        let v_start = value_at + (v_raw.len() - v_raw.trim_start().len());
        let mut v = v_raw.trim();
        if let Some(h) = v.find(" #") {
            v = v[..h].trim_end();
        }
        if v.starts_with('|') || v.starts_with('>') {
            block_indent = Some(indent);
            continue;
        }
        if !v.is_empty() && !v.starts_with('#') && (key.is_some() || col > indent) {
            token(v_start, v, &mut out);
        }
    }
    out
}
