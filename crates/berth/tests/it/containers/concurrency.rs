//! Many berth processes at once on one root.

use std::collections::BTreeSet;

use super::{Root, skip};

#[test]
fn twenty_concurrent_runs() {
    if skip() {
        return;
    }
    let r = Root::with_alpine();
    let children: Vec<_> = (0..20)
        .map(|i| {
            r.cmd(&[
                "run",
                "-d",
                "--name",
                &format!("c{i}"),
                "alpine:test",
                "sleep",
                "60",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut ids = BTreeSet::new();
    for c in children {
        let o = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(!err.to_lowercase().contains("database"), "{err}");
        ids.insert(String::from_utf8_lossy(&o.stdout).trim().to_owned());
    }
    assert_eq!(ids.len(), 20);
    let listed: BTreeSet<String> = r.all_ids().into_iter().collect();
    assert_eq!(listed, ids);
    let running = r.ok(&["ps", "-q", "--no-trunc"]).lines().count();
    assert_eq!(running, 20);
}
