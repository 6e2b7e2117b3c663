"""A worker's prediction monitor, built in one place: every observer of its answered items (the prediction metrics,
the drift windows) is added here, once the model is loaded and its task and classes are known."""

from __future__ import annotations

from hf_serving.monitoring.drift.observer import drift_observers
from hf_serving.monitoring.failures import set_worker_model
from hf_serving.monitoring.monitor import OutcomeObserver, PredictionMonitor
from hf_serving.monitoring.prediction_metrics import PredictionMetrics
from hf_serving.settings import MetricsAccess, Settings


def for_worker(
    settings: Settings, model_label: str, task: str, model: object, watch_drift: bool = True
) -> PredictionMonitor:
    """`model_label`: the model's label in /metrics ("model" on a single-model endpoint); `model`: what model_fn
    returned, whose class_names() bound the class label (a user's model has none: it reports no outcome).
    `watch_drift` is False in a single-model endpoint's explanation worker: its few explained requests are no sample
    of the traffic, and the model's drift is watched by the workers that answer the rest."""
    metrics_on = settings.metrics != MetricsAccess.OFF
    set_worker_model(model_label, metrics_on)
    observers: list[OutcomeObserver] = []
    if metrics_on:  # SERVE_METRICS=off: nothing recorded
        observers.append(PredictionMetrics(model_label, task, class_names(model), settings.monitor_max_labels))
    if watch_drift:
        observers.extend(drift_observers(settings, model_label, model))  # DRIFT_BASELINE: raises where it does not fit
    return PredictionMonitor(observers)


def class_names(model: object) -> tuple[str, ...] | None:
    """The classes the model names, in its order; None where its requests name them (zero-shot)."""
    names = getattr(model, "class_names", None)
    return names() if callable(names) else ()
