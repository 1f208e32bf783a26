//! Building blocks of berth's rules: matches and statements in nftables' JSON
//! form. berth's table is of family `inet`, so every match on an address says
//! which family it is about (`ip` or `ip6`), and NAT statements name theirs.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use nftables::expr::{
    Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix,
};
use nftables::stmt::{Match, NATFamily, Operator, Statement};

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

/// The payload protocol of an address family: `ip` or `ip6`.
fn l3(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "ip",
        IpAddr::V6(_) => "ip6",
    }
}

/// `ip|ip6 saddr|daddr == NET`.
pub(crate) fn ip_in(field: &'static str, net: impl Into<IpNet>) -> Statement<'static> {
    let net: IpNet = net.into();
    let right = Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(s(net.network())),
        len: u32::from(net.prefix_len()),
    }));
    m(payload(l3(net.network()), field), Operator::EQ, right)
}

/// `ip|ip6 daddr ==|!= ADDR`.
pub(crate) fn daddr(op: Operator, ip: IpAddr) -> Statement<'static> {
    m(payload(l3(ip), "daddr"), op, s(ip))
}

/// `meta nfproto ipv4|ipv6`: the rule is about one family only (a rule of an
/// `inet` table without an address match sees both).
pub(crate) fn nfproto(ip: IpAddr) -> Statement<'static> {
    let family = match ip {
        IpAddr::V4(_) => "ipv4",
        IpAddr::V6(_) => "ipv6",
    };
    m(meta(MetaKey::Nfproto), Operator::EQ, s(family))
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

/// `dnat ip|ip6 to IP:PORT`.
pub(crate) fn dnat(ip: IpAddr, port: u16) -> Statement<'static> {
    let family = match ip {
        IpAddr::V4(_) => NATFamily::IP,
        IpAddr::V6(_) => NATFamily::IP6,
    };
    Statement::DNAT(Some(nftables::stmt::NAT {
        addr: Some(s(ip)),
        family: Some(family),
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
