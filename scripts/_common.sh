# shellcheck shell=bash
# Helpers shared by the build-*.sh scripts. Source it; do not run it.

# Repository root, resolved from this file's location (works from any cwd).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# Fails clearly when the docker CLI or the engine is not there.
require_docker() {
  command -v docker >/dev/null 2>&1 \
    || die "docker CLI not found on PATH; install Docker and retry"
  docker info >/dev/null 2>&1 \
    || die "cannot reach the Docker engine (is dockerd running, and may $(id -un) use it? DOCKER_HOST=${DOCKER_HOST:-unset})"
}

# build_static_binary PACKAGE_DIR BIN_NAME
# Builds a statically linked (glibc static-pie) release binary of the Cargo
# package in PACKAGE_DIR into PACKAGE_DIR/target/ and prints its path.
# Cargo skips the build when nothing changed.
build_static_binary() {
  local dir="$1" bin="$2" triple
  command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH; install Rust (rustup) and retry"
  triple="$(rustc -vV | sed -n 's/^host: //p')"
  [[ -n "$triple" ]] || die "cannot tell the host target triple from 'rustc -vV'"
  log "building static binary '$bin' ($triple) from ${dir#"$REPO_ROOT"/}/"
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --quiet --release --locked \
      --manifest-path "$dir/Cargo.toml" \
      --target "$triple" \
      --target-dir "$dir/target" \
      --bin "$bin" >&2
  local out="$dir/target/$triple/release/$bin"
  [[ -x "$out" ]] || die "cargo finished but $out is missing"
  printf '%s\n' "$out"
}

# new_context: prints a fresh temporary directory for a docker build context
# (a minimal one, so nothing else from the repo is sent to the engine).
# The caller removes it (trap).
new_context() {
  mktemp -d "${TMPDIR:-/tmp}/deploy-action-ctx.XXXXXX"
}
