#!/usr/bin/env bash
# Install benchmark: what the installer (dist/install.sh) costs a job, cold and cached, and the
# size of the release binary.
#
# usage: bench/install/run.sh [--runs N] [--out FILE]
#   --runs N    jobs (default 7); each is a new runner, with an empty tool cache
#   --out FILE  JSON results (default bench/install/results/latest.json)
#
# Each job runs under act on this host and uses the root action twice: the first use
# downloads the release archive from a fake GitHub release (HTTPS, loopback), checks it
# against sha256.sum and caches it; the second finds it in the tool cache. The archive is
# what `dist build` makes (the measurement is tests/install.rs's ignored bench_install).
# Goals: cold < 3 s, cached < 0.5 s (medians); binary < 20 MB stripped.
# Needs: cargo, act, Docker, cargo-dist (scripts/install-deps.sh). All traffic is loopback.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs=7
out="$here/results/latest.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$out")"
cd "$repo"
model="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)"
echo "machine: $(nproc) cores (${model:-unknown CPU}), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "tools: $(act --version), $(dist --version), $(curl --version | head -n 1 | cut -d' ' -f1-2)" >&2
BENCH_INSTALL_RUNS="$runs" BENCH_INSTALL_OUT="$(realpath -m "$out")" \
  cargo test --locked --test integration -- --ignored --exact install::bench_install --nocapture
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "results: $out" >&2
