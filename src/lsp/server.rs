//! The language server: session state and handlers.
//!
//! State discipline (after ruff's server): notifications mutate the session
//! synchronously, before any `.await`, under a std mutex that is never held
//! across an await; requests take a cheap snapshot (`Arc<Workspace>`) and
//! compute without locks. The service runs with concurrency level 1, so
//! messages are handled in wire order. Every handler body runs under
//! `catch_unwind`: a bug answers one request with an error and the server
//! goes on.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::lsp_types::{self as lsp, notification::Notification as _};
use tower_lsp_server::{Client, LanguageServer};

// remote charts (issue #9): settings, fetch worker, re-publishing
mod chart_fetch;

use super::convert::{self, Texts};
use super::settings::{self, Settings};
use crate::ide;
use crate::text::{Document, Encoding, LineCol, LineIndex, TextEdit};
use crate::workspace::{FileData, Workspace};

pub const COMMANDS: &[&str] =
    &["flux-lsp.reconcile", "flux-lsp.reconcileWithSource", "flux-lsp.suspend", "flux-lsp.resume"];

struct OpenDoc {
    uri: lsp::Uri,
    doc: Document,
}

#[derive(Default)]
struct Caps {
    progress: bool,
    configuration: bool,
    watch_dynamic: bool,
    /// cluster overlay (issue #6): `workspace/codeLens/refresh`
    code_lens_refresh: bool,
}

struct State {
    ws: Arc<Workspace>,
    open: HashMap<PathBuf, OpenDoc>,
    enc: Encoding,
    settings: Settings,
    caps: Caps,
    /// Hash of the last diagnostics published per file, to publish only changes.
    published: HashMap<PathBuf, u64>,
    shutdown: bool,
    /// cluster overlay (issue #6); None until started after the settings.
    cluster: Option<ClusterHandle>,
    /// remote charts (issue #9); None until configured after the settings.
    charts: Option<chart_fetch::ChartsHandle>,
}

#[derive(Clone)]
pub struct Server {
    client: Client,
    state: Arc<Mutex<State>>,
    /// Bumped on every change of the workspace; background jobs stop when it moves.
    generation: Arc<AtomicU64>,
    test_hooks: bool,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // a panic elsewhere must not make the state unusable
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f`, turning a panic into an InternalError response.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(handler = what, panic = %msg, "handler panicked; the server goes on");
        Error {
            code: ErrorCode::InternalError,
            message: format!("flux-lsp: internal error in {what}: {msg}").into(),
            data: None,
        }
    })
}

struct SnapshotTexts<'a>(&'a Workspace);

impl Texts for SnapshotTexts<'_> {
    fn text_of(&self, path: &Path) -> Option<(crate::text::Text, Arc<LineIndex>)> {
        if let Some(f) = self.0.file(path) {
            return Some((f.text.clone(), f.index.clone()));
        }
        // a file outside the index (e.g. not yet loaded): read it for positions
        let (t, _) = crate::workspace::read_file(path)?;
        let i = Arc::new(LineIndex::new(&t));
        Some((t.into(), i))
    }
}

/// A request's view: the snapshot, the file and how to convert positions.
struct Ctx {
    ws: Arc<Workspace>,
    file: Arc<FileData>,
    enc: Encoding,
}

impl Ctx {
    fn offset(&self, pos: lsp::Position) -> usize {
        convert::offset(&self.file.text, &self.file.index, pos, self.enc)
    }
    fn range(&self, r: crate::text::TextRange) -> lsp::Range {
        convert::range(&self.file.text, &self.file.index, r, self.enc)
    }
    fn location(&self, l: &ide::navigation::Location) -> Option<lsp::Location> {
        let (t, i) = SnapshotTexts(&self.ws).text_of(&l.path)?;
        Some(lsp::Location { uri: convert::path_to_uri(&l.path)?, range: convert::range(&t, &i, l.range, self.enc) })
    }
}

impl Server {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            state: Arc::new(Mutex::new(State {
                ws: Arc::new(Workspace::default()),
                open: HashMap::new(),
                enc: Encoding::Utf16,
                settings: Settings::default(),
                caps: Caps::default(),
                published: HashMap::new(),
                shutdown: false,
                cluster: None,
                charts: None,
            })),
            generation: Arc::new(AtomicU64::new(0)),
            test_hooks: std::env::var_os("FLUX_LSP_TEST_HOOKS").is_some_and(|v| v == "1"),
        }
    }

    fn ctx(&self, uri: &lsp::Uri) -> Option<Ctx> {
        let path = convert::uri_to_path(uri)?;
        let st = lock(&self.state);
        let file = st.ws.file(&path)?.clone();
        Some(Ctx { ws: st.ws.clone(), file, enc: st.enc })
    }

    /// Computes the diagnostics of `paths` on `ws` and publishes those that
    /// changed and are not stale.
    async fn publish(&self, ws: Arc<Workspace>, paths: Vec<PathBuf>, generation: Option<u64>) {
        publish_paths(&self.client, &self.state, &self.generation, ws, paths, generation).await;
    }

    /// After a change to `path`: publish it now; when what other files see
    /// changed, republish the rest in the background.
    async fn after_change(&self, path: PathBuf, summary_changed: bool) {
        let gen_now = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let ws = lock(&self.state).ws.clone();
        self.publish(ws.clone(), vec![path.clone()], None).await;
        if summary_changed {
            drop(ws);
            let client = self.client.clone();
            let state = self.state.clone();
            let generation = self.generation.clone();
            tokio::spawn(async move {
                // coalesce bursts of typing
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                if generation.load(Ordering::SeqCst) != gen_now {
                    return;
                }
                // the list of the other files is made here, once a burst is
                // over, not on each keystroke (10,000 paths copied)
                let ws = lock(&state).ws.clone();
                let others: Vec<PathBuf> = ws.files().map(|f| f.path.clone()).filter(|p| *p != path).collect();
                publish_paths(&client, &state, &generation, ws, others, Some(gen_now)).await;
            });
        }
    }

    async fn index_workspace(&self) {
        let token = lsp::NumberOrString::String("flux-lsp/index".into());
        let (progress, roots, config) = {
            let st = lock(&self.state);
            (st.caps.progress, st.ws.roots.clone(), st.ws.config.clone())
        };
        let client = self.client.clone();
        let state = self.state.clone();
        let generation = self.generation.clone();
        tokio::spawn(async move {
            // an End only for a token the client accepted
            let begun = progress
                && begin_progress(&client, &token, "Indexing Flux manifests", format!("{} folder(s)", roots.len()))
                    .await;
            let started = std::time::Instant::now();
            let loaded = tokio::task::spawn_blocking(move || {
                let mut tmp = Workspace::default();
                tmp.roots = roots;
                tmp.config = config;
                let report = tmp.load_roots();
                (tmp, report)
            })
            .await;
            let Ok((tmp, report)) = loaded else {
                tracing::error!("indexing failed");
                return;
            };
            let (ws, n) = {
                let mut st = lock(&state);
                let open: Vec<PathBuf> = st.open.keys().cloned().collect();
                let ws = Arc::make_mut(&mut st.ws);
                let mut n = 0;
                for f in tmp.files() {
                    if open.contains(&f.path) {
                        continue; // open text overrides disk
                    }
                    let data = Arc::try_unwrap(f.clone()).unwrap_or_else(|a| clone_file(&a));
                    ws.insert(data, None);
                    n += 1;
                }
                (st.ws.clone(), n)
            };
            generation.fetch_add(1, Ordering::SeqCst);
            for (p, why) in &report.skipped {
                tracing::info!(path = %p.display(), reason = %why, "not indexed");
            }
            tracing::info!(files = n, ms = started.elapsed().as_millis() as u64, "workspace indexed");
            let paths: Vec<PathBuf> = ws.files().map(|f| f.path.clone()).collect();
            publish_paths(&client, &state, &generation, ws, paths, None).await;
            if begun {
                send_progress(
                    &client,
                    &token,
                    lsp::WorkDoneProgress::End(lsp::WorkDoneProgressEnd {
                        message: Some(format!("{n} files indexed")),
                    }),
                )
                .await;
            }
        });
    }

    async fn pull_configuration(&self) {
        if !lock(&self.state).caps.configuration {
            return;
        }
        let client = self.client.clone();
        let r = client
            .configuration(vec![lsp::ConfigurationItem { scope_uri: None, section: Some("fluxLsp".into()) }])
            .await;
        if let Ok(v) = r
            && let Some(v) = v.into_iter().next()
            && !v.is_null()
        {
            self.apply_settings(&v).await;
        }
    }

    async fn apply_settings(&self, v: &Value) {
        let s = settings::parse(v);
        let warnings = s.warnings.clone();
        let cluster_changed = {
            let mut st = lock(&self.state);
            let ws = Arc::make_mut(&mut st.ws);
            ws.config = s.config.clone();
            // cluster overlay (issue #6): restart it when its settings change
            let cluster_changed = st.cluster.as_ref().is_some_and(|c| c.settings != s.cluster);
            st.settings = s;
            st.published.clear();
            cluster_changed
        };
        if cluster_changed {
            self.restart_cluster();
        }
        self.configure_charts(); // remote charts (issue #9)
        self.generation.fetch_add(1, Ordering::SeqCst);
        for w in warnings {
            self.client.show_message(lsp::MessageType::WARNING, format!("flux-lsp settings: {w}")).await;
        }
        // the workspace as restart_cluster and configure_charts left it (a
        // snapshot taken before them could publish the cluster's or the old
        // chart cache's diagnostics last)
        let ws = lock(&self.state).ws.clone();
        let paths: Vec<PathBuf> = ws.files().map(|f| f.path.clone()).collect();
        self.publish(ws, paths, None).await;
    }
}

fn clone_file(f: &FileData) -> FileData {
    let mut d = FileData::new(f.path.clone(), f.text.clone(), f.index.clone(), f.version, Some(f), &Default::default());
    d.syntax_only = f.syntax_only;
    d.invalid_utf8_at = f.invalid_utf8_at;
    d
}

/// Creates a progress token on the client and begins it; false when the
/// client refused the token (then nothing more is sent for it).
async fn begin_progress(client: &Client, token: &lsp::NumberOrString, title: &str, message: String) -> bool {
    let created = client
        .send_request::<lsp::request::WorkDoneProgressCreate>(lsp::WorkDoneProgressCreateParams {
            token: token.clone(),
        })
        .await
        .is_ok();
    if created {
        send_progress(
            client,
            token,
            lsp::WorkDoneProgress::Begin(lsp::WorkDoneProgressBegin {
                title: title.into(),
                cancellable: Some(false),
                message: Some(message),
                percentage: None,
            }),
        )
        .await;
    }
    created
}

async fn send_progress(client: &Client, token: &lsp::NumberOrString, value: lsp::WorkDoneProgress) {
    client
        .send_notification::<lsp::notification::Progress>(lsp::ProgressParams {
            token: token.clone(),
            value: lsp::ProgressParamsValue::WorkDone(value),
        })
        .await;
}

fn hash_diags(d: &[lsp::Diagnostic]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(d).unwrap_or_default().hash(&mut h);
    h.finish()
}

async fn publish_paths(
    client: &Client,
    state: &Arc<Mutex<State>>,
    generation: &Arc<AtomicU64>,
    ws: Arc<Workspace>,
    paths: Vec<PathBuf>,
    only_generation: Option<u64>,
) {
    // cluster overlay (issue #6): the status cache and the open files
    let (enc, overlay) = {
        let st = lock(state);
        (st.enc, overlay_input(&st))
    };
    for chunk in paths.chunks(64) {
        if only_generation.is_some_and(|g| generation.load(Ordering::SeqCst) != g) {
            return;
        }
        let computed: Vec<(PathBuf, Option<i32>, Vec<lsp::Diagnostic>)> = {
            let ws = ws.clone();
            let chunk = chunk.to_vec();
            let overlay = overlay.clone();
            match guarded("diagnostics", move || {
                let a = ws.analysis();
                let texts = SnapshotTexts(&ws);
                chunk
                    .iter()
                    .filter_map(|p| {
                        let f = ws.file(p)?;
                        let mut diags = ide::diagnostics::file_diagnostics(&a, f);
                        // cluster overlay (issue #6): open documents only
                        if let Some((cache, open)) = &overlay
                            && open.contains(p)
                        {
                            let live = crate::cluster::overlay::diagnostics(&a, f, &cache.read());
                            // `# flux-lsp: ignore[...]` comments apply to the cluster codes too
                            diags.extend(ide::diagnostics::apply_policy(&a, f, live));
                        }
                        let lsp_diags =
                            diags.iter().map(|d| convert::diagnostic(&f.text, &f.index, d, enc, &texts)).collect();
                        Some((p.clone(), f.version, lsp_diags))
                    })
                    .collect()
            }) {
                Ok(c) => c,
                Err(_) => continue,
            }
        };
        let mut to_send = Vec::new();
        {
            let mut st = lock(state);
            for (p, version, diags) in computed {
                // never publish diagnostics for a version the editor has left
                let current = st.open.get(&p).map(|o| o.doc.version);
                if current.is_some() && current != version {
                    continue;
                }
                if current.is_none() && version.is_some() {
                    continue; // closed since
                }
                let h = hash_diags(&diags);
                if st.published.get(&p) == Some(&h) {
                    continue;
                }
                st.published.insert(p.clone(), h);
                if let Some(uri) = st.open.get(&p).map(|o| o.uri.clone()).or_else(|| convert::path_to_uri(&p)) {
                    to_send.push((uri, diags, version));
                }
            }
        }
        for (uri, diags, version) in to_send {
            client.publish_diagnostics(uri, diags, version).await;
        }
    }
}

fn to_edits(changes: Vec<lsp::TextDocumentContentChangeEvent>) -> Vec<TextEdit> {
    changes
        .into_iter()
        .map(|c| TextEdit {
            range: c.range.map(|r| {
                (
                    LineCol { line: r.start.line, col: r.start.character },
                    LineCol { line: r.end.line, col: r.end.character },
                )
            }),
            text: c.text,
        })
        .collect()
}

fn negotiate_encoding(params: &lsp::InitializeParams) -> Encoding {
    let offered = params.capabilities.general.as_ref().and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list) if list.contains(&lsp::PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

fn roots_of(params: &lsp::InitializeParams) -> Vec<PathBuf> {
    if let Some(folders) = &params.workspace_folders {
        let v: Vec<PathBuf> = folders.iter().filter_map(|f| convert::uri_to_path(&f.uri)).collect();
        if !v.is_empty() {
            return v;
        }
    }
    #[allow(deprecated)]
    params.root_uri.as_ref().and_then(convert::uri_to_path).into_iter().collect()
}

impl LanguageServer for Server {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        let enc = negotiate_encoding(&params);
        {
            let mut st = lock(&self.state);
            st.enc = enc;
            let caps = &params.capabilities;
            st.caps = Caps {
                progress: caps.window.as_ref().and_then(|w| w.work_done_progress).unwrap_or(false),
                configuration: caps.workspace.as_ref().and_then(|w| w.configuration).unwrap_or(false),
                watch_dynamic: caps
                    .workspace
                    .as_ref()
                    .and_then(|w| w.did_change_watched_files.as_ref())
                    .and_then(|d| d.dynamic_registration)
                    .unwrap_or(false),
                code_lens_refresh: caps
                    .workspace
                    .as_ref()
                    .and_then(|w| w.code_lens.as_ref())
                    .and_then(|c| c.refresh_support)
                    .unwrap_or(false),
            };
            let ws = Arc::make_mut(&mut st.ws);
            ws.roots = roots_of(&params);
            if let Some(opts) = &params.initialization_options {
                let s = settings::parse(opts);
                ws.config = s.config.clone();
                st.settings = s;
            }
        }
        let sync = lsp::TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
            save: None,
            ..Default::default()
        };
        Ok(lsp::InitializeResult {
            server_info: Some(lsp::ServerInfo {
                name: "flux-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: lsp::ServerCapabilities {
                position_encoding: Some(match enc {
                    Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
                    Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
                }),
                text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(sync)),
                hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
                completion_provider: Some(lsp::CompletionOptions {
                    trigger_characters: Some(vec![
                        ":".into(),
                        " ".into(),
                        "-".into(),
                        "{".into(),
                        "\"".into(),
                        "/".into(),
                    ]),
                    ..Default::default()
                }),
                definition_provider: Some(lsp::OneOf::Left(true)),
                references_provider: Some(lsp::OneOf::Left(true)),
                rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_symbol_provider: Some(lsp::OneOf::Left(true)),
                workspace_symbol_provider: Some(lsp::OneOf::Left(true)),
                code_action_provider: Some(lsp::CodeActionProviderCapability::Options(lsp::CodeActionOptions {
                    code_action_kinds: Some(vec![
                        lsp::CodeActionKind::QUICKFIX,
                        lsp::CodeActionKind::REFACTOR,
                        lsp::CodeActionKind::SOURCE,
                    ]),
                    ..Default::default()
                })),
                document_link_provider: Some(lsp::DocumentLinkOptions {
                    resolve_provider: Some(false),
                    work_done_progress_options: Default::default(),
                }),
                // cluster overlay (issue #6)
                code_lens_provider: Some(lsp::CodeLensOptions { resolve_provider: Some(false) }),
                execute_command_provider: Some(lsp::ExecuteCommandOptions {
                    commands: COMMANDS.iter().map(|c| c.to_string()).collect(),
                    work_done_progress_options: Default::default(),
                }),
                ..Default::default()
            },
        })
    }

    async fn initialized(&self, _: lsp::InitializedParams) {
        let watch = lock(&self.state).caps.watch_dynamic;
        if watch {
            let client = self.client.clone();
            tokio::spawn(async move {
                let opts = lsp::DidChangeWatchedFilesRegistrationOptions {
                    watchers: vec![lsp::FileSystemWatcher {
                        glob_pattern: lsp::GlobPattern::String("**/{*.yaml,*.yml,values.schema.json}".into()),
                        kind: None,
                    }],
                };
                let reg = lsp::Registration {
                    id: "flux-lsp-watch".into(),
                    method: lsp::notification::DidChangeWatchedFiles::METHOD.into(),
                    register_options: serde_json::to_value(opts).ok(),
                };
                if let Err(e) = client.register_capability(vec![reg]).await {
                    tracing::warn!(error = %e, "file watcher registration failed");
                }
            });
        }
        // settings first (they change what is indexed), then the index; both
        // in the background so no handler waits on the client
        self.pull_configuration_then_index().await;
    }

    async fn shutdown(&self) -> Result<()> {
        lock(&self.state).shutdown = true;
        Ok(())
    }

    async fn did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        let td = params.text_document;
        let Some(path) = convert::uri_to_path(&td.uri) else { return };
        let changed = {
            let mut st = lock(&self.state);
            let doc = Document::new(&td.text, td.version);
            let index = Arc::new(LineIndex::new(&td.text));
            let text = crate::text::Text::from(td.text);
            st.open.insert(path.clone(), OpenDoc { uri: td.uri.clone(), doc });
            st.published.remove(&path);
            Arc::make_mut(&mut st.ws).set_file_shared(path.clone(), text, index, Some(td.version))
        };
        self.after_change(path, changed).await;
    }

    async fn did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        let Some(path) = convert::uri_to_path(&params.text_document.uri) else { return };
        let version = params.text_document.version;
        let edits = to_edits(params.content_changes);
        let changed = {
            let mut guard = lock(&self.state);
            let st = &mut *guard;
            let enc = st.enc;
            let Some(open) = st.open.get_mut(&path) else {
                tracing::warn!(path = %path.display(), "didChange for a document that is not open; ignored");
                return;
            };
            if version <= open.doc.version {
                tracing::warn!(version, have = open.doc.version, "didChange with a version that does not increase");
            }
            let from = open.doc.version;
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| open.doc.apply(&edits, version, enc)));
            let Ok(bytes) = r else {
                tracing::error!("applying an edit panicked; the document keeps its last good text");
                return;
            };
            let doc = &open.doc;
            let ws = Arc::make_mut(&mut st.ws);
            // the workspace's copy of the text follows the change where it
            // is; when it cannot (it was not at the document's last version),
            // it gets the whole text
            let whole = |ws: &mut Workspace| {
                let text = doc.text();
                let index = Arc::new(LineIndex::new(&text));
                ws.set_file_shared(path.clone(), text, index, Some(version))
            };
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| match ws.edit_file(&path, from, version, &bytes) {
                Some(c) => c,
                None => whole(ws),
            }));
            match r {
                Ok(c) => c,
                Err(_) => {
                    tracing::error!("analysing a change panicked; the file is analysed again from its whole text");
                    match std::panic::catch_unwind(AssertUnwindSafe(|| whole(ws))) {
                        Ok(c) => c,
                        Err(_) => return,
                    }
                }
            }
        };
        self.after_change(path, changed).await;
    }

    async fn did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        let Some(path) = convert::uri_to_path(&params.text_document.uri) else { return };
        let (changed, uri) = {
            let mut st = lock(&self.state);
            let uri = st.open.remove(&path).map(|o| o.uri);
            st.published.remove(&path);
            // the file goes back to its content on disk, if any
            let on_disk =
                crate::workspace::read_file(&path).filter(|_| crate::workspace::discover_accepts(&st.ws, &path));
            let ws = Arc::make_mut(&mut st.ws);
            let changed = match on_disk {
                Some((text, _)) => ws.set_file(path.clone(), text, None),
                None => ws.remove_file(&path),
            };
            (changed, uri)
        };
        if lock(&self.state).ws.file(&path).is_none()
            && let Some(uri) = uri
        {
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        self.after_change(path, changed).await;
    }

    async fn did_change_watched_files(&self, params: lsp::DidChangeWatchedFilesParams) {
        let mut any = false;
        let mut cleared = Vec::new();
        {
            let mut st = lock(&self.state);
            for ev in params.changes {
                let Some(path) = convert::uri_to_path(&ev.uri) else { continue };
                if st.open.contains_key(&path) {
                    continue; // open text overrides disk
                }
                let ws_ok = crate::workspace::discover_accepts(&st.ws, &path);
                let ws = Arc::make_mut(&mut st.ws);
                if ev.typ == lsp::FileChangeType::DELETED || !path.exists() {
                    let n = ws.remove_under(&path) + usize::from(ws.remove_file(&path));
                    if n > 0 {
                        any = true;
                        cleared.push(ev.uri.clone());
                    }
                } else if path.is_file()
                    && ws_ok
                    && let Some(d) = crate::workspace::load_file(&path, &ws.config)
                {
                    let prev = ws.file(&path).cloned();
                    ws.insert(d, prev.as_deref());
                    any = true;
                }
                st.published.remove(&path);
            }
        }
        for uri in cleared {
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        if any {
            self.generation.fetch_add(1, Ordering::SeqCst);
            let ws = lock(&self.state).ws.clone();
            let paths = ws.files().map(|f| f.path.clone()).collect();
            self.publish(ws, paths, None).await;
        }
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        let v = params.settings;
        let has_section = v.get("fluxLsp").is_some_and(|s| !s.is_null());
        if has_section {
            self.apply_settings(&v).await;
        } else {
            self.pull_configuration().await;
        }
    }

    async fn hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
        let p = params.text_document_position_params;
        let Some(ctx) = self.ctx(&p.text_document.uri) else { return Ok(None) };
        let cluster = self.cluster_cache(); // cluster overlay (issue #6)
        guarded("hover", || {
            let a = ctx.ws.analysis();
            let offset = ctx.offset(p.position);
            let base = ide::hover::hover(&a, &ctx.file, offset);
            // cluster overlay (issue #6): the live status after the static hover
            let live = cluster.and_then(|c| crate::cluster::overlay::hover(&a, &ctx.file, offset, &c.read()));
            let merged = match (base, live) {
                (Some(b), Some(l)) => Some(ide::hover::Hover {
                    range: b.range,
                    markdown: format!("{}\n\n---\n\n{}", b.markdown, l.markdown),
                }),
                (b, l) => b.or(l),
            };
            merged.map(|h| lsp::Hover {
                contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                    kind: lsp::MarkupKind::Markdown,
                    value: h.markdown,
                }),
                range: Some(ctx.range(h.range)),
            })
        })
    }

    async fn completion(&self, params: lsp::CompletionParams) -> Result<Option<lsp::CompletionResponse>> {
        let p = params.text_document_position;
        let Some(ctx) = self.ctx(&p.text_document.uri) else { return Ok(None) };
        guarded("completion", || {
            let a = ctx.ws.analysis();
            let offset = ctx.offset(p.position);
            let list = ide::completion::completion_list(&a, &ctx.file, offset);
            if list.items.is_empty() && !list.incomplete {
                return None;
            }
            let out: Vec<lsp::CompletionItem> = list.items.into_iter().map(|i| completion_item(&ctx, i)).collect();
            Some(lsp::CompletionResponse::List(lsp::CompletionList { is_incomplete: list.incomplete, items: out }))
        })
    }

    async fn goto_definition(&self, params: lsp::GotoDefinitionParams) -> Result<Option<lsp::GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let Some(ctx) = self.ctx(&p.text_document.uri) else { return Ok(None) };
        guarded("definition", || {
            let a = ctx.ws.analysis();
            let locs: Vec<lsp::Location> = ide::navigation::goto_definition(&a, &ctx.file, ctx.offset(p.position))
                .iter()
                .filter_map(|l| ctx.location(l))
                .collect();
            if locs.is_empty() { None } else { Some(lsp::GotoDefinitionResponse::Array(locs)) }
        })
    }

    async fn references(&self, params: lsp::ReferenceParams) -> Result<Option<Vec<lsp::Location>>> {
        let p = params.text_document_position;
        let Some(ctx) = self.ctx(&p.text_document.uri) else { return Ok(None) };
        guarded("references", || {
            let a = ctx.ws.analysis();
            let locs: Vec<lsp::Location> =
                ide::navigation::references(&a, &ctx.file, ctx.offset(p.position), params.context.include_declaration)
                    .iter()
                    .filter_map(|l| ctx.location(l))
                    .collect();
            Some(locs)
        })
    }

    async fn prepare_rename(&self, p: lsp::TextDocumentPositionParams) -> Result<Option<lsp::PrepareRenameResponse>> {
        let Some(ctx) = self.ctx(&p.text_document.uri) else { return Ok(None) };
        guarded("prepareRename", || {
            let a = ctx.ws.analysis();
            ide::navigation::prepare_rename(&a, &ctx.file, ctx.offset(p.position))
                .map(|r| lsp::PrepareRenameResponse::Range(ctx.range(r)))
        })
    }

    async fn rename(&self, params: lsp::RenameParams) -> Result<Option<lsp::WorkspaceEdit>> {
        let p = params.text_document_position;
        let Some(ctx) = self.ctx(&p.text_document.uri) else { return Ok(None) };
        let r = guarded("rename", || {
            let a = ctx.ws.analysis();
            ide::navigation::rename(&a, &ctx.file, ctx.offset(p.position), &params.new_name)
                .map(|edits| convert::workspace_edit(&edits, &ctx.file.path, ctx.enc, &SnapshotTexts(&ctx.ws)))
        })?;
        match r {
            Some(e) => Ok(Some(e)),
            None => Err(Error::invalid_params("nothing to rename at this position")),
        }
    }

    async fn document_symbol(&self, params: lsp::DocumentSymbolParams) -> Result<Option<lsp::DocumentSymbolResponse>> {
        let Some(ctx) = self.ctx(&params.text_document.uri) else { return Ok(None) };
        guarded("documentSymbol", || {
            let syms = ide::symbols::document_symbols(&ctx.file);
            Some(lsp::DocumentSymbolResponse::Nested(syms.into_iter().map(|s| doc_symbol(&ctx, s)).collect()))
        })
    }

    async fn symbol(
        &self,
        params: lsp::WorkspaceSymbolParams,
    ) -> Result<Option<lsp::OneOf<Vec<lsp::SymbolInformation>, Vec<lsp::WorkspaceSymbol>>>> {
        let (ws, enc) = {
            let st = lock(&self.state);
            (st.ws.clone(), st.enc)
        };
        guarded("workspace/symbol", || {
            let mut hits: Vec<(i64, lsp::WorkspaceSymbol)> = Vec::new();
            for f in ws.files() {
                for o in &f.summary.objects {
                    if o.class != crate::workspace::ObjectClass::Flux {
                        continue;
                    }
                    let label = format!("{} {}", o.kind_str(), o.name_str());
                    let Some(score) = fuzzy_score(&params.query, &label) else { continue };
                    let Some(uri) = convert::path_to_uri(&f.path) else { continue };
                    hits.push((
                        score,
                        lsp::WorkspaceSymbol {
                            name: label,
                            kind: lsp::SymbolKind::OBJECT,
                            tags: None,
                            container_name: o.namespace.as_ref().map(|n| n.value.to_string()),
                            location: lsp::OneOf::Left(lsp::Location {
                                uri,
                                range: convert::range(&f.text, &f.index, o.anchor_range(), enc),
                            }),
                            data: None,
                        },
                    ));
                }
            }
            hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
            hits.truncate(500);
            Some(lsp::OneOf::Right(hits.into_iter().map(|h| h.1).collect()))
        })
    }

    async fn code_action(&self, params: lsp::CodeActionParams) -> Result<Option<lsp::CodeActionResponse>> {
        let Some(ctx) = self.ctx(&params.text_document.uri) else { return Ok(None) };
        guarded("codeAction", || {
            let a = ctx.ws.analysis();
            let range = convert::text_range(&ctx.file.text, &ctx.file.index, params.range, ctx.enc);
            let diags = ide::diagnostics::file_diagnostics(&a, &ctx.file);
            let texts = SnapshotTexts(&ctx.ws);
            let only = params.context.only.clone();
            let actions = ide::actions::code_actions(&a, &ctx.file, range, &diags);
            let out: Vec<lsp::CodeActionOrCommand> = actions
                .into_iter()
                .filter_map(|ac| {
                    let kind = match ac.kind {
                        ide::actions::ActionKind::QuickFix => lsp::CodeActionKind::QUICKFIX,
                        ide::actions::ActionKind::Refactor => lsp::CodeActionKind::REFACTOR,
                        ide::actions::ActionKind::Source => lsp::CodeActionKind::SOURCE,
                    };
                    if let Some(only) = &only
                        && !only.iter().any(|k| kind.as_str().starts_with(k.as_str()))
                    {
                        return None;
                    }
                    Some(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                        title: ac.title,
                        kind: Some(kind),
                        diagnostics: ac
                            .diagnostic
                            .map(|d| vec![convert::diagnostic(&ctx.file.text, &ctx.file.index, &d, ctx.enc, &texts)]),
                        edit: Some(convert::workspace_edit(&ac.edits, &ctx.file.path, ctx.enc, &texts)),
                        command: None,
                        is_preferred: if ac.preferred { Some(true) } else { None },
                        disabled: None,
                        data: None,
                    }))
                })
                .collect();
            Some(out)
        })
    }

    async fn document_link(&self, params: lsp::DocumentLinkParams) -> Result<Option<Vec<lsp::DocumentLink>>> {
        let Some(ctx) = self.ctx(&params.text_document.uri) else { return Ok(None) };
        guarded("documentLink", || {
            let a = ctx.ws.analysis();
            let links = ide::navigation::document_links(&a, &ctx.file);
            Some(
                links
                    .into_iter()
                    .filter_map(|l| {
                        let target = if l.target.contains("://") {
                            l.target.parse().ok()?
                        } else {
                            convert::path_to_uri(Path::new(&l.target))?
                        };
                        Some(lsp::DocumentLink {
                            range: ctx.range(l.range),
                            target: Some(target),
                            tooltip: l.tooltip,
                            data: None,
                        })
                    })
                    .collect(),
            )
        })
    }

    async fn execute_command(&self, params: lsp::ExecuteCommandParams) -> Result<Option<Value>> {
        if !COMMANDS.contains(&params.command.as_str()) {
            return Err(Error::invalid_params(format!("unknown command `{}`", params.command)));
        }
        self.cluster_command(params) // cluster overlay (issue #6)
    }

    // cluster overlay (issue #6)
    async fn code_lens(&self, params: lsp::CodeLensParams) -> Result<Option<Vec<lsp::CodeLens>>> {
        let Some(ctx) = self.ctx(&params.text_document.uri) else { return Ok(None) };
        let Some(cache) = self.cluster_cache() else { return Ok(None) };
        let uri = params.text_document.uri.clone();
        guarded("codeLens", || {
            let a = ctx.ws.analysis();
            let lenses = crate::cluster::overlay::code_lenses(&a, &ctx.file, &cache.read());
            Some(
                lenses
                    .into_iter()
                    .map(|l| lsp::CodeLens {
                        range: ctx.range(l.range),
                        command: Some(lsp::Command {
                            title: l.title,
                            command: l.command.unwrap_or("").to_string(),
                            arguments: l
                                .command
                                .map(|_| vec![serde_json::json!({"uri": uri.as_str(), "line": l.line})]),
                        }),
                        data: None,
                    })
                    .collect(),
            )
        })
    }
}

impl Server {
    async fn pull_configuration_then_index(&self) {
        let caps_config = lock(&self.state).caps.configuration;
        if caps_config {
            // asked in a task: a handler must never wait on the client
            let s = self.clone();
            tokio::spawn(async move {
                s.pull_configuration().await;
                s.ensure_cluster(); // cluster overlay (issue #6)
                s.configure_charts(); // remote charts (issue #9)
                s.index_workspace().await;
            });
        } else {
            self.ensure_cluster(); // cluster overlay (issue #6)
            self.configure_charts(); // remote charts (issue #9)
            self.index_workspace().await;
        }
    }

    /// `flux-lsp/documentText`: the server's text of a document (for tests and bug reports).
    pub async fn document_text(&self, params: DocumentTextParams) -> Result<Option<String>> {
        let Some(path) = convert::uri_to_path(&params.uri) else { return Ok(None) };
        let st = lock(&self.state);
        Ok(st.ws.file(&path).map(|f| f.text.to_string()))
    }

    /// `flux-lsp/debugPanic`: panics inside a guarded handler (only with
    /// FLUX_LSP_TEST_HOOKS=1), to test that the server survives.
    pub async fn debug_panic(&self, _: Value) -> Result<Option<Value>> {
        if !self.test_hooks {
            return Err(Error::method_not_found());
        }
        guarded("debugPanic", || -> Option<Value> { panic!("deliberate panic for testing") })
    }
}

#[derive(serde::Deserialize)]
pub struct DocumentTextParams {
    pub uri: lsp::Uri,
}

fn completion_item(ctx: &Ctx, i: ide::completion::CompletionItem) -> lsp::CompletionItem {
    use ide::completion::CompletionKind as K;
    let kind = match i.kind {
        K::Field => lsp::CompletionItemKind::FIELD,
        K::Value => lsp::CompletionItemKind::VALUE,
        K::EnumMember => lsp::CompletionItemKind::ENUM_MEMBER,
        K::Kind => lsp::CompletionItemKind::CLASS,
        K::Snippet => lsp::CompletionItemKind::SNIPPET,
        K::Reference => lsp::CompletionItemKind::REFERENCE,
        K::Variable => lsp::CompletionItemKind::VARIABLE,
        K::Keyword => lsp::CompletionItemKind::KEYWORD,
    };
    let text = i.insert_text.clone().unwrap_or_else(|| i.label.clone());
    lsp::CompletionItem {
        label: i.label,
        kind: Some(kind),
        detail: i.detail,
        documentation: i.documentation.map(|d| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value: d })
        }),
        insert_text_format: Some(if i.is_snippet {
            lsp::InsertTextFormat::SNIPPET
        } else {
            lsp::InsertTextFormat::PLAIN_TEXT
        }),
        // multi-line snippets are indented relative to the cursor's line
        insert_text_mode: i.is_snippet.then_some(lsp::InsertTextMode::ADJUST_INDENTATION),
        text_edit: i
            .replace
            .map(|r| lsp::CompletionTextEdit::Edit(lsp::TextEdit { range: ctx.range(r), new_text: text.clone() })),
        insert_text: Some(text),
        sort_text: i.sort_text,
        filter_text: i.filter_text,
        ..Default::default()
    }
}

#[allow(deprecated)]
fn doc_symbol(ctx: &Ctx, s: ide::symbols::Symbol) -> lsp::DocumentSymbol {
    lsp::DocumentSymbol {
        name: s.name,
        detail: s.detail,
        kind: match s.kind {
            ide::symbols::SymbolKind::Object => lsp::SymbolKind::OBJECT,
            ide::symbols::SymbolKind::Field => lsp::SymbolKind::FIELD,
        },
        tags: None,
        deprecated: None,
        range: ctx.range(s.range),
        selection_range: ctx.range(s.selection),
        children: Some(s.children.into_iter().map(|c| doc_symbol(ctx, c)).collect()),
    }
}

/// Subsequence match, case-insensitive; higher is better. Empty query matches all.
pub fn fuzzy_score(query: &str, label: &str) -> Option<i64> {
    if query.is_empty() {
        return Some(0);
    }
    let l: Vec<char> = label.to_lowercase().chars().collect();
    let mut score = 0i64;
    let mut li = 0;
    let mut prev_match: Option<usize> = None;
    for qc in query.to_lowercase().chars().filter(|c| !c.is_whitespace()) {
        let found = (li..l.len()).find(|&i| l[i] == qc)?;
        score += 10;
        if prev_match.is_some_and(|p| p + 1 == found) {
            score += 15; // consecutive
        }
        if found == 0 || !l[found - 1].is_alphanumeric() {
            score += 20; // word start
        }
        score -= (found - li) as i64;
        prev_match = Some(found);
        li = found + 1;
    }
    Some(score)
}

// ===================== cluster overlay (issue #6) =====================
// Glue between the LSP session and `crate::cluster`: start/restart with the
// settings, turn runtime reports into notifications and re-published
// diagnostics, and the reconcile/suspend/resume commands. Nothing here
// awaits the network inside a handler.

use crate::cluster::{self, ConnState, Report};

/// A running (or disabled) overlay and the settings it was started with.
struct ClusterHandle {
    settings: settings::ClusterSettings,
    rt: Option<cluster::Runtime>,
    consumer: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        if let Some(c) = &self.consumer {
            c.abort();
        }
    }
}

/// `flux-lsp/clusterStatus`: `{state, context, message}`.
enum ClusterStatusNotification {}

impl lsp::notification::Notification for ClusterStatusNotification {
    type Params = Value;
    const METHOD: &'static str = "flux-lsp/clusterStatus";
}

type OverlayInput = Option<(Arc<cluster::Cache>, Arc<std::collections::HashSet<PathBuf>>)>;

/// What `publish_paths` needs to add the overlay's diagnostics.
fn overlay_input(st: &State) -> OverlayInput {
    let cache = st.cluster.as_ref()?.rt.as_ref()?.cache.clone();
    Some((cache, Arc::new(st.open.keys().cloned().collect())))
}

/// Namespaces of the workspace's Flux objects (for per-namespace lists).
fn workspace_namespaces(ws: &Workspace) -> Vec<String> {
    let a = ws.analysis();
    let model = a.ref_model();
    let mut out = std::collections::BTreeSet::new();
    for f in ws.files() {
        for (i, o) in f.summary.objects.iter().enumerate() {
            if o.class == crate::workspace::ObjectClass::Flux
                && let Some(ns) = model.object_ns(f, i)
                && !ns.is_empty()
                && !ns.contains("${")
            {
                out.insert(ns);
            }
        }
    }
    out.into_iter().collect()
}

fn command_error(code: i64, message: impl Into<String>) -> Error {
    Error { code: ErrorCode::ServerError(code), message: message.into().into(), data: None }
}

impl Server {
    fn cluster_cache(&self) -> Option<Arc<cluster::Cache>> {
        let st = lock(&self.state);
        Some(st.cluster.as_ref()?.rt.as_ref()?.cache.clone())
    }

    /// Starts the overlay once the settings are known (no-op when started).
    fn ensure_cluster(&self) {
        if lock(&self.state).cluster.is_none() {
            self.restart_cluster();
        }
    }

    /// (Re)starts the overlay with the current settings. Synchronous: the
    /// connection happens in background tasks.
    fn restart_cluster(&self) {
        let (settings, old) = {
            let mut st = lock(&self.state);
            (st.settings.cluster.clone(), st.cluster.take())
        };
        drop(old); // aborts the old runtime and its consumer
        if !settings.enabled {
            {
                let mut st = lock(&self.state);
                st.cluster = Some(ClusterHandle { settings, rt: None, consumer: None });
                // the cluster's CRDs no longer apply
                Arc::make_mut(&mut st.ws).set_cluster_crds(String::new(), Vec::new());
            }
            let client = self.client.clone();
            let (state, generation) = (self.state.clone(), self.generation.clone());
            tokio::spawn(async move {
                tracing::info!("cluster overlay off (fluxLsp.cluster.enabled is false)");
                client
                    .send_notification::<ClusterStatusNotification>(serde_json::json!({
                        "state": "disabled", "context": null, "message": "fluxLsp.cluster.enabled is false"
                    }))
                    .await;
                // open documents lose the cluster's diagnostics and schemas
                let (ws, paths) = {
                    let st = lock(&state);
                    (st.ws.clone(), st.open.keys().cloned().collect::<Vec<PathBuf>>())
                };
                publish_paths(&client, &state, &generation, ws, paths, None).await;
            });
            return;
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let state = self.state.clone();
        let namespaces: cluster::runtime::Namespaces = Arc::new(move || {
            let ws = lock(&state).ws.clone();
            workspace_namespaces(&ws)
        });
        let rt = cluster::runtime::start(
            cluster::runtime::Options {
                kubeconfig: settings.kubeconfig.clone(),
                context: settings.context.clone(),
                namespaces,
                backoff: (std::time::Duration::from_millis(500), std::time::Duration::from_secs(30)),
                request_timeout: settings.request_timeout(),
                watch_timeout: settings.watch_timeout(),
            },
            tx,
        );
        let consumer = tokio::spawn(cluster_consumer(self.clone(), rx));
        lock(&self.state).cluster = Some(ClusterHandle { settings, rt: Some(rt), consumer: Some(consumer) });
    }

    /// `workspace/executeCommand` for the cluster commands: checks, plans the
    /// patches from the cache, and sends them in a background task.
    fn cluster_command(&self, params: lsp::ExecuteCommandParams) -> Result<Option<Value>> {
        use cluster::actions::{self, Action};
        let Some(action) = Action::from_command(&params.command) else {
            return Err(Error::invalid_params(format!("unknown command `{}`", params.command)));
        };
        let arg = params.arguments.first().cloned().unwrap_or(Value::Null);
        let (Some(uri), Some(line)) = (arg.get("uri").and_then(Value::as_str), arg.get("line").and_then(Value::as_u64))
        else {
            return Err(Error::invalid_params(format!(
                "{}: expected the arguments [{{\"uri\": string, \"line\": number}}]",
                params.command
            )));
        };
        let (read_only, rt_client, cache, redactor) = {
            let st = lock(&self.state);
            let rt = st.cluster.as_ref().and_then(|c| c.rt.as_ref());
            (
                st.settings.cluster.read_only,
                rt.and_then(|r| r.client()),
                rt.map(|r| r.cache.clone()),
                rt.map(|r| r.redactor.clone()),
            )
        };
        if read_only {
            return Err(command_error(
                2,
                format!(
                    "{}: refused because `fluxLsp.cluster.readOnly` is true: flux-lsp does not write to the cluster",
                    action.title()
                ),
            ));
        }
        let Some(cache) = cache else {
            return Err(command_error(
                1,
                "no cluster connection: the cluster overlay is off (no kubeconfig, or `fluxLsp.cluster.enabled` is false)",
            ));
        };
        let Some(client) = rt_client else {
            let st = cache.read();
            return Err(command_error(
                1,
                format!(
                    "no cluster connection (state: {}{}): try again once connected",
                    st.state.as_str(),
                    st.message.as_deref().map(|m| format!(", {m}")).unwrap_or_default()
                ),
            ));
        };
        let Ok(uri) = uri.parse::<lsp::Uri>() else { return Err(Error::invalid_params("invalid uri")) };
        let Some(ctx) = self.ctx(&uri) else {
            return Err(Error::invalid_params(format!("{} is not a known document", uri.as_str())));
        };
        let patches = guarded("executeCommand", || {
            let a = ctx.ws.analysis();
            let inner = cache.read();
            let target = cluster::overlay::target_at_line(&a, &ctx.file, &inner.default_ns, line as u32)
                .ok_or_else(|| format!("no Flux object at line {}", line + 1))?;
            let patches = actions::plan(action, &target.key, &inner, &actions::now_rfc3339())?;
            Ok::<_, String>((target.key, patches))
        })?;
        let (key, patches) = patches.map_err(|m| command_error(3, format!("{}: {m}", action.title())))?;
        let label = key.label();
        let lsp_client = self.client.clone();
        let title = action.title();
        let what = label.clone();
        tokio::spawn(async move {
            match actions::execute(&client, &patches).await {
                Ok(()) => tracing::info!(action = title, object = %what, "cluster: patched"),
                Err(e) => {
                    let e = redactor.map(|r| r.lock().unwrap_or_else(|p| p.into_inner()).apply(&e)).unwrap_or(e);
                    tracing::warn!(action = title, object = %what, error = %e, "cluster: command failed");
                    lsp_client.show_message(lsp::MessageType::ERROR, format!("flux-lsp: {title} failed: {e}")).await;
                }
            }
        });
        Ok(Some(serde_json::json!({"message": format!("{title} requested for {label}")})))
    }
}

/// Turns runtime reports into `flux-lsp/clusterStatus`, `$/progress`, log
/// and show messages, and re-publishes the diagnostics of the open documents
/// whose objects changed. Reports that queued up are handled as one batch.
async fn cluster_consumer(server: Server, mut rx: tokio::sync::mpsc::UnboundedReceiver<Report>) {
    let token = lsp::NumberOrString::String("flux-lsp/cluster".into());
    let mut progress: Option<tokio::task::JoinHandle<bool>> = None;
    let lens_refresh_busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(r) = rx.try_recv() {
            batch.push(r);
        }
        let mut keys = std::collections::HashSet::new();
        let mut all = false;
        for r in batch {
            match r {
                Report::Changed(k) => keys.extend(k),
                Report::AllChanged => all = true,
                Report::Message { error, text } => {
                    let text = {
                        let st = lock(&server.state);
                        match st.cluster.as_ref().and_then(|c| c.rt.as_ref()) {
                            Some(rt) => rt.redact(&text),
                            None => text,
                        }
                    };
                    let ty = if error { lsp::MessageType::ERROR } else { lsp::MessageType::WARNING };
                    server.client.log_message(ty, &text).await;
                    server.client.show_message(ty, text).await;
                }
                Report::Crds(kinds) => {
                    // a schema source: applied to the state now, published below
                    let mut st = lock(&server.state);
                    let context = st
                        .cluster
                        .as_ref()
                        .and_then(|c| c.rt.as_ref())
                        .and_then(|rt| rt.cache.read().context.clone())
                        .unwrap_or_default();
                    Arc::make_mut(&mut st.ws).set_cluster_crds(context, kinds);
                    all = true;
                }
                Report::Log(line) => {
                    let line = {
                        let st = lock(&server.state);
                        match st.cluster.as_ref().and_then(|c| c.rt.as_ref()) {
                            Some(rt) => rt.redact(&line),
                            None => line,
                        }
                    };
                    server.client.log_message(lsp::MessageType::WARNING, line).await;
                }
                Report::Status { state, context, message } => {
                    all = true;
                    server
                        .client
                        .send_notification::<ClusterStatusNotification>(serde_json::json!({
                            "state": state.as_str(), "context": context, "message": message
                        }))
                        .await;
                    let line = format!(
                        "cluster: {}{}{}",
                        state.as_str(),
                        context.as_deref().map(|c| format!(" (context `{c}`)")).unwrap_or_default(),
                        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                    );
                    let ty = if state == ConnState::Error { lsp::MessageType::WARNING } else { lsp::MessageType::INFO };
                    server.client.log_message(ty, line).await;
                    let wants_progress = lock(&server.state).caps.progress;
                    if state == ConnState::Connecting && wants_progress && progress.is_none() {
                        let client = server.client.clone();
                        let token = token.clone();
                        let ctx = context.clone().unwrap_or_default();
                        // a task: creating the token waits on the client
                        progress = Some(tokio::spawn(async move {
                            begin_progress(&client, &token, "Connecting to the cluster", format!("context `{ctx}`"))
                                .await
                        }));
                    } else if state != ConnState::Connecting
                        && let Some(begun) = progress.take()
                    {
                        let client = server.client.clone();
                        let token = token.clone();
                        tokio::spawn(async move {
                            if begun.await.unwrap_or(false) {
                                send_progress(
                                    &client,
                                    &token,
                                    lsp::WorkDoneProgress::End(lsp::WorkDoneProgressEnd { message }),
                                )
                                .await;
                            }
                        });
                    }
                }
            }
        }
        if !all && keys.is_empty() {
            continue;
        }
        let (ws, paths, cache, refresh) = {
            let st = lock(&server.state);
            let Some(cache) = st.cluster.as_ref().and_then(|c| c.rt.as_ref()).map(|r| r.cache.clone()) else {
                continue;
            };
            let paths: Vec<PathBuf> = st.open.keys().filter(|p| st.ws.file(p).is_some()).cloned().collect();
            (st.ws.clone(), paths, cache, st.caps.code_lens_refresh)
        };
        let paths = if all {
            paths
        } else {
            let inner = cache.read();
            let a = ws.analysis();
            paths
                .into_iter()
                .filter(|p| ws.file(p).is_some_and(|f| cluster::overlay::mentions(&a, f, &inner.default_ns, &keys)))
                .collect()
        };
        if paths.is_empty() {
            continue;
        }
        publish_paths(&server.client, &server.state, &server.generation, ws, paths, None).await;
        if refresh && !lens_refresh_busy.swap(true, Ordering::SeqCst) {
            let client = server.client.clone();
            let busy = lens_refresh_busy.clone();
            tokio::spawn(async move {
                let _ = client.code_lens_refresh().await;
                busy.store(false, Ordering::SeqCst);
            });
        }
    }
}
// =================== end of cluster overlay (issue #6) ===================

#[cfg(test)]
mod tests {
    use super::fuzzy_score;

    #[test]
    fn fuzzy_matches_subsequences_and_prefers_word_starts() {
        assert!(fuzzy_score("hrpod", "HelmRelease podinfo").is_some());
        assert!(fuzzy_score("xyz", "HelmRelease podinfo").is_none());
        assert!(
            fuzzy_score("pod", "HelmRelease podinfo").unwrap()
                > fuzzy_score("pod", "Kustomization apps-prod-ok").unwrap()
        );
    }
}
