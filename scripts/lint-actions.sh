#!/usr/bin/env bash
# Lints the actions and the workflows; any finding fails.
# - check-jsonschema: every action.yml against GitHub's action schema, every workflow against
#   the workflow schema.
# - zizmor: the security audits (script injection, unpinned actions, credentials, ...), offline.
# - actionlint: the workflows (it reads no action.yml), with ShellCheck on their scripts.
# - ShellCheck: the actions' own bash steps, which nothing else reads, and the scripts in
#   dist/ and scripts/.
# scripts/install-deps.sh installs the tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shopt -s nullglob

actions=(action.yml actions/*/action.yml)
workflows=(workflows/*.yml workflows/*.yaml .github/workflows/*.yml .github/workflows/*.yaml)

echo "lint: check-jsonschema" >&2
check-jsonschema --builtin-schema vendor.github-actions "${actions[@]}"
if ((${#workflows[@]})); then
  check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
fi

echo "lint: zizmor" >&2
# --offline: the audits that ask GitHub's API about remote refs cannot run here.
zizmor --offline --quiet --no-progress "${actions[@]}" "${workflows[@]}"

echo "lint: actionlint" >&2
# release.yml is cargo-dist's, kept exactly as `dist generate` writes it (`dist generate
# --check` in .ci/run): on it alone, ShellCheck's notes on quoting (SC2086, info) and on
# grouping redirects (SC2129, style) are waived. Every other finding, there too, fails.
generated=.github/workflows/release.yml
ours=()
for workflow in "${workflows[@]}"; do
  [ "$workflow" = "$generated" ] || ours+=("$workflow")
done
shellcheck_bin="$(command -v shellcheck)"
if ((${#ours[@]})); then
  actionlint -shellcheck="$shellcheck_bin" "${ours[@]}"
fi
if [ -f "$generated" ]; then
  actionlint -shellcheck="$shellcheck_bin" -ignore 'SC2086:info:' -ignore 'SC2129:style:' "$generated"
fi

echo "lint: shellcheck" >&2
steps="$(mktemp -d)"
trap 'rm -rf "$steps"' EXIT
# Each `run:` of each action, as the bash script the runner writes for it.
python3 - "$steps" "${actions[@]}" <<'PY'
import pathlib
import sys

from ruamel.yaml import YAML

out = pathlib.Path(sys.argv[1])
for path in sys.argv[2:]:
    with open(path) as f:
        action = YAML(typ="safe").load(f)
    for number, step in enumerate(action["runs"]["steps"], start=1):
        if "run" not in step:
            continue
        if step.get("shell") != "bash":
            sys.exit(f"{path}: step {number} runs without `shell: bash`")
        name = f"{path.replace('/', '__')}.step{number}.bash"
        header = f"#!/usr/bin/env bash\n# {path}, step {number}\n"
        (out / name).write_text(header + step["run"])
PY
shellcheck "$steps"/*.bash dist/*.sh scripts/*.sh .ci/run

echo "lint: ok" >&2
