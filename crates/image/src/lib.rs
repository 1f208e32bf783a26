//! Images for berth: references, the registry client, manifests, layers and archives.
//!
//! This crate owns everything between an image name typed by a user and a directory of
//! unpacked files: [`Reference`] parses and normalizes names as Docker does, [`Digest`] and
//! [`VerifyingReader`] make sure nothing from outside is trusted before its sha256 matched,
//! [`manifest`] reads Docker schema 2 and OCI manifests and indexes and picks a platform,
//! [`registry`] speaks the Distribution API v2 (pull, push, auth), [`layer`] applies layer
//! tars inside a target directory without ever writing outside it, and [`archive`] reads and
//! writes `docker save` archives and OCI layouts. It keeps no state of its own: the local
//! store (`berth-store`) decides where blobs and snapshots live.
//!
//! ```
//! use berth_image::Reference;
//! let r = Reference::parse("localhost:5000/team/app:v1").unwrap();
//! assert_eq!(r.registry_host(), "localhost:5000");
//! assert_eq!(r.repository(), "team/app");
//! ```

pub mod archive;
mod digest;
mod error;
pub mod layer;
pub mod manifest;
mod reference;
pub mod registry;

pub use digest::{Algorithm, Digest, Hasher, HashingReader, VerifyingAsyncReader, VerifyingReader};
pub use error::{Error, Result};
pub use manifest::Platform;
/// The OCI image-spec types (`ImageManifest`, `ImageIndex`, `Descriptor`, …) from `oci-spec`.
pub use oci_spec::image as oci;
pub use reference::{DOCKER_HUB, DOCKER_HUB_API, Reference};
