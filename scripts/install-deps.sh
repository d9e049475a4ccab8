#!/usr/bin/env bash
# Installs what deploy-action's demo and tests need on a fresh Debian machine:
# Debian's haproxy and nginx (the routers; their binaries also go into the router images),
# openssh (the tests reach the engine over ssh://),
# socat (the HAProxy runtime API client inside the router image) and wrk (benchmarks).
# Idempotent: does nothing when everything is there.
set -euo pipefail

need=()
for pair in haproxy:haproxy nginx:nginx socat:socat wrk:wrk curl:curl sshd:openssh-server ssh-agent:openssh-client docker-registry:docker-registry; do
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
