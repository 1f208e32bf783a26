//! Integration tests for berth-compose: real-world-style fixtures with golden `config`
//! output, syntax coverage of every key, error texts, and planning.

mod common;
mod errors;
mod fixtures;
mod plan;
mod syntax;
