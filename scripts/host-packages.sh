#!/bin/sh
# The host packages `serve` runs on outside the image: nginx with its Lua module, and a Java runtime (with its jdk.compiler module,
# which compiles multi-model-server's fixed decoder). Installs what is missing on Debian or Ubuntu when it may
# (root, or sudo without a password: scripts/apt-install.sh); otherwise prints the one command to run and exits 1.
# Used by `make serve` and .ci/run.
set -eu
packages=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages="$packages nginx-light"
# Admission control runs on nginx's Lua module (container/hf_serving/launcher/admission.py).
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || packages="$packages libnginx-mod-http-lua"
# JSON in nginx's Lua: the protocol routes read an OpenAI request's "model" (container/hf_serving/launcher/lua/routes.lua).
[ -f /usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so ] || [ -f /usr/lib/aarch64-linux-gnu/lua/5.1/cjson.so ] \
    || packages="$packages lua-cjson"
if [ -n "${JAVA_HOME:-}" ]; then [ -x "$JAVA_HOME/bin/java" ] || packages="$packages openjdk-17-jre-headless"
else command -v java >/dev/null 2>&1 || packages="$packages openjdk-17-jre-headless"; fi
[ -n "$packages" ] || exit 0

# shellcheck disable=SC2086  # the package list is meant to split
"$(dirname "$0")/apt-install.sh" serve $packages
# Debian starts an nginx on :80 when it installs one; serve runs its own.
if command -v service >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then service nginx stop >/dev/null 2>&1 || true
    else sudo -n service nginx stop >/dev/null 2>&1 || true; fi
fi
