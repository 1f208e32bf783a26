//! Integration tests for berth-store against real temp roots, real
//! processes and real overlay mounts. One binary with modules keeps link
//! times down.

// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used)]

mod blobs;
mod common;
mod concurrency;
mod containers;
mod images;
mod recovery;
mod rootfs;
