#!/usr/bin/env bash
# Puts the deploy-action binary on PATH for the rest of the job; every action runs it first.
#
# Which binary:
#   1. DEPLOY_ACTION_BIN, when set: that file (local runs, act, tests).
#   2. The action's ref is a release (`v1.2.3`, or `v1`, the major tag moved to the newest
#      stable release): the release asset for this runner's OS and CPU from this repository's
#      GitHub Release `v<version>` (the version of the Cargo.toml beside this script), over
#      HTTPS only, with retries, checked against the release's sha256.sum before anything
#      runs. A checksum that does not match, or is missing, fails closed. Cached in the tool
#      cache ($RUNNER_TOOL_CACHE/deploy-action/<version>/<arch>), so a second use is instant.
#   3. Any other ref (a branch, a commit): built from this source with `cargo build --locked`,
#      kept in $RUNNER_TEMP for the rest of the job.
#
# Reads: DEPLOY_ACTION_REF, DEPLOY_ACTION_REPOSITORY (github.action_ref and
# github.action_repository; else taken from GITHUB_ACTION_PATH), GITHUB_SERVER_URL,
# RUNNER_TOOL_CACHE, RUNNER_TEMP, RUNNER_OS, RUNNER_ARCH. Writes: the binary's directory to
# $GITHUB_PATH, and the output `path`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=$(date +%s%N)

fail() {
  echo "::error title=deploy-action install::$*"
  exit 1
}

# One line of text from a variable, safe inside a workflow command.
clean() {
  local s="${1//[$'\r\n']/ }"
  printf '%s' "${s//%/%25}"
}

# Adds the directory holding `deploy-action` to PATH, for later steps and this one.
use() {
  local bin="$1" how="$2"
  local dir
  dir="$(dirname "$bin")"
  if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$dir" >>"$GITHUB_PATH"
  fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "path=$bin" >>"$GITHUB_OUTPUT"
  fi
  local ms=$((($(date +%s%N) - started) / 1000000))
  echo "deploy-action $("$bin" --version | cut -d' ' -f2) $how in ${ms} ms: $bin"
  echo "::endgroup::"
  exit 0
}

echo "::group::Install deploy-action"

# 1. A binary named by the caller.
if [ -n "${DEPLOY_ACTION_BIN:-}" ]; then
  if ! [ -f "$DEPLOY_ACTION_BIN" ] || ! [ -x "$DEPLOY_ACTION_BIN" ]; then
    fail "DEPLOY_ACTION_BIN=$(clean "$DEPLOY_ACTION_BIN") is not an executable file"
  fi
  bin="$(cd "$(dirname "$DEPLOY_ACTION_BIN")" && pwd)/$(basename "$DEPLOY_ACTION_BIN")"
  if [ "$(basename "$bin")" != deploy-action ]; then
    # Later steps call `deploy-action`: give it that name.
    link_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-action-bin"
    mkdir -p "$link_dir"
    ln -sf "$bin" "$link_dir/deploy-action"
    bin="$link_dir/deploy-action"
  fi
  use "$bin" "from DEPLOY_ACTION_BIN"
fi

version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)"
[ -n "$version" ] || fail "no version in $root/Cargo.toml"

# The ref and repository of the action: given, else from its path under _actions/OWNER/REPO/REF.
ref="${DEPLOY_ACTION_REF:-}"
repository="${DEPLOY_ACTION_REPOSITORY:-}"
if [ -z "$ref" ] || [ -z "$repository" ]; then
  case "$root" in
    */_actions/*/*/*)
      rest="${root#*/_actions/}"
      owner="${rest%%/*}"
      rest="${rest#*/}"
      name="${rest%%/*}"
      rest="${rest#*/}"
      ref="${ref:-${rest%%/*}}"
      repository="${repository:-$owner/$name}"
      ;;
  esac
fi

# A release ref: v<version> itself, or a major or minor tag that the version is under.
release=""
if [[ "$ref" =~ ^v[0-9]+(\.[0-9]+){0,2}$ ]] && [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  case "v$version" in
    "$ref" | "$ref".*) release="v$version" ;;
  esac
fi

# 3. Not a release: build this source.
if [ -z "$release" ]; then
  echo "::notice title=deploy-action::the action's ref '$(clean "${ref:-unknown}")' is not a release tag (v<major>[.<minor>[.<patch>]] of version $version): building deploy-action from source with cargo build --locked"
  out="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-action-src"
  if [ -x "$out/release/deploy-action" ]; then
    use "$out/release/deploy-action" "built earlier in this job"
  fi
  command -v cargo >/dev/null 2>&1 ||
    fail "building from source needs cargo (a Rust toolchain); use a release tag of the action (@v1), or set DEPLOY_ACTION_BIN"
  cargo build --locked --release --quiet --manifest-path "$root/Cargo.toml" --target-dir "$out" ||
    fail "cargo build --locked failed"
  use "$out/release/deploy-action" "built from source"
fi

# 2. A release: this runner's asset.
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$arch" in
  X64 | x86_64 | amd64) cpu=x86_64 ;;
  ARM64 | arm64 | aarch64) cpu=aarch64 ;;
  *) fail "no release of deploy-action for the CPU $(clean "$arch"): build it from source (use a branch ref) or set DEPLOY_ACTION_BIN" ;;
esac
case "$os" in
  Linux | linux)
    # glibc where there is one (every GitHub-hosted runner); the static musl build elsewhere.
    if ldd --version 2>&1 | grep -qiE 'glibc|gnu libc'; then
      triple="$cpu-unknown-linux-gnu"
    else
      triple="$cpu-unknown-linux-musl"
    fi
    ;;
  macOS | Darwin) triple="$cpu-apple-darwin" ;;
  *) fail "no release of deploy-action for $(clean "$os"): build it from source (use a branch ref) or set DEPLOY_ACTION_BIN" ;;
esac
asset="deploy-action-$triple.tar.xz"

cache_root="${RUNNER_TOOL_CACHE:-${HOME}/.cache/deploy-action-tools}/deploy-action/$version"
cache="$cache_root/$cpu"
if [ -f "$cache_root/$cpu.complete" ] && [ -x "$cache/deploy-action" ]; then
  use "$cache/deploy-action" "from the tool cache"
fi

[ -n "$repository" ] || fail "cannot tell which repository the action comes from (DEPLOY_ACTION_REPOSITORY)"
server="${GITHUB_SERVER_URL:-https://github.com}"
case "$server" in
  https://*) ;;
  *) fail "refusing to download over anything but HTTPS: GITHUB_SERVER_URL=$(clean "$server")" ;;
esac
base="${server%/}/$repository/releases/download/$release"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() {
  curl --proto '=https' --tlsv1.2 -fsSL --retry 5 --retry-delay 1 --retry-all-errors \
    --connect-timeout 10 --max-time 300 -o "$work/$1" "$base/$1" ||
    fail "cannot download $base/$1"
}
fetch sha256.sum
fetch "$asset"

expected="$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$work/sha256.sum")"
[ -n "$expected" ] || fail "$asset is not in the release's sha256.sum: not running it"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$work/$asset" | cut -d' ' -f1)"
else
  actual="$(shasum -a 256 "$work/$asset" | cut -d' ' -f1)"
fi
[ "$actual" = "$expected" ] ||
  fail "$asset does not match the release's sha256.sum (expected $expected, got $actual): not running it"

tar -xJf "$work/$asset" -C "$work" || fail "cannot unpack $asset"
unpacked="$work/deploy-action-$triple/deploy-action"
[ -f "$unpacked" ] || fail "$asset holds no deploy-action-$triple/deploy-action"
mkdir -p "$cache"
install -m 0755 "$unpacked" "$cache/deploy-action.tmp"
mv -f "$cache/deploy-action.tmp" "$cache/deploy-action"
touch "$cache_root/$cpu.complete"
use "$cache/deploy-action" "downloaded from $release and verified"
