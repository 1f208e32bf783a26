//! Integration tests for berth-compose: real-world-style fixtures with golden `config`
//! output, syntax coverage of every key, error texts, and planning.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns panic on purpose

mod common;
mod errors;
mod fixtures;
mod plan;
mod syntax;
