#!/usr/bin/env bash
# Pull speed: berth vs podman vs skopeo (copy to a directory), side by side, interleaved.
#
# Builds a 3-layer image (~100 MB unpacked) from the Debian slim rootfs in
# ../shared/images, pushes it to a local docker-registry on loopback, then pulls it
# N times (default 5) into empty stores with each tool and prints medians, MB/s and ratios.
# Run by hand as root (not in CI):  bench/pull.sh [N]
set -euo pipefail

N=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
IMAGES=${SHARED_IMAGES:-$HERE/../shared/images}
[ -d "$IMAGES/debian-12.15-bookworm-slim" ] || IMAGES=/work/shared/images
ROOTFS_TAR=$IMAGES/debian-12.15-bookworm-slim/rootfs.tar.xz

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need python3 python3

echo "building berth (release)..." >&2
(cd "$HERE" && cargo build --release -q -p berth)
BERTH=$HERE/target/release/berth

WORK=$(mktemp -d /var/tmp/berth-bench-pull.XXXXXX)
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the image: three gzip layers of the Debian slim rootfs (+ a copy of /usr/share) ---
mkdir -p "$WORK/rootfs" "$WORK/layout/blobs/sha256"
tar -xJf "$ROOTFS_TAR" -C "$WORK/rootfs" --numeric-owner
(cd "$WORK/rootfs" && tar --numeric-owner -cf "$WORK/l1.tar" ./usr/lib)
(cd "$WORK/rootfs" && tar --numeric-owner -cf "$WORK/l2.tar" --exclude ./usr/lib .)
mkdir -p "$WORK/extra/opt"
cp -a "$WORK/rootfs/usr/share" "$WORK/extra/opt/share-copy"
(cd "$WORK/extra" && tar --numeric-owner -cf "$WORK/l3.tar" ./opt)
python3 - "$WORK" <<'PY'
import gzip, hashlib, json, os, shutil, sys
work = sys.argv[1]
blobs = os.path.join(work, "layout/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
layers, diffs = [], []
for n in ("l1", "l2", "l3"):
    raw = open(os.path.join(work, n + ".tar"), "rb").read()
    diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, s = put(gzip.compress(raw, 6, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
cfg = {"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
       "config": {"Cmd": ["bash"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
       "rootfs": {"type": "layers", "diff_ids": diffs}}
cd, cs = put(json.dumps(cfg).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
       "layers": layers}
md, ms = put(json.dumps(man).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": man["mediaType"], "digest": md, "size": ms}]},
          open(os.path.join(work, "layout/index.json"), "w"))
open(os.path.join(work, "layout/oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
print(sum(l["size"] for l in layers), sum(os.path.getsize(os.path.join(work, n + ".tar")) for n in ("l1", "l2", "l3")),
      file=open(os.path.join(work, "sizes"), "w"))
PY
read -r COMPRESSED UNCOMPRESSED < "$WORK/sizes"
rm -rf "$WORK/rootfs" "$WORK/extra" "$WORK"/l?.tar

# --- the registry ---
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/registry"
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$WORK/registry.yml" 2>"$WORK/registry.log" &
REG_PID=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
IMAGE=127.0.0.1:$PORT/bench/debian:3layers
skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout" "docker://$IMAGE"

now() { date +%s.%N; }
run_berth() { local d; d=$(mktemp -d "$WORK/b.XXXX"); local t0; t0=$(now)
  "$BERTH" --root "$d" pull -q "$IMAGE" >/dev/null; local t1; t1=$(now)
  rm -rf "$d"; echo "$t1 - $t0" | bc -l; }
run_podman() { local d; d=$(mktemp -d "$WORK/p.XXXX"); local t0; t0=$(now)
  podman --root "$d/root" --runroot "$d/run" --storage-driver overlay pull -q --tls-verify=false "$IMAGE" >/dev/null
  local t1; t1=$(now)
  podman --root "$d/root" --runroot "$d/run" --storage-driver overlay system reset -f >/dev/null 2>&1 || true
  rm -rf "$d"; echo "$t1 - $t0" | bc -l; }
run_skopeo() { local d; d=$(mktemp -d "$WORK/s.XXXX"); local t0; t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$IMAGE" "dir:$d/img" >/dev/null; local t1; t1=$(now)
  rm -rf "$d"; echo "$t1 - $t0" | bc -l; }

need bc bc
declare -a B P S
for i in $(seq "$N"); do
  B+=("$(run_berth)"); P+=("$(run_podman)"); S+=("$(run_skopeo)")
  echo "round $i: berth ${B[-1]} s, podman ${P[-1]} s, skopeo ${S[-1]} s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mb=$(echo "$COMPRESSED / 1000000" | bc -l)
mbu=$(echo "$UNCOMPRESSED / 1000000" | bc -l)
mB=$(median "${B[@]}"); mP=$(median "${P[@]}"); mS=$(median "${S[@]}")
printf 'image: 3 gzip layers, %.1f MB compressed, %.1f MB unpacked; %d rounds, interleaved\n' "$mb" "$mbu" "$N"
printf '%-28s %8.3f s  %7.1f MB/s (compressed)\n' "berth pull" "$mB" "$(echo "$mb / $mB" | bc -l)"
printf '%-28s %8.3f s  %7.1f MB/s\n' "podman pull" "$mP" "$(echo "$mb / $mP" | bc -l)"
printf '%-28s %8.3f s  %7.1f MB/s (download only, no unpack)\n' "skopeo copy docker:// dir:" "$mS" "$(echo "$mb / $mS" | bc -l)"
printf 'podman / berth = %.2fx   skopeo / berth = %.2fx\n' "$(echo "$mP / $mB" | bc -l)" "$(echo "$mS / $mB" | bc -l)"
