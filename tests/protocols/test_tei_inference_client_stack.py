"""huggingface_hub's InferenceClient(model=".../invocations"), unchanged, on each task's model through the real stack:
the bodies it sends (its parameters in "parameters", or at the top level for feature extraction, as TEI on SageMaker
takes them: test_tei_stack.py) are taken, and the answers parse into its own types. Tiny random-weight models: what is
tested is the shapes, not the answers. One stack per model.

Two methods cannot read /invocations' answer, which is transformers' pipeline's (AWS's toolkit's) for the very same
body the client sends: text_classification takes the first element of the answer, expecting the Inference API's
[[...]] for one text, so it returns the best label alone; zero_shot_classification expects [{label, score}], not the
pipeline's {sequence, labels, scores}. Pointed at /hf-inference instead (the same bodies, the Inference API's shapes:
protocols/hf_inference.py), both work, and so does every other method.
"""

from __future__ import annotations

import pytest

from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.model_parts import EMOTION_LABELS, NER_LABELS
from tests.protocols.clients_run import run_client
from tests.support.nli_models import tiny_nli
from tests.support.paths import TINY_QA
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

CALLS = {
    "text-classification": ["text_classification", "text_classification_top_k"],
    "token-classification": ["token_classification", "token_classification_simple", "token_classification_parameters"],
    "fill-mask": ["fill_mask", "fill_mask_top_k", "fill_mask_targets"],
    "question-answering": ["question_answering", "question_answering_top_k"],
    "zero-shot-classification": ["zero_shot_classification", "zero_shot_classification_multi"],
}


def _model(task: str, tmp_path_factory):
    where = tmp_path_factory.mktemp(task)
    if task == "text-classification":
        return build_model(where, Task.TEXT_CLASSIFICATION, "tiny", EMOTION_LABELS, seed=2)
    if task == "token-classification":
        return build_model(where, Task.TOKEN_CLASSIFICATION, "tiny", NER_LABELS, seed=6)
    if task == "fill-mask":
        return build_model(where, Task.FILL_MASK, "tiny", seed=5)
    if task == "zero-shot-classification":
        return tiny_nli(where)
    return TINY_QA


def _answers(task: str, tmp_path_factory) -> dict:
    """Every call of the task's model, made by the client against a stack of its own (stopped at once after) on
    /invocations, and on /hf-inference under "hf-inference"."""
    serving = Stack(
        _model(task, tmp_path_factory), tmp_path_factory.mktemp(f"{task}-stack") / "serve.log", HF_TASK=task
    ).serving()
    stack = next(serving)
    try:
        found = run_client("hf_inference_client.py", f"{stack.url}/invocations", *CALLS[task])
        found["hf-inference"] = run_client("hf_inference_client.py", f"{stack.url}/hf-inference", *CALLS[task])
        return found
    finally:
        serving.close()


@pytest.fixture(scope="module")
def classifying(tmp_path_factory) -> dict:
    return _answers("text-classification", tmp_path_factory)


@pytest.fixture(scope="module")
def tagging(tmp_path_factory) -> dict:
    return _answers("token-classification", tmp_path_factory)


@pytest.fixture(scope="module")
def filling(tmp_path_factory) -> dict:
    return _answers("fill-mask", tmp_path_factory)


@pytest.fixture(scope="module")
def answering(tmp_path_factory) -> dict:
    return _answers("question-answering", tmp_path_factory)


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory) -> dict:
    return _answers("zero-shot-classification", tmp_path_factory)


def _ok(answers: dict, call: str) -> object:
    found = answers[call]
    assert "ok" in found, found
    return found["ok"]


def _typed(value: object, kind: str) -> dict:
    assert isinstance(value, dict) and value["__type__"] == kind, value
    return value


def test_text_classification_gives_the_best_label(classifying):
    best = _typed(_ok(classifying, "text_classification"), "TextClassificationOutputElement")
    assert best["label"] in EMOTION_LABELS and 0 <= best["score"] <= 1
    # top_k=2 is taken, but the client keeps the first of the two ([0] of the pipeline's list): the best again.
    again = _typed(_ok(classifying, "text_classification_top_k"), "TextClassificationOutputElement")
    assert again["label"] == best["label"]


@pytest.mark.parametrize("call", CALLS["token-classification"])
def test_token_classification(tagging, call):
    entities = _ok(tagging, call)
    assert isinstance(entities, list)
    for entity in entities:
        _typed(entity, "TokenClassificationOutputElement")
        assert {"score", "start", "end", "word"} <= set(entity)
        assert (entity["entity_group"] if call != "token_classification" else entity["entity"]) is not None


@pytest.mark.parametrize(("call", "count"), [("fill_mask", 5), ("fill_mask_top_k", 2), ("fill_mask_targets", 2)])
def test_fill_mask(filling, call, count):
    filled = _ok(filling, call)
    assert isinstance(filled, list) and len(filled) == count
    for entry in filled:
        assert {"score", "sequence", "token", "token_str"} <= set(_typed(entry, "FillMaskOutputElement"))
    if call == "fill_mask_targets":
        assert {entry["token_str"] for entry in filled} == {"rome", "paris"}


def test_question_answering_one_answer_or_top_k(answering):
    one = _typed(_ok(answering, "question_answering"), "QuestionAnsweringOutputElement")
    context = "My name is Wolfgang and I live in Berlin."
    assert context[one["start"] : one["end"]] == one["answer"]
    two = _ok(answering, "question_answering_top_k")
    assert isinstance(two, list) and len(two) == 2
    assert [_typed(entry, "QuestionAnsweringOutputElement")["score"] for entry in two] == sorted(
        (entry["score"] for entry in two), reverse=True
    )


@pytest.mark.parametrize("call", CALLS["zero-shot-classification"])
def test_zero_shot_classification_is_not_the_shape_the_client_reads(zero_shot, call):
    found = zero_shot[call]
    # The request is taken (no HTTP error); the client cannot read the pipeline's {sequence, labels, scores}.
    assert "Expected a list" in found.get("exception", ""), found


def test_on_hf_inference_text_classification_gives_every_label_or_top_k(classifying):
    labels = _ok(classifying["hf-inference"], "text_classification")
    assert isinstance(labels, list) and {
        _typed(entry, "TextClassificationOutputElement")["label"] for entry in labels
    } == set(EMOTION_LABELS)
    assert [entry["score"] for entry in labels] == sorted((entry["score"] for entry in labels), reverse=True)
    two = _ok(classifying["hf-inference"], "text_classification_top_k")
    assert [entry["label"] for entry in two] == [entry["label"] for entry in labels[:2]]


@pytest.mark.parametrize("call", CALLS["zero-shot-classification"])
def test_on_hf_inference_zero_shot_classification_parses(zero_shot, call):
    labels = _ok(zero_shot["hf-inference"], call)
    assert isinstance(labels, list) and len(labels) in (2, 3)
    assert all(
        _typed(entry, "ZeroShotClassificationOutputElement")["label"] in ("urgent", "not urgent", "phone")
        for entry in labels
    )


@pytest.mark.parametrize(
    ("fixture", "task"),
    [("tagging", "token-classification"), ("filling", "fill-mask"), ("answering", "question-answering")],
)
def test_on_hf_inference_every_other_method_answers_as_on_invocations(request, fixture, task):
    found = request.getfixturevalue(fixture)
    for call in CALLS[task]:
        assert found["hf-inference"][call] == found[call], call
