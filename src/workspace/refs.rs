//! Cross-object references: the table of reference fields of the Flux kinds,
//! and what each file says about references, kustomize paths, substitution
//! variables and image-policy markers (extracted once per file, with
//! absolute ranges).

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use super::{FileSummary, Name, ObjectClass, ObjectInfo, Spanned};
use crate::syntax::{FileDoc, NodeId, NodeKind, Tree};
use crate::text::TextRange;

/// Where the target of a reference is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NsRule {
    /// No `namespace` field: the referrer's namespace.
    Same,
    /// A `namespace` field, defaulting to the referrer's namespace.
    Optional,
    /// The namespace as written; any namespace when not written.
    AsWritten,
    /// Not checked (e.g. looked up in the source's namespace).
    Any,
}

/// How a reference is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A mapping with `name` (and maybe `kind`, `namespace`).
    Block,
    /// A plain string that is the name.
    Scalar,
}

/// One reference field of the cross-object table.
#[derive(Debug)]
pub struct RefField {
    /// Kinds of the referring object (Flux kinds unless stated otherwise).
    pub referrers: &'static [&'static str],
    /// Path from the document root; `[]` stands for every item of a list.
    pub path: &'static [&'static str],
    /// Allowed target kinds; empty = any kind.
    pub kinds: &'static [&'static str],
    pub default_kind: Option<&'static str>,
    pub ns: NsRule,
    pub shape: Shape,
    /// Rejected across namespaces by `--no-cross-namespace-refs`.
    pub cross_ns_flag: bool,
    /// A `dependsOn` entry (checked for cycles).
    pub depends_on: bool,
    /// The field as shown to users: `spec.sourceRef`.
    pub label: &'static str,
}

const SOURCES_K: &[&str] = &["GitRepository", "OCIRepository", "Bucket", "ExternalArtifact"];
const SOURCES_CHART: &[&str] = &["HelmRepository", "GitRepository", "Bucket"];
const CHART_REF: &[&str] = &["OCIRepository", "HelmChart", "ExternalArtifact"];
const AG_SOURCES: &[&str] = &["GitRepository", "OCIRepository", "Bucket", "HelmChart", "ExternalArtifact"];
pub const EVENT_KINDS: &[&str] = &[
    "Bucket",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
    "HelmChart",
    "HelmRepository",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "OCIRepository",
    "ArtifactGenerator",
    "ExternalArtifact",
];
const SECRET: &[&str] = &["Secret"];
const CONFIGMAP: &[&str] = &["ConfigMap"];
const SA: &[&str] = &["ServiceAccount"];
const CM_OR_SECRET: &[&str] = &["ConfigMap", "Secret"];

#[allow(clippy::too_many_arguments)]
const fn f(
    referrers: &'static [&'static str],
    path: &'static [&'static str],
    kinds: &'static [&'static str],
    default_kind: Option<&'static str>,
    ns: NsRule,
    shape: Shape,
    cross_ns_flag: bool,
    label: &'static str,
) -> RefField {
    RefField { referrers, path, kinds, default_kind, ns, shape, cross_ns_flag, depends_on: false, label }
}

const fn dep(
    referrers: &'static [&'static str],
    kinds: &'static [&'static str],
    default_kind: Option<&'static str>,
    ns: NsRule,
) -> RefField {
    RefField {
        referrers,
        path: &["spec", "dependsOn", "[]"],
        kinds,
        default_kind,
        ns,
        shape: Shape::Block,
        cross_ns_flag: false,
        depends_on: true,
        label: "spec.dependsOn",
    }
}

use NsRule::*;
use Shape::*;

const KS: &[&str] = &["Kustomization"];
const HR: &[&str] = &["HelmRelease"];
const KS_HR: &[&str] = &["Kustomization", "HelmRelease"];
const SRC_SECRETS: &[&str] = &[
    "GitRepository",
    "OCIRepository",
    "HelmRepository",
    "Bucket",
    "Provider",
    "ImageRepository",
    "ResourceSetInputProvider",
];
const SA_OWNERS: &[&str] = &[
    "Kustomization",
    "HelmRelease",
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "Provider",
    "ImageRepository",
    "ResourceSetInputProvider",
];

/// Every reference field (see the flux-api reference table).
pub static FIELDS: &[RefField] = &[
    f(KS, &["spec", "sourceRef"], SOURCES_K, None, Optional, Block, true, "spec.sourceRef"),
    dep(KS, KS, Some("Kustomization"), Optional),
    f(KS, &["spec", "healthChecks", "[]"], &[], None, AsWritten, Block, false, "spec.healthChecks"),
    f(
        KS,
        &["spec", "postBuild", "substituteFrom", "[]"],
        CM_OR_SECRET,
        None,
        Same,
        Block,
        false,
        "spec.postBuild.substituteFrom",
    ),
    f(
        KS,
        &["spec", "decryption", "secretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.decryption.secretRef",
    ),
    f(
        KS,
        &["spec", "decryption", "serviceAccountName"],
        SA,
        Some("ServiceAccount"),
        Same,
        Scalar,
        false,
        "spec.decryption.serviceAccountName",
    ),
    f(
        KS_HR,
        &["spec", "kubeConfig", "secretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.kubeConfig.secretRef",
    ),
    f(
        KS_HR,
        &["spec", "kubeConfig", "configMapRef"],
        CONFIGMAP,
        Some("ConfigMap"),
        Same,
        Block,
        false,
        "spec.kubeConfig.configMapRef",
    ),
    f(
        SA_OWNERS,
        &["spec", "serviceAccountName"],
        SA,
        Some("ServiceAccount"),
        Same,
        Scalar,
        false,
        "spec.serviceAccountName",
    ),
    f(
        HR,
        &["spec", "chart", "spec", "sourceRef"],
        SOURCES_CHART,
        Some("HelmRepository"),
        Optional,
        Block,
        true,
        "spec.chart.spec.sourceRef",
    ),
    f(HR, &["spec", "chartRef"], CHART_REF, None, Optional, Block, true, "spec.chartRef"),
    f(
        HR,
        &["spec", "chart", "spec", "verify", "secretRef"],
        SECRET,
        Some("Secret"),
        Any,
        Block,
        false,
        "spec.chart.spec.verify.secretRef",
    ),
    dep(HR, HR, Some("HelmRelease"), Optional),
    f(HR, &["spec", "valuesFrom", "[]"], CM_OR_SECRET, None, Same, Block, false, "spec.valuesFrom"),
    f(&["HelmChart"], &["spec", "sourceRef"], SOURCES_CHART, None, Same, Block, false, "spec.sourceRef"),
    f(
        &["HelmChart"],
        &["spec", "verify", "secretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.verify.secretRef",
    ),
    f(
        &["GitRepository"],
        &["spec", "include", "[]", "repository"],
        &["GitRepository"],
        Some("GitRepository"),
        Same,
        Block,
        false,
        "spec.include.repository",
    ),
    f(SRC_SECRETS, &["spec", "secretRef"], SECRET, Some("Secret"), Same, Block, false, "spec.secretRef"),
    f(SRC_SECRETS, &["spec", "certSecretRef"], SECRET, Some("Secret"), Same, Block, false, "spec.certSecretRef"),
    f(SRC_SECRETS, &["spec", "proxySecretRef"], SECRET, Some("Secret"), Same, Block, false, "spec.proxySecretRef"),
    f(
        &["GitRepository", "OCIRepository"],
        &["spec", "verify", "secretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.verify.secretRef",
    ),
    f(
        &["OCIRepository"],
        &["spec", "verify", "trustedRootSecretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.verify.trustedRootSecretRef",
    ),
    f(&["Bucket"], &["spec", "sts", "secretRef"], SECRET, Some("Secret"), Same, Block, false, "spec.sts.secretRef"),
    f(
        &["Bucket"],
        &["spec", "sts", "certSecretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.sts.certSecretRef",
    ),
    f(&["Receiver"], &["spec", "secretRef"], SECRET, Some("Secret"), Same, Block, false, "spec.secretRef"),
    f(&["ArtifactGenerator"], &["spec", "sources", "[]"], AG_SOURCES, None, Optional, Block, true, "spec.sources"),
    f(&["Alert"], &["spec", "providerRef"], &["Provider"], Some("Provider"), Same, Block, false, "spec.providerRef"),
    f(&["Alert"], &["spec", "eventSources", "[]"], EVENT_KINDS, None, Optional, Block, true, "spec.eventSources"),
    f(&["Receiver"], &["spec", "resources", "[]"], EVENT_KINDS, None, Optional, Block, true, "spec.resources"),
    f(
        &["ImagePolicy"],
        &["spec", "imageRepositoryRef"],
        &["ImageRepository"],
        Some("ImageRepository"),
        Optional,
        Block,
        true,
        "spec.imageRepositoryRef",
    ),
    f(
        &["ImageUpdateAutomation"],
        &["spec", "sourceRef"],
        &["GitRepository"],
        Some("GitRepository"),
        Optional,
        Block,
        true,
        "spec.sourceRef",
    ),
    f(
        &["ImageUpdateAutomation"],
        &["spec", "git", "commit", "signingKey", "secretRef"],
        SECRET,
        Some("Secret"),
        Same,
        Block,
        false,
        "spec.git.commit.signingKey.secretRef",
    ),
    f(
        &["FluxInstance"],
        &["spec", "sync", "pullSecret"],
        SECRET,
        Some("Secret"),
        Same,
        Scalar,
        false,
        "spec.sync.pullSecret",
    ),
    f(
        &["FluxInstance"],
        &["spec", "distribution", "imagePullSecret"],
        SECRET,
        Some("Secret"),
        Same,
        Scalar,
        false,
        "spec.distribution.imagePullSecret",
    ),
    f(
        &["FluxInstance"],
        &["spec", "distribution", "artifactPullSecret"],
        SECRET,
        Some("Secret"),
        Same,
        Scalar,
        false,
        "spec.distribution.artifactPullSecret",
    ),
    f(
        &["ResourceSet"],
        &["spec", "inputsFrom", "[]"],
        &["ResourceSetInputProvider"],
        Some("ResourceSetInputProvider"),
        Same,
        Block,
        false,
        "spec.inputsFrom",
    ),
    dep(&["ResourceSet"], &[], None, AsWritten),
];

/// The fields a kind refers through.
pub fn fields_of(kind: &str) -> impl Iterator<Item = (usize, &'static RefField)> + '_ {
    FIELDS.iter().enumerate().filter(move |(_, f)| f.referrers.contains(&kind))
}

/// True when `path` (from the document root) is the `kind` of a reference
/// field of `referrer`, whose allowed kinds this module checks (diagnostic
/// `invalid-reference-kind`, with a fix naming the existing object's kind);
/// schema validation can leave such enums to it.
pub fn is_reference_kind(referrer: &str, path: &[crate::syntax::PathSeg]) -> bool {
    use crate::syntax::PathSeg;
    let Some((PathSeg::Key(last), parent)) = path.split_last() else { return false };
    if last != "kind" {
        return false;
    }
    fields_of(referrer).any(|(_, f)| {
        !f.kinds.is_empty()
            && f.path.len() == parent.len()
            && f.path.iter().zip(parent).all(|(p, s)| match s {
                PathSeg::Key(k) => p == k,
                PathSeg::Index(_) => *p == "[]",
            })
    })
}

/// A reference written in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefInfo {
    /// Index of the referring object in the file summary.
    pub object: usize,
    /// Index in [`FIELDS`].
    pub field: usize,
    pub kind: Option<Spanned<Name>>,
    /// The name (an empty span at the block when no name is written).
    pub name: Spanned<Name>,
    pub namespace: Option<Spanned<Name>>,
    /// The whole reference (the mapping, or the scalar).
    pub block: TextRange,
    /// `optional: true` (valuesFrom, substituteFrom).
    pub optional: bool,
    /// Written with a label selector (`matchLabels`/`selector`) instead of a name.
    pub selector: bool,
    /// `alias` of an ArtifactGenerator source.
    pub alias: Option<String>,
}

impl RefInfo {
    pub fn spec(&self) -> &'static RefField {
        &FIELDS[self.field]
    }
    /// The kind the reference points to: as written, else the field's default.
    pub fn target_kind(&self) -> Option<&str> {
        match &self.kind {
            Some(k) if !k.value.is_empty() => Some(k.value.as_str()),
            _ => self.spec().default_kind,
        }
    }
    /// Names the server does not resolve: wildcards and templates.
    pub fn is_templated(&self) -> bool {
        is_templated(&self.name.value) || self.namespace.as_ref().is_some_and(|n| is_templated(&n.value))
    }
}

pub fn is_templated(s: &str) -> bool {
    s.contains('*') || s.contains("${") || s.contains("{{") || s.contains("<%") || s.contains("<<")
}

/// Why a path of a kustomization file is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathRole {
    Resource,
    Component,
    Patch,
    Generator,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathRef {
    pub value: String,
    pub range: TextRange,
    pub role: PathRole,
    /// The key it was found under, for messages.
    pub field: &'static str,
}

/// A kustomize `kustomization.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct KustomizeInfo {
    pub namespace: Option<Spanned<Name>>,
    pub paths: Vec<PathRef>,
}

/// Where a Flux Kustomization (or a FluxInstance sync) gets its files.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Applier {
    pub object: usize,
    /// `spec.path`; None = the source's root.
    pub path: Option<Spanned<Name>>,
    pub target_namespace: Option<String>,
    /// `spec.postBuild` is set: variables are substituted.
    pub post_build: bool,
    /// `postBuild.substitute`: (key, value).
    pub substitute: Vec<(Spanned<Name>, String)>,
    pub components: Vec<Spanned<Name>>,
    /// Index in `refs` of the `spec.sourceRef`; None for a FluxInstance sync
    /// (always the bootstrap repository).
    pub source_ref: Option<usize>,
    /// The sync of a FluxInstance: its source is this repository.
    pub from_instance: bool,
}

/// An object that another object creates (an ExternalArtifact of an
/// ArtifactGenerator, the Secret of an ExternalSecret, the sources of a
/// FluxInstance sync, kustomize generators...).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Produced {
    pub object: usize,
    pub kind: String,
    pub name: Spanned<Name>,
    /// Explicit namespace; None = the producer's namespace.
    pub namespace: Option<String>,
    /// The data keys are unknown (generated from files).
    pub opaque: bool,
}

/// A `${VAR}` in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VarUse {
    /// `${...}` as a whole.
    pub range: TextRange,
    pub name: String,
    pub name_range: TextRange,
    pub has_default: bool,
    pub object: Option<usize>,
}

/// `# {"$imagepolicy": "ns:name[:tag|:name|:digest]"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageMarker {
    /// The string inside the quotes.
    pub range: TextRange,
    pub namespace: Option<String>,
    pub name: String,
    pub name_range: TextRange,
    pub suffix: Option<String>,
}

/// `copy: [{from: "@alias/dir/**", to: "@artifact/dir/"}]` of an artifact.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArtifactCopy {
    pub artifact: String,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GitSource {
    pub object: usize,
    pub url: String,
    pub branch: Option<String>,
}

/// Everything about references that a file says.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RefSummary {
    pub refs: Vec<RefInfo>,
    pub kustomize: Option<KustomizeInfo>,
    pub appliers: Vec<Applier>,
    pub produced: Vec<Produced>,
    /// (object, data keys) of ConfigMaps and Secrets.
    pub data_keys: Vec<(usize, Vec<Spanned<Name>>)>,
    /// Objects encrypted with SOPS (a top-level `sops` key).
    pub sops: Vec<usize>,
    pub git_sources: Vec<GitSource>,
    /// Copy rules of ArtifactGenerator artifacts.
    pub artifact_copies: Vec<ArtifactCopy>,
    pub vars: Vec<VarUse>,
    pub markers: Vec<ImageMarker>,
    /// Controllers this file gives `--no-cross-namespace-refs` (`*` = all).
    pub no_cross_ns: Vec<String>,
}

fn h<T: Hash>(s: &mut std::collections::hash_map::DefaultHasher, v: T) {
    v.hash(s)
}

fn sv(s: &Option<Spanned<Name>>) -> Option<&str> {
    s.as_ref().map(|s| s.value.as_str())
}

impl RefSummary {
    /// A hash of what other files can see, without positions.
    pub fn key(&self) -> u64 {
        let mut s = std::collections::hash_map::DefaultHasher::new();
        for r in &self.refs {
            h(
                &mut s,
                (r.object, r.field, sv(&r.kind), &r.name.value, sv(&r.namespace), r.optional, r.selector, &r.alias),
            );
        }
        h(&mut s, 1u8);
        if let Some(k) = &self.kustomize {
            h(&mut s, sv(&k.namespace));
            for p in &k.paths {
                h(&mut s, (&p.value, p.role, p.field));
            }
        }
        h(&mut s, 2u8);
        for a in &self.appliers {
            h(&mut s, (a.object, sv(&a.path), &a.target_namespace, a.post_build, a.source_ref, a.from_instance));
            for (k, v) in &a.substitute {
                h(&mut s, (&k.value, v));
            }
            for c in &a.components {
                h(&mut s, &c.value);
            }
        }
        h(&mut s, 3u8);
        for p in &self.produced {
            h(&mut s, (p.object, &p.kind, &p.name.value, &p.namespace, p.opaque));
        }
        for (o, keys) in &self.data_keys {
            h(&mut s, o);
            for k in keys {
                h(&mut s, &k.value);
            }
        }
        h(&mut s, &self.artifact_copies);
        h(&mut s, (&self.sops, &self.git_sources, &self.no_cross_ns));
        for m in &self.markers {
            h(&mut s, (&m.namespace, &m.name));
        }
        s.finish()
    }
}

fn resolved(tree: &Tree, id: NodeId) -> NodeId {
    tree.resolve_alias(id).unwrap_or(id)
}

fn walk(tree: &Tree, at: NodeId, path: &[&str], out: &mut Vec<NodeId>) {
    let at = resolved(tree, at);
    match path.split_first() {
        None => out.push(at),
        Some((&"[]", rest)) => {
            for &i in tree.items(at) {
                walk(tree, i, rest, out);
            }
        }
        Some((k, rest)) => {
            if let Some(v) = tree.get(at, k) {
                walk(tree, v, rest, out);
            }
        }
    }
}

/// Nodes at `path` (with `[]` for list items) from the document root.
pub fn nodes_at(tree: &Tree, path: &[&str]) -> Vec<NodeId> {
    let mut out = Vec::new();
    if let Some(r) = tree.root {
        walk(tree, r, path, &mut out);
    }
    out
}

fn str_at(tree: &Tree, doc: &FileDoc, map: NodeId, key: &str) -> Option<Spanned<Name>> {
    let v = resolved(tree, tree.get(map, key)?);
    let s = tree.scalar(v)?;
    Some(Spanned { value: Name::from(s), range: doc.abs(tree.node(v).range) })
}

fn is_kustomize_file(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}

pub fn kustomize_file_name(path: &Path) -> bool {
    is_kustomize_file(path)
}

/// What one document says: its object and its references, with ranges
/// relative to the document and object indices relative to it (its object
/// is 0). Memoised on the parsed document, which is reused while its text is
/// unchanged, so a keystroke extracts one document and moves the others.
#[derive(Debug)]
pub struct DocPart {
    pub object: ObjectInfo,
    pub refs: RefSummary,
    /// The document's text turns `--no-cross-namespace-refs` on.
    sets_no_cross_ns: bool,
    /// A hash of what other files can see of it (no positions).
    pub key: u64,
    /// For releases and chart sources, a hash of what chart resolution
    /// reads of it; 0 for other documents.
    pub chart_key: u64,
}

/// The part of one document (an open file's next version takes it over
/// from its [`PartTable`] while the document is unchanged).
/// `kustomize_first`: the document is the first of a `kustomization.yaml`,
/// read as one even without apiVersion.
pub fn doc_part(doc: &FileDoc, kustomize_first: bool) -> Arc<DocPart> {
    let rel = FileDoc::new(
        crate::syntax::DocSpan { range: TextRange::new(0, doc.parsed.text.len()), marker: None },
        doc.parsed.clone(),
    );
    let object = super::object_of(0, &rel);
    let mut refs = RefSummary::default();
    extract_object(0, &object, &rel, kustomize_first, &mut refs);
    for c in &rel.parsed.comments {
        if let Some(m) = parse_marker(rel.parsed.comment_text(*c), c.start) {
            refs.markers.push(m);
        }
    }
    let sets = sets_no_cross_ns(&rel.parsed.text);
    let mut s = std::collections::hash_map::DefaultHasher::new();
    // which chart a release installs is read from other documents too (a
    // values-only patch, the chart source): part of what they see, and all
    // that a release's chart resolution reads of other documents
    let tree = &rel.parsed.tree;
    let chart_key = match object.kind_str() {
        "HelmRelease" | "HelmRepository" | "OCIRepository" | "HelmChart" if object.class == ObjectClass::Flux => {
            let mut c = std::collections::hash_map::DefaultHasher::new();
            if object.kind_str() == "HelmRelease" {
                h(
                    &mut c,
                    (
                        tree.lookup(&["spec", "chart"]).is_some(),
                        tree.lookup(&["spec", "chartRef"]).is_some(),
                        tree.lookup_str(&["spec", "chart", "spec", "chart"]).map(|x| x.0),
                        tree.lookup_str(&["spec", "chart", "spec", "version"]).map(|x| x.0),
                    ),
                );
            } else {
                h(&mut c, &*rel.parsed.text);
            }
            h(&mut c, (object.kind_str(), object.name_str(), sv(&object.namespace)));
            // never 0, which stands for "not a chart document"
            c.finish() | 1
        }
        _ => 0,
    };
    h(&mut s, chart_key);
    h(
        &mut s,
        (
            object.class,
            sv(&object.api_version),
            object.kind_str(),
            object.name_str(),
            sv(&object.namespace),
            refs.key(),
            sets,
        ),
    );
    Arc::new(DocPart { object, refs, sets_no_cross_ns: sets, key: s.finish(), chart_key })
}

/// The objects and references of a file, from its documents' parts, moved
/// to where each document is now; and a hash of what other files can see.
pub fn assemble(docs: &[FileDoc], parts: &[Arc<DocPart>]) -> FileSummary {
    let mut objects = Vec::with_capacity(parts.len());
    let mut out = RefSummary::default();
    let mut key = term(usize::MAX, parts.len() as u64);
    let (mut chart_docs, mut chart_sum) = (0, 0u64);
    let mut sets = false;
    let mut crds = false;
    for (i, (doc, part)) in docs.iter().zip(parts).enumerate() {
        let base = doc.base();
        crds |= part.object.kind_str() == "CustomResourceDefinition";
        objects.push(part.object.moved(i, base));
        out.append_moved(&part.refs, i, base);
        sets |= part.sets_no_cross_ns;
        key = key.wrapping_add(term(i, part.key));
        if part.chart_key != 0 {
            chart_docs += 1;
            chart_sum = chart_sum.wrapping_add(term(i, part.chart_key));
        }
    }
    if out.no_cross_ns.is_empty() && sets {
        // set somewhere else than in a kustomize patch: every controller
        out.no_cross_ns.push("*".into());
    }
    FileSummary { objects, refs: out, key, chart_key: chart_key(chart_docs, chart_sum), crds, chart_docs, chart_sum }
}

/// A file's keys are sums of one term per document (its index and its
/// part's key, mixed), so that a change of one document updates them by
/// its terms alone. (A finalizer of splitmix64: every input bit moves
/// every output bit.)
fn term(i: usize, v: u64) -> u64 {
    let mut z = v ^ (i as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A file's chart key: 0 without chart documents, never 0 with some.
fn chart_key(docs: usize, sum: u64) -> u64 {
    if docs > 0 { sum | 1 } else { 0 }
}

/// Extracts the objects and references of one file.
pub fn extract(path: &Path, docs: &[FileDoc]) -> FileSummary {
    extract_edited(path, docs, false, None).0
}

/// The parts of a file's documents, with the documents' ids: an open
/// document keeps them for its next version, which takes the parts of the
/// documents it kept from this array instead of from each parse's memo (at
/// 10,000 documents, reading every parse's memo was a tenth of a keystroke).
#[derive(Debug)]
pub struct PartTable {
    ids: Vec<u64>,
    parts: Vec<Arc<DocPart>>,
}

impl PartTable {
    /// The parts, one per document.
    pub fn parts(&self) -> &[Arc<DocPart>] {
        &self.parts
    }
}

/// [`extract`] for a new version of a file whose previous version's parts
/// were `prev`; also returns this version's parts when `keep` (open
/// documents: files read from disk keep none).
pub fn extract_edited(
    path: &Path,
    docs: &[FileDoc],
    keep: bool,
    prev: Option<&PartTable>,
) -> (FileSummary, Option<Arc<PartTable>>) {
    let kfile = is_kustomize_file(path);
    let parts: Vec<Arc<DocPart>> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            prev.and_then(|p| crate::syntax::kept_index(&p.ids, docs.len(), i, d.id).map(|j| p.parts[j].clone()))
                .unwrap_or_else(|| doc_part(d, i == 0 && kfile))
        })
        .collect();
    let summary = assemble(docs, &parts);
    let table = keep.then(|| Arc::new(PartTable { ids: docs.iter().map(|d| d.id).collect(), parts }));
    (summary, table)
}

/// A change of an open file, worked out against its summary without
/// touching it: what [`InPlace::commit`] writes. It exists for a change that
/// keeps the file's documents and, in each, the number of items of each
/// sort, so that the object indices and every item's index stay, and the
/// summary is patched where it is instead of assembled again: the run's
/// items are overwritten, the later ones move, and the file's keys change
/// by the run's terms. A keystroke in a file of 10,000 documents then costs
/// about one document, not a copy of them all. When the run's keys changed,
/// other files see the change: the cross-file model is patched from the
/// run's previous items ([`crate::workspace::resolve::OldRun`]).
pub struct InPlace {
    k: usize,
    parts: Vec<Arc<DocPart>>,
    /// A document of the run changed what other files see.
    pub key_changed: bool,
    bases: Vec<usize>,
    delta: isize,
    /// Where the run's items are in each vector of the summary.
    at: RunAt,
}

/// Index ranges of a run's items in a [`RefSummary`].
#[derive(Default)]
struct RunAt {
    refs: std::ops::Range<usize>,
    appliers: std::ops::Range<usize>,
    produced: std::ops::Range<usize>,
    data_keys: std::ops::Range<usize>,
    sops: std::ops::Range<usize>,
    git_sources: std::ops::Range<usize>,
    vars: std::ops::Range<usize>,
    markers: std::ops::Range<usize>,
}

impl RunAt {
    /// The number of items of each sort, in the order of [`counts`].
    fn lens(&self) -> [usize; 8] {
        [
            self.refs.len(),
            self.appliers.len(),
            self.produced.len(),
            self.data_keys.len(),
            self.sops.len(),
            self.git_sources.len(),
            self.vars.len(),
            self.markers.len(),
        ]
    }
}

/// The items of `v` (in order of `at`) with `at` in `[lo, hi)`: the run of
/// documents `[lo, hi)` by object index, or of the text `[lo, hi)` by
/// position.
pub(super) fn run_of<T>(v: &[T], at: impl Fn(&T) -> usize, lo: usize, hi: usize) -> std::ops::Range<usize> {
    v.partition_point(|x| at(x) < lo)..v.partition_point(|x| at(x) < hi)
}

/// Counts of a part's items, by sort (what must stay for a patch in place).
fn counts(r: &RefSummary) -> [usize; 8] {
    [
        r.refs.len(),
        r.appliers.len(),
        r.produced.len(),
        r.data_keys.len(),
        r.sops.len(),
        r.git_sources.len(),
        r.vars.len(),
        r.markers.len(),
    ]
}

impl InPlace {
    /// The patch of `summary` (with its part table `table`, over the old
    /// documents `docs`) for the change `patch`, or None when the change is
    /// not one a patch in place can follow.
    pub fn plan(
        path: &Path,
        summary: &FileSummary,
        table: &PartTable,
        docs: &[FileDoc],
        patch: &crate::syntax::DocsPatch,
    ) -> Option<InPlace> {
        let (k, n) = (patch.k, patch.docs.len());
        if n != patch.old_len || n == 0 || is_kustomize_file(path) || table.ids.len() != docs.len() {
            return None;
        }
        if summary.objects.len() != docs.len() || summary.refs.kustomize.is_some() {
            return None;
        }
        let mut parts = Vec::with_capacity(n);
        let mut key_changed = false;
        for (j, d) in patch.docs.iter().enumerate() {
            let old = &table.parts[k + j];
            let new = if table.ids[k + j] == d.id { old.clone() } else { doc_part(d, false) };
            let plain = |p: &DocPart| {
                p.refs.kustomize.is_none() && p.refs.artifact_copies.is_empty() && p.refs.no_cross_ns.is_empty()
            };
            if new.sets_no_cross_ns != old.sets_no_cross_ns
                || (new.object.kind_str() == "CustomResourceDefinition")
                    != (old.object.kind_str() == "CustomResourceDefinition")
                || counts(&new.refs) != counts(&old.refs)
                || !plain(&new)
                || !plain(old)
            {
                return None;
            }
            key_changed |= new.key != old.key;
            parts.push(new);
        }
        // the run's items: by object index, or by position for those
        // without one (an item of the run starts before its end, or at it
        // when empty; the next document starts after a marker line)
        let r = &summary.refs;
        let (lo, hi) = (k, k + n);
        let (start, end) = (docs[lo].base(), docs[hi - 1].span.range.end);
        let at = RunAt {
            refs: run_of(&r.refs, |x| x.object, lo, hi),
            appliers: run_of(&r.appliers, |x| x.object, lo, hi),
            produced: run_of(&r.produced, |x| x.object, lo, hi),
            data_keys: run_of(&r.data_keys, |x| x.0, lo, hi),
            sops: run_of(&r.sops, |x| *x, lo, hi),
            git_sources: run_of(&r.git_sources, |x| x.object, lo, hi),
            vars: run_of(&r.vars, |x| x.range.start, start, end + 1),
            markers: run_of(&r.markers, |x| x.range.start, start, end + 1),
        };
        // the items found are exactly the old run's
        let mut want = [0usize; 8];
        for j in 0..n {
            for (w, c) in want.iter_mut().zip(counts(&table.parts[k + j].refs)) {
                *w += c;
            }
        }
        if at.lens() != want {
            return None;
        }
        let bases = patch.docs.iter().map(|d| d.base()).collect();
        Some(InPlace { k, parts, key_changed, bases, delta: patch.delta, at })
    }

    /// Writes the patch: the run's objects and items, the later ones moved,
    /// and the run's parts into the table.
    pub fn commit(self, summary: &mut FileSummary, table: &mut PartTable, ids: impl Iterator<Item = u64>) {
        let InPlace { k, parts, bases, delta, at, .. } = self;
        // the keys, by the run's terms
        for (j, (old, new)) in table.parts[k..].iter().zip(&parts).enumerate() {
            let i = k + j;
            summary.key = summary.key.wrapping_sub(term(i, old.key)).wrapping_add(term(i, new.key));
            if old.chart_key != 0 {
                summary.chart_docs -= 1;
                summary.chart_sum = summary.chart_sum.wrapping_sub(term(i, old.chart_key));
            }
            if new.chart_key != 0 {
                summary.chart_docs += 1;
                summary.chart_sum = summary.chart_sum.wrapping_add(term(i, new.chart_key));
            }
        }
        summary.chart_key = chart_key(summary.chart_docs, summary.chart_sum);
        let mut run = RefSummary::default();
        for (j, (p, &base)) in parts.iter().zip(&bases).enumerate() {
            summary.objects[k + j] = p.object.moved(k + j, base);
            run.append_moved(&p.refs, k + j, base);
        }
        for a in &mut run.appliers {
            a.source_ref = a.source_ref.map(|i| i + at.refs.start);
        }
        for o in &mut summary.objects[k + parts.len()..] {
            o.shift(delta);
        }
        let r = &mut summary.refs;
        overwrite(&mut r.refs, at.refs, run.refs, delta);
        overwrite(&mut r.appliers, at.appliers, run.appliers, delta);
        overwrite(&mut r.produced, at.produced, run.produced, delta);
        overwrite(&mut r.data_keys, at.data_keys, run.data_keys, delta);
        overwrite(&mut r.sops, at.sops, run.sops, delta);
        overwrite(&mut r.git_sources, at.git_sources, run.git_sources, delta);
        overwrite(&mut r.vars, at.vars, run.vars, delta);
        overwrite(&mut r.markers, at.markers, run.markers, delta);
        for (j, (id, p)) in ids.zip(parts).enumerate() {
            table.ids[k + j] = id;
            table.parts[k + j] = p;
        }
    }
}

/// Puts `new` in the place of `v[at]` (the same number of items) and moves
/// the items after it by `delta` bytes.
fn overwrite<T: Shift>(v: &mut [T], at: std::ops::Range<usize>, new: Vec<T>, delta: isize) {
    let end = at.end;
    for (slot, item) in v[at].iter_mut().zip(new) {
        *slot = item;
    }
    for item in &mut v[end..] {
        item.shift(delta);
    }
}

/// Moving an item's ranges in place (see [`RefSummary::append_moved`], which
/// moves the same fields).
pub trait Shift {
    fn shift(&mut self, delta: isize);
}

impl Shift for TextRange {
    fn shift(&mut self, delta: isize) {
        *self = self.moved(delta);
    }
}
impl<T> Shift for Spanned<T> {
    fn shift(&mut self, delta: isize) {
        Shift::shift(&mut self.range, delta);
    }
}
impl<T: Shift> Shift for Option<T> {
    fn shift(&mut self, delta: isize) {
        if let Some(x) = self {
            x.shift(delta);
        }
    }
}
impl Shift for usize {
    fn shift(&mut self, _: isize) {}
}
impl Shift for GitSource {
    fn shift(&mut self, _: isize) {}
}
impl Shift for ObjectInfo {
    fn shift(&mut self, delta: isize) {
        Shift::shift(&mut self.range, delta);
        self.api_version.shift(delta);
        self.kind.shift(delta);
        self.name.shift(delta);
        self.namespace.shift(delta);
    }
}
impl Shift for RefInfo {
    fn shift(&mut self, delta: isize) {
        self.kind.shift(delta);
        self.name.shift(delta);
        self.namespace.shift(delta);
        Shift::shift(&mut self.block, delta);
    }
}
impl Shift for Applier {
    fn shift(&mut self, delta: isize) {
        self.path.shift(delta);
        for (k, _) in &mut self.substitute {
            k.shift(delta);
        }
        for c in &mut self.components {
            c.shift(delta);
        }
    }
}
impl Shift for Produced {
    fn shift(&mut self, delta: isize) {
        self.name.shift(delta);
    }
}
impl Shift for (usize, Vec<Spanned<Name>>) {
    fn shift(&mut self, delta: isize) {
        for k in &mut self.1 {
            k.shift(delta);
        }
    }
}
impl Shift for VarUse {
    fn shift(&mut self, delta: isize) {
        Shift::shift(&mut self.range, delta);
        Shift::shift(&mut self.name_range, delta);
    }
}
impl Shift for ImageMarker {
    fn shift(&mut self, delta: isize) {
        Shift::shift(&mut self.range, delta);
        Shift::shift(&mut self.name_range, delta);
    }
}

fn extract_object(oi: usize, obj: &ObjectInfo, doc: &FileDoc, kustomize_first: bool, out: &mut RefSummary) {
    let tree = &doc.parsed.tree;
    let kind = obj.kind_str();
    if obj.class == ObjectClass::Flux {
        extract_refs(oi, kind, tree, doc, out);
        extract_flux_extra(oi, obj, kind, tree, doc, out);
    }
    if obj.class == ObjectClass::KubeRef && matches!(kind, "Secret" | "ConfigMap") {
        let mut keys = Vec::new();
        for field in ["data", "stringData", "binaryData"] {
            if let Some(m) = tree.lookup(&[field]) {
                for e in tree.entries(resolved(tree, m)) {
                    if let Some(k) = tree.scalar(e.key) {
                        keys.push(Spanned { value: Name::from(k), range: doc.abs(tree.node(e.key).range) });
                    }
                }
            }
        }
        out.data_keys.push((oi, keys));
    }
    if tree.lookup(&["sops"]).is_some() {
        out.sops.push(oi);
    }
    extract_produced_other(oi, obj, kind, tree, doc, out);
    if obj.class == ObjectClass::Kustomize || (kustomize_first && obj.class == ObjectClass::NotKube) {
        extract_kustomize(oi, tree, doc, out);
    }
    let disabled = tree
        .lookup(&["metadata", "annotations", "kustomize.toolkit.fluxcd.io/substitute"])
        .and_then(|v| tree.scalar(v))
        == Some("disabled");
    if !disabled && obj.class != ObjectClass::Kustomize && obj.class != ObjectClass::NotKube {
        extract_vars(Some(oi), doc, out);
    }
}

fn mv_opt(s: &Option<Spanned<Name>>, base: usize) -> Option<Spanned<Name>> {
    s.as_ref().map(|s| s.moved(base))
}

impl RefSummary {
    /// Appends a document's part: its ranges moved by `base`, its object
    /// indices by `oi`, its indices into `refs` by the refs already there.
    fn append_moved(&mut self, p: &RefSummary, oi: usize, base: usize) {
        let ref0 = self.refs.len();
        self.refs.extend(p.refs.iter().map(|r| RefInfo {
            object: r.object + oi,
            field: r.field,
            kind: mv_opt(&r.kind, base),
            name: r.name.moved(base),
            namespace: mv_opt(&r.namespace, base),
            block: r.block.shift(base),
            optional: r.optional,
            selector: r.selector,
            alias: r.alias.clone(),
        }));
        if let Some(k) = &p.kustomize {
            self.kustomize = Some(KustomizeInfo {
                namespace: mv_opt(&k.namespace, base),
                paths: k.paths.iter().map(|x| PathRef { range: x.range.shift(base), ..x.clone() }).collect(),
            });
        }
        self.appliers.extend(p.appliers.iter().map(|a| Applier {
            object: a.object + oi,
            path: mv_opt(&a.path, base),
            target_namespace: a.target_namespace.clone(),
            post_build: a.post_build,
            substitute: a.substitute.iter().map(|(k, v)| (k.moved(base), v.clone())).collect(),
            components: a.components.iter().map(|c| c.moved(base)).collect(),
            source_ref: a.source_ref.map(|r| r + ref0),
            from_instance: a.from_instance,
        }));
        self.produced.extend(p.produced.iter().map(|x| Produced {
            object: x.object + oi,
            kind: x.kind.clone(),
            name: x.name.moved(base),
            namespace: x.namespace.clone(),
            opaque: x.opaque,
        }));
        self.data_keys.extend(p.data_keys.iter().map(|(o, ks)| (o + oi, ks.iter().map(|k| k.moved(base)).collect())));
        self.sops.extend(p.sops.iter().map(|o| o + oi));
        self.git_sources.extend(p.git_sources.iter().map(|g| GitSource { object: g.object + oi, ..g.clone() }));
        self.artifact_copies.extend(p.artifact_copies.iter().cloned());
        self.vars.extend(p.vars.iter().map(|v| VarUse {
            range: v.range.shift(base),
            name: v.name.clone(),
            name_range: v.name_range.shift(base),
            has_default: v.has_default,
            object: v.object.map(|o| o + oi),
        }));
        self.markers.extend(p.markers.iter().map(|m| ImageMarker {
            range: m.range.shift(base),
            name_range: m.name_range.shift(base),
            ..m.clone()
        }));
        self.no_cross_ns.extend(p.no_cross_ns.iter().cloned());
    }
}

/// The text turns `--no-cross-namespace-refs` on (not commented out, not `=false`).
fn sets_no_cross_ns(text: &str) -> bool {
    const FLAG: &str = "--no-cross-namespace-refs";
    text.match_indices(FLAG).any(|(i, _)| {
        let rest = &text[i + FLAG.len()..];
        let line_start = text[..i].rfind('\n').map(|x| x + 1).unwrap_or(0);
        let commented = text[line_start..i].trim_start().starts_with('#');
        !rest.starts_with("=false") && !commented
    })
}

/// The Flux controllers, as named in kustomize patch targets.
pub const CONTROLLERS: &[&str] = &[
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
    "source-controller",
    "source-watcher",
];

/// The controller that resolves the references of a kind.
pub fn controller_of(kind: &str) -> &'static str {
    match kind {
        "Kustomization" => "kustomize-controller",
        "HelmRelease" => "helm-controller",
        "Alert" | "Receiver" | "Provider" => "notification-controller",
        "ImagePolicy" | "ImageRepository" => "image-reflector-controller",
        "ImageUpdateAutomation" => "image-automation-controller",
        "ArtifactGenerator" => "source-watcher",
        _ => "source-controller",
    }
}

fn extract_refs(oi: usize, kind: &str, tree: &Tree, doc: &FileDoc, out: &mut RefSummary) {
    for (fi, field) in fields_of(kind) {
        for node in nodes_at(tree, field.path) {
            let n = tree.node(node);
            match field.shape {
                Shape::Scalar => {
                    let Some(s) = tree.scalar(node) else { continue };
                    if s.is_empty() {
                        continue;
                    }
                    let r = doc.abs(n.range);
                    out.refs.push(RefInfo {
                        object: oi,
                        field: fi,
                        kind: None,
                        name: Spanned { value: Name::from(s), range: r },
                        namespace: None,
                        block: r,
                        optional: false,
                        selector: false,
                        alias: None,
                    });
                }
                Shape::Block => {
                    if !matches!(n.kind, NodeKind::Map { .. }) {
                        continue;
                    }
                    let block = doc.abs(n.range);
                    let name = str_at(tree, doc, node, "name");
                    let selector = tree.get(node, "matchLabels").is_some() || tree.get(node, "selector").is_some();
                    let name = match name {
                        Some(n) => n,
                        None if selector => continue,
                        None => Spanned { value: Name::default(), range: TextRange::empty(block.start) },
                    };
                    let optional = tree.get(node, "optional").and_then(|v| tree.scalar(v)) == Some("true");
                    out.refs.push(RefInfo {
                        object: oi,
                        field: fi,
                        kind: str_at(tree, doc, node, "kind"),
                        name,
                        namespace: str_at(tree, doc, node, "namespace"),
                        block,
                        optional,
                        selector,
                        alias: str_at(tree, doc, node, "alias").map(|s| s.value.to_string()),
                    });
                }
            }
        }
    }
}

fn extract_flux_extra(oi: usize, obj: &ObjectInfo, kind: &str, tree: &Tree, doc: &FileDoc, out: &mut RefSummary) {
    let spanned = |path: &[&str]| {
        let (v, r) = tree.lookup_str(path)?;
        Some(Spanned { value: Name::from(v), range: doc.abs(r) })
    };
    match kind {
        "Kustomization" => {
            let source_ref = out.refs.iter().position(|r| r.object == oi && r.spec().label == "spec.sourceRef");
            let mut substitute = Vec::new();
            if let Some(m) = tree.lookup(&["spec", "postBuild", "substitute"]) {
                for e in tree.entries(resolved(tree, m)) {
                    let Some(k) = tree.scalar(e.key) else { continue };
                    let v = e.value.and_then(|v| tree.scalar(resolved(tree, v))).unwrap_or("");
                    substitute.push((
                        Spanned { value: Name::from(k), range: doc.abs(tree.node(e.key).range) },
                        v.to_string(),
                    ));
                }
            }
            let components = nodes_at(tree, &["spec", "components", "[]"])
                .into_iter()
                .filter_map(|n| {
                    Some(Spanned { value: Name::from(tree.scalar(n)?), range: doc.abs(tree.node(n).range) })
                })
                .collect();
            out.appliers.push(Applier {
                object: oi,
                path: spanned(&["spec", "path"]),
                target_namespace: spanned(&["spec", "targetNamespace"]).map(|s| s.value.to_string()),
                post_build: tree.lookup(&["spec", "postBuild"]).is_some(),
                substitute,
                components,
                source_ref,
                from_instance: false,
            });
        }
        "GitRepository" => {
            if let Some(url) = spanned(&["spec", "url"]) {
                out.git_sources.push(GitSource {
                    object: oi,
                    url: url.value.to_string(),
                    branch: spanned(&["spec", "ref", "branch"]).map(|s| s.value.to_string()),
                });
            }
        }
        "ArtifactGenerator" => {
            for n in nodes_at(tree, &["spec", "artifacts", "[]"]) {
                if let Some(name) = str_at(tree, doc, n, "name") {
                    for c in nodes_at_from(tree, n, &["copy", "[]"]) {
                        let get = |k: &str| tree.get(c, k).and_then(|v| tree.scalar(v)).map(str::to_string);
                        if let (Some(from), Some(to)) = (get("from"), get("to")) {
                            out.artifact_copies.push(ArtifactCopy { artifact: name.value.to_string(), from, to });
                        }
                    }
                    out.produced.push(Produced {
                        object: oi,
                        kind: "ExternalArtifact".into(),
                        name,
                        namespace: None,
                        opaque: false,
                    });
                }
            }
        }
        "FluxInstance" => {
            if tree.lookup(&["spec", "cluster", "multitenant"]).and_then(|v| tree.scalar(v)) == Some("true") {
                out.no_cross_ns.push("*".into());
            }
            if let Some(sync) = tree.lookup(&["spec", "sync"]) {
                let ns: Name = obj.namespace.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| "flux-system".into());
                let name = str_at(tree, doc, sync, "name")
                    .unwrap_or(Spanned { value: ns.clone(), range: doc.abs(tree.node(sync).range) });
                let src_kind = str_at(tree, doc, sync, "kind")
                    .map(|s| s.value.to_string())
                    .unwrap_or_else(|| "GitRepository".into());
                out.produced.push(Produced {
                    object: oi,
                    kind: src_kind,
                    name: name.clone(),
                    namespace: None,
                    opaque: false,
                });
                out.produced.push(Produced {
                    object: oi,
                    kind: "Kustomization".into(),
                    name,
                    namespace: None,
                    opaque: false,
                });
                out.appliers.push(Applier {
                    object: oi,
                    path: str_at(tree, doc, sync, "path"),
                    target_namespace: None,
                    post_build: false,
                    substitute: Vec::new(),
                    components: Vec::new(),
                    source_ref: None,
                    from_instance: true,
                });
            }
        }
        _ => {}
    }
}

fn extract_produced_other(oi: usize, obj: &ObjectInfo, kind: &str, tree: &Tree, doc: &FileDoc, out: &mut RefSummary) {
    let group = obj.group();
    let secret = |name: Option<Spanned<Name>>, out: &mut RefSummary| {
        if let Some(name) = name.or_else(|| obj.name.clone()) {
            out.produced.push(Produced { object: oi, kind: "Secret".into(), name, namespace: None, opaque: true });
        }
    };
    let spanned = |path: &[&str]| {
        let (v, r) = tree.lookup_str(path)?;
        Some(Spanned { value: Name::from(v), range: doc.abs(r) })
    };
    match (group, kind) {
        ("external-secrets.io", "ExternalSecret") => secret(spanned(&["spec", "target", "name"]), out),
        ("bitnami.com", "SealedSecret") => secret(spanned(&["spec", "template", "metadata", "name"]), out),
        ("cert-manager.io", "Certificate") => {
            if let Some(n) = spanned(&["spec", "secretName"]) {
                secret(Some(n), out)
            }
        }
        ("onepassword.com", "OnePasswordItem") => secret(None, out),
        _ => {}
    }
}

fn extract_kustomize(oi: usize, tree: &Tree, doc: &FileDoc, out: &mut RefSummary) {
    let Some(root) = tree.root else { return };
    let mut k = KustomizeInfo { namespace: str_at(tree, doc, root, "namespace"), paths: Vec::new() };
    let add = |n: NodeId, role: PathRole, field: &'static str, k: &mut KustomizeInfo| {
        let Some(s) = tree.scalar(n) else { return };
        k.paths.push(PathRef { value: s.to_string(), range: doc.abs(tree.node(n).range), role, field });
    };
    for (key, role) in [
        ("resources", PathRole::Resource),
        ("bases", PathRole::Resource),
        ("components", PathRole::Component),
        ("crds", PathRole::Other),
        ("patchesStrategicMerge", PathRole::Patch),
        ("transformers", PathRole::Other),
        ("generators", PathRole::Other),
        ("validators", PathRole::Other),
    ] {
        for n in nodes_at(tree, &[key, "[]"]) {
            let field: &'static str = key;
            // inline patches and transformer configs are not paths
            if tree.scalar(n).is_some_and(|s| s.contains('\n') || s.contains(": ")) {
                continue;
            }
            add(n, role, field, &mut k);
        }
    }
    for item in nodes_at(tree, &["patches", "[]"]) {
        let Some(patch) = tree.get(item, "patch").and_then(|p| tree.scalar(resolved(tree, p))) else { continue };
        if !sets_no_cross_ns(patch) {
            continue;
        }
        let target =
            tree.get(item, "target").and_then(|t| tree.get(resolved(tree, t), "name")).and_then(|n| tree.scalar(n));
        match target {
            Some(t) if CONTROLLERS.iter().any(|c| t.contains(c)) => {
                out.no_cross_ns.extend(CONTROLLERS.iter().filter(|c| t.contains(*c)).map(|c| c.to_string()));
            }
            // no target, or a regular expression the server does not evaluate
            _ => out.no_cross_ns.push("*".into()),
        }
    }
    for (list, role) in
        [("patches", PathRole::Patch), ("patchesJson6902", PathRole::Patch), ("replacements", PathRole::Other)]
    {
        for item in nodes_at(tree, &[list, "[]"]) {
            if let Some(p) = tree.get(item, "path") {
                add(resolved(tree, p), role, list, &mut k);
            }
        }
    }
    for gen_key in ["configMapGenerator", "secretGenerator"] {
        let gkind = if gen_key == "configMapGenerator" { "ConfigMap" } else { "Secret" };
        for item in nodes_at(tree, &[gen_key, "[]"]) {
            for field in ["files", "envs"] {
                for n in nodes_at_from(tree, item, &[field, "[]"]) {
                    let Some(s) = tree.scalar(n) else { continue };
                    // `key=path`
                    let (off, p) = match s.split_once('=') {
                        Some((a, b)) => (a.len() + 1, b),
                        None => (0, s),
                    };
                    let r = doc.abs(tree.node(n).range);
                    let quoted = (r.len() > s.len()) as usize;
                    let start = r.start + quoted + off;
                    k.paths.push(PathRef {
                        value: p.to_string(),
                        range: TextRange::new(start.min(r.end), (start + p.len()).min(r.end)),
                        role: PathRole::Generator,
                        field: gen_key,
                    });
                }
            }
            if let Some(e) = tree.get(item, "env") {
                add(resolved(tree, e), PathRole::Generator, gen_key, &mut k);
            }
            if let Some(name) = str_at(tree, doc, item, "name") {
                let namespace = str_at(tree, doc, item, "namespace").map(|s| s.value.to_string());
                out.produced.push(Produced { object: oi, kind: gkind.into(), name, namespace, opaque: true });
            }
        }
    }
    for item in nodes_at(tree, &["helmCharts", "[]"]) {
        if let Some(p) = tree.get(item, "valuesFile") {
            add(resolved(tree, p), PathRole::Other, "helmCharts", &mut k);
        }
    }
    out.kustomize = Some(k);
}

fn nodes_at_from(tree: &Tree, at: NodeId, path: &[&str]) -> Vec<NodeId> {
    let mut out = Vec::new();
    walk(tree, at, path, &mut out);
    out
}

/// Finds `${VAR}` in a document's text, outside comments.
fn extract_vars(object: Option<usize>, doc: &FileDoc, out: &mut RefSummary) {
    let text = &doc.parsed.text;
    let comments = &doc.parsed.comments;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(p) = text[i..].find("${") {
        let at = i + p;
        i = at + 2;
        if comments.iter().any(|c| c.contains(at)) {
            continue;
        }
        if at > 0 && bytes[at - 1] == b'$' {
            continue; // `$${VAR}` is an escape
        }
        let Some(close) = text[at + 2..].find(['}', '\n']) else { continue };
        let end = at + 2 + close;
        if bytes[end] != b'}' {
            continue;
        }
        let inner = &text[at + 2..end];
        let name_len = inner.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let name = &inner[..name_len];
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        let rest = &inner[name_len..];
        let has_default =
            rest.starts_with(":=") || rest.starts_with(":-") || rest.starts_with('=') || rest.starts_with('-');
        out.vars.push(VarUse {
            range: doc.abs(TextRange::new(at, end + 1)),
            name: name.to_string(),
            name_range: doc.abs(TextRange::new(at + 2, at + 2 + name_len)),
            has_default,
            object,
        });
        i = end + 1;
    }
}

/// Parses a setter comment `# {"$imagepolicy": "ns:name:tag"}` starting at
/// absolute offset `base`.
pub fn parse_marker(comment: &str, base: usize) -> Option<ImageMarker> {
    let k = comment.find("\"$imagepolicy\"")?;
    let after = &comment[k + "\"$imagepolicy\"".len()..];
    let colon = after.find(':')?;
    let rest = &after[colon + 1..];
    let q = rest.find('"')?;
    if !rest[..q].trim().is_empty() {
        return None;
    }
    let val_start_rel = k + "\"$imagepolicy\"".len() + colon + 1 + q + 1;
    let val_len = comment[val_start_rel..].find('"').unwrap_or(comment.len() - val_start_rel);
    let value = &comment[val_start_rel..val_start_rel + val_len];
    let start = base + val_start_rel;
    let parts: Vec<&str> = value.split(':').collect();
    let (namespace, name, name_off, suffix) = match parts.as_slice() {
        [name] => (None, *name, 0, None),
        [ns, name] => (Some(ns.to_string()), *name, ns.len() + 1, None),
        [ns, name, suffix, ..] => (Some(ns.to_string()), *name, ns.len() + 1, Some(suffix.to_string())),
        [] => return None,
    };
    Some(ImageMarker {
        range: TextRange::new(start, start + val_len),
        namespace,
        name: name.to_string(),
        name_range: TextRange::new(start + name_off, start + name_off + name.len()),
        suffix,
    })
}

/// Edits between two names (with transpositions), capped at 3: callers
/// only ask whether a name is one edit away.
pub fn edit_distance(a: &str, b: &str) -> usize {
    if a.chars().count().abs_diff(b.chars().count()) > 2 {
        return 3;
    }
    crate::schema::values::edit_distance(a, b).min(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::SyntaxFile;

    fn summary(path: &str, src: &str) -> RefSummary {
        let f = SyntaxFile::parse(src, None);
        extract(Path::new(path), &f.docs).refs
    }

    #[test]
    fn extracts_refs_with_ranges_and_defaults() {
        let src = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\nspec:\n  chart:\n    spec:\n      sourceRef:\n        name: repo\n  dependsOn:\n    - name: b\n      namespace: x\n  valuesFrom:\n    - kind: Secret\n      name: vals\n      optional: true\n";
        let s = summary("/a.yaml", src);
        assert_eq!(s.refs.len(), 3);
        let r = &s.refs[0];
        assert_eq!(r.target_kind(), Some("HelmRepository"));
        assert_eq!(&src[r.name.range.start..r.name.range.end], "repo");
        assert_eq!(s.refs[1].namespace.as_ref().unwrap().value, "x");
        assert!(s.refs[2].optional);
    }

    #[test]
    fn reference_kind_paths() {
        use crate::syntax::PathSeg::{Index, Key};
        let k = |s: &str| Key(s.to_string());
        assert!(is_reference_kind("HelmRelease", &[k("spec"), k("chartRef"), k("kind")]));
        assert!(is_reference_kind("Alert", &[k("spec"), k("eventSources"), Index(2), k("kind")]));
        assert!(!is_reference_kind("HelmRelease", &[k("spec"), k("chartRef"), k("name")]));
        assert!(!is_reference_kind("Kustomization", &[k("spec"), k("healthChecks"), Index(0), k("kind")]));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for (p, src) in [
            ("/k/kustomization.yaml", ""),
            ("/k/kustomization.yaml", "# only a comment\n"),
            ("/k/kustomization.yaml", "- a\n- b\n"),
            ("/k/kustomization.yaml", "resources: [a, {b: c}, [d]]\npatches: [x, {path: [1]}]\n"),
            ("/a.yaml", "a: ${\nb: ${}\nc: ${1x}\nd: # {\"$imagepolicy\": \"\nkind: X\n"),
            (
                "/a.yaml",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  sourceRef: [1]\n  dependsOn: {a: b}\n  postBuild:\n    substitute: [x]\n",
            ),
            (
                "/a.yaml",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  sourceRef: &a\n    name: *a\n",
            ),
            ("/a.yaml", "x: é # {\"$imagepolicy\": \"ns:ñame:tag\"}\n"),
        ] {
            let _ = summary(p, src);
        }
    }

    #[test]
    fn vars_markers_and_kustomize_paths() {
        let src = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # ${NOT}\ndata:\n  a: ${A}\n  b: $${B}\n  c: ${C:=x}\n  image: ghcr.io/x:1 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
        let s = summary("/a.yaml", src);
        let names: Vec<_> = s.vars.iter().map(|v| (v.name.as_str(), v.has_default)).collect();
        assert_eq!(names, vec![("A", false), ("C", true)]);
        let m = &s.markers[0];
        assert_eq!(&src[m.name_range.start..m.name_range.end], "app");
        assert_eq!(m.suffix.as_deref(), Some("tag"));
        let k = summary(
            "/d/kustomization.yaml",
            "resources:\n  - a.yaml\n  - ../b\npatches:\n  - path: p.yaml\nconfigMapGenerator:\n  - name: v\n    files:\n      - key=f.txt\n",
        );
        let paths: Vec<_> = k.kustomize.unwrap().paths.iter().map(|p| p.value.clone()).collect();
        assert_eq!(paths, vec!["a.yaml", "../b", "p.yaml", "f.txt"]);
        assert_eq!(edit_distance("podinfo", "podinf0"), 1);
        assert_eq!(edit_distance("podinfo", "podifno"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }
}
