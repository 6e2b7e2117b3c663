"""monitoring/drift/window.py: the last DRIFT_WINDOW items' bin counts, kept as items arrive and leave, equal the
counts of those items made from scratch; and each signal's PSI against the baseline."""

from __future__ import annotations

import random

import pytest

from hf_serving.monitoring.drift.profile import OTHER_CLASS, ProfileBuilder
from hf_serving.monitoring.drift.psi import psi, shares
from hf_serving.monitoring.drift.window import REPORTED_FROM, SlidingWindow
from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from tests.unit.monitoring.drift_fixtures import LABELS, baseline, outcomes


def recounted(window: SlidingWindow, items: list[ItemOutcome]) -> dict[str, list[int]]:
    """What the window's counts must be: its items counted into a fresh profile's bins."""
    builder = ProfileBuilder(None, None)
    builder.add(items)
    labels = window.bin_names["class"]
    classes = [builder.classes.get(label, 0) for label in labels[:-1]]
    classes.append(sum(count for label, count in builder.classes.items() if label not in labels[:-1]))
    return {"class": classes, "confidence": builder.confidence, "tokens": builder.tokens}


def test_the_counts_are_those_of_the_last_items_whatever_came_before():
    rng = random.Random(3)
    window = SlidingWindow(baseline(), size=50)
    seen: list[ItemOutcome] = []
    for step in range(400):
        # Every shape a task reports: one prediction, several (token classification), none, an unknown class, no
        # confidence (a logit), no tokens (a response-cache hit).
        kind = rng.randrange(6)
        predictions = {
            0: (Prediction(rng.choice(LABELS), rng.random()),),
            1: (Prediction("POSITIVE", 0.99), Prediction("NEGATIVE", 0.7)),
            2: (),
            3: (Prediction("SARCASM", 0.5),),
            4: (Prediction("NEGATIVE", None),),
            5: (Prediction(None, 0.3),),
        }[kind]
        item = ItemOutcome(predictions, None if step % 7 == 0 else rng.randint(1, 3000))
        window.add(item)
        seen.append(item)
        if step % 37 == 0 or step == 399:
            assert len(window) == min(len(seen), 50)
            assert window.counts == recounted(window, seen[-50:])
            assert window.totals == {signal: sum(counts) for signal, counts in window.counts.items()}


def test_a_class_the_baseline_never_saw_counts_in_its_own_bin():
    window = SlidingWindow(baseline(), size=10)
    window.add(ItemOutcome((Prediction("SARCASM", 0.8),), 10))
    assert window.bin_names["class"] == [*LABELS, OTHER_CLASS]
    assert window.counts["class"] == [0, 0, 1]


def test_each_psi_is_that_of_the_window_against_the_baseline():
    profile = baseline(positive=0.5)
    window = SlidingWindow(profile, size=500)
    for item in outcomes(500, positive=0.9, tokens=(30, 60), seed=5):
        window.add(item)
    expected_classes = shares([profile.classes["NEGATIVE"], profile.classes["POSITIVE"], 0])
    assert window.psi("class") == pytest.approx(psi(expected_classes, window.counts["class"]))
    assert window.psi("tokens") == pytest.approx(psi(shares(profile.tokens.counts), window.counts["tokens"]))
    assert window.psi("class") > 0.25 and window.psi("tokens") > 0.25
    assert window.psi("confidence") < 0.1  # the confidences did not move


def test_traffic_like_the_baseline_reads_low_on_every_signal():
    window = SlidingWindow(baseline(), size=1000)
    for item in outcomes(1000, seed=9):
        window.add(item)
    assert {signal: window.psi(signal) < 0.05 for signal in window.signals} == dict.fromkeys(
        ("class", "confidence", "tokens"), True
    )


def test_a_signal_is_reportable_once_it_has_enough_observations_and_only_what_the_baseline_has():
    window = SlidingWindow(baseline(), size=1000)
    for item in outcomes(REPORTED_FROM - 1):
        window.add(item)
    assert not window.reportable("class")
    window.add(outcomes(1)[0])
    assert window.reportable("class") and window.reportable("tokens") and window.reportable("confidence")
    # An embeddings model's baseline: no classes, no confidences; only its lengths can drift.
    builder = ProfileBuilder("sentence-embeddings", None)
    builder.add([ItemOutcome((), 12)] * 200)
    assert SlidingWindow(builder.profile({}), size=100).signals == ("tokens",)
