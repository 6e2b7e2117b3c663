"""The /hf-inference route's adapter (protocols/hf_inference.py): /invocations' bodies, answered in the Inference
API's shapes where the pipeline's differ: text classification's [[{label, score}, ...]] for one text, zero-shot's
[{label, score}, ...]; every other answer as /invocations gives it."""

from __future__ import annotations

import json

import pytest

from hf_serving.loading.loader import load_served_model
from hf_serving.protocols.exchange import Call, Native, Served, Usage
from hf_serving.protocols.hf_inference import InferenceApi
from hf_serving.settings import Settings
from tests.support.nli_models import tiny_nli
from tests.support.paths import TINY_QA


def _served(model_dir, task: str | None = None) -> Served:
    model = load_served_model(model_dir, Settings(model_dir=model_dir, dtype="float32", engine="torch", task=task))
    return Served("model", model.task.value, model, str(model_dir))


@pytest.fixture(scope="module")
def classifier(tiny_emotion) -> Served:
    return _served(tiny_emotion)


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory) -> Served:
    return _served(tiny_nli(tmp_path_factory.mktemp("nli")), "zero-shot-classification")


def _answer(served: Served, body: object) -> object:
    call = Call("hf.inference", {}, json.dumps(body).encode(), "application/json", "request-1")
    native = InferenceApi().to_native(call, served)
    assert isinstance(native, Native)
    answer = json.loads(json.dumps(served.model.predict(native.payload)))
    return InferenceApi().from_native(answer, native, call, served, Usage(None)).document


def test_one_text_s_labels_come_in_a_list_every_label_best_first(classifier):
    [labels] = _answer(classifier, {"inputs": "I love it", "parameters": {}})
    everything = classifier.model.predict({"inputs": "I love it", "parameters": {"top_k": None}})
    assert labels == json.loads(json.dumps(everything)) and len(labels) > 2
    assert _answer(classifier, {"inputs": "I love it", "parameters": {"top_k": 2}}) == [labels[:2]]
    assert _answer(classifier, {"inputs": "I love it"}) == [labels]


def test_a_list_of_texts_and_a_pair_keep_the_pipeline_s_shape(classifier):
    body = {"inputs": ["I love it", "meh"], "parameters": {"top_k": 1}}
    assert _answer(classifier, body) == json.loads(json.dumps(classifier.model.predict(body)))
    pair = {"inputs": {"text": "a", "text_pair": "b"}}
    assert _answer(classifier, pair) == json.loads(json.dumps(classifier.model.predict(pair)))


def test_zero_shot_answers_label_and_score_pairs_best_first(zero_shot):
    body = {"inputs": "I have a problem", "parameters": {"candidate_labels": ["urgent", "phone", "cake"]}}
    pipeline = zero_shot.model.predict(body)
    found = _answer(zero_shot, body)
    assert found == [
        {"label": label, "score": score} for label, score in zip(pipeline["labels"], pipeline["scores"], strict=True)
    ]
    assert [entry["score"] for entry in found] == sorted((entry["score"] for entry in found), reverse=True)
    assert _answer(zero_shot, {**body, "inputs": [body["inputs"]]}) == [found]


def test_other_tasks_answer_as_invocations_does():
    served = _served(TINY_QA)
    body = {"inputs": {"question": "Who?", "context": "Wolfgang lives in Berlin."}, "parameters": {"top_k": 2}}
    assert _answer(served, body) == json.loads(json.dumps(served.model.predict(body)))
