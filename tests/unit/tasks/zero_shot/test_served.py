"""The served zero-shot model: JSON Lines and CSV records, each bad record with its own error, the warm-up."""

from __future__ import annotations

import pytest

from hf_serving.errors import BadRequest
from hf_serving.formats.media import CSV, JSONLINES
from hf_serving.formats.records import RecordBatch
from tests.support.nli_models import assert_same_answers
from tests.unit.tasks.zero_shot.conftest import served


def test_a_bad_record_gets_its_own_error_and_the_others_are_answered(nli):
    model = served(nli)
    good = {"inputs": "the match", "parameters": {"candidate_labels": ["sports", "politics"]}}
    too_long = {"inputs": "the match", "parameters": {"candidate_labels": ["x " * 600]}}  # fails in the model call
    results = model.predict_records(
        RecordBatch(JSONLINES, [good, {"inputs": "no labels"}, too_long, {**good, "inputs": ["a", "b"]}])
    ).results
    assert_same_answers(results[0], model.predict(good))
    assert isinstance(results[1], BadRequest) and "parameters.candidate_labels is missing" in results[1].message
    assert isinstance(results[2], BadRequest) and "hypothesis" in results[2].message
    assert_same_answers(results[3], model.predict({**good, "inputs": ["a", "b"]}))


def test_a_csv_row_is_a_text_and_its_comma_separated_labels(nli):
    model = served(nli)
    results = model.predict_records(
        RecordBatch(CSV, [["the match, at last", "sports,politics"], ["a vote", "politics, cooking"]])
    ).results
    assert_same_answers(
        results,
        [
            model.predict({"inputs": "the match, at last", "parameters": {"candidate_labels": ["sports", "politics"]}}),
            model.predict({"inputs": "a vote", "parameters": {"candidate_labels": "politics,cooking"}}),
        ],
    )
    with pytest.raises(BadRequest, match="text,candidate_labels"):
        model.predict_records(RecordBatch(CSV, [["only a text"]]))


def test_the_warm_up_payload_is_answered(nli):
    model = served(nli)
    answers = model.predict(model.warmup_payload())
    assert isinstance(answers, list) and len(answers) == 2
    assert sorted(answers[0]["labels"]) == ["sports", "start-up", "weather"]


def test_without_hf_task_an_nli_model_is_a_text_classifier(nli):
    from hf_serving.tasks.base import Task
    from hf_serving.tasks.registry import detect_task

    assert detect_task(nli, None).task is Task.TEXT_CLASSIFICATION
    assert detect_task(nli, "zero-shot-classification").task is Task.ZERO_SHOT_CLASSIFICATION


def counted(model, payload):
    """The answer, with what it cost (tokens, response-cache hits) as the handler takes it for the metrics."""
    model.predict(payload)
    return model.take_usage()


def pair_tokens(tokenizer, text, labels, template="This example is {}."):
    """The tokens the pipeline's tokenisation gives the text's pairs, all together."""
    return sum(
        len(tokenizer(text, template.format(label), truncation="only_first", max_length=512)["input_ids"])
        for label in labels
    )


def test_each_request_and_record_counts_the_tokens_of_all_its_pairs(nli):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(nli)
    model = served(nli)
    long_text = "tokens and more tokens " * 300  # truncated: only what the model read counts
    usage = counted(model, {"inputs": ["a match", long_text], "parameters": {"candidate_labels": "x,y z"}})
    assert usage.tokens == pair_tokens(tokenizer, "a match", ["x", "y z"]) + pair_tokens(
        tokenizer, long_text, ["x", "y z"]
    )
    assert usage.tokens < 2 * 512 + 40
    records = model.predict_records(
        RecordBatch(
            JSONLINES,
            [
                {"inputs": "a match", "parameters": {"candidate_labels": ["x"]}},
                {"inputs": "no labels"},
                {
                    "inputs": "a vote",
                    "parameters": {"candidate_labels": ["p", "q", "r"], "hypothesis_template": "On {}."},
                },
            ],
        )
    )
    assert records.tokens == [
        pair_tokens(tokenizer, "a match", ["x"]),
        None,
        pair_tokens(tokenizer, "a vote", ["p", "q", "r"], "On {}."),
    ]


def test_the_response_cache_keys_each_text_with_its_labels_template_and_multi_label(nli):
    from hf_serving.caching.response_cache import ResponseCache
    from hf_serving.caching.stores import MemoryStore
    from hf_serving.observability.worker_metrics import WorkerMetrics

    model = served(nli)
    model.use_cache(
        ResponseCache(
            MemoryStore(1 << 20, 60),
            "identity",
            WorkerMetrics("model", "zero-shot-classification", enabled=False),
            model.encode_result,
            model.decode_result,
        )
    )
    first = counted(model, {"inputs": ["a match", "a vote"], "parameters": {"candidate_labels": "x,y"}})
    assert first.cached == [False, False] and first.tokens > 0
    again = counted(model, {"inputs": ["a vote", "a match"], "parameters": {"candidate_labels": ["x", "y"]}})
    assert again.cached == [True, True] and again.tokens == 0
    assert again.result == [first.result[1], first.result[0]]
    for other in (
        {"candidate_labels": "y,x"},
        {"candidate_labels": "x,y", "multi_label": True},
        {"candidate_labels": "x,y", "hypothesis_template": "On {}."},
    ):
        assert counted(model, {"inputs": "a vote", "parameters": other}).cached == [False]
