#!/usr/bin/env bash
# Build benchmark: `deploy-action build` against `docker build` of the same context, side by
# side in one hyperfine invocation per figure (median of --runs runs, after one warm-up).
#
# usage: bench/build/run.sh [options]
#   --runs N      runs per command (default 7, at least 5)
#   --bin PATH    the deploy-action binary (default: cargo build --release --locked)
#   --out DIR     where hyperfine's JSON and the summary go (default bench/build/results)
#   --keep-work   keep the generated context
#
# The context is a typical Rust service repository: 300 source files (1.2 MB), a 30 MB
# release binary, and an ignored target/debug tree of 2,000 files (40 MB) that must never
# be sent. The Dockerfile is `FROM scratch` + COPY of the binary, the sources and a VERSION
# file. Every image carries deploy-action.bench=build and is removed at the end.
#
# (a) no-op: the context is unchanged. `deploy-action build` finds the image by its context
#     digest and only tags it; `docker build` runs with a warm cache (every step cached).
#     Goal: <= 0.3x docker build's time.
# (b) real build: before each run, hyperfine's --prepare writes a new 30 MB binary, so every
#     COPY runs again. Goal: <= 1.1x docker build's time.
# docker build runs twice in each figure: with the same labels as ours (as `--label` flags,
# the classic builder runs one step per label) and with no labels at all.
#
# Needs: docker (engine running, classic builder: DOCKER_BUILDKIT=0), hyperfine, python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

runs=7
bin=""
out="$here/results"
keep_work=0

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '4,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep-work) keep_work=1; shift ;;
    -h | --help) usage ;;
    *) die "unknown option $1" ;;
  esac
done
((runs >= 5)) || die "--runs must be at least 5"
command -v hyperfine >/dev/null || die "hyperfine is missing (apt-get install hyperfine)"
command -v python3 >/dev/null || die "python3 is missing"
docker info >/dev/null 2>&1 || die "cannot reach the docker engine"

if [[ -z "$bin" ]]; then
  log "building deploy-action (release)"
  cargo build --quiet --release --locked --manifest-path "$repo/Cargo.toml" --bin deploy-action
  bin="$repo/target/release/deploy-action"
fi
[[ -x "$bin" ]] || die "$bin is not an executable"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
mkdir -p "$out"

work="$(mktemp -d "${TMPDIR:-/tmp}/deploy-action-bench-build.XXXXXX")"
image=deploy-action-bench/build
cleanup() {
  local ids
  ids="$(docker images -a -q --filter label=deploy-action.bench=build | sort -u)"
  [[ -z "$ids" ]] || docker rmi -f $ids >/dev/null 2>&1 || true
  ((keep_work)) || rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------------------ the context
ctx="$work/ctx"
log "writing the context in $ctx"
python3 - "$ctx" <<'EOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
def write(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
for i in range(300):
    write(f"src/module_{i // 30}/file_{i}.rs", (f"// file {i}\n" + "fn f() {}\n" * 400).encode())
write("target/x86_64-unknown-linux-gnu/release/app", rng.randbytes(30 * 1024 * 1024))
for i in range(2000):
    write(f"target/debug/deps/obj_{i}.o", rng.randbytes(20 * 1024))
write("Cargo.toml", b"[package]\nname = \"app\"\n")
write("VERSION", b"1.0.0\n")
write(".dockerignore", b"target\n!target/x86_64-unknown-linux-gnu/release/app\n")
write("Dockerfile", b"FROM scratch\nCOPY target/x86_64-unknown-linux-gnu/release/app /app\n"
                    b"COPY src /src\nCOPY VERSION /VERSION\n")
EOF
new_binary="head -c 31457280 /dev/urandom > '$ctx/target/x86_64-unknown-linux-gnu/release/app'"

# The labels `deploy-action build` puts on the image, for the docker build that has them too.
sha="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)"
ours=(env -u GITHUB_ACTIONS CI=true GITHUB_SHA="$sha" "$bin" build --context "$ctx"
  --image "$image" --version v1.0.0 --label deploy-action.bench=build)
docker_labels=(--label deploy-action.bench=build
  --label org.opencontainers.image.revision="$sha"
  --label org.opencontainers.image.version=1.0.0
  --label org.opencontainers.image.created=2026-01-01T00:00:00Z
  --label org.opencontainers.image.title=build
  --label deploy-action.context-digest=sha256:0)
q() { printf '%q ' "$@"; }
cmd_ours="$(q "${ours[@]}") >/dev/null 2>&1"
cmd_docker_labels="DOCKER_BUILDKIT=0 docker build -q $(q "${docker_labels[@]}") -t $image:docker-labels $(q "$ctx") >/dev/null 2>&1"
cmd_docker_plain="DOCKER_BUILDKIT=0 docker build -q --label deploy-action.bench=build -t $image:docker $(q "$ctx") >/dev/null 2>&1"

# ------------------------------------------------------------------------ machine
python3 - "$out/machine.json" <<EOF
import json, sys
json.dump({
  "nproc": int("$(nproc)"),
  "cpu": """$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)""".strip(),
  "mem_total": "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)",
  "kernel": "$(uname -r)",
  "docker_server": "$(docker version --format '{{.Server.Version}}' 2>/dev/null)",
  "docker_client": "$(docker version --format '{{.Client.Version}}' 2>/dev/null)",
  "storage_driver": "$(docker info --format '{{.Driver}}' 2>/dev/null)",
  "deploy_action": "$("$bin" --version)",
  "runs": $runs,
}, open(sys.argv[1], "w"), indent=2)
EOF

# Run where no deploy.toml is: flags only.
cd "$work"

# ------------------------------------------------------------------------ (a) no-op
log "(a) no-op rebuild: warming up both"
eval "$cmd_ours"
eval "$cmd_docker_labels"
eval "$cmd_docker_plain"
hyperfine --style basic --runs "$runs" --warmup 1 \
  --export-json "$out/noop.json" \
  -n "deploy-action build (unchanged)" "$cmd_ours" \
  -n "docker build, warm cache, same labels" "$cmd_docker_labels" \
  -n "docker build, warm cache, no labels" "$cmd_docker_plain"

# ------------------------------------------------------------------------ (b) real build
log "(b) real build: a new binary before every run"
hyperfine --style basic --runs "$runs" --warmup 1 \
  --export-json "$out/build.json" \
  --prepare "$new_binary" \
  -n "deploy-action build" "$cmd_ours" \
  -n "docker build, same labels" "$cmd_docker_labels" \
  -n "docker build, no labels" "$cmd_docker_plain"

# ------------------------------------------------------------------------ summary
python3 - "$out" <<'EOF' | tee "$out/summary.md"
import json, sys, os
out = sys.argv[1]
machine = json.load(open(os.path.join(out, "machine.json")))
print(f"Machine: {machine['cpu']}, {machine['nproc']} cores, {machine['mem_total']}, "
      f"kernel {machine['kernel']}, Docker engine {machine['docker_server']} "
      f"(client {machine['docker_client']}, classic builder, {machine['storage_driver']}); "
      f"{machine['deploy_action']}, median of {machine['runs']} runs.\n")
for name, title, goal in [("noop", "(a) no-op rebuild, unchanged context", 0.3),
                          ("build", "(b) real build, new 30 MB binary", 1.1)]:
    results = json.load(open(os.path.join(out, f"{name}.json")))["results"]
    ours = results[0]["median"]
    print(f"{title}\n")
    print("| command | median | min | max | ours ÷ this |")
    print("|---|---|---|---|---|")
    for r in results:
        ratio = ours / r["median"]
        print(f"| {r['command']} | {r['median']:.3f} s | {r['min']:.3f} s | {r['max']:.3f} s | "
              f"{ratio:.2f}× |")
    print(f"\nGoal: ≤ {goal}× docker build.\n")
EOF
log "results in $out"
