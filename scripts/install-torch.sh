#!/bin/sh
# Installs torch's CPU build into the given Python, never PyPI's multi-GB CUDA build.
# Where pip's configured find-links already hold the CPU wheel (the project's build machines), pip takes
# it from there; elsewhere it comes from PyTorch's CPU wheel index (TORCH_INDEX_URL to override).
set -eu
python=$1
version=${TORCH_VERSION:-2.13.0}
links=$("$python" -m pip config get global.find-links 2>/dev/null || true)
for dir in $links; do
    if ls "$dir"/torch-"$version"+cpu-*.whl >/dev/null 2>&1; then
        exec "$python" -m pip install -q "torch==$version"
    fi
done
exec "$python" -m pip install -q "torch==$version" --index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
