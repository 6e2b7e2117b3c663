"""multi-model-server's model store as this project lays it out, shared by the launcher and the workers.

MMS loads a model from an entry of its model store. Ours hold a manifest naming our handler and nothing else, so
that what MMS knows of a model is its name: the weights stay where they are. On a multi-model endpoint each entry
also holds `model.json`, which tells the worker where the model's own files are (the `url` of POST /models), and
each model has a scratch directory of its own under the runtime directory (what its workers report, its
code/requirements.txt's packages).

Names: SageMaker's model names are opaque ids of any characters; MMS's must be simple. A model is known inside the
stack as "m" + the MD5 of its name, which nginx computes too (lua: ngx.md5) to route POST /models/{name}/invoke.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

SINGLE_MODEL_NAME = "model"  # the one entry of a single-model endpoint
# A single-model endpoint's explanation worker (loading/explainer.py): the same model, float32 on torch, batch size 1,
# so that explain requests never share a batch with the others. Its entry holds a marker that tells the worker so.
EXPLAIN_MODEL_NAME = "explain"
EXPLAIN_MARKER = "explanation-worker"
ENTRY_FILE = "model.json"
SCRATCH_ROOT = "models"  # under the runtime directory
CODE_PACKAGES = "code-packages"  # code/requirements.txt installed here (INSTALL_CODE_REQUIREMENTS=true)
SERVING_MARK = "serving"  # present from the start of a load to the start of an unload: nginx routes on it


def mms_name(name: str) -> str:
    return "m" + hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class StoreEntry:
    """A model of a multi-model endpoint: its SageMaker name, where its files are, and its name inside the stack."""

    name: str
    url: Path

    @property
    def mms_name(self) -> str:
        return mms_name(self.name)


def write_manifest(model_store: Path, name: str, handler: str) -> Path:
    entry_dir = model_store / name
    (entry_dir / "MAR-INF").mkdir(parents=True, exist_ok=True)
    manifest = {
        "specificationVersion": "1.0",
        "implementationVersion": "1.0",
        "modelServerVersion": "1.0",
        "runtime": "python",
        "model": {"modelName": name, "handler": handler, "modelVersion": "1.0"},
    }
    (entry_dir / "MAR-INF" / "MANIFEST.json").write_text(json.dumps(manifest))
    return entry_dir


def write_explanation_entry(model_store: Path, handler: str) -> Path:
    entry_dir = write_manifest(model_store, EXPLAIN_MODEL_NAME, handler)
    (entry_dir / EXPLAIN_MARKER).touch()
    return entry_dir


def is_explanation_entry(entry_dir: Path) -> bool:
    return (entry_dir / EXPLAIN_MARKER).is_file()


def write_entry(model_store: Path, entry: StoreEntry, handler: str) -> Path:
    entry_dir = write_manifest(model_store, entry.mms_name, handler)
    (entry_dir / ENTRY_FILE).write_text(json.dumps({"name": entry.name, "url": str(entry.url)}))
    return entry_dir


def read_entry(entry_dir: Path) -> StoreEntry | None:
    """The entry MMS gave a worker (system_properties["model_dir"]); None on a single-model endpoint."""
    path = entry_dir / ENTRY_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return StoreEntry(name=data["name"], url=Path(data["url"]))


def remove_entry(model_store: Path, runtime_dir: Path, entry: StoreEntry) -> None:
    shutil.rmtree(model_store / entry.mms_name, ignore_errors=True)
    shutil.rmtree(scratch_dir(runtime_dir, entry.mms_name), ignore_errors=True)


def scratch_dir(runtime_dir: Path, name_in_stack: str) -> Path:
    return runtime_dir / SCRATCH_ROOT / name_in_stack
