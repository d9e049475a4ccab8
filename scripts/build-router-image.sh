#!/usr/bin/env bash
# Builds a router image FROM scratch out of the host's own haproxy or nginx.
#
# usage: scripts/build-router-image.sh haproxy|nginx [TAG]
#   TAG  defaults to deploy-action/haproxy:local or deploy-action/nginx:local
#
# The image holds the host's binary, every shared library it loads (from ldd,
# dynamic loader included) and socat (HAProxy's runtime API is reached with
# `docker exec <router> socat stdio unix-connect:/var/lib/haproxy/admin.sock`).
# It is laid out like the upstream images as far as deploy-action needs:
#   haproxy: /usr/local/sbin/haproxy, config /usr/local/etc/haproxy/haproxy.cfg,
#            state dir /var/lib/haproxy (owned by haproxy), STOPSIGNAL SIGUSR1,
#            ENTRYPOINT ["haproxy"] CMD ["-W","-db","-f",".../haproxy.cfg"]
#   nginx:   /usr/sbin/nginx, config /etc/nginx/nginx.conf (+ mime.types,
#            conf.d/), the binary's compiled-in temp/log/pid paths,
#            STOPSIGNAL SIGQUIT, ENTRYPOINT ["nginx"] CMD ["-g","daemon off;"]
# Both bake a minimal default config that answers 503 on port 80, so the
# image starts alone; deploy-action uploads its own before it starts one.
# Requires: docker, ldd, and the host packages haproxy or nginx, and socat.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

usage() {
  sed -n 's/^# \{0,1\}//; 4,5p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

(( $# >= 1 && $# <= 2 )) || usage
kind="$1"
case "$kind" in
  haproxy | nginx) ;;
  -h | --help) usage ;;
  *) log "unknown router '$kind'"; usage ;;
esac
tag="${2:-deploy-action/$kind:local}"

require_docker
command -v ldd >/dev/null 2>&1 || die "ldd not found (it comes with the C library's tools)"

# find_host_binary NAME PACKAGE: the host's binary, found on PATH or in sbin.
find_host_binary() {
  local name="$1" package="$2" path
  path="$(PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$name" || true)"
  [[ -n "$path" && -x "$path" ]] \
    || die "'$name' not found on this host; install it first: apt-get install -y $package"
  readlink -f "$path"
}

ctx="$(new_context)"
trap 'rm -rf "$ctx"' EXIT
rootfs="$ctx/rootfs"
mkdir -p "$rootfs"

# Mirror the host's merged-/usr symlinks (/lib -> usr/lib, ...) so the paths
# that ldd prints and the ELF interpreter path resolve inside the image too.
for d in bin sbin lib lib32 lib64 libx32; do
  if [[ -L "/$d" ]]; then
    target="$(readlink "/$d")"
    ln -s "${target#/}" "$rootfs/$d"
  fi
done

# add_file HOST_PATH IMAGE_PATH: copies a file (dereferenced), keeping its mode.
add_file() {
  mkdir -p "$rootfs$(dirname "$2")"
  cp -L --preserve=mode "$1" "$rootfs$2"
}

# add_binary HOST_PATH IMAGE_PATH: the binary plus every library ldd lists.
# Each library goes to its host directory (symlinks resolved) under its
# soname, which is the name the loader asks for.
add_binary() {
  local bin="$1" dest="$2" lib dir
  add_file "$bin" "$dest"
  if ldd "$bin" | grep -q 'not found'; then
    die "$bin: some libraries are missing on this host: $(ldd "$bin" | grep 'not found' | tr -s '\t ' ' ')"
  fi
  while read -r lib; do
    dir="$(readlink -f "$(dirname "$lib")")"
    [[ -e "$rootfs$dir/$(basename "$lib")" ]] || add_file "$lib" "$dir/$(basename "$lib")"
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }')
}

socat_bin="$(find_host_binary socat socat)"
add_binary "$socat_bin" /usr/bin/socat

# Users and groups as in the upstream images (haproxy 99, nginx 101), plus
# Debian's www-data and the nobody/nogroup pair nginx defaults to.
mkdir -p "$rootfs/etc"
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
www-data:x:33:33:www-data:/var/www:/sbin/nologin
haproxy:x:99:99:haproxy:/var/lib/haproxy:/sbin/nologin
nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
haproxy:x:99:
nginx:x:101:
nogroup:x:65534:
nobody:x:65534:
EOF
cat >"$rootfs/etc/nsswitch.conf" <<'EOF'
passwd: files
group:  files
hosts:  files dns
EOF
mkdir -p "$rootfs/tmp" "$rootfs/run/lock" "$rootfs/var/tmp" "$rootfs/root"
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp" "$rootfs/run/lock"
ln -s ../run "$rootfs/var/run"
ln -s ../run/lock "$rootfs/var/lock"

# Extra build-context directories copied with a different owner.
mkdir -p "$ctx/owned"
extra_copy=""

case "$kind" in
  haproxy)
    bin="$(find_host_binary haproxy haproxy)"
    add_binary "$bin" /usr/local/sbin/haproxy
    version="$("$bin" -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')"
    mkdir -p "$rootfs/usr/local/etc/haproxy" "$rootfs/usr/local/bin"
    cat >"$rootfs/usr/local/etc/haproxy/haproxy.cfg" <<'EOF'
# Default config of the deploy-action HAProxy router image, so that the image
# starts on its own. deploy-action uploads its own haproxy.cfg before start.
global
    log stdout format raw local0
    stats socket /var/lib/haproxy/admin.sock mode 600 level admin expose-fd listeners
    stats timeout 30s

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend http
    bind :80
    http-request return status 503 content-type text/plain string "deploy-action router: no service configured"
EOF
    # /var/lib/haproxy belongs to the haproxy user, as upstream.
    mkdir -p "$ctx/owned/haproxy-state"
    extra_copy="COPY --chown=99:99 owned/haproxy-state/ /var/lib/haproxy/"
    stopsignal=SIGUSR1
    entrypoint='["haproxy"]'
    cmd='["-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
    ;;
  nginx)
    bin="$(find_host_binary nginx nginx)"
    add_binary "$bin" /usr/sbin/nginx
    version="$("$bin" -v 2>&1 | sed -n 's|^nginx version: nginx/||p')"
    # Paths compiled into this build (Debian: temp files in /var/lib/nginx/*,
    # pid /run/nginx.pid, lock /var/lock/nginx.lock, prefix /usr/share/nginx).
    configure="$("$bin" -V 2>&1 | sed -n 's/^configure arguments: //p')"
    compiled() { # compiled OPTION DEFAULT
      local v
      v="$(tr ' ' '\n' <<<"$configure" | sed -n "s|^--$1=||p" | tail -n 1)"
      printf '%s\n' "${v:-$2}"
    }
    prefix="$(compiled prefix /usr/share/nginx)"
    conf_path="$(compiled conf-path /etc/nginx/nginx.conf)"
    conf_dir="$(dirname "$conf_path")"
    for opt in http-client-body-temp-path http-proxy-temp-path http-fastcgi-temp-path \
               http-uwsgi-temp-path http-scgi-temp-path; do
      p="$(compiled "$opt" "")"
      [[ -z "$p" ]] || mkdir -p "$rootfs$p"
    done
    for opt in pid-path lock-path; do
      p="$(compiled "$opt" "")"
      [[ -z "$p" ]] || mkdir -p "$rootfs$(dirname "$p")"
    done
    # Logs go to the container's stdout/stderr, as in the upstream image.
    mkdir -p "$rootfs/var/log/nginx"
    ln -sf /dev/stdout "$rootfs/var/log/nginx/access.log"
    ln -sf /dev/stderr "$rootfs/var/log/nginx/error.log"
    for opt in http-log-path error-log-path; do
      p="$(compiled "$opt" "")"
      if [[ "$p" == /* && ! -e "$rootfs$p" && ! -L "$rootfs$p" ]]; then
        mkdir -p "$rootfs$(dirname "$p")"
        ln -sf /dev/stdout "$rootfs$p"
      fi
    done
    mkdir -p "$rootfs$conf_dir/conf.d" "$rootfs/var/cache/nginx" "$rootfs/var/lib/nginx" \
      "$rootfs$prefix/html"
    [[ -f "$conf_dir/mime.types" ]] || die "$conf_dir/mime.types not found on this host"
    add_file "$conf_dir/mime.types" "$conf_dir/mime.types"
    printf 'deploy-action router (nginx)\n' >"$rootfs$prefix/html/index.html"
    cat >"$rootfs$conf_path" <<EOF
# Default config of the deploy-action nginx router image, so that the image
# starts on its own. deploy-action writes its own nginx.conf before start.
worker_processes auto;
error_log stderr notice;
pid /run/nginx.pid;

events {
    worker_connections 1024;
}

http {
    include $conf_dir/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    include $conf_dir/conf.d/*.conf;

    server {
        listen 80;
        return 503 "deploy-action router: no service configured\n";
    }
}
EOF
    stopsignal=SIGQUIT
    entrypoint='["nginx"]'
    cmd='["-g", "daemon off;"]'
    ;;
esac

# Stable timestamps, so that an unchanged rootfs hits the build cache.
find "$rootfs" "$ctx/owned" -exec touch -h -d @0 {} +

cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
$extra_copy
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 80
STOPSIGNAL $stopsignal
ENTRYPOINT $entrypoint
CMD $cmd
EOF

log "building image $tag from the host's $bin ($kind $version), $socat_bin and $(find "$rootfs" -name '*.so*' | wc -l) libraries"
image_id="$(docker build --quiet \
  --label "org.opencontainers.image.title=deploy-action router ($kind)" \
  --label "org.opencontainers.image.description=Host $kind $version and socat, FROM scratch, for deploy-action" \
  --label "org.opencontainers.image.version=$version" \
  --tag "$tag" \
  "$ctx")"
log "built $tag ($image_id, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
printf '%s\n' "$image_id"
