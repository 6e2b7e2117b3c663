"""The drift observer a worker's prediction monitor calls (monitoring/monitor.py), built at worker start from
DRIFT_BASELINE and DRIFT_WINDOW.

A baseline that cannot be used for this model (unreadable, not a baseline, no profile of this model, a profile of
another task or other labels) fails the model's start with a BaselineError naming the file and what is wrong: a
single-model endpoint then exits before it is ready, a multi-model endpoint refuses to load that model. Serving on
without drift was the other choice, and the worse one: an operator who set DRIFT_BASELINE is watching the drift
gauges and their alert, and a gauge that never appears reads on a dashboard like an endpoint that never drifts. A
failed start shows up at deployment, where the fix (the right file, or a profile for the new model) is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hf_serving.monitoring.drift import profile as profiles
from hf_serving.monitoring.drift.gauges import DriftGauges
from hf_serving.monitoring.drift.profile import BaselineError, ModelProfile
from hf_serving.monitoring.drift.window import SlidingWindow
from hf_serving.monitoring.outcomes import ItemOutcome
from hf_serving.settings import MetricsAccess, Settings

log = logging.getLogger("hf_serving.monitoring")


class DriftObserver:
    def __init__(self, window: SlidingWindow, gauges: DriftGauges) -> None:
        self.window, self.gauges = window, gauges

    def observe(self, outcomes: Sequence[ItemOutcome]) -> None:
        for outcome in outcomes:
            self.window.add(outcome)
        self.gauges.report(self.window)


def model_identity(model: Any) -> tuple[str | None, list[str] | None]:
    """The task a served model answers and its labels (config.id2label), as a profile records them; None where the
    model does not say (a user's model_fn's own object)."""
    task = getattr(getattr(model, "task", None), "value", None)
    id2label = getattr(getattr(model, "config", None), "id2label", None)
    labels = [str(label) for label in id2label.values()] if isinstance(id2label, dict) and id2label else None
    return (task if isinstance(task, str) else None), labels


def profile_for(available: dict[str, ModelProfile], model: str, multi_model: bool) -> ModelProfile:
    """The model's own profile; a single-model endpoint also takes the only one a file holds, whatever its name
    (drift-baseline names it "model" unless told otherwise, and a single-model endpoint's model has no other name)."""
    if model in available:
        return available[model]
    if not multi_model and len(available) == 1:
        return next(iter(available.values()))
    raise BaselineError(
        f"it has no profile of model {model!r} (it has {sorted(available)}); make one with "
        f"`python -m hf_serving drift-baseline SOURCE OUT.json --model DIR --name {model}`"
    )


def drift_observers(settings: Settings, model_label: str, model: Any) -> list[DriftObserver]:
    """The drift observer of this worker's model, or none without DRIFT_BASELINE; BaselineError where the baseline
    does not fit the model."""
    path = settings.drift_baseline
    if path is None:
        return []
    if settings.metrics == MetricsAccess.OFF:
        log.warning(
            "DRIFT_BASELINE is set but SERVE_METRICS=off: the drift gauges live in /metrics, so model %s is "
            "served without drift monitoring",
            model_label,
        )
        return []
    try:
        profile = profile_for(profiles.read(path), model_label, settings.multi_model)
        task, labels = model_identity(model)
        why = profile.fits(task, labels)
        if why is not None:
            raise BaselineError(why)
    except BaselineError as exc:
        raise BaselineError(f"DRIFT_BASELINE={path} cannot be used for model {model_label!r}: {exc}") from exc
    log.info(
        "drift monitoring of model %s against %s (%d items), over windows of %d items per worker",
        model_label,
        path,
        profile.items,
        settings.drift_window,
    )
    return [DriftObserver(SlidingWindow(profile, settings.drift_window), DriftGauges(model_label))]
