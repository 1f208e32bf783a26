#!/usr/bin/env bash
# Container benchmarks (issue 4), run by hand, not in CI:
#   cargo build --release -p berth && sudo bench/run.sh [ROUNDS]
# Side by side, interleaved in one loop: `berth run --rm IMAGE true` vs `podman run
# --rm` (each on its default network, and both with --network none) vs a bare `crun
# run` of the same rootfs (the floor); `berth exec` vs `podman exec`; `berth ps -a`
# with 1,000 containers present; PSS of one detached container's monitor vs podman's
# conmon (/proc/PID/smaps_rollup). Prints medians and ratios.
# Needs: podman crun (apt-get install podman crun).
set -euo pipefail
ROUNDS=${1:-20}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$HERE/target/release/berth}
IMG=${IMG:-/work/shared/images/alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz}
for t in podman crun; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get install podman crun" >&2; exit 1; }
done
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release -p berth" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
# berth's runtime state on a tmpfs under /run, where it lives by default (/run/berth)
# and where podman keeps its own (/run/containers/storage).
RUNROOT=$(mktemp -d /run/berth-bench.XXXXXX)
B() { "$BERTH" --root "$WORK/berth" --runroot "$RUNROOT" "$@"; }
cleanup() {
  B ps -a -q --no-trunc 2>/dev/null | xargs -r -n 50 "$BERTH" --root "$WORK/berth" --runroot "$RUNROOT" rm -f >/dev/null 2>&1 || true
  podman rm -f bench-exec >/dev/null 2>&1 || true
  podman rmi -f localhost/berth-bench:latest >/dev/null 2>&1 || true
  grep -o -e "$WORK[^ ]*" -e "$RUNROOT[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT

B import "$IMG" berth-bench:latest >/dev/null
podman import -q "$IMG" localhost/berth-bench:latest >/dev/null
mkdir -p "$WORK/bundle/rootfs"
tar -xzf "$IMG" -C "$WORK/bundle/rootfs"
(cd "$WORK/bundle" && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' config.json)

# Timestamps from bash itself ($EPOCHREALTIME, microseconds): a `date` fork per
# sample added ~1-2 ms of the script's own to every figure, which shrinks the
# ratios between a fast command and a slow one.
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e3 }'; }
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
time_it() {
  local out=$1; shift; local t0=${EPOCHREALTIME/./} t1
  if ! "$@" >/dev/null 2>"$WORK/err"; then echo "failed: $*" >&2; cat "$WORK/err" >&2; exit 1; fi
  t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 )) >> "$WORK/$out"
}
# The floor: crun, unless it refuses this host (crun 1.8 refuses cgroup v1 hybrid hosts
# whose cgroup2 mount lists a controller); then runc, for the floor and for podman.
FLOOR=crun
PODMAN=(podman)
if ! crun run -b "$WORK/bundle" "probe-$$" >/dev/null 2>&1; then
  echo "crun cannot run containers on this host; using runc as the floor and podman's runtime" >&2
  FLOOR=runc
  PODMAN=(podman --runtime runc)
fi
# podman's default RLIMIT_NOFILE/NPROC are above the hard limits of hosts where root
# lacks CAP_SYS_RESOURCE (this machine: nofile 20000): give it the host's.
PODMAN_RUN_NET=("${PODMAN[@]}" run --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
PODMAN_RUN=("${PODMAN_RUN_NET[@]}" --network none)

echo "run --rm IMAGE true, $ROUNDS interleaved rounds..."
for i in $(seq "$ROUNDS"); do
  time_it berth_run B run --rm berth-bench:latest true
  time_it berth_run_none B run --rm --network none berth-bench:latest true
  time_it podman_run "${PODMAN_RUN[@]}" --rm localhost/berth-bench:latest true
  time_it podman_run_net "${PODMAN_RUN_NET[@]}" --rm localhost/berth-bench:latest true
  time_it crun_run "$FLOOR" run -b "$WORK/bundle" "bench-$$-$i"
done

echo "exec into a running container..."
B run -d --name bench-exec berth-bench:latest sleep 100000 >/dev/null
"${PODMAN_RUN[@]}" -d --name bench-exec localhost/berth-bench:latest sleep 100000 >/dev/null
for i in $(seq "$ROUNDS"); do
  time_it berth_exec B exec bench-exec true
  time_it podman_exec "${PODMAN[@]}" exec bench-exec true
done

echo "monitor memory..."
ID=$(B inspect -f '{{.Id}}' bench-exec)
MON=$(pgrep -f "__monitor $ID" | head -1)
CONMON=$(podman inspect -f '{{.State.ConmonPid}}' bench-exec)
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
rss() { awk '/^Rss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

echo "ps -a with 1,000 containers (creating them)..."
for i in $(seq 1000); do B create berth-bench:latest true >/dev/null; done
for i in $(seq "$ROUNDS"); do time_it berth_ps B ps -a; done

bn=$(median "$WORK/berth_run_none"); br=$(median "$WORK/berth_run"); pr=$(median "$WORK/podman_run"); cr=$(median "$WORK/crun_run")
pn=$(median "$WORK/podman_run_net")
be=$(median "$WORK/berth_exec"); pe=$(median "$WORK/podman_exec"); bp=$(median "$WORK/berth_ps")
printf '\n%-34s %10s\n' "measure (median of $ROUNDS)" "ms"
printf '%-34s %10s\n' "berth run --rm true" "$(ms "$br")"
printf '%-34s %10s\n' "berth run --rm (--network none)" "$(ms "$bn")"
printf '%-34s %10s\n' "podman run --rm (--network none)" "$(ms "$pr")"
printf '%-34s %10s\n' "podman run --rm (default network)" "$(ms "$pn")"
printf '%-34s %10s\n' "$FLOOR run (bare, floor)" "$(ms "$cr")"
printf '%-34s %10s\n' "berth exec true" "$(ms "$be")"
printf '%-34s %10s\n' "podman exec true" "$(ms "$pe")"
printf '%-34s %10s\n' "berth ps -a (1,000 containers)" "$(ms "$bp")"
awk -v b="$br" -v n="$bn" -v p="$pr" -v pn="$pn" -v c="$cr" -v be="$be" -v pe="$pe" 'BEGIN {
  printf "ratios: berth/floor run %.2fx (--network none %.2fx), podman/berth run: default networks %.1fx, both --network none %.1fx; podman/berth exec %.1fx\n", b / c, n / c, pn / b, p / n, pe / be }'
printf 'memory: berth monitor PSS %s KiB (RSS %s KiB), conmon PSS %s KiB (RSS %s KiB)\n' \
  "$(pss "$MON")" "$(rss "$MON")" "$(pss "$CONMON")" "$(rss "$CONMON")"
