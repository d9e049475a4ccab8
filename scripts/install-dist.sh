#!/usr/bin/env bash
# Installs cargo-dist (the `dist` binary) at the version dist-workspace.toml names, from
# crates.io. The release workflow uses it on GitHub; the installer's test uses `dist build`
# to make release artifacts exactly as a release publishes them. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
want="$(sed -n 's/^cargo-dist-version *= *"\([^"]*\)".*/\1/p' dist-workspace.toml)"
[ -n "$want" ] || { echo "install-dist: no cargo-dist-version in dist-workspace.toml" >&2; exit 1; }
if command -v dist >/dev/null 2>&1 && [ "$(dist --version 2>/dev/null | cut -d' ' -f2)" = "$want" ]; then
  exit 0
fi
echo "install-dist: cargo install cargo-dist $want (a few minutes on 2 cores)" >&2
cargo install --locked --quiet cargo-dist --version "$want"
