#!/usr/bin/env bash
# Lock and approval benchmark: API calls that cost GitHub rate limit, and the handoff from
# a release to the next waiter's acquire.
#
# usage: bench/lock/run.sh [--runs N] [--out FILE]
#   --runs N    samples for the uncontended acquire and the handoffs (default 20)
#   --out FILE  JSON results (default bench/lock/results/latest.json)
#
# Everything runs against the in-process fake GitHub of tests/support/github (GitHub cannot
# be reached from here) and, for the file backend, a temporary directory. The measurement
# itself is tests/bench_lock.rs (an ignored test, run here in release mode); its header
# explains the time scaling that makes "calls per hour" take 3 minutes. Takes about 8 min.
# Needs: cargo. Touches nothing outside its temporary directories; all traffic is loopback.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs=20
out="$here/results/latest.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$out")"
cd "$repo"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
BENCH_LOCK_RUNS="$runs" BENCH_LOCK_OUT="$(realpath -m "$out")" \
  cargo test --release --locked --test integration -- --ignored --exact bench_lock::bench_lock --nocapture
echo "results: $out" >&2
