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

# The main job: an image in berth's store, and a container run from it, Docker-style.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
alpine=../shared/images/alpine-3.20.3/alpine-minirootfs-3.20.3-x86_64.tar.gz
if [ -f "$alpine" ]; then
  "$prefix/bin/berth" import "$alpine" alpine:3.20 --change 'CMD ["/bin/sh"]' >/dev/null
  image=alpine:3.20
else
  # No registry is reachable offline: make a busybox image from Debian's busybox-static.
  mkdir -p "$work/rootfs/bin"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/rootfs/bin/$a"; done
  tar -C "$work/rootfs" -cf "$work/busybox.tar" .
  "$prefix/bin/berth" import "$work/busybox.tar" busybox:local --change 'CMD ["sh"]' >/dev/null
  image=busybox:local
fi
"$prefix/bin/berth" images
"$prefix/bin/berth" run --rm "$image" sh -c 'echo "hello from a berth container: $(hostname), $(ip -4 -o addr show eth0 | awk "{print \$4}")"'
