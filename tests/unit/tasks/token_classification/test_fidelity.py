"""The fidelity gate for token classification, on the tagger trained here (real weights: tools/ner_minilm.py):
bfloat16 and int8 (OpenVINO on this CPU) find float32's entities.

On 200 sentences drawn with another seed than training's, the entities (their group, start and end) of each reduced
precision must equal float32's on at least 99% of sentences, every token's label must agree on at least 99% of
tokens, and float32 itself must find exactly the entities of at least 80% of the sentences (the gate judges a
tagger that knows its answers).
"""

from __future__ import annotations

import pytest

from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tools.ner_minilm import examples

HELD_OUT = examples(seed=12345, per_shape=40)[:200]
TEXTS = [text for text, _ in HELD_OUT]


def entities(answer: list[dict]) -> list[tuple[str, int, int]]:
    return [(entity["entity_group"], entity["start"], entity["end"]) for entity in answer]


@pytest.fixture(scope="module")
def float32_answers(trained_ner):
    model = load_served_model(trained_ner, Settings(model_dir=trained_ner, dtype="float32"))
    grouped = model.predict({"inputs": TEXTS, "parameters": {"aggregation_strategy": "simple"}})
    tokens = model.predict({"inputs": TEXTS, "parameters": {"ignore_labels": []}})
    return grouped, tokens


def test_float32_knows_the_entities_of_the_held_out_sentences(float32_answers):
    grouped, _ = float32_answers
    found = sum(
        entities(answer) == [(kind, start, end) for start, end, kind in spans]
        for answer, (_, spans) in zip(grouped, HELD_OUT, strict=True)
    )
    assert found >= 0.8 * len(HELD_OUT)  # 176 of 200 when this was written: a small tagger, but no random one


@pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt")
@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_reduced_precision_finds_float32s_entities(trained_ner, float32_answers, dtype):
    reference_grouped, reference_tokens = float32_answers
    reduced = load_served_model(trained_ner, Settings(model_dir=trained_ner, dtype=dtype))
    assert reduced.engine.dtype == dtype
    grouped = reduced.predict({"inputs": TEXTS, "parameters": {"aggregation_strategy": "simple"}})
    same = sum(entities(mine) == entities(theirs) for mine, theirs in zip(grouped, reference_grouped, strict=True))
    assert same >= 0.99 * len(TEXTS)
    tokens = reduced.predict({"inputs": TEXTS, "parameters": {"ignore_labels": []}})
    labels = [token["entity"] for answer in tokens for token in answer]
    expected = [token["entity"] for answer in reference_tokens for token in answer]
    assert len(labels) == len(expected)
    assert sum(mine == theirs for mine, theirs in zip(labels, expected, strict=True)) >= 0.99 * len(expected)
