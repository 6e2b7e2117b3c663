"""Requests past the invocation timeout are abandoned between model chunks, freeing the worker."""

from __future__ import annotations

import json

import pytest

from hf_serving import deadline
from hf_serving.deadline import DeadlineExceeded, deadline_after
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings, settings_in_use
from tests.support.fakes import FakeServerContext, json_request, service_for
from tests.support.paths import TINY_QA

LONG = {"question": "Which port?", "context": "The container listens on port 8080. " * 400}


def test_no_deadline_means_no_check():
    deadline.check()


def test_a_passed_deadline_stops_question_answering_and_classification(tiny_emotion):
    qa = load_served_model(TINY_QA, Settings(model_dir=TINY_QA, dtype="float32"))
    classifier = load_served_model(tiny_emotion, Settings(model_dir=tiny_emotion, dtype="float32"))
    with deadline_after(-1):
        with pytest.raises(DeadlineExceeded) as caught:
            qa.predict(LONG)
        with pytest.raises(DeadlineExceeded):
            classifier.predict({"inputs": ["text"] * 100})
    assert caught.value.status == 504
    assert qa.predict(LONG)["answer"]  # outside the block there is no deadline


def test_the_handler_answers_an_abandoned_request_with_a_json_504(monkeypatch, tmp_path):
    settings = Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=tmp_path / "code", invocation_timeout_s=0)
    with settings_in_use(settings):
        service = service_for(settings)
        request, headers = json_request(LONG)
        context = FakeServerContext([headers])
        [body] = service.handle_batch([request], context)
        assert context.statuses[0][0] == 504
        assert json.loads(body)["error"]["code"] == "timeout"
