//! Glue between the session and remote charts (issue #9): a [`Remote`] per
//! chart settings (cache directory, size cap, fetching on or off), its
//! background fetch worker, and a consumer that logs each finished fetch
//! and re-publishes the diagnostics of the files it may change. Like the
//! cluster overlay, nothing here runs in a request: requests read the cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tower_lsp_server::lsp_types as lsp;

use super::{Server, lock, publish_paths};
use crate::charts::{self, Remote, fetch};

/// The running remote-chart machinery and the settings it was made with.
pub(super) struct ChartsHandle {
    settings: charts::Settings,
    worker: Option<tokio::task::JoinHandle<()>>,
    consumer: tokio::task::JoinHandle<()>,
}

impl Drop for ChartsHandle {
    fn drop(&mut self) {
        if let Some(w) = &self.worker {
            w.abort();
        }
        self.consumer.abort();
    }
}

impl Server {
    /// (Re)creates the remote charts when their settings changed (or were
    /// never applied). Synchronous: fetches run in background tasks.
    pub(super) fn configure_charts(&self) {
        let settings = {
            let st = lock(&self.state);
            if st.charts.as_ref().is_some_and(|h| h.settings == st.settings.charts) {
                return;
            }
            st.settings.charts.clone()
        };
        let remote = Arc::new(Remote::new(&settings));
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = (settings.fetch && remote.cache.is_some()).then(|| fetch::start(remote.clone(), tx));
        let consumer = tokio::spawn(consume(self.clone(), rx));
        let where_ = match &remote.cache {
            Some(c) => format!("cache `{}`", c.root.display()),
            None => "no cache directory (set `charts.cacheDir`)".into(),
        };
        let old = {
            let mut st = lock(&self.state);
            Arc::make_mut(&mut st.ws).remote_charts = remote;
            st.charts.replace(ChartsHandle { settings: settings.clone(), worker, consumer })
        };
        drop(old); // stops the previous worker; its queue goes with its Remote
        self.generation.fetch_add(1, Ordering::SeqCst);
        tracing::info!(
            fetch = settings.fetch,
            max_mb = settings.max_bytes >> 20,
            "remote charts: {where_}, fetching {}",
            if settings.fetch { "on" } else { "off (charts.fetch is false)" }
        );
    }
}

/// Logs each finished fetch and re-publishes the files that may use it.
async fn consume(server: Server, mut rx: mpsc::UnboundedReceiver<fetch::Done>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(d) = rx.try_recv() {
            batch.push(d);
        }
        for d in &batch {
            let (ty, line) = match &d.result {
                Ok(what) => (lsp::MessageType::INFO, format!("charts: fetched {what} for {}", d.source.describe())),
                Err(e) => (lsp::MessageType::WARNING, format!("charts: could not fetch {}: {e}", d.source.describe())),
            };
            tracing::info!("{line}");
            server.client.log_message(ty, line).await;
        }
        // files with HelmReleases (and the ConfigMaps/Secrets of valuesFrom)
        let (ws, paths) = {
            let st = lock(&server.state);
            let paths: Vec<PathBuf> = st
                .ws
                .files()
                .filter(|f| {
                    f.summary.objects.iter().any(|o| matches!(o.kind_str(), "HelmRelease" | "ConfigMap" | "Secret"))
                })
                .map(|f| f.path.clone())
                .collect();
            (st.ws.clone(), paths)
        };
        publish_paths(&server.client, &server.state, &server.generation, ws, paths, None).await;
    }
}
