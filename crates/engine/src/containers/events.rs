//! Container events (`create`, `start`, `die`, `kill`, `stop`, `destroy`, …): appended
//! by [`Engine::record_event`] to `<data>/events.log`, one JSON object per line, in the
//! shape of Docker's events API.

use std::io::{BufRead, Seek};
use std::time::Duration;

use serde_json::Value;

use crate::{Engine, Error, Result};

impl Engine {
    /// Events with `since <= time < until` (ns since the epoch), calling `f` for each;
    /// with `follow`, keeps reading new events until `f` returns false.
    pub fn events(
        &self,
        since: Option<i64>,
        until: Option<i64>,
        follow: bool,
        mut f: impl FnMut(&Value) -> bool,
    ) -> Result<()> {
        let path = self.paths().data.join("events.log");
        let mut offset = 0u64;
        loop {
            if let Ok(mut file) = fs_err::File::open(&path) {
                file.seek(std::io::SeekFrom::Start(offset))
                    .map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e,
                    })?;
                for line in std::io::BufReader::new(file).lines() {
                    let line = line.map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e,
                    })?;
                    offset += line.len() as u64 + 1;
                    let Ok(ev) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    let t = ev["timeNano"].as_i64().unwrap_or(0);
                    if since.is_some_and(|s| t < s) {
                        continue;
                    }
                    if until.is_some_and(|u| t >= u) {
                        return Ok(());
                    }
                    if !f(&ev) {
                        return Ok(());
                    }
                }
            }
            if !follow || until.is_some_and(|u| berth_store::digest::now_ns() >= u) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
