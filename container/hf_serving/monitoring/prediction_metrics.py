"""What each worker's answered items predicted, in /metrics: the predicted classes, their confidence, and the tokens
each item was, per model and task (docs/reference/metrics.md has the table).

prometheus_client in its multiprocess mode, as observability/worker_metrics.py: each worker writes its own files and
the launcher sums them at each scrape. Every series carries the model label, so that an unloaded model's series go
with it (observability/collector.py).

The class label is bounded (MONITOR_MAX_LABELS, N): a model whose config names its classes (id2label) keeps the first
N in its own order, and any other class it predicts is "other". Classes the model does not name (zero-shot's
candidate labels, which each request brings) are admitted first come, first kept, up to N per worker, then "other".
That is bounded although the requests choose the words: each worker process keeps its own N, so a model has at most
N x its workers class series whatever its clients send, and a worker started again forgets nothing it exported (its
counts stay in the summed files) but admits no more than N of its own.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from hf_serving.monitoring.outcomes import ItemOutcome

OTHER = "other"  # the class label of every class past the bound
# Probabilities, finer towards 1.0 where a confident model's scores gather: a drop from 0.999 to 0.99 is visible.
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0)
# One item's tokens: a short query to a long document read in many windows.
ITEM_TOKEN_BUCKETS = (4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096, 8192, 32768, 131072)

PREDICTIONS = Counter(
    "hf_serving_predictions",
    "Predicted classes of answered items (entity groups for token "
    "classification), by class; a response-cache hit counts too",
    ("model", "task", "label"),
)
CONFIDENCE = Histogram(
    "hf_serving_prediction_confidence",
    "The probability of each prediction (a top class, an entity group, an answer, a mask's best token)",
    ("model", "task"),
    buckets=CONFIDENCE_BUCKETS,
)
ITEM_TOKENS = Histogram(
    "hf_serving_item_tokens",
    "Tokens the model read for one answered item (a text, a pair, a "
    "question with its context), response-cache hits excluded",
    ("model", "task"),
    buckets=ITEM_TOKEN_BUCKETS,
)


class ClassBound:
    """A model's class names as /metrics labels them: at most `limit` of them, the rest OTHER."""

    def __init__(self, named: Sequence[str] | None, limit: int) -> None:
        self.limit = limit
        self.open = named is None  # the requests name the classes: admitted as they come
        self.kept: set[str] = set() if named is None else set(list(dict.fromkeys(named))[:limit])

    def label(self, name: str) -> str:
        if name in self.kept:
            return name
        if self.open and len(self.kept) < self.limit:
            self.kept.add(name)
            return name
        return OTHER


class PredictionMetrics:
    """One worker's model: its items' outcomes into the three metrics, the label values bound once."""

    def __init__(self, model: str, task: str, class_names: Sequence[str] | None, max_labels: int) -> None:
        self.model, self.task = model, task
        self.classes = ClassBound(class_names, max_labels)
        self._confidence = CONFIDENCE.labels(model, task)
        self._tokens = ITEM_TOKENS.labels(model, task)
        self._predicted: dict[str, Counter] = {}  # each class label's series, bound at its first prediction

    def observe(self, outcomes: Sequence[ItemOutcome]) -> None:
        classes: Tally[str] = Tally()
        for outcome in outcomes:
            if outcome.tokens is not None:
                self._tokens.observe(outcome.tokens)
            for prediction in outcome.predictions:
                if prediction.label is not None:
                    classes[self.classes.label(prediction.label)] += 1
                if prediction.confidence is not None:
                    self._confidence.observe(prediction.confidence)
        for label, count in classes.items():
            self._series(label).inc(count)

    def _series(self, label: str) -> Counter:
        series = self._predicted.get(label)
        if series is None:
            series = self._predicted[label] = PREDICTIONS.labels(self.model, self.task, label)
        return series
