"""The drift gauges in /metrics, one worker's view of them.

In prometheus_client's multiprocess mode every worker writes its own value and the launcher merges them per scrape
(observability/collector.py). Each worker has its own window over its own share of the traffic, so the workers'
values are separate estimates of the same thing, and:
- hf_serving_drift_psi is "livemax": the most drifted worker's window. A sum of PSIs means nothing, and an average
  would dilute a worker that sees a shifted slice (sticky clients, one worker behind a slow batch); the max errs
  towards an alert, which the rule's `for` then has to confirm. "live": a dead worker's window is gone with it (its
  replacement starts empty and reports again once it has REPORTED_FROM items), so its last value is not kept.
- hf_serving_drift_window_items is "livesum": the items all live windows hold, what the PSIs rest on together.
A signal's gauge appears only once its window has REPORTED_FROM observations: a labelled child is created (and would
read 0) at first use, so it is not touched before.
"""

from __future__ import annotations

from prometheus_client import Gauge

from hf_serving.monitoring.drift.window import SlidingWindow

DRIFT_PSI = Gauge(
    "hf_serving_drift_psi",
    "Population stability index of a signal (class, confidence, tokens) in the "
    "worker's window of recent items against the baseline (DRIFT_BASELINE)",
    ("model", "signal"),
    multiprocess_mode="livemax",
)
DRIFT_WINDOW_ITEMS = Gauge(
    "hf_serving_drift_window_items",
    "Items in the workers' drift windows (DRIFT_WINDOW each)",
    ("model",),
    multiprocess_mode="livesum",
)


class DriftGauges:
    def __init__(self, model: str) -> None:
        self.model = model
        self._items = DRIFT_WINDOW_ITEMS.labels(model)
        self._psi: dict[str, Gauge] = {}  # signal -> its child, made once the signal is reportable

    def report(self, window: SlidingWindow) -> None:
        self._items.set(len(window))
        for signal in window.signals:
            if window.reportable(signal):
                gauge = self._psi.get(signal)
                if gauge is None:
                    gauge = self._psi[signal] = DRIFT_PSI.labels(self.model, signal)
                gauge.set(window.psi(signal))
