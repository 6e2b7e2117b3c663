"""What a text classification's items predicted, as monitoring reads them: the top label and its score where that is
a probability, the tokens the model read, on the trained demo sentiment model (build/demo-sentiment-trained)."""

from __future__ import annotations

import pytest

from hf_serving.caching.response_cache import ResponseCache
from hf_serving.caching.stores import MemoryStore
from hf_serving.errors import BadRequest
from hf_serving.formats.media import CSV, JSONLINES
from hf_serving.formats.records import RecordBatch
from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from hf_serving.observability.worker_metrics import WorkerMetrics
from tests.support.outcomes import answered, demo_model, token_count

TEXTS = ["I love this, it is wonderful.", "This was a terrible waste of money.", "Fine."]


@pytest.fixture(scope="module")
def model():
    return demo_model("demo-sentiment-trained")


def test_each_text_predicts_its_top_label_with_its_score_and_its_tokens(model):
    answer, outcomes = answered(model, {"inputs": TEXTS})
    assert {entry["label"] for entry in answer} == {"POSITIVE", "NEGATIVE"}  # a trained model: both classes
    assert outcomes == [
        ItemOutcome((Prediction(entry["label"], entry["score"]),), token_count(model, text))
        for entry, text in zip(answer, TEXTS, strict=True)
    ]


def test_top_k_lists_predict_their_first_label(model):
    answer, outcomes = answered(model, {"inputs": TEXTS[:2], "parameters": {"top_k": None}})
    assert [outcome.predictions for outcome in outcomes] == [
        (Prediction(ranked[0]["label"], ranked[0]["score"]),) for ranked in answer
    ]
    assert all(ranked[0]["score"] > ranked[1]["score"] for ranked in answer)


def test_a_pair_counts_both_texts_tokens(model):
    answer, [outcome] = answered(model, {"inputs": {"text": TEXTS[0], "text_pair": TEXTS[1]}})
    assert outcome == ItemOutcome(
        (Prediction(answer["label"], answer["score"]),), token_count(model, TEXTS[0], TEXTS[1])
    )


@pytest.mark.parametrize("parameters", [{"function_to_apply": "none"}, {"raw_scores": True}])
def test_a_logit_is_no_confidence_but_the_label_counts(model, parameters):
    [answer], [outcome] = answered(model, {"inputs": TEXTS[0], "parameters": parameters})
    assert answer["score"] > 1  # a logit, not a probability
    assert outcome.predictions == (Prediction(answer["label"], None),)


def test_a_regression_models_score_is_no_confidence(model, monkeypatch):
    monkeypatch.setattr(model.classifier, "default_function", "none")  # problem_type regression's default
    [answer], [outcome] = answered(model, {"inputs": TEXTS[1]})
    assert outcome.predictions == (Prediction(answer["label"], None),)
    [_], [sigmoid] = answered(model, {"inputs": TEXTS[1], "parameters": {"function_to_apply": "sigmoid"}})
    assert sigmoid.predictions[0].confidence is not None and 0 < sigmoid.predictions[0].confidence < 1


def test_the_classes_are_the_models_labels_in_its_order(model):
    assert model.class_names() == ("NEGATIVE", "POSITIVE")


def test_records_keep_their_own_outcomes_and_a_bad_record_has_none(model):
    results = model.predict_records(
        RecordBatch(JSONLINES, [{"inputs": TEXTS[:2]}, {"inputs": 3}, {"inputs": TEXTS[2]}])
    )
    assert isinstance(results.results[1], BadRequest)
    assert results.outcomes is not None and results.outcomes[1] == []
    assert [o.predictions[0].label for o in results.outcomes[0]] == [e["label"] for e in results.results[0]]
    assert results.outcomes[2] == [
        ItemOutcome(
            (Prediction(results.results[2][0]["label"], results.results[2][0]["score"]),), token_count(model, TEXTS[2])
        )
    ]
    rows = model.predict_records(RecordBatch(CSV, [[TEXTS[0]], [TEXTS[1]]]))
    assert [items[0].tokens for items in rows.outcomes or []] == [token_count(model, t) for t in TEXTS[:2]]


def test_a_response_cache_hit_read_no_tokens_but_its_prediction_counts(model):
    cached = demo_model("demo-sentiment-trained")
    cached.use_cache(
        ResponseCache(
            MemoryStore(1 << 20, 60),
            "identity",
            WorkerMetrics("model", "text-classification", enabled=False),
            cached.encode_result,
            cached.decode_result,
        )
    )
    _, first = answered(cached, {"inputs": TEXTS[:2]})
    _, again = answered(cached, {"inputs": TEXTS[:2]})
    assert [outcome.tokens for outcome in again] == [None, None]
    assert [outcome.predictions for outcome in again] == [outcome.predictions for outcome in first]
    assert all(outcome.tokens for outcome in first)


def test_a_failing_outcome_never_changes_the_answer_and_is_counted(model, monkeypatch):
    from hf_serving.monitoring import failures

    monkeypatch.setattr(failures, "_worker", failures._Worker())  # a worker serving "model", /metrics on
    expected = model.predict({"inputs": TEXTS[0]})
    before = monitoring_errors("outcome")

    def broken(result, request):
        raise ValueError("a bug in a task's outcome")

    monkeypatch.setattr(model, "predictions", broken)
    answer, outcomes = answered(model, {"inputs": TEXTS[0]})
    assert answer == expected and outcomes == []
    assert monitoring_errors("outcome") == before + 1


def monitoring_errors(stage: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("hf_serving_monitoring_errors_total", {"model": "model", "stage": stage}) or 0.0
