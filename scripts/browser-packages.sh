#!/bin/sh
# Debian's chromium, for the browser tests (tests/support/browser.py drives it with Playwright's Python package,
# pointed at /usr/bin/chromium: `playwright install` would download a browser of its own, which this project's
# machines cannot reach). Installs it when missing, as observe-packages.sh installs Prometheus
# (scripts/apt-install.sh). Used by .ci/run.
set -eu
[ -x /usr/bin/chromium ] && exit 0
"$(dirname "$0")/apt-install.sh" "the browser tests" chromium
