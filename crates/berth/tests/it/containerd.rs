//! containerd drives berth as its runc binary (`ctr run --runc-binary …`).

use std::process::Command;

use crate::common::{berth_bin, skip_unless_root};

#[test]
fn containerd_runs_a_container_with_berth_runc() {
    if skip_unless_root() {
        return;
    }
    if Command::new("containerd")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: containerd is not installed (scripts/test.sh installs it)");
        return;
    }
    if !std::path::Path::new("../../../shared/images/busybox-1.38.0/musl/rootfs.tar.gz").exists() {
        eprintln!("skipped: ../shared/images is missing");
        return;
    }
    // The script starts a private containerd, imports a busybox image, runs it through
    // the shim with berth-runc, checks output and exit code, and cleans up.
    let out = Command::new("bash")
        .arg("../../scripts/containerd-smoke.sh")
        .arg(berth_bin())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("hello from pid 1 via containerd"),
        "{stdout}"
    );
    assert!(stdout.contains("exit code: 3"), "{stdout}");
}
