//! The built-in catalog: every Flux kind's schema, generated from the Flux
//! CRDs by `examples/gen_catalog.rs` (facts only) and parsed once.

use std::sync::OnceLock;

use super::model::KindDef;

const CATALOG_JSON: &str = include_str!("catalog.json");

/// Every built-in kind (sorted by group, then kind).
pub fn builtin() -> &'static [KindDef] {
    static CATALOG: OnceLock<Vec<KindDef>> = OnceLock::new();
    CATALOG.get_or_init(|| serde_json::from_str(CATALOG_JSON).expect("src/schema/catalog.json is valid"))
}

/// A built-in kind by group and kind.
pub fn builtin_kind(group: &str, kind: &str) -> Option<&'static KindDef> {
    builtin().iter().find(|k| k.group == group && k.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_every_flux_kind_at_its_current_version() {
        let want = [
            ("source.toolkit.fluxcd.io", "GitRepository", "v1"),
            ("source.toolkit.fluxcd.io", "OCIRepository", "v1"),
            ("source.toolkit.fluxcd.io", "HelmRepository", "v1"),
            ("source.toolkit.fluxcd.io", "HelmChart", "v1"),
            ("source.toolkit.fluxcd.io", "Bucket", "v1"),
            ("source.toolkit.fluxcd.io", "ExternalArtifact", "v1"),
            ("kustomize.toolkit.fluxcd.io", "Kustomization", "v1"),
            ("helm.toolkit.fluxcd.io", "HelmRelease", "v2"),
            ("notification.toolkit.fluxcd.io", "Provider", "v1beta3"),
            ("notification.toolkit.fluxcd.io", "Alert", "v1beta3"),
            ("notification.toolkit.fluxcd.io", "Receiver", "v1"),
            ("image.toolkit.fluxcd.io", "ImageRepository", "v1"),
            ("image.toolkit.fluxcd.io", "ImagePolicy", "v1"),
            ("image.toolkit.fluxcd.io", "ImageUpdateAutomation", "v1"),
            ("source.extensions.fluxcd.io", "ArtifactGenerator", "v1beta1"),
            ("fluxcd.controlplane.io", "FluxInstance", "v1"),
            ("fluxcd.controlplane.io", "ResourceSet", "v1"),
            ("fluxcd.controlplane.io", "ResourceSetInputProvider", "v1"),
            ("fluxcd.controlplane.io", "FluxReport", "v1"),
        ];
        assert_eq!(builtin().len(), want.len());
        for (g, k, v) in want {
            let def = builtin_kind(g, k).unwrap_or_else(|| panic!("{k} missing"));
            assert_eq!(def.preferred().map(|x| x.name.as_str()), Some(v), "{k}");
        }
        let hr = builtin_kind("helm.toolkit.fluxcd.io", "HelmRelease").unwrap();
        let spec = hr.version("v2").unwrap().schema.property("spec").unwrap();
        assert!(spec.is_required("interval"));
        assert!(spec.property("interval").unwrap().is_duration());
        assert!(spec.validations.iter().any(|r| r.rule.contains("chartRef")));
        assert!(spec.description.is_none(), "catalog must not carry upstream text");
    }

    /// `catalog.json` is what `examples/gen_catalog.rs` makes of the CRDs in
    /// ../shared/flux-api/crds (regenerate it when they change).
    #[test]
    fn catalog_matches_the_crds() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/flux-api/crds"));
        if !dir.is_dir() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{} missing in CI", dir.display());
            eprintln!("skipped: {} not found", dir.display());
            return;
        }
        let mut files = Vec::new();
        crate::schema::registry::crd_files(dir, &mut files, 0);
        let mut kinds = Vec::new();
        for f in files {
            for mut k in crate::schema::loader::kinds_from_yaml(&std::fs::read_to_string(&f).unwrap()) {
                for v in &mut k.versions {
                    v.schema.strip_descriptions();
                }
                kinds.push(k);
            }
        }
        kinds.sort_by(|a, b| (&a.group, &a.kind).cmp(&(&b.group, &b.kind)));
        assert!(kinds == builtin(), "src/schema/catalog.json is stale: rerun examples/gen_catalog.rs");
    }
}
