"""Monitoring's own failures: a task that could not tell an item's outcome, an observer (the prediction metrics, the
drift windows) that raised. Monitoring must never fail, slow or change an answer, so each caller catches its error and
hands it here: counted in /metrics (hf_serving_monitoring_errors_total) and logged, once a minute at most per stage,
never raised into the request.

A worker process serves one model: its label is set once, when the worker builds its observers
(monitoring/observers.py), as prometheus_client's own registry is per process.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

log = logging.getLogger("hf_serving.monitoring")
LOG_EVERY_S = 60.0

STAGES = ("outcome", "observer")  # a task telling an item's outcome; an observer of the outcomes


@functools.cache
def _errors() -> Any:
    """The counter, made at its first use: the task code imports this module, and the task code alone (the deploy
    tools, the tests' model builders) runs where prometheus_client is not installed."""
    from prometheus_client import Counter

    return Counter(
        "hf_serving_monitoring_errors",
        "Prediction-monitoring steps that failed (the answers were unchanged), by stage",
        ("model", "stage"),
    )


class _Worker:
    def __init__(self) -> None:
        self.model = "model"  # observability/worker_metrics.SINGLE_MODEL_LABEL until the worker names its model
        self.counted = True  # SERVE_METRICS=off: logged, never counted
        self.logged_at: dict[str, float] = {}  # per stage


_worker = _Worker()


def set_worker_model(model: str, counted: bool) -> None:
    """This worker's model label in /metrics, and whether /metrics is on (SERVE_METRICS). Each stage's series exists
    from now, at 0: a failure's increase is then seen from the first one."""
    _worker.model, _worker.counted = model, counted
    if counted:
        for stage in STAGES:
            _errors().labels(model, stage)


def failed(stage: str) -> None:
    """Called inside an `except`: count the failure, and log it with its traceback unless this stage was logged in
    the last minute (a failure on every request must not flood the log)."""
    if _worker.counted:
        try:
            _errors().labels(_worker.model, stage).inc()
        except Exception:  # noqa: BLE001 - a metrics file that cannot be written must not fail the answer either
            pass
    now = time.monotonic()
    if now - _worker.logged_at.get(stage, float("-inf")) >= LOG_EVERY_S:
        _worker.logged_at[stage] = now
        log.warning("prediction monitoring failed (%s); the answers are unchanged", stage, exc_info=True)
