#!/usr/bin/env bash
# The tool's own overhead in a whole release: `deploy-action run` of the example service
# (examples/hello behind the HAProxy router, on the local engine), against the waits its
# config asks for (the health gate's wait and the drain).
#
# usage: bench/run/run.sh [--runs N] [--out FILE]
#   --runs N    releases, alternating hello:v1 and hello:v2 (default 10)
#   --out FILE  JSON lines, one release each (default bench/run/results/latest.jsonl)
#
# Each release runs every local step: lock (file), approve (tty, --yes), deploy, smoke
# (two checks). Build and scan are left out: they measure Docker and the scanner, not us.
# Reported: the median of the whole run, of the health wait, of the drain, and of the rest
# (the tool's overhead: engine calls, router switch and verify, lock, checks).
# Needs: cargo, docker. Traffic goes to 127.0.0.1 only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs=10
out="$here/results/latest.jsonl"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$repo"
mkdir -p "$(dirname "$out")"
: >"$out"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

cargo build --release --locked --quiet
bin="$repo/target/release/deploy-action"
scripts/build-router-image.sh haproxy >/dev/null
scripts/build-hello-image.sh v1 >/dev/null
scripts/build-hello-image.sh v2 >/dev/null

work="$(mktemp -d)"
service="bench-run-$$"
cleanup() {
  docker ps -aq --filter "label=deploy-action.service=$service" | xargs -r docker rm -f >/dev/null
  docker network rm "deploy-action-$service" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/^service = .*/service = \"$service\"/" \
    -e "s/^listen = .*/listen = \"127.0.0.1:$port\"/" \
    -e "s/^standby = .*/standby = \"15m\"/" \
    examples/hello/deploy.toml >"$work/deploy.toml"
cat >>"$work/deploy.toml" <<TOML

[lock]
dir = "$work/locks"

[approval]
backend = "tty"

[[smoke]]
name = "home"
url = "\${BASE_URL}/"
body_contains = "hello"

[[smoke]]
name = "health"
url = "\${BASE_URL}/health"
TOML

for i in $(seq 1 "$runs"); do
  version=$(( i % 2 == 1 ? 1 : 2 ))
  "$bin" --config "$work/deploy.toml" --json run --image "hello:v$version" --yes >"$work/doc.json"
  python3 - "$work/doc.json" >>"$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["deploy_timings"]
step = {s["name"]: s["duration_ms"] for s in d["steps"]}
print(json.dumps({"version": d["version"], "outcome": d["outcome"], "total_ms": d["duration_ms"],
                  "health_wait_ms": t["health_wait_ms"], "drain_ms": t["drain_ms"],
                  "deploy_ms": t["total_ms"], "smoke_ms": step.get("smoke", 0),
                  "lock_ms": step.get("lock", 0), "unlock_ms": step.get("unlock", 0)}))
PY
  tail -1 "$out" >&2
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["outcome"] == "success" for r in rows), "a release failed"
med = lambda k: statistics.median(r[k] for r in rows)
waits = [r["health_wait_ms"] + r["drain_ms"] for r in rows]
over = [r["total_ms"] - w for r, w in zip(rows, waits)]
print(f"releases: {len(rows)}")
print(f"whole run median {med('total_ms'):.0f} ms; health wait median {med('health_wait_ms'):.0f} ms; drain median {med('drain_ms'):.0f} ms")
print(f"waits (health + drain) median {statistics.median(waits):.0f} ms")
print(f"the tool's own time (run minus waits) median {statistics.median(over):.0f} ms, max {max(over)} ms")
print(f"  of which smoke median {med('smoke_ms'):.0f} ms, lock+unlock median {statistics.median(r['lock_ms']+r['unlock_ms'] for r in rows):.0f} ms")
print(f"ratio run / waits: {statistics.median(r['total_ms']/w for r, w in zip(rows, waits)):.2f}x")
PY
echo "results: $out" >&2
