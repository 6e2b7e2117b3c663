"""A per-batch deadline that the task code checks between model chunks.

nginx answers a client with a 504 once the invocation timeout passes, but the worker would go on
computing the abandoned request (a 10,000-item batch, a 6 MB context) and keep every other request
waiting. The handler sets the deadline; long loops over model chunks call `check()` and give up.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from hf_serving.errors import ServingError

# "t=<seconds since the epoch>": when nginx's inner hop passed the request on and its invocation timeout began
# (docker/nginx.conf). A request that waited in the model server's queue behind an abandoned one has that much less.
INVOCATION_START = "X-Invocation-Start"


class DeadlineExceeded(ServingError):
    status = 504
    code = "timeout"


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


@contextlib.contextmanager
def deadline_after(seconds: float) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (negative once past it); None outside a deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("the model did not finish within the invocation timeout; the work was abandoned")
