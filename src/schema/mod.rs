//! Flux API model: built-in catalog, CRD loading, version history.
