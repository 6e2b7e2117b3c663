"""How many model-server workers, and how many torch threads each: matched to the cores, never more."""

from __future__ import annotations

from hf_serving import hardware
from hf_serving.settings import Settings


def effective_workers(settings: Settings) -> int:
    """MMS workers: one per GPU; on CPU one by default, which batches and uses every core."""
    if settings.workers is not None:
        return settings.workers
    return hardware.gpu_count() or 1


def effective_threads(settings: Settings, workers: int) -> int:
    """torch threads per worker: the cores shared out between workers, never oversubscribed."""
    return settings.threads or max(1, hardware.usable_cores() // max(1, workers))
