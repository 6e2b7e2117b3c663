"""Honest readiness: a file that exists exactly while the model can answer, checked by nginx.

MMS's own /ping says healthy before the model is loaded and after it failed for good. Here nginx
answers /ping itself from the presence of the ready file (docker/nginx.conf), and refuses
/invocations with a fast 503 while it is absent, instead of letting requests queue in MMS until they
time out. The launcher creates the file once the model is registered (model_fn and one warm-up
inference done in every worker) and removes it whenever no worker is alive with its model loaded
(hf_serving.serving.worker_reports: MMS itself reports a worker READY after its process died), or on shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from hf_serving.serving.worker_reports import ready_worker_pids

log = logging.getLogger(__name__)


class Readiness:
    """loading -> ready <-> degraded -> stopping, mirrored by the ready file; restarting (the model server is
    being restarted) leads back to ready once it has registered the model again."""

    def __init__(self, ready_file: Path) -> None:
        self.ready_file = ready_file
        self._lock = threading.Lock()
        self._state = "loading"
        self._since = time.monotonic()
        ready_file.unlink(missing_ok=True)

    def set(self, state: str, reason: str) -> None:
        with self._lock:
            if self._state == "stopping" or self._state == state:
                return  # nothing brings a stopping container back
            log.info("readiness: %s (%s)", state, reason)
            self._state, self._since = state, time.monotonic()
            if state == "ready":
                self.ready_file.touch()
            else:
                self.ready_file.unlink(missing_ok=True)

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def degraded_for(self) -> float:
        """Seconds since the last ready worker went away; 0 unless degraded."""
        with self._lock:
            return time.monotonic() - self._since if self._state == "degraded" else 0.0


def watch_workers(readiness: Readiness, runtime_dir: Path, stop: threading.Event, interval_s: float = 0.2) -> None:
    """Keep readiness in step with the workers' own reports once the model is registered."""
    while not stop.wait(interval_s):
        if readiness.state not in ("ready", "degraded"):
            continue
        ready = ready_worker_pids(runtime_dir)
        if ready:
            readiness.set("ready", f"{len(ready)} worker(s) ready")
        else:
            readiness.set("degraded", "no model worker is alive and loaded (the model server restarts it)")
