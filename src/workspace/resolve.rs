//! The workspace-wide reference model: every object that can be referred to
//! (objects of the files, objects other objects create, the bootstrap
//! objects), effective namespaces, which files each Flux Kustomization
//! applies, every reference resolved, the reverse index and dependency
//! cycles. Built once after a summary changed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::namespaces::{GitInfo, Layout, git_info, normalize, normalize_url};
use super::refs::{Applier, ImageMarker, NsRule, RefInfo, controller_of, edit_distance, is_templated, run_of};
use super::{FileData, ObjectClass, ObjectInfo};
use crate::text::TextRange;

pub type TargetId = usize;

/// Where a referable object comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An object of a file (index in its summary).
    Object { path: PathBuf, object: usize },
    /// Created by another object (index in `refs.produced`).
    Produced { path: PathBuf, object: usize, produced: usize },
    /// Created by `flux bootstrap` or the Flux installation.
    Bootstrap,
}

#[derive(Clone, Debug)]
pub struct Target {
    pub kind: String,
    pub name: String,
    /// None = unknown (matches every namespace).
    pub ns: Option<String>,
    pub origin: Origin,
    /// Defined in a patch file (a partial object).
    pub patch: bool,
}

impl Target {
    /// A freed slot: no kind, no name, in no lookup.
    fn removed() -> Target {
        Target { kind: String::new(), name: String::new(), ns: None, origin: Origin::Bootstrap, patch: false }
    }
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Object { path, .. } | Origin::Produced { path, .. } => Some(path),
            Origin::Bootstrap => None,
        }
    }
    pub fn label(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// The outcome of resolving one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Not resolved by design: templated or wildcard names, selectors,
    /// kinds the server does not know.
    Skipped,
    /// The written kind is not allowed for the field.
    WrongKind,
    /// Found, but only in other namespaces.
    OtherNamespace(Vec<TargetId>),
    /// Not found; maybe a name one edit away.
    Unresolved {
        suggestion: Option<String>,
    },
    /// Found in another namespace while `--no-cross-namespace-refs` is set.
    CrossNamespaceBlocked,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The kind looked for (None = every allowed kind).
    pub kind: Option<String>,
    /// The namespace looked in (None = any).
    pub ns: Option<String>,
    /// Matching targets, nearest first.
    pub targets: Vec<TargetId>,
    pub status: Status,
}

/// A place that refers to a target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Site {
    /// `refs.refs[i]` of a file.
    Ref(PathBuf, usize),
    /// `refs.markers[i]` of a file.
    Marker(PathBuf, usize),
}

/// Where the files of a Flux Kustomization come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplierDir {
    /// The source is another repository or artifact: nothing to check.
    Unknown,
    /// Found in this repository.
    Found(PathBuf),
    /// The source is this repository but the path does not exist; the
    /// directories it was looked up in.
    Missing(Vec<PathBuf>),
}

#[derive(Clone, Debug, Default)]
pub struct RefModel {
    pub targets: Vec<Target>,
    /// kind → name → targets (nested, so a lookup by `&str` allocates nothing).
    by_kind_name: HashMap<String, HashMap<String, Vec<TargetId>>>,
    by_kind: HashMap<String, Vec<TargetId>>,
    /// Per file, the target of each object (by index in its summary).
    object_target: HashMap<PathBuf, Vec<Option<TargetId>>>,
    pub layout: Layout,
    /// Namespace of a file's objects without `metadata.namespace`, with what set it.
    file_ns: HashMap<PathBuf, (String, String)>,
    /// file → (file, applier index) of the Flux Kustomizations applying it.
    pub applied_by: HashMap<PathBuf, Vec<(PathBuf, usize)>>,
    pub applier_dirs: HashMap<(PathBuf, usize), ApplierDir>,
    /// Per file, the resolution of each of its references (in order): one
    /// lookup per file, none per reference.
    resolutions: HashMap<PathBuf, Vec<Resolution>>,
    marker_res: HashMap<PathBuf, Vec<Resolution>>,
    refs_to: HashMap<TargetId, Vec<Site>>,
    /// name → the files whose references or markers look it up, with how
    /// many (in path order; a list, lighter than a map for the many names
    /// one file uses): a changed name is looked up again in those files only.
    name_users: HashMap<String, Vec<(PathBuf, usize)>>,
    /// file → how many of its references and markers found nothing (their
    /// suggestion follows the names of the kind they look for).
    unresolved_in: HashMap<PathBuf, usize>,
    /// (file, ref index) of a dependsOn in a cycle → the cycle as text.
    cycles: HashMap<PathBuf, HashMap<usize, String>>,
    /// How many times [`RefModel::apply`] brought it up to date since it
    /// was built.
    pub patches: usize,
    /// Controllers running with `--no-cross-namespace-refs` (`*` = all).
    pub no_cross_ns: HashSet<String>,
    /// (kind, name) of every source whose targets decide where a Flux
    /// Kustomization's files are (applier sources, artifact generator
    /// sources), with how many refer to it: a change to such a target
    /// needs a rebuild.
    applier_sources: HashMap<(String, String), usize>,
    /// Slots of targets removed by a patch, reused first.
    free: Vec<TargetId>,
    pub git: Vec<GitInfo>,
    /// A hash of everything a release's chart resolution reads beyond its
    /// own document: the releases and chart sources of every file, with
    /// the namespaces inferred for their files. Equal across rebuilds
    /// when a change elsewhere (a GitRepository typed) left them alone.
    pub chart_env: u64,
}

/// Service accounts of the Flux controllers in `flux-system`.
const CONTROLLER_SAS: &[&str] = &[
    "kustomize-controller",
    "helm-controller",
    "source-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
    "flux-operator",
];

pub fn is_flux_kind(kind: &str) -> bool {
    matches!(
        kind,
        "GitRepository"
            | "OCIRepository"
            | "HelmRepository"
            | "HelmChart"
            | "Bucket"
            | "ExternalArtifact"
            | "Kustomization"
            | "HelmRelease"
            | "Provider"
            | "Alert"
            | "Receiver"
            | "ImageRepository"
            | "ImagePolicy"
            | "ImageUpdateAutomation"
            | "ArtifactGenerator"
            | "FluxInstance"
            | "ResourceSet"
            | "ResourceSetInputProvider"
    )
}

/// Objects often created outside the repository (by hand, by other tools).
pub fn is_core_kind(kind: &str) -> bool {
    matches!(kind, "Secret" | "ConfigMap" | "ServiceAccount")
}

/// What a patch of the model replaces: documents `[k, oe)` of the old file
/// became `[k, ne)`, with their references, markers and targets.
pub struct Plan {
    k: usize,
    oe: usize,
    ne: usize,
    orefs: std::ops::Range<usize>,
    nrefs: std::ops::Range<usize>,
    omarks: std::ops::Range<usize>,
    nmarks: std::ops::Range<usize>,
    old_ids: Vec<TargetId>,
    new_objs: Vec<usize>,
    names: HashSet<String>,
    kinds: HashSet<String>,
    /// The run's Flux Kustomizations (indices in `refs.appliers`).
    oapps: std::ops::Range<usize>,
    napps: std::ops::Range<usize>,
    old: OldRun,
}

/// What a patch of the model reads of a file's previous version: the run of
/// documents a change replaced (`[k, oe)`), with its items and where they
/// were, and what it needs of the rest. Taken before the file is changed in
/// place (see [`crate::workspace::refs::InPlace`]), or from the previous
/// version when a new one was built.
#[derive(Debug)]
pub struct OldRun {
    pub k: usize,
    pub oe: usize,
    /// The file's summary had one object per document.
    pub whole: bool,
    pub kustomize: bool,
    pub no_cross_ns: Vec<String>,
    pub chart_key: u64,
    pub appliers_len: usize,
    /// The run's objects.
    pub objects: Vec<ObjectInfo>,
    /// The run's references, which were `refs.refs[refs_at]`.
    pub refs: Vec<RefInfo>,
    pub refs_at: std::ops::Range<usize>,
    pub appliers: Vec<Applier>,
    pub apps_at: std::ops::Range<usize>,
    pub produced: usize,
    pub markers: Vec<ImageMarker>,
    pub marks_at: std::ops::Range<usize>,
}

impl OldRun {
    /// The run `[k, oe)` of `old`.
    pub fn of(old: &FileData, k: usize, oe: usize) -> OldRun {
        Self::of_summary(&old.syntax.docs, &old.summary, k, oe)
    }

    /// The run `[k, oe)` of a file with documents `od` and summary `os`.
    pub fn of_summary(od: &[crate::syntax::FileDoc], os: &super::FileSummary, k: usize, oe: usize) -> OldRun {
        let r = &os.refs;
        let refs_at = run_of(&r.refs, |x| x.object, k, oe);
        let apps_at = run_of(&r.appliers, |a| a.object, k, oe);
        let marks_at = marker_run(od, &r.markers, k, oe);
        OldRun {
            k,
            oe,
            whole: os.objects.len() == od.len(),
            kustomize: r.kustomize.is_some(),
            no_cross_ns: r.no_cross_ns.clone(),
            chart_key: os.chart_key,
            appliers_len: r.appliers.len(),
            objects: os.objects.get(k..oe).map(<[_]>::to_vec).unwrap_or_default(),
            refs: r.refs[refs_at.clone()].to_vec(),
            refs_at,
            appliers: r.appliers[apps_at.clone()].to_vec(),
            apps_at,
            produced: run_of(&r.produced, |a| a.object, k, oe).len(),
            markers: r.markers[marks_at.clone()].to_vec(),
            marks_at,
        }
    }

    fn reference(&self, i: usize) -> &RefInfo {
        &self.refs[i - self.refs_at.start]
    }
}

/// The markers (in text order) of the documents `[k, hi)` of `docs`.
fn marker_run(docs: &[crate::syntax::FileDoc], markers: &[ImageMarker], k: usize, hi: usize) -> std::ops::Range<usize> {
    if hi == k {
        let at = docs.get(k).map(|d| d.base()).unwrap_or(usize::MAX);
        let i = markers.partition_point(|m| m.range.start < at);
        return i..i;
    }
    let (lo, end) = (docs[k].base(), docs[hi - 1].base() + docs[hi - 1].parsed.text.len());
    run_of(markers, |m| m.range.start, lo, end)
}

/// The order of targets in a fresh build: by file, objects before what they
/// produce, then the bootstrap objects in the order they were added.
fn order(targets: &[Target], t: TargetId) -> (u8, &Path, u8, usize) {
    match &targets[t].origin {
        Origin::Object { path, object } => (0, path, 0, *object),
        Origin::Produced { path, produced, .. } => (0, path, 1, *produced),
        Origin::Bootstrap => (1, Path::new(""), 0, t),
    }
}

fn insert_ordered(targets: &[Target], v: &mut Vec<TargetId>, id: TargetId) {
    let key = order(targets, id);
    // a build pushes in order: after the last one, without a binary search
    // (whose path comparisons were a tenth of a model build)
    if v.last().is_none_or(|&x| order(targets, x) < key) {
        v.push(id);
        return;
    }
    let at = v.partition_point(|&x| order(targets, x) < key);
    v.insert(at, id);
}

/// Adds one to (or takes one from) a count, dropping it at zero.
fn count<K: Eq + std::hash::Hash>(m: &mut HashMap<K, usize>, key: K, add: bool) {
    if add {
        *m.entry(key).or_default() += 1;
    } else if let Some(n) = m.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            m.remove(&key);
        }
    }
}

/// How many leading path components two paths share.
pub fn common_prefix(a: &Path, b: &Path) -> usize {
    a.components().zip(b.components()).take_while(|(x, y)| x == y).count()
}

impl RefModel {
    pub fn build(roots: &[PathBuf], files: &HashMap<PathBuf, Arc<FileData>>) -> RefModel {
        let mut m = RefModel { layout: Layout::build(files), ..Default::default() };
        for r in roots {
            if let Some(g) = git_info(r)
                && !m.git.iter().any(|x| x.root == g.root)
            {
                m.git.push(g);
            }
        }
        m.no_cross_ns = files.values().flat_map(|f| f.summary.refs.no_cross_ns.iter().cloned()).collect();
        for (p, (ns, k)) in &m.layout.kustomize_ns {
            m.file_ns.insert(p.clone(), (ns.clone(), format!("`namespace` of {}", k.display())));
        }
        let mut paths: Vec<&PathBuf> = files.keys().collect();
        paths.sort();
        m.add_targets(&paths, files);
        m.compute_appliers(&paths, files, roots);
        // namespaces given by Flux Kustomizations: update targets
        for t in &mut m.targets {
            if t.ns.is_none()
                && let Origin::Object { path, .. } = &t.origin
            {
                t.ns = m.file_ns.get(path).map(|x| x.0.clone());
            }
        }
        m.resolve_all(&paths, files);
        m.find_cycles(files);
        m.chart_env = m.chart_env(&paths, files);
        m
    }

    fn chart_env(&self, paths: &[&PathBuf], files: &HashMap<PathBuf, Arc<FileData>>) -> u64 {
        paths.iter().fold(0u64, |acc, p| acc.wrapping_add(self.chart_env_of(p, files[*p].summary.chart_key)))
    }

    /// One file's share of `chart_env` (a sum, so that a patch can swap it).
    fn chart_env_of(&self, path: &Path, chart_key: u64) -> u64 {
        use std::hash::{Hash, Hasher};
        if chart_key == 0 {
            return 0;
        }
        let mut s = std::collections::hash_map::DefaultHasher::new();
        (path, chart_key, self.file_namespace(path)).hash(&mut s);
        s.finish()
    }

    /// Adds a target. The lookup lists stay in [`order`], which is push
    /// order in a build; a patch's targets are put in their place.
    fn push_target(&mut self, t: Target) -> TargetId {
        let id = match self.free.pop() {
            Some(id) => {
                self.targets[id] = t;
                id
            }
            None => {
                self.targets.push(t);
                self.targets.len() - 1
            }
        };
        let t = &self.targets[id];
        if let Origin::Object { path, object } = &t.origin {
            let v = self.object_target.entry(path.clone()).or_default();
            if v.len() <= *object {
                v.resize(object + 1, None);
            }
            v[*object] = Some(id);
        }
        let by_name = self.by_kind_name.entry(t.kind.clone()).or_default().entry(t.name.clone()).or_default();
        insert_ordered(&self.targets, by_name, id);
        insert_ordered(&self.targets, self.by_kind.entry(t.kind.clone()).or_default(), id);
        id
    }

    /// Removes a target from the lookups and frees its slot.
    fn remove_target(&mut self, id: TargetId) {
        let (kind, name) = (self.targets[id].kind.clone(), self.targets[id].name.clone());
        if let Some(v) = self.by_kind.get_mut(&kind) {
            // ordered: it sits where its order says
            let key = order(&self.targets, id);
            let at = v.partition_point(|&x| order(&self.targets, x) < key);
            if v.get(at) == Some(&id) {
                v.remove(at);
            } else {
                v.retain(|&x| x != id);
            }
            if v.is_empty() {
                self.by_kind.remove(&kind);
            }
        }
        if let Some(m) = self.by_kind_name.get_mut(&kind) {
            if let Some(v) = m.get_mut(&name) {
                v.retain(|&x| x != id);
                if v.is_empty() {
                    m.remove(&name);
                }
            }
            if m.is_empty() {
                self.by_kind_name.remove(&kind);
            }
        }
        self.targets[id] = Target::removed();
        self.refs_to.remove(&id);
        self.free.push(id);
    }

    /// Records `site` as referring to the targets it resolved to (a
    /// reference found, or blocked by the cross-namespace flag; a marker
    /// found), keeping each list ordered.
    fn add_sites(&mut self, res: &Resolution, site: &Site) {
        let counts = match site {
            Site::Ref(..) => matches!(res.status, Status::Ok | Status::CrossNamespaceBlocked),
            Site::Marker(..) => res.status == Status::Ok,
        };
        if !counts {
            return;
        }
        for &t in &res.targets {
            let v = self.refs_to.entry(t).or_default();
            let at = v.partition_point(|x| x < site);
            v.insert(at, site.clone());
        }
    }

    fn remove_sites(&mut self, res: &Resolution, site: &Site) {
        for &t in &res.targets {
            if let Some(v) = self.refs_to.get_mut(&t) {
                if let Ok(at) = v.binary_search(site) {
                    v.remove(at);
                }
                if v.is_empty() {
                    self.refs_to.remove(&t);
                }
            }
        }
    }

    /// The sites of `path` from index `from` on (whose resolutions are
    /// `later`) move to start at `to`: references or markers after a run
    /// of documents that changed size. Each list stays ordered, as the
    /// sites of one file are contiguous in it and all move together.
    fn shift_sites(&mut self, path: &Path, later: &[Resolution], from: usize, to: usize, markers: bool) {
        if from == to {
            return;
        }
        let mut targets: Vec<TargetId> = later.iter().flat_map(|r| r.targets.iter().copied()).collect();
        targets.sort_unstable();
        targets.dedup();
        for t in targets {
            let Some(v) = self.refs_to.get_mut(&t) else { continue };
            for site in v.iter_mut() {
                match site {
                    Site::Ref(p, i) if !markers && p == path && *i >= from => *i = *i + to - from,
                    Site::Marker(p, i) if markers && p == path && *i >= from => *i = *i + to - from,
                    _ => {}
                }
            }
        }
    }

    /// How to bring the model up to date after one file changed from `old`
    /// to `new` without rebuilding it, when the change is confined to
    /// objects and references: the documents that differ (one run of them)
    /// lose their targets and references, the new ones are added, and only
    /// the references elsewhere that looked up one of the changed names (or
    /// found nothing, for suggestions) are resolved again. None when the
    /// change can move what the model derives from the layout:
    /// kustomizations, Flux Kustomizations with a `targetNamespace` (it
    /// gives the files they apply a namespace), produced objects, sources
    /// of appliers, bootstrap names, `--no-cross-namespace-refs`, or what
    /// later documents produce. Other Flux Kustomizations in the run are
    /// patched: only the files they apply (before and after) change hands.
    /// Cheap (no clone of a shared model is made for a change it cannot
    /// absorb); [`RefModel::apply`] carries it out.
    pub fn plan(&self, old: &FileData, new: &FileData) -> Option<Plan> {
        let (od, nd) = (&old.syntax.docs, &new.syntax.docs);
        if old.path != new.path {
            return None;
        }
        // the run of documents that changed: [k, oe) became [k, ne)
        let k =
            od.iter().zip(nd).take_while(|(a, b)| Arc::ptr_eq(&a.parsed, &b.parsed) && a.base() == b.base()).count();
        let s = od[k..]
            .iter()
            .rev()
            .zip(nd[k..].iter().rev())
            .take_while(|(a, b)| Arc::ptr_eq(&a.parsed, &b.parsed))
            .count();
        self.plan_run(OldRun::of(old, k, od.len() - s), new, nd.len() - s)
    }

    /// [`RefModel::plan`] for a change that made the run `old` the
    /// documents `[old.k, ne)` of `new`.
    pub fn plan_run(&self, old: OldRun, new: &FileData, ne: usize) -> Option<Plan> {
        let path = &new.path;
        let nd = &new.syntax.docs;
        let ns = &new.summary;
        let (k, oe) = (old.k, old.oe);
        if !old.whole
            || ns.objects.len() != nd.len()
            || old.kustomize
            || ns.refs.kustomize.is_some()
            || old.no_cross_ns != ns.refs.no_cross_ns
            || ne < k
        {
            return None;
        }
        let oapps = old.apps_at.clone();
        let napps = run_of(&ns.refs.appliers, |a| a.object, k, ne);
        // a GitRepository in the run is fine: its URL only matters as an
        // applier's source, and those names are checked below
        if old.appliers.iter().chain(&ns.refs.appliers[napps.clone()]).any(|a| a.target_namespace.is_some())
            || old.produced > 0
            || !run_of(&ns.refs.produced, |a| a.object, k, ne).is_empty()
            || old.objects.iter().chain(&ns.objects[k..ne]).any(|o| o.kind_str() == "ArtifactGenerator")
        {
            return None;
        }
        let (orefs, nrefs) = (old.refs_at.clone(), run_of(&ns.refs.refs, |r| r.object, k, ne));
        let nmarks = marker_run(nd, &ns.refs.markers, k, ne);
        let omarks = old.marks_at.clone();
        // later documents move when the run changed size; what they produce
        // is not followed
        if ne < nd.len() && oe != ne && ns.refs.produced.iter().any(|p| p.object >= ne) {
            return None;
        }
        // the targets that go and come
        let old_ids: Vec<TargetId> = self
            .object_target
            .get(path)
            .map(|v| v.iter().skip(k).take(oe - k).flatten().copied().collect())
            .unwrap_or_default();
        let new_objs: Vec<usize> = (k..ne)
            .filter(|&i| {
                let o = &ns.objects[i];
                !matches!(o.class, ObjectClass::NotKube | ObjectClass::Kustomize) && o.name.is_some()
            })
            .collect();
        let mut names: HashSet<String> = HashSet::new();
        let mut kinds: HashSet<String> = HashSet::new();
        for (kind, name) in old_ids
            .iter()
            .map(|&t| (self.targets[t].kind.as_str(), self.targets[t].name.as_str()))
            .chain(new_objs.iter().map(|&i| (ns.objects[i].kind_str(), ns.objects[i].name_str())))
        {
            if name == "flux-system" || self.applier_sources.contains_key(&(kind.to_string(), name.to_string())) {
                return None;
            }
            names.insert(name.to_string());
            kinds.insert(kind.to_string());
        }
        Some(Plan { k, oe, ne, orefs, nrefs, omarks, nmarks, old_ids, new_objs, names, kinds, oapps, napps, old })
    }

    /// Carries a [`RefModel::plan`] out, with `new` already in `files`.
    pub fn apply(&mut self, files: &HashMap<PathBuf, Arc<FileData>>, roots: &[PathBuf], new: &FileData, plan: Plan) {
        let Plan { k, oe, ne, orefs, nrefs, omarks, nmarks, old_ids, new_objs, names, kinds, oapps, napps, old } = plan;
        let path = &new.path;
        let ns = &new.summary;
        // dependsOn entries changed; one of them was in a cycle; the edges added
        let (mut deps, mut cycle_cut) = (false, false);
        let mut added: Vec<(TargetId, TargetId)> = Vec::new();
        for t in old_ids {
            self.remove_target(t);
        }
        if let Some(v) = self.object_target.get_mut(path) {
            if v.len() > oe && oe != ne {
                // the later documents' targets move to their new indices
                for &t in v[oe..].iter().flatten() {
                    if let Origin::Object { object, .. } = &mut self.targets[t].origin {
                        *object = *object + ne - oe;
                    }
                }
            }
            if v.len() > oe {
                // in place when the run kept its size
                v.splice(k..oe, std::iter::repeat_n(None, ne - k));
            } else {
                v.truncate(k);
            }
        }
        let patch = self.layout.patch_files.contains(path);
        for i in new_objs {
            let o = &ns.objects[i];
            let target = Target {
                kind: o.kind_str().to_string(),
                name: o.name_str().to_string(),
                ns: self.object_ns(new, i),
                origin: Origin::Object { path: path.clone(), object: i },
                patch,
            };
            self.push_target(target);
        }
        // (after the targets: a new Flux Kustomization's source may be one)
        if !oapps.is_empty() || !napps.is_empty() {
            self.patch_appliers(files, roots, &old, new, oapps, napps);
        }
        // the run's references and markers, resolved again
        let mut res = self.resolutions.remove(path).unwrap_or_default();
        for i in orefs.clone() {
            deps |= old.reference(i).spec().depends_on;
            cycle_cut |= self.cycles.get(path).is_some_and(|c| c.contains_key(&i));
            self.note_lookup(path, &old.reference(i).name.value, res.get(i), false);
            if let Some(r) = res.get(i) {
                self.remove_sites(&r.clone(), &Site::Ref(path.clone(), i));
            }
        }
        self.shift_sites(path, &res[orefs.end.min(res.len())..], orefs.end, nrefs.end, false);
        if let Some(c) = self.cycles.get_mut(path) {
            *c = std::mem::take(c)
                .into_iter()
                .filter(|(i, _)| !orefs.contains(i))
                .map(|(i, v)| (if i >= orefs.end { i + nrefs.end - orefs.end } else { i }, v))
                .collect();
        }
        let fresh: Vec<Resolution> = nrefs.clone().map(|i| self.resolve(new, &ns.refs.refs[i])).collect();
        let tail = res.len().min(orefs.end);
        res.splice(orefs.start.min(res.len())..tail, fresh);
        for i in nrefs.clone() {
            deps |= ns.refs.refs[i].spec().depends_on;
            self.dep_edges(path, &ns.refs.refs[i], &res[i], &mut added);
            let r = res[i].clone();
            self.add_sites(&r, &Site::Ref(path.clone(), i));
            self.note_lookup(path, &ns.refs.refs[i].name.value, Some(&r), true);
        }
        if !res.is_empty() {
            self.resolutions.insert(path.clone(), res);
        }
        let mut mres = self.marker_res.remove(path).unwrap_or_default();
        for i in omarks.clone() {
            self.note_lookup(path, &old.markers[i - omarks.start].name, mres.get(i), false);
            if let Some(r) = mres.get(i) {
                self.remove_sites(&r.clone(), &Site::Marker(path.clone(), i));
            }
        }
        self.shift_sites(path, &mres[omarks.end.min(mres.len())..], omarks.end, nmarks.end, true);
        let fresh: Vec<Resolution> = nmarks.clone().map(|i| self.resolve_marker(new, i)).collect();
        let tail = mres.len().min(omarks.end);
        mres.splice(omarks.start.min(mres.len())..tail, fresh);
        for i in nmarks.clone() {
            let r = mres[i].clone();
            self.add_sites(&r, &Site::Marker(path.clone(), i));
            self.note_lookup(path, &ns.refs.markers[i].name, Some(&r), true);
        }
        if !mres.is_empty() {
            self.marker_res.insert(path.clone(), mres);
        }
        // references elsewhere that looked a changed name up, or found
        // nothing (their suggestion may change)
        if !names.is_empty() {
            let mut redo: Vec<(PathBuf, usize, bool)> = Vec::new();
            let unresolved = |rs: Option<&Vec<Resolution>>, i: usize| {
                rs.and_then(|v| v.get(i)).is_some_and(|x| matches!(x.status, Status::Unresolved { .. }))
            };
            // only the files that look one of the names up, or found nothing somewhere
            let mut cands: Vec<&PathBuf> = names
                .iter()
                .filter_map(|n| self.name_users.get(n.as_str()))
                .flat_map(|v| v.iter().map(|x| &x.0))
                .chain(self.unresolved_in.keys())
                .collect();
            cands.sort_unstable();
            cands.dedup();
            for p in cands {
                let Some(f) = files.get(p) else { continue };
                let own = p == path;
                // one lookup of the file's resolutions, not one per reference
                let (rs, ms) = (self.resolutions.get(p), self.marker_res.get(p));
                for (i, r) in f.summary.refs.refs.iter().enumerate() {
                    if own && nrefs.contains(&i) {
                        continue;
                    }
                    if names.contains(r.name.value.as_str())
                        || unresolved(rs, i)
                            && match r.target_kind() {
                                Some(kd) => kinds.contains(kd),
                                None => r.spec().kinds.iter().any(|kd| kinds.contains(*kd)),
                            }
                    {
                        redo.push((p.clone(), i, false));
                    }
                }
                for (i, m) in f.summary.refs.markers.iter().enumerate() {
                    if own && nmarks.contains(&i) {
                        continue;
                    }
                    if names.contains(m.name.as_str()) || kinds.contains("ImagePolicy") && unresolved(ms, i) {
                        redo.push((p.clone(), i, true));
                    }
                }
            }
            for (p, i, marker) in redo {
                let f = &files[&p];
                if marker {
                    let site = Site::Marker(p.clone(), i);
                    let Some(prev) = self.marker_resolution(&p, i).cloned() else { continue };
                    self.remove_sites(&prev, &site);
                    let r = self.resolve_marker(f, i);
                    self.add_sites(&r, &site);
                    self.note_status(&p, Some(&prev), false);
                    self.note_status(&p, Some(&r), true);
                    if let Some(slot) = self.marker_res.get_mut(&p).and_then(|v| v.get_mut(i)) {
                        *slot = r;
                    }
                } else {
                    let site = Site::Ref(p.clone(), i);
                    let Some(prev) = self.resolution(&p, i).cloned() else { continue };
                    deps |= f.summary.refs.refs[i].spec().depends_on;
                    cycle_cut |= self.cycles.get(&p).is_some_and(|c| c.contains_key(&i));
                    self.remove_sites(&prev, &site);
                    let r = self.resolve(f, &f.summary.refs.refs[i]);
                    self.dep_edges(&p, &f.summary.refs.refs[i], &r, &mut added);
                    self.add_sites(&r, &site);
                    self.note_status(&p, Some(&prev), false);
                    self.note_status(&p, Some(&r), true);
                    if let Some(slot) = self.resolutions.get_mut(&p).and_then(|v| v.get_mut(i)) {
                        *slot = r;
                    }
                }
            }
        }
        // the cycles are found again only when one may have opened (an edge
        // of one went) or closed (an edge added whose end leads back to its
        // start); else they are as they were, moved with their references
        if deps && (cycle_cut || added.iter().any(|&(from, to)| self.depends_on_path(files, to, from))) {
            self.find_cycles(files);
        }
        let old_env = self.chart_env_of(path, old.chart_key);
        let new_env = self.chart_env_of(path, new.summary.chart_key);
        self.chart_env = self.chart_env.wrapping_sub(old_env).wrapping_add(new_env);
        self.patches += 1;
    }

    /// The model as text, with target ids replaced by what the targets are:
    /// equal for two models that answer every question the same way
    /// (a patched one and a fresh build).
    pub fn canonical(&self) -> String {
        use std::fmt::Write;
        let d = |t: TargetId| {
            let t = &self.targets[t];
            format!("{}:{}:{:?}:{:?}:{}", t.kind, t.name, t.ns, t.origin, t.patch)
        };
        let ds = |v: &[TargetId]| v.iter().map(|&t| d(t)).collect::<Vec<_>>().join(", ");
        let res = |r: &Resolution| {
            let status = match &r.status {
                Status::OtherNamespace(v) => format!("OtherNamespace[{}]", ds(v)),
                other => format!("{other:?}"),
            };
            format!("{:?} {:?} [{}] {status}", r.kind, r.ns, ds(&r.targets))
        };
        let mut out = String::new();
        let mut live: Vec<TargetId> = (0..self.targets.len()).filter(|t| !self.free.contains(t)).collect();
        live.sort_by(|&a, &b| order(&self.targets, a).cmp(&order(&self.targets, b)));
        for &t in &live {
            let tg = &self.targets[t];
            let sites: Vec<String> = self.sites_of(t).iter().map(|s| format!("{s:?}")).collect();
            let _ = writeln!(out, "target {} lookup [{}] sites {sites:?}", d(t), ds(self.lookup(&tg.kind, &tg.name)));
        }
        let mut kinds: Vec<&String> = self.by_kind.keys().collect();
        kinds.sort();
        for k in kinds {
            let _ = writeln!(out, "kind {k} [{}]", ds(self.of_kind(k)));
        }
        let sorted = |m: &HashMap<PathBuf, Vec<Resolution>>| {
            let mut v: Vec<(&PathBuf, &Vec<Resolution>)> = m.iter().collect();
            v.sort_by_key(|x| x.0);
            v.into_iter().map(|(p, rs)| (p.clone(), rs.iter().map(res).collect::<Vec<_>>())).collect::<Vec<_>>()
        };
        let _ = writeln!(out, "resolutions {:#?}", sorted(&self.resolutions));
        let _ = writeln!(out, "markers {:#?}", sorted(&self.marker_res));
        let mut objs: Vec<(&PathBuf, Vec<Option<String>>)> = self
            .object_target
            .iter()
            .map(|(p, v)| (p, v.iter().map(|t| t.map(d)).collect()))
            .filter(|(_, v): &(_, Vec<Option<String>>)| v.iter().any(Option::is_some))
            .collect();
        objs.sort();
        // trailing objects without a target leave no entry in a build
        for (_, v) in &mut objs {
            while v.last().is_some_and(Option::is_none) {
                v.pop();
            }
        }
        let _ = writeln!(out, "objects {objs:#?}");
        let mut cycles: Vec<(&PathBuf, Vec<(&usize, &String)>)> = self
            .cycles
            .iter()
            .map(|(p, m)| {
                let mut v: Vec<_> = m.iter().collect();
                v.sort();
                (p, v)
            })
            .collect();
        cycles.sort();
        let _ = writeln!(out, "cycles {cycles:#?}\nchart_env {}", self.chart_env);
        let mut applied: Vec<_> = self.applied_by.iter().collect();
        applied.sort();
        let mut dirs: Vec<_> = self.applier_dirs.iter().collect();
        dirs.sort_by(|a, b| a.0.cmp(b.0));
        let mut file_ns: Vec<_> = self.file_ns.iter().collect();
        file_ns.sort();
        let mut sources: Vec<_> = self.applier_sources.iter().collect();
        sources.sort();
        let mut users: Vec<_> = self.name_users.iter().collect();
        users.sort();
        let mut unresolved: Vec<_> = self.unresolved_in.iter().collect();
        unresolved.sort();
        let _ = writeln!(
            out,
            "applied_by {applied:#?}\napplier_dirs {dirs:#?}\nfile_ns {file_ns:#?}\napplier_sources {sources:?}"
        );
        let _ = writeln!(out, "name_users {users:?}\nunresolved_in {unresolved:?}");
        out
    }

    /// The namespace of an object: `metadata.namespace`, else inferred.
    pub fn object_ns(&self, file: &FileData, object: usize) -> Option<String> {
        let o = file.summary.objects.get(object)?;
        o.namespace.as_ref().map(|n| n.value.to_string()).or_else(|| self.file_ns.get(&file.path).map(|x| x.0.clone()))
    }

    /// The namespace inferred for a file's objects without `metadata.namespace`.
    pub fn file_namespace(&self, path: &Path) -> Option<&str> {
        self.file_ns.get(path).map(|x| x.0.as_str())
    }

    /// Where an object's namespace comes from, for hovers.
    pub fn ns_origin(&self, file: &FileData, object: usize) -> Option<String> {
        let o = file.summary.objects.get(object)?;
        if o.namespace.is_some() {
            return Some("`metadata.namespace`".into());
        }
        self.file_ns.get(&file.path).map(|x| x.1.clone())
    }

    fn add_targets(&mut self, paths: &[&PathBuf], files: &HashMap<PathBuf, Arc<FileData>>) {
        for p in paths {
            let f = &files[*p];
            let patch = self.layout.patch_files.contains(*p);
            for (i, o) in f.summary.objects.iter().enumerate() {
                if matches!(o.class, ObjectClass::NotKube | ObjectClass::Kustomize) {
                    continue;
                }
                let Some(name) = &o.name else { continue };
                let ns = self.object_ns(f, i);
                self.push_target(Target {
                    kind: o.kind_str().to_string(),
                    name: name.value.to_string(),
                    ns,
                    origin: Origin::Object { path: (*p).clone(), object: i },
                    patch,
                });
            }
            for (pi, pr) in f.summary.refs.produced.iter().enumerate() {
                let ns = pr.namespace.clone().or_else(|| self.object_ns(f, pr.object)).or_else(|| {
                    // kustomize generators take the kustomization's namespace
                    f.summary.refs.kustomize.as_ref().and_then(|k| k.namespace.as_ref().map(|n| n.value.to_string()))
                });
                self.push_target(Target {
                    kind: pr.kind.clone(),
                    name: pr.name.value.to_string(),
                    ns,
                    origin: Origin::Produced { path: (*p).clone(), object: pr.object, produced: pi },
                    patch: false,
                });
            }
        }
        let boot = |kind: &str, name: &str, ns: Option<&str>| Target {
            kind: kind.into(),
            name: name.into(),
            ns: ns.map(str::to_string),
            origin: Origin::Bootstrap,
            patch: false,
        };
        for kind in ["GitRepository", "OCIRepository", "Bucket", "Kustomization"] {
            if self.lookup(kind, "flux-system").is_empty() {
                self.push_target(boot(kind, "flux-system", Some("flux-system")));
            }
        }
        for sa in CONTROLLER_SAS {
            self.push_target(boot("ServiceAccount", sa, Some("flux-system")));
        }
        // the deploy key / token secret `flux bootstrap` creates
        self.push_target(boot("Secret", "flux-system", Some("flux-system")));
        self.push_target(boot("ServiceAccount", "default", None));
        self.push_target(boot("ConfigMap", "kube-root-ca.crt", None));
    }

    pub fn lookup(&self, kind: &str, name: &str) -> &[TargetId] {
        self.by_kind_name.get(kind).and_then(|m| m.get(name)).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn of_kind(&self, kind: &str) -> &[TargetId] {
        self.by_kind.get(kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The objects of the files (not produced, not bootstrap) of a kind and
    /// name, as (file, object index), in path then document order.
    pub fn objects_named<'s>(&'s self, kind: &str, name: &str) -> impl Iterator<Item = (&'s Path, usize)> + 's {
        self.lookup(kind, name).iter().filter_map(|&t| match &self.targets[t].origin {
            Origin::Object { path, object } => Some((path.as_path(), *object)),
            _ => None,
        })
    }

    /// The target an object of a file is.
    pub fn target_of(&self, path: &Path, object: usize) -> Option<TargetId> {
        self.object_target.get(path)?.get(object).copied().flatten()
    }

    /// Does a source (kind, name, ns) stand for this repository?
    fn is_own_repo(&self, kind: &str, name: &str, ns: Option<&str>, files: &HashMap<PathBuf, Arc<FileData>>) -> bool {
        let ns_ok = |t: &Target| t.ns.is_none() || ns.is_none() || t.ns.as_deref() == ns;
        for &id in self.lookup(kind, name) {
            let t = &self.targets[id];
            if !ns_ok(t) {
                continue;
            }
            match &t.origin {
                Origin::Bootstrap => return true,
                Origin::Produced { path, object, .. } => {
                    let f = &files[path];
                    if f.summary.objects[*object].kind_str() == "FluxInstance" {
                        return true;
                    }
                }
                Origin::Object { path, object } => {
                    let f = &files[path];
                    // the source `flux bootstrap` writes (gotk-sync.yaml) is this repository
                    let gotk = path.file_name().is_some_and(|n| n == "gotk-sync.yaml");
                    if t.kind == "GitRepository"
                        && (gotk || (t.name == "flux-system" && t.ns.as_deref() == Some("flux-system")))
                    {
                        return true;
                    }
                    if let Some(g) = f.summary.refs.git_sources.iter().find(|g| g.object == *object) {
                        let url = normalize_url(&g.url);
                        for gi in &self.git {
                            if gi.remotes.contains(&url)
                                && (g.branch.is_none() || gi.branch.is_none() || g.branch == gi.branch)
                            {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    /// The (kind, name) of a Flux Kustomization's source.
    fn applier_source(f: &FileData, a: &Applier) -> Option<(String, String)> {
        Self::source_key(&f.summary.refs.refs[a.source_ref?])
    }

    /// The (kind, name) an applier's source reference names.
    fn source_key(r: &RefInfo) -> Option<(String, String)> {
        Some((r.target_kind()?.to_string(), r.name.value.to_string()))
    }

    /// Counts (or uncounts) a reference or marker of `path` looking `name`
    /// up, and its resolution.
    fn note_lookup(&mut self, path: &Path, name: &str, res: Option<&Resolution>, add: bool) {
        match self.name_users.get_mut(name) {
            Some(v) => match v.binary_search_by(|x| x.0.as_path().cmp(path)) {
                Ok(i) if add => v[i].1 += 1,
                Ok(i) => {
                    v[i].1 -= 1;
                    if v[i].1 == 0 {
                        v.remove(i);
                        if v.is_empty() {
                            self.name_users.remove(name);
                        }
                    }
                }
                Err(i) if add => v.insert(i, (path.to_path_buf(), 1)),
                Err(_) => {}
            },
            None if add => {
                self.name_users.insert(name.to_string(), vec![(path.to_path_buf(), 1)]);
            }
            None => {}
        }
        self.note_status(path, res, add);
    }

    fn note_status(&mut self, path: &Path, res: Option<&Resolution>, add: bool) {
        if res.is_some_and(|r| matches!(r.status, Status::Unresolved { .. })) {
            count(&mut self.unresolved_in, path.to_path_buf(), add);
        }
    }

    /// Where the files of a file's Flux Kustomization come from.
    fn applier_dir(
        &self,
        p: &Path,
        f: &FileData,
        a: &Applier,
        files: &HashMap<PathBuf, Arc<FileData>>,
        roots: &[PathBuf],
    ) -> ApplierDir {
        let own = match a.source_ref {
            // a Kustomization without a sourceRef (a patch): unknown
            None => a.from_instance,
            Some(ri) => {
                let r = &f.summary.refs.refs[ri];
                let ns = r.namespace.as_ref().map(|n| n.value.to_string()).or_else(|| self.object_ns(f, a.object));
                match r.target_kind() {
                    Some(kind) => self.is_own_repo(kind, &r.name.value, ns.as_deref(), files),
                    None => false,
                }
            }
        };
        let artifact = match a.source_ref.map(|ri| &f.summary.refs.refs[ri]) {
            Some(r) if !own && r.target_kind() == Some("ExternalArtifact") => {
                let ns = r.namespace.as_ref().map(|n| n.value.to_string()).or_else(|| self.object_ns(f, a.object));
                let rel = a.path.as_ref().map(|s| s.value.as_str()).unwrap_or("./");
                self.artifact_dir(p, &r.name.value, ns.as_deref(), rel, files, roots)
            }
            _ => None,
        };
        if let Some(d) = artifact {
            ApplierDir::Found(d)
        } else if !own || a.path.as_ref().is_some_and(|s| is_templated(&s.value)) {
            ApplierDir::Unknown
        } else {
            let rel = a.path.as_ref().map(|s| s.value.as_str()).unwrap_or("./");
            let rel = rel.trim_start_matches('/');
            self.find_dir(p, rel, roots)
        }
    }

    fn compute_appliers(&mut self, paths: &[&PathBuf], files: &HashMap<PathBuf, Arc<FileData>>, roots: &[PathBuf]) {
        let mut tns_files: Vec<(PathBuf, String, String)> = Vec::new();
        for p in paths {
            let f = &files[*p];
            for r in f.summary.refs.refs.iter().filter(|r| r.alias.is_some()) {
                // an artifact generator's sources
                if let Some(kind) = r.target_kind() {
                    count(&mut self.applier_sources, (kind.to_string(), r.name.value.to_string()), true);
                }
            }
            for (ai, a) in f.summary.refs.appliers.iter().enumerate() {
                if let Some(key) = Self::applier_source(f, a) {
                    count(&mut self.applier_sources, key, true);
                }
                let dir = self.applier_dir(p, f, a, files, roots);
                if let ApplierDir::Found(d) = &dir {
                    let kname = f.summary.objects[a.object].name_str().to_string();
                    for af in self.layout.applied_files(d) {
                        self.applied_by.entry(af.clone()).or_default().push(((*p).clone(), ai));
                        if let Some(tns) = &a.target_namespace {
                            tns_files.push((af, tns.clone(), kname.clone()));
                        }
                    }
                }
                self.applier_dirs.insert(((*p).clone(), ai), dir);
            }
        }
        // files applied with different target namespaces keep none
        let mut by_file: HashMap<PathBuf, Vec<(String, String)>> = HashMap::new();
        for (f, ns, k) in tns_files {
            by_file.entry(f).or_default().push((ns, k));
        }
        for (f, v) in by_file {
            if v.iter().all(|x| x.0 == v[0].0) {
                let (ns, k) = v[0].clone();
                self.file_ns.entry(f).or_insert((ns, format!("`targetNamespace` of Kustomization {k}")));
            }
        }
    }

    /// The Flux Kustomizations `[oapps)` of a file became `[napps)` (none
    /// with a `targetNamespace`): the files they applied lose them, the
    /// files they apply now gain them, and the file's later ones move to
    /// their new indices. Only `applied_by` and `applier_dirs` follow: the
    /// namespaces of files do not depend on these. A Kustomization edited
    /// where its directory stays (its interval, its substitutions) keeps
    /// its entries: the keystroke costs one document, not the files it applies.
    fn patch_appliers(
        &mut self,
        files: &HashMap<PathBuf, Arc<FileData>>,
        roots: &[PathBuf],
        old: &OldRun,
        new: &FileData,
        oapps: std::ops::Range<usize>,
        napps: std::ops::Range<usize>,
    ) {
        let path = &new.path;
        for a in &old.appliers {
            // (an applier's source reference is in its own document)
            if let Some(key) = a.source_ref.and_then(|i| Self::source_key(old.reference(i))) {
                count(&mut self.applier_sources, key, false);
            }
        }
        let mut dirs = Vec::with_capacity(napps.len());
        for ai in napps.clone() {
            let a = &new.summary.refs.appliers[ai];
            if let Some(key) = Self::applier_source(new, a) {
                count(&mut self.applier_sources, key, true);
            }
            dirs.push(self.applier_dir(path, new, a, files, roots));
        }
        if oapps == napps
            && napps.clone().zip(&dirs).all(|(ai, d)| self.applier_dirs.get(&(path.clone(), ai)) == Some(d))
        {
            return;
        }
        for ai in oapps.clone() {
            if let Some(ApplierDir::Found(d)) = self.applier_dirs.remove(&(path.clone(), ai)) {
                let site = (path.clone(), ai);
                for af in self.layout.applied_files(&d) {
                    if let Some(v) = self.applied_by.get_mut(&af) {
                        v.retain(|x| *x != site);
                        if v.is_empty() {
                            self.applied_by.remove(&af);
                        }
                    }
                }
            }
        }
        if oapps.end != napps.end {
            // the later ones move, the farthest first so that no two share an index
            let mut later: Vec<usize> = (oapps.end..old.appliers_len).collect();
            if napps.end > oapps.end {
                later.reverse();
            }
            for ai in later {
                let to = ai - oapps.end + napps.end;
                let Some(dir) = self.applier_dirs.remove(&(path.clone(), ai)) else { continue };
                if let ApplierDir::Found(d) = &dir {
                    for af in self.layout.applied_files(d) {
                        for x in self.applied_by.get_mut(&af).into_iter().flatten() {
                            if x.1 == ai && x.0 == *path {
                                x.1 = to;
                            }
                        }
                    }
                }
                self.applier_dirs.insert((path.clone(), to), dir);
            }
        }
        for (ai, dir) in napps.zip(dirs) {
            if let ApplierDir::Found(d) = &dir {
                let site = (path.clone(), ai);
                for af in self.layout.applied_files(d) {
                    // in (file, index) order, as a build adds them
                    let v = self.applied_by.entry(af).or_default();
                    let at = v.partition_point(|x| *x < site);
                    v.insert(at, site.clone());
                }
            }
            self.applier_dirs.insert((path.clone(), ai), dir);
        }
    }

    /// The directory of this repository an ExternalArtifact path comes from,
    /// when an ArtifactGenerator copies it from this repository with a
    /// plain `@alias/dir/**` → `@artifact/dir/` rule.
    fn artifact_dir(
        &self,
        from: &Path,
        name: &str,
        ns: Option<&str>,
        spec_path: &str,
        files: &HashMap<PathBuf, Arc<FileData>>,
        roots: &[PathBuf],
    ) -> Option<PathBuf> {
        let rel = normalize(Path::new(spec_path.trim_start_matches('/'))).to_string_lossy().to_string();
        // the generator nearest to the Kustomization first
        let mut cands = self.lookup("ExternalArtifact", name).to_vec();
        cands.sort_by_key(|&t| std::cmp::Reverse(self.targets[t].path().map(|p| common_prefix(from, p)).unwrap_or(0)));
        for id in cands {
            let t = &self.targets[id];
            if !(t.ns.is_none() || ns.is_none() || t.ns.as_deref() == ns) {
                continue;
            }
            let Origin::Produced { path, object, .. } = &t.origin else { continue };
            let gf = &files[path];
            let mut best: Option<(usize, &str, String)> = None;
            for c in gf.summary.refs.artifact_copies.iter().filter(|c| c.artifact == name) {
                let Some(to) = c.to.strip_prefix("@artifact") else { continue };
                let to = to.trim_matches('/');
                let Some((alias, from)) = c.from.strip_prefix('@').and_then(|f| f.split_once('/')) else { continue };
                let Some(from_dir) = from.strip_suffix("/**").or_else(|| (from == "**").then_some("")) else {
                    continue;
                };
                let remainder = if to.is_empty() {
                    rel.as_str()
                } else if rel == to {
                    ""
                } else if let Some(r) = rel.strip_prefix(to).and_then(|r| r.strip_prefix('/')) {
                    r
                } else {
                    continue;
                };
                let mapped = Path::new(from_dir).join(remainder).to_string_lossy().to_string();
                if best.as_ref().is_none_or(|b| to.len() > b.0) {
                    best = Some((to.len(), alias, mapped));
                }
            }
            let Some((_, alias, mapped)) = best else { continue };
            let Some(src) =
                gf.summary.refs.refs.iter().find(|r| r.object == *object && r.alias.as_deref() == Some(alias))
            else {
                continue;
            };
            let src_ns = src.namespace.as_ref().map(|n| n.value.to_string()).or_else(|| t.ns.clone());
            let Some(src_kind) = src.target_kind() else { continue };
            if !self.is_own_repo(src_kind, &src.name.value, src_ns.as_deref(), files) {
                continue;
            }
            if let ApplierDir::Found(d) = self.find_dir(path, &mapped, roots) {
                return Some(d);
            }
        }
        None
    }

    /// Looks a repository-relative path up: from the git root when known,
    /// else from each directory above the referring file up to its root
    /// (the repository root is not known without `.git`).
    fn find_dir(&self, file: &Path, rel: &str, roots: &[PathBuf]) -> ApplierDir {
        let mut bases = Vec::new();
        let in_git = self.git.iter().any(|g| file.starts_with(&g.root));
        if let Some(g) = self.git.iter().find(|g| file.starts_with(&g.root)) {
            bases.push(g.root.clone());
        } else {
            let root = roots.iter().filter(|r| file.starts_with(r)).max_by_key(|r| r.components().count());
            let mut d = file.parent();
            while let Some(x) = d {
                bases.push(x.to_path_buf());
                if root.is_none_or(|r| x == r.as_path()) {
                    break;
                }
                d = x.parent();
            }
            // the repository root is the highest of them: try it first
            bases.reverse();
        }
        if normalize(Path::new(rel)).as_os_str().is_empty() {
            // the repository root: the git root, else the workspace root
            return bases.first().cloned().map(ApplierDir::Found).unwrap_or(ApplierDir::Unknown);
        }
        for b in &bases {
            let cand = normalize(&b.join(rel));
            if self.layout.is_dir(&cand) {
                return ApplierDir::Found(cand);
            }
        }
        // the repository may start above the workspace root (a sub-folder
        // opened in the editor): look there on disk
        if !in_git {
            let mut d = bases.first().and_then(|b| b.parent());
            while let Some(x) = d {
                let cand = normalize(&x.join(rel));
                if cand.is_dir() {
                    return ApplierDir::Found(cand);
                }
                d = x.parent();
            }
        }
        ApplierDir::Missing(bases)
    }

    fn resolve_all(&mut self, paths: &[&PathBuf], files: &HashMap<PathBuf, Arc<FileData>>) {
        for p in paths {
            let f = &files[*p];
            let mut resolutions = Vec::with_capacity(f.summary.refs.refs.len());
            for (i, r) in f.summary.refs.refs.iter().enumerate() {
                let res = self.resolve(f, r);
                self.add_sites(&res, &Site::Ref((*p).clone(), i));
                self.note_lookup(p, &r.name.value, Some(&res), true);
                resolutions.push(res);
            }
            if !resolutions.is_empty() {
                self.resolutions.insert((*p).clone(), resolutions);
            }
            let mut markers = Vec::new();
            for (i, mk) in f.summary.refs.markers.iter().enumerate() {
                let res = self.resolve_marker(f, i);
                self.add_sites(&res, &Site::Marker((*p).clone(), i));
                self.note_lookup(p, &mk.name, Some(&res), true);
                markers.push(res);
            }
            if !markers.is_empty() {
                self.marker_res.insert((*p).clone(), markers);
            }
        }
    }

    fn resolve_marker(&self, f: &FileData, i: usize) -> Resolution {
        let mk = &f.summary.refs.markers[i];
        self.resolve_name(
            f.path.as_path(),
            Some("ImagePolicy"),
            &["ImagePolicy"],
            &mk.name,
            mk.namespace.clone(),
            false,
        )
    }

    fn resolve(&self, f: &FileData, r: &RefInfo) -> Resolution {
        let spec = r.spec();
        let own_ns = self.object_ns(f, r.object);
        let ns = match spec.ns {
            NsRule::Same => own_ns.clone(),
            NsRule::Optional => r.namespace.as_ref().map(|n| n.value.to_string()).or(own_ns.clone()),
            NsRule::AsWritten => r.namespace.as_ref().map(|n| n.value.to_string()),
            NsRule::Any => None,
        };
        let kind = r.target_kind().map(str::to_string);
        let skipped = |kind, ns| Resolution { kind, ns, targets: Vec::new(), status: Status::Skipped };
        if r.name.value.is_empty() || r.selector || r.is_templated() {
            return skipped(kind, ns);
        }
        if let Some(k) = &kind
            && !spec.kinds.is_empty()
            && !spec.kinds.contains(&k.as_str())
        {
            let targets = self.matching(f.path.as_path(), spec.kinds, &r.name.value, ns.as_deref());
            return Resolution { kind: kind.clone(), ns, targets, status: Status::WrongKind };
        }
        let kinds: Vec<&str> = match &kind {
            Some(k) => vec![k.as_str()],
            None => spec.kinds.to_vec(),
        };
        let mut res = self.resolve_name(f.path.as_path(), kind.as_deref(), &kinds, &r.name.value, ns.clone(), true);
        if res.status == Status::Ok
            && spec.cross_ns_flag
            && (self.no_cross_ns.contains("*")
                || self.no_cross_ns.contains(controller_of(f.summary.objects[r.object].kind_str())))
            && let (Some(w), Some(o)) = (&r.namespace, &own_ns)
            && w.value != o
        {
            res.status = Status::CrossNamespaceBlocked;
        }
        // kinds the server cannot know about (health checks of Deployments...)
        if matches!(res.status, Status::Unresolved { .. } | Status::OtherNamespace(_))
            && kinds.iter().all(|k| !is_flux_kind(k) && !is_core_kind(k))
        {
            res.status = Status::Skipped;
        }
        res
    }

    fn matching(&self, from: &Path, kinds: &[&str], name: &str, ns: Option<&str>) -> Vec<TargetId> {
        let mut v: Vec<TargetId> = kinds
            .iter()
            .flat_map(|k| self.lookup(k, name).iter().copied())
            .filter(|&t| {
                let tn = self.targets[t].ns.as_deref();
                tn.is_none() || ns.is_none() || tn == ns
            })
            .collect();
        self.nearest(from, &mut v);
        v
    }

    /// Keeps the best candidates: whole objects over patches, then the ones
    /// sharing the longest directory prefix with the referrer (another
    /// cluster's copy of the same object is not the one meant).
    fn nearest(&self, from: &Path, v: &mut Vec<TargetId>) {
        if v.iter().any(|&t| !self.targets[t].patch) {
            v.retain(|&t| !self.targets[t].patch);
        }
        let score = |t: TargetId| self.targets[t].path().map(|p| common_prefix(from, p)).unwrap_or(0);
        if let Some(best) = v.iter().map(|&t| score(t)).max() {
            // bootstrap targets have no path; keep them only when nothing else matched
            v.retain(|&t| score(t) == best || self.targets[t].path().is_none() && best == 0);
        }
        v.sort_by(|&a, &b| score(b).cmp(&score(a)).then_with(|| order(&self.targets, a).cmp(&order(&self.targets, b))));
    }

    fn resolve_name(
        &self,
        from: &Path,
        kind: Option<&str>,
        kinds: &[&str],
        name: &str,
        ns: Option<String>,
        _ref: bool,
    ) -> Resolution {
        let mk = |targets, status| Resolution { kind: kind.map(str::to_string), ns: ns.clone(), targets, status };
        if is_templated(name) || ns.as_deref().is_some_and(is_templated) {
            return mk(Vec::new(), Status::Skipped);
        }
        let found = self.matching(from, kinds, name, ns.as_deref());
        if !found.is_empty() {
            return mk(found, Status::Ok);
        }
        let elsewhere: Vec<TargetId> = kinds.iter().flat_map(|k| self.lookup(k, name).iter().copied()).collect();
        if !elsewhere.is_empty() {
            return mk(Vec::new(), Status::OtherNamespace(elsewhere));
        }
        let mut sugg: Vec<&str> = Vec::new();
        if name.chars().count() >= 3 {
            for k in kinds {
                for &t in self.of_kind(k) {
                    let tg = &self.targets[t];
                    let ns_ok = tg.ns.is_none() || ns.is_none() || tg.ns == ns;
                    if ns_ok && edit_distance(&tg.name, name) == 1 && !sugg.contains(&tg.name.as_str()) {
                        sugg.push(&tg.name);
                    }
                }
            }
        }
        let suggestion = if sugg.len() == 1 { Some(sugg[0].to_string()) } else { None };
        mk(Vec::new(), Status::Unresolved { suggestion })
    }

    pub fn resolution(&self, path: &Path, r: usize) -> Option<&Resolution> {
        self.resolutions.get(path)?.get(r)
    }

    /// The resolutions of every reference of a file, by index (one lookup of
    /// the path for a whole file: a producer walks them on each keystroke).
    pub fn resolutions_of(&self, path: &Path) -> &[Resolution] {
        self.resolutions.get(path).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The dependency cycles a file's dependsOn entries close, by reference index.
    pub fn cycles_of(&self, path: &Path) -> Option<&HashMap<usize, String>> {
        self.cycles.get(path)
    }

    pub fn marker_resolution(&self, path: &Path, m: usize) -> Option<&Resolution> {
        self.marker_res.get(path)?.get(m)
    }

    /// Every place referring to a target.
    pub fn sites_of(&self, t: TargetId) -> &[Site] {
        self.refs_to.get(&t).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The dependency edges a resolved dependsOn entry of `path` makes
    /// (the one rule of [`RefModel::find_cycles`] and of a patch): from a
    /// whole object to whole objects.
    fn dep_edges(&self, path: &Path, r: &RefInfo, res: &Resolution, out: &mut Vec<(TargetId, TargetId)>) {
        if !r.spec().depends_on || res.status != Status::Ok {
            return;
        }
        let Some(from) = self.target_of(path, r.object).filter(|&t| !self.targets[t].patch) else { return };
        for &t in &res.targets {
            if matches!(self.targets[t].origin, Origin::Object { .. }) && !self.targets[t].patch {
                out.push((from, t));
            }
        }
    }

    /// Does `from` depend on `to`, directly or not? A search from `from`
    /// through the dependsOn entries of each object reached (found by
    /// their object index in their file): as long as what depends on it.
    fn depends_on_path(&self, files: &HashMap<PathBuf, Arc<FileData>>, from: TargetId, to: TargetId) -> bool {
        let mut seen = HashSet::from([from]);
        let mut stack = vec![from];
        let mut next = Vec::new();
        while let Some(t) = stack.pop() {
            if t == to {
                return true;
            }
            let Origin::Object { path, object } = &self.targets[t].origin else { continue };
            let (Some(f), rs) = (files.get(path), self.resolutions_of(path)) else { continue };
            let refs = &f.summary.refs.refs;
            for ri in run_of(refs, |r| r.object, *object, object + 1) {
                if let Some(res) = rs.get(ri) {
                    next.clear();
                    self.dep_edges(path, &refs[ri], res, &mut next);
                    stack.extend(next.iter().map(|e| e.1).filter(|&x| seen.insert(x)));
                }
            }
        }
        false
    }

    fn find_cycles(&mut self, files: &HashMap<PathBuf, Arc<FileData>>) {
        // edges between objects through resolved dependsOn entries
        let mut edges: HashMap<TargetId, Vec<(TargetId, PathBuf, usize)>> = HashMap::new();
        // only resolved dependsOn entries, sorted for stable messages
        let mut keys: Vec<(&PathBuf, usize)> = self
            .resolutions
            .iter()
            .flat_map(|(p, v)| v.iter().enumerate().map(move |(i, res)| (p, i, res)))
            .filter(|(p, i, res)| res.status == Status::Ok && files[*p].summary.refs.refs[*i].spec().depends_on)
            .map(|(p, i, _)| (p, i))
            .collect();
        keys.sort();
        let mut found = Vec::new();
        for (path, ri) in keys {
            found.clear();
            self.dep_edges(path, &files[path].summary.refs.refs[ri], &self.resolutions[path][ri], &mut found);
            for &(from, t) in &found {
                edges.entry(from).or_default().push((t, path.clone(), ri));
            }
        }
        // an edge closes a cycle when both ends are in one strongly connected
        // component (Tarjan, linear); only those edges look for the way back
        let comp = strongly_connected(&edges);
        let mut out: HashMap<PathBuf, HashMap<usize, String>> = HashMap::new();
        for (&from, es) in &edges {
            for (to, path, ri) in es {
                if comp.get(&from) != comp.get(to) {
                    continue;
                }
                let c = comp[&from];
                if let Some(back) = bfs_within(&edges, *to, from, |x| comp.get(&x) == Some(&c)) {
                    let mut names = vec![self.targets[from].label()];
                    names.extend(back.iter().map(|&t| self.targets[t].label()));
                    out.entry(path.clone()).or_default().insert(*ri, names.join(" → "));
                }
            }
        }
        self.cycles = out;
    }
}

type Edges = HashMap<TargetId, Vec<(TargetId, PathBuf, usize)>>;

/// The strongly connected component of every node with an edge (Tarjan's
/// algorithm, iterative: dependsOn chains can be thousands deep).
fn strongly_connected(edges: &Edges) -> HashMap<TargetId, usize> {
    let mut index: HashMap<TargetId, usize> = HashMap::new();
    let mut low: HashMap<TargetId, usize> = HashMap::new();
    let mut on_stack: HashSet<TargetId> = HashSet::new();
    let mut stack: Vec<TargetId> = Vec::new();
    let mut comp: HashMap<TargetId, usize> = HashMap::new();
    let mut next = 0usize;
    let mut ncomp = 0usize;
    let mut roots: Vec<TargetId> = edges.keys().copied().collect();
    roots.sort_unstable();
    for root in roots {
        if index.contains_key(&root) {
            continue;
        }
        // (node, position in its edge list)
        let mut work: Vec<(TargetId, usize)> = vec![(root, 0)];
        index.insert(root, next);
        low.insert(root, next);
        next += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            let out = edges.get(&v).map(Vec::as_slice).unwrap_or(&[]);
            if let Some((w, _, _)) = out.get(*i) {
                *i += 1;
                let w = *w;
                match index.entry(w) {
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(next);
                        low.insert(w, next);
                        next += 1;
                        stack.push(w);
                        on_stack.insert(w);
                        work.push((w, 0));
                    }
                    std::collections::hash_map::Entry::Occupied(e) if on_stack.contains(&w) => {
                        let lw = *e.get();
                        let lv = low.get_mut(&v).expect("visited");
                        *lv = (*lv).min(lw);
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                }
                continue;
            }
            work.pop();
            let lv = low[&v];
            if let Some(&(parent, _)) = work.last() {
                let lp = low.get_mut(&parent).expect("visited");
                *lp = (*lp).min(lv);
            }
            if lv == index[&v] {
                while let Some(x) = stack.pop() {
                    on_stack.remove(&x);
                    comp.insert(x, ncomp);
                    if x == v {
                        break;
                    }
                }
                ncomp += 1;
            }
        }
    }
    comp
}

/// Shortest path from `a` to `b` (both included) through nodes accepted by
/// `keep`, if any.
fn bfs_within(edges: &Edges, a: TargetId, b: TargetId, keep: impl Fn(TargetId) -> bool) -> Option<Vec<TargetId>> {
    let mut prev: HashMap<TargetId, TargetId> = HashMap::new();
    let mut seen = HashSet::from([a]);
    let mut q = VecDeque::from([a]);
    while let Some(x) = q.pop_front() {
        if x == b {
            let mut path = vec![b];
            let mut cur = b;
            while cur != a {
                cur = prev[&cur];
                path.push(cur);
            }
            path.reverse();
            return Some(path);
        }
        for (y, _, _) in edges.get(&x).into_iter().flatten() {
            if keep(*y) && seen.insert(*y) {
                prev.insert(*y, x);
                q.push_back(*y);
            }
        }
    }
    None
}

/// The reference (index in `refs.refs`) whose name or block holds `offset`.
pub fn ref_at(file: &FileData, offset: usize) -> Option<usize> {
    let refs = &file.summary.refs.refs;
    refs.iter().position(|r| r.name.range.contains_inclusive(offset) && !r.name.value.is_empty()).or_else(|| {
        // the innermost block holding the cursor
        refs.iter()
            .enumerate()
            .filter(|(_, r)| r.block.contains_inclusive(offset))
            .min_by_key(|(_, r)| r.block.len())
            .map(|(i, _)| i)
    })
}

/// The object whose `metadata.name` holds `offset`.
pub fn object_name_at(file: &FileData, offset: usize) -> Option<usize> {
    file.summary.objects.iter().position(|o| o.name.as_ref().is_some_and(|n| n.range.contains_inclusive(offset)))
}

/// The range of a target's name, in its file.
pub fn target_name_range(t: &Target, files: &dyn Fn(&Path) -> Option<Arc<FileData>>) -> Option<(PathBuf, TextRange)> {
    match &t.origin {
        Origin::Object { path, object } => {
            let f = files(path)?;
            let o = f.summary.objects.get(*object)?;
            Some((path.clone(), o.name.as_ref()?.range))
        }
        Origin::Produced { path, produced, .. } => {
            let f = files(path)?;
            Some((path.clone(), f.summary.refs.produced.get(*produced)?.name.range))
        }
        Origin::Bootstrap => None,
    }
}
