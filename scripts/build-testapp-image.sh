#!/usr/bin/env bash
# Builds a deploy-action test image around testapp/ (a static binary, FROM scratch).
#
# usage: scripts/build-testapp-image.sh TAG VERSION [MODE] [--no-healthcheck]
#   TAG      image reference to tag, e.g. deploy-action-testapp:v1
#   VERSION  baked in as APP_VERSION (what / and /version answer)
#   MODE     baked in as APP_MODE: healthy (default), never-healthy,
#            slow-start, crash, error500
#   --no-healthcheck  build from testapp/Dockerfile.nohealthcheck (no Docker
#            HEALTHCHECK, so deploy-action has to probe over HTTP)
#
# The image is labelled deploy-action.test=1. Rerunning is cheap: cargo and
# the docker build cache both skip work that is already done.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

usage() {
  sed -n 's/^# \{0,1\}//; 4,11p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

healthcheck=1
positional=()
for arg in "$@"; do
  case "$arg" in
    --no-healthcheck) healthcheck=0 ;;
    -h | --help) usage ;;
    -*) log "unknown option: $arg"; usage ;;
    *) positional+=("$arg") ;;
  esac
done
if (( ${#positional[@]} < 2 || ${#positional[@]} > 3 )); then
  usage
fi
tag="${positional[0]}"
version="${positional[1]}"
mode="${positional[2]:-healthy}"
case "$mode" in
  healthy | never-healthy | slow-start | crash | error500) ;;
  *) die "unknown MODE '$mode' (expected healthy, never-healthy, slow-start, crash or error500)" ;;
esac

require_docker
app_dir="$REPO_ROOT/testapp"
binary="$(build_static_binary "$app_dir" testapp)"

dockerfile="$app_dir/Dockerfile"
(( healthcheck )) || dockerfile="$app_dir/Dockerfile.nohealthcheck"

ctx="$(new_context)"
trap 'rm -rf "$ctx"' EXIT
cp "$binary" "$ctx/testapp"
cp "$dockerfile" "$ctx/Dockerfile"

log "building image $tag (APP_VERSION=$version APP_MODE=$mode healthcheck=$( (( healthcheck )) && echo yes || echo no))"
image_id="$(docker build --quiet \
  --build-arg "VERSION=$version" \
  --build-arg "MODE=$mode" \
  --label deploy-action.test=1 \
  --label "deploy-action.testapp.version=$version" \
  --label "deploy-action.testapp.mode=$mode" \
  --tag "$tag" \
  "$ctx")"
log "built $tag ($image_id)"
printf '%s\n' "$image_id"
