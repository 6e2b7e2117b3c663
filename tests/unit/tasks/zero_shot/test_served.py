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
    results = model.predict_records(RecordBatch(JSONLINES, [
        good, {"inputs": "no labels"}, too_long, {**good, "inputs": ["a", "b"]}])).results
    assert_same_answers(results[0], model.predict(good))
    assert isinstance(results[1], BadRequest) and "candidate_labels is required" in results[1].message
    assert isinstance(results[2], BadRequest) and "hypothesis" in results[2].message
    assert_same_answers(results[3], model.predict({**good, "inputs": ["a", "b"]}))


def test_a_csv_row_is_a_text_and_its_comma_separated_labels(nli):
    model = served(nli)
    results = model.predict_records(RecordBatch(CSV, [["the match, at last", "sports,politics"],
                                                      ["a vote", "politics, cooking"]])).results
    assert_same_answers(results, [
        model.predict({"inputs": "the match, at last", "parameters": {"candidate_labels": ["sports", "politics"]}}),
        model.predict({"inputs": "a vote", "parameters": {"candidate_labels": "politics,cooking"}})])
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

