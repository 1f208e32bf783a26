//! What the resolver answers: pure logic over a parsed query and the records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record as Rr, RecordType};

use super::records::Record;

/// Docker's embedded DNS answers with this TTL too.
const TTL: u32 = 600;

/// What to do with a query.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send this response.
    Reply(Vec<u8>),
    /// Not ours: pass the raw query to the upstream resolvers.
    Forward,
    /// Unparseable: ignore it.
    Drop,
}

fn matches(r: &Record, name: &str) -> bool {
    r.names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The address a reverse name stands for: `4.3.2.1.in-addr.arpa` → 1.2.3.4,
/// and `b.a.9.8. … .0.0.d.f.ip6.arpa` (32 nibbles, lowest first, RFC 3596) →
/// fd00::89ab. Partial names (a delegation's zone, fewer labels) are none.
pub(crate) fn ptr_addr(name: &str) -> Option<IpAddr> {
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = rest
            .split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        return match octets.as_slice() {
            [d, c, b, a] => Some(Ipv4Addr::new(*a, *b, *c, *d).into()),
            _ => None,
        };
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let mut bits: u128 = 0;
    let mut n = 0;
    // Written lowest nibble first: the last label is the highest nibble.
    for label in rest.split('.').rev() {
        let [c] = label.as_bytes() else { return None };
        let nibble = char::from(*c).to_digit(16)?;
        bits = (bits << 4) | u128::from(nibble);
        n += 1;
    }
    (n == 32).then(|| Ipv6Addr::from(bits).into())
}

/// Whether `r` holds address `ip`.
fn holds(r: &Record, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => r.ipv4 == a,
        IpAddr::V6(a) => r.ipv6 == Some(a),
    }
}

/// The records a name stands for, as asked by the container at `from`: one of
/// the asker's `--link` aliases stands for its target (by name, alias or id),
/// and hides any container of that name, as in Docker's embedded DNS, which
/// looks up an endpoint's link aliases first; any other name stands for the
/// containers that have it. The flag says whether `name` was a link alias.
fn lookup<'r>(records: &'r [Record], name: &str, from: IpAddr) -> (Vec<&'r Record>, bool) {
    // The asker's links may sit in its record on another of its networks (the
    // records of those are here too, see `joined_elsewhere`).
    let asker = records
        .iter()
        .find(|r| holds(r, from))
        .map(|r| &r.container);
    let target = asker.and_then(|c| {
        records
            .iter()
            .filter(|r| r.container == *c)
            .flat_map(|r| &r.links)
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map(|(_, target)| target)
    });
    match target {
        Some(t) => (
            records
                .iter()
                .filter(|r| matches(r, t) || r.container == *t)
                .collect(),
            true,
        ),
        None => (records.iter().filter(|r| matches(r, name)).collect(), false),
    }
}

/// Answers `query`, asked by the container at `from`, from `records`;
/// `subnet_has` tells whether an address belongs to this network (PTR for an
/// unknown address of ours is NXDOMAIN rather than a question for the
/// upstream resolvers).
pub(crate) fn answer(
    query: &[u8],
    records: &[Record],
    from: IpAddr,
    subnet_has: &dyn Fn(IpAddr) -> bool,
) -> Action {
    let Ok(req) = Message::from_vec(query) else {
        return Action::Drop;
    };
    if req.metadata.message_type != MessageType::Query {
        return Action::Drop;
    }
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    let reply = |mut resp: Message, code: ResponseCode| {
        resp.metadata.response_code = code;
        resp.to_vec().map_or(Action::Drop, Action::Reply)
    };
    if req.metadata.op_code != OpCode::Query || req.queries.len() != 1 {
        return reply(resp, ResponseCode::NotImp);
    }
    let q = req.queries[0].clone();
    resp.add_query(q.clone());
    let qname = q.name().to_ascii();
    let name = qname.trim_end_matches('.').to_ascii_lowercase();

    if q.query_type() == RecordType::PTR {
        if let Some(ip) = ptr_addr(&name) {
            if let Some(r) = records.iter().find(|r| holds(r, ip)) {
                let Some(target) = r
                    .names
                    .first()
                    .and_then(|n| Name::from_ascii(format!("{n}.")).ok())
                else {
                    return reply(resp, ResponseCode::ServFail);
                };
                resp.metadata.authoritative = true;
                resp.add_answer(Rr::from_rdata(
                    q.name().clone(),
                    TTL,
                    RData::PTR(PTR(target)),
                ));
                return reply(resp, ResponseCode::NoError);
            }
            if subnet_has(ip) {
                resp.metadata.authoritative = true;
                return reply(resp, ResponseCode::NXDomain);
            }
        }
        return Action::Forward;
    }

    let (found, linked) = lookup(records, &name, from);
    if !found.is_empty() {
        resp.metadata.authoritative = true;
        if matches!(q.query_type(), RecordType::A | RecordType::ANY) {
            for r in &found {
                resp.add_answer(Rr::from_rdata(q.name().clone(), TTL, RData::A(A(r.ipv4))));
            }
        }
        if matches!(q.query_type(), RecordType::AAAA | RecordType::ANY) {
            for ip in found.iter().filter_map(|r| r.ipv6) {
                resp.add_answer(Rr::from_rdata(q.name().clone(), TTL, RData::AAAA(AAAA(ip))));
            }
        }
        // Other types (and AAAA of a name without an IPv6 address): NOERROR
        // without answers, so clients fall back to the A record at once.
        return reply(resp, ResponseCode::NoError);
    }
    // Unknown single-label names cannot exist upstream; answer at once
    // instead of making the container wait for a forward. A link alias whose
    // container is not on the network is ours too, dots or not.
    if linked || (!name.is_empty() && !name.contains('.')) {
        return reply(resp, ResponseCode::NXDomain);
    }
    Action::Forward
}

/// A SERVFAIL for `query` (when forwarding failed).
pub(crate) fn servfail(query: &[u8]) -> Option<Vec<u8>> {
    let req = Message::from_vec(query).ok()?;
    let mut resp = Message::error_msg(
        req.metadata.id,
        req.metadata.op_code,
        ResponseCode::ServFail,
    );
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.add_queries(req.queries);
    resp.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hickory_proto::op::Query;

    use super::*;

    /// An asker that holds none of the records' addresses.
    const NOBODY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 99));

    fn q(name: &str, ty: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), ty));
        m.to_vec().unwrap()
    }

    fn recs() -> Vec<Record> {
        vec![
            Record {
                container: "c1".into(),
                names: vec!["web".into(), "www".into()],
                ipv4: Ipv4Addr::new(10, 1, 0, 2),
                ipv6: None,
                links: BTreeMap::new(),
            },
            Record {
                container: "c2".into(),
                names: vec!["db".into(), "svc".into()],
                ipv4: Ipv4Addr::new(10, 1, 0, 3),
                ipv6: Some("fd00:1::3".parse().unwrap()),
                links: BTreeMap::new(),
            },
            Record {
                container: "c3".into(),
                names: vec!["db2".into(), "svc".into()],
                ipv4: Ipv4Addr::new(10, 1, 0, 4),
                ipv6: Some("fd00:1::4".parse().unwrap()),
                links: BTreeMap::new(),
            },
        ]
    }

    fn ours(ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => a.octets()[..2] == [10, 1],
            IpAddr::V6(a) => a.segments()[..2] == [0xfd00, 1],
        }
    }

    /// The ip6.arpa name of `ip`, as a resolver library writes it.
    fn nibbles(ip: &str) -> String {
        let bits = u128::from(ip.parse::<Ipv6Addr>().unwrap());
        let mut out = String::new();
        for i in 0..32 {
            out.push_str(&format!("{:x}.", (bits >> (4 * i)) & 0xf));
        }
        out + "ip6.arpa."
    }

    fn reply(query: Vec<u8>) -> Message {
        match answer(&query, &recs(), NOBODY, &ours) {
            Action::Reply(b) => Message::from_vec(&b).unwrap(),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn a_answers(m: &Message) -> Vec<Ipv4Addr> {
        m.answers
            .iter()
            .filter_map(|r| match r.data {
                RData::A(A(ip)) => Some(ip),
                _ => None,
            })
            .collect()
    }

    fn aaaa_answers(m: &Message) -> Vec<Ipv6Addr> {
        m.answers
            .iter()
            .filter_map(|r| match r.data {
                RData::AAAA(AAAA(ip)) => Some(ip),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn names_aliases_and_services_resolve() {
        let m = reply(q("WEB.", RecordType::A));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a_answers(&m), vec![Ipv4Addr::new(10, 1, 0, 2)]);
        assert_eq!(
            a_answers(&reply(q("www", RecordType::A))),
            vec![Ipv4Addr::new(10, 1, 0, 2)]
        );
        let both = a_answers(&reply(q("svc.", RecordType::A)));
        assert_eq!(
            both,
            vec![Ipv4Addr::new(10, 1, 0, 3), Ipv4Addr::new(10, 1, 0, 4)]
        );
        let aaaa = reply(q("web.", RecordType::AAAA));
        assert_eq!(
            (aaaa.metadata.response_code, aaaa.answers.len()),
            (ResponseCode::NoError, 0)
        );
    }

    #[test]
    fn aaaa_answers_the_ipv6_addresses_of_a_name() {
        let m = reply(q("db.", RecordType::AAAA));
        assert_eq!(
            aaaa_answers(&m),
            vec!["fd00:1::3".parse::<std::net::Ipv6Addr>().unwrap()]
        );
        let svc = reply(q("svc.", RecordType::AAAA));
        assert_eq!(svc.answers.len(), 2, "both holders of the alias");
        assert!(a_answers(&svc).is_empty(), "no A records in an AAAA answer");
    }

    #[test]
    fn unknown_single_label_is_nxdomain_and_dotted_names_forward() {
        assert_eq!(
            reply(q("nosuch.", RecordType::A)).metadata.response_code,
            ResponseCode::NXDomain
        );
        assert!(matches!(
            answer(&q("example.org.", RecordType::A), &recs(), NOBODY, &ours),
            Action::Forward
        ));
    }

    #[test]
    fn ptr_for_our_addresses() {
        let m = reply(q("3.0.1.10.in-addr.arpa.", RecordType::PTR));
        match &m.answers[0].data {
            RData::PTR(PTR(n)) => assert_eq!(n.to_ascii(), "db."),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            reply(q("99.0.1.10.in-addr.arpa.", RecordType::PTR))
                .metadata
                .response_code,
            ResponseCode::NXDomain
        );
        assert!(matches!(
            answer(
                &q("8.8.8.8.in-addr.arpa.", RecordType::PTR),
                &recs(),
                NOBODY,
                &ours
            ),
            Action::Forward
        ));
    }

    #[test]
    fn ip6_arpa_names_are_read_nibble_by_nibble() {
        let name = nibbles("fd00:1::3");
        assert!(name.starts_with("3.0.0.0.") && name.ends_with(".1.0.0.0.0.0.d.f.ip6.arpa."));
        let bare = name.trim_end_matches('.');
        assert_eq!(ptr_addr(bare), Some("fd00:1::3".parse().unwrap()));
        assert_eq!(
            ptr_addr(nibbles("2001:db8:abcd:12::ff01").trim_end_matches('.')),
            Some("2001:db8:abcd:12::ff01".parse().unwrap())
        );
        assert_eq!(
            ptr_addr("4.3.2.1.in-addr.arpa"),
            Some(Ipv4Addr::new(1, 2, 3, 4).into())
        );
        // A zone (fewer than 32 nibbles), a label of two characters, a non-hex
        // digit, one nibble too many: not an address.
        let short = bare.split_once('.').unwrap().1;
        assert_eq!(ptr_addr(short), None);
        assert_eq!(ptr_addr(&format!("10.{short}")), None);
        assert_eq!(ptr_addr(&format!("g.{short}")), None);
        assert_eq!(ptr_addr(&format!("0.{bare}")), None);
        assert_eq!(ptr_addr("1.0.0.d.f.ip6.arpa"), None);
    }

    #[test]
    fn ptr_for_our_ipv6_addresses() {
        let m = reply(q(&nibbles("fd00:1::4"), RecordType::PTR));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        match &m.answers[0].data {
            RData::PTR(PTR(n)) => assert_eq!(n.to_ascii(), "db2."),
            other => panic!("{other:?}"),
        }
        // Upper-case nibbles are the same name.
        let upper = nibbles("fd00:1::4")
            .to_ascii_uppercase()
            .replace("IP6.ARPA", "ip6.arpa");
        assert_eq!(reply(q(&upper, RecordType::PTR)).answers.len(), 1);
        assert_eq!(
            reply(q(&nibbles("fd00:1::99"), RecordType::PTR))
                .metadata
                .response_code,
            ResponseCode::NXDomain,
            "an unknown address of our subnet"
        );
        assert!(matches!(
            answer(
                &q(&nibbles("2001:db8::1"), RecordType::PTR),
                &recs(),
                NOBODY,
                &ours
            ),
            Action::Forward
        ));
    }

    /// `web` declared `--link db:sql`, `--link nosuch:cache`, `--link db:db.local`,
    /// `--link db:other` (hiding the container named other) and a link by full id;
    /// `db` is dual-stack, `other` has no links.
    fn linked() -> Vec<Record> {
        let rec = |id: &str, name: &str, last: u8, links: &[(&str, &str)]| Record {
            container: id.into(),
            names: vec![name.into()],
            ipv4: Ipv4Addr::new(10, 1, 0, last),
            ipv6: (name == "db").then(|| format!("fd00:1::{last}").parse().unwrap()),
            links: links
                .iter()
                .map(|(a, t)| ((*a).to_owned(), (*t).to_owned()))
                .collect(),
        };
        vec![
            rec(
                "c1",
                "web",
                2,
                &[
                    ("sql", "db"),
                    ("cache", "nosuch"),
                    ("db.local", "db"),
                    ("other", "db"),
                    ("byid", "c3full"),
                ],
            ),
            rec("c2", "db", 3, &[]),
            rec("c3full", "other", 4, &[]),
        ]
    }

    fn ask(name: &str, ty: RecordType, from: [u8; 4]) -> Message {
        let from = IpAddr::V4(Ipv4Addr::from(from));
        match answer(&q(name, ty), &linked(), from, &ours) {
            Action::Reply(b) => Message::from_vec(&b).unwrap(),
            other => panic!("expected a reply to {name}, got {other:?}"),
        }
    }

    const WEB: [u8; 4] = [10, 1, 0, 2];
    const DB: [u8; 4] = [10, 1, 0, 3];
    const OTHER: [u8; 4] = [10, 1, 0, 4];

    #[test]
    fn link_aliases_answer_only_the_container_that_declared_them() {
        let m = ask("sql.", RecordType::A, WEB);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a_answers(&m), vec![Ipv4Addr::new(10, 1, 0, 3)]);
        assert_eq!(
            aaaa_answers(&ask("SQL.", RecordType::AAAA, WEB)),
            vec!["fd00:1::3".parse::<Ipv6Addr>().unwrap()]
        );
        for from in [DB, OTHER, [10, 1, 0, 99]] {
            let m = ask("sql.", RecordType::A, from);
            assert_eq!(
                (m.metadata.response_code, m.answers.len()),
                (ResponseCode::NXDomain, 0),
                "sql must not resolve for {from:?}"
            );
        }
        // The target's own names still resolve for everyone.
        assert_eq!(
            a_answers(&ask("db.", RecordType::A, OTHER)),
            vec![Ipv4Addr::new(10, 1, 0, 3)]
        );
    }

    #[test]
    fn a_link_to_a_container_not_on_the_network_is_nxdomain() {
        let m = ask("cache.", RecordType::A, WEB);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        // A dotted alias is answered here too, never forwarded.
        assert_eq!(
            a_answers(&ask("db.local.", RecordType::A, WEB)),
            vec![Ipv4Addr::new(10, 1, 0, 3)]
        );
        assert!(matches!(
            answer(
                &q("db.local.", RecordType::A),
                &linked(),
                IpAddr::V4(Ipv4Addr::from(OTHER)),
                &ours
            ),
            Action::Forward
        ));
    }

    #[test]
    fn a_link_alias_hides_a_container_of_that_name_from_its_asker() {
        assert_eq!(
            a_answers(&ask("other.", RecordType::A, WEB)),
            vec![Ipv4Addr::new(10, 1, 0, 3)],
            "web's alias wins, as Docker looks up link aliases first"
        );
        assert_eq!(
            a_answers(&ask("other.", RecordType::A, DB)),
            vec![Ipv4Addr::new(10, 1, 0, 4)]
        );
        assert_eq!(
            a_answers(&ask("byid.", RecordType::A, WEB)),
            vec![Ipv4Addr::new(10, 1, 0, 4)],
            "a link may name its target by id"
        );
    }

    #[test]
    fn links_in_the_askers_record_on_another_network_count() {
        // web asks this network's resolver from 10.1.0.2; its links sit in its record
        // on its other network (10.2.0.0/24), whose records are merged in.
        let mut all = linked();
        let mut links = BTreeMap::new();
        std::mem::swap(&mut links, &mut all[0].links);
        all.push(Record {
            container: "c1".into(),
            names: vec!["web".into()],
            ipv4: Ipv4Addr::new(10, 2, 0, 2),
            ipv6: None,
            links,
        });
        let from = IpAddr::V4(Ipv4Addr::from(WEB));
        let Action::Reply(b) = answer(&q("sql.", RecordType::A), &all, from, &ours) else {
            panic!("expected a reply");
        };
        let m = Message::from_vec(&b).unwrap();
        assert_eq!(a_answers(&m), vec![Ipv4Addr::new(10, 1, 0, 3)]);
    }

    #[test]
    fn garbage_is_dropped_and_servfail_keeps_the_id() {
        assert!(matches!(
            answer(b"\x01", &recs(), NOBODY, &ours),
            Action::Drop
        ));
        let query = q("example.org.", RecordType::A);
        let id = Message::from_vec(&query).unwrap().metadata.id;
        let sf = Message::from_vec(&servfail(&query).unwrap()).unwrap();
        assert_eq!(
            (sf.metadata.id, sf.metadata.response_code),
            (id, ResponseCode::ServFail)
        );
    }
}
