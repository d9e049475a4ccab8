#!/usr/bin/env bash
# Puts the deploy-action binary on PATH for the rest of the job; every action runs it first.
#
# Which binary, in this order:
#   1. DEPLOY_ACTION_BIN, when set: that file (local runs, act, tests).
#   2. The action's ref is a release: `v<version>` of the Cargo.toml beside this script, or the
#      major (`v1`) or minor (`v1.2`) tag over it. The asset cargo-dist published for this
#      runner's OS and CPU (deploy-action-<target>.tar.xz) comes from this repository's GitHub
#      Release v<version>, over HTTPS only, with retries, and is checked against the release's
#      sha256.sum before anything runs: a checksum that differs or is missing fails closed.
#      It is kept in the tool cache ($RUNNER_TOOL_CACHE/deploy-action/<version>/<arch>, laid
#      out as @actions/tool-cache does), so a second use in the job downloads nothing.
#   3. Any other ref (a branch, a commit): built from this source with `cargo build --locked`,
#      kept in $RUNNER_TEMP for the rest of the job.
#
# Reads DEPLOY_ACTION_BIN, DEPLOY_ACTION_REF and DEPLOY_ACTION_REPOSITORY (github.action_ref
# and github.action_repository; else taken from the action's path, _actions/OWNER/REPO/REF),
# GITHUB_SERVER_URL, RUNNER_TOOL_CACHE, RUNNER_TEMP, RUNNER_OS, RUNNER_ARCH. Writes the
# binary's directory to $GITHUB_PATH and the step output `path` (the binary).
#
# Runs on the bash of every GitHub runner, macOS's 3.2 included. Sends no token anywhere.
set -euo pipefail

# The release's gnu builds are linked on ubuntu-22.04 (glibc 2.35); an older glibc, or none
# (Alpine), gets the static musl build, which runs on any Linux kernel.
min_glibc=2.35

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

now_ms() {
  local ns
  ns="$(date +%s%N)"
  case "$ns" in
    *[!0-9]*) echo 0 ;; # no %N (macOS): timings read 0
    *) echo $((ns / 1000000)) ;;
  esac
}
started="$(now_ms)"

# One line of text, safe as the message of a workflow command.
clean() {
  local s="${1//[$'\r\n']/ }"
  printf '%s' "${s//%/%25}"
}

fail() {
  echo "::endgroup::"
  echo "::error title=deploy-action install::$(clean "$*")"
  exit 1
}

# Puts the directory holding `deploy-action` on PATH, for later steps and this one, and ends.
use() {
  local bin="$1" how="$2" dir version
  dir="$(dirname "$bin")"
  if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$dir" >>"$GITHUB_PATH"
  fi
  export PATH="$dir:$PATH"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "path=$bin" >>"$GITHUB_OUTPUT"
  fi
  version="$("$bin" --version 2>&1)" || fail "$bin does not run: $version"
  echo "$version $how in $(($(now_ms) - started)) ms: $bin"
  echo "::endgroup::"
  exit 0
}

echo "::group::Install deploy-action"

# 1. A binary named by the caller.
if [ -n "${DEPLOY_ACTION_BIN:-}" ]; then
  given="$DEPLOY_ACTION_BIN"
  { [ -f "$given" ] && [ -x "$given" ]; } ||
    fail "DEPLOY_ACTION_BIN=$given is not an executable file"
  bin="$(cd "$(dirname "$given")" && pwd)/$(basename "$given")"
  if [ "$(basename "$bin")" != deploy-action ]; then
    # Later steps call `deploy-action`: give it that name.
    link_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-action-bin"
    mkdir -p "$link_dir"
    ln -sf "$bin" "$link_dir/deploy-action"
    bin="$link_dir/deploy-action"
  fi
  use "$bin" "from DEPLOY_ACTION_BIN=$given"
fi

version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)"
[ -n "$version" ] || fail "no version in $root/Cargo.toml"

# The action's ref and repository: given, else from its path, .../_actions/OWNER/REPO/REF[/…].
ref="${DEPLOY_ACTION_REF:-}"
repository="${DEPLOY_ACTION_REPOSITORY:-}"
if [ -z "$ref" ] || [ -z "$repository" ]; then
  case "${GITHUB_ACTION_PATH:-$root}" in
    */_actions/*/*/*)
      rest="${GITHUB_ACTION_PATH:-$root}"
      rest="${rest##*/_actions/}"
      owner="${rest%%/*}"
      rest="${rest#*/}"
      name="${rest%%/*}"
      rest="${rest#*/}"
      ref="${ref:-${rest%%/*}}"
      repository="${repository:-$owner/$name}"
      ;;
  esac
fi

# A release ref is v<version> itself, or a major or minor tag of a stable version over it.
# A ref shaped like a release tag that disagrees with the Cargo.toml at that ref is a
# mistake in the tags: fail rather than guess.
release=""
if [ "$ref" = "v$version" ]; then
  release="v$version"
elif [[ "$ref" =~ ^v[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?$ ]]; then
  case "v$version" in
    "$ref".*) [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && release="v$version" ;;
  esac
  [ -n "$release" ] ||
    fail "the action's ref $ref looks like a release tag, but its Cargo.toml says version $version (release v$version): use @v$version, or a major tag that points at it"
fi

# 3. Not a release: build this source.
if [ -z "$release" ]; then
  echo "::notice title=deploy-action::$(clean "the action's ref '${ref:-unknown}' is not a release (v$version, or its major or minor tag), so there is no release binary for it: building deploy-action from source with cargo build --locked --release")"
  out="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-action-src"
  if [ -x "$out/release/deploy-action" ]; then
    use "$out/release/deploy-action" "built from source earlier in this job"
  fi
  command -v cargo >/dev/null 2>&1 ||
    fail "building deploy-action from source needs cargo (a Rust toolchain, e.g. dtolnay/rust-toolchain) on the runner; or use a release of the action (@v1), or set DEPLOY_ACTION_BIN to a binary"
  cargo build --locked --release --manifest-path "$root/Cargo.toml" --target-dir "$out" ||
    fail "cargo build --locked --release failed in $root"
  use "$out/release/deploy-action" "built from source"
fi

# 2. A release: this runner's asset.
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
# cpu names the target triple; tool is the tool cache's name for it (Node's os.arch()).
case "$arch" in
  X64 | x64 | x86_64 | amd64) cpu=x86_64 tool=x64 ;;
  ARM64 | arm64 | aarch64) cpu=aarch64 tool=arm64 ;;
  *) fail "deploy-action has no release binary for the CPU $arch: set DEPLOY_ACTION_BIN, or use a branch of the action to build it from source" ;;
esac
case "$os" in
  Linux | linux)
    glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null || true)" # "glibc 2.36", or nothing on musl
    glibc="${glibc#glibc }"
    if [[ "$glibc" =~ ^[0-9]+\.[0-9]+ ]] &&
      [ "$(printf '%s\n%s\n' "$min_glibc" "$glibc" | sort -t. -k1,1n -k2,2n | head -n 1)" = "$min_glibc" ]; then
      triple="$cpu-unknown-linux-gnu"
    else
      triple="$cpu-unknown-linux-musl"
    fi
    ;;
  macOS | Darwin) triple="$cpu-apple-darwin" ;;
  *) fail "deploy-action has no release binary for $os: set DEPLOY_ACTION_BIN, or use a branch of the action to build it from source" ;;
esac
asset="deploy-action-$triple.tar.xz"

tools="${RUNNER_TOOL_CACHE:-${HOME}/.cache/deploy-action-tools}/deploy-action/$version"
cache="$tools/$tool"
if [ -f "$tools/$tool.complete" ] && [ -x "$cache/deploy-action" ]; then
  use "$cache/deploy-action" "from the tool cache"
fi

[ -n "$repository" ] || fail "cannot tell which repository the action comes from: set DEPLOY_ACTION_REPOSITORY to github.action_repository"
server="${GITHUB_SERVER_URL:-https://github.com}"
case "$server" in
  https://*) ;;
  *) fail "refusing to download deploy-action over anything but HTTPS: GITHUB_SERVER_URL=$server" ;;
esac
base="${server%/}/$repository/releases/download/$release"

work="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-action-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# HTTPS only, redirects included (GitHub sends release assets from another host); TLS 1.2 or
# newer; retried on connection failures, timeouts and 5xx, not on a 404.
download() {
  echo "GET $base/$1"
  curl --proto '=https' --tlsv1.2 -fsSL --retry 5 --retry-connrefused --connect-timeout 10 \
    --max-time 300 -o "$work/$1" "$base/$1" ||
    fail "cannot download $base/$1 (curl exit $?): is $release published with $1?"
}
download sha256.sum
download "$asset"

expected="$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$work/sha256.sum")"
[ -n "$expected" ] || fail "$asset is not in the sha256.sum of $release: not running it"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$work/$asset")"
else
  actual="$(shasum -a 256 "$work/$asset")"
fi
actual="${actual%% *}"
[ "$actual" = "$expected" ] ||
  fail "$asset does not match the sha256.sum of $release (expected $expected, got $actual): not running it"
echo "sha256 $actual $asset: matches sha256.sum"

# Only the one member: nothing else in the archive is unpacked.
member="deploy-action-$triple/deploy-action"
tar -xJf "$work/$asset" -C "$work" "$member" ||
  fail "cannot unpack $member from $asset (tar with xz support is needed)"
rm -rf "$cache" "$tools/$tool.complete"
mkdir -p "$cache"
install -m 0755 "$work/$member" "$cache/deploy-action"
touch "$tools/$tool.complete"
use "$cache/deploy-action" "downloaded from release $release, verified and cached"
