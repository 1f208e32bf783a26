//! Integration tests against the real kernel: each test makes its own uniquely named cgroup,
//! and a guard removes it (killing what is left inside) even when an assertion fails.
//! They need root and a mounted cgroup filesystem, and say so when they skip.

// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod devices;
mod limits;
mod processes;
mod support;
mod unified;
