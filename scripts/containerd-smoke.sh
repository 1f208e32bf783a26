#!/usr/bin/env bash
# containerd runs a busybox container with berth as its runc binary.
# Starts its own containerd on private paths, imports a busybox OCI image built from
# ../shared/images, runs it through `ctr run --runc-binary`,
# checks the output and exit code, and removes everything it made.
# Usage (as root): scripts/containerd-smoke.sh [PATH-TO-BERTH]
set -euo pipefail
cd "$(dirname "$0")/.."
berth="$(readlink -f "${1:-target/debug/berth}")"
command -v containerd >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null
}

work="$(mktemp -d /tmp/berth-ctrd.XXXXXX)"
ctrd_pid=""
cleanup() {
  set +e
  if [ -n "$ctrd_pid" ]; then
    ctr --address "$work/sock" -n berth-smoke tasks kill -s KILL smoke >/dev/null 2>&1
    ctr --address "$work/sock" -n berth-smoke containers rm smoke >/dev/null 2>&1
    kill "$ctrd_pid"; wait "$ctrd_pid" 2>/dev/null
  fi
  # containerd leaves overlay snapshot mounts behind if killed mid-way
  grep -o " $work[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

# berth under runc's name: containerd's shim calls it with runc's command line.
ln -s "$berth" "$work/berth-runc"

# A busybox OCI image archive (oci-layout + index + blobs, all by digest).
img="$work/image"
mkdir -p "$img/blobs/sha256"
src="$(pwd)/../shared/images/busybox-1.38.0/musl"
for f in rootfs.tar.gz image-config.json image-manifest.json; do
  d=$(sha256sum "$src/$f" | cut -d' ' -f1)
  cp "$src/$f" "$img/blobs/sha256/$d"
done
cp "$src/oci-layout" "$src/index.json" "$img/"
sed -i 's#"busybox:1.38.0-musl"#"docker.io/library/busybox:berth-smoke"#g' "$img/index.json"
tar -C "$img" -cf "$work/image.tar" .

cat > "$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
[grpc]
  address = "$work/sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
TOML
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
ctrd_pid=$!
for _ in $(seq 1 100); do [ -S "$work/sock" ] && break; sleep 0.1; done

ctr() { command ctr --address "$work/sock" -n berth-smoke "$@"; }
ctr images import "$work/image.tar" >/dev/null
out=$(ctr run --rm --runc-binary "$work/berth-runc" docker.io/library/busybox:berth-smoke smoke \
        sh -c 'echo "hello from pid $$ via containerd"; exit 3') && rc=0 || rc=$?
echo "$out"
echo "exit code: $rc"
if [ "$rc" != 3 ] || ! grep -q "hello from pid 1 via containerd" <<<"$out"; then
  echo "FAILED: expected the container's output and exit code 3" >&2
  tail -20 "$work/containerd.log" >&2
  exit 1
fi
echo "containerd ran the container with berth-runc: OK"
