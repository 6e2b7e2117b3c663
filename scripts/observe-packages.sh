#!/bin/sh
# Prometheus and promtool from Debian's package, for `make observe` (scripts/observe.sh) and the observability
# tests (tests/integration/test_observability_prometheus.py, tests/unit/test_dashboard.py). Installs it when
# missing on Debian or Ubuntu when it may (root, or sudo without a password: scripts/apt-install.sh); otherwise
# prints the one command to run and exits 1. Used by .ci/run; scripts/observe.sh only names it.
set -eu
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] && exit 0
"$(dirname "$0")/apt-install.sh" observe prometheus
# Debian starts a Prometheus on :9090 when it installs one (where services may start); observe and the tests run
# their own, on their own ports.
if command -v service >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then service prometheus stop >/dev/null 2>&1 || true
    else sudo -n service prometheus stop >/dev/null 2>&1 || true; fi
fi
