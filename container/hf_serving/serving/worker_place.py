"""Who a worker is, read from the model store entry MMS started it on: a single-model endpoint's batching worker, its
explanation worker, or a multi-model endpoint's worker of one model; the settings it serves with follow from that."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_serving.loading import model_store
from hf_serving.settings import Settings, current_settings, use_settings

EXPLANATION_LABEL = "explain"  # its label in /metrics and its log lines, beside the model's "model"


@dataclass(frozen=True)
class WorkerPlace:
    """Who this worker is: its settings, where it reports to the launcher (None: it does not), its model's name on a
    multi-model endpoint, and whether it is a single-model endpoint's explanation worker."""

    settings: Settings
    reports: Path | None
    model_name: str | None = None
    explains: bool = False


def worker_place(context: Any) -> WorkerPlace:
    """On a multi-model endpoint the store entry MMS gave the worker names the model's own directory: its weights,
    its config (so its own task) and its own code/inference.py. Its reports go to the model's scratch directory.
    The explanation worker's entry is marked (loading/model_store.py): the same model in float32 on torch; it reports
    nothing, since readiness follows the batching workers."""
    settings = current_settings()
    properties = getattr(context, "system_properties", None) or {}
    entry_dir = Path(properties.get("model_dir") or ".")
    if model_store.is_explanation_entry(entry_dir):
        explaining = dataclasses.replace(settings, dtype="float32", engine="torch")
        use_settings(explaining)
        return WorkerPlace(explaining, None, EXPLANATION_LABEL, explains=True)
    entry = model_store.read_entry(entry_dir)
    if entry is None:  # a single-model endpoint's batching worker: its explain requests are the explanation worker's
        batching = dataclasses.replace(settings, explain_elsewhere=settings.explain)
        use_settings(batching)
        return WorkerPlace(batching, settings.runtime_dir)
    settings = dataclasses.replace(settings, model_dir=entry.url, code_dir_override=None)
    use_settings(settings)
    reports = None
    if settings.runtime_dir is not None:
        reports = model_store.scratch_dir(settings.runtime_dir, entry.mms_name)
        packages = reports / model_store.CODE_PACKAGES
        if packages.is_dir():
            sys.path.insert(0, str(packages))
    return WorkerPlace(settings, reports, entry.name)
