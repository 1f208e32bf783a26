//! Running one step on several containers at once (the containers of one dependency
//! level), as Docker Compose does: each on its own thread, progress events funnelled back
//! to the caller's reporter on the calling thread.

use std::sync::mpsc;

use super::{Event, Reporter};
use crate::error::{Error, Result};

/// At most this many threads at a time; a `--scale 100` service does not fork 100.
const WIDTH: usize = 16;

/// A reporter a worker thread can use: events go back to the calling thread.
pub(crate) type Sink<'s> = &'s (dyn Fn(Event) + Sync);

/// Runs `step` on every item, up to [`WIDTH`] at a time. Every item is tried even when
/// others fail (teardown does not stop at the first failure); the first error is returned.
pub(crate) fn each<T: Sync>(
    items: &[T],
    r: Reporter<'_>,
    step: &(dyn Fn(&T, Sink<'_>) -> Result<()> + Sync),
) -> Result<()> {
    let mut first: Option<Error> = None;
    for chunk in items.chunks(WIDTH) {
        let (tx, rx) = mpsc::channel::<Event>();
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|item| {
                    let tx = tx.clone();
                    s.spawn(move || {
                        let sink = move |e: Event| {
                            let _ = tx.send(e);
                        };
                        step(item, &sink)
                    })
                })
                .collect();
            drop(tx);
            // Ends when every worker dropped its sender, i.e. finished.
            for e in rx {
                r(e);
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(panicked())))
                .collect()
        });
        for res in results {
            if let Err(e) = res
                && first.is_none()
            {
                first = Some(e);
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// The error for a worker thread that panicked.
pub(crate) fn panicked() -> Error {
    Error::Engine(berth_engine::Error::Monitor(
        "a worker thread panicked".into(),
    ))
}
