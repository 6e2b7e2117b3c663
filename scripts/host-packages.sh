#!/bin/sh
# The host packages `serve` runs on outside the image: nginx with its Lua module, and a Java runtime (with its jdk.compiler module,
# which compiles multi-model-server's fixed decoder). Installs what is missing on Debian or Ubuntu when it may
# (root, or sudo without a password); otherwise prints the one command to run and exits 1. Used by `make serve`
# and .ci/run.
set -eu
packages=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages="$packages nginx-light"
# Admission control runs on nginx's Lua module (container/hf_serving/launcher/admission.py).
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || packages="$packages libnginx-mod-http-lua"
if [ -n "${JAVA_HOME:-}" ]; then [ -x "$JAVA_HOME/bin/java" ] || packages="$packages openjdk-17-jre-headless"
else command -v java >/dev/null 2>&1 || packages="$packages openjdk-17-jre-headless"; fi
[ -n "$packages" ] || exit 0

command="apt-get install -y --no-install-recommends$packages"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "serve needs$packages (Debian package names); install nginx and a Java 17 runtime with this system's package manager" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"
else
    echo "serve needs$packages: run  sudo apt-get update && sudo $command" >&2
    exit 1
fi
echo "installing$packages"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
# Debian starts an nginx on :80 when it installs one; serve runs its own.
if command -v service >/dev/null 2>&1; then $sudo service nginx stop >/dev/null 2>&1 || true; fi
