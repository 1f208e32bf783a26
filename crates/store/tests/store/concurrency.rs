//! Several berth processes on one root at once: the test binary re-runs
//! itself (`child_process_entry`) as separate processes.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_store::digest::{chain_ids, sha256_digest};
use berth_store::{ContainerFilter, NewContainer, Store};

use crate::common::{hex_id, store};

const ROLE: &str = "BERTH_STORE_TEST_ROLE";
const ROOT: &str = "BERTH_STORE_TEST_ROOT";
const INDEX: &str = "BERTH_STORE_TEST_INDEX";

fn blob_data() -> Vec<u8> {
    b"a layer many pulls want".repeat(50_000)
}

fn snapshot_ids() -> (String, String) {
    let diff = sha256_digest(b"shared layer");
    let chain = chain_ids(&[&diff]).unwrap().remove(0);
    (diff, chain)
}

/// Waits for the parent's go signal so that all children start together.
fn wait_for_go(root: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !root.join("go").exists() {
        assert!(Instant::now() < deadline, "no go signal");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs in the child processes only (ignored in normal runs).
#[test]
#[ignore = "helper run by the concurrency tests in child processes"]
fn child_process_entry() {
    let (Ok(role), Ok(root)) = (std::env::var(ROLE), std::env::var(ROOT)) else {
        return;
    };
    let index: usize = std::env::var(INDEX).unwrap().parse().unwrap();
    let root = Path::new(&root);
    let store = Store::open(root).unwrap();
    wait_for_go(root);
    match role.as_str() {
        "container" => {
            store
                .create_container(&NewContainer {
                    id: hex_id("ab", index),
                    name: format!("proc{index}"),
                    image_ref: "busybox".into(),
                    config: "{}".into(),
                    ..Default::default()
                })
                .unwrap();
            store
                .update_container_state(&format!("proc{index}"), |s| {
                    s.status = berth_store::ContainerStatus::Running;
                    s.pid = Some(index as i32);
                    Ok(())
                })
                .unwrap();
            store.list_containers(&ContainerFilter::default()).unwrap();
        }
        "blob" => {
            let data = blob_data();
            let mut w = store.begin_blob().unwrap();
            for chunk in data.chunks(4096) {
                w.write_all(chunk).unwrap();
            }
            w.commit(&sha256_digest(&data)).unwrap();
        }
        "snapshot" => {
            let (diff, chain) = snapshot_ids();
            let staging = store.prepare_snapshot(&chain).unwrap();
            fs_err::write(staging.fs_path().join("writer"), index.to_string()).unwrap();
            let rec = store
                .commit_snapshot(staging, &chain, None, &diff, 1)
                .unwrap();
            assert!(rec.path.join("writer").is_file());
        }
        other => panic!("unknown role {other}"),
    }
}

/// Spawns `n` children with `role` on `root`, starts them together, and
/// checks they all succeeded.
fn run_children(root: &Path, role: &str, n: usize) {
    let exe = std::env::current_exe().unwrap();
    let mut children = Vec::new();
    for i in 0..n {
        let child = Command::new(&exe)
            .args([
                "--exact",
                "concurrency::child_process_entry",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, role)
            .env(ROOT, root)
            .env(INDEX, i.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push(child);
    }
    // Give every child time to open the store, then release them at once.
    std::thread::sleep(Duration::from_millis(300));
    fs_err::write(root.join("go"), "").unwrap();
    let mut failures = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !stdout.contains("1 passed") {
            failures.push(format!(
                "child {i}: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn twenty_processes_create_containers_concurrently() {
    let t = store();
    run_children(t.store.root(), "container", 20);
    let all = t
        .store
        .list_containers(&ContainerFilter::default())
        .unwrap();
    assert_eq!(all.len(), 20);
    let mut names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
    names.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("proc{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(
        all.iter()
            .all(|c| c.state.status == berth_store::ContainerStatus::Running)
    );
}

#[test]
fn processes_committing_the_same_blob_leave_one_blob() {
    let t = store();
    run_children(t.store.root(), "blob", 6);
    let data = blob_data();
    assert_eq!(t.store.read_blob(&sha256_digest(&data)).unwrap(), data);
    assert_eq!(
        fs_err::read_dir(t.store.root().join("blobs/sha256"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(
        fs_err::read_dir(t.store.root().join("tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn processes_committing_the_same_snapshot_leave_one_snapshot() {
    let t = store();
    run_children(t.store.root(), "snapshot", 6);
    let (_, chain) = snapshot_ids();
    let path = t.store.snapshot_path(&chain).unwrap();
    // Exactly one writer's files won, whole.
    let entries: Vec<_> = fs_err::read_dir(&path).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let winner: usize = fs_err::read_to_string(path.join("writer"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(winner < 6);
    assert_eq!(
        fs_err::read_dir(t.store.root().join("snapshots"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(
        fs_err::read_dir(t.store.root().join("tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn threads_committing_the_same_snapshot_get_one_result() {
    let t = store();
    let (diff, chain) = snapshot_ids();
    let paths: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (store, diff, chain) = (&t.store, &diff, &chain);
                s.spawn(move || {
                    let staging = store.prepare_snapshot(chain).unwrap();
                    fs_err::write(staging.fs_path().join("writer"), i.to_string()).unwrap();
                    store
                        .commit_snapshot(staging, chain, None, diff, 1)
                        .unwrap()
                        .path
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    assert!(paths[0].join("writer").is_file());
    assert_eq!(
        fs_err::read_dir(t.store.root().join("tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn lock_serialises_across_handles() {
    let t = store();
    let other = Store::open(t.store.root()).unwrap();
    let held = t.store.lock("image-sha256:abc").unwrap();
    assert!(other.try_lock("image-sha256:abc").unwrap().is_none());
    drop(held);
    assert!(other.try_lock("image-sha256:abc").unwrap().is_some());
    assert!(t.store.lock("../escape").is_err());
}
