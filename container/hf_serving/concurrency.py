"""How many model-server workers, how many torch threads each, and how many requests per batch: from the
machine by default (matched to the cores, never more), each overridable by its setting."""

from __future__ import annotations

from hf_serving import hardware
from hf_serving.settings import Settings

# Two workers per GPU: while one worker's batch is on the GPU, the other tokenises and decodes its own. The host
# side of a batch takes longer than the model there, so a second worker nearly doubled req/s on an H100
# (bench/results/gpu-latest.md); the model's memory (~130 MB in bf16) is nothing beside the GPU's.
WORKERS_PER_GPU = 2
# Requests per model pass: 8 on CPU (the model is compute-bound from small batches on); 32 per GPU worker.
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 32


def effective_workers(settings: Settings) -> int:
    """MMS workers: two per GPU; on CPU one by default, which batches and uses every core."""
    if settings.workers is not None:
        return settings.workers
    return WORKERS_PER_GPU * hardware.gpu_count() or 1


def effective_threads(settings: Settings, workers: int) -> int:
    """torch threads per worker: the cores shared out between workers, never oversubscribed."""
    return settings.threads or max(1, hardware.usable_cores() // max(1, workers))


def effective_batch_size(settings: Settings) -> int:
    """Requests MMS may hand a worker at once (MODEL_SERVER_BATCH_SIZE, else by the hardware)."""
    if settings.batch_size is not None:
        return settings.batch_size
    return GPU_BATCH_SIZE if hardware.gpu_count() else CPU_BATCH_SIZE
