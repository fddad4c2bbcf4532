//! Syntax layer: document split, YAML syntax tree, paths and spans.
//!
//! Never fails: every input gives a [`SyntaxFile`], with YAML errors as data.

mod scalar;
mod split;
mod tree;

use std::cell::RefCell;
use std::sync::Arc;

pub use scalar::{ScalarStyle, ScalarType, resolve_plain};
pub use split::{DocSpan, split_documents};
pub use tree::{Entry, MAX_DEPTH, Node, NodeId, NodeKind, PathSeg, Tree, path_to_string};

use crate::text::{EditHint, TextRange};

/// A YAML syntax problem, relative to its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
    /// A resource limit (alias expansion, nesting) rather than invalid YAML.
    pub limit: bool,
}

/// Memo slots of a parsed document (schema validation, chart resolution,
/// chart values checks).
const MEMO_SLOTS: usize = 3;

/// Block nesting beyond this is not given to tree-sitter: tree-sitter-yaml's
/// scanner serialises its indentation stack into 1 KiB (4 bytes a level) and
/// aborts the process past about 253 levels.
pub const MAX_BLOCK_DEPTH: usize = 200;

/// One parsed document. All ranges are relative to `text`.
#[derive(Debug)]
pub struct ParsedDoc {
    /// Unique to this parse (never reused in the process): what a per-file
    /// table of document results is checked against, see [`FileDoc::id`].
    pub id: u64,
    pub text: Box<str>,
    pub tree: Tree,
    pub errors: Vec<SyntaxError>,
    /// Ranges of `# ...` comments, in order.
    pub comments: Vec<TextRange>,
    /// True when tree-sitter could not build the whole document (the tree is
    /// missing parts): checks that need the whole document are skipped.
    pub partial: bool,
    /// Keys repeated in one mapping (every occurrence after the first), found
    /// once per parse.
    pub duplicate_keys: Vec<(NodeId, TextRange)>,
    /// Memo slots (one per type) for analyses that depend only on this
    /// document and what they name: its schema validation, its chart. They travel with the
    /// document, which is reused as long as its text is unchanged, so a
    /// keystroke recomputes one document.
    /// Inline slots (no allocation: every document of the workspace has them).
    memos: std::sync::Mutex<[Option<Arc<dyn std::any::Any + Send + Sync>>; MEMO_SLOTS]>,
}

impl ParsedDoc {
    /// A document not given to the tree builder (too deep, too large):
    /// its syntax errors only, marked partial.
    fn without_tree(text: &str, errors: Vec<SyntaxError>) -> ParsedDoc {
        ParsedDoc {
            id: next_id(),
            text: text.into(),
            tree: Tree::default(),
            errors,
            comments: Vec::new(),
            partial: true,
            duplicate_keys: Vec::new(),
            memos: Default::default(),
        }
    }

    /// The memo of type `T`, if one was stored.
    pub fn memo<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let memos = self.memos.lock().unwrap_or_else(|e| e.into_inner());
        memos.iter().flatten().find(|m| (***m).is::<T>()).and_then(|m| m.clone().downcast::<T>().ok())
    }

    /// Stores the memo of type `T`, replacing the previous one.
    pub fn set_memo<T: std::any::Any + Send + Sync>(&self, value: Arc<T>) {
        let mut memos = self.memos.lock().unwrap_or_else(|e| e.into_inner());
        // the slot of this type, else a free one, else the first (the memo
        // it held is recomputed when next asked for)
        let i = memos
            .iter()
            .position(|m| m.as_ref().is_some_and(|m| (**m).is::<T>()))
            .or_else(|| memos.iter().position(Option::is_none))
            .unwrap_or(0);
        memos[i] = Some(value);
    }

    pub fn comment_text(&self, r: TextRange) -> &str {
        &self.text[r.start..r.end]
    }
}

/// Where document `i` of a file of `len` documents, whose parse has id
/// `id`, was in the file's previous version (`prev_ids`, its documents'
/// ids): an edit leaves the documents before it at the same index and those
/// after it at the same index from the end. Never from or to index 0 from
/// elsewhere (the first document of a kustomization file is read
/// differently).
pub fn kept_index(prev_ids: &[u64], len: usize, i: usize, id: u64) -> Option<usize> {
    let from_end = prev_ids.len() as isize - len as isize;
    [i as isize, i as isize + from_end]
        .into_iter()
        .filter_map(|j| usize::try_from(j).ok())
        .find(|&j| prev_ids.get(j) == Some(&id) && (j == 0) == (i == 0))
}

/// A new [`ParsedDoc::id`].
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A document of a file: where it sits and its parse.
#[derive(Clone, Debug)]
pub struct FileDoc {
    pub span: DocSpan,
    pub parsed: Arc<ParsedDoc>,
    /// `parsed.id`, kept here so that a walk over a file's documents can
    /// tell which ones it kept from its previous version without reading
    /// each parse (10,000 of them are 10,000 cache misses).
    pub id: u64,
}

impl FileDoc {
    pub fn new(span: DocSpan, parsed: Arc<ParsedDoc>) -> FileDoc {
        FileDoc { span, id: parsed.id, parsed }
    }

    /// Absolute offset of the document's text in the file.
    pub fn base(&self) -> usize {
        self.span.range.start
    }
    pub fn abs(&self, r: TextRange) -> TextRange {
        r.shift(self.base())
    }
}

/// A whole file: its documents, each parsed.
#[derive(Clone, Debug, Default)]
pub struct SyntaxFile {
    pub docs: Vec<FileDoc>,
}

impl SyntaxFile {
    /// Parses `text`, reusing the parse of every document whose text is
    /// unchanged from `prev` (so a keystroke reparses one document).
    pub fn parse(text: &str, prev: Option<&SyntaxFile>) -> SyntaxFile {
        Self::parse_edited(text, prev, None)
    }

    /// [`SyntaxFile::parse`] after one change of `prev`'s text: the documents
    /// wholly before or after the change are reused when they are where the
    /// change left them, without comparing their text.
    pub fn parse_edited(text: &str, prev: Option<&SyntaxFile>, edit: Option<EditHint>) -> SyntaxFile {
        if let (Some(p), Some(e)) = (prev, edit)
            && let Some(patch) = p.patch(text, e)
        {
            let mut next = p.clone();
            next.apply_patch(patch);
            return next;
        }
        let prev: &[FileDoc] = prev.map(|p| &p.docs[..]).unwrap_or(&[]);
        let spans = split_documents(text);
        let from_end = prev.len() as isize - spans.len() as isize;
        let docs = spans.into_iter().enumerate().map(|(i, span)| doc_of(prev, text, None, i, span, from_end)).collect();
        SyntaxFile { docs }
    }

    /// What one change of this file's text (now `text`) does to its
    /// documents: the run it replaced, parsed (a document of the run whose
    /// text is unchanged keeps its parse). The documents around the run are
    /// neither copied nor compared. None when the hint cannot describe `text`.
    pub fn patch(&self, text: &str, edit: EditHint) -> Option<DocsPatch> {
        let e = edit;
        if self.docs.is_empty() || e.start > e.new_end || e.new_end > text.len() || e.start > e.old_end {
            return None;
        }
        let prev = &self.docs[..];
        let run = split::split_run_after_edit(text, prev.len(), &|i| &prev[i].span, e.start, e.old_end, e.new_end);
        let new_len = run.k + run.spans.len() + (prev.len() - run.resume);
        let from_end = prev.len() as isize - new_len as isize;
        let docs = run
            .spans
            .into_iter()
            .enumerate()
            .map(|(j, span)| doc_of(prev, text, Some(e), run.k + j, span, from_end))
            .collect();
        Some(DocsPatch { k: run.k, old_len: run.resume - run.k, docs, delta: e.new_end as isize - e.old_end as isize })
    }

    /// Applies a [`SyntaxFile::patch`] of this file in place: the run is
    /// replaced and the later documents move.
    pub fn apply_patch(&mut self, patch: DocsPatch) {
        let end = patch.k + patch.old_len;
        for d in &mut self.docs[end..] {
            d.span = d.span.moved(patch.delta);
        }
        self.docs.splice(patch.k..end, patch.docs);
    }

    /// The document containing a byte offset (the last one starting at or
    /// before it).
    pub fn doc_at(&self, offset: usize) -> Option<(usize, &FileDoc)> {
        let i = self.docs.partition_point(|d| d.span.range.start <= offset);
        let i = i.saturating_sub(1);
        self.docs.get(i).map(|d| (i, d))
    }
}

/// What one change does to a file's documents: the old documents
/// `[k, k + old_len)` become `docs`, and the later ones move by `delta` bytes.
#[derive(Debug)]
pub struct DocsPatch {
    pub k: usize,
    pub old_len: usize,
    pub docs: Vec<FileDoc>,
    pub delta: isize,
}

/// New document `i` of `text` (at `span`): `prev`'s parse of it when it is
/// one of `prev`'s documents still (see [`reused`]), else parsed.
fn doc_of(prev: &[FileDoc], text: &str, edit: Option<EditHint>, i: usize, span: DocSpan, from_end: isize) -> FileDoc {
    let parsed = reused(prev, text, edit, i, &span, from_end).unwrap_or_else(|| {
        let r = span.range;
        Arc::new(parse_document(&text[r.start..r.end]))
    });
    FileDoc::new(span, parsed)
}

/// The parse of `prev`'s document that new document `i` (span `span` of
/// `text`) still is, if any. A change leaves the documents before it at the
/// same index and those after it at the same index from the end
/// (`from_end`): only those two are compared (by the change's bounds when
/// it is known, else by their text, a memcmp), so no document is hashed or
/// reparsed without need.
fn reused(
    prev: &[FileDoc],
    text: &str,
    edit: Option<EditHint>,
    i: usize,
    span: &DocSpan,
    from_end: isize,
) -> Option<Arc<ParsedDoc>> {
    let r = span.range;
    let same = |j: isize| {
        let d = usize::try_from(j).ok().and_then(|j| prev.get(j))?;
        let old = d.span.range;
        let untouched = edit.is_some_and(|e| {
            // before the change: the same bytes at the same place;
            // after it: the same bytes moved by the change's length
            (old == r && r.end <= e.start)
                || (old.start >= e.old_end
                    && old.start + e.new_end == r.start + e.old_end
                    && old.end + e.new_end == r.end + e.old_end)
        });
        (untouched || *d.parsed.text == text[r.start..r.end]).then(|| d.parsed.clone())
    };
    same(i as isize).or_else(|| same(i as isize + from_end))
}

thread_local! {
    static PARSER: RefCell<tree_sitter::Parser> = RefCell::new({
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_yaml::LANGUAGE.into()).expect("tree-sitter-yaml ABI is supported");
        p
    });
}

/// Parses one document's text. Never fails.
pub fn parse_document(text: &str) -> ParsedDoc {
    if let Some(at) = block_depth_exceeds(text, MAX_BLOCK_DEPTH) {
        let mut errors = saphyr_errors(text);
        errors.retain(|e| !e.limit);
        errors.push(SyntaxError {
            range: TextRange::new(at, token_end(text, at)),
            message: format!("block nesting deeper than {MAX_BLOCK_DEPTH} levels is not analysed"),
            limit: true,
        });
        return ParsedDoc::without_tree(text, errors);
    }
    let ts = PARSER.with(|p| p.borrow_mut().parse(text, None));
    let mut builder = tree::Builder::new(text);
    let mut comments = Vec::new();
    let mut ts_errors = Vec::new();
    if let Some(ts) = &ts {
        let root = ts.root_node();
        // iterative walk: comments and error nodes
        let mut cur = root.walk();
        'walk: loop {
            let n = cur.node();
            if n.kind() == "comment" {
                comments.push(TextRange::new(n.start_byte(), n.end_byte()));
            }
            if n.is_error() || n.is_missing() {
                ts_errors.push(TextRange::new(n.start_byte(), n.end_byte()));
            }
            let descend = n.has_error() || n.child_count() > 0;
            if descend && cur.goto_first_child() {
                continue;
            }
            loop {
                if cur.goto_next_sibling() {
                    continue 'walk;
                }
                if !cur.goto_parent() {
                    break 'walk;
                }
            }
        }
        let mut c = root.walk();
        if let Some(doc) = root.named_children(&mut c).find(|n| n.kind() == "document") {
            builder.build_document(doc);
        }
    }
    let too_deep = builder.too_deep;
    let tree = builder.finish();
    let mut errors = saphyr_errors(text);
    if let Some(r) = too_deep {
        errors.push(SyntaxError {
            range: TextRange::new(r.start, r.start + 1),
            message: format!("nesting deeper than {MAX_DEPTH} levels is not analysed"),
            limit: true,
        });
    }
    // one message per limit is enough (tree builder and parser may both hit it)
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(e.message.clone()));
    let partial = !ts_errors.is_empty() || ts.is_none() || too_deep.is_some() || !errors.is_empty();
    let duplicate_keys = duplicate_keys(&tree);
    ParsedDoc {
        id: next_id(),
        text: text.into(),
        tree,
        errors,
        comments,
        partial,
        duplicate_keys,
        memos: Default::default(),
    }
}

fn saphyr_options(whole_stream: bool) -> serde_saphyr::Options {
    use serde_saphyr::options::DuplicateKeyPolicy;
    let mut opts = serde_saphyr::Options::default();
    opts.duplicate_keys = DuplicateKeyPolicy::FirstWins;
    let mut budget = serde_saphyr::Budget::default();
    // deeper than any real manifest, and our own limit reports it first
    budget.max_depth = MAX_DEPTH;
    budget.max_events = 20_000_000;
    if whole_stream {
        budget.max_documents = usize::MAX;
        budget.max_nodes = usize::MAX / 2;
    }
    opts.budget = Some(budget);
    opts
}

/// Keys that repeat within one mapping (`<<` merge keys excepted).
fn duplicate_keys(tree: &Tree) -> Vec<(NodeId, TextRange)> {
    let mut out = Vec::new();
    for node in &tree.nodes {
        let NodeKind::Map { entries, .. } = &node.kind else { continue };
        if entries.len() < 2 {
            continue;
        }
        // mappings are small: a quadratic scan beats hashing
        for (i, e) in entries.iter().enumerate() {
            let Some(k) = tree.scalar(e.key) else { continue };
            if k != "<<" && entries[..i].iter().any(|p| tree.scalar(p.key) == Some(k)) {
                out.push((e.key, tree.node(e.key).range));
            }
        }
    }
    out
}

/// YAML errors from serde-saphyr (a YAML 1.2 parser with good messages).
fn saphyr_errors(text: &str) -> Vec<SyntaxError> {
    let r: Result<serde::de::IgnoredAny, _> = serde_saphyr::from_str_with_options(text, saphyr_options(false));
    match r {
        Ok(_) => Vec::new(),
        Err(e) => vec![saphyr_error(text, &e)],
    }
}

fn saphyr_error(text: &str, e: &serde_saphyr::Error) -> SyntaxError {
    let mut message = e.without_snippet().to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let limit = message.contains("budget breached") || message.contains("recursion limit");
    if limit {
        let detail = message.split("budget breached: ").nth(1).unwrap_or("").split(" at line").next().unwrap_or("");
        message = if message.contains("recursion limit") || detail.starts_with("Depth") {
            format!("nesting deeper than {MAX_DEPTH} levels is not analysed")
        } else if detail.starts_with("Nodes") || detail.starts_with("Alias") {
            "aliases expand this document to more than 250,000 nodes (a \"billion laughs\" pattern): not analysed further"
                .to_string()
        } else {
            format!("YAML resource limit exceeded ({detail}): not analysed further")
        };
    }
    let offset = e.location().map(|l| offset_of_line_col(text, l.line() as usize, l.column() as usize)).unwrap_or(0);
    let end = token_end(text, offset);
    SyntaxError { range: TextRange::new(offset, end), message, limit }
}

/// The first place where block nesting exceeds `limit` levels, or None.
/// Counts indentation levels the way a YAML scanner stacks them, with each
/// `- ` of a compact sequence as a level of its own.
fn block_depth_exceeds(text: &str, limit: usize) -> Option<usize> {
    let mut stack: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start_matches(' ').len();
        let rest = &body[indent..];
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let push = |col: usize, stack: &mut Vec<usize>| {
            while stack.last().is_some_and(|&t| t > col) {
                stack.pop();
            }
            if stack.last().is_none_or(|&t| t < col) {
                stack.push(col);
            }
            stack.len() > limit
        };
        if push(indent, &mut stack) {
            return Some(start + indent);
        }
        let mut col = indent;
        let mut r = rest;
        while let Some(after) = r.strip_prefix("- ") {
            let skipped = after.len() - after.trim_start_matches(' ').len();
            col += 2 + skipped;
            r = &after[skipped..];
            if !r.is_empty() && push(col, &mut stack) {
                return Some(start + col);
            }
        }
    }
    None
}

impl SyntaxFile {
    /// For files over the size limit: one pass of the YAML parser over the
    /// whole stream for syntax errors, no trees (so no per-document copies).
    pub fn parse_syntax_only(text: &str) -> SyntaxFile {
        let r: Result<Vec<serde::de::IgnoredAny>, _> =
            serde_saphyr::from_multiple_with_options(text, saphyr_options(true));
        let errors = match r {
            Ok(_) => Vec::new(),
            Err(e) => vec![saphyr_error(text, &e)],
        };
        let parsed = ParsedDoc::without_tree("", errors);
        SyntaxFile {
            docs: vec![FileDoc::new(DocSpan { range: TextRange::new(0, text.len()), marker: None }, Arc::new(parsed))],
        }
    }
}

/// 1-based line and 1-based character column to a byte offset (clamped).
fn offset_of_line_col(text: &str, line: usize, col: usize) -> usize {
    let idx = crate::text::LineIndex::new(text);
    let lr = idx.line_range(text, line.saturating_sub(1));
    let seg = &text[lr.start..lr.end];
    let within = seg.char_indices().nth(col.saturating_sub(1)).map(|(i, _)| i).unwrap_or(seg.len());
    lr.start + within
}

/// End of the token at `offset`: the run of non-blank characters, at least
/// one character, never past the line end.
fn token_end(text: &str, offset: usize) -> usize {
    let rest = &text[offset..];
    let mut end = offset;
    for (i, c) in rest.char_indices() {
        if c == '\n' || c == '\r' || (i > 0 && (c == ' ' || c == '\t')) {
            break;
        }
        end = offset + i + c.len_utf8();
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One slot per memo type; a fourth type takes the first slot, whose
    /// memo is then simply missing (recomputed by its owner).
    #[test]
    fn memo_slots_are_per_type() {
        let d = parse_document("a: 1\n");
        d.set_memo(Arc::new(1u8));
        d.set_memo(Arc::new(2u16));
        d.set_memo(Arc::new(3u32));
        d.set_memo(Arc::new(4u8));
        assert_eq!((d.memo::<u8>().as_deref(), d.memo::<u16>().as_deref()), (Some(&4), Some(&2)));
        d.set_memo(Arc::new(5u64));
        assert_eq!(d.memo::<u64>().as_deref(), Some(&5));
        assert_eq!(d.memo::<u8>(), None, "evicted from the first slot");
        assert_eq!((d.memo::<u16>().as_deref(), d.memo::<u32>().as_deref()), (Some(&2), Some(&3)));
    }

    #[test]
    fn builds_tree_with_paths_and_spans() {
        let src = "apiVersion: v1\nkind: K\nspec:\n  list:\n    - a: 1\n    - {b: [x, 'y']}\n  s: \"q\"\n";
        let d = parse_document(src);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert!(!d.partial);
        let t = &d.tree;
        assert_eq!(t.lookup_str(&["kind"]).unwrap().0, "K");
        let y = src.find("'y'").unwrap() + 1;
        let chain = t.chain_at(y);
        let leaf = *chain.last().unwrap();
        assert_eq!(t.scalar(leaf), Some("y"));
        assert_eq!(path_to_string(&t.path_of(leaf)), "spec.list[1].b[1]");
        let (s, r) = t.lookup_str(&["spec", "s"]).unwrap();
        assert_eq!((s, &src[r.start..r.end]), ("q", "\"q\""));
        let key = t.get_entry(t.root.unwrap(), "spec").unwrap().key;
        assert!(t.is_key(key));
    }

    #[test]
    fn anchors_aliases_merge_keys_and_tags() {
        let src = "a: &x [2]\nb: &x {k: 1}\nc: *x\nd:\n  <<: *x\n  e: !!str 5\n";
        let d = parse_document(src);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let t = &d.tree;
        let c = t.lookup(&["c"]).unwrap();
        // duplicate anchor names are legal; the alias takes the latest
        let target = t.resolve_alias(c).unwrap();
        assert!(matches!(t.node(target).kind, NodeKind::Map { .. }));
        let e = t.lookup(&["d", "e"]).unwrap();
        assert_eq!(t.scalar_type(e), Some(ScalarType::Str));
        assert!(t.lookup(&["d", "<<"]).is_some());
    }

    #[test]
    fn syntax_errors_have_precise_ranges() {
        let src = "a: 1\nb: [1, 2\nc: 3\n";
        let d = parse_document(src);
        assert_eq!(d.errors.len(), 1);
        let e = &d.errors[0];
        assert!(e.message.contains("':'"), "{}", e.message);
        assert_eq!(&src[e.range.start..e.range.end], ":");
        let tabs = parse_document("a:\n\t- x\n");
        assert!(tabs.errors[0].message.contains("tabs"), "{:?}", tabs.errors);
    }

    #[test]
    fn half_typed_lines_and_comment_only_documents_do_not_fail() {
        for src in ["  pru", "# only a comment\n", "", "a:\n  b: [", "key: {{ .Values.x }}\n", "- a\nb: 1\n"] {
            let d = parse_document(src);
            let _ = d.tree.chain_at(src.len());
        }
        let d = parse_document("# yaml-language-server: $schema=x.json\na: 1\n");
        assert_eq!(d.comments.len(), 1);
    }

    #[test]
    fn hostile_nesting_and_alias_bombs_are_limits_not_crashes() {
        // block nesting that would overflow tree-sitter-yaml's scanner state
        let deep: String = (0..300).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        let d = parse_document(&deep);
        assert!(d.partial && d.tree.root.is_none());
        assert!(d.errors.iter().any(|e| e.limit && e.message.contains("block nesting")), "{:?}", d.errors);
        // compact nested sequences count as levels too
        let seq = format!("a:\n{}x\n", "- ".repeat(260));
        assert!(parse_document(&seq).errors.iter().any(|e| e.limit), "sequence nesting");
        // 100 levels are fine
        let ok: String = (0..100).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
        let d = parse_document(&ok);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(
            path_to_string(&d.tree.path_of(d.tree.chain_at(ok.len() - 3).pop().unwrap())).matches('.').count(),
            99
        );
        // flow nesting is depth-limited in the tree builder
        let flow = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let d = parse_document(&flow);
        assert!(d.errors.iter().all(|e| e.limit), "{:?}", d.errors);
        // billion laughs
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10u8 {
            let (n, p) = ((b'a' + i) as char, (b'a' + i - 1) as char);
            bomb.push_str(&format!("{n}: &{n} [{}]\n", vec![format!("*{p}"); 9].join(", ")));
        }
        let d = parse_document(&bomb);
        assert_eq!(d.errors.len(), 1);
        assert!(d.errors[0].limit && d.errors[0].message.contains("billion laughs"), "{:?}", d.errors);
    }

    #[test]
    fn syntax_only_files_get_one_pass_and_no_trees() {
        let text = "a: 1\n---\nb: [\n---\nc: 3\n".repeat(3);
        let f = SyntaxFile::parse_syntax_only(&text);
        assert_eq!(f.docs.len(), 1);
        assert_eq!(f.docs[0].parsed.errors.len(), 1);
        assert!(!f.docs[0].parsed.errors[0].limit);
    }

    #[test]
    fn reparse_reuses_unchanged_documents() {
        let a = "a: 1\n---\nb: 2\n---\nc: 3\n";
        let f1 = SyntaxFile::parse(a, None);
        let b = "a: 1\n---\nb: 22\n---\nc: 3\n";
        let f2 = SyntaxFile::parse(b, Some(&f1));
        assert!(Arc::ptr_eq(&f1.docs[0].parsed, &f2.docs[0].parsed));
        assert!(!Arc::ptr_eq(&f1.docs[1].parsed, &f2.docs[1].parsed));
        assert!(Arc::ptr_eq(&f1.docs[2].parsed, &f2.docs[2].parsed));
        assert_eq!(f2.docs[2].base(), b.find("\nc").unwrap());
        assert_eq!(f2.doc_at(b.find("22").unwrap()).unwrap().0, 1);
    }
}
