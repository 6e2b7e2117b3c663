"""How many model-server workers, how many torch threads each, and how many requests per batch: from the
machine by default (matched to the cores, never more), each overridable by its setting."""

from __future__ import annotations

from hf_serving import hardware
from hf_serving.settings import Settings

# Several workers per GPU: while one worker's batch is on the GPU, the others tokenise and decode their own. The
# host side of a batch takes longer than the model there; each worker's Python runs on about one core, so the
# count follows the cores each GPU has. On an H100 with 16 cores, QA at 378 tokens, concurrency 64, two runs:
# 1 worker 984-1,022 req/s, 2 workers 1,714, 3 workers 1,976-2,138, 4 workers 2,727 (bench/README.md, "GPU").
# The model's memory (~130 MB in bf16) is nothing beside a GPU's.
CORES_PER_GPU_WORKER = 4
MAX_WORKERS_PER_GPU = 4  # the most measured; more than 4 was not
# Requests per model pass: 8 on CPU (the model is compute-bound from small batches on); 32 per GPU worker.
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 32


def effective_workers(settings: Settings) -> int:
    """MMS workers: on GPUs one per 4 cores of each, 1 to 4 per GPU; on CPU one, which batches on every core."""
    if settings.workers is not None:
        return settings.workers
    gpus = hardware.gpu_count()
    if not gpus:
        return 1
    per_gpu = min(MAX_WORKERS_PER_GPU, max(1, hardware.usable_cores() // gpus // CORES_PER_GPU_WORKER))
    return per_gpu * gpus


def effective_threads(settings: Settings, workers: int) -> int:
    """torch threads per worker: the cores shared out between workers, never oversubscribed."""
    return settings.threads or max(1, hardware.usable_cores() // max(1, workers))


def effective_batch_size(settings: Settings) -> int:
    """Requests MMS may hand a worker at once (MODEL_SERVER_BATCH_SIZE, else by the hardware)."""
    if settings.batch_size is not None:
        return settings.batch_size
    return GPU_BATCH_SIZE if hardware.gpu_count() else CPU_BATCH_SIZE


# Admission control's slots per worker batch (launcher/admission.py says why two): the requests the model server may
# hold at once, which TEI's /info calls max_concurrent_requests.
BATCHES_PER_WORKER = 2


def admission_slots(workers: int, batch_size: int) -> int:
    return BATCHES_PER_WORKER * workers * batch_size
