//! The live cluster overlay (issue #6): reconciliation status of the Flux
//! objects of open documents, read from the cluster of the kubeconfig.
//!
//! - [`kubeconfig`]: finding the kubeconfig and keeping credentials out of
//!   messages and logs;
//! - [`runtime`]: background tasks that connect, discover the Flux kinds,
//!   list and watch them into the [`cache::Cache`], and reconnect;
//! - [`overlay`]: pure features over the cache (diagnostics, hover, code
//!   lenses), in the IDE's plain data types;
//! - [`actions`]: the reconcile / suspend / resume commands, with the patches
//!   the flux CLI sends.
//!
//! Requests never wait on the network: they read the cache.

pub mod actions;
pub mod cache;
pub mod kubeconfig;
pub mod overlay;
pub mod runtime;

pub use cache::{Cache, ConnState, ObjKey, ObjStatus};
pub use runtime::{Report, Runtime};

/// Diagnostic codes of the overlay.
pub const CLUSTER_NOT_READY: &str = "cluster-not-ready";
pub const CLUSTER_RECONCILING: &str = "cluster-reconciling";
pub const CLUSTER_SUSPENDED: &str = "cluster-suspended";
pub const CLUSTER_NOT_RECONCILED: &str = "cluster-not-reconciled";
pub const CLUSTER_NOT_FOUND: &str = "cluster-not-found";
pub const CLUSTER_DRIFT: &str = "cluster-drift";

/// The commands, as advertised in `executeCommandProvider`.
pub const CMD_RECONCILE: &str = "flux-lsp.reconcile";
pub const CMD_RECONCILE_WITH_SOURCE: &str = "flux-lsp.reconcileWithSource";
pub const CMD_SUSPEND: &str = "flux-lsp.suspend";
pub const CMD_RESUME: &str = "flux-lsp.resume";
