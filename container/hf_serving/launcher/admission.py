"""Admission control at the edge: how many requests the model server holds at once, and how long the rest may wait.

Under overload the cheapest place to say no is nginx, before Java and Python see the request: multi-model-server's
own refusals (a full job queue) cost ~100 ms of the cores the model needs, and the requests it did accept waited
up to the invocation timeout. So nginx (lua/admission.lua, on lua-nginx-module's semaphores: open-source nginx
has no timed queue) lets `slots` requests into the model server and queues the others in arrival order:

* slots = 2 x workers x batch size: each worker has its batch in the model and the next one waiting, so it never
  idles between batches, and an admitted request waits inside the model server for one batch at most.
* A queued request waits at most SERVE_QUEUE_TIMEOUT_S (5 s by default, against the 60 s invocation timeout), then
  gets a 503 with Retry-After. A request whose predicted wait is already over that bound is refused at once: the
  prediction is Little's law on the slots, from the measured time requests hold a slot, so it follows the batch
  size, the request sizes and the worker count without a setting. The bound is a time, not a queue length: a few
  slow, large requests are never refused for their number.
* Batch Transform (SAGEMAKER_BATCH) waits as long as the invocation timeout by default: the job itself limits how
  many requests it sends (MaxConcurrentTransforms) and needs every one answered.

An accepted request therefore waits at most the bound plus one batch before its own batch starts.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from hf_serving.loading.sizing import admission_slots
from hf_serving.settings import Settings

LUA_DIR = Path(str(files("hf_serving.launcher") / "lua"))


def slots(workers: int, batch_size: int) -> int:
    return admission_slots(workers, batch_size)


def nginx_values(
    settings: Settings, workers: int, batch_size: int, explanation_worker: bool = False
) -> dict[str, str | int]:
    """Explain requests queue in a pool of their own, in front of their one worker (loading/explainer.py): a burst of
    them is refused there and never takes a slot of the model's."""
    return {
        "ADMISSION_SLOTS": slots(workers, batch_size),
        "QUEUE_TIMEOUT_S": f"{settings.queue_timeout_s:g}",
        "EXPLAIN_SLOTS": slots(1, 1) if explanation_worker else 0,
        "LUA_DIR": str(LUA_DIR),
    }


def describe(settings: Settings, workers: int, batch_size: int) -> str:
    """The banner's line."""
    return (
        f"admission: {slots(workers, batch_size)} requests in the model server at once, the rest queued at "
        f"most {settings.queue_timeout_s:g} s (SERVE_QUEUE_TIMEOUT_S), then 503 with Retry-After"
    )
