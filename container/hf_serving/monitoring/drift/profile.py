"""The baseline profile: what a model predicted on traffic that was known to be good, as counts on fixed bins.

One JSON file (drift-baseline's OUT.json, DRIFT_BASELINE) holds a profile per model name, so one file serves a
multi-model endpoint. Each profile keeps three signals, each as counts (shares are derived, and the counts say how
much evidence the baseline rests on):
- class: how many predictions of each label (a classifier's top label, each entity group token classification
  found); the window counts a label the baseline never saw in one more bin, OTHER_CLASS;
- confidence: the predictions' confidences over CONFIDENCE_BINS;
- tokens: the items' input lengths in tokens over TOKEN_BINS.
The bins are written into the file, and the window bins by the file's, so a profile made today still reads the
same when the defaults change.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hf_serving.monitoring.drift.psi import EPSILON
from hf_serving.monitoring.outcomes import ItemOutcome

FORMAT = "hf-serving drift baseline"
VERSION = 1
SIGNALS = ("class", "confidence", "tokens")
OTHER_CLASS = "(not in baseline)"
# Lower edges; a bin runs from its edge to the next one, the last one upwards. Confidences crowd near 1 for a trained
# classifier (most of this project's demo answers are over 0.95), so the top is cut finer than the bottom, where a
# multi-class model's unsure answers fall.
CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
# Half octaves from 4 tokens up to 1,024, then one bin for everything longer: a shift from tweets to paragraphs moves
# several bins, while a few tokens more per sentence stay inside one.
TOKEN_BINS = (0, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024)


class BaselineError(ValueError):
    """A baseline file that cannot be used: unreadable, not a baseline, or not for this model."""


@dataclass(frozen=True)
class Histogram:
    bins: tuple[float, ...]  # lower edges, increasing
    counts: tuple[int, ...]

    def index(self, value: float) -> int:
        return max(bisect.bisect_right(self.bins, value) - 1, 0)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class ModelProfile:
    task: str | None  # the task that answered ("text-classification"), None for a user's own model
    model_labels: tuple[str, ...] | None  # the model's own id2label values, to check a profile fits the model
    items: int  # answered items the profile was made from
    classes: dict[str, int]  # label -> predictions of it
    confidence: Histogram
    tokens: Histogram
    source: dict[str, Any] = field(default_factory=dict)  # what it was made from: files, records, texts, model

    def class_shares(self) -> dict[str, float]:
        total = sum(self.classes.values())
        return {label: count / total for label, count in sorted(self.classes.items())} if total else {}

    def fits(self, task: str | None, model_labels: Sequence[str] | None) -> str | None:
        """Why this profile is not one of this model (None: it fits)."""
        if self.task is not None and task is not None and self.task != task:
            return f"it was made from a {self.task} model, this one is {task}"
        if self.model_labels is not None and model_labels is not None and set(self.model_labels) != set(model_labels):
            return (
                f"it was made from a model with labels {sorted(self.model_labels)}, this one has {sorted(model_labels)}"
            )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "model_labels": list(self.model_labels) if self.model_labels is not None else None,
            "items": self.items,
            "source": self.source,
            "class": {
                "counts": dict(sorted(self.classes.items())),
                "shares": {label: round(share, 6) for label, share in self.class_shares().items()},
            },
            "confidence": {"bins": list(self.confidence.bins), "counts": list(self.confidence.counts)},
            "tokens": {"bins": list(self.tokens.bins), "counts": list(self.tokens.counts)},
        }


class ProfileBuilder:
    """Counts item outcomes into a profile, one at a time (drift-baseline feeds it as it reads)."""

    def __init__(self, task: str | None, model_labels: Sequence[str] | None) -> None:
        self.task, self.model_labels = task, tuple(model_labels) if model_labels is not None else None
        self.items = 0
        self.classes: dict[str, int] = {}
        self.confidence = [0] * len(CONFIDENCE_BINS)
        self.tokens = [0] * len(TOKEN_BINS)
        self._confidence_bins = Histogram(CONFIDENCE_BINS, ())
        self._token_bins = Histogram(TOKEN_BINS, ())

    def add(self, outcomes: Iterable[ItemOutcome]) -> None:
        for outcome in outcomes:
            self.items += 1
            for prediction in outcome.predictions:
                if prediction.label is not None:
                    self.classes[prediction.label] = self.classes.get(prediction.label, 0) + 1
                if prediction.confidence is not None:
                    self.confidence[self._confidence_bins.index(prediction.confidence)] += 1
            if outcome.tokens is not None:
                self.tokens[self._token_bins.index(outcome.tokens)] += 1

    def profile(self, source: dict[str, Any]) -> ModelProfile:
        return ModelProfile(
            self.task,
            self.model_labels,
            self.items,
            dict(self.classes),
            Histogram(CONFIDENCE_BINS, tuple(self.confidence)),
            Histogram(TOKEN_BINS, tuple(self.tokens)),
            source,
        )


def write(path: Path, profiles: dict[str, ModelProfile]) -> None:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "epsilon": EPSILON,
        "models": {name: profile.to_json() for name, profile in sorted(profiles.items())},
    }
    path.write_text(_numbers_on_one_line(json.dumps(document, indent=2)) + "\n")


_NUMBER_LIST = re.compile(r"\[[-0-9.eE,\s]*\]")


def _numbers_on_one_line(text: str) -> str:
    """json.dumps(indent=2) with each list of numbers (bins, counts) on one line: a file a person can read."""
    return _NUMBER_LIST.sub(lambda found: " ".join(found.group().split()).replace("[ ", "[").replace(" ]", "]"), text)


def read(path: Path) -> dict[str, ModelProfile]:
    """Every model's profile in a baseline file; BaselineError saying what is wrong with it."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise BaselineError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(
            f'{path} is not a drift baseline (no "format": "{FORMAT}"); make one with '
            "`python -m hf_serving drift-baseline`"
        )
    if document.get("version") != VERSION:
        raise BaselineError(
            f"{path} is a drift baseline of version {document.get('version')!r}; this container reads version {VERSION}"
        )
    models = document.get("models")
    if not isinstance(models, dict) or not models:
        raise BaselineError(f"{path} holds no model's profile")
    try:
        return {str(name): _profile(body) for name, body in models.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineError(f"{path} is not a valid drift baseline: {type(exc).__name__} {exc}") from exc


def _profile(body: dict[str, Any]) -> ModelProfile:
    classes = {str(label): int(count) for label, count in body["class"]["counts"].items()}
    labels = body.get("model_labels")
    return ModelProfile(
        body.get("task"),
        tuple(str(label) for label in labels) if labels is not None else None,
        int(body["items"]),
        classes,
        _histogram(body["confidence"]),
        _histogram(body["tokens"]),
        dict(body.get("source") or {}),
    )


def _histogram(body: dict[str, Any]) -> Histogram:
    bins = tuple(float(edge) for edge in body["bins"])
    counts = tuple(int(count) for count in body["counts"])
    if not bins or len(bins) != len(counts):
        raise ValueError(f"{len(counts)} counts for {len(bins)} bins")
    if any(not math.isfinite(edge) for edge in bins) or any(b >= a for a, b in zip(bins[1:], bins, strict=False)):
        raise ValueError(f"bins {list(bins)} are not increasing finite numbers")
    if any(count < 0 for count in counts):
        raise ValueError("a negative count")
    return Histogram(bins, counts)
