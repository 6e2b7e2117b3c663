#!/usr/bin/env bash
# A real Prometheus, in the foreground, scraping a running stack's GET /metrics with the alerting rules of
# deploy/prometheus/alerts.yml: `make observe [URL=http://127.0.0.1:8080]`, or
#   scripts/observe.sh [URL]     LISTEN=127.0.0.1:9090  SCRAPE_INTERVAL=15s  API_KEY_FILE=(with SERVE_METRICS=key)
# Its data lands in build/prometheus/data; the config it runs, deploy/prometheus/prometheus.yml with the target
# filled in, in build/prometheus/prometheus.yml. Installs nothing: without Debian's prometheus it names the command.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
url="${1:-${URL:-http://127.0.0.1:8080}}"
listen="${LISTEN:-127.0.0.1:9090}"
interval="${SCRAPE_INTERVAL:-15s}"
prometheus="${PROMETHEUS:-/usr/bin/prometheus}"
promtool="${PROMTOOL:-/usr/bin/promtool}"

if [ ! -x "$prometheus" ]; then
    echo "observe needs Prometheus ($prometheus): run  scripts/observe-packages.sh  (installs Debian's prometheus" \
         "as root or with sudo), or  sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
fi

case "$url" in
    http://*|https://*) ;;
    *) echo "URL must start with http:// or https:// (got $url)" >&2; exit 2 ;;
esac
scheme="${url%%://*}"
rest="${url#*://}"
hostport="${rest%%/*}"
prefix=""
if [ "$rest" != "$hostport" ]; then prefix="/${rest#*/}"; prefix="${prefix%/}"; fi
case "$hostport" in
    *:*) ;;
    *) if [ "$scheme" = https ]; then hostport="$hostport:443"; else hostport="$hostport:80"; fi ;;
esac

build="$root/build/prometheus"
mkdir -p "$build/data"
config="$build/prometheus.yml"
sed -e "s|\"127.0.0.1:8080\"|\"$hostport\"|" \
    -e "s|^\(    scheme:\) http$|\1 $scheme|" \
    -e "s|^\(    metrics_path:\) /metrics$|\1 $prefix/metrics|" \
    -e "s|^\(  scrape_interval:\) 15s$|\1 $interval|" \
    -e "s|^\(  evaluation_interval:\) 15s$|\1 $interval|" \
    -e "s|^  - alerts.yml .*|  - $root/deploy/prometheus/alerts.yml|" \
    "$root/deploy/prometheus/prometheus.yml" >"$config"
if [ -n "${API_KEY_FILE:-}" ]; then
    # SERVE_METRICS=key: the key as a bearer token, read from a file (never from the command line).
    sed -i "s|^    # authorization:$|    authorization:|; s|^    #   credentials_file: .*|      credentials_file: $API_KEY_FILE|" \
        "$config"
fi
if [ -x "$promtool" ]; then "$promtool" check config "$config" >/dev/null; fi

if (exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null; then
    echo "something already listens on $listen (Debian's prometheus service? service prometheus stop);" \
         "choose another address with LISTEN=127.0.0.1:9091" >&2
    exit 1
fi

cat <<MESSAGE
Prometheus on http://$listen scraping $scheme://$hostport$prefix/metrics every $interval (Ctrl-C stops it)
  targets:  http://$listen/targets     (the hf-serving target should be UP within one interval)
  alerts:   http://$listen/alerts      (deploy/prometheus/alerts.yml)
  a query:  http://$listen/graph?g0.expr=sum%20by%20(route)%20(rate(hf_serving_requests_total%5B1m%5D))
  Grafana:  add a Prometheus data source at http://$listen, then import deploy/grafana/hf-serving-dashboard.json
  config:   $config    data: $build/data
MESSAGE
exec "$prometheus" --config.file="$config" --storage.tsdb.path="$build/data" --web.listen-address="$listen" \
    --storage.tsdb.retention.time=7d --log.level=warn
