//! berth's Compose front end.
pub mod error;
pub mod interpolate;
pub mod model;
pub use error::{Error, Result, Warning};
