#!/bin/sh
# Prometheus and promtool from Debian's package, for `make observe` (scripts/observe.sh) and the observability
# tests (tests/integration/test_observability_prometheus.py, tests/unit/test_dashboard.py). Installs it when
# missing on Debian or Ubuntu when it may (root, or sudo without a password); otherwise prints the one command to
# run and exits 1. Used by .ci/run; scripts/observe.sh only names it.
set -eu
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] && exit 0

command="apt-get install -y --no-install-recommends prometheus"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "observe needs Prometheus 2.x (prometheus and promtool in /usr/bin); install it with this system's package manager" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"
else
    echo "observe needs prometheus: run  sudo apt-get update && sudo $command" >&2
    exit 1
fi
echo "installing prometheus"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# Debian starts a Prometheus on :9090 when it installs one (where services may start); observe and the tests run
# their own, on their own ports.
if command -v service >/dev/null 2>&1; then $sudo service prometheus stop >/dev/null 2>&1 || true; fi
