//! Bounded property tests: the CI form of the `fuzz/` targets.
//!
//! 1. Any text (random, or a corpus file with random damage) parses, is
//!    diagnosed, and answers completion and hover at any offset without
//!    panicking.
//! 2. After any sequence of incremental edits, the document text equals the
//!    client's, and the incrementally reparsed file equals a fresh parse.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use flux_lsp::ide;
use flux_lsp::syntax::{SyntaxFile, path_to_string};
use flux_lsp::text::{Document, Encoding, LineCol, LineIndex, TextEdit};
use flux_lsp::workspace::Workspace;
use proptest::prelude::*;

fn seeds() -> &'static Vec<String> {
    static S: OnceLock<Vec<String>> = OnceLock::new();
    S.get_or_init(|| {
        let mut v = vec![
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n".to_string(),
            "a: &x {b: [1, 'two', \"th\\u00e9\"]}\nc: *x\nd:\n  <<: *x\n  e: |\n    text\n---\n- - x\n  - y\n".to_string(),
            // valuesFrom a ConfigMap holding a block of values (issue #9)
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: x\n  valuesFrom:\n    - kind: ConfigMap\n      name: v\n    - kind: ConfigMap\n      name: v\n      valuesKey: t\n      targetPath: image.tag\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v\ndata:\n  values.yaml: |\n    replicaCount: 2\n    image:\n      pullPolicy: Never\n  t: x\n".to_string(),
            // values of a chart in the workspace (issue #9): see `chart_files`
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n  values:\n    replicaCount: 2\n    image:\n      pullPolicy: Always\n      tag: \"1.0\"\n    svc: {port: 80}\n    list:\n      - name: a\n".to_string(),
        ];
        if let Some(dir) = common::shared("corpora") {
            for p in common::walk(&dir) {
                if p.extension().is_some_and(|e| e == "yaml")
                    && let Ok(t) = std::fs::read_to_string(&p)
                {
                    v.push(t);
                }
            }
        }
        v
    })
}

/// A chart in the fuzz workspace, for the HelmRelease seed.
fn chart_files(ws: &mut Workspace) {
    let dir = PathBuf::from("/fuzz/charts/app");
    ws.set_file(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: sub\n    alias: s\n".into(),
        None,
    );
    ws.set_file(
        dir.join("values.yaml"),
        "# -- pods\nreplicaCount: 1\nimage:\n  pullPolicy: IfNotPresent\n  tag: \"\"\nsvc:\n  port: 8080\nlist: []\n"
            .into(),
        None,
    );
    ws.set_file(
        dir.join("values.schema.json"),
        r##"{"properties": {"replicaCount": {"type": "integer"}, "image": {"$ref": "#/definitions/img"}, "list": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}, "definitions": {"img": {"type": "object", "properties": {"pullPolicy": {"enum": ["Always", "Never"]}, "tag": {"type": "string"}}}}}"##.into(),
        None,
    );
}

/// Pieces that stress the YAML grammar and our decoding.
const ATOMS: &[&str] = &[
    "a",
    "key",
    ": ",
    ":",
    "- ",
    "-",
    "\n",
    "\r\n",
    "\r",
    "  ",
    "\t",
    "#",
    "# c\n",
    "---\n",
    "...\n",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    "\"",
    "\\",
    "&a ",
    "*a",
    "<<: ",
    "!!str ",
    "|\n",
    ">-\n",
    "?",
    "${VAR}",
    "{{ x }}",
    "é",
    "😀",
    "\u{feff}",
    "\0",
    "apiVersion: ",
    "kind: ",
    "spec:\n",
    "  interval: ",
    "1m",
    "true",
    "~",
    "0x1F",
    "\"\\u12\"",
];

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(ATOMS), 0..80).prop_map(|v| v.concat()),
        (
            0..seeds().len(),
            prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(ATOMS), 0..4usize), 0..8)
        )
            .prop_map(|(i, damage)| {
                let mut t = seeds()[i].clone();
                for (at, atom, del) in damage {
                    let mut pos = at.index(t.len() + 1);
                    while !t.is_char_boundary(pos) {
                        pos -= 1;
                    }
                    let mut end = (pos + del).min(t.len());
                    while !t.is_char_boundary(end) {
                        end += 1;
                    }
                    t.replace_range(pos..end, atom);
                }
                t
            }),
    ]
}

/// A structural fingerprint of a parsed file: per document, its errors and every node's path and range.
fn fingerprint(f: &SyntaxFile) -> Vec<String> {
    let mut out = Vec::new();
    for d in &f.docs {
        out.push(format!("doc {:?} errors {:?}", d.span, d.parsed.errors));
        let t = &d.parsed.tree;
        for (i, n) in t.nodes.iter().enumerate() {
            out.push(format!("{} {:?} {:?}", path_to_string(&t.path_of(i as u32)), d.abs(n.range), n.kind));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_analysed_without_panic(text in text_strategy(), cursor in any::<prop::sample::Index>()) {
        let mut ws = Workspace::default();
        let path = PathBuf::from("/fuzz/clusters/a.yaml");
        ws.roots = vec![PathBuf::from("/fuzz")];
        ws.set_file(path.clone(), text.clone(), Some(1));
        ws.set_file(PathBuf::from("/fuzz/clusters/kustomization.yaml"), "resources:\n  - a.yaml\n".into(), None);
        chart_files(&mut ws);
        // the same text as a chart's values.schema.json (checked as JSON)
        let json_path = PathBuf::from("/fuzz/other/values.schema.json");
        ws.set_file(json_path.clone(), text.clone(), None);
        let a = ws.analysis();
        for d in ide::diagnostics::file_diagnostics(&a, ws.file(&json_path).unwrap()) {
            prop_assert!(d.range.end <= text.len() && text.is_char_boundary(d.range.start), "{d:?}");
        }
        let f = ws.file(&path).unwrap();
        let diags = ide::diagnostics::file_diagnostics(&a, f);
        for d in &diags {
            prop_assert!(d.range.start <= d.range.end && d.range.end <= text.len(), "{d:?}");
            prop_assert!(text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end), "{d:?}");
        }
        let mut off = cursor.index(text.len() + 1);
        while !text.is_char_boundary(off) { off -= 1; }
        let _ = ide::completion::completions(&a, f, off);
        let _ = ide::hover::hover(&a, f, off);
        let _ = ide::navigation::goto_definition(&a, f, off);
        let _ = ide::symbols::document_symbols(f);
        let _ = ide::actions::code_actions(&a, f, flux_lsp::text::TextRange::new(0, text.len()), &diags);
    }

    #[test]
    fn incremental_edits_equal_a_fresh_parse(
        start in text_strategy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..6usize, prop::sample::select(ATOMS)), 1..40),
    ) {
        // a kustomization.yaml (its first document is read as one), and any
        // other file (whose edits are applied in place when they can be)
        for path in ["/p/apps/kustomization.yaml", "/p/apps/release.yaml"] {
            incremental_edits(&start, &edits, std::path::Path::new(path))?;
        }
    }
}

/// The body of `incremental_edits_equal_a_fresh_parse` for one file path.
fn incremental_edits(
    start: &str,
    edits: &[(prop::sample::Index, usize, &'static str)],
    path: &std::path::Path,
) -> Result<(), TestCaseError> {
    {
        let start = start.to_string();
        let path = path.to_path_buf();
        let mut model = start.clone();
        let mut doc = Document::new(&start, 1);
        let mut syntax = SyntaxFile::parse(&start, None);
        // the workspace reuses each unchanged document's memoised summary and
        // diagnostics: after the edits they must equal a fresh analysis
        let mut ws = Workspace::default();
        ws.set_file(path.clone(), start.clone(), Some(1));
        for (v, &(at, del_chars, ins)) in edits.iter().enumerate() {
            // an edit expressed in UTF-16 positions, as an editor sends it
            let chars: Vec<(usize, char)> = model.char_indices().collect();
            let ci = at.index(chars.len() + 1);
            let s = chars.get(ci).map(|c| c.0).unwrap_or(model.len());
            let e = chars.get(ci + del_chars).map(|c| c.0).unwrap_or(model.len());
            let idx = LineIndex::new(&model);
            let lc = |o| idx.line_col(&model, o, Encoding::Utf16);
            let (ls, le) = (lc(s), lc(e));
            // skip edits whose ends fall inside a CRLF (not expressible as positions)
            if idx.offset(&model, ls, Encoding::Utf16) != s || idx.offset(&model, le, Encoding::Utf16) != e {
                continue;
            }
            model.replace_range(s..e, ins);
            let from = doc.version;
            let bytes = doc.apply(
                &[TextEdit {
                    range: Some((LineCol { line: ls.line, col: ls.col }, LineCol { line: le.line, col: le.col })),
                    text: ins.to_string(),
                }],
                v as i32 + 2,
                Encoding::Utf16,
            );
            prop_assert_eq!(&*doc.text(), model.as_str());
            // documents outside the change are reused on the change's word
            syntax = SyntaxFile::parse_edited(&doc.text(), Some(&syntax), Some(bytes[0].hint()));
            // the workspace's copy follows the change where it is
            prop_assert_eq!(ws.edit_file(&path, from, v as i32 + 2, &bytes).map(|_| ()), Some(()));
            let f = ws.file(&path).unwrap();
            prop_assert_eq!(&*f.text, model.as_str());
            prop_assert_eq!(&*f.index, &LineIndex::new(&model));
            let _ = ide::diagnostics::file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
        }
        let fresh = SyntaxFile::parse(&model, None);
        prop_assert_eq!(fingerprint(&syntax), fingerprint(&fresh));
        let mut fresh_ws = Workspace::default();
        fresh_ws.set_file(path.clone(), model.clone(), Some(1));
        let (inc, new) = (ws.file(&path).unwrap(), fresh_ws.file(&path).unwrap());
        prop_assert_eq!(common::summary_ranges_ok(&model, &inc.summary), Ok(()));
        prop_assert_eq!(&inc.summary, &new.summary);
        prop_assert_eq!(
            ide::diagnostics::file_diagnostics(&ws.analysis(), inc),
            ide::diagnostics::file_diagnostics(&fresh_ws.analysis(), new)
        );
    }
    Ok(())
}

/// Every kind of summary item sits in a later document of a file, and an
/// edit in the first document moves them: the summary put together from the
/// memoised documents must still point at their text.
#[test]
fn memoised_summaries_follow_their_documents() {
    let later = "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  components: [./c]\n  postBuild:\n    substitute:\n      cluster: prod\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: ${NS}\ndata:\n  key: ${VALUE:=x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/x/web:1.0 # {\"$imagepolicy\": \"flux-system:web\"}\n---\napiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: gen\nspec:\n  sources:\n    - alias: repo\n      kind: GitRepository\n      name: flux-system\n  artifacts:\n    - name: art\n      copy:\n        - from: \"@repo/apps/**\"\n          to: \"@artifact/\"\n";
    let first = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\nspec:\n  url: https://example.com/x\n";
    let path = PathBuf::from("/p/clusters/prod/sync.yaml");
    let mut ws = Workspace::default();
    let text = format!("{first}{later}");
    ws.set_file(path.clone(), text.clone(), Some(1));
    let before = ws.file(&path).unwrap().summary.clone();
    assert_eq!(common::summary_ranges_ok(&text, &before), Ok(()));
    assert!(before.refs.vars.len() >= 2 && !before.refs.markers.is_empty() && !before.refs.appliers.is_empty());
    assert!(!before.refs.produced.is_empty() && !before.refs.data_keys.is_empty());
    // grow the first document: every later range moves by the inserted length
    let edited = text.replacen("  url:", "  interval: 1m\n  url:", 1);
    ws.set_file(path.clone(), edited.clone(), Some(2));
    let after = ws.file(&path).unwrap().summary.clone();
    assert_eq!(common::summary_ranges_ok(&edited, &after), Ok(()));
    let moved = "  interval: 1m\n".len();
    assert_eq!(after.refs.vars[0].range.start, before.refs.vars[0].range.start + moved);
    assert_eq!(after.key, before.key, "positions are not part of what other files see");
    let mut fresh = Workspace::default();
    fresh.set_file(path.clone(), edited, Some(2));
    assert_eq!(after, fresh.file(&path).unwrap().summary);
}

/// A change that keeps what other files see (a value, a comment, a line
/// added or taken out) is applied to the open file where it is: the run of
/// documents it touched is parsed again, and every later document and
/// summary item moves. The file left must equal a fresh analysis of the
/// same text, and a change that other files see (a name) must still take
/// the path that builds a new version.
#[test]
fn edits_in_place_equal_a_fresh_analysis() {
    let later = "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  components: [./c]\n  postBuild:\n    substitute:\n      cluster: prod\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: ${NS}\ndata:\n  key: ${VALUE:=x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/x/web:1.0 # {\"$imagepolicy\": \"flux-system:web\"}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: flux-system\nstringData:\n  token: x\n";
    let first = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://example.com/x\n";
    let path = PathBuf::from("/p/clusters/prod/sync.yaml");
    let mut model = format!("{first}{later}{later}");
    let mut ws = Workspace::default();
    let mut doc = Document::new(&model, 1);
    ws.set_file(path.clone(), model.clone(), Some(1));
    let _ = ide::diagnostics::file_diagnostics(&ws.analysis(), ws.file(&path).unwrap());
    // (what to find, which occurrence, what replaces it, in place)
    let steps: [(&str, usize, &str, bool); 12] = [
        // a line added to the first document: everything after it moves
        ("  url:", 0, "  interval: 1m\n  url:", true),
        // a comment in a ConfigMap with variables
        ("data:\n", 0, "data:\n  # note\n", true),
        // an image tag before its policy marker, in the second copy
        ("web:1.0", 1, "web:1.0.1", true),
        // a Flux Kustomization's interval (its source reference is kept)
        ("interval: 10m", 1, "interval: 15m", true),
        // the first line added, taken out again: everything moves back
        ("  interval: 1m\n", 0, "", true),
        // a data value of the Secret (its keys are what others see)
        ("token: x", 0, "token: xyz", true),
        // what other files see, with the same items: in place too, and
        // the cross-file model is patched
        ("name: web", 0, "name: webs", true),
        ("cluster: prod", 1, "cluster: staging", true),
        ("token: xyz", 0, "tokens: xyz", true),
        ("name: flux-system\n  namespace", 0, "name: flux-systems\n  namespace", true),
        // a reference more: the items after it change index
        ("  url: https://example.com/x\n", 0, "  url: https://example.com/x\n  secretRef:\n    name: creds\n", false),
        // a document more
        (
            "---\napiVersion: v1\nkind: Secret",
            1,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n---\napiVersion: v1\nkind: Secret",
            false,
        ),
    ];
    for (v, (find, nth, with, in_place)) in steps.into_iter().enumerate() {
        let s = model.match_indices(find).nth(nth).unwrap_or_else(|| panic!("{find} #{nth}")).0;
        let e = s + find.len();
        let idx = LineIndex::new(&model);
        let (ls, le) = (idx.line_col(&model, s, Encoding::Utf16), idx.line_col(&model, e, Encoding::Utf16));
        model.replace_range(s..e, with);
        let version = v as i32 + 2;
        let bytes = doc.apply(&[TextEdit { range: Some((ls, le)), text: with.to_string() }], version, Encoding::Utf16);
        let before: *const _ = &**ws.file(&path).unwrap();
        let patches = ws.ref_model().patches;
        assert!(ws.edit_file(&path, version - 1, version, &bytes).is_some());
        let file = ws.file(&path).unwrap();
        assert_eq!(std::ptr::eq(before, &**file), in_place, "step {v} ({find} -> {with}) in place");
        assert_eq!(&*file.text, model.as_str());
        assert_eq!(file.version, Some(version));
        assert_eq!(common::summary_ranges_ok(&model, &file.summary), Ok(()), "step {v}");
        let mut fresh = Workspace::default();
        fresh.set_file(path.clone(), model.clone(), Some(version));
        let new = fresh.file(&path).unwrap();
        assert_eq!(file.summary, new.summary, "step {v}");
        let spans =
            |f: &flux_lsp::workspace::FileData| f.syntax.docs.iter().map(|d| d.span.clone()).collect::<Vec<_>>();
        assert_eq!(spans(file), spans(new), "step {v}");
        assert_eq!(
            ide::diagnostics::file_diagnostics(&ws.analysis(), file),
            ide::diagnostics::file_diagnostics(&fresh.analysis(), new),
            "step {v}"
        );
        if find == "name: web" {
            // the model followed the rename by a patch, not a new build
            assert_eq!(ws.ref_model().patches, patches + 1, "step {v}");
        }
        assert_eq!(ws.ref_model().canonical(), fresh.ref_model().canonical(), "step {v}");
    }
}
