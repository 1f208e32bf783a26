//! stub
pub mod addr;
pub mod bridge;
pub mod error;
pub mod ipam;
pub mod link;
pub mod netns;
mod nl;
pub mod route;
mod state;
pub mod sysctl;
pub use error::{Error, Result};
pub use nl::link_exists;
