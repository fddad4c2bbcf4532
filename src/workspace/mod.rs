//! Workspace: file discovery, per-file summaries (objects and references),
//! and the reference model shared with requests.

pub mod charts;
mod discover;
mod model;
// references across the repository (issue #4)
pub mod namespaces;
pub mod refs;
pub mod resolve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use discover::{DiscoverReport, discover, discover_accepts, read_file};
pub use model::{Name, ObjectClass, ObjectInfo, Spanned, classify, is_flux_group, object_of, split_api_version};
pub use resolve::RefModel;

use crate::ide::Severity;
use crate::syntax::SyntaxFile;
use crate::text::{ByteEdit, EditHint, LineIndex, Text};

/// Settings that change analysis results.
#[derive(Clone, Debug)]
pub struct Config {
    /// Code → severity (None = off).
    pub severity: HashMap<String, Option<Severity>>,
    /// Files larger than this are indexed for syntax only.
    pub max_file_size: usize,
    /// Extra glob-free path prefixes (relative to a root) not to index.
    pub exclude: Vec<String>,
    /// Directories with CRD YAML files that extend or override the schemas.
    pub crd_paths: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self { severity: HashMap::new(), max_file_size: 2 * 1024 * 1024, exclude: Vec::new(), crd_paths: Vec::new() }
    }
}

/// What a file says about the workspace, used to decide when the
/// cross-file index must be rebuilt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// One per document, in order.
    pub objects: Vec<ObjectInfo>,
    /// References, kustomize paths, variables and markers (issue #4).
    pub refs: refs::RefSummary,
    /// A hash of what other files can see of it (no positions), from its
    /// documents' hashes.
    pub key: u64,
    /// A hash of what chart resolution reads of the file (its releases and
    /// chart sources, see `refs::DocPart::chart_key`); 0 when it has none.
    pub chart_key: u64,
    /// It defines a CustomResourceDefinition (a schema source).
    pub crds: bool,
    /// The documents with a chart key, and the sum their terms make
    /// (`chart_key` from these), kept so that a change of one document
    /// updates `chart_key` without reading the others.
    chart_docs: usize,
    chart_sum: u64,
}

/// One file of the workspace, analysed.
#[derive(Debug)]
pub struct FileData {
    pub path: PathBuf,
    pub text: Text,
    pub index: Arc<LineIndex>,
    pub syntax: SyntaxFile,
    pub summary: FileSummary,
    /// The editor's version for open documents.
    pub version: Option<i32>,
    /// Larger than `max_file_size`: syntax checks only.
    pub syntax_only: bool,
    pub invalid_utf8_at: Option<usize>,
    /// The documents' summary parts (open documents only), for the next version.
    parts: Option<Arc<refs::PartTable>>,
    /// A result kept for the file's next version (open documents only): the
    /// IDE's per-document diagnostics table, which that version mostly
    /// reuses. Opaque here (the workspace does not know the IDE's types).
    memo: std::sync::Mutex<Option<Arc<dyn std::any::Any + Send + Sync>>>,
}

impl FileData {
    pub fn new(
        path: PathBuf,
        text: Text,
        index: Arc<LineIndex>,
        version: Option<i32>,
        prev: Option<&FileData>,
        config: &Config,
    ) -> Self {
        Self::edited(path, text, index, version, prev, None, config)
    }

    /// [`FileData::new`] after one change of `prev`'s text, `edit` (which
    /// the caller made to that very text).
    pub fn edited(
        path: PathBuf,
        text: Text,
        index: Arc<LineIndex>,
        version: Option<i32>,
        prev: Option<&FileData>,
        edit: Option<EditHint>,
        config: &Config,
    ) -> Self {
        let edit =
            edit.filter(|e| prev.is_some() && e.start <= e.old_end && e.start <= e.new_end && e.new_end <= text.len());
        let syntax_only = text.len() > config.max_file_size;
        let syntax = if text.len() > config.max_file_size.saturating_mul(2) {
            // far too large: not parsed at all (the size diagnostic says so)
            SyntaxFile::default()
        } else if syntax_only {
            SyntaxFile::parse_syntax_only(&text)
        } else {
            SyntaxFile::parse_edited(&text, prev.map(|p| &p.syntax), edit)
        };
        // per document, memoised on the parse: a keystroke extracts one
        // document and moves the others' ranges
        let (summary, parts) =
            refs::extract_edited(&path, &syntax.docs, version.is_some(), prev.and_then(|p| p.parts.as_deref()));
        // the previous version's memo, for the next computation to reuse what it can
        let memo =
            prev.filter(|_| version.is_some()).and_then(|p| p.memo.lock().unwrap_or_else(|e| e.into_inner()).clone());
        FileData {
            path,
            text,
            index,
            syntax,
            summary,
            version,
            syntax_only,
            invalid_utf8_at: None,
            parts,
            memo: std::sync::Mutex::new(memo),
        }
    }

    /// Applies one change (`text`, `index`: the text after it) to this open
    /// file in place when it can (see [`refs::InPlace`]): the documents of
    /// the change are parsed, the summary and the document list are patched
    /// where they are, and nothing else of the file is copied. The file is
    /// untouched when it cannot ([`FileData::edited`] then builds the new
    /// version).
    fn edit_in_place(
        &mut self,
        text: &Text,
        index: &Arc<LineIndex>,
        version: Option<i32>,
        edit: EditHint,
        config: &Config,
    ) -> InPlaceEdit {
        let fits = edit.start <= edit.old_end && edit.start <= edit.new_end && edit.new_end <= text.len();
        if !fits || version.is_none() || self.version.is_none() || self.syntax_only || text.len() > config.max_file_size
        {
            return InPlaceEdit::Refused;
        }
        let Some(table) = self.parts.as_mut().and_then(Arc::get_mut) else { return InPlaceEdit::Refused };
        let Some(patch) = self.syntax.patch(text, edit) else { return InPlaceEdit::Refused };
        let Some(plan) = refs::InPlace::plan(&self.path, &self.summary, table, &self.syntax.docs, &patch) else {
            return InPlaceEdit::Refused;
        };
        // what the cross-file model must forget, read before it is overwritten
        let (k, n) = (patch.k, patch.docs.len());
        let old = plan.key_changed.then(|| {
            let old = resolve::OldRun::of_summary(&self.syntax.docs, &self.summary, k, k + n);
            (old, k + n)
        });
        let ids: Vec<u64> = patch.docs.iter().map(|d| d.id).collect();
        plan.commit(&mut self.summary, table, ids.into_iter());
        self.syntax.apply_patch(patch);
        self.text = text.clone();
        self.index = index.clone();
        self.version = version;
        match old {
            Some((old, ne)) => InPlaceEdit::Changed(Box::new(old), ne),
            None => InPlaceEdit::Kept,
        }
    }

    /// The memo of type `T` (this version's or the previous version's: the
    /// owner tells them apart).
    pub fn memo<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let m = self.memo.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        m.downcast::<T>().ok()
    }

    /// The memo of type `T`, taken out of the file (for its owner to
    /// change it where it is, and put it back).
    pub fn take_memo<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let mut slot = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if !slot.as_ref().is_some_and(|m| (**m).is::<T>()) {
            return None;
        }
        slot.take()?.downcast::<T>().ok()
    }

    /// Keeps `value` for this version and the next one (open documents
    /// only: files read from disk keep nothing).
    pub fn set_memo<T: std::any::Any + Send + Sync>(&self, value: Arc<T>) {
        if self.version.is_some() {
            *self.memo.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        }
    }
}

/// What [`FileData::edit_in_place`] did.
enum InPlaceEdit {
    /// Nothing: the change needs a new version.
    Refused,
    /// Applied; other files see the file as before.
    Kept,
    /// Applied; other files see a change of the documents `[old.k, ne)`.
    Changed(Box<resolve::OldRun>, usize),
}

/// All files known to the server or the checker, with settings and schemas.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub roots: Vec<PathBuf>,
    files: HashMap<PathBuf, Arc<FileData>>,
    pub config: Config,
    /// The reference model (issue #4), rebuilt lazily after a summary changed.
    ref_model: OnceLock<Arc<RefModel>>,
    /// Flux API schemas (issue #3): the built-in catalog plus workspace CRDs,
    /// rebuilt lazily when a CRD-bearing file changes.
    schemas: OnceLock<Arc<crate::schema::Registry>>,
    /// Workspace charts by directory (issue #9), filled lazily; replaced (not
    /// cleared: snapshots share it) when a chart file changes.
    charts: Arc<charts::ChartCache>,
    /// Charts from Helm repositories and OCI registries (issue #9): the disk
    /// cache and the fetch queue, shared by every snapshot.
    pub remote_charts: Arc<crate::charts::Remote>,
    /// CRDs read from the connected cluster, with its context (issue #6):
    /// a schema source after the built-in catalog, before the workspace's.
    cluster_crds: Arc<(String, Vec<crate::schema::KindDef>)>,
}

/// An immutable view for the IDE features.
pub struct Analysis<'a> {
    pub ws: &'a Workspace,
    pub config: &'a Config,
}

impl<'a> Analysis<'a> {
    pub fn file(&self, path: &Path) -> Option<&'a Arc<FileData>> {
        self.ws.files.get(path)
    }
    pub fn ref_model(&self) -> Arc<RefModel> {
        self.ws.ref_model()
    }
    pub fn schemas(&self) -> Arc<crate::schema::Registry> {
        self.ws.schemas()
    }
}

impl Workspace {
    pub fn analysis(&self) -> Analysis<'_> {
        Analysis { ws: self, config: &self.config }
    }

    pub fn file(&self, path: &Path) -> Option<&Arc<FileData>> {
        self.files.get(path)
    }

    pub fn files(&self) -> impl Iterator<Item = &Arc<FileData>> {
        self.files.values()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// How many Flux objects the workspace defines.
    pub fn flux_objects(&self) -> usize {
        self.files.values().map(|f| f.summary.objects.iter().filter(|o| o.class == ObjectClass::Flux).count()).sum()
    }

    /// The reference model, rebuilt lazily after a summary changed.
    pub fn ref_model(&self) -> Arc<RefModel> {
        self.ref_model.get_or_init(|| Arc::new(RefModel::build(&self.roots, &self.files))).clone()
    }

    /// The schema registry (built-in catalog + workspace CRDs + `crd_paths`).
    pub fn schemas(&self) -> Arc<crate::schema::Registry> {
        self.schemas.get_or_init(|| Arc::new(crate::schema::Registry::for_workspace(self))).clone()
    }

    /// The cluster's context and the CRDs read from it.
    pub fn cluster_crds(&self) -> &(String, Vec<crate::schema::KindDef>) {
        &self.cluster_crds
    }

    /// Sets the CRDs the cluster serves (empty when disconnected or off).
    pub fn set_cluster_crds(&mut self, context: String, kinds: Vec<crate::schema::KindDef>) {
        if self.cluster_crds.0 == context && self.cluster_crds.1 == kinds {
            return;
        }
        self.cluster_crds = Arc::new((context, kinds));
        self.schemas = OnceLock::new();
    }

    fn invalidate(&mut self) {
        self.ref_model = OnceLock::new();
    }

    /// Sets a file's text. Returns true when what other files can see of it
    /// (its summary) changed.
    pub fn set_file(&mut self, path: PathBuf, text: String, version: Option<i32>) -> bool {
        let index = Arc::new(LineIndex::new(&text));
        self.set_file_shared(path, text.into(), index, version)
    }

    pub fn set_file_shared(&mut self, path: PathBuf, text: Text, index: Arc<LineIndex>, version: Option<i32>) -> bool {
        self.set_file_edited(path, text, index, version, None)
    }

    /// Applies an open document's change (its [`ByteEdit`]s, in order, as
    /// [`crate::text::Document::apply`] gave them) to the file, which must
    /// be at version `from`. The text and line index are changed where they
    /// are when nothing else holds them, and the file in place when it can
    /// be ([`FileData::edit_in_place`]). Returns whether what other files see
    /// changed. None when the file is not at `from` or an edit does not fit
    /// its text: the caller must then set the whole text. (The bounds of
    /// every edit are checked before anything changes; that a later edit of
    /// a batch cuts a character can only be seen as it is applied, which
    /// leaves the file for the caller to replace.)
    pub fn edit_file(&mut self, path: &Path, from: i32, version: i32, edits: &[ByteEdit]) -> Option<bool> {
        let slot = self.files.get_mut(path)?;
        if slot.version != Some(from) {
            return None;
        }
        // every edit fits the text the ones before it leave (and the first
        // one cuts this text at char boundaries; the others are checked as
        // they are applied)
        let mut len = slot.text.len();
        for e in edits {
            if e.start > e.end || e.end > len {
                return None;
            }
            len = len - (e.end - e.start) + e.text.len();
        }
        if let Some(e) = edits.first()
            && !(slot.text.is_char_boundary(e.start) && slot.text.is_char_boundary(e.end))
        {
            return None;
        }
        let (mut text, mut index) = match Arc::get_mut(slot) {
            Some(file) => (std::mem::take(&mut file.text), std::mem::take(&mut file.index)),
            None => (slot.text.clone(), slot.index.clone()),
        };
        for e in edits {
            if !(text.is_char_boundary(e.start) && text.is_char_boundary(e.end)) {
                // not the text the document changed: the caller sets the
                // whole text, which replaces the file
                return None;
            }
            text.edit(e.start, e.end, &e.text);
            Arc::make_mut(&mut index).edit(&text, e.start, e.end, e.start + e.text.len());
        }
        let hint = match edits {
            [e] => Some(e.hint()),
            _ => None,
        };
        Some(self.set_file_edited(path.to_path_buf(), text, index, Some(version), hint))
    }

    /// [`Workspace::set_file_shared`] after one change `edit` of the file's
    /// current text.
    fn set_file_edited(
        &mut self,
        path: PathBuf,
        text: Text,
        index: Arc<LineIndex>,
        version: Option<i32>,
        edit: Option<EditHint>,
    ) -> bool {
        // in place when no snapshot holds the file and the change keeps its
        // documents and their items (see `refs::InPlace`); schemas, charts
        // and the model follow as `insert` has them follow
        let in_place = match (edit, self.files.get_mut(&path).and_then(Arc::get_mut)) {
            (Some(e), Some(file)) => file.edit_in_place(&text, &index, version, e, &self.config),
            _ => InPlaceEdit::Refused,
        };
        if !matches!(in_place, InPlaceEdit::Refused) {
            let file = self.files[&path].clone();
            if crate::schema::has_crds(&file) {
                self.schemas = OnceLock::new();
            }
            if charts::is_chart_file(&path) {
                self.charts = Default::default();
            }
            let InPlaceEdit::Changed(old, ne) = in_place else { return false };
            // as `insert` does for a changed summary
            let model = self.ref_model.take();
            self.invalidate();
            if let Some(mut model) = model
                && let Some(plan) = model.plan_run(*old, &file, ne)
            {
                Arc::make_mut(&mut model).apply(&self.files, &self.roots, &file, plan);
                let _ = self.ref_model.set(model);
            }
            return true;
        }
        let prev = self.files.get(&path).cloned();
        let data = FileData::edited(path.clone(), text, index, version, prev.as_deref(), edit, &self.config);
        let changed = self.insert(data, prev.as_deref());
        if let Some(prev) = prev {
            drop_later(prev);
        }
        changed
    }

    /// Inserts an analysed file (built elsewhere, e.g. in parallel).
    pub fn insert(&mut self, data: FileData, prev: Option<&FileData>) -> bool {
        let changed = match prev {
            Some(p) => p.summary.key != data.summary.key,
            None => true,
        };
        if crate::schema::has_crds(&data) || prev.is_some_and(crate::schema::has_crds) {
            self.schemas = OnceLock::new();
        }
        if charts::is_chart_file(&data.path) {
            self.charts = Default::default();
        }
        let data = Arc::new(data);
        self.files.insert(data.path.clone(), data.clone());
        if changed {
            // patched in place when the change allows it (a keystroke in an
            // object's name or references), else rebuilt when next asked for
            let model = self.ref_model.take();
            self.invalidate();
            if let (Some(prev), Some(mut model)) = (prev, model)
                && let Some(plan) = model.plan(prev, &data)
            {
                // a clone only when a snapshot still holds the model
                Arc::make_mut(&mut model).apply(&self.files, &self.roots, &data, plan);
                let _ = self.ref_model.set(model);
            }
        }
        changed
    }

    pub fn remove_file(&mut self, path: &Path) -> bool {
        let removed = self.files.remove(path).is_some();
        if removed {
            self.schemas = OnceLock::new();
            self.charts = Default::default();
            self.invalidate();
        }
        removed
    }

    /// Removes every file under `dir` (a deleted directory).
    pub fn remove_under(&mut self, dir: &Path) -> usize {
        let before = self.files.len();
        self.files.retain(|p, _| !p.starts_with(dir));
        let n = before - self.files.len();
        if n > 0 {
            self.schemas = OnceLock::new();
            self.charts = Default::default();
            self.invalidate();
        }
        n
    }

    /// Discovers and loads every YAML file under the roots, in parallel.
    pub fn load_roots(&mut self) -> DiscoverReport {
        // `a/../b` roots would make every walk up the tree (repository root,
        // kustomization lookups) pass through `a`
        self.roots = self.roots.iter().map(|r| normalize_path(r)).collect();
        let (paths, mut report) = discover(&self.roots, &self.config);
        let config = self.config.clone();
        let loaded: Vec<Option<FileData>> = {
            use rayon::prelude::*;
            paths.par_iter().map(|p| load_file(p, &config)).collect()
        };
        for (p, data) in paths.iter().zip(loaded) {
            match data {
                Some(d) => {
                    self.insert(d, None);
                }
                None => report.skipped.push((p.clone(), "unreadable or binary".into())),
            }
        }
        report.files = self.files.len();
        report
    }
}

/// Documents from which a file's old version is freed on a background
/// thread.
const DROP_LATER_DOCS: usize = 1000;

/// Lets go of a file's previous version. When it was the last reference to
/// a large file, the freeing (every document's parse and summary part that
/// the new version did not keep, and the old summary: a tenth of a
/// keystroke at 10,000 documents) happens on a background thread, since
/// nothing waits for it.
fn drop_later(file: Arc<FileData>) {
    use std::sync::mpsc::Sender;
    static DROPPER: OnceLock<Option<std::sync::Mutex<Sender<Arc<FileData>>>>> = OnceLock::new();
    if file.syntax.docs.len() < DROP_LATER_DOCS || Arc::strong_count(&file) > 1 {
        return; // small, or still held by a snapshot: dropped here as usual
    }
    let dropper = DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<FileData>>();
        let spawned = std::thread::Builder::new().name("flux-lsp-drop".into()).spawn(move || {
            for file in rx {
                drop(file);
            }
        });
        spawned.ok().map(|_| std::sync::Mutex::new(tx))
    });
    if let Some(tx) = dropper {
        // when the thread is gone, the send fails and drops it here
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(file);
    }
}

/// Removes `.` and `..` components lexically (no file system access, so paths
/// stay as the editor names them).
pub fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Reads and analyses one file from disk. None for unreadable or binary files.
pub fn load_file(path: &Path, config: &Config) -> Option<FileData> {
    let (text, bad) = read_file(path)?;
    let index = Arc::new(LineIndex::new(&text));
    let mut d = FileData::new(path.to_path_buf(), text.into(), index, None, None, config);
    d.invalid_utf8_at = bad;
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An open document's change is applied to the file's own text: the
    /// documents outside it are reused without being read, and the text and
    /// line index are changed where they are when nothing else holds them.
    /// A file that is not at the document's last version refuses the change
    /// and keeps its text (the caller then sets the whole text).
    #[test]
    fn edits_follow_the_documents_last_version_only() {
        use crate::text::{Document, Encoding, LineCol, TextEdit};
        let v1 = "a: 1\n---\nb: 2\n---\nc: 3\n";
        let path = PathBuf::from("/t/a.yaml");
        let mut ws = Workspace::default();
        ws.set_file(path.clone(), v1.to_string(), Some(1));
        let mut doc = Document::new(v1, 1);
        let before: Vec<_> = ws.file(&path).unwrap().syntax.docs.iter().map(|d| d.parsed.clone()).collect();
        // `b: 2` -> `b: 2x`, then `b: 22`
        let at = LineCol { line: 2, col: 4 };
        let bytes = doc.apply(&[TextEdit { range: Some((at, at)), text: "x".into() }], 2, Encoding::Utf16);
        assert_eq!(bytes, [ByteEdit { start: 13, end: 13, text: "x".into() }]);
        assert_eq!(ws.edit_file(&path, 1, 2, &bytes), Some(false));
        let text_at = ws.file(&path).unwrap().text.as_ptr();
        let end = LineCol { line: 2, col: 5 };
        let bytes = doc.apply(&[TextEdit { range: Some((at, end)), text: "2".into() }], 3, Encoding::Utf16);
        assert_eq!(ws.edit_file(&path, 2, 3, &bytes), Some(false));
        let f = ws.file(&path).unwrap();
        assert_eq!((&*f.text, f.version), ("a: 1\n---\nb: 22\n---\nc: 3\n", Some(3)));
        assert_eq!(*f.index, LineIndex::new(&f.text));
        assert_eq!(f.text.as_ptr(), text_at, "the text was changed where it is");
        let reused: Vec<bool> = before.iter().zip(&f.syntax.docs).map(|(a, b)| Arc::ptr_eq(a, &b.parsed)).collect();
        assert_eq!(reused, [true, false, true]);
        // a change made to version 2 again: the file is at 3, so it refuses
        assert_eq!(ws.edit_file(&path, 2, 4, &bytes), None);
        // an edit past the end of the text, or inside a character: refused
        let past = [ByteEdit { start: 90, end: 91, text: "x".into() }];
        assert_eq!(ws.edit_file(&path, 3, 4, &past), None);
        let f = ws.file(&path).unwrap();
        assert_eq!((&*f.text, f.version), ("a: 1\n---\nb: 22\n---\nc: 3\n", Some(3)));
    }

    /// An open file's next version takes the summary parts of the documents
    /// it kept from the previous version's table, and only those.
    #[test]
    fn kept_documents_keep_their_summary_parts() {
        let path = PathBuf::from("/t/a.yaml");
        let config = Config::default();
        let obj = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
        let v1 = format!("{}---\n{}---\n{}", obj("a"), obj("b"), obj("c"));
        let first =
            FileData::new(path.clone(), v1.as_str().into(), Arc::new(LineIndex::new(&v1)), Some(1), None, &config);
        let v2 = v1.replace("name: b", "name: bb");
        let next = FileData::new(
            path.clone(),
            v2.as_str().into(),
            Arc::new(LineIndex::new(&v2)),
            Some(2),
            Some(&first),
            &config,
        );
        let (p1, p2) = (first.parts.as_ref().unwrap().parts(), next.parts.as_ref().unwrap().parts());
        let kept: Vec<bool> = p1.iter().zip(p2).map(|(a, b)| Arc::ptr_eq(a, b)).collect();
        assert_eq!(kept, [true, false, true]);
        assert_eq!(next.summary.objects[1].name.as_ref().unwrap().value, "bb");
        assert_eq!(&v2[next.summary.objects[2].name.as_ref().unwrap().range.start..][..1], "c");
        // files read from disk keep no table
        assert!(
            FileData::new(path, v2.as_str().into(), Arc::new(LineIndex::new(&v2)), None, None, &config).parts.is_none()
        );
    }

    /// The previous version of a large file is freed on another thread, and
    /// freed: nothing keeps it.
    #[test]
    fn a_large_files_old_version_is_freed() {
        let path = PathBuf::from("/t/big.yaml");
        let text: String = (0..DROP_LATER_DOCS + 1).map(|i| format!("---\na{i}: 1\n")).collect();
        let mut ws = Workspace::default();
        ws.set_file(path.clone(), text.clone(), Some(1));
        let old = Arc::downgrade(ws.file(&path).unwrap());
        ws.set_file(path.clone(), format!("{text}b: 2\n"), Some(2));
        let t = std::time::Instant::now();
        while old.upgrade().is_some() {
            assert!(t.elapsed() < std::time::Duration::from_secs(10), "the old version was not freed");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(ws.file(&path).unwrap().syntax.docs.len(), DROP_LATER_DOCS + 1);
    }

    #[test]
    fn normalize_path_is_lexical() {
        assert_eq!(normalize_path(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(normalize_path(Path::new("../x")), PathBuf::from("../x"));
    }

    /// A root given as `clone/../shared/x` must not make the clone's `.git`
    /// look like the repository of the files under it.
    #[test]
    fn roots_are_normalised_before_loading() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tool/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/a.yaml"), "a: 1\n").unwrap();
        let mut ws = Workspace { roots: vec![dir.path().join("tool/../data")], ..Default::default() };
        ws.load_roots();
        assert_eq!(ws.roots, vec![dir.path().join("data")]);
        assert!(ws.file(&dir.path().join("data/a.yaml")).is_some());
    }
}
