"""The bounded buffer between the request path and the destination, and the thread that empties it.

The request path only appends (a lock held for a list append) or, when the buffer is full, counts the record as
dropped: it never waits for the destination. The thread writes a batch when the buffer holds FLUSH_RECORDS or
FLUSH_BYTES, when the oldest record has waited DATA_CAPTURE_FLUSH_S, and at close(), which the worker's exit runs
(capture.py). A batch that fails is counted and dropped, never retried (a destination that is down would otherwise
hold every later record up), and never raised.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from hf_serving.monitoring.capture.counts import BUFFER_FULL, WRITE_FAILED, CaptureCounts
from hf_serving.monitoring.capture.destinations import Destination, WriteFailed
from hf_serving.monitoring.capture.exchange import Exchange

log = logging.getLogger("hf_serving.capture")

FLUSH_RECORDS = 1000  # a file of at most this many records (fewer where the buffer is smaller)
FLUSH_BYTES = 8 * 1024 * 1024  # or of about this many bytes of bodies
BUFFER_BYTES = 64 * 1024 * 1024  # past this many bytes of bodies waiting (a slow destination), records are dropped


class CaptureWriter:
    def __init__(
        self, open_destination: Callable[[], Destination], counts: CaptureCounts, capacity: int, flush_s: float
    ) -> None:
        self._open_destination = open_destination
        self._destination: Destination | None = None
        self.counts = counts
        self.capacity = capacity
        self.flush_at = max(1, min(FLUSH_RECORDS, capacity // 2))
        self.flush_s = flush_s
        self._pending: list[Exchange] = []
        self._pending_bytes = 0
        self._oldest = math.inf  # monotonic time the oldest pending record arrived
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._flushing = threading.Lock()  # one batch written at a time: the thread's, or close()'s
        self._thread = threading.Thread(target=self._run, name="data-capture", daemon=True)
        self._thread.start()

    def offer(self, exchange: Exchange) -> bool:
        """Take the record, or count it dropped: never blocks on the destination."""
        size = exchange.size
        with self._lock:
            if self._closed or len(self._pending) >= self.capacity or self._pending_bytes + size > BUFFER_BYTES:
                full = True
            else:
                full = False
                if not self._pending:
                    self._oldest = time.monotonic()
                self._pending.append(exchange)
                self._pending_bytes += size
                due = len(self._pending) >= self.flush_at or self._pending_bytes >= FLUSH_BYTES
        if full:
            self.counts.dropped(BUFFER_FULL)
            return False
        if due:
            self._wake.set()
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is left and stop the thread; waits timeout_s at most for a destination that hangs."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning(
                "data capture: the last records were still being written to %s when the worker ended",
                self.counts.destination,
            )
        else:
            closing = getattr(self._destination, "close", None)  # a sink's kept-alive connection
            if callable(closing):
                closing()
        self.counts.log_drops(now=math.inf)

    def _run(self) -> None:
        while True:
            with self._lock:
                waited = time.monotonic() - self._oldest
                closed = self._closed
            self._wake.wait(max(0.0, self.flush_s - waited) if waited > -math.inf else self.flush_s)
            self._wake.clear()
            self.flush()
            self.counts.log_drops()
            if closed or self._closed_and_empty():
                return

    def _closed_and_empty(self) -> bool:
        with self._lock:
            return self._closed and not self._pending

    def flush(self) -> None:
        """Write every pending record now, in batches of flush_at."""
        with self._flushing:
            while True:
                with self._lock:
                    batch = self._pending[: self.flush_at]
                    if not batch:
                        self._oldest = math.inf
                        return
                    del self._pending[: len(batch)]
                    self._pending_bytes -= sum(exchange.size for exchange in batch)
                    self._oldest = time.monotonic() if self._pending else math.inf
                self._write(batch)

    def _write(self, batch: list[Exchange]) -> None:
        truncated = sum(1 for exchange in batch if exchange.cut)
        try:
            if self._destination is None:
                self._destination = self._open_destination()
            written = self._destination.write(batch)
        except WriteFailed as failed:
            self.counts.written(failed.written)
            self.counts.dropped(WRITE_FAILED, len(batch) - failed.written, str(failed))
        except Exception as exc:  # noqa: BLE001 - a destination's failure is counted, never a request's
            self.counts.dropped(WRITE_FAILED, len(batch), f"{type(exc).__name__}: {exc}")
        else:
            self.counts.written(written, truncated)
            if written < len(batch):
                self.counts.dropped(WRITE_FAILED, len(batch) - written)
