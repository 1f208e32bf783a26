//! berth's integration tests: the real binary, real containers, temporary roots.
//! One test binary with modules keeps link times down (style.md).

// Test code: a panic is the failure report, and std::fs is fine here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod build;
mod common;
mod compose;
mod compose_cli;
mod containerd;
mod containers;
mod images;
mod networks;
mod networks_life;
mod networks_v6;
mod networks_v6_nat;
mod oci;
mod oci_conformance;
mod oci_limits;
