//! flux-lsp: a language server and CI checker for FluxCD manifests.
#![deny(clippy::await_holding_lock)]

pub mod charts;
pub mod check;
pub mod cluster;
pub mod ide;
pub mod lsp;
pub mod schema;
pub mod syntax;
pub mod text;
pub mod workspace;
