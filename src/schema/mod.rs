//! Flux API model: built-in catalog, CRD loading, version history.
//!
//! - [`model`]: a typed openAPIV3Schema.
//! - [`loader`]: CRD YAML to kinds (run time and the catalog generator).
//! - [`catalog`]: the compiled-in catalog (`catalog.json`, facts only).
//! - [`registry`]: the catalog merged with run-time CRDs.
//! - [`history`]: removed versions and the Flux release that removed them.
//! - [`docs`]: hand-written one-line summaries and documentation links.
//! - [`values`]: checks of value formats (durations, semver ranges, ...).
//! - [`cel`]: a small evaluator for the CEL rules the Flux CRDs use.
//! - [`chart`]: what a Helm chart accepts in `values` (its schema, or one inferred).

pub mod catalog;
pub mod cel;
pub mod chart;
pub mod docs;
pub mod history;
pub mod loader;
pub mod model;
pub mod registry;
pub mod values;

pub use model::{KindDef, Rule, Schema, Type, VersionDef};
pub use registry::{Origin, Registry, Resolved, has_crds};
