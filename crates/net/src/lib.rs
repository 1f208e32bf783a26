//! stub
pub mod addr;
pub mod bridge;
pub mod dns;
pub mod error;
pub mod ipam;
pub mod link;
pub mod nat;
pub mod netns;
pub mod nft;
mod nl;
pub mod ports;
pub mod route;
mod state;
pub mod sysctl;
pub use error::{Error, Result};
pub use nl::link_exists;
