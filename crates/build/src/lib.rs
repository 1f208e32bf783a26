//! berth's image builder: runs a parsed Dockerfile ([`berth_dockerfile`]) with the
//! engine, one layer per filesystem-changing step (`RUN`, `COPY`, `ADD`, a `WORKDIR`
//! that creates its directory), metadata steps changing only the config, multi-stage
//! builds with `--target` and `COPY --from`, and a cache shared by every build.
//!
//! - [`build`] drives a build from [`BuildOptions`] and reports progress, Docker
//!   classic-builder style (`Step 1/5 : FROM busybox`, ` ---> Using cache`), to a writer.
//! - [`Context`] is the build context (a directory read in place with `.dockerignore`,
//!   or a tar from stdin).
//! - The cache (`<data>/build-cache/`) keys a step by its parent, its expanded
//!   instruction, the build args it sees and the content of every file it reads; a
//!   memo of (path, size, mode, owner, mtime, inode) → hash spares re-reading files.
//!
//! ```no_run
//! use berth_build::{BuildOptions, Context, build};
//! use berth_engine::{Engine, Paths};
//! let engine = Engine::open(Paths::under("/tmp/berth-demo"))?;
//! let ctx = Context::dir(std::path::Path::new("."), Default::default());
//! let opts = BuildOptions::new("FROM busybox\nRUN echo hi\n".into(), "Dockerfile".into(), ctx);
//! let out = build(&engine, &opts, &mut std::io::stderr())?;
//! println!("{}", out.id);
//! # Ok::<(), berth_build::Error>(())
//! ```

mod cache;
mod config;
mod context;
mod copy;
mod error;
mod exec;
mod layer;
mod link;
mod lowers;
mod memo;
mod mounts;
mod options;
mod platform;
mod run;
mod schedule;
mod secrets;

pub use cache::{Cache, CachePruned, CacheUsage};
pub use context::Context;
pub use error::{Error, Result};
pub use exec::{BuildOptions, BuildOutcome, build};
pub use secrets::{Secret, SecretSource, SshAgent};
