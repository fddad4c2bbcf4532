//! The schema registry: the built-in catalog merged with CRDs found at run
//! time (workspace files such as `gotk-components.yaml`, and the `crd_paths`
//! setting). A run-time CRD overrides the built-in versions it defines and
//! brings its upstream descriptions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::catalog;
use super::loader::kinds_from_yaml;
use super::model::{KindDef, VersionDef};
use crate::workspace::split_api_version;

/// Where a version's schema came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// A CRD file loaded at run time.
    Crd(PathBuf),
    /// A CRD read from the connected cluster (issue #6), by context.
    Cluster(String),
}

#[derive(Clone, Debug)]
pub struct KindEntry {
    pub def: KindDef,
    /// The origin of each of `def.versions`.
    pub origins: Vec<Origin>,
    /// True when a run-time CRD defines (some version of) this kind.
    pub runtime: bool,
}

/// A resolved apiVersion + kind.
#[derive(Clone, Copy, Debug)]
pub struct Resolved<'a> {
    pub kind: &'a KindDef,
    pub version: &'a VersionDef,
    pub origin: &'a Origin,
    pub runtime: bool,
}

#[derive(Debug, Default)]
pub struct Registry {
    /// Run-time kinds merged with their built-in counterparts.
    overrides: Vec<KindEntry>,
    by_gk: HashMap<(String, String), usize>,
}

impl Registry {
    /// The built-in catalog only.
    pub fn builtin() -> Registry {
        Registry::default()
    }

    /// The catalog plus the CRDs in `sources` (path, text). Later sources
    /// win over earlier ones.
    pub fn with_crds<'a>(sources: impl IntoIterator<Item = (&'a Path, &'a str)>) -> Registry {
        let mut r = Registry::default();
        for (path, text) in sources {
            for k in kinds_from_yaml(text) {
                r.add(k, Origin::Crd(path.to_path_buf()));
            }
        }
        r
    }

    /// The registry of a workspace: CRDs in its files (such as
    /// `gotk-components.yaml`) and in the `crd_paths` directories.
    pub fn for_workspace(ws: &crate::workspace::Workspace) -> Registry {
        let mut files: Vec<_> = ws.files().filter(|f| has_crds(f)).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut extra: Vec<(PathBuf, String)> = Vec::new();
        for dir in &ws.config.crd_paths {
            let dirs: Vec<PathBuf> =
                if dir.is_absolute() { vec![dir.clone()] } else { ws.roots.iter().map(|r| r.join(dir)).collect() };
            for d in dirs {
                let mut found = Vec::new();
                crd_files(&d, &mut found, 0);
                found.sort();
                for p in found {
                    if let Ok(t) = std::fs::read_to_string(&p) {
                        extra.push((p, t));
                    }
                }
            }
        }
        let sources = files
            .iter()
            .map(|f| (f.path.as_path(), &*f.text))
            .chain(extra.iter().map(|(p, t)| (p.as_path(), t.as_str())));
        // the cluster's CRDs first: the repository's own CRD files (what it
        // deploys, and what `check` sees in CI) win over them
        let mut r = Registry::default();
        let (context, kinds) = ws.cluster_crds();
        for k in kinds {
            r.add(k.clone(), Origin::Cluster(context.clone()));
        }
        for (path, text) in sources {
            for k in kinds_from_yaml(text) {
                r.add(k, Origin::Crd(path.to_path_buf()));
            }
        }
        r
    }

    /// Adds one run-time kind.
    pub fn add(&mut self, def: KindDef, origin: Origin) {
        let key = (def.group.clone(), def.kind.clone());
        let idx = match self.by_gk.get(&key) {
            Some(&i) => i,
            None => {
                let base = catalog::builtin_kind(&def.group, &def.kind);
                let entry = match base {
                    Some(b) => {
                        KindEntry { origins: vec![Origin::Builtin; b.versions.len()], def: b.clone(), runtime: true }
                    }
                    None => KindEntry {
                        def: KindDef { versions: Vec::new(), ..def.clone() },
                        origins: Vec::new(),
                        runtime: true,
                    },
                };
                self.overrides.push(entry);
                self.by_gk.insert(key, self.overrides.len() - 1);
                self.overrides.len() - 1
            }
        };
        let e = &mut self.overrides[idx];
        e.def.plural = def.plural.clone();
        e.def.namespaced = def.namespaced;
        for v in def.versions {
            match e.def.versions.iter().position(|x| x.name == v.name) {
                Some(i) => {
                    e.def.versions[i] = v;
                    e.origins[i] = origin.clone();
                }
                None => {
                    e.def.versions.push(v);
                    e.origins.push(origin.clone());
                }
            }
        }
    }

    /// The kind `kind` of API group `group` (run-time first).
    pub fn kind(&self, group: &str, kind: &str) -> Option<(&KindDef, bool)> {
        if let Some(&i) = self.by_gk.get(&(group.to_string(), kind.to_string())) {
            return Some((&self.overrides[i].def, true));
        }
        catalog::builtin_kind(group, kind).map(|k| (k, false))
    }

    /// Resolves `apiVersion` + `kind`; None when the group/kind or the
    /// version is unknown.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<Resolved<'_>> {
        let (group, version) = split_api_version(api_version);
        if let Some(&i) = self.by_gk.get(&(group.to_string(), kind.to_string())) {
            let e = &self.overrides[i];
            let vi = e.def.versions.iter().position(|v| v.name == version)?;
            return Some(Resolved {
                kind: &e.def,
                version: &e.def.versions[vi],
                origin: &e.origins[vi],
                runtime: true,
            });
        }
        let k = catalog::builtin_kind(group, kind)?;
        let v = k.version(version)?;
        Some(Resolved { kind: k, version: v, origin: &Origin::Builtin, runtime: false })
    }

    /// True when a run-time CRD defines this group and kind.
    pub fn is_runtime(&self, group: &str, kind: &str) -> bool {
        self.by_gk.contains_key(&(group.to_string(), kind.to_string()))
    }

    /// Every known kind: the built-in ones (possibly overridden), then kinds
    /// only run-time CRDs define.
    pub fn kinds(&self) -> impl Iterator<Item = &KindDef> {
        let builtin = catalog::builtin().iter().map(|k| self.kind(&k.group, &k.kind).map(|x| x.0).unwrap_or(k));
        let extra = self
            .overrides
            .iter()
            .filter(|e| catalog::builtin_kind(&e.def.group, &e.def.kind).is_none())
            .map(|e| &e.def);
        builtin.chain(extra)
    }

    /// Kinds of a group.
    pub fn kinds_of_group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a KindDef> + 'a {
        self.kinds().filter(move |k| k.group == group)
    }

    pub fn runtime_kinds(&self) -> usize {
        self.overrides.len()
    }
}

/// True when a file holds a CustomResourceDefinition.
pub fn has_crds(f: &crate::workspace::FileData) -> bool {
    // found while the summary was put together (a keystroke in a file of
    // 10,000 objects asks twice)
    f.summary.crds
}

pub(crate) fn crd_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            crd_files(&p, out, depth + 1);
        } else if ft.is_file() && matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD_OCI: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ocirepositories.source.toolkit.fluxcd.io
spec:
  group: source.toolkit.fluxcd.io
  names: {kind: OCIRepository, plural: ocirepositories}
  scope: Namespaced
  versions:
  - name: v1beta2
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: Old spec.
            properties:
              url: {type: string, description: Where it lives.}
"#;

    #[test]
    fn builtin_resolves_current_versions_only() {
        let r = Registry::builtin();
        assert!(r.resolve("source.toolkit.fluxcd.io/v1", "GitRepository").is_some());
        assert!(r.resolve("source.toolkit.fluxcd.io/v1beta2", "GitRepository").is_none());
        assert!(r.resolve("source.toolkit.fluxcd.io/v1", "Nope").is_none());
        assert_eq!(r.kinds().count(), 19);
    }

    #[test]
    fn runtime_crds_add_versions_and_keep_builtin_ones() {
        let p = PathBuf::from("/ws/gotk-components.yaml");
        let r = Registry::with_crds([(p.as_path(), OLD_OCI)]);
        let old = r.resolve("source.toolkit.fluxcd.io/v1beta2", "OCIRepository").unwrap();
        assert_eq!(old.origin, &Origin::Crd(p.clone()));
        let url = old.version.schema.property("spec").unwrap().property("url").unwrap();
        assert_eq!(url.description.as_deref(), Some("Where it lives."));
        let cur = r.resolve("source.toolkit.fluxcd.io/v1", "OCIRepository").unwrap();
        assert_eq!(cur.origin, &Origin::Builtin);
        assert!(r.is_runtime("source.toolkit.fluxcd.io", "OCIRepository"));
        assert_eq!(r.kinds().count(), 19);
    }

    #[test]
    fn crd_paths_setting_is_read_relative_to_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("crds/sub")).unwrap();
        std::fs::write(dir.path().join("crds/sub/oci.yaml"), OLD_OCI).unwrap();
        let mut ws = crate::workspace::Workspace::default();
        ws.roots = vec![dir.path().to_path_buf()];
        ws.config.crd_paths = vec![PathBuf::from("crds")];
        let r = ws.schemas();
        let old = r.resolve("source.toolkit.fluxcd.io/v1beta2", "OCIRepository").unwrap();
        assert_eq!(old.origin, &Origin::Crd(dir.path().join("crds/sub/oci.yaml")));
    }

    #[test]
    fn workspace_crds_are_registered_and_dropped_with_their_file() {
        let mut ws = crate::workspace::Workspace::default();
        let p = PathBuf::from("/ws/clusters/prod/flux-system/gotk-components.yaml");
        ws.set_file(p.clone(), OLD_OCI.to_string(), None);
        assert!(ws.schemas().resolve("source.toolkit.fluxcd.io/v1beta2", "OCIRepository").is_some());
        ws.remove_file(&p);
        assert!(ws.schemas().resolve("source.toolkit.fluxcd.io/v1beta2", "OCIRepository").is_none());
        ws.set_file(p.clone(), OLD_OCI.to_string(), None);
        // editing the CRD file (summary unchanged) is seen too
        ws.set_file(p.clone(), OLD_OCI.replace("Where it lives.", "Its address."), None);
        let r = ws.schemas();
        let spec =
            r.resolve("source.toolkit.fluxcd.io/v1beta2", "OCIRepository").unwrap().version.schema.property("spec");
        assert_eq!(spec.unwrap().property("url").unwrap().description.as_deref(), Some("Its address."));
    }
}
