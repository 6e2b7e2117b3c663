"""Whether a process is alive: it runs, and it is not a zombie.

A zombie has exited, holds no memory and answers nothing, but its PID and /proc entry stay until its parent collects
its exit status, so psutil still finds it. Every place that counts workers, waits for them to exit, or sums the
metrics of live ones must treat it as dead: they all ask here.
"""

from __future__ import annotations

import psutil


def alive(process: psutil.Process | int) -> bool:
    """A Process (its PID not reused since it was made: psutil checks its start time) or a PID."""
    try:
        found = psutil.Process(process) if isinstance(process, int) else process
        return found.is_running() and found.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess, where a platform raises it, is one
        return False
