#!/usr/bin/env bash
# Benchmark: `berth oci run` against `crun run` and `runc run` on the same bundle
# (busybox, /bin/true), interleaved in one loop; prints medians and ratios.
# Run by hand as root (not in CI):  bench/oci-run.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200}"

command -v crun >/dev/null && command -v runc >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq crun runc busybox-static >/dev/null
}
[ -x target/release/berth ] || cargo build --release --locked
berth="$PWD/target/release/berth"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bundle="$work/bundle"
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$a"; done
(cd "$bundle" && "$berth" oci spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["process"]["terminal"] = False
s["process"]["args"] = ["/bin/true"]
s["ociVersion"] = "1.0.2-dev"  # crun 1.8 refuses newer versions
json.dump(s, open(p, "w"), indent=1)
PY

declare -A runtimes=(
  [berth]="$berth oci --root $work/state-berth"
  [crun]="crun --root $work/state-crun"
  [runc]="runc --root $work/state-runc"
)
for r in "${!runtimes[@]}"; do : > "$work/$r.times"; done
available=()
for r in berth crun runc; do
  if ${runtimes[$r]} run --bundle "$bundle" "probe-$r" </dev/null >/dev/null 2>"$work/$r.err"; then
    available+=("$r")
  elif [ "$r" = crun ] && crun --cgroup-manager=disabled --root "$work/state-crun" run --bundle "$bundle" probe-crun2 </dev/null >/dev/null 2>&1; then
    # crun refuses cgroup v1 hybrid hosts whose cgroup2 mount still lists a controller;
    # measure it without cgroups (a floor: berth still creates and removes its cgroup).
    echo "crun refuses this host's cgroups ($(tail -1 "$work/$r.err")); measuring crun --cgroup-manager=disabled" >&2
    runtimes[crun]="crun --cgroup-manager=disabled --root $work/state-crun"
    available+=("$r")
  else
    echo "$r cannot run on this host: $(tail -1 "$work/$r.err")" >&2
  fi
done

for i in $(seq 1 "$n"); do
  for r in "${available[@]}"; do
    s=$(date +%s%N)
    ${runtimes[$r]} run --bundle "$bundle" "b$i" </dev/null >/dev/null
    e=$(date +%s%N)
    echo $(( (e - s) / 1000 )) >> "$work/$r.times"
  done
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf "%-8s %12s %12s\n" runtime "median(ms)" "vs berth"
b=$(median "$work/berth.times")
for r in "${available[@]}"; do
  m=$(median "$work/$r.times")
  awk -v r="$r" -v m="$m" -v b="$b" 'BEGIN {printf "%-8s %12.2f %11.2fx\n", r, m/1000, m/b}'
done
