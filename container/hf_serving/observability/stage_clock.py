"""Where one model-server batch spent its time and how many tokens it read, told by the task code as it runs.

A worker answers one batch at a time, so the clock of the batch being answered is module state: the task code
(tasks/text_batches.py, the question answerer) calls `tokenising()` around its tokenizer calls, `tokens()` with
each item's token count, and `model_pass()` before each engine call, without knowing whether anyone measures (with
no batch begun, nothing is kept). The handler begins a clock per batch (serving/handler_service.py) and reads it
into Server-Timing and the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StageClock:
    tokenise_s: float = 0.0  # inside the tokenizer calls
    item_tokens: list[int] = field(default_factory=list)  # one count per item the model read, in the order read
    pass_rows: list[int] = field(default_factory=list)  # rows of each model pass
    item_cached: list[bool] = field(default_factory=list)  # per item looked up in the response cache: a hit?


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


def tokens(per_item: list[int]) -> None:
    """Tokens the model will read for each item, in item order (a question-answering item: all its windows)."""
    if _current is not None:
        _current.item_tokens.extend(per_item)


def model_pass(rows: int) -> None:
    if _current is not None:
        _current.pass_rows.append(rows)


def mark() -> int:
    """Where the token counts stand now: `tokens_since(mark)` gives the items counted after it."""
    return len(_current.item_tokens) if _current is not None else 0


def tokens_since(start: int) -> list[int]:
    return _current.item_tokens[start:] if _current is not None else []


def replace_tokens_since(start: int, per_item: list[int]) -> None:
    """Put per_item in place of the counts after start (the response cache: its hits read no tokens)."""
    if _current is not None:
        del _current.item_tokens[start:]
        _current.item_tokens.extend(per_item)


def cached(per_item: list[bool]) -> None:
    """Whether each item looked up in the response cache was found, in item order."""
    if _current is not None:
        _current.item_cached.extend(per_item)


def cache_mark() -> int:
    return len(_current.item_cached) if _current is not None else 0


def cached_since(start: int) -> list[bool]:
    return _current.item_cached[start:] if _current is not None else []
