"""The fidelity gate for zero-shot classification: bfloat16 and int8 (OpenVINO on this CPU) answer as float32 does
on the tiny NLI model (random weights, scores spread apart: tests/support/nli_models.py): the same best label for
every text (or, where float32's best two are within 0.02, a label float32 scores within 0.02 of its best), and every
label's score within 0.05."""

from __future__ import annotations

import pytest

from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from tests.unit.tasks.zero_shot.conftest import TASK, served

TEXTS = [
    "The striker scored twice in the final.",
    "Parliament passed the budget.",
    "Add the eggs one at a time.",
    "My phone will not charge.",
    "The weather is lovely today.",
    "Stocks fell sharply.",
    "I loved the film.",
    "The train was late again.",
    "She plays the violin.",
    "The server crashed at midnight.",
    "Rain tomorrow.",
    "Buy low, sell high.",
]
LABELS = ["sports", "politics", "cooking", "technology", "weather"]


def scores_by_label(answer: dict) -> dict[str, float]:
    return dict(zip(answer["labels"], answer["scores"], strict=True))


@pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt")
@pytest.mark.parametrize("multi_label", [False, True], ids=["softmax across labels", "multi_label"])
@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_reduced_precision_answers_as_float32(nli, dtype, multi_label):
    request = {"inputs": TEXTS, "parameters": {"candidate_labels": LABELS, "multi_label": multi_label}}
    reference = served(nli).predict(request)
    reduced = load_served_model(nli, Settings(model_dir=nli, dtype=dtype, task=TASK))
    assert reduced.engine.dtype == dtype
    answers = reduced.predict(request)
    for mine, expected in zip(answers, reference, strict=True):
        mine_scores, expected_scores = scores_by_label(mine), scores_by_label(expected)
        assert expected_scores[mine["labels"][0]] >= expected["scores"][0] - 0.02  # the best, or a near tie of it
        assert all(abs(mine_scores[label] - expected_scores[label]) <= 0.05 for label in LABELS)
