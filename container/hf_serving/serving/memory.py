"""Memory a large request used, given back to the system once it is answered.

A 6 MB request (160,000 QA items, or one context of 1.5 million tokens) makes the worker allocate hundreds of MB of
small objects: Python's dicts and strings, the tokenizer's encodings, numpy arrays. Freed, that memory stays in
glibc's heaps, so the worker's resident size ratchets up with every large request until a memory limit kills it
(measured: 434 MB idle, 1.7 GB after three of them; reliability/memory_limit.py). After a large request the worker
collects cycles and asks glibc to return the free pages (malloc_trim): a few milliseconds, only then.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from typing import cast

LARGE_REQUEST_BYTES = 1024 * 1024  # a batch with at least this much body is followed by a trim


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return cast(Callable[[int], int], trim)


_trim = _malloc_trim()


def after_request(body_bytes: int) -> bool:
    """Give memory back if the batch just answered was large; True if it did."""
    if body_bytes < LARGE_REQUEST_BYTES:
        return False
    gc.collect()
    if _trim is not None:
        _trim(0)
    return True
