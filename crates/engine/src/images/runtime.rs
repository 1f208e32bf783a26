//! A tokio runtime that lives only for one image operation.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// Runs `fut` on a fresh multi-threaded runtime and shuts the runtime down before
/// returning, so no worker thread outlives the call (containers are cloned from a
/// single-threaded process; design.md, "threads and fork").
pub(crate) fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .max_blocking_threads(16)
        .thread_name("berth-image")
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("cannot start the I/O runtime: {e}")))?;
    let out = rt.block_on(fut);
    rt.shutdown_timeout(Duration::from_secs(10));
    Ok(out)
}
