#!/bin/sh
# redis-server from Debian's package, for the response cache's tests against a real Redis
# (tests/unit/test_response_cache.py starts its own on a free port). Installs it when missing, as
# observe-packages.sh installs Prometheus (scripts/apt-install.sh). Used by .ci/run.
set -eu
[ -x /usr/bin/redis-server ] && [ -x /usr/bin/redis-cli ] && exit 0
"$(dirname "$0")/apt-install.sh" "the response cache's tests" redis-server
# Debian starts a Redis on :6379 when it installs one (where services may start); the tests run their own.
if command -v service >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then service redis-server stop >/dev/null 2>&1 || true
    else sudo -n service redis-server stop >/dev/null 2>&1 || true; fi
fi
