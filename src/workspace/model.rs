//! The object model of a document: apiVersion, kind, metadata.name and
//! metadata.namespace with spans, and which family the object belongs to.

use crate::syntax::{FileDoc, Tree};
use crate::text::TextRange;

/// A name or short value read from a document: clones without allocating
/// (inline up to 23 bytes, shared above), so a keystroke that moves the
/// summary items of every later document allocates nothing for them.
pub type Name = smol_str::SmolStr;

/// A value with its absolute range in the file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub range: TextRange,
}

impl<T: Clone> Spanned<T> {
    /// The same value with its range moved by `base` (from a
    /// document-relative range to the file's).
    pub fn moved(&self, base: usize) -> Spanned<T> {
        Spanned { value: self.value.clone(), range: self.range.shift(base) }
    }
}

/// Which family an object belongs to; only Flux objects get Flux checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectClass {
    /// `*.toolkit.fluxcd.io`, `source.extensions.fluxcd.io`, `fluxcd.controlplane.io`.
    Flux,
    /// Core Kubernetes objects Flux refers to: Secret, ConfigMap, ServiceAccount, Namespace.
    KubeRef,
    /// `kustomize.config.k8s.io` Kustomization / Component.
    Kustomize,
    /// Any other object with an apiVersion and a kind (CRDs included).
    OtherKube,
    /// Not a Kubernetes object (a GitHub workflow, a docker-compose file, values...).
    NotKube,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectInfo {
    /// Index of the document in its file.
    pub doc: usize,
    /// The whole document's range.
    pub range: TextRange,
    pub api_version: Option<Spanned<Name>>,
    pub kind: Option<Spanned<Name>>,
    pub name: Option<Spanned<Name>>,
    pub namespace: Option<Spanned<Name>>,
    pub class: ObjectClass,
}

impl ObjectInfo {
    pub fn group(&self) -> &str {
        split_api_version(self.api_version.as_ref().map(|s| s.value.as_str()).unwrap_or("")).0
    }
    pub fn version(&self) -> &str {
        split_api_version(self.api_version.as_ref().map(|s| s.value.as_str()).unwrap_or("")).1
    }
    pub fn kind_str(&self) -> &str {
        self.kind.as_ref().map(|k| k.value.as_str()).unwrap_or("")
    }
    pub fn name_str(&self) -> &str {
        self.name.as_ref().map(|k| k.value.as_str()).unwrap_or("")
    }
    /// This object as document `doc` of a file, starting at `base` (from
    /// document-relative ranges).
    pub fn moved(&self, doc: usize, base: usize) -> ObjectInfo {
        let mv = |s: &Option<Spanned<Name>>| s.as_ref().map(|s| s.moved(base));
        ObjectInfo {
            doc,
            range: self.range.shift(base),
            api_version: mv(&self.api_version),
            kind: mv(&self.kind),
            name: mv(&self.name),
            namespace: mv(&self.namespace),
            class: self.class,
        }
    }
    /// The range a diagnostic about the whole object goes on: its name, else
    /// its kind, else the document start.
    pub fn anchor_range(&self) -> TextRange {
        self.name
            .as_ref()
            .or(self.kind.as_ref())
            .map(|s| s.range)
            .unwrap_or(TextRange::new(self.range.start, self.range.start))
    }
}

/// `group/version` → (group, version); `v1` → ("", "v1").
pub fn split_api_version(av: &str) -> (&str, &str) {
    match av.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", av),
    }
}

pub fn is_flux_group(group: &str) -> bool {
    group.ends_with(".toolkit.fluxcd.io") || group == "source.extensions.fluxcd.io" || group == "fluxcd.controlplane.io"
}

pub fn classify(api_version: &str, kind: &str) -> ObjectClass {
    let (group, _) = split_api_version(api_version);
    if api_version.is_empty() || kind.is_empty() {
        return ObjectClass::NotKube;
    }
    if is_flux_group(group) {
        ObjectClass::Flux
    } else if group == "kustomize.config.k8s.io" {
        ObjectClass::Kustomize
    } else if group.is_empty() && matches!(kind, "Secret" | "ConfigMap" | "ServiceAccount" | "Namespace") {
        ObjectClass::KubeRef
    } else {
        ObjectClass::OtherKube
    }
}

fn spanned(tree: &Tree, doc: &FileDoc, path: &[&str]) -> Option<Spanned<Name>> {
    let (v, r) = tree.lookup_str(path)?;
    Some(Spanned { value: Name::from(v), range: doc.abs(r) })
}

/// The name of an apiVersion; the built-in catalog's are static. Most Flux
/// apiVersions are longer than the 23 bytes a name keeps inline
/// (`helm.toolkit.fluxcd.io/v2` is 25), and cloning a longer one is an
/// atomic increment on an allocation of its own: a file's summary is put
/// together on each keystroke, and in a file of 10,000 objects those were
/// 10,000 cache misses. A static name's clone copies a pointer.
pub fn api_version_name(v: &str) -> Name {
    static KNOWN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    if v.len() <= 23 {
        return Name::from(v);
    }
    let known = KNOWN.get_or_init(|| {
        let mut all: Vec<&'static str> = crate::schema::catalog::builtin()
            .iter()
            .flat_map(|k| k.versions.iter().map(move |ver| format!("{}/{}", k.group, ver.name)))
            .map(|s| &*Box::leak(s.into_boxed_str()))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    });
    match known.binary_search(&v) {
        Ok(i) => Name::new_static(known[i]),
        Err(_) => Name::from(v),
    }
}

/// Reads the object model of one document. Documents that are not mappings
/// with a string apiVersion and kind are `NotKube`.
pub fn object_of(doc_index: usize, doc: &FileDoc) -> ObjectInfo {
    let tree = &doc.parsed.tree;
    let api_version = spanned(tree, doc, &["apiVersion"]).map(|s| Spanned { value: api_version_name(&s.value), ..s });
    let kind = spanned(tree, doc, &["kind"]);
    let class = classify(
        api_version.as_ref().map(|s| s.value.as_str()).unwrap_or(""),
        kind.as_ref().map(|s| s.value.as_str()).unwrap_or(""),
    );
    ObjectInfo {
        doc: doc_index,
        range: doc.span.range,
        name: spanned(tree, doc, &["metadata", "name"]),
        namespace: spanned(tree, doc, &["metadata", "namespace"]),
        api_version,
        kind,
        class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::SyntaxFile;

    #[test]
    fn classifies_objects() {
        let src = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: flux-system\n---\napiVersion: pkg.crossplane.io/v1\nkind: Provider\n---\nname: CI\non: push\n---\napiVersion: v1\nkind: Secret\n---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
        let f = SyntaxFile::parse(src, None);
        let objs: Vec<_> = f.docs.iter().enumerate().map(|(i, d)| object_of(i, d)).collect();
        let classes: Vec<_> = objs.iter().map(|o| o.class).collect();
        use ObjectClass::*;
        assert_eq!(classes, vec![Flux, OtherKube, NotKube, KubeRef, Kustomize]);
        let name = objs[0].name.as_ref().unwrap();
        assert_eq!(&src[name.range.start..name.range.end], "app");
        assert_eq!(objs[0].group(), "source.toolkit.fluxcd.io");
        assert_eq!(objs[0].version(), "v1");
    }
}
