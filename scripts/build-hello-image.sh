#!/usr/bin/env bash
# Builds the example service image hello:VERSION from examples/hello/.
#
# usage: scripts/build-hello-image.sh VERSION
#   VERSION  image tag, and what the service reports (APP_VERSION)
#
# Compiles a static binary with cargo, then runs `docker build` on
# examples/hello (its .dockerignore sends only that binary).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

if (( $# != 1 )) || [[ "$1" == -* ]]; then
  sed -n 's/^# \{0,1\}//; 4,5p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
version="$1"

require_docker
app_dir="$REPO_ROOT/examples/hello"
binary="$(build_static_binary "$app_dir" hello)"
triple="$(basename "$(dirname "$(dirname "$binary")")")"

log "building image hello:$version"
image_id="$(docker build --quiet \
  --build-arg "TARGET=$triple" \
  --build-arg "VERSION=$version" \
  --label "org.opencontainers.image.title=hello" \
  --label "org.opencontainers.image.version=$version" \
  --tag "hello:$version" \
  "$app_dir")"
log "built hello:$version ($image_id)"
printf '%s\n' "$image_id"
