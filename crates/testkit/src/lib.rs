//! berth's shared test harness, for the integration tests of several crates (a
//! `[dev-dependency]` only; nothing in a shipped binary links it).
//!
//! - [`registry::Registry`]: a real registry (Debian's `docker-registry`, the CNCF
//!   Distribution server) on a free loopback port, with its configuration and storage in a
//!   temporary directory; stopped and removed when the guard drops, panics included.
//! - [`shared_images`]: the upstream test images folder shared next to the repository.
//! - [`installed`]: whether a tool a test needs is there, printing why the test skips when not.
//! - [`nft`]: runs an nftables script, for tests that set up or inspect rules by hand.
//!
//! Helpers panic on failure: a broken fixture is a failed test, with the path or the
//! command named in the message.
//!
//! ```no_run
//! use berth_testkit::registry::{self, Registry};
//!
//! if registry::available() {
//!     let reg = Registry::start(&[("alice", "s3cret")]);
//!     let image = format!("{}/private/busybox:1", reg.host());
//!     // push and pull `image`; the registry stops when `reg` goes out of scope
//! }
//! ```

pub mod registry;

use std::path::{Path, PathBuf};

/// Whether `bin` exists; when not, prints that the test skips and which Debian
/// `package` provides it.
pub fn installed(bin: &str, package: &str) -> bool {
    if Path::new(bin).exists() {
        return true;
    }
    eprintln!("skipped: {bin} missing (apt-get install {package})");
    false
}

/// The shared test images folder (upstream busybox OCI layouts, Alpine minirootfs), or
/// `None` with the reason printed when it is missing.
pub fn shared_images() -> Option<PathBuf> {
    // crates/testkit → the repository → the folder next to it.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images");
    let p = if p.exists() {
        p
    } else {
        PathBuf::from("/work/shared/images")
    };
    if p.join("busybox-1.38.0").exists() {
        Some(p)
    } else {
        eprintln!("skipped: shared/images not found next to the repository");
        None
    }
}

/// Runs `script` with `nft -f -`; panics (naming the script) if nft fails.
pub fn nft(script: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("nft could not be started (apt-get install nftables)");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).expect("writing to nft");
    }
    assert!(
        child.wait().expect("waiting for nft").success(),
        "nft -f failed on:\n{script}"
    );
}
