//! berth's nftables table: its skeleton, rule builders, and removal of
//! everything carrying a tag. Every rule berth adds lives in table `ip berth`
//! and has a comment `berth net <id>` or `berth ctr <id>`, so teardown and
//! [`crate::cleanup_stale`] find exactly what berth made.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;
use nftables::batch::Batch;
use nftables::expr::{
    Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix,
};
use nftables::helper::{self, NftablesError};
use nftables::schema::{
    Chain, Element, NfListObject, NfObject, Rule, Set, SetType, SetTypeValue, Table,
};
use nftables::stmt::{Match, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state;

/// The table holding every rule berth adds.
pub const TABLE: &str = "berth";
/// Named set of every berth bridge (for isolation between networks).
pub(crate) const BRIDGES: &str = "bridges";
const FAMILY: NfFamily = NfFamily::IP;
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
}

/// Deletes the rules `handles` in one transaction; `Ok(false)` if nft
/// refused (a rule is gone already, e.g. after `nft flush ruleset`): then
/// nothing was deleted and the caller falls back to [`delete_tagged`].
pub(crate) fn delete_handles(handles: &[RuleHandle], op: &str) -> Result<bool> {
    if handles.is_empty() {
        return Ok(true);
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
pub fn remove_table_if_empty() -> Result<bool> {
    let _lock = table_lock(true)?;
    let objects = list()?;
    if objects.is_empty() {
        return Ok(false);
    }
    let in_use = objects.iter().any(|o| match o {
        NfListObject::Rule(_) => true,
        NfListObject::Set(set) => set.elem.as_ref().is_some_and(|e| !e.is_empty()),
        _ => false,
    });
    if in_use {
        return Ok(false);
    }
    let mut batch = Batch::new();
    batch.delete(NfListObject::Table(Table {
        family: FAMILY,
        name: TABLE.into(),
        handle: None,
    }));
    apply(batch, "delete the empty table ip berth").map(|()| true)
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
    NfListObject::Element(Element {
        family: FAMILY,
        table: TABLE.into(),
        name: BRIDGES.into(),
        elem: Cow::Owned(vec![Expression::String(bridge.to_string().into())]),
    })
}

fn m(left: Expression<'static>, op: Operator, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}

fn payload(proto: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: proto.into(),
            field: field.into(),
        },
    )))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn s(v: impl ToString) -> Expression<'static> {
    Expression::String(v.to_string().into())
}

/// `ip saddr|daddr == NET`.
pub(crate) fn ip_in(field: &'static str, net: Ipv4Net) -> Statement<'static> {
    let right = Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(s(net.network())),
        len: u32::from(net.prefix_len()),
    }));
    m(payload("ip", field), Operator::EQ, right)
}

/// `ip daddr == ADDR`.
pub(crate) fn daddr_is(ip: Ipv4Addr) -> Statement<'static> {
    m(payload("ip", "daddr"), Operator::EQ, s(ip))
}

/// `iifname|oifname ==|!= NAME` (or `@set`).
pub(crate) fn ifname(input: bool, op: Operator, name: &str) -> Statement<'static> {
    let key = if input {
        MetaKey::Iifname
    } else {
        MetaKey::Oifname
    };
    m(meta(key), op, s(name))
}

/// `fib daddr type local`: the packet is for one of the host's addresses.
pub(crate) fn to_local_address() -> Statement<'static> {
    let fib = Fib {
        result: FibResult::Type,
        flags: HashSet::from([FibFlag::Daddr]),
    };
    m(
        Expression::Named(NamedExpression::Fib(fib)),
        Operator::EQ,
        s("local"),
    )
}

/// `tcp|udp dport == PORT`.
pub(crate) fn dport(proto: &'static str, port: u16) -> Statement<'static> {
    m(
        payload(proto, "dport"),
        Operator::EQ,
        Expression::Number(u32::from(port)),
    )
}

/// `dnat to IP:PORT`.
pub(crate) fn dnat(ip: Ipv4Addr, port: u16) -> Statement<'static> {
    Statement::DNAT(Some(nftables::stmt::NAT {
        addr: Some(s(ip)),
        family: None,
        port: Some(Expression::Number(u32::from(port))),
        flags: None,
    }))
}

/// `ct status dnat`: the connection was destination-NATed (a published port).
pub(crate) fn ct_dnat() -> Statement<'static> {
    let ct = nftables::expr::CT {
        key: "status".into(),
        family: None,
        dir: None,
    };
    m(
        Expression::Named(NamedExpression::CT(ct)),
        Operator::IN,
        s("dnat"),
    )
}

/// `masquerade`.
pub(crate) fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}

/// `drop`.
pub(crate) fn drop() -> Statement<'static> {
    Statement::Drop(None)
}

/// Objects of berth's table as nft lists them (empty if the table is absent).
fn list() -> Result<Vec<NfListObject<'static>>> {
    match helper::get_current_ruleset_with_args(helper::DEFAULT_NFT, ["list", "table", "ip", TABLE])
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
            op: "list table ip berth".to_string(),
            detail: detail(&e),
        }),
    }
}

/// The comments of all rules in berth's table.
pub fn rule_comments() -> Result<Vec<String>> {
    Ok(list()?
        .into_iter()
        .filter_map(|o| match o {
            NfListObject::Rule(r) => r.comment.map(|c| c.into_owned()),
            _ => None,
        })
        .collect())
}

/// Deletes, in one transaction, every rule whose comment `matches`, and
/// `bridge` from the bridges set if it is there. Returns how many rules
/// went.
pub(crate) fn delete_tagged(matches: &dyn Fn(&str) -> bool, bridge: Option<&str>) -> Result<usize> {
    delete_tagged_in(&list()?, matches, bridge, false)
}

/// [`delete_tagged`], deleting the whole table instead when nothing else of berth's
/// would be left in it (no other rule, no other bridge): one listing and one
/// transaction under the table lock, where separate calls ran `nft` four times.
pub(crate) fn delete_tagged_and_empty_table(
    matches: &dyn Fn(&str) -> bool,
    bridge: Option<&str>,
) -> Result<usize> {
    let _lock = table_lock(true)?;
    let objects = list()?;
    if objects.is_empty() {
        return Ok(0);
    }
    delete_tagged_in(&objects, matches, bridge, true)
}

fn delete_tagged_in(
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
                            batch.delete(bridge_element(b));
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
    if drop_empty_table && !others {
        let mut batch = Batch::new();
        batch.delete(NfListObject::Table(Table {
            family: FAMILY,
            name: TABLE.into(),
            handle: None,
        }));
        apply(batch, "delete the empty table ip berth")?;
    } else if any {
        apply(batch, "delete berth rules")?;
    }
    Ok(n)
}

/// Deletes berth's whole table (everything berth ever added to nftables).
pub fn remove_table() -> Result<()> {
    if list()?.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    batch.delete(NfListObject::Table(Table {
        family: FAMILY,
        name: TABLE.into(),
        handle: None,
    }));
    apply(batch, "delete table ip berth")
}
