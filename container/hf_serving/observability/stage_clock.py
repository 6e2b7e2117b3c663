"""Where one model-server batch spent its time, told by the task code as it runs.

A worker answers one batch at a time, so the clock of the batch being answered is module state: the task code
(tasks/text_batches.py) calls `tokenising()` around its tokenizer calls and `model_pass()` around each engine call,
without knowing whether anyone measures (with no batch begun, nothing is kept). The handler
begins a clock per batch (serving/batch_handler.py) and reads it into Server-Timing and the metrics. Timings only:
what each item cost in tokens, and whether the response cache had it, travel with its answer (tasks/base.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StageClock:
    tokenise_s: float = 0.0  # inside the tokenizer calls
    pass_rows: list[int] = field(default_factory=list)  # rows of each model pass
    # Seconds of each model pass, the engine alone: what is not in them is time spent outside the model (tokenising,
    # padding, decoding answers, JSON, the model server's hop), the share that a faster engine (AMX) exposes.
    pass_seconds: list[float] = field(default_factory=list)


_current: StageClock | None = None


def begin() -> StageClock:
    """A new clock for the batch about to be answered (the previous one is done)."""
    global _current
    _current = StageClock()
    return _current


def end() -> None:
    global _current
    _current = None


@contextmanager
def tokenising() -> Iterator[None]:
    clock = _current
    started = time.perf_counter()
    try:
        yield
    finally:
        if clock is not None:
            clock.tokenise_s += time.perf_counter() - started


@contextmanager
def model_pass(rows: int) -> Iterator[None]:
    """Around one engine call of `rows` rows."""
    clock = _current
    started = time.perf_counter()
    try:
        yield
    finally:
        if clock is not None:
            clock.pass_rows.append(rows)
            clock.pass_seconds.append(time.perf_counter() - started)
