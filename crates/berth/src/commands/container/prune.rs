//! `berth container prune [-f] [--filter until=T|label=K[=V]|label!=K[=V]]`.

use berth_engine::containers::logs::parse_time;
use berth_engine::{Engine, Paths};
use berth_store::{ContainerFilter, ContainerRecord, ContainerStatus, LabelFilter};
use clap::Args;

/// Remove all stopped containers.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>", "label=<key>=<value>").
    #[arg(long)]
    pub filter: Vec<String>,
}

/// Which stopped containers a prune removes.
#[derive(Default)]
struct Filters {
    /// Created before this (ns since the epoch).
    until: Option<i64>,
    /// `label!=`: none of these may match.
    without: Vec<LabelFilter>,
    /// `label=`: all must match (the store applies them).
    with: Vec<LabelFilter>,
}

fn parse(filters: &[String]) -> anyhow::Result<Filters> {
    let mut f = Filters::default();
    for kv in filters {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value): {kv:?}"))?;
        match k {
            "until" => {
                let t = parse_time("--filter until", v)?;
                let ns = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
                f.until = Some(ns);
            }
            "label" => f.with.push(LabelFilter::parse(v)),
            // `label!=x` splits at its '=' as `label!` and `x`.
            "label!" => f.without.push(LabelFilter::parse(v)),
            _ => anyhow::bail!(
                "invalid filter {k:?}\nhint: container prune filters: until, label, label!"
            ),
        }
    }
    Ok(f)
}

fn has_label(c: &ContainerRecord, l: &LabelFilter) -> bool {
    c.labels
        .get(&l.key)
        .is_some_and(|v| l.value.as_ref().is_none_or(|want| want == v))
}

/// Runs `berth container prune`.
pub fn run(paths: &Paths, args: &PruneArgs) -> anyhow::Result<()> {
    // Bad filters are refused before the question.
    parse(&args.filter)?;
    if !args.force
        && !super::confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let engine = super::engine(paths)?;
    let (ids, reclaimed) = prune_stopped(&engine, &args.filter)?;
    crate::format::print_deleted("Deleted Containers:", &ids);
    println!(
        "Total reclaimed space: {}",
        crate::format::human_size(reclaimed)
    );
    Ok(())
}

/// Removes the stopped containers `filters` (`until=`, `label=`, `label!=`) select;
/// returns their ids and the bytes their writable layers held.
pub fn prune_stopped(engine: &Engine, filters: &[String]) -> anyhow::Result<(Vec<String>, u64)> {
    let filters = parse(filters)?;
    engine.reconcile_running()?;
    let list = engine.store().list_containers(&ContainerFilter {
        statuses: vec![
            ContainerStatus::Exited,
            ContainerStatus::Created,
            ContainerStatus::Dead,
        ],
        labels: filters.with.clone(),
        ..ContainerFilter::default()
    })?;
    let mut ids = Vec::new();
    let mut reclaimed = 0;
    for c in list {
        if filters.until.is_some_and(|u| c.created >= u)
            || filters.without.iter().any(|l| has_label(&c, l))
        {
            continue;
        }
        let size = engine
            .store()
            .container_dir(&c.id)
            .map_or(0, |d| berth_store::tree_size(&d.join("upper")));
        match engine.remove_container(&c.id, false, false) {
            Ok(id) => {
                ids.push(id);
                reclaimed += size;
            }
            // Started meanwhile: not stopped any more, so not pruned.
            Err(berth_engine::Error::ContainerState { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((ids, reclaimed))
}
