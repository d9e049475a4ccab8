#!/usr/bin/env bash
# Smoke benchmark: a run of many checks against one check's latency, and the binary's
# start-up.
#
# usage: bench/smoke/run.sh [--runs N] [--checks N] [--out FILE]
#   --runs N    runs of the whole set (default 5)
#   --checks N  checks per run (default 200)
#   --out FILE  JSON results (default bench/smoke/results/latest.json)
#
# The service is tests/support/web.rs on loopback, answering every request after 50 ms;
# the measurement is tests/bench_smoke.rs (an ignored test, run here in release mode).
# Goals: the run takes at most 3x one check's latency at the default concurrency, and
# `deploy-action --version` starts in under 10 ms. Needs: cargo. All traffic is loopback.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs=5
checks=200
out="$here/results/latest.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --checks) checks="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$out")"
cd "$repo"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
BENCH_SMOKE_RUNS="$runs" BENCH_SMOKE_CHECKS="$checks" BENCH_SMOKE_OUT="$(realpath -m "$out")" \
  cargo test --release --locked --test integration -- --ignored --exact bench_smoke::bench_smoke --nocapture
echo "results: $out" >&2
