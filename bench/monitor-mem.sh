#!/usr/bin/env bash
# The memory of detached containers' monitors (`berth __monitor`), with 1 and with N
# containers running (text pages of the binary are shared between monitors, so PSS per
# monitor drops as N grows; private pages do not). With `podman` installed, conmon's
# figures for the same counts are printed alongside.
#
#   bench/monitor-mem.sh [N]        (default 10; run as root)
#
# Prints, per count: mean PSS / RSS / Private_Dirty / Anonymous per monitor (KiB, from
# /proc/PID/smaps_rollup), then the largest mappings of one monitor (smaps).
set -euo pipefail
N=${1:-10}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$HERE/target/release/berth}
IMG=${IMG:-/work/shared/images/alpine-3.10.9/alpine-minirootfs-3.10.9-x86_64.tar.gz}
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release -p berth" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-monmem.XXXXXX)
# berth's runtime state on a tmpfs under /run, where it lives by default (/run/berth)
# and where podman keeps its own (/run/containers/storage).
RUNROOT=$(mktemp -d /run/berth-monmem.XXXXXX)
B() { "$BERTH" --root "$WORK/berth" --runroot "$RUNROOT" "$@"; }
HAVE_PODMAN=0
command -v podman >/dev/null && HAVE_PODMAN=1
cleanup() {
  B ps -a -q --no-trunc 2>/dev/null | xargs -r "$BERTH" --root "$WORK/berth" --runroot "$RUNROOT" rm -f >/dev/null 2>&1 || true
  if [ "$HAVE_PODMAN" = 1 ]; then
    podman ps -a -q --filter label=berth-monmem | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
    podman rmi -f localhost/berth-monmem:latest >/dev/null 2>&1 || true
  fi
  grep -o -e "$WORK[^ ]*" -e "$RUNROOT[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT

B import "$IMG" monmem:latest >/dev/null
[ "$HAVE_PODMAN" = 1 ] && podman import -q "$IMG" localhost/berth-monmem:latest >/dev/null

field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup"; }
report() { # label pids...
  local label=$1; shift
  local n=$# pss=0 rss=0 pd=0 anon=0
  for p in "$@"; do
    pss=$((pss + $(field "$p" Pss))); rss=$((rss + $(field "$p" Rss)))
    pd=$((pd + $(field "$p" Private_Dirty))); anon=$((anon + $(field "$p" Anonymous)))
  done
  printf '%-28s %3d procs  PSS %5d  RSS %5d  Private_Dirty %5d  Anonymous %5d KiB (mean)\n' \
    "$label" "$n" $((pss / n)) $((rss / n)) $((pd / n)) $((anon / n))
}
monitors() { pgrep -f "__monitor " | while read -r p; do grep -q "$WORK" "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done; }

run_berth() { B run -d --network none monmem:latest sleep 600 >/dev/null; }
# As run.sh: runc (crun 1.8 refuses cgroup v1 hybrid hosts), the host's hard limits.
PODMAN=(podman --runtime runc)
run_podman() {
  "${PODMAN[@]}" run -d --network none --label berth-monmem \
    --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 \
    localhost/berth-monmem:latest sleep 600 >/dev/null
}

run_berth
sleep 1
# shellcheck disable=SC2046
report "berth monitor (1 running)" $(monitors)
if [ "$HAVE_PODMAN" = 1 ]; then
  run_podman
  sleep 1
  # shellcheck disable=SC2046
  report "conmon (1 running)" $(podman ps -q --filter label=berth-monmem | xargs -r podman inspect -f '{{.State.ConmonPid}}')
fi
for _ in $(seq 2 "$N"); do run_berth; done
[ "$HAVE_PODMAN" = 1 ] && for _ in $(seq 2 "$N"); do run_podman; done
sleep 1
# shellcheck disable=SC2046
report "berth monitor ($N running)" $(monitors)
if [ "$HAVE_PODMAN" = 1 ]; then
  # shellcheck disable=SC2046
  report "conmon ($N running)" $(podman ps -q --filter label=berth-monmem | xargs -r podman inspect -f '{{.State.ConmonPid}}')
fi

ONE=$(monitors | sed -n 1p)
echo
echo "largest mappings of monitor $ONE (KiB: Pss, Private_Dirty):"
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 " " $2; next }
     $1 == "Pss:" { pss = $2 }
     $1 == "Private_Dirty:" { print pss, $2, name }' "/proc/$ONE/smaps" |
  sort -rn | head -12
