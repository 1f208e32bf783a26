//! Limits written by apply() are what the kernel's files say afterwards.

use berth_cgroups::{Cgroup, Error, Hierarchies, Mode, shares_to_weight};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder,
    LinuxNetworkBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use crate::support::{Guard, can_run};

const MIB: i64 = 1 << 20;

fn memory(limit: i64, swap: i64) -> LinuxResources {
    let m = LinuxMemoryBuilder::default()
        .limit(limit)
        .swap(swap)
        .reservation(limit / 2)
        .build()
        .unwrap();
    LinuxResourcesBuilder::default().memory(m).build().unwrap()
}

#[test]
fn memory_limits_and_lowering_them() {
    if !can_run() {
        return;
    }
    let g = Guard::new("mem");
    g.cg.apply(&memory(64 * MIB, 128 * MIB)).unwrap();
    assert_eq!(
        g.read("memory", "memory.limit_in_bytes", "memory.max"),
        (64 * MIB).to_string()
    );
    let swap = g.read("memory", "memory.memsw.limit_in_bytes", "memory.swap.max");
    let want_swap = if g.cg.v1_dir("memory").unwrap().is_some() {
        128 * MIB
    } else {
        64 * MIB
    };
    assert_eq!(swap, want_swap.to_string());
    assert_eq!(
        g.read("memory", "memory.soft_limit_in_bytes", "memory.low"),
        (32 * MIB).to_string()
    );
    // Lowering both: on v1 the memory limit must go first, or memsw < limit is refused.
    g.cg.apply(&memory(16 * MIB, 24 * MIB)).unwrap();
    assert_eq!(
        g.read("memory", "memory.limit_in_bytes", "memory.max"),
        (16 * MIB).to_string()
    );
    // Raising both: now memsw must go first.
    g.cg.apply(&memory(256 * MIB, 512 * MIB)).unwrap();
    assert_eq!(
        g.read("memory", "memory.limit_in_bytes", "memory.max"),
        (256 * MIB).to_string()
    );
    // Unlimited again.
    g.cg.apply(&memory(-1, -1)).unwrap();
    let unlimited = g.read("memory", "memory.limit_in_bytes", "memory.max");
    assert!(
        unlimited == "max" || unlimited.parse::<u64>().unwrap() > 1 << 60,
        "{unlimited}"
    );
    // Swap below memory is refused before anything is written.
    let err = g.cg.apply(&memory(64 * MIB, 32 * MIB)).unwrap_err();
    assert!(
        err.to_string().contains("linux.resources.memory.swap"),
        "{err}"
    );
}

#[test]
fn cpu_cpuset_and_pids_limits() {
    if !can_run() {
        return;
    }
    let g = Guard::new("cpu");
    let cpu = LinuxCpuBuilder::default()
        .shares(512u64)
        .quota(50_000i64)
        .period(100_000u64)
        .realtime_period(1_000_000u64)
        .realtime_runtime(10_000i64)
        .cpus("0")
        .mems("0")
        .build()
        .unwrap();
    let pids = LinuxPidsBuilder::default().limit(42).build().unwrap();
    let res = LinuxResourcesBuilder::default()
        .cpu(cpu)
        .pids(pids)
        .build()
        .unwrap();
    g.cg.apply(&res).unwrap();
    if g.cg.v1_dir("cpu").unwrap().is_some() {
        assert_eq!(g.read("cpu", "cpu.shares", ""), "512");
        assert_eq!(g.read("cpu", "cpu.cfs_quota_us", ""), "50000");
        assert_eq!(g.read("cpu", "cpu.cfs_period_us", ""), "100000");
        if g.cg
            .v1_dir("cpu")
            .unwrap()
            .unwrap()
            .join("cpu.rt_runtime_us")
            .exists()
        {
            assert_eq!(g.read("cpu", "cpu.rt_runtime_us", ""), "10000");
            assert_eq!(g.read("cpu", "cpu.rt_period_us", ""), "1000000");
        }
    } else {
        assert_eq!(
            g.read("cpu", "", "cpu.weight"),
            shares_to_weight(512).to_string()
        );
        assert_eq!(g.read("cpu", "", "cpu.max"), "50000 100000");
    }
    assert_eq!(g.read("cpuset", "cpuset.cpus", "cpuset.cpus"), "0");
    assert_eq!(g.read("cpuset", "cpuset.mems", "cpuset.mems"), "0");
    assert_eq!(g.read("pids", "pids.max", "pids.max"), "42");
    // A non-positive pids limit means unlimited.
    let res = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(0).build().unwrap())
        .build()
        .unwrap();
    g.cg.apply(&res).unwrap();
    assert_eq!(g.read("pids", "pids.max", "pids.max"), "max");
}

#[test]
fn nested_cpuset_cgroup_inherits_cpus_and_mems() {
    if !can_run() {
        return;
    }
    let mut g = Guard::new("cpuset");
    let Some(parent) = g.cg.v1_dir("cpuset").unwrap() else {
        eprintln!("skipping: no v1 cpuset hierarchy");
        return;
    };
    // A process can only join a v1 cpuset cgroup whose cpus and mems are set.
    let root = fs_err::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus").unwrap();
    assert_eq!(
        fs_err::read_to_string(parent.join("cpuset.cpus")).unwrap(),
        root
    );
    let (_, pid) = g.spawn_sleep();
    assert!(g.cg.pids().unwrap().contains(&pid));
}

#[test]
fn blkio_weight_when_the_kernel_has_one() {
    if !can_run() {
        return;
    }
    let g = Guard::new("blkio");
    let b = LinuxBlockIoBuilder::default()
        .weight(300u16)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .block_io(b)
        .build()
        .unwrap();
    let result = g.cg.apply(&res);
    let dir = match g.cg.v1_dir("blkio").unwrap() {
        Some(d) => d,
        None => g.unified(),
    };
    let file = [
        "blkio.weight",
        "blkio.bfq.weight",
        "io.bfq.weight",
        "io.weight",
    ]
    .into_iter()
    .map(|n| dir.join(n))
    .find(|p| p.exists());
    match file {
        Some(p) => {
            result.unwrap();
            let v = fs_err::read_to_string(&p).unwrap();
            let want = if p.ends_with("io.weight") {
                (1 + (290 * 9999) / 990).to_string()
            } else {
                "300".to_string()
            };
            assert!(v.contains(&want), "{}: {v}", p.display());
        }
        None => {
            let err = result.unwrap_err().to_string();
            assert!(err.contains("linux.resources.blockIO"), "{err}");
        }
    }
}

#[test]
fn hugetlb_limit_lands_where_the_controller_is() {
    if !can_run() {
        return;
    }
    if !std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        eprintln!("skipping: no 2MB huge pages on this kernel");
        return;
    }
    let g = Guard::new("hugetlb");
    let l = LinuxHugepageLimitBuilder::default()
        .page_size("2MB")
        .limit(4 * MIB)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![l])
        .build()
        .unwrap();
    let h = g.cg.hierarchies().unwrap().clone();
    if h.v1_mount("hugetlb").is_none() && !h.v2_has("hugetlb") {
        let err = g.cg.apply(&res).unwrap_err().to_string();
        assert_eq!(
            err,
            "cgroup controller hugetlb is not available on this host (needed for linux.resources.hugepageLimits)"
        );
        return;
    }
    g.cg.apply(&res).unwrap();
    let v = g.read("hugetlb", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max");
    assert_eq!(v, (4 * MIB).to_string());
    if h.mode() == Mode::Hybrid && h.v1_mount("hugetlb").is_none() {
        // This machine's quirk: hugetlb lives only in the unified hierarchy.
        let root = h
            .unified
            .as_ref()
            .unwrap()
            .mount_point
            .join("cgroup.subtree_control");
        assert!(fs_err::read_to_string(root).unwrap().contains("hugetlb"));
        assert!(g.unified().join("hugetlb.2MB.max").exists());
    }
    // A page size the kernel does not have is an error naming the field.
    let bad = LinuxHugepageLimitBuilder::default()
        .page_size("3MB")
        .limit(MIB)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![bad])
        .build()
        .unwrap();
    let err = g.cg.apply(&res).unwrap_err().to_string();
    assert!(err.contains("pageSize") && err.contains("3MB"), "{err}");
}

#[test]
fn missing_controller_is_a_clear_error_and_writes_nothing() {
    if !can_run() {
        return;
    }
    // Only a memory hierarchy: hugetlb is asked for but absent.
    let real = Hierarchies::detect().unwrap();
    let only_memory = Hierarchies {
        v1: real
            .v1
            .iter()
            .filter(|v| v.controllers.iter().any(|c| c == "memory"))
            .cloned()
            .collect(),
        unified: None,
    };
    let cg = Cgroup::with_hierarchies("/berth-test-never-created", only_memory).unwrap();
    let l = LinuxHugepageLimitBuilder::default()
        .page_size("2MB")
        .limit(MIB)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(MIB * 8)
                .build()
                .unwrap(),
        )
        .hugepage_limits(vec![l])
        .build()
        .unwrap();
    let err = cg.apply(&res).unwrap_err();
    assert!(matches!(err, Error::ControllerMissing { .. }));
    assert_eq!(
        err.to_string(),
        "cgroup controller hugetlb is not available on this host (needed for linux.resources.hugepageLimits)"
    );
    assert!(!cg.exists(), "nothing may be created when validation fails");

    // net_cls is not mounted on the development machines.
    let real_cg = Cgroup::new("/berth-test-never-created").unwrap();
    if real_cg.v1_dir("net_cls").unwrap().is_none() {
        let n = LinuxNetworkBuilder::default()
            .class_id(0x10001u32)
            .build()
            .unwrap();
        let res = LinuxResourcesBuilder::default().network(n).build().unwrap();
        let err = real_cg.apply(&res).unwrap_err().to_string();
        assert!(err.contains("net_cls") && err.contains("classID"), "{err}");
    }
}

#[test]
fn invalid_paths_are_refused() {
    for p in ["../escape", "/berth/../../etc", "/"] {
        let err = Cgroup::new(p).unwrap_err().to_string();
        assert!(err.starts_with("invalid cgroupsPath"), "{err}");
    }
    assert_eq!(Cgroup::new("berth/rel").unwrap().path(), "berth/rel");
}

#[test]
fn host_layout_and_controller_list() {
    if !can_run() {
        return;
    }
    let h = Hierarchies::detect().unwrap();
    assert_eq!(berth_cgroups::detect().unwrap(), h.mode());
    let ctrls = berth_cgroups::supported_controllers();
    for v in &h.v1 {
        for c in v
            .controllers
            .iter()
            .filter(|c| *c != "perf_event" && *c != "misc")
        {
            assert!(ctrls.contains(c), "{c} missing from {ctrls:?}");
        }
    }
    if let Some(u) = &h.unified {
        // Whatever the unified root offers (hugetlb on the development machines) is listed.
        let driven = ["cpu", "cpuset", "hugetlb", "io", "memory", "pids", "rdma"];
        for c in u
            .controllers
            .iter()
            .filter(|c| driven.contains(&c.as_str()))
        {
            assert!(ctrls.contains(c), "{c} missing from {ctrls:?}");
        }
    }
    if h.v1_mount("memory").is_some() && h.unified.is_some() {
        assert_eq!(h.mode(), Mode::Hybrid);
    }
    assert_eq!(
        berth_cgroups::systemd_available(),
        std::path::Path::new("/run/systemd/system").is_dir()
    );
}
