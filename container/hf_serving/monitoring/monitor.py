"""A worker's prediction monitor: each answered request's item outcomes, handed to every observer (the prediction
metrics, the drift windows). Monitoring never fails a request: an observer's error is logged, once a minute at most."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

from hf_serving.monitoring.outcomes import ItemOutcome

log = logging.getLogger("hf_serving.monitoring")
_LOG_EVERY_S = 60.0


class OutcomeObserver(Protocol):
    def observe(self, outcomes: Sequence[ItemOutcome]) -> None: ...


class PredictionMonitor:
    def __init__(self, observers: Sequence[OutcomeObserver] = ()) -> None:
        self.observers = list(observers)
        self._logged_at = float("-inf")

    def observe(self, outcomes: Sequence[ItemOutcome]) -> None:
        if not outcomes:
            return
        for observer in self.observers:
            try:
                observer.observe(outcomes)
            except Exception:  # a monitor's fault must never become the request's
                now = time.monotonic()
                if now - self._logged_at >= _LOG_EVERY_S:
                    self._logged_at = now
                    log.warning("a prediction monitor failed; the answers are unchanged", exc_info=True)
