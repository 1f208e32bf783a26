#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 / Ubuntu machine, as root.
# Installs what the tests need, then: format check, clippy, every test.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(
  busybox-static   # static busybox: test rootfs and the in-container checker
  libseccomp-dev   # seccomp for the runtime (links libseccomp)
  pkg-config
  docker-registry  # a real Distribution registry on loopback for image tests
  skopeo           # peer client for registry and archive round trips
  nftables iproute2 # networks: NAT, port publishing, veth/bridges
  containerd       # containerd drives berth-runc in an integration test
  podman runc      # peer for save/load round trips (podman load, podman save, podman run)
  gzip tar
  procps file xz-utils
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts a system service; the tests run their own.
systemctl stop docker-registry 2>/dev/null || true

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust stable (rustup) first" >&2
  exit 1
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast 2>&1 | tee /tmp/berth-test.log
