"""Waiting for a condition with a bound: polled, never a sleep tuned on a quiet machine."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], deadline_s: float, every_s: float = 0.5) -> bool:
    """True as soon as condition() is; False once deadline_s have passed without it."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return False
