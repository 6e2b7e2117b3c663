"""Parity with transformers' fill-mask pipeline on the same weights (a tiny random DistilBertForMaskedLM with the real
uncased vocabulary, conftest.py), texts over the maximum, and the cap on a model pass's logits."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from transformers import pipeline

from hf_serving.errors import BadRequest, ConfigurationError
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks import text_batches
from hf_serving.tasks.base import Task
from hf_serving.tasks.fill_mask import filler
from hf_serving.tasks.fill_mask.filler import MaskFiller
from hf_serving.tasks.scores import softmax

TEXT = "Paris is the [MASK] of France."
CASES = [
    ("one text, the default top_k", TEXT, {}),
    (
        "top_k 3 on a list of texts of different lengths",
        [TEXT, "a [MASK]", "Café 漢字 🙂 ok [MASK]\tfine\n"],
        {"top_k": 3},
    ),
    ("a list of one text answers as the text", [TEXT], {"top_k": 2}),
    ("two masks in one text: a list per mask, special tokens kept", "The [MASK] sat on the [MASK].", {"top_k": 4}),
    ("two masks among texts of one mask", ["The [MASK] sat on the [MASK].", TEXT], {}),
    ("top_k 100", TEXT, {"top_k": 100}),
    (
        "targets in the vocabulary, top_k over their number",
        TEXT,
        {"targets": ["capital", "city", "heart"], "top_k": 10},
    ),
    ("one target as a string", [TEXT, "a [MASK]"], {"targets": "capital"}),
    (
        "targets out of the vocabulary: their first token; one that tokenises to nothing is ignored",
        TEXT,
        {"targets": ["capital", "Zebrafication", "\u200b", "CAPITAL"], "top_k": 3},
    ),
    ("targets with two masks", "The [MASK] sat on the [MASK].", {"targets": ["cat", "mat", "dog"]}),
]


def assert_same(ours, theirs):
    """Tokens, words and sequences equal, scores within 1e-5 relative, the same nesting."""
    assert type(ours) is type(theirs)
    if isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for mine, expected in zip(ours, theirs, strict=True):
            assert_same(mine, expected)
    else:
        assert list(ours) == ["score", "token", "token_str", "sequence"]
        assert {key: ours[key] for key in ("token", "token_str", "sequence")} == {
            key: theirs[key] for key in ("token", "token_str", "sequence")
        }
        assert ours["score"] == pytest.approx(theirs["score"], rel=1e-5)


@pytest.mark.parametrize(("inputs", "parameters"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_answers_equal_the_pipelines(model, reference, inputs, parameters, caplog):
    with caplog.at_level(logging.ERROR):  # the pipeline warns of each replaced target
        expected = reference(inputs, **parameters)
    assert_same(model.predict({"inputs": inputs, "parameters": parameters}), expected)


def test_the_model_is_found_from_its_architecture_and_reports_its_tokens(model):
    assert model.task is Task.FILL_MASK
    found = model.filler(["a [MASK]", TEXT], top_k=1)
    assert [filled.tokens for filled in found] == [4, 9]
    model.predict({"inputs": ["a [MASK]", TEXT, "[MASK] " + "x " * 600]})
    usage = model.take_usage()
    assert usage is not None and usage.tokens == 4 + 9 + 512


def test_a_text_over_the_maximum_is_truncated_as_the_pipeline_truncates_when_asked(model, reference):
    text = "[MASK] begins a text far over the model's maximum. " + "filler words " * 400
    expected = reference(text, tokenizer_kwargs={"truncation": True})
    assert_same(model.predict(text), expected)


def test_a_pass_holds_at_most_its_logits_cap_of_masks_and_a_text_over_it_goes_alone(model, monkeypatch):
    assert model.filler.head_on_masks  # the served model's head runs on the masks alone (engines/masked_lm.py)
    shapes = []
    run = model.engine.run
    monkeypatch.setattr(model.engine, "run", lambda feed: shapes.append(feed["input_ids"].shape) or run(feed))
    monkeypatch.setattr(model.filler, "max_logit_rows", 3)
    texts = ["a [MASK]", "the [MASK] b", "one two three four five [MASK] six [MASK] seven [MASK] eight [MASK]"] * 2
    answers = model.predict({"inputs": texts})
    # 4, 4, 5 | 5 tokens of one mask each, shortest first; then 14 tokens of 4 masks, twice: each over the cap, alone
    assert shapes == [(3, 5), (1, 5), (1, 14), (1, 14)]
    monkeypatch.setattr(model.filler, "max_logit_rows", 10_000)
    # The same answers, the scores to float32's rounding: the head's product has another shape in another pass.
    assert_same(answers, model.predict({"inputs": texts}))


def test_the_logits_cap_follows_the_vocabulary(model):
    assert model.filler.max_logit_rows == filler.LOGITS_BYTES_PER_PASS // (4 * 30522)


def test_chunks_are_capped_by_rows_by_padded_tokens_and_by_weight():
    lengths = [3, 3, 5, 9, 40]
    order = list(range(5))
    assert text_batches._chunks(order, lengths, 32, None) == [[0, 1, 2, 3, 4]]
    assert text_batches._chunks(order, lengths, 2, None) == [[0, 1], [2, 3], [4]]
    assert text_batches._chunks(order, lengths, 32, 16) == [[0, 1, 2], [3], [4]]
    weights = [1, 2, 1, 5, 1]
    assert text_batches._chunks(order, lengths, 32, None, weights, 4) == [[0, 1, 2], [3], [4]]
    assert text_batches._chunks(order, lengths, 32, 16, weights, 3) == [[0, 1], [2], [3], [4]]


def test_a_tokenizer_without_a_mask_token_fails_at_start():
    class NoMask:
        mask_token_id = None

    with pytest.raises(ConfigurationError, match="no mask token"):
        MaskFiller(engine=None, tokenizer=NoMask(), config=None)  # type: ignore[arg-type]


def test_scores_are_the_softmax_of_the_masks_logits(model):
    logits = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    probabilities = softmax(logits)
    assert probabilities.sum() == pytest.approx(1.0)
    assert filler._top(probabilities[0], 2, None) == [
        (pytest.approx(0.665, abs=1e-3), 2),
        (pytest.approx(0.245, abs=1e-3), 1),
    ]
    assert filler._top(probabilities[0, [2, 0]], 5, np.array([2, 0])) == [
        (pytest.approx(0.665, abs=1e-3), 2),
        (pytest.approx(0.09, abs=1e-3), 0),
    ]


@pytest.fixture(scope="module")
def roberta(roberta_dir):
    return (
        load_served_model(roberta_dir, Settings(model_dir=roberta_dir, dtype="float32")),
        pipeline("fill-mask", model=str(roberta_dir), device="cpu"),
    )


@pytest.mark.parametrize(
    ("inputs", "parameters"),
    [
        ("The <mask> sat on the mat.", {}),
        (["The <mask> sat on the <mask>.", "Café 漢字 🙂<mask> naïve", "I drink <mask>"], {"top_k": 3}),
        ("Paris is the <mask> of France.", {"targets": ["capital", " capital", "Kombucha", "🙂"], "top_k": 10}),
    ],
    ids=["one text", "two masks, emoji, a list", "targets with and without a leading space"],
)
def test_a_roberta_model_with_its_own_mask_token_answers_as_the_pipeline(roberta, inputs, parameters, caplog):
    model, reference = roberta
    with caplog.at_level(logging.ERROR):
        expected = reference(inputs, **parameters)
    assert_same(model.predict({"inputs": inputs, "parameters": parameters}), expected)


def test_a_roberta_model_truncates_at_its_own_maximum_and_names_its_own_mask_token(roberta):
    model, reference = roberta
    text = "The <mask> sat on the mat. " + "Paris is the capital of France. " * 10  # over its 64 tokens
    assert_same(model.predict(text), reference(text, tokenizer_kwargs={"truncation": True}))
    with pytest.raises(BadRequest, match=r"inputs\[1\] has no <mask>: put <mask> where the word to fill goes"):
        model.predict([text, "The [MASK] sat."])
    with pytest.raises(BadRequest, match="has 1 <mask> of 1 past the model's maximum of 64 tokens"):
        model.predict("Paris is the capital of France. " * 10 + "The <mask> sat.")
