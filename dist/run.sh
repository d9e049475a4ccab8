#!/usr/bin/env bash
# The root action's step: `deploy-action <command> <args…>` from the action's inputs, which
# arrive as variables, never pasted into the script. `args` is split on whitespace, without
# interpreting quotes, globs or `$`: every flag can also be set by its DEPLOY_ACTION_* variable.
set -euo pipefail

commands="deploy rollback releases scan build lock approve annotate smoke run"
command="${DEPLOY_ACTION_COMMAND:-}"
case " $commands " in
  *" $command "*) ;;
  *)
    echo "::error title=deploy-action::unknown command '${command//[$'\r\n']/ }': use one of: $commands"
    exit 2
    ;;
esac

args=()
while IFS= read -r line; do
  read -r -a words <<<"$line"
  args+=("${words[@]}")
done <<<"${DEPLOY_ACTION_ARGS:-}"
# Inputs left empty reach the binary as empty variables, which it reads as unset.
exec deploy-action "$command" "${args[@]}"
