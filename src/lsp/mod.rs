//! The only module that speaks LSP: handlers, capabilities, conversions.

pub mod convert;
pub mod server;
pub mod settings;
pub mod transport;

use tower_lsp_server::{LspService, Server as LspServer};

/// Serves LSP on the given streams until the client exits.
pub async fn serve<I, O>(input: I, output: O)
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (svc_in, svc_out, drain) = transport::guard(input, output);
    let (service, socket) = LspService::build(server::Server::new)
        .custom_method("flux-lsp/documentText", server::Server::document_text)
        .custom_method("flux-lsp/debugPanic", server::Server::debug_panic)
        .finish();
    LspServer::new(svc_in, svc_out, socket).concurrency_level(1).serve(service).await;
    // what is still queued (e.g. the answer to `shutdown`) goes out before the process ends
    drain.wait(std::time::Duration::from_secs(2)).await;
}
