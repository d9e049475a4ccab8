#!/usr/bin/env bash
# Cutover benchmark: what a zero-downtime switch costs clients, per router kind.
#
# usage: bench/cutover/run.sh [options]
#   --runs N           repetitions; the report is the median of runs (default 3)
#   --cycles N         cycles per run of `deploy v2`, `deploy v1`, `rollback` (default 10)
#   --routers LIST     comma-separated router kinds, interleaved in each run (default haproxy,nginx)
#   --steady SECONDS   steady-state (no switch) load per run and kind; `match` uses the
#                      length of that run's switch phase (default 30)
#   --connections N    wrk -c (default 8)      --threads N   wrk -t (default 2)
#   --drain DUR        [deploy] drain (default 1s)     --standby DUR  (default 1h)
#   --interval DUR     [health] interval (default 200ms)
#   --health MODE      http: image without HEALTHCHECK, the tool probes /health every
#                      --interval (default); docker: the image's HEALTHCHECK (1s interval)
#   --idle-cycles N    diagnostic: after the steady state, N more cycles with the probe
#                      alone (no wrk), to tell the load's cost from the tool's (default 0)
#   --port N           first loopback port; router kind i listens on N+i (default 18180)
#   --bin PATH         use this deploy-action binary (default: cargo build --release --locked)
#   --out FILE         JSON results (default bench/cutover/results/latest.json)
#   --keep-work        keep the temporary work directory (configs, raw wrk/probe data)
#
# For each run and each router kind (both `mode = "container"`, config written here into a
# temp dir) it: deploys v1 and warms up; runs `wrk -t2 -c8 --latency` (keep-alive) through
# the router while 10 cycles of deploy v2 / deploy v1 / rollback run; then the same wrk load
# with no switch (steady state). A probe (bench.py probe) GETs the router URL continuously
# in both phases, which times each rollback's cutover: from the command's start until every
# answer comes from the release rolled back to. Reports, per kind, the median of runs:
# requests, failed requests (non-2xx/3xx + socket errors), p99 switching vs steady, rollback
# cutover, and deploy wall time split into health wait, drain and the tool's own overhead.
# docs/benchmarks.md explains the figures. Everything stays on loopback; every load is
# bounded in time. Only what this script starts is removed: containers labelled
# deploy-action.service=bench-cutover-<kind> and the networks deploy-action-bench-cutover-<kind>.
#
# Needs: docker (engine running), cargo, python3, wrk, curl, flock; the router images are built
# from the host's haproxy/nginx (scripts/build-router-image.sh), the app from testapp/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

runs=3
cycles=10
routers="haproxy,nginx"
steady=30
connections=8
threads=2
drain=1s
standby=1h
interval=200ms
health=http
port_base=18180
bin=""
out="$here/results/latest.json"
keep_work=0
idle_cycles=0
warmup_seconds=3

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '4,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }
need_value() { (( $2 >= 2 )) || { printf 'run.sh: %s needs a value\n' "$1" >&2; usage; }; }

while (( $# )); do
  case "$1" in
    --runs) need_value "$1" $#; runs="$2"; shift 2 ;;
    --cycles) need_value "$1" $#; cycles="$2"; shift 2 ;;
    --routers) need_value "$1" $#; routers="$2"; shift 2 ;;
    --steady) need_value "$1" $#; steady="$2"; shift 2 ;;
    --connections) need_value "$1" $#; connections="$2"; shift 2 ;;
    --threads) need_value "$1" $#; threads="$2"; shift 2 ;;
    --drain) need_value "$1" $#; drain="$2"; shift 2 ;;
    --standby) need_value "$1" $#; standby="$2"; shift 2 ;;
    --interval) need_value "$1" $#; interval="$2"; shift 2 ;;
    --health) need_value "$1" $#; health="$2"; shift 2 ;;
    --idle-cycles) need_value "$1" $#; idle_cycles="$2"; shift 2 ;;
    --port) need_value "$1" $#; port_base="$2"; shift 2 ;;
    --bin) need_value "$1" $#; bin="$2"; shift 2 ;;
    --out) need_value "$1" $#; out="$2"; shift 2 ;;
    --keep-work) keep_work=1; shift ;;
    -h | --help) usage ;;
    *) printf 'run.sh: unknown option %s\n' "$1" >&2; usage ;;
  esac
done

is_uint() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 > 0 )); }
is_uint "$runs" || die "--runs must be a positive integer"
is_uint "$cycles" || die "--cycles must be a positive integer"
[[ "$idle_cycles" =~ ^[0-9]+$ ]] || die "--idle-cycles must be a number"
is_uint "$connections" || die "--connections must be a positive integer"
is_uint "$threads" || die "--threads must be a positive integer"
(( connections >= threads )) || die "--connections must be at least --threads (wrk needs one per thread)"
[[ "$steady" == match ]] || is_uint "$steady" || die "--steady must be a number of seconds or 'match'"
if ! [[ "$port_base" =~ ^[0-9]+$ ]] || (( port_base < 1024 || port_base > 65000 )); then
  die "--port must be between 1024 and 65000"
fi
[[ "$health" == http || "$health" == docker ]] || die "--health must be http or docker"
[[ "$drain" =~ ^[0-9]+(\.[0-9]+)?(ms|s|m)$ ]] || die "--drain must look like 500ms, 1s or 2m"
IFS=, read -r -a kinds <<<"$routers"
(( ${#kinds[@]} )) || die "--routers is empty"
for k in "${kinds[@]}"; do
  [[ "$k" == haproxy || "$k" == nginx ]] || die "unknown router kind '$k' (haproxy, nginx)"
done

for c in docker python3 wrk curl flock; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found on PATH (scripts/install-deps.sh installs wrk, curl, haproxy, nginx, socat)"
done
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine"

# One run at a time on this engine: two would tear down each other's services.
lock="${TMPDIR:-/tmp}/deploy-action-bench-cutover.lock"
exec 9>"$lock"
flock -n 9 || die "another bench/cutover/run.sh is running on this machine (lock $lock)"

# ------------------------------------------------------------------ state and cleanup
work="$(mktemp -d "${TMPDIR:-/tmp}/deploy-action-bench-cutover.XXXXXX")"
bg_pids=()
services=()
for k in "${kinds[@]}"; do services+=("bench-cutover-$k"); done

# teardown SERVICE: removes the containers the tool made for SERVICE (it labels every one,
# router included, deploy-action.service=SERVICE) and its managed network. Nothing else.
teardown() {
  local svc="$1" ids
  ids="$(docker ps -aq --filter "label=deploy-action.service=$svc")"
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f $ids >/dev/null
  fi
  if docker network inspect "deploy-action-$svc" >/dev/null 2>&1; then
    docker network rm "deploy-action-$svc" >/dev/null
  fi
}

cleanup() {
  local rc=$? pid svc
  trap - EXIT INT TERM
  for pid in "${bg_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${bg_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for svc in "${services[@]}"; do
    teardown "$svc" || log "could not remove everything of $svc; check: docker ps -a --filter label=deploy-action.service=$svc"
  done
  if (( keep_work )); then
    log "work directory kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_bg PID: ends one background job this script started, and forgets it.
stop_bg() {
  local pid="$1" sig="${2:-TERM}" keep=() p
  kill "-$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${bg_pids[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
  bg_pids=("${keep[@]}")
}

# ------------------------------------------------------------------------- build
if [[ -z "$bin" ]]; then
  log "building deploy-action (cargo build --release --locked)"
  (cd "$repo" && cargo build --release --locked --quiet)
  bin="$repo/target/release/deploy-action"
fi
[[ -x "$bin" ]] || die "deploy-action binary not found: $bin"
# A private copy: others may rebuild target/ while the benchmark runs.
cp "$bin" "$work/deploy-action"
bin="$work/deploy-action"

for k in "${kinds[@]}"; do
  log "building router image deploy-action/$k:local"
  "$repo/scripts/build-router-image.sh" "$k" >/dev/null
done
app_repo=deploy-action-bench/testapp
hc_flag=(--no-healthcheck)
if [[ "$health" == docker ]]; then
  app_repo=deploy-action-bench/testapp-hc
  hc_flag=()
fi
# ensure_app_images: builds the two app images when they are missing. Called before every
# phase too: on a shared engine an image can vanish mid-benchmark (`docker rmi -f <id>` of an
# identical image built under another tag removes ours as well); the build cache makes a
# rebuild take about a second.
ensure_app_images() {
  local v
  for v in v1 v2; do
    if [[ "${1:-}" == force ]] || ! docker image inspect "$app_repo:$v" >/dev/null 2>&1; then
      log "building app image $app_repo:$v"
      "$repo/scripts/build-testapp-image.sh" "$app_repo:$v" "$v" healthy "${hc_flag[@]}" >/dev/null
    fi
  done
}
ensure_app_images force

# ------------------------------------------------------------------------ machine
first_line() { "$@" 2>&1 | head -n 1 || true; }
git_dirty=0
dirty_files="$(git -C "$repo" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | awk '{ print $2 }' | paste -sd' ' -)"
[[ -z "$dirty_files" ]] || git_dirty=1
python3 - "$work/machine.json" <<EOF
import json, sys
json.dump({
  "nproc": int("$(nproc)"),
  "cpu": """$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)""".strip(),
  "mem_total": "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)",
  "kernel": "$(uname -r)",
  "docker": "$(docker version --format '{{.Server.Version}}' 2>/dev/null)",
  "docker_userland_proxy": $(pgrep -x docker-proxy >/dev/null 2>&1 && echo True || echo "None"),
  "haproxy": """$(first_line haproxy -v)""".strip(),
  "nginx": """$(first_line nginx -v)""".strip(),
  "wrk": """$(first_line wrk --version | sed 's/ Copyright.*//')""".strip(),
  "python": "$(python3 -c 'import platform; print(platform.python_version())')",
  "git_commit": "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)",
  "git_dirty": bool($git_dirty),
  "git_dirty_files": "$dirty_files".split(),
  "bin_sha256": "$(sha256sum "$bin" | cut -c1-16)",
  "loadavg_at_start": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "date_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
}, open(sys.argv[1], "w"), indent=1)
EOF

# ------------------------------------------------------------------------- phases
write_config() { # write_config KIND PORT FILE
  local use_hc=false
  [[ "$health" == docker ]] && use_hc=true
  cat >"$3" <<EOF
# Written by bench/cutover/run.sh.
service = "bench-cutover-$1"

[target]
port = 8080

[router]
kind = "$1"
mode = "container"
listen = "127.0.0.1:$2"
image = "deploy-action/$1:local"

[health]
use_healthcheck = $use_hc
path = "/health"
interval = "$interval"
successes = 2
deadline = "30s"

[deploy]
drain = "$drain"
standby = "$standby"
keep_releases = 3
stop_timeout = "2s"
EOF
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The load: wrk, keep-alive (HTTP/1.1), bounded by -d. Started as a simple command so that
# `$!` is wrk itself: the switch phase stops it with SIGINT, on which wrk prints its report.
wrk_args=(-t"$threads" -c"$connections" --latency -s "$here/report.lua")

phases=()
phase() { # phase RUN KIND INDEX
  local run="$1" kind="$2" idx="$3"
  local svc="bench-cutover-$kind" port=$((port_base + idx)) d="$work/run$1-$2"
  local url="http://127.0.0.1:$port/" cfg probe_pid wrk_pid t0 t1 switch_seconds steady_seconds cap
  local load_before load_after
  mkdir -p "$d"
  cfg="$d/deploy.toml"
  write_config "$kind" "$port" "$cfg"
  teardown "$svc"
  ! port_in_use "$port" || die "127.0.0.1:$port is already in use; choose another --port"

  ensure_app_images
  log "run $run, $kind: deploy v1 (warm-up)"
  "$bin" --config "$cfg" deploy --image "$app_repo:v1" >"$d/warmup.log" 2>&1 \
    || { cat "$d/warmup.log" >&2; die "warm-up deploy failed ($kind)"; }
  [[ "$(curl -fsS --max-time 5 "$url")" == "hello from v1" ]] || die "$url does not answer 'hello from v1'"
  wrk "${wrk_args[@]}" -d"${warmup_seconds}s" "$url" >/dev/null

  # 1. Switches: load + probe, while the cycles run. wrk stops at the cap at the latest.
  cap=$((cycles * 40 + 30))
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "run $run, $kind: $cycles cycles of deploy v2 / deploy v1 / rollback under load"
  python3 "$here/bench.py" probe --url "$url" --out "$d/switch-probe.json" --max-seconds $((cap + 10)) &
  probe_pid=$!; bg_pids+=("$probe_pid")
  wrk "${wrk_args[@]}" -d"${cap}s" "$url" >"$d/switch-wrk.txt" 2>&1 &
  wrk_pid=$!; bg_pids+=("$wrk_pid")
  t0=$(date +%s%N)
  sleep 1
  python3 "$here/bench.py" cycles --bin "$bin" --config "$cfg" \
    --v1 "$app_repo:v1" --v2 "$app_repo:v2" --cycles "$cycles" --out "$d/cycles.json" \
    || log "the cycle driver failed; the figures of this phase may be partial"
  sleep 1
  # wrk prints its report (and report.lua's line) on SIGINT, as at the end of -d.
  stop_bg "$wrk_pid" INT
  t1=$(date +%s%N)
  stop_bg "$probe_pid" TERM
  switch_seconds=$(( (t1 - t0) / 1000000000 ))

  # 2. Steady state: the same load, no switch.
  steady_seconds="$steady"
  [[ "$steady" != match ]] || steady_seconds="$switch_seconds"
  log "run $run, $kind: steady state, ${steady_seconds}s (switch phase took ${switch_seconds}s)"
  python3 "$here/bench.py" probe --url "$url" --out "$d/steady-probe.json" --max-seconds $((steady_seconds + 10)) &
  probe_pid=$!; bg_pids+=("$probe_pid")
  wrk "${wrk_args[@]}" -d"${steady_seconds}s" "$url" >"$d/steady-wrk.txt" 2>&1
  stop_bg "$probe_pid" TERM
  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

  # 3. Optional diagnostic: the cycles again with no load but the probe's.
  local idle_args=()
  if (( idle_cycles > 0 )); then
    log "run $run, $kind: $idle_cycles cycles with no load (diagnostic)"
    python3 "$here/bench.py" probe --url "$url" --out "$d/idle-probe.json" --max-seconds $((idle_cycles * 40 + 30)) &
    probe_pid=$!; bg_pids+=("$probe_pid")
    sleep 1
    python3 "$here/bench.py" cycles --bin "$bin" --config "$cfg" \
      --v1 "$app_repo:v1" --v2 "$app_repo:v2" --cycles "$idle_cycles" --out "$d/idle-cycles.json" \
      || log "the cycle driver failed; the figures of this phase may be partial"
    sleep 1
    stop_bg "$probe_pid" TERM
    idle_args=(--idle-cycles "$d/idle-cycles.json" --idle-probe "$d/idle-probe.json")
  fi

  python3 "$here/bench.py" phase --run "$run" --kind "$kind" --drain "$drain" "${idle_args[@]}" \
    --steady-wrk "$d/steady-wrk.txt" --steady-probe "$d/steady-probe.json" \
    --switch-wrk "$d/switch-wrk.txt" --switch-probe "$d/switch-probe.json" \
    --cycles "$d/cycles.json" --load-before "$load_before" --load-after "$load_after" \
    --out "$d/phase.json"
  phases+=("$d/phase.json")
  teardown "$svc"
}

started=$(date +%s)
log "work directory: $work"
for ((run = 1; run <= runs; run++)); do
  # Interleave the kinds, rotating who goes first, so that drift on the machine
  # (other load, thermal, page cache) does not favour one kind.
  n=${#kinds[@]}
  for ((j = 0; j < n; j++)); do
    i=$(( (j + run - 1) % n ))
    phase "$run" "${kinds[$i]}" "$i"
  done
done

params="$(printf '{"runs":%d,"cycles":%d,"routers":"%s","steady":"%s","connections":%d,"threads":%d,"drain":"%s","standby":"%s","interval":"%s","health":"%s","idle_cycles":%d,"wall_seconds":%d}' \
  "$runs" "$cycles" "$routers" "$steady" "$connections" "$threads" "$drain" "$standby" "$interval" "$health" "$idle_cycles" $(( $(date +%s) - started )))"
mkdir -p "$(dirname "$out")"
python3 "$here/bench.py" summarize --machine "$work/machine.json" --params "$params" \
  --out "$out" --text-out "${out%.json}.txt" "${phases[@]}"
# The small raw files (wrk output, per-command JSON, configs) beside the results.
raw="${out%.json}-raw"
rm -rf "$raw"
mkdir -p "$raw"
for p in "${phases[@]}"; do
  d="$(dirname "$p")"
  mkdir -p "$raw/$(basename "$d")"
  cp "$d"/{deploy.toml,switch-wrk.txt,steady-wrk.txt,cycles.json,phase.json} "$raw/$(basename "$d")/"
  [[ ! -f "$d/idle-cycles.json" ]] || cp "$d/idle-cycles.json" "$raw/$(basename "$d")/"
done
log "results: $out (summary ${out%.json}.txt, raw files $raw/)"
