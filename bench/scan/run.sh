#!/usr/bin/env bash
# The scan gate figure: `deploy-action scan` against jq doing the same severity filter and
# count, side by side in one hyperfine run, on a generated ~100 MB Trivy report; then the
# peak memory (max RSS) of both. Results: docs/benchmarks.md.
#
#   bench/scan/run.sh                  # 100 MB report, 7 timed runs each
#   SIZE_MB=20 RUNS=3 bench/scan/run.sh
#
# Needs python3, jq, hyperfine and GNU time (`apt-get install jq hyperfine time`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size_mb=${SIZE_MB:-100}
runs=${RUNS:-7}
work=${WORK:-${TMPDIR:-/tmp}/deploy-action-scan-bench}
mkdir -p "$work"

for tool in python3 jq hyperfine /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install jq hyperfine time" >&2; exit 2; }
done

bin=${DEPLOY_ACTION_BIN:-$root/target/release/deploy-action}
if [ -z "${DEPLOY_ACTION_BIN:-}" ]; then
    (cd "$root" && cargo build --release --bin deploy-action)
fi

report=$work/trivy-${size_mb}mb.json
[ -f "$report" ] || python3 "$here/generate_trivy.py" --mb "$size_mb" --out "$report"
bytes=$(stat -c %s "$report")

# The same question both ways: how many CRITICAL and HIGH findings does the report hold?
# `scan` answers it as its default policy (fail_on CRITICAL, HIGH) and exits 1 when the
# answer is not 0, so hyperfine is told to accept that exit code.
no_config=$work/no-deploy.toml
jq_filter='[.Results[]?.Vulnerabilities[]? | select(.Severity == "CRITICAL" or .Severity == "HIGH")] | length'
scan_cmd="$bin --config $no_config scan $report"
jq_cmd="jq '$jq_filter' $report"

ours=$({ "$bin" --config "$no_config" --json scan "$report" 2>/dev/null || true; } | jq '.counts.CRITICAL.total + .counts.HIGH.total')
theirs=$(jq "$jq_filter" "$report")
echo "CRITICAL+HIGH findings: scan $ours, jq $theirs"
[ "$ours" = "$theirs" ] || { echo "the two commands disagree" >&2; exit 1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "report: $report, $bytes bytes"
echo "versions: $("$bin" --version), $(jq --version), $(hyperfine --version)"

hyperfine --warmup 1 --runs "$runs" -i \
    --export-json "$work/hyperfine.json" --export-markdown "$work/hyperfine.md" \
    -n "deploy-action scan" "$scan_cmd > /dev/null 2>&1" \
    -n "jq" "$jq_cmd > /dev/null"

median() { jq -r ".results[] | select(.command == \"$1\") | .median" "$work/hyperfine.json"; }
ours_s=$(median "deploy-action scan")
jq_s=$(median "jq")
echo "median: scan ${ours_s}s, jq ${jq_s}s, scan is $(echo "$jq_s / $ours_s" | bc -l | xargs printf '%.1f')x faster"

# `scan` exits 1 here (the report has CRITICAL findings); only its peak memory matters.
rss() { { /usr/bin/time -v "$@" 2>&1 >/dev/null || true; } | sed -n 's/.*Maximum resident set size (kbytes): //p'; }
scan_kb=$(rss "$bin" --config "$no_config" scan "$report")
jq_kb=$(rss jq "$jq_filter" "$report")
echo "peak RSS: scan $((scan_kb / 1024)) MiB ($(echo "$scan_kb * 1024 / $bytes" | bc -l | xargs printf '%.2f')x the report), jq $((jq_kb / 1024)) MiB"
