#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test (unit and
# integration) against the real Docker engine, HAProxy and nginx.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
# Most integration tests wait on containers rather than the CPU: run several at once.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-6}"
cargo test --locked "$@"
