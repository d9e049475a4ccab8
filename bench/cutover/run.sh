#!/usr/bin/env bash
# Cutover benchmark: what a zero-downtime switch costs clients, per router kind.
#
# usage: bench/cutover/run.sh [options]
#   --runs N           repetitions; the report is the median of runs (default 3)
#   --cycles N         cycles per run of `deploy v2`, `deploy v1`, `rollback` (default 10)
#   --routers LIST     comma-separated router kinds, interleaved in each run (default haproxy,nginx)
#   --mode MODE        container: the tool runs the router in a container it owns, reached
#                      through docker-proxy on a published port (default); host: this script
#                      runs the host's haproxy/nginx as a process on loopback with the config
#                      snippet the README gives, and the tool drives it in `mode = "host"`
#   --steady SECONDS   steady-state (no switch) load per run and kind; `match` uses the
#                      length of that run's switch phase (default 30)
#   --load KIND        wrk, open or both (default both): the closed-loop wrk phases, the
#                      open-loop phases (load.rs), or both, one after the other
#   --rate N           open-loop load, requests per second in total (default 1000)
#   --quiet-gap MS     open loop: after each command, MS milliseconds with the load running
#                      and the tool idle; the p99 of the phase is then also compared with that
#                      of the second halves of these gaps, a steady state interleaved with the
#                      switches, so that both see the same drift of a shared machine (the first
#                      halves count with the commands) (default 0: none)
#   --connections N    wrk -c and load.rs --connections (default 8)   --threads N  wrk -t (default 2)
#   --drain DUR        [deploy] drain (default 1s)     --standby DUR  (default 1h)
#   --interval DUR     [health] interval (default 200ms)
#   --health MODE      http: image without HEALTHCHECK, the tool probes /health every
#                      --interval (default); docker: the image's HEALTHCHECK (1s interval)
#   --idle-cycles N    diagnostic: after the steady state, N more cycles with the probe
#                      alone (no wrk), to tell the load's cost from the tool's (default 0)
#   --port N           first loopback port; router kind i listens on N+i (default 18180)
#   --bin PATH         use this deploy-action binary (default: cargo build --release --locked)
#   --out FILE         JSON results (default bench/cutover/results/latest.json)
#   --keep-work        keep the temporary work directory (configs, raw wrk/probe/load data)
#
# For each run and each router kind (in --mode, config written here into a temp dir) it:
# deploys v1 and warms up; then
#  wrk (closed loop): runs `wrk -t2 -c8 --latency` (keep-alive) through the router while 10
#   cycles of deploy v2 / deploy v1 / rollback run; then the same wrk load with no switch
#   (steady state). A probe (bench.py probe) GETs the router URL continuously in both
#   phases, which times each rollback's cutover: from the command's start until every
#   answer comes from the release rolled back to.
#  open (open loop): load.rs, compiled here, sends GET / at a constant --rate over 8
#   keep-alive connections and records every request, its latency counted from the time it
#   was due (so a stall cannot hide, as it does in wrk's closed loop). Three phases: (a) the
#   same cycles (switch phase); (b) control: the same container work on the same schedule
#   (docker run / stop / rm of the app image, bench.py control) without touching the router;
#   (c) steady state. Each command's router-switch window (from the tool's log line "switch
#   traffic and verify" to its next one) is timestamped, and the p99 of the requests due in
#   those windows is reported apart. No probe runs in these phases: the load's own answers
#   (`hello from <version>`) time the rollbacks.
# Reports, per kind, the median of runs: requests, failed requests (non-2xx/3xx + socket
# errors), p99 switching vs steady (and, open loop: in the switch windows, in the control
# phase), rollback cutover, and deploy wall time split into health wait, drain and the tool's
# own overhead. docs/benchmarks.md explains the figures. Everything stays on loopback; every
# load is bounded in time. Only what this script starts is removed: containers labelled
# deploy-action.service=bench-cutover-<kind> (the control's too) and the networks
# deploy-action-bench-cutover-<kind>.
#
# Needs: docker (engine running), cargo, rustc, python3, wrk, curl, flock; the router images
# are built from the host's haproxy/nginx (scripts/build-router-image.sh), the app from testapp/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

runs=3
cycles=10
routers="haproxy,nginx"
mode=container
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
quiet_gap=0
warmup_seconds=3
load=both
rate=1000
# [deploy] values the config and the control phase share.
stop_timeout_s=2
keep_releases=3

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '4,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }
need_value() { (( $2 >= 2 )) || { printf 'run.sh: %s needs a value\n' "$1" >&2; usage; }; }

while (( $# )); do
  case "$1" in
    --runs) need_value "$1" $#; runs="$2"; shift 2 ;;
    --cycles) need_value "$1" $#; cycles="$2"; shift 2 ;;
    --routers) need_value "$1" $#; routers="$2"; shift 2 ;;
    --mode) need_value "$1" $#; mode="$2"; shift 2 ;;
    --steady) need_value "$1" $#; steady="$2"; shift 2 ;;
    --connections) need_value "$1" $#; connections="$2"; shift 2 ;;
    --load) need_value "$1" $#; load="$2"; shift 2 ;;
    --rate) need_value "$1" $#; rate="$2"; shift 2 ;;
    --threads) need_value "$1" $#; threads="$2"; shift 2 ;;
    --drain) need_value "$1" $#; drain="$2"; shift 2 ;;
    --standby) need_value "$1" $#; standby="$2"; shift 2 ;;
    --interval) need_value "$1" $#; interval="$2"; shift 2 ;;
    --health) need_value "$1" $#; health="$2"; shift 2 ;;
    --idle-cycles) need_value "$1" $#; idle_cycles="$2"; shift 2 ;;
    --quiet-gap) need_value "$1" $#; quiet_gap="$2"; shift 2 ;;
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
if ! [[ "$quiet_gap" =~ ^[0-9]+$ ]] || (( quiet_gap > 10000 )); then
  die "--quiet-gap must be a number of milliseconds, at most 10000"
fi
is_uint "$connections" || die "--connections must be a positive integer"
is_uint "$threads" || die "--threads must be a positive integer"
(( connections >= threads )) || die "--connections must be at least --threads (wrk needs one per thread)"
[[ "$steady" == match ]] || is_uint "$steady" || die "--steady must be a number of seconds or 'match'"
if ! [[ "$port_base" =~ ^[0-9]+$ ]] || (( port_base < 1024 || port_base > 65000 )); then
  die "--port must be between 1024 and 65000"
fi
[[ "$health" == http || "$health" == docker ]] || die "--health must be http or docker"
[[ "$mode" == container || "$mode" == host ]] || die "--mode must be container or host"
[[ "$load" == wrk || "$load" == open || "$load" == both ]] || die "--load must be wrk, open or both"
use_wrk=0 use_open=0
[[ "$load" == open ]] || use_wrk=1
[[ "$load" == wrk ]] || use_open=1
{ is_uint "$rate" && (( rate <= 20000 )); } || die "--rate must be an integer from 1 to 20000 (requests per second)"
(( connections <= 256 )) || die "--connections must be at most 256"
if (( use_open )); then
  # load.rs runs at most 3 hours per phase.
  (( cycles * 40 + 30 <= 10800 )) || die "--cycles is too large for the open-loop load (at most 269)"
  [[ "$steady" == match ]] || (( steady <= 10800 )) || die "--steady is too long for the open-loop load (at most 10800)"
fi
[[ "$drain" =~ ^[0-9]+(\.[0-9]+)?(ms|s|m)$ ]] || die "--drain must look like 500ms, 1s or 2m"
IFS=, read -r -a kinds <<<"$routers"
(( ${#kinds[@]} )) || die "--routers is empty"
for k in "${kinds[@]}"; do
  [[ "$k" == haproxy || "$k" == nginx ]] || die "unknown router kind '$k' (haproxy, nginx)"
done

needs=(docker python3 curl flock)
if [[ "$mode" == host ]]; then
  for k in "${kinds[@]}"; do needs+=("$k"); done
fi
(( use_wrk )) && needs+=(wrk)
(( use_open )) && needs+=(rustc)
for c in "${needs[@]}"; do
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
load_bin=""
if (( use_open )); then
  log "building the open-loop load (rustc -O bench/cutover/load.rs)"
  rustc -O --edition 2021 "$here/load.rs" -o "$work/load"
  load_bin="$work/load"
fi

if [[ "$mode" == container ]]; then
  for k in "${kinds[@]}"; do
    log "building router image deploy-action/$k:local"
    "$repo/scripts/build-router-image.sh" "$k" >/dev/null
  done
fi
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
  "rustc": """$(first_line rustc --version)""".strip(),
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
router_table() { # router_table KIND PORT DIR: the [router] keys for --mode
  if [[ "$mode" == container ]]; then
    printf 'kind = "%s"\nmode = "container"\nlisten = "127.0.0.1:%s"\nimage = "deploy-action/%s:local"\n' "$1" "$2" "$1"
  elif [[ "$1" == haproxy ]]; then
    printf 'kind = "haproxy"\nmode = "host"\nadmin_socket = "%s/admin.sock"\nlisten = "127.0.0.1:%s"\n' "$3" "$2"
  else
    printf 'kind = "nginx"\nmode = "host"\nupstream_file = "%s/upstream.conf"\nlisten = "127.0.0.1:%s"\n' "$3" "$2"
    printf 'reload_command = ["%s", "-p", "%s", "-c", "%s/nginx.conf", "-s", "reload"]\n' "$(command -v nginx)" "$3" "$3"
  fi
}

write_config() { # write_config KIND PORT FILE DIR
  local use_hc=false
  [[ "$health" == docker ]] && use_hc=true
  cat >"$3" <<EOF
# Written by bench/cutover/run.sh.
service = "bench-cutover-$1"

[target]
port = 8080

[router]
$(router_table "$1" "$2" "$4")

[health]
use_healthcheck = $use_hc
path = "/health"
interval = "$interval"
successes = 2
deadline = "30s"

[deploy]
drain = "$drain"
standby = "$standby"
keep_releases = $keep_releases
stop_timeout = "${stop_timeout_s}s"
EOF
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_host_router KIND PORT DIR: --mode host: starts the host's router in the background
# with the snippet the README gives (HAProxy: the same settings as the config the tool writes
# in container mode, Haproxy::config_head in src/router/haproxy/mod.rs; keep them alike) and
# waits until it listens. Sets the caller's router_pid.
start_host_router() {
  local kind="$1" port="$2" dir="$3" svc="bench-cutover-$1" i
  if [[ "$kind" == haproxy ]]; then
    cat >"$dir/haproxy.cfg" <<EOF
global
    stats socket $dir/admin.sock mode 600 level admin
    stats timeout 30s

defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-request 15s
    timeout http-keep-alive 60s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend web
    bind 127.0.0.1:$port
    default_backend $svc

backend $svc
    balance roundrobin
    http-response set-header X-Deploy-Backend %si:%sp
$(for i in 1 2 3 4 5 6 7 8; do echo "    use-server s$i if { req.hdr(x-deploy-action-slot) -m str s$i }"; done)
    server-template s 1-8 127.0.0.1:1 disabled
EOF
    haproxy -W -db -f "$dir/haproxy.cfg" >"$dir/router.log" 2>&1 &
    router_pid=$!
  else
    mkdir -p "$dir/logs" "$dir/tmp"
    printf 'upstream %s { server 127.0.0.1:1 down; }\n' "$svc" >"$dir/upstream.conf"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  include $dir/upstream.conf;
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://$svc;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      add_header X-Deploy-Backend \$upstream_addr always;
    }
  }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/router.log" 2>&1 &
    router_pid=$!
  fi
  bg_pids+=("$router_pid")
  for ((i = 0; i < 100; i++)); do
    port_in_use "$port" && return 0
    kill -0 "$router_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/router.log" >&2
  die "the host's $kind did not start listening on 127.0.0.1:$port"
}

# The load: wrk, keep-alive (HTTP/1.1), bounded by -d. Started as a simple command so that
# `$!` is wrk itself: the switch phase stops it with SIGINT, on which wrk prints its report.
wrk_args=(-t"$threads" -c"$connections" --latency -s "$here/report.lua")

# remove_control SERVICE: removes the control phase's containers (labelled by bench.py control).
remove_control() {
  local ids
  ids="$(docker ps -aq --filter "label=deploy-action.service=$1" --filter "label=deploy-action.bench=control")"
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f $ids >/dev/null
  fi
}

# The open-loop load, bounded by --duration; SIGINT ends it earlier, cleanly (it writes its
# records and prints its summary line). Started as a simple command so that `$!` is load itself.
load_args=(--rate "$rate" --connections "$connections")

phases=()
phase() { # phase RUN KIND INDEX
  local run="$1" kind="$2" idx="$3"
  local svc="bench-cutover-$kind" port=$((port_base + idx)) d="$work/run$1-$2"
  local url="http://127.0.0.1:$port/" cfg probe_pid wrk_pid load_pid t0 t1 switch_seconds steady_seconds cap
  local load_before load_after open_before open_after router_pid=""
  local phase_args=()
  mkdir -p "$d"
  cfg="$d/deploy.toml"
  write_config "$kind" "$port" "$cfg" "$d"
  teardown "$svc"
  ! port_in_use "$port" || die "127.0.0.1:$port is already in use; choose another --port"
  if [[ "$mode" == host ]]; then
    log "run $run, $kind: starting the host's $kind on 127.0.0.1:$port"
    start_host_router "$kind" "$port" "$d"
  fi

  ensure_app_images
  log "run $run, $kind: deploy v1 (warm-up)"
  "$bin" --config "$cfg" deploy --image "$app_repo:v1" >"$d/warmup.log" 2>&1 \
    || { cat "$d/warmup.log" >&2; die "warm-up deploy failed ($kind)"; }
  [[ "$(curl -fsS --max-time 5 "$url")" == "hello from v1" ]] || die "$url does not answer 'hello from v1'"
  if (( use_wrk )); then
    wrk "${wrk_args[@]}" -d"${warmup_seconds}s" "$url" >/dev/null
  else
    "$load_bin" "${load_args[@]}" --port "$port" --duration "$warmup_seconds" --out "$d/warmup.csv" >/dev/null
  fi
  cap=$((cycles * (40 + 3 * quiet_gap / 1000 + 3) + 30))

  if (( use_wrk )); then
    # 1. Switches: load + probe, while the cycles run. wrk stops at the cap at the latest.
    load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
    log "run $run, $kind: wrk: $cycles cycles of deploy v2 / deploy v1 / rollback under load"
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
    log "run $run, $kind: wrk: steady state, ${steady_seconds}s (switch phase took ${switch_seconds}s)"
    python3 "$here/bench.py" probe --url "$url" --out "$d/steady-probe.json" --max-seconds $((steady_seconds + 10)) &
    probe_pid=$!; bg_pids+=("$probe_pid")
    wrk "${wrk_args[@]}" -d"${steady_seconds}s" "$url" >"$d/steady-wrk.txt" 2>&1
    stop_bg "$probe_pid" TERM
    load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
    phase_args+=(--steady-wrk "$d/steady-wrk.txt" --steady-probe "$d/steady-probe.json"
      --switch-wrk "$d/switch-wrk.txt" --switch-probe "$d/switch-probe.json"
      --cycles "$d/cycles.json" --load-before "$load_before" --load-after "$load_after")
  fi

  # 3. Optional diagnostic: the cycles again with no load but the probe's.
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
    phase_args+=(--idle-cycles "$d/idle-cycles.json" --idle-probe "$d/idle-probe.json")
  fi

  if (( use_open )); then
    # 4a. Open loop, switches: the same cycles under a constant-rate load.
    open_before="$(cut -d' ' -f1-3 /proc/loadavg)"
    log "run $run, $kind: open loop, $rate req/s: $cycles cycles of deploy v2 / deploy v1 / rollback"
    "$load_bin" "${load_args[@]}" --port "$port" --duration "$cap" --out "$d/open-switch.csv" \
      >"$d/open-switch.json" 2>"$d/open-switch.err" &
    load_pid=$!; bg_pids+=("$load_pid")
    t0=$(date +%s%N)
    sleep 1
    python3 "$here/bench.py" cycles --bin "$bin" --config "$cfg" \
      --v1 "$app_repo:v1" --v2 "$app_repo:v2" --cycles "$cycles" --quiet-ms "$quiet_gap" \
      --out "$d/open-cycles.json" \
      || log "the cycle driver failed; the figures of this phase may be partial"
    sleep 1
    stop_bg "$load_pid" INT
    t1=$(date +%s%N)
    switch_seconds=$(( (t1 - t0) / 1000000000 ))

    # 4b. Control: the same container work on the same schedule, the router untouched.
    log "run $run, $kind: open loop: control, the same container churn without switching (${switch_seconds}s)"
    ensure_app_images
    python3 "$here/bench.py" control-prepare --network "deploy-action-$svc" --service "$svc" \
      --v1 "$app_repo:v1" --v2 "$app_repo:v2" --out "$d/control-state.json"
    "$load_bin" "${load_args[@]}" --port "$port" --duration $((switch_seconds + 30)) --out "$d/open-control.csv" \
      >"$d/open-control.json" 2>"$d/open-control.err" &
    load_pid=$!; bg_pids+=("$load_pid")
    sleep 1
    python3 "$here/bench.py" control --network "deploy-action-$svc" --service "$svc" \
      --v1 "$app_repo:v1" --v2 "$app_repo:v2" --cycles "$d/open-cycles.json" --state "$d/control-state.json" \
      --drain "$drain" --stop-timeout "$stop_timeout_s" --keep "$keep_releases" \
      --max-seconds $((switch_seconds + 20)) --out "$d/control.json" \
      || log "the control driver failed; the figures of this phase may be partial"
    sleep 1
    stop_bg "$load_pid" INT
    remove_control "$svc"

    # 4c. Steady state.
    steady_seconds="$steady"
    [[ "$steady" != match ]] || steady_seconds="$switch_seconds"
    log "run $run, $kind: open loop: steady state, ${steady_seconds}s"
    "$load_bin" "${load_args[@]}" --port "$port" --duration "$steady_seconds" --out "$d/open-steady.csv" \
      >"$d/open-steady.json" 2>"$d/open-steady.err"
    open_after="$(cut -d' ' -f1-3 /proc/loadavg)"
    phase_args+=(--open-switch "$d/open-switch.csv" --open-control "$d/open-control.csv"
      --open-steady "$d/open-steady.csv" --open-cycles "$d/open-cycles.json"
      --open-control-ops "$d/control.json" --rate "$rate" --open-connections "$connections"
      --open-load-before "$open_before" --open-load-after "$open_after")
  fi

  python3 "$here/bench.py" phase --run "$run" --kind "$kind" --drain "$drain" "${phase_args[@]}" \
    --out "$d/phase.json"
  phases+=("$d/phase.json")
  [[ -z "$router_pid" ]] || stop_bg "$router_pid" TERM
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

params="$(printf '{"runs":%d,"cycles":%d,"routers":"%s","mode":"%s","steady":"%s","load":"%s","rate":%d,"connections":%d,"threads":%d,"drain":"%s","standby":"%s","interval":"%s","health":"%s","idle_cycles":%d,"quiet_gap_ms":%d,"wall_seconds":%d}' \
  "$runs" "$cycles" "$routers" "$mode" "$steady" "$load" "$rate" "$connections" "$threads" "$drain" "$standby" "$interval" "$health" "$idle_cycles" "$quiet_gap" $(( $(date +%s) - started )))"
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
  # The open loop's per-request CSVs are large (one line per request): only with --keep-work.
  for f in deploy.toml phase.json switch-wrk.txt steady-wrk.txt cycles.json idle-cycles.json \
    open-cycles.json control.json open-switch.json open-control.json open-steady.json; do
    [[ ! -f "$d/$f" ]] || cp "$d/$f" "$raw/$(basename "$d")/"
  done
done
log "results: $out (summary ${out%.json}.txt, raw files $raw/)"
