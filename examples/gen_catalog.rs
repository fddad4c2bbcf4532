//! Generates the built-in Flux API catalog compiled into flux-lsp:
//!
//! ```text
//! cargo run --example gen_catalog -- ../shared/flux-api/crds > src/schema/catalog.json
//! ```
//!
//! Reads every CustomResourceDefinition under the given directory (recursively)
//! and writes one JSON array of kinds with their versions and schemas. Only
//! facts are written (types, required, enums, defaults, patterns, bounds, CEL
//! rules): descriptions are dropped. Output is sorted, so regenerating from the
//! same CRDs gives the same bytes.

use std::path::{Path, PathBuf};

use flux_lsp::schema::loader::kinds_from_yaml;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: gen_catalog <crd-directory>");
        std::process::exit(2)
    });
    let mut files = Vec::new();
    yaml_files(Path::new(&dir), &mut files);
    files.sort();
    let mut kinds = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for mut k in kinds_from_yaml(&text) {
            for v in &mut k.versions {
                v.schema.strip_descriptions();
            }
            kinds.push(k);
        }
    }
    kinds.sort_by(|a, b| (&a.group, &a.kind).cmp(&(&b.group, &b.kind)));
    if kinds.is_empty() {
        eprintln!("no CustomResourceDefinitions found under {dir}");
        std::process::exit(1);
    }
    eprintln!("{} kinds", kinds.len());
    println!("{}", serde_json::to_string(&kinds).expect("serialisable"));
}
