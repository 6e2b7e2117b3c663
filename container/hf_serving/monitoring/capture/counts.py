"""What capture kept and what it dropped, in /metrics (prometheus_client's multiprocess mode, as
observability/worker_metrics.py), and a warning in the log once a minute at most while records are dropped.

hf_serving_data_capture_records_total{model, result}: every sampled request, once, by what became of it: "written"
(at the destination), "buffer_full" (the writer was behind: dropped at once), "write_failed" (the destination refused
or could not be reached). hf_serving_data_capture_truncated_records_total{model}: written records whose bodies were
cut to DATA_CAPTURE_MAX_RECORD_KB. Labels are bounded: the model and three results.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter

log = logging.getLogger("hf_serving.capture")

WRITTEN, BUFFER_FULL, WRITE_FAILED = "written", "buffer_full", "write_failed"
RESULTS = (WRITTEN, BUFFER_FULL, WRITE_FAILED)
LOG_EVERY_S = 60.0

RECORDS = Counter(
    "hf_serving_data_capture_records", "Sampled requests, by what data capture did with them", ("model", "result")
)
TRUNCATED = Counter(
    "hf_serving_data_capture_truncated_records",
    "Captured records whose bodies were cut to DATA_CAPTURE_MAX_RECORD_KB",
    ("model",),
)


class CaptureCounts:
    """One worker's counts. Called from the request path (buffer_full) and the writing thread (the rest)."""

    def __init__(self, model: str, destination: str, enabled: bool = True) -> None:
        self.destination = destination  # as safe to log: destinations.describe()
        self.enabled = enabled
        self._children = {result: RECORDS.labels(model, result) for result in RESULTS}
        self._truncated = TRUNCATED.labels(model)
        self._lock = threading.Lock()
        self._dropped = dict.fromkeys((BUFFER_FULL, WRITE_FAILED), 0)
        self._last_error = ""
        self._logged_at = time.monotonic() - LOG_EVERY_S

    def written(self, records: int, truncated: int = 0) -> None:
        if self.enabled:
            self._children[WRITTEN].inc(records)
            if truncated:
                self._truncated.inc(truncated)

    def dropped(self, result: str, records: int = 1, error: str = "") -> None:
        if self.enabled:
            self._children[result].inc(records)
        with self._lock:
            self._dropped[result] += records
            if error:
                self._last_error = error

    def log_drops(self, now: float | None = None) -> None:
        """A warning for what was dropped since the last one, once a minute at most (the writing thread calls it; the
        request path never logs). At close, now=inf logs what is left."""
        now = time.monotonic() if now is None else now
        if now - self._logged_at < LOG_EVERY_S:
            return
        with self._lock:
            dropped, error = dict(self._dropped), self._last_error
            if not any(dropped.values()):
                return
            self._dropped = dict.fromkeys(dropped, 0)
            self._logged_at = time.monotonic()
        log.warning(
            "data capture to %s dropped %d records (buffer full %d, write failed %d)%s; answers are unchanged",
            self.destination,
            sum(dropped.values()),
            dropped[BUFFER_FULL],
            dropped[WRITE_FAILED],
            f": {error}" if error else "",
        )
