"""Honest readiness: a file that exists exactly while the model can answer, checked by nginx.

MMS's own /ping says healthy before the model is loaded and after it failed for good. Here nginx
answers /ping itself from the presence of the ready file (docker/nginx.conf), and refuses
/invocations with a fast 503 while it is absent, instead of letting requests queue in MMS until they
time out. The launcher creates the file once the model is registered (model_fn and one warm-up
inference done in every worker) and removes it whenever MMS reports no READY worker, or on shutdown.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
from pathlib import Path

from hf_serving.launcher.mms import ManagementClient

log = logging.getLogger(__name__)


class Readiness:
    """loading -> ready <-> degraded -> stopping, mirrored by the ready file."""

    def __init__(self, ready_file: Path) -> None:
        self.ready_file = ready_file
        self._lock = threading.Lock()
        self._state = "loading"
        ready_file.unlink(missing_ok=True)

    def set(self, state: str, reason: str) -> None:
        with self._lock:
            if self._state == "stopping" or self._state == state:
                return  # nothing brings a stopping container back
            log.info("readiness: %s (%s)", state, reason)
            self._state = state
            if state == "ready":
                self.ready_file.touch()
            else:
                self.ready_file.unlink(missing_ok=True)

    @property
    def state(self) -> str:
        with self._lock:
            return self._state


def watch_workers(readiness: Readiness, client: ManagementClient, stop: threading.Event,
                  interval_s: float = 0.25) -> None:
    """Keep readiness in step with MMS's workers once the model is registered."""
    while not stop.wait(interval_s):
        if readiness.state not in ("ready", "degraded"):
            continue
        try:
            ready = client.ready_workers()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            readiness.set("degraded", f"the model server does not answer: {exc}")
            continue
        if ready > 0:
            readiness.set("ready", f"{ready} worker(s) ready")
        else:
            readiness.set("degraded", "no model worker is ready (restarting)")
