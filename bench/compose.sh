#!/usr/bin/env bash
# Compose benchmark (issue 7), run by hand as root, not in CI:
#   cargo build --release -p berth && bench/compose.sh [ROUNDS]
# The issue's three-service app (web -> api -> db, each built from a local Dockerfile on
# busybox, db with a named volume, all on the project network, `init: true`) brought up
# with `up -d` and taken down with `down`, by `berth compose` and by `podman-compose`
# driving podman (runc, cgroupfs, its own temporary root), interleaved. Images are built
# once before the rounds, so the rounds time container, network and volume work only.
# podman-compose's `down` leaves the network; the script removes it outside the timing so
# each `up` starts from the same state. Prints medians (ms) and ratios.
# Needs: podman podman-compose runc catatonit aardvark-dns (apt-get install podman
# podman-compose runc catatonit aardvark-dns: podman needs an init binary for `init: true`
# and aardvark-dns for service names with its netavark backend).
set -euo pipefail
ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$HERE/target/release/berth}
IMG=${IMG:-/work/shared/images/busybox-1.38.0/glibc/rootfs.tar.gz}
[ "$(id -u)" = 0 ] || { echo "bench/compose.sh: needs root" >&2; exit 1; }
command -v podman-compose >/dev/null || { echo "missing podman-compose: apt-get install podman-compose" >&2; exit 1; }
[ -x /usr/libexec/podman/catatonit ] || command -v catatonit >/dev/null || command -v tini >/dev/null \
  || { echo "missing an init for podman's init: true: apt-get install catatonit" >&2; exit 1; }
[ -x "$BERTH" ] || { echo "build berth first: cargo build --release -p berth" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-bench-compose.XXXXXX)
B() { "$BERTH" --root "$WORK/berth" "$@"; }
# runc + cgroupfs: crun refuses cgroup v1 hybrid hosts; the ulimits keep podman within
# this host's hard RLIMIT_NOFILE.
cat > "$WORK/podman" <<WRAP
#!/bin/sh
exec podman --root "$WORK/podman-root" --runroot "$WORK/podman-run" --storage-driver overlay \
  --cgroup-manager cgroupfs --runtime "${PODMAN_RUNTIME:-runc}" "\$@"
WRAP
chmod +x "$WORK/podman"
PC() { (cd "$WORK/podman-app" && podman-compose -p bench --podman-path "$WORK/podman" \
  --podman-run-args="--ulimit nofile=1024:1024 --ulimit nproc=4096:4096" \
  --podman-build-args="--pull=never" "$@"); }
cleanup() {
  (cd "$WORK/berth-app" 2>/dev/null && B compose down -v -t 1 >/dev/null 2>&1) || true
  PC down >/dev/null 2>&1 || true
  "$WORK/podman" network rm -f bench_default >/dev/null 2>&1 || true
  "$WORK/podman" volume rm -f bench_data >/dev/null 2>&1 || true
  grep -o "$WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

app() { # $1: directory, $2: base image name
  mkdir -p "$1"/{web,api,db}
  cat > "$1/db/Dockerfile" <<DF
FROM $2
CMD ["sh", "-c", "while true; do nc -l -p 5432 -e sh -c 'cat /data/value 2>/dev/null || echo empty'; done"]
DF
  cat > "$1/api/Dockerfile" <<DF
FROM $2
CMD ["sh", "-c", "while true; do nc -l -p 8000 -e sh -c 'echo api:\$(nc db 5432)'; done"]
DF
  cat > "$1/web/Dockerfile" <<DF
FROM $2
CMD ["sh", "-c", "while true; do nc -l -p 80 -e sh -c 'echo web:\$(nc api 8000)'; done"]
DF
  cat > "$1/compose.yaml" <<'YAML'
name: bench
services:
  web: {build: ./web, init: true, depends_on: [api]}
  api: {build: ./api, init: true, depends_on: [db], environment: {MODE: bench}}
  db: {build: ./db, init: true, volumes: ["data:/data"]}
volumes:
  data: {}
YAML
}
app "$WORK/berth-app" bb
app "$WORK/podman-app" localhost/bb:latest
B import "$IMG" bb >/dev/null
"$WORK/podman" import -q "$IMG" localhost/bb:latest >/dev/null
(cd "$WORK/berth-app" && B compose build >/dev/null 2>&1)
PC build >/dev/null 2>&1

now() { date +%s%N; }
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
time_it() { local out=$1; shift; local t0; t0=$(now); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( $(now) - t0 )) >> "$WORK/$out"; }
berth_up() { (cd "$WORK/berth-app" && B compose up -d); }
berth_down() { (cd "$WORK/berth-app" && B compose down); }
check() { # the app answers through all three services
  local t0=$SECONDS
  until [ "$("$@" 2>/dev/null)" = "web:api:empty" ]; do
    [ $((SECONDS - t0)) -lt 15 ] || { echo "app did not answer: $*" >&2; exit 1; }
    sleep 0.2
  done
}

for i in $(seq "$ROUNDS"); do
  time_it berth_up berth_up
  check B exec bench-web-1 nc 127.0.0.1 80
  time_it berth_down berth_down
  time_it podman_up PC up -d
  check "$WORK/podman" exec bench_web_1 nc 127.0.0.1 80
  time_it podman_down PC down
  "$WORK/podman" network rm -f bench_default >/dev/null 2>&1 || true
  echo "round $i done"
done

printf '\n%-26s %12s %12s %8s\n' "median of $ROUNDS (ms)" berth podman-compose ratio
for k in up down; do
  b=$(median "$WORK/berth_$k"); p=$(median "$WORK/podman_$k")
  awk -v k="compose $k" -v b="$b" -v p="$p" 'BEGIN { printf "%-26s %12.1f %12.1f %7.2fx\n", k, b / 1e6, p / 1e6, p / b }'
done
echo "(ratio = podman-compose / berth; above 1 means berth is faster)"
