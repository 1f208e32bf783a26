//! berth's engine: turns what a user asks for (pull this image, run that container)
//! into state changes across the image registry client, the local store, the network
//! and the OCI runtime. It neither parses command lines nor prints.
//!
//! The main type is [`Engine`], opened on a set of [`Paths`]; each area of work lives in
//! its own module (`images`, `containers`, `volumes`, …).
//!
//! ```no_run
//! use berth_engine::{Engine, Paths};
//! let engine = Engine::open(Paths::under("/tmp/berth-demo"))?;
//! println!("data in {}", engine.paths().data.display());
//! # Ok::<(), berth_engine::Error>(())
//! ```

pub mod build_support;
pub mod containers;
mod error;
pub mod images;
pub mod networks;
mod paths;
mod pidfd;
pub mod system;
pub mod volumes;

pub use error::{Error, Result};
pub use paths::Paths;

use berth_store::Store;

/// An open engine: paths plus the local store.
pub struct Engine {
    paths: Paths,
    store: Store,
    /// Networks whose kernel side this process took down ahead of removing them
    /// ([`Engine::network_down_when_idle`]).
    taken_down: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Engine {
    /// Opens (creating if needed) the store under `paths.data`.
    pub fn open(paths: Paths) -> Result<Engine> {
        fs_err::create_dir_all(&paths.data).map_err(|e| Error::Io {
            path: paths.data.clone(),
            source: e,
        })?;
        let store = Store::open(&paths.data)?;
        Ok(Engine {
            paths,
            store,
            taken_down: Default::default(),
        })
    }

    /// berth's directories.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The local store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The OCI runtime used for containers, with its state under the run dir.
    pub fn runtime(&self) -> berth_runtime::Runtime {
        berth_runtime::Runtime::new(self.paths.oci_state())
    }
}
