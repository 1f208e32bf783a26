#!/usr/bin/env bash
# Installs berth on a fresh Debian 12 / Ubuntu machine (as root) and runs a container.
# Usage: scripts/install.sh [PREFIX]   (default PREFIX=/usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends libseccomp-dev pkg-config busybox-static >/dev/null

cargo build --release --locked
install -m 0755 target/release/berth "$prefix/bin/berth"
# The runc-compatible runtime: the same binary under runc's name, for containerd/CRI-O.
ln -sf berth "$prefix/bin/berth-runc"

# The main job: a container from a busybox root filesystem, run by berth's own runtime.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/bundle/rootfs/bin/$a"; done
(cd "$work/bundle" && "$prefix/bin/berth" oci spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sh", "-c", "echo hello from a berth container: $(hostname), pid $$"/' "$work/bundle/config.json"
"$prefix/bin/berth" oci --root "$work/state" run --bundle "$work/bundle" demo
