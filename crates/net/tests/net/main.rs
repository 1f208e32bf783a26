//! Integration tests of berth-net with real bridges, veths, network
//! namespaces, nftables rules and resolvers. They need root; without it each
//! test says why it skips.

#![allow(clippy::unwrap_used)]

mod common;
mod dns;
mod helpers;
mod ipam;
mod ipv6;
mod nat;
mod plumbing;
mod ports;
