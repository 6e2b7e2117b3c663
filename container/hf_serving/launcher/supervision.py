"""When a child of the launcher dies: how often it may be restarted, and how to see MMS's worker listener die.

multi-model-server restarts a model worker that dies (its listener forks a new one), but nothing restarts the
listener itself: Java retries its socket with a back-off that grows to a minute, forever, while /invocations can only
answer 503. So the launcher watches the listeners too, and restarts the whole model server when one is gone, as it
does when Java or nginx exits. A child that keeps dying is not restarted forever: past its budget the launcher exits
1, and the platform replaces the container.
"""

from __future__ import annotations

import itertools
import time
from collections import deque

import psutil

from hf_serving import processes_alive

LISTENER_SCRIPT = "model_service_worker"  # mms/model_service_worker.py: what Java starts, once per worker


class RestartBudget:
    """At most `allowed` restarts in any `window_s` seconds."""

    def __init__(self, allowed: int, window_s: float) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self._times: deque[float] = deque()

    def spend(self, now: float | None = None) -> bool:
        """Record a restart; False when it would be one too many (then nothing is recorded)."""
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) >= self.allowed:
            return False
        self._times.append(now)
        return True


def model_listeners(java_pid: int) -> set[int]:
    """PIDs of the worker listeners Java started (its direct children running the listener script)."""
    return set(listener_models(java_pid))


def listener_models(java_pid: int) -> dict[int, str]:
    """The worker listeners Java started, each with the name of its model (`--model-name`; with the zygote, the
    clients that stand in for them)."""
    try:
        children = psutil.Process(java_pid).children()
    except psutil.NoSuchProcess:
        return {}
    found = {}
    for child in children:
        try:
            command = child.cmdline()
            if processes_alive.alive(child) and any(LISTENER_SCRIPT in part for part in command):
                found[child.pid] = model_name_argument(command) or ""
        except psutil.NoSuchProcess:
            continue
    return found


def model_name_argument(command: list[str]) -> str | None:
    """The model a listener serves, from the arguments MMS starts it with."""
    for flag, value in itertools.pairwise(command):
        if flag == "--model-name":
            return value
    return None
