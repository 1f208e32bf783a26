#!/usr/bin/env bash
# Build benchmark (issue 5), run by hand, not in CI:
#   cargo build --release -p berth && sudo bench/build.sh [ROUNDS]
# The issue's 5-step Dockerfile (FROM busybox; RUN; COPY of a 50 MB file; WORKDIR; ENV;
# CMD) built by `berth build` and `podman build`, each with its own temporary root,
# interleaved: cold build (fresh store, base image present), fully cached rebuild, and
# a rebuild after changing only the COPY source. Prints medians (ms) and ratios.
# Needs: podman runc (apt-get install podman runc).
set -euo pipefail
ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$HERE/target/release/berth}
IMG=${IMG:-/work/shared/images/busybox-1.38.0/musl/rootfs.tar.gz}
command -v podman >/dev/null || { echo "missing podman: apt-get install podman" >&2; exit 1; }
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release -p berth" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
# runc + cgroupfs: crun refuses cgroup v1 hybrid hosts ("drop all controllers from cgroupv2").
P() { podman --root "$WORK/podman/$ROOTN" --runroot "$WORK/podman-run/$ROOTN" --storage-driver overlay \
  --cgroup-manager cgroupfs --runtime "${PODMAN_RUNTIME:-runc}" "$@"; }
B() { "$BERTH" --root "$WORK/berth/$ROOTN" "$@"; }
cleanup() {
  grep -o "$WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

CTX=$WORK/ctx
mkdir -p "$CTX"
head -c $((50 << 20)) /dev/urandom > "$CTX/big.bin"
cat > "$CTX/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN echo built > /built.txt
COPY big.bin /data/big.bin
WORKDIR /app
ENV MODE=bench
CMD ["sh", "-c", "cat /built.txt"]
DOCKERFILE

now() { date +%s%N; }
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
time_it() { local out=$1; shift; local t0; t0=$(now); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( $(now) - t0 )) >> "$WORK/$out"; }
touch_source() { printf '%08d' "$RANDOM$1" | dd of="$CTX/big.bin" bs=8 count=1 conv=notrunc status=none; }

for i in $(seq "$ROUNDS"); do
  ROOTN=$i
  B import "$IMG" busybox:latest >/dev/null
  P import -q "$IMG" docker.io/library/busybox:latest >/dev/null
  time_it berth_cold B build -t bench:latest "$CTX"
  time_it podman_cold P build --pull=never --network none -t bench:latest "$CTX"
  time_it berth_cached B build -t bench:latest "$CTX"
  time_it podman_cached P build --pull=never --network none -t bench:latest "$CTX"
  touch_source "$i"
  time_it berth_changed B build -t bench:latest "$CTX"
  time_it podman_changed P build --pull=never --network none -t bench:latest "$CTX"
  echo "round $i done"
done

printf '\n%-26s %12s %12s %8s\n' "median of $ROUNDS (ms)" berth podman ratio
for k in cold cached changed; do
  b=$(median "$WORK/berth_$k"); p=$(median "$WORK/podman_$k")
  awk -v k="$k" -v b="$b" -v p="$p" 'BEGIN { printf "%-26s %12.1f %12.1f %7.2fx\n", k, b / 1e6, p / 1e6, p / b }'
done
echo "(ratio = podman / berth; above 1 means berth is faster)"
