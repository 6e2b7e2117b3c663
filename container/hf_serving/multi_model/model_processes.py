"""A model's processes ending at its unload (or its failed load): waited for, and killed when they linger.

Its memory is free only once its processes are gone, and the next load's budget counts on that: an unload answers
only then. MMS stops a model's workers itself; a worker stuck in native code (a long model pass, a hung CUDA call)
ignores it, and is killed here after PROCESS_EXIT_S.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable

import psutil

from hf_serving import processes_alive

log = logging.getLogger("hf_serving.models")

PROCESS_EXIT_S = 20.0
POLL_S = 0.05


def wait_gone(known: list[psutil.Process], listed: Callable[[], list[psutil.Process]], model: str) -> None:
    """Return once every process of `known`, and any that `listed` names meanwhile, has exited; kill the ones still
    there after PROCESS_EXIT_S. `known` is taken before MMS is asked to stop them: once its listener is gone,
    nothing links the workers still exiting to the model any more."""
    processes = {process.pid: process for process in known}
    deadline = time.monotonic() + PROCESS_EXIT_S
    while True:
        processes.update((process.pid, process) for process in listed())
        left = [process for process in processes.values() if processes_alive.alive(process)]
        if not left:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    for process in left:
        log.warning("model %r: process %d outlived its unload; killing it", model, process.pid)
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(left, timeout=5.0)
