"""One worker's sliding window: the last DRIFT_WINDOW answered items, counted into the baseline's bins as each one
arrives and taken out as it leaves, so a PSI never re-reads the window (this runs on the request path)."""

from __future__ import annotations

from collections import deque

from hf_serving.monitoring.drift.profile import OTHER_CLASS, SIGNALS, ModelProfile
from hf_serving.monitoring.drift.psi import psi, shares
from hf_serving.monitoring.outcomes import ItemOutcome

# A signal's PSI is reported once this many of its observations are in the window: fewer would read as drift from
# chance alone (about (B - 1) / N with B filled bins, psi.py), and 100 keeps that near 0.1 at the worst.
REPORTED_FROM = 100

_NO_TOKENS = -1


class SlidingWindow:
    """Bin counts of the last `size` items, per signal, beside the baseline's shares on the same bins."""

    def __init__(self, profile: ModelProfile, size: int) -> None:
        self.size = size
        self._confidence_bins, self._token_bins = profile.confidence, profile.tokens
        labels = sorted(profile.classes)
        self._label_bins = {label: index for index, label in enumerate(labels)}
        self._other_bin = len(labels)  # a label the baseline never saw
        self.bin_names = {"class": [*labels, OTHER_CLASS]}
        expected_counts = {
            "class": [*(profile.classes[label] for label in labels), 0],
            "confidence": list(profile.confidence.counts),
            "tokens": list(profile.tokens.counts),
        }
        # Only what the baseline observed can drift: QA has no classes, embeddings no confidences.
        self.signals = tuple(signal for signal in SIGNALS if sum(expected_counts[signal]))
        self.expected = {signal: shares(expected_counts[signal]) for signal in self.signals}
        self.counts = {signal: [0] * len(expected_counts[signal]) for signal in SIGNALS}
        self.totals = dict.fromkeys(SIGNALS, 0)
        self._items: deque[tuple[tuple[int, ...], tuple[int, ...], int]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, outcome: ItemOutcome) -> None:
        classes = tuple(
            self._label_bins.get(p.label, self._other_bin) for p in outcome.predictions if p.label is not None
        )
        confidences = tuple(
            self._confidence_bins.index(p.confidence) for p in outcome.predictions if p.confidence is not None
        )
        tokens = self._token_bins.index(outcome.tokens) if outcome.tokens is not None else _NO_TOKENS
        if len(self._items) >= self.size:
            self._count(*self._items.popleft(), -1)
        self._items.append((classes, confidences, tokens))
        self._count(classes, confidences, tokens, 1)

    def _count(self, classes: tuple[int, ...], confidences: tuple[int, ...], tokens: int, step: int) -> None:
        counts, totals = self.counts, self.totals
        for index in classes:
            counts["class"][index] += step
        totals["class"] += step * len(classes)
        for index in confidences:
            counts["confidence"][index] += step
        totals["confidence"] += step * len(confidences)
        if tokens != _NO_TOKENS:
            counts["tokens"][tokens] += step
            totals["tokens"] += step

    def reportable(self, signal: str) -> bool:
        return signal in self.expected and self.totals[signal] >= REPORTED_FROM

    def psi(self, signal: str) -> float:
        return psi(self.expected[signal], self.counts[signal])
