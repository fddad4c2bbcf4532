//! The cross-file index: every object of the workspace by kind and name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{FileData, ObjectClass};

/// Where an object is defined: a file and the object's index in its summary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectLoc {
    pub path: PathBuf,
    pub object: usize,
}

#[derive(Debug, Default)]
pub struct ObjectIndex {
    /// kind → name → definitions (nested, so a lookup by `&str` allocates nothing).
    by_kind_name: HashMap<String, HashMap<String, Vec<ObjectLoc>>>,
    /// kind → definitions.
    by_kind: HashMap<String, Vec<ObjectLoc>>,
    pub flux_objects: usize,
}

impl ObjectIndex {
    pub fn build<'a>(files: impl Iterator<Item = &'a Arc<FileData>>) -> Self {
        let mut ix = ObjectIndex::default();
        for f in files {
            for (i, o) in f.summary.objects.iter().enumerate() {
                if o.class == ObjectClass::NotKube {
                    continue;
                }
                if o.class == ObjectClass::Flux {
                    ix.flux_objects += 1;
                }
                let loc = ObjectLoc { path: f.path.clone(), object: i };
                ix.by_kind.entry(o.kind_str().to_string()).or_default().push(loc.clone());
                if let Some(n) = &o.name {
                    ix.by_kind_name
                        .entry(o.kind_str().to_string())
                        .or_default()
                        .entry(n.value.clone())
                        .or_default()
                        .push(loc);
                }
            }
        }
        for v in ix.by_kind.values_mut().chain(ix.by_kind_name.values_mut().flat_map(|m| m.values_mut())) {
            v.sort_by(|a, b| (&a.path, a.object).cmp(&(&b.path, b.object)));
        }
        ix
    }

    pub fn lookup(&self, kind: &str, name: &str) -> &[ObjectLoc] {
        self.by_kind_name.get(kind).and_then(|m| m.get(name)).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn of_kind(&self, kind: &str) -> &[ObjectLoc] {
        self.by_kind.get(kind).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn all(&self) -> impl Iterator<Item = &ObjectLoc> {
        self.by_kind.values().flatten()
    }
}
