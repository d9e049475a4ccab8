#!/usr/bin/env bash
# What, at the moment of a switch, costs the clients: the router change itself, or the
# engine and process work around it? A diagnostic beside run.sh.
#
# usage: bench/cutover/isolate.sh [--rounds N] [--seconds S] [--port N] [--bin PATH]
#   --rounds N    repetitions of the whole sequence of phases; medians are reported (default 3)
#   --seconds S   length of each phase (default 8); one event every 0.5 s in it
#   --port N      loopback port the router listens on (default 18195)
#   --bin PATH    deploy-action binary (default: cargo build --release --locked)
#
# It deploys v1 then v2 of the benchmark app behind a HAProxy router container (service
# `bench-isolate`, so v1 stays running as the standby), puts the open-loop load of load.rs on
# the router (1000 req/s, 8 keep-alive connections), and runs these phases in turn, each
# event every 0.5 s:
#   idle     nothing
#   switch   the tool's switch without the tool: in one call over a runtime API session held
#            open (`docker exec -i <router> socat`, opened before the load starts), put the
#            slot drained at the previous event in maintenance, fill a free slot with the
#            other release's address, make it ready and drain the serving one: what a deploy
#            does to HAProxy
#   inspect  one container inspect (GET /containers/<id>/json on the engine's socket)
#   spawn    one process started on the host (`/bin/true`)
#   exec     one `docker exec <router> socat -V` (the engine starts a process in the router)
# and reports, per phase, the p99 of all requests and of the requests due in the 30 ms after
# each event, against idle. Everything is on 127.0.0.1 and bounded in time; it removes only
# what it made (containers labelled deploy-action.service=bench-isolate and the network
# deploy-action-bench-isolate), on success, failure and interrupt.
#
# Needs: docker, cargo, rustc, python3 (socat runs inside the router image, built by
# scripts/build-router-image.sh from the host's haproxy and socat).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

rounds=3 seconds=8 port=18195 bin=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "isolate.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$rounds" "$seconds" "$port"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]] || { echo "isolate.sh: $v is not a positive integer" >&2; exit 2; }
done

service=bench-isolate
work="$(mktemp -d -t deploy-action-isolate.XXXXXX)"
cleanup() {
  docker ps -aq --filter "label=deploy-action.service=$service" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker network rm "deploy-action-$service" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
mkdir -p "$work"

if [[ -z "$bin" ]]; then
  (cd "$repo" && cargo build --release --locked -q)
  bin="$repo/target/release/deploy-action"
fi
rustc -O --edition 2021 "$here/load.rs" -o "$work/load"
"$repo/scripts/build-router-image.sh" haproxy >/dev/null
for v in v1 v2; do
  docker image inspect "deploy-action-bench/testapp:$v" >/dev/null 2>&1 ||
    "$repo/scripts/build-testapp-image.sh" "deploy-action-bench/testapp:$v" "$v" healthy --no-healthcheck >/dev/null
done

cat >"$work/deploy.toml" <<EOF
# Written by bench/cutover/isolate.sh.
service = "$service"

[target]
port = 8080

[router]
kind = "haproxy"
mode = "container"
listen = "127.0.0.1:$port"
image = "deploy-action/haproxy:local"

[health]
use_healthcheck = false
path = "/health"
interval = "200ms"

[deploy]
drain = "300ms"
standby = "1h"
EOF
for v in v1 v2; do
  "$bin" --config "$work/deploy.toml" deploy --image "deploy-action-bench/testapp:$v" >/dev/null 2>"$work/deploy-$v.log" ||
    { cat "$work/deploy-$v.log" >&2; exit 1; }
done

python3 "$here/isolate.py" --load "$work/load" --port "$port" --router "$service-router" \
  --backend "$service" --rounds "$rounds" --seconds "$seconds" --work "$work"
