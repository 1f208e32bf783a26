#!/usr/bin/env bash
# Network cost of a berth container and TCP throughput (run by hand, as root).
#
#   bench/net.sh [ITERATIONS]
#
# 1. What giving a container a network adds: allocate an address, create the
#    veth pair into its namespace, address + default route, one published
#    port in nftables — against creating the namespace alone — and teardown.
# 2. TCP throughput namespace -> namespace across the bridge, host ->
#    published port on 127.0.0.1 (nftables DNAT, and the userspace proxy
#    fallback), and host loopback as the reference.
# Traffic stays on this machine: loopback and namespaces the bench makes.
# Needs: nftables (Debian package), root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 1; }
command -v nft >/dev/null || { echo "bench/net.sh: needs nft (apt-get install nftables)" >&2; exit 1; }
nice cargo build --release -q -p berth-net --example netbench
exec target/release/examples/netbench "${1:-30}"
