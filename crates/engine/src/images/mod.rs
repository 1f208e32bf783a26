//! Images: the engine side of `pull`, `push`, `load`, `save`, `import`, `images`, `rmi`,
//! `tag`, `inspect`, `history`, `prune`, `login`/`logout`/`search`.
//!
//! Everything that fetches or unpacks goes through [`unpack`]: a layer stream is applied into
//! a store staging directory (digest checked on the way), then published with
//! `commit_snapshot` under its chain id, so nothing is visible before it verified.
//!
//! Registry work runs on a tokio runtime that exists only inside the call (see
//! [`runtime::block_on`]): the engine's functions are synchronous, so a caller that spawns
//! containers afterwards is single-threaded again (design.md, "threads and fork").
//! Libraries do not print; progress is reported through callbacks ([`PullEvent`],
//! [`PushEvent`]).

mod change;
mod compress;
mod config;
mod import;
mod inspect;
mod load;
mod manage;
mod pull;
mod push;
mod runtime;
mod save;
pub mod unpack;

pub use change::{ConfigChange, parse_change};
// build support: the builder stores the images it makes
pub use config::{RegistryConfig, docker_config_dir};
pub use import::ImportOptions;
pub use inspect::{HistoryEntry, image_inspect_json};
pub use load::LoadedImage;
pub(crate) use manage::put_image as manage_put_image;
pub use pull::{PullEvent, PullOptions, PullOutcome};
pub use push::PushEvent;
pub use save::SaveFormat;

use berth_image::Reference;

/// The tag string the store keeps for a reference: fully qualified
/// (`docker.io/library/alpine:latest`).
pub fn store_name(r: &Reference) -> String {
    r.to_string()
}

/// Docker's short form of a stored tag (`docker.io/library/alpine:3` → `alpine:3`).
pub fn familiar(name: &str) -> String {
    match Reference::parse(name) {
        Ok(r) => r.familiar_name(),
        Err(_) => name.to_owned(),
    }
}

/// Splits a stored tag into Docker's REPOSITORY and TAG columns.
pub fn repo_and_tag(name: &str) -> (String, String) {
    match Reference::parse(name) {
        Ok(r) => (
            r.familiar_repository(),
            r.tag().unwrap_or("<none>").to_owned(),
        ),
        Err(_) => (name.to_owned(), "<none>".to_owned()),
    }
}

/// Parses an RFC 3339 time (`2024-01-02T03:04:05.123Z`) into ns since the epoch; 0 when
/// it cannot be read (configs without `created`).
pub fn parse_time_ns(s: &str) -> i64 {
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// Formats ns since the epoch as RFC 3339 with nanoseconds, as Docker prints `Created`.
pub fn format_time_ns(ns: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(u64::try_from(ns).unwrap_or(0));
    humantime::format_rfc3339_nanos(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_times() {
        assert_eq!(familiar("docker.io/library/alpine:3"), "alpine:3");
        assert_eq!(
            repo_and_tag("127.0.0.1:5000/a/b:v1"),
            ("127.0.0.1:5000/a/b".to_owned(), "v1".to_owned())
        );
        let ns = parse_time_ns("2024-01-02T03:04:05.5Z");
        assert_eq!(ns, 1_704_164_645_500_000_000);
        assert_eq!(format_time_ns(ns), "2024-01-02T03:04:05.500000000Z");
        assert_eq!(parse_time_ns("garbage"), 0);
    }
}
