"""Sentence embeddings through the default hooks' model: request shapes, parameters, errors, records."""

from __future__ import annotations

import numpy as np
import pytest

from hf_serving.errors import BadRequest, PayloadTooLarge, ResponseTooLarge
from hf_serving.formats.media import CSV, JSONLINES
from hf_serving.formats.records import RecordBatch
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from hf_serving.tasks.sentence_embeddings.requests import EmbeddingParameters, parse_embeddings_request
from tests.support.paths import minilm


@pytest.fixture(scope="module")
def model():
    return load_served_model(minilm(), Settings(model_dir=minilm(), dtype="float32", engine="torch"))


def test_one_text_or_many_always_answers_a_list_of_vectors_in_order(model):
    assert model.task is Task.SENTENCE_EMBEDDINGS
    one = model.predict({"inputs": "A man is eating food."})
    many = model.predict(["A man is eating food.", "The weather is lovely."])
    assert len(one) == 1 and len(one[0]) == 384 and all(isinstance(value, float) for value in one[0])
    assert len(many) == 2
    np.testing.assert_allclose(many[0], one[0], atol=1e-6)
    np.testing.assert_allclose(model.predict("A man is eating food."), one, atol=1e-6)


def test_parameters_at_the_top_level_as_tei_takes_them_or_inside_parameters(model):
    top = model.predict({"inputs": ["Tea or coffee?"], "normalize": False})
    inside = model.predict({"inputs": ["Tea or coffee?"], "parameters": {"normalize": False}})
    assert top == inside and abs(np.linalg.norm(top[0]) - 1.0) > 1e-3


def test_dimensions_keeps_the_first_values_and_renormalises(model):
    full = np.array(model.predict({"inputs": "Matryoshka", "normalize": False})[0])
    cut = np.array(model.predict({"inputs": "Matryoshka", "dimensions": 64})[0])
    assert cut.shape == (64,)
    np.testing.assert_allclose(cut, full[:64] / np.linalg.norm(full[:64]), atol=1e-6)
    with pytest.raises(BadRequest, match="dimensions must be <= 384"):
        model.predict({"inputs": "x", "dimensions": 385})


def test_left_truncation_keeps_the_end_of_an_over_long_text(model):
    cats, markets = "The cat sleeps on the warm sofa. " * 40, "Stock markets fell sharply on Monday. " * 40
    right, left = (
        np.array(model.predict({"inputs": cats + markets, "truncation_direction": side})[0])
        for side in ("Right", "left")
    )
    about_cats, about_markets = (np.array(vector) for vector in model.predict([cats, markets]))
    assert float(right @ about_cats) > 0.99 > float(right @ about_markets)
    assert float(left @ about_markets) > 0.99 > float(left @ about_cats)


def test_truncate_false_refuses_an_over_long_text_with_413_naming_it(model):
    with pytest.raises(PayloadTooLarge, match=r"inputs\[1\] is 30\d tokens long, over this model's 256"):
        model.predict({"inputs": ["short", "word " * 300], "truncate": False})
    assert len(model.predict({"inputs": ["short"], "truncate": False})) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": ""}, "inputs must not be empty"),
        ({"inputs": ["ok", "  "]}, r"inputs\[1\] must not be empty"),
        ({"inputs": ["ok", 3]}, r"inputs\[1\] must be a string, not number"),
        ({"inputs": []}, "inputs must not be an empty list"),
        ({"txt": "x"}, "unknown field"),
        ({"text": "x", "inputs": "x"}, "not both"),
        ({"inputs": "x", "normalize": "yes"}, "normalize must be true or false"),
        ({"inputs": "x", "truncation_direction": "middle"}, "truncation_direction must be one of right, left"),
        ({"inputs": "x", "dimensions": 0}, "dimensions must be an integer >= 1"),
        ({"inputs": "x", "normalize": True, "parameters": {"normalize": False}}, "both at the top level"),
        ({"inputs": "x", "parameters": {"pooling": "cls"}}, "unknown parameters: pooling"),
        (
            {"inputs": "x", "parameters": {"output_value": "tokens"}},
            "output_value must be one of sentence_embedding, token_embeddings",
        ),
        (
            {"inputs": "x", "dimensions": 8, "parameters": {"output_value": "token_embeddings"}},
            "dimensions applies to sentence embeddings, not to token_embeddings",
        ),
        ({"inputs": "x", "prompt_name": "query"}, "not one of this model's prompts"),
    ],
)
def test_bad_requests_are_400s_naming_the_field(model, payload, message):
    with pytest.raises(BadRequest, match=message):
        model.predict(payload)


def test_json_lines_records_share_one_pass_and_a_bad_record_keeps_its_own_error(model):
    calls = []
    original = model.engine.run
    model.engine.run = lambda feed: calls.append(feed["input_ids"].shape[0]) or original(feed)
    try:
        results = model.predict_records(RecordBatch(JSONLINES, [{"inputs": "one"}, {"inputs": ""}, ["two", "three"]]))
    finally:
        model.engine.run = original
    assert calls == [3]  # one model pass for the three texts of the two good records
    first, error, pair = results.results
    assert len(first) == 1 and len(pair) == 2 and isinstance(error, BadRequest)
    np.testing.assert_allclose(first[0], model.predict("one")[0], atol=1e-6)


def test_a_csv_row_is_one_text(model):
    results = model.predict_records(RecordBatch(CSV, [["first text"], ["second, with a comma"]]))
    assert [len(result[0]) for result in results.results] == [384, 384]
    with pytest.raises(BadRequest, match="row 1: a row must have 1 column: text"):
        model.predict_records(RecordBatch(CSV, [["a", "b"]]))


def test_parameters_are_hashable_so_records_group_by_them():
    request = parse_embeddings_request({"inputs": ["a"], "normalize": False, "truncation_direction": "LEFT"})
    assert request.parameters == EmbeddingParameters(normalize=False, truncation_direction="left")
    assert hash(request.parameters) == hash(EmbeddingParameters(normalize=False, truncation_direction="left"))


def test_texts_whose_vectors_alone_are_over_the_answer_limit_are_a_413_before_any_model_pass(model, monkeypatch):
    monkeypatch.setattr(model, "answer", lambda items, parameters: pytest.fail("the model ran"))
    texts = ["x"] * (16 * 1024 * 1024 // (384 * 4) + 1)  # 384 numbers of at least 4 bytes each, past 16 MB
    with pytest.raises(ResponseTooLarge) as refused:
        model.predict({"inputs": texts})
    assert f"the answer to {len(texts):,} texts holds {len(texts) * 384:,} numbers" in refused.value.message
    assert "16 MB answer limit (SERVE_MAX_RESPONSE_MB)" in refused.value.message
    lines = RecordBatch(JSONLINES, [{"inputs": texts[:6000]}, {"inputs": texts[6000:]}, BadRequest("bad")])
    with pytest.raises(ResponseTooLarge):  # the records' answers make one body
        model.predict_records(lines)


def test_the_floor_counts_the_vectors_width_as_asked(model):
    assert model.numbers_per_item(EmbeddingParameters()) == 384
    assert model.numbers_per_item(EmbeddingParameters(dimensions=64)) == 64
