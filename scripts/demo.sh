#!/usr/bin/env bash
# The main job: a real deploy of examples/hello on the local Docker engine, behind a
# HAProxy router the tool runs in a container. Deploys v1, then v2 with zero downtime,
# then prints the URL and the release history.
#
# No registry is reachable on a machine without internet, so this builds every image it
# needs locally: the app (FROM scratch around a static binary) and the router (FROM scratch
# around the host's haproxy).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cargo build --release --locked --quiet
bin=target/release/deploy-action
scripts/build-router-image.sh haproxy >/dev/null
scripts/build-hello-image.sh v1 >/dev/null
scripts/build-hello-image.sh v2 >/dev/null

cd examples/hello
for version in v1 v2; do
  echo "==> deploy-action deploy --image hello:$version"
  "../../$bin" deploy --image "hello:$version"
done
url=$("../../$bin" --json releases | sed -n 's/.*"url": "\([^"]*\)".*/\1/p')
echo "==> $url answers: $(curl -fsS "$url/")"
echo "==> deploy-action releases"
"../../$bin" releases
