//! flux-lsp: a language server and CI checker for FluxCD manifests.
#![deny(clippy::await_holding_lock)]

pub mod syntax;
pub mod text;
