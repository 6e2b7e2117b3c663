#!/usr/bin/env bash
# Builds the serving image with Docker where a daemon answers, else with podman (set up by
# scripts/podman-setup.sh: no daemon, no registry needed).
#   scripts/image-build.sh [IMAGE]          IMAGE defaults to localhost/hf-serving:cpu
# Environment: ENGINE (docker|podman; see scripts/image-engine.sh), DOCKERFILE (docker/Dockerfile),
# TORCH_FIND_LINKS (where pip finds torch's CPU wheel). Unset, it is PyTorch's public wheel page, or, where
# pip's configured find-links hold the wheel (CI), that folder served to the build on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/image-engine.sh

image=${1:-localhost/hf-serving:cpu}
dockerfile=${DOCKERFILE:-docker/Dockerfile}
args=(build -t "$image" -f "$dockerfile")
[ "$ENGINE" = podman ] && args+=(--pull=never)  # the base exists only locally (scripts/podman-setup.sh)

torch_version=$(sed -n 's/^ARG TORCH_VERSION=\([0-9.]*\)+cpu$/\1/p' "$dockerfile")  # the Dockerfile's own pin
if [ -z "${TORCH_FIND_LINKS:-}" ] && [ "$dockerfile" = docker/Dockerfile ]; then
    pip=python3
    [ -x .venv/bin/python ] && pip=.venv/bin/python
    for dir in ${PIP_FIND_LINKS:-} $("$pip" -m pip config get global.find-links 2>/dev/null || true); do
        if ls "$dir"/torch-"$torch_version"+cpu-*.whl >/dev/null 2>&1; then
            # The same port each time when it is free: the URL is a build argument, part of the layer cache's key.
            port=$(python3 -c 'import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 38317))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
            python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
            server=$!
            trap 'kill "$server" 2>/dev/null || true' EXIT
            TORCH_FIND_LINKS=http://127.0.0.1:$port/
            echo "image-build: torch's wheel from $dir (served on 127.0.0.1:$port to the build)" >&2
            break
        fi
    done
fi
if [ -n "${TORCH_FIND_LINKS:-}" ]; then
    # The build's RUN steps share the host's network only to reach that loopback server.
    args+=(--network=host --build-arg "TORCH_FIND_LINKS=$TORCH_FIND_LINKS")
fi

previous=$("$ENGINE" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
started=$(date +%s)
"$ENGINE" "${args[@]}" .
# The image this tag named before is now only disk space (1.6 GB): repeated CI runs must not pile them up.
if [ -n "$previous" ] && [ "$previous" != "$("$ENGINE" image inspect --format '{{.Id}}' "$image")" ]; then
    "$ENGINE" rmi "$previous" >/dev/null 2>&1 || true
fi
echo "image-build: $image built with $ENGINE in $(( $(date +%s) - started )) s" >&2
