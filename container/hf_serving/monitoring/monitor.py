"""A worker's prediction monitor: each answered request's item outcomes, handed to every observer (the prediction
metrics, the drift windows). Monitoring never fails a request: an observer's error is counted in /metrics and logged,
once a minute at most (monitoring/failures.py), and the next observer still sees the outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hf_serving.monitoring.failures import failed
from hf_serving.monitoring.outcomes import ItemOutcome


class OutcomeObserver(Protocol):
    def observe(self, outcomes: Sequence[ItemOutcome]) -> None: ...


class PredictionMonitor:
    def __init__(self, observers: Sequence[OutcomeObserver] = ()) -> None:
        self.observers = list(observers)

    def observe(self, outcomes: Sequence[ItemOutcome]) -> None:
        if not outcomes:
            return
        for observer in self.observers:
            try:
                observer.observe(outcomes)
            except Exception:  # noqa: BLE001 - a monitor's fault must never become the request's
                failed("observer")
