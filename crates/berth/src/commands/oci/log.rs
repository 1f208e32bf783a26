//! runc's `--log`/`--log-format`: containerd reads the runtime's errors from this file.

use std::io::Write;
use std::path::PathBuf;

/// Appends error records to the `--log` file, if one was given.
pub struct Logger {
    path: Option<PathBuf>,
    json: bool,
}

impl Logger {
    /// A logger for `--log PATH --log-format FORMAT`.
    pub fn new(path: Option<PathBuf>, format: &str) -> Logger {
        Logger {
            path,
            json: format == "json",
        }
    }

    /// Records an error (best effort: a broken log file must not hide the error itself).
    pub fn error(&self, msg: &str) {
        let Some(path) = &self.path else { return };
        let time = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
        let line = if self.json {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level=error msg={msg:?}")
        };
        if let Ok(mut f) = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}
