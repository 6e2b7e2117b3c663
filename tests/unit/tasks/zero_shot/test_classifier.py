"""Parity with transformers' zero-shot-classification pipeline on the same weights, the entailment label found as
the pipeline finds it, and every pair of a batch in as few model passes as the engine's batch size allows."""

from __future__ import annotations

import math

import pytest
from transformers import pipeline

from hf_serving.errors import BadRequest, ConfigurationError
from hf_serving.formats.media import JSONLINES
from hf_serving.formats.records import RecordBatch
from tests.support.nli_models import assert_same_answers, tiny_nli
from tests.unit.tasks.zero_shot.conftest import TASK, served

TEXTS = ["I love this container!", "The match went to extra time.", "Café 漢字 🙂 ok\tfine\n", "tax " * 30]
LABELS = ["sports", "politics", "cooking", "happy customer"]
LONG = " ".join(f"word{i % 97} and the {i % 13}th thing" for i in range(400))  # ~3,000 tokens: truncated
CASES = [
    ("one text", TEXTS[0], {"candidate_labels": LABELS}),
    ("a comma-separated string", TEXTS[1], {"candidate_labels": " sports,politics , cooking,"}),
    ("multi_label", TEXTS[1], {"candidate_labels": LABELS, "multi_label": True}),
    ("one label", TEXTS[2], {"candidate_labels": ["sports"]}),
    ("a template", TEXTS[3], {"candidate_labels": LABELS, "hypothesis_template": "Ce texte parle de {}."}),
    ("a list of texts", TEXTS, {"candidate_labels": LABELS}),
    ("a list, multi_label", TEXTS, {"candidate_labels": LABELS[:2], "multi_label": True}),
    ("a text over the model's length", LONG, {"candidate_labels": LABELS}),
    ("no whitespace to cut at", "abc," * 1500, {"candidate_labels": LABELS[:2]}),
]


@pytest.fixture(scope="module")
def entailment_first(tmp_path_factory):
    """Entailment at index 0 (the pipeline then takes the last label as contradiction), spelt in capitals."""
    return tiny_nli(
        tmp_path_factory.mktemp("tiny-nli-entailment-first"), ("ENTAILMENT", "neutral", "contradiction"), seed=8
    )


@pytest.mark.parametrize("fixture", ["nli", "entailment_first"])
@pytest.mark.parametrize(("name", "inputs", "parameters"), CASES, ids=[c[0] for c in CASES])
def test_results_equal_the_transformers_pipeline(request, fixture, name, inputs, parameters):
    path = request.getfixturevalue(fixture)
    reference = pipeline(TASK, model=str(path), device="cpu")
    ours = served(path).predict({"inputs": inputs, "parameters": parameters})
    assert_same_answers(ours, reference(inputs, **parameters))


def test_candidate_labels_beside_inputs_give_the_same_answer(nli):
    model = served(nli)
    assert model.predict({"text": TEXTS[0], "candidate_labels": LABELS}) == model.predict(
        {"inputs": TEXTS[0], "parameters": {"candidate_labels": LABELS}}
    )


def test_a_model_without_an_entailment_label_is_refused_naming_its_labels(tmp_path):
    path = tiny_nli(tmp_path / "model", ("yes", "maybe", "no"))
    with pytest.raises(ConfigurationError) as caught:
        served(path)
    assert "entail" in str(caught.value) and "labels are yes, maybe, no" in str(caught.value)


def test_a_hypothesis_too_long_to_leave_room_for_the_text_is_a_400_naming_the_parameters(nli):
    with pytest.raises(BadRequest) as caught:
        served(nli).predict({"inputs": "short", "parameters": {"candidate_labels": ["x " * 600]}})
    assert "parameters.candidate_labels" in str(caught.value) and "512" in str(caught.value)


class CountingEngine:
    """The served engine, with a small batch size, counting its passes and the rows of each."""

    def __init__(self, engine, max_batch_size):
        self.engine = engine
        self.max_batch_size = max_batch_size
        self.rows: list[int] = []

    def run(self, inputs):
        self.rows.append(len(inputs["input_ids"]))
        return self.engine.run(inputs)


def test_a_batch_of_requests_with_different_labels_shares_model_passes(nli):
    model = served(nli)
    records = [
        {"inputs": TEXTS[0], "parameters": {"candidate_labels": LABELS[:2]}},
        {"inputs": TEXTS[1:3], "parameters": {"candidate_labels": LABELS, "multi_label": True}},
        {"inputs": TEXTS[3], "parameters": {"candidate_labels": "a,b,c", "hypothesis_template": "It is about {}."}},
    ]
    alone = [model.predict(record) for record in records]
    counting = CountingEngine(model.engine, max_batch_size=4)
    model.classifier.engine = counting
    results = model.predict_records(RecordBatch(JSONLINES, records)).results
    pairs = 2 + 2 * 4 + 3
    assert sum(counting.rows) == pairs
    assert len(counting.rows) == math.ceil(pairs / 4)
    for mine, single in zip(results, alone, strict=True):
        assert_same_answers(mine, single)


def test_the_pairs_of_a_batch_go_through_shortest_first(nli):
    model = served(nli)
    counting = CountingEngine(model.engine, max_batch_size=2)
    model.classifier.engine = counting
    widths: list[int] = []
    run = counting.run
    counting.run = lambda inputs: widths.append(inputs["input_ids"].shape[1]) or run(inputs)  # type: ignore[method-assign]
    model.predict({"inputs": [TEXTS[3], TEXTS[0], LONG], "parameters": {"candidate_labels": LABELS}})
    assert widths == sorted(widths) and len(widths) == 6
