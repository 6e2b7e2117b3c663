"""Explanations of text classification on a model whose answers are known: MiniLM trained here on opinion words
(tools/sentiment_minilm.py), so the word that decides a sentence is known too."""

from __future__ import annotations

import dataclasses

import pytest

from hf_serving.errors import BadRequest
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tools.sentiment_minilm import WORDS

# Sentence shapes the model never saw, around words it knows: (text, the word that decides it, its label).
HELD_OUT = [
    ("Last night the meal was truly dreadful.", "dreadful", "NEGATIVE"),
    ("My sister said the hotel felt unpleasant.", "unpleasant", "NEGATIVE"),
    ("Everyone agreed that the concert was brilliant.", "brilliant", "POSITIVE"),
    ("After the rain, our trip became fantastic.", "fantastic", "POSITIVE"),
    ("The service at the station was poor.", "poor", "NEGATIVE"),
    ("A delightful book for a long weekend.", "delightful", "POSITIVE"),
]


@pytest.fixture(scope="module")
def model(trained_sentiment):
    return load_served_model(trained_sentiment, Settings(model_dir=trained_sentiment, dtype="float32"))


def _target(result: dict, label: str) -> dict:
    [found] = [target for target in result["explanation"]["targets"] if target["target"] == label]
    return found


def test_the_opinion_word_has_the_largest_attribution_to_the_predicted_label(model):
    texts = [text for text, _, _ in HELD_OUT]
    results = model.predict({"inputs": texts, "parameters": {"explain": True}})
    for (text, word, label), result in zip(HELD_OUT, results, strict=True):
        assert result["label"] == label, text
        target = _target(result, label)
        top = max(target["tokens"], key=lambda token: token["attribution"])
        assert top["token"] == word, (text, target["tokens"])
        assert text[top["start"] : top["end"]] == word


def test_for_the_other_label_the_opinion_word_counts_most_against_it(model):
    text, word, label = HELD_OUT[0]
    other = "POSITIVE" if label == "NEGATIVE" else "NEGATIVE"
    [result] = model.predict({"inputs": [text], "parameters": {"explain": True, "explain_label": other}})
    assert [target["target"] for target in result["explanation"]["targets"]] == [label, other]
    lowest = min(_target(result, other)["tokens"], key=lambda token: token["attribution"])
    assert lowest["token"] == word


def test_the_explanation_reports_the_score_it_explains_and_how_well_it_adds_up(model):
    [result] = model.predict({"inputs": "This restaurant was awful.", "parameters": {"explain": True}})
    explanation = result["explanation"]
    assert (explanation["method"], explanation["baseline"]) == ("integrated_gradients", "[PAD]")
    [target] = explanation["targets"]
    assert target["output"] == "softmax score" and target["value"] == pytest.approx(result["score"], abs=1e-5)
    assert target["converged"] and 32 <= target["steps"] <= 256
    total = sum(token["attribution"] for token in target["tokens"])
    assert target["delta"] == pytest.approx(total - (target["value"] - target["baseline_value"]), abs=1e-6)
    assert abs(target["delta"]) <= max(0.01 * abs(target["value"] - target["baseline_value"]), 0.001)
    assert [token["token"] for token in target["tokens"]] == ["This", "restaurant", "was", "awful", "."]


def test_with_top_k_the_first_label_carries_the_explanation_and_raw_logits_can_be_explained(model):
    [ranked] = model.predict(
        {"inputs": ["What a lovely show!"], "parameters": {"explain": True, "top_k": None, "function_to_apply": "none"}}
    )
    assert "explanation" in ranked[0] and "explanation" not in ranked[1]
    [target] = ranked[0]["explanation"]["targets"]
    assert (target["target"], target["output"]) == (ranked[0]["label"], "logit")
    assert target["value"] == pytest.approx(ranked[0]["score"], abs=1e-4)


def test_an_unknown_label_is_a_400_naming_the_labels(model):
    with pytest.raises(BadRequest, match="'MAYBE' is not one of this model's labels: NEGATIVE, POSITIVE"):
        model.predict({"inputs": "fine", "parameters": {"explain": True, "explain_label": "MAYBE"}})


def test_requests_without_explain_are_unchanged(model):
    [plain] = model.predict({"inputs": ["The film was wonderful."]})
    assert set(plain) == {"label", "score"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"explain": False}, "SERVE_EXPLAIN=off"),
        ({"multi_model": True}, "a multi-model endpoint has no worker to explain in"),
        # A single-model endpoint's batching worker: an explain request that reached it anyway is never explained there.
        ({"explain_elsewhere": True}, "reached a batching worker, which never explains"),
    ],
)
def test_where_explanations_are_off_explain_is_a_400_saying_why(trained_sentiment, change, reason):
    settings = dataclasses.replace(Settings(model_dir=trained_sentiment, dtype="float32"), **change)
    model = load_served_model(trained_sentiment, settings)
    with pytest.raises(BadRequest, match=reason):
        model.predict({"inputs": "fine", "parameters": {"explain": True}})
    assert model.predict({"inputs": "fine"})[0]["label"] in WORDS


def test_a_bfloat16_engine_explains_with_a_float32_copy_loaded_on_first_use(trained_sentiment):
    model = load_served_model(trained_sentiment, Settings(model_dir=trained_sentiment, dtype="bfloat16"))
    assert model.engine.dtype == "bfloat16"
    [result] = model.predict({"inputs": ["The hotel was horrible."], "parameters": {"explain": True}})
    [target] = result["explanation"]["targets"]
    top = max(target["tokens"], key=lambda token: token["attribution"])
    assert (result["label"], top["token"]) == ("NEGATIVE", "horrible")
    assert target["value"] == pytest.approx(result["score"], abs=0.02)  # float32's score beside bfloat16's
