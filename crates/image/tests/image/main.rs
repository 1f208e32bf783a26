//! berth-image's integration tests (one binary): a real registry for pull and push, and
//! real layers and archives from the shared test images.

// Helpers here are test code too: a failed setup should panic loudly.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod archive;
mod layer;
mod layer_safety;
mod registry;
