#!/usr/bin/env bash
# What networking adds to a container, berth vs podman (run by hand, as root, not in CI):
#   cargo build --release -p berth && bench/run-network.sh [ROUNDS]
# 1. `run --rm IMAGE true` on the default bridge network vs `--network none`, for
#    berth and podman, interleaved; prints medians and the added cost.
#    Then `start` of a container on the default network right after its `stop -t 0`
#    (its old namespace and veth may still be on their way out), berth vs podman;
#    CHURN=N runs N loops beside it that make and destroy network namespaces with a
#    veth, as a busy host does, which delays the kernel's namespace cleanup.
# 2. TCP throughput container -> container over a user network (by name), and host ->
#    a published port on 127.0.0.1, for berth and podman: with iperf3 (SECS seconds,
#    default 3) when the host has it, else busybox nc and dd; TROUNDS (default 5)
#    interleaved transfers each, medians and every figure printed.
# Traffic stays on this machine (loopback and the bench's own bridge).
# Needs: podman, runc, nftables, python3; iperf3 for the throughput part (apt-get install
# podman runc nftables python3 iperf3; without iperf3 it falls back to busybox nc).
set -euo pipefail
ROUNDS=${1:-20}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$HERE/target/release/berth}
IMG=${IMG:-/work/shared/images/busybox-1.38.0/glibc/rootfs.tar.gz}
MB=${MB:-512}
[ "$(id -u)" = 0 ] || { echo "bench/run-network.sh: needs root" >&2; exit 1; }
for t in podman nft busybox; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get install podman nftables busybox" >&2; exit 1; }
done
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release -p berth" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-netbench.XXXXXX)
# berth's runtime state on a tmpfs under /run, where it lives by default (/run/berth)
# and where podman keeps its own (/run/containers/storage).
RUNROOT=$(mktemp -d /run/berth-netbench.XXXXXX)
B() { "$BERTH" --root "$WORK/berth" --runroot "$RUNROOT" "$@"; }
cleanup() {
  B ps -a -q --no-trunc 2>/dev/null | xargs -r -n 50 "$BERTH" --root "$WORK/berth" --runroot "$RUNROOT" rm -f >/dev/null 2>&1 || true
  B network prune -f >/dev/null 2>&1 || true
  if [ -n "${CHURNERS:-}" ]; then kill $CHURNERS 2>/dev/null || true; wait $CHURNERS 2>/dev/null || true; fi
  ip -o netns list 2>/dev/null | awk '/^netbench-churn/ { print $1 }' | xargs -r -n1 ip netns del 2>/dev/null || true
  podman rm -f -t 0 podman-sink podman-pubsink podman-restart >/dev/null 2>&1 || true
  podman network rm -f netbench-pnet >/dev/null 2>&1 || true
  podman rmi -f localhost/berth-netbench:latest localhost/berth-netbench-iperf:latest >/dev/null 2>&1 || true
  grep -o -e "$WORK[^ ]*" -e "$RUNROOT[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT

B import "$IMG" netbench >/dev/null
podman import -q "$IMG" localhost/berth-netbench:latest >/dev/null

now() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) printf "%d\n", a[(NR + 1) / 2]; else printf "%d\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
time_it() { local out=$1; shift; local t0; t0=$(now); "$@" >/dev/null 2>&1 || echo "failed: $*" >&2; echo $(( $(now) - t0 )) >> "$WORK/$out"; }

echo "run --rm IMAGE true: default network vs --network none, $ROUNDS interleaved rounds..."
# crun refuses this hybrid cgroup host and the hard RLIMIT_NOFILE is below podman's
# default: runc and explicit limits make podman run here.
P() { podman run --rm --runtime "${PODMAN_RUNTIME:-runc}" --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@"; }
PODMAN_NET=1
P localhost/berth-netbench:latest true >/dev/null 2>&1 || PODMAN_NET=0
for i in $(seq "$ROUNDS"); do
  time_it berth_none B run --rm --network none netbench true
  time_it berth_bridge B run --rm netbench true
  time_it podman_none P --network none localhost/berth-netbench:latest true
  if [ "$PODMAN_NET" = 1 ]; then time_it podman_bridge P localhost/berth-netbench:latest true; fi
done
row() {
  local none bridge
  none=$(median "$WORK/$1_none"); bridge=$(median "$WORK/$1_bridge")
  printf "%-7s none %8s ms   bridge %8s ms   added %8s ms\n" "$1" "$(ms "$none")" "$(ms "$bridge")" "$(ms $(( bridge - none )))"
}
row berth
if [ "$PODMAN_NET" = 1 ]; then row podman; else echo "podman: its default network does not work here (netavark/aardvark missing?)"; fi

# podman with the same runtime and limits as above for run, plain otherwise.
PN() { if [ "$1" = run ]; then shift; podman run --runtime "${PODMAN_RUNTIME:-runc}" --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@"; else podman "$@"; fi; }
CHURN=${CHURN:-0}
echo "start right after stop -t 0, default network, $ROUNDS interleaved rounds, $CHURN namespace churn loops..."
CHURNERS=""
for k in $(seq "$CHURN"); do
  ( i=0; while true; do
      i=$((i + 1)); n=netbench-churn$k-$i
      ip netns add "$n" && ip link add "nbc$k-$((i % 50))" type veth peer name eth0 netns "$n" 2>/dev/null
      ip netns del "$n"
    done ) >/dev/null 2>&1 &
  CHURNERS="$CHURNERS $!"
done
B run -d --name restart netbench sleep 100000 >/dev/null
[ "$PODMAN_NET" = 1 ] && PN run -d --name podman-restart localhost/berth-netbench:latest sleep 100000 >/dev/null
for i in $(seq "$ROUNDS"); do
  B stop -t 0 restart >/dev/null
  time_it berth_restart B start restart
  if [ "$PODMAN_NET" = 1 ]; then
    podman stop -t 0 podman-restart >/dev/null
    time_it podman_restart podman start podman-restart
  fi
done
if [ -n "$CHURNERS" ]; then kill $CHURNERS; wait $CHURNERS 2>/dev/null || true; CHURNERS=""; fi
for who in berth podman; do
  [ -s "$WORK/${who}_restart" ] || continue
  printf "%-7s start after stop %8s ms\n" "$who" "$(ms "$(median "$WORK/${who}_restart")")"
done

# TCP throughput. With iperf3 on the host (apt-get install iperf3), with iperf3 in
# both containers too (an image of the host's iperf3 and the libraries it links): large
# writes and reads, so the figure is the network path's, not the tool's. Without it,
# busybox nc and dd, whose 4-8 KiB reads bound the figure on a 2-CPU host.
TROUNDS=${TROUNDS:-5}
SECS=${SECS:-3}
fmedian() { sort -g "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
if command -v iperf3 >/dev/null; then
  TOOL=iperf3
  UNIT="Mbit/s"
  rootfs=$WORK/iperf-rootfs
  mkdir -p "$rootfs/tmp"
  for f in /usr/bin/iperf3 $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$f")"
    cp -L "$f" "$rootfs$f"
  done
  tar -C "$rootfs" -cf "$WORK/iperf.tar" .
  B import "$WORK/iperf.tar" netbench-iperf >/dev/null
  podman import -q "$WORK/iperf.tar" localhost/berth-netbench-iperf:latest >/dev/null
  SINK=(/usr/bin/iperf3 -s -p 5001)
  # Receiver's Mbit/s of a SECS-second transfer, from iperf3's summary line.
  rate() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }'; }
  c2c() { "${@:3}" run --rm --network "$2" "$IMG_T" /usr/bin/iperf3 -c "$1-sink" -p 5001 -t "$SECS" -f m | rate; }
  pub() { iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -f m | rate; }
else
  TOOL="busybox nc, $MB MiB of zeros"
  UNIT="MB/s"
  SINK=(sh -c 'while true; do nc -l -p 5001 >/dev/null; done')
  # dd's own figure: it leaves the sender's start out, ending when the last block is
  # in the pipe, 64 KiB before the end.
  c2c() { "${@:3}" run --rm --network "$2" "$IMG_T" sh -c "dd if=/dev/zero bs=1048576 count=$MB 2>/tmp/dd | nc $1-sink 5001; tail -n1 /tmp/dd" | sed -n 's/.*, \([0-9.]*\)MB\/s.*/\1/p'; }
  # The host side sends with python3: the host's busybox nc stops early on a pipe.
  pub() {
    local ns
    ns=$(python3 -c "import socket,sys,time
s=socket.create_connection(('127.0.0.1',$1)); b=bytes(1<<20); t=time.monotonic()
for _ in range($MB): s.sendall(b)
s.shutdown(socket.SHUT_WR); s.recv(1); print(int((time.monotonic()-t)*1e9))")
    awk -v mb="$MB" -v ns="$ns" 'BEGIN { printf "%.1f\n", mb / (ns / 1e9) }'
  }
fi
echo "TCP throughput ($TOOL), $TROUNDS interleaved rounds..."
# sinks NAME NET SUBNET PORT IMAGE RUN_PREFIX... : a sink on a user network and one
# behind a published port on 127.0.0.1.
sinks() {
  local who=$1 net=$2 subnet=$3 port=$4 img=$5; shift 5
  "$@" network create --subnet "$subnet" "$net" >/dev/null
  "$@" run -d --name "$who-sink" --network "$net" "$img" "${SINK[@]}" >/dev/null
  "$@" run -d --name "$who-pubsink" -p "127.0.0.1:$port:5001" "$img" "${SINK[@]}" >/dev/null
}
# transfer NAME NET PORT IMAGE RUN_PREFIX... : one sender container reaching the sink
# by name, then the host through the published port; appended to $WORK/NAME_c2c and
# $WORK/NAME_pub.
transfer() {
  local who=$1 net=$2 port=$3
  IMG_T=$4
  c2c "$who" "$net" "${@:5}" >> "$WORK/${who}_c2c"
  pub "$port" >> "$WORK/${who}_pub"
}
if [ "$TOOL" = iperf3 ]; then BIMG=netbench-iperf; PIMG=localhost/berth-netbench-iperf:latest; else BIMG=netbench; PIMG=localhost/berth-netbench:latest; fi
sinks berth netbench-net 10.231.200.0/24 18299 "$BIMG" B
[ "$PODMAN_NET" = 1 ] && sinks podman netbench-pnet 10.231.201.0/24 18298 "$PIMG" PN
sleep 1
# Interleaved rounds, the order swapped each round: one transfer says little on a
# 2-CPU host, where sender and receiver compete for the CPUs.
for i in $(seq "$TROUNDS"); do
  if [ $((i % 2)) = 1 ] || [ "$PODMAN_NET" != 1 ]; then
    transfer berth netbench-net 18299 "$BIMG" B
    [ "$PODMAN_NET" = 1 ] && transfer podman netbench-pnet 18298 "$PIMG" PN
  else
    transfer podman netbench-pnet 18298 "$PIMG" PN
    transfer berth netbench-net 18299 "$BIMG" B
  fi
done
for who in berth podman; do
  [ -s "$WORK/${who}_c2c" ] || continue
  printf "%-7s container -> container (user network, by name): median %s %s  (%s)\n" "$who" "$(fmedian "$WORK/${who}_c2c")" "$UNIT" "$(tr '\n' ' ' < "$WORK/${who}_c2c")"
  printf "%-7s host 127.0.0.1 -> published port:             median %s %s  (%s)\n" "$who" "$(fmedian "$WORK/${who}_pub")" "$UNIT" "$(tr '\n' ' ' < "$WORK/${who}_pub")"
done
