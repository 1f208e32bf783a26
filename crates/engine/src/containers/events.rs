//! Container events (`create`, `start`, `die`, `kill`, `stop`, `destroy`, …): appended
//! by [`Engine::record_event`] to `<data>/events.log`, one JSON object per line, in the
//! shape of Docker's events API, and read back (optionally following) by
//! [`Engine::events`].

use std::io::{BufRead, Seek};
use std::time::Duration;

use berth_store::ContainerRecord;
use serde_json::{Value, json};

use crate::{Engine, Error, Result};

impl Engine {
    /// Appends an event (`create`, `start`, `die`, `destroy`, …) to the event log; a
    /// failure to log never fails the operation.
    pub fn record_event(&self, id: &str, action: &str) {
        match self.store().get_container(id) {
            Ok(rec) => self.record_event_of(&rec, action),
            Err(_) => self.write_event(id, action, &serde_json::Map::new()),
        }
    }

    /// [`Engine::record_event`] for a record at hand (also after it was removed):
    /// Docker's `Actor.Attributes` carry its labels, name and image, and `exitCode` on
    /// `die`.
    pub(crate) fn record_event_of(&self, rec: &ContainerRecord, action: &str) {
        // The labels let `compose events` pick its project's containers, as Docker's.
        let mut attrs: serde_json::Map<String, serde_json::Value> = rec
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        attrs.insert("name".into(), json!(rec.name));
        attrs.insert("image".into(), json!(rec.image_ref));
        if action == "die" {
            attrs.insert(
                "exitCode".into(),
                json!(rec.state.exit_code.unwrap_or(0).to_string()),
            );
        }
        self.write_event(&rec.id, action, &attrs);
    }

    fn write_event(
        &self,
        id: &str,
        action: &str,
        attrs: &serde_json::Map<String, serde_json::Value>,
    ) {
        use std::io::Write;
        let now = berth_store::digest::now_ns();
        let line = json!({"status": action, "id": id, "from": attrs.get("image"),
            "Type": "container", "Action": action,
            "Actor": {"ID": id, "Attributes": attrs}, "scope": "local",
            "time": now / 1_000_000_000, "timeNano": now});
        if let Ok(mut f) = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.paths().data.join("events.log"))
        {
            // One write(2) per line: O_APPEND keeps concurrent writers' lines whole
            // (a formatter writing piecemeal made ~100 tiny writes that interleave).
            let mut text = line.to_string();
            text.push('\n');
            let _ = f.write_all(text.as_bytes());
        }
    }

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
