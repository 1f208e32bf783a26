//! berth's nftables table: its skeleton, rule builders ([`expr`]), and removal
//! of everything carrying a tag. Every rule berth adds lives in table `inet
//! berth` (one table, one set of chains for IPv4 and IPv6) and has a comment
//! `berth net <id>` or `berth ctr <id>`, so teardown and
//! [`crate::cleanup_stale`] find exactly what berth made.
//!
//! berth before IPv6 support used `table ip berth`. What an older berth left
//! there is removed by tag like the rest ([`delete_tagged`],
//! [`crate::cleanup_stale`], [`crate::nat::remove_legacy_network`]), and that
//! table goes once it is empty, so an upgrade leaves no stale rules.

mod expr;

pub(crate) use expr::*;

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use nftables::batch::Batch;
use nftables::expr::Expression;
use nftables::helper::{self, NftablesError};
use nftables::schema::{
    Chain, Element, NfListObject, NfObject, Rule, Set, SetType, SetTypeValue, Table,
};
use nftables::stmt::Statement;
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state;

/// The table holding every rule berth adds.
pub const TABLE: &str = "berth";
/// Named set of every berth bridge (for isolation between networks).
pub(crate) const BRIDGES: &str = "bridges";
/// The family of berth's table: `inet` covers IPv4 and IPv6 with one set of
/// chains, so isolation by interface applies to both at once.
const FAMILY: NfFamily = NfFamily::INet;
/// The family of the table berth used before IPv6 support (`table ip berth`).
const LEGACY: NfFamily = NfFamily::IP;
/// [`FAMILY`]'s name, as recorded in a [`RuleHandle`].
const FAMILY_NAME: &str = "inet";
/// See [`table_lock`].
const TABLE_LOCK: &str = "/run/berth/nft-table.lock";

const NFT_HINT: &str = "install the nftables package and make sure the nf_tables module loads; berth falls back to a userspace proxy for published ports";

/// The base chains: name, type, hook, priority.
const CHAINS: [(&str, NfChainType, NfHook, i32); 4] = [
    ("prerouting", NfChainType::NAT, NfHook::Prerouting, -100),
    ("output", NfChainType::NAT, NfHook::Output, -100),
    ("postrouting", NfChainType::NAT, NfHook::Postrouting, 100),
    ("forward", NfChainType::Filter, NfHook::Forward, 0),
];

/// Checks that nftables can be driven here (the `nft` tool and the kernel's
/// nf_tables); the error says what is missing.
pub fn available() -> Result<()> {
    helper::get_current_ruleset_raw(helper::DEFAULT_NFT, ["list", "tables"])
        .map(|_| ())
        .map_err(|e| unsupported(&e))
}

fn unsupported(e: &NftablesError) -> Error {
    Error::Unsupported {
        feature: "nftables",
        detail: detail(e),
        hint: NFT_HINT,
    }
}

fn detail(e: &NftablesError) -> String {
    match e {
        NftablesError::NftFailed { stderr, hint, .. } => format!("{hint}: {}", stderr.trim()),
        other => other.to_string(),
    }
}

/// Adds the table, chains and set if missing (`add` of an existing object is
/// a no-op in nftables, so concurrent callers do not clash).
fn skeleton(batch: &mut Batch<'static>) {
    batch.add(NfListObject::Table(Table {
        family: FAMILY,
        name: TABLE.into(),
        handle: None,
    }));
    for (name, ty, hook, prio) in CHAINS {
        batch.add(NfListObject::Chain(Chain {
            family: FAMILY,
            table: TABLE.into(),
            name: name.into(),
            _type: Some(ty),
            hook: Some(hook),
            prio: Some(prio),
            policy: Some(NfChainPolicy::Accept),
            ..Chain::default()
        }));
    }
    batch.add(NfListObject::Set(Box::new(Set {
        family: FAMILY,
        table: TABLE.into(),
        name: BRIDGES.into(),
        handle: None,
        set_type: SetTypeValue::Single(SetType::Ifname),
        policy: None,
        flags: None,
        elem: None,
        timeout: None,
        gc_interval: None,
        size: None,
        comment: None,
    })));
}

/// Runs one batch as a single nftables transaction: all of it or nothing.
///
/// `nft -j -f -` is run here rather than through the crate's helper, which
/// lets nft's stderr through to the caller's terminal: a library must not
/// print, and the message belongs in the error.
pub(crate) fn apply(batch: Batch<'static>, op: &str) -> Result<()> {
    run_nft(batch, op, false).map(|_| ())
}

/// Runs `nft -j -f -` (with `-e -a` when `echo`: nft then prints the objects it
/// added, with their handles) and returns its standard output.
fn run_nft(batch: Batch<'static>, op: &str, echo: bool) -> Result<Vec<u8>> {
    let payload = serde_json::to_vec(&batch.to_nftables()).map_err(|e| Error::Nft {
        op: op.to_string(),
        detail: format!("serialising the ruleset: {e}"),
    })?;
    let args: &[&str] = if echo {
        &["-j", "-e", "-a", "-f", "-"]
    } else {
        &["-j", "-f", "-"]
    };
    let spawned = Command::new("nft")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Err(Error::Unsupported {
                feature: "nftables",
                detail: format!("running nft: {e}"),
                hint: NFT_HINT,
            });
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A write error shows up as nft's failure below.
        let _ = stdin.write_all(&payload);
    }
    let out = child.wait_with_output().map_err(|e| Error::Nft {
        op: op.to_string(),
        detail: format!("waiting for nft: {e}"),
    })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(Error::Nft {
        op: op.to_string(),
        detail: format!("nft exited with {}: {}", out.status, stderr.trim()),
    })
}

/// Adds `objects` in one transaction. The table's skeleton is sent only
/// when it is missing: the first try goes without it (each object nft has
/// to process costs time in every container start), and if nft answers that
/// the table, chain or set does not exist, the retry includes it.
///
/// The caller holds [`table_lock`] shared, so the table cannot vanish
/// between the two tries (see [`remove_table_if_empty`]).
pub(crate) fn add_all(objects: Vec<NfListObject<'static>>, op: &str) -> Result<()> {
    add_objects(objects, op, false).map(|_| ())
}

/// [`add_all`] that returns the handles nft gave the added rules, in order,
/// so they can be deleted later without listing the table first.
pub(crate) fn add_all_echo(
    objects: Vec<NfListObject<'static>>,
    op: &str,
) -> Result<Vec<RuleHandle>> {
    let out = add_objects(objects, op, true)?;
    let parsed: serde_json::Value = serde_json::from_slice(&out).map_err(|e| Error::Nft {
        op: op.to_string(),
        detail: format!("reading what nft echoed: {e}"),
    })?;
    let handles = parsed["nftables"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let r = &i["add"]["rule"];
                    Some(RuleHandle {
                        chain: r["chain"].as_str()?.to_string(),
                        handle: u32::try_from(r["handle"].as_u64()?).ok()?,
                        family: Some(FAMILY_NAME.into()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(handles)
}

fn add_objects(objects: Vec<NfListObject<'static>>, op: &str, echo: bool) -> Result<Vec<u8>> {
    let mut batch = Batch::new();
    for o in objects.iter().cloned() {
        batch.add(o);
    }
    match run_nft(batch, op, echo) {
        Err(Error::Nft { detail, .. }) if detail.contains("No such file or directory") => {
            let mut batch = Batch::new();
            skeleton(&mut batch);
            for o in objects {
                batch.add(o);
            }
            run_nft(batch, op, echo)
        }
        other => other,
    }
}

/// A rule berth added, as nft identifies it: its chain and handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHandle {
    /// The chain in berth's table.
    pub chain: String,
    /// nft's handle of the rule (unique within the table).
    pub handle: u32,
    /// The family of the table the handle belongs to (`inet`). Records of an
    /// older berth have none (their rules are in `table ip berth`), and an
    /// older berth rewriting the records drops it: a handle without it is
    /// never used, the rules are found by their tag instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

fn family_name(family: NfFamily) -> &'static str {
    match family {
        NfFamily::IP => "ip",
        NfFamily::IP6 => "ip6",
        NfFamily::INet => FAMILY_NAME,
        NfFamily::ARP => "arp",
        NfFamily::Bridge => "bridge",
        NfFamily::NetDev => "netdev",
    }
}

/// Deletes the rules `handles` in one transaction; `Ok(false)` if nft
/// refused (a rule is gone already, e.g. after `nft flush ruleset`): then
/// nothing was deleted and the caller falls back to [`delete_tagged`].
pub(crate) fn delete_handles(handles: &[RuleHandle], op: &str) -> Result<bool> {
    if handles.is_empty() {
        return Ok(true);
    }
    if handles
        .iter()
        .any(|h| h.family.as_deref() != Some(FAMILY_NAME))
    {
        return Ok(false);
    }
    let mut batch = Batch::new();
    for h in handles {
        batch.delete(NfListObject::Rule(Rule {
            family: FAMILY,
            table: TABLE.into(),
            chain: h.chain.clone().into(),
            expr: Cow::Owned(Vec::new()),
            handle: Some(h.handle),
            index: None,
            comment: None,
        }));
    }
    match apply(batch, op) {
        Ok(()) => Ok(true),
        Err(Error::Nft { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The lock that keeps berth's table from being deleted while another
/// process adds to it: adders hold it shared, [`remove_table_if_empty`]
/// exclusively. nftables has no "delete if empty", and deleting a table
/// takes all its rules with it, so the check and the deletion must not
/// interleave with an addition.
///
/// The table is host-wide, so the lock is too (not under a state directory,
/// which tests and `BERTH_NET_STATE` move).
pub(crate) fn table_lock(exclusive: bool) -> Result<state::Lock> {
    let path = Path::new(TABLE_LOCK);
    if exclusive {
        state::lock(path)
    } else {
        state::lock_shared(path)
    }
}

/// Deletes berth's table when nothing of berth's is left in it (no rule,
/// no bridge in the set): the last network or container is gone. Returns
/// whether it was deleted.
///
/// The table of an older berth (`table ip berth`) goes the same way.
pub fn remove_table_if_empty() -> Result<bool> {
    let _lock = table_lock(true)?;
    let mut removed = false;
    for family in [FAMILY, LEGACY] {
        let objects = list(family)?;
        if objects.is_empty() {
            continue;
        }
        let in_use = objects.iter().any(|o| match o {
            NfListObject::Rule(_) => true,
            NfListObject::Set(set) => set.elem.as_ref().is_some_and(|e| !e.is_empty()),
            _ => false,
        });
        if !in_use {
            delete_table(family)?;
            removed |= family == FAMILY;
        }
    }
    Ok(removed)
}

fn delete_table(family: NfFamily) -> Result<()> {
    let mut batch = Batch::new();
    batch.delete(NfListObject::Table(Table {
        family,
        name: TABLE.into(),
        handle: None,
    }));
    apply(
        batch,
        &format!("delete the empty table {} berth", family_name(family)),
    )
}

/// A rule in one of berth's chains.
pub(crate) fn rule(
    chain: &str,
    expr: Vec<Statement<'static>>,
    comment: String,
) -> NfListObject<'static> {
    NfListObject::Rule(Rule {
        family: FAMILY,
        table: TABLE.into(),
        chain: chain.to_string().into(),
        expr: Cow::Owned(expr),
        handle: None,
        index: None,
        comment: Some(comment.into()),
    })
}

/// An element of the bridges set.
pub(crate) fn bridge_element(bridge: &str) -> NfListObject<'static> {
    bridge_element_in(FAMILY, bridge)
}

fn bridge_element_in(family: NfFamily, bridge: &str) -> NfListObject<'static> {
    NfListObject::Element(Element {
        family,
        table: TABLE.into(),
        name: BRIDGES.into(),
        elem: Cow::Owned(vec![Expression::String(bridge.to_string().into())]),
    })
}

/// Objects of berth's table of `family` as nft lists them (empty if the
/// table is absent).
fn list(family: NfFamily) -> Result<Vec<NfListObject<'static>>> {
    let name = family_name(family);
    match helper::get_current_ruleset_with_args(helper::DEFAULT_NFT, ["list", "table", name, TABLE])
    {
        Ok(set) => Ok(set
            .objects
            .iter()
            .filter_map(|o| match o {
                NfObject::ListObject(l) => Some(l.clone()),
                NfObject::CmdObject(_) => None,
            })
            .collect()),
        Err(NftablesError::NftFailed { ref stderr, .. })
            if stderr.contains("No such file or directory") =>
        {
            Ok(Vec::new())
        }
        Err(e @ NftablesError::NftExecution { .. }) => Err(unsupported(&e)),
        Err(e) => Err(Error::Nft {
            op: format!("list table {name} berth"),
            detail: detail(&e),
        }),
    }
}

fn comments(objects: Vec<NfListObject<'static>>) -> impl Iterator<Item = String> {
    objects.into_iter().filter_map(|o| match o {
        NfListObject::Rule(r) => r.comment.map(|c| c.into_owned()),
        _ => None,
    })
}

/// The comments of all rules in berth's table, and in the table of an older
/// berth (`table ip berth`) if it is still there.
pub fn rule_comments() -> Result<Vec<String>> {
    let mut out: Vec<String> = comments(list(FAMILY)?).collect();
    out.extend(comments(list(LEGACY)?));
    Ok(out)
}

/// The comments of the rules in berth's own table only (one `nft` run).
pub(crate) fn own_rule_comments() -> Result<Vec<String>> {
    Ok(comments(list(FAMILY)?).collect())
}

/// Deletes, in one transaction per table, every rule whose comment `matches`,
/// and `bridge` from the bridges set if it is there, in berth's table and in
/// the table of an older berth. Returns how many rules went.
pub(crate) fn delete_tagged(matches: &dyn Fn(&str) -> bool, bridge: Option<&str>) -> Result<usize> {
    let n = delete_tagged_in(FAMILY, &list(FAMILY)?, matches, bridge, false)?;
    Ok(n + delete_tagged_in(LEGACY, &list(LEGACY)?, matches, bridge, false)?)
}

/// Which of berth's tables an operation looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tables {
    /// `table inet berth`.
    Own,
    /// `table ip berth`, an older berth's.
    Legacy,
    /// Both.
    Both,
}

/// [`delete_tagged`] in `tables`, deleting a whole table instead when nothing else
/// of berth's would be left in it (no other rule, no other bridge): one listing and
/// one transaction per table under the table lock, where separate calls ran `nft`
/// four times.
pub(crate) fn delete_tagged_and_empty_table(
    matches: &dyn Fn(&str) -> bool,
    bridge: Option<&str>,
    tables: Tables,
) -> Result<usize> {
    let _lock = table_lock(true)?;
    let mut n = 0;
    let families: &[NfFamily] = match tables {
        Tables::Own => &[FAMILY],
        Tables::Legacy => &[LEGACY],
        Tables::Both => &[FAMILY, LEGACY],
    };
    for &family in families {
        let objects = list(family)?;
        if !objects.is_empty() {
            n += delete_tagged_in(family, &objects, matches, bridge, true)?;
        }
    }
    Ok(n)
}

fn delete_tagged_in(
    family: NfFamily,
    objects: &[NfListObject<'static>],
    matches: &dyn Fn(&str) -> bool,
    bridge: Option<&str>,
    drop_empty_table: bool,
) -> Result<usize> {
    let mut batch = Batch::new();
    let mut n = 0;
    let mut any = false;
    let mut others = false;
    for o in objects {
        match o {
            NfListObject::Rule(r)
                if r.comment.as_deref().is_some_and(matches) && r.handle.is_some() =>
            {
                batch.delete(NfListObject::Rule(Rule {
                    expr: Cow::Owned(Vec::new()),
                    index: None,
                    comment: None,
                    ..r.clone()
                }));
                n += 1;
                any = true;
            }
            NfListObject::Rule(_) => others = true,
            NfListObject::Set(set) => {
                for e in set.elem.iter().flat_map(|e| e.iter()) {
                    let ours = set.name == BRIDGES
                        && matches!(e, Expression::String(name) if Some(name.as_ref()) == bridge);
                    if ours {
                        if let Some(b) = bridge {
                            batch.delete(bridge_element_in(family, b));
                            any = true;
                        }
                    } else {
                        others = true;
                    }
                }
            }
            _ => {}
        }
    }
    if drop_empty_table && !others && !objects.is_empty() {
        delete_table(family)?;
    } else if any {
        apply(batch, "delete berth rules")?;
    }
    Ok(n)
}

/// Deletes berth's whole table (everything berth ever added to nftables), and
/// an older berth's `table ip berth`.
pub fn remove_table() -> Result<()> {
    for family in [FAMILY, LEGACY] {
        if !list(family)?.is_empty() {
            delete_table(family)?;
        }
    }
    Ok(())
}
