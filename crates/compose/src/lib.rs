//! berth's Compose front end.
pub mod config;
pub mod converge;
pub mod envfile;
pub mod error;
pub mod find;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
mod normalize;
pub mod plan;
mod validate;
pub use error::{Error, Result, Warning};
