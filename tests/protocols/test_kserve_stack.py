"""KServe's protocols through the real stack (nginx, multi-model-server, the worker), called by tritonclient's HTTP
client in a venv of its own (tests/protocols/clients/kserve_triton.py) and by requests for v1: health, readiness and
metadata; /infer with BYTES inputs, binary (tritonclient's default) and JSON, both ways, whose embedding equals
sentence-transformers' encode() on the real all-MiniLM-L6-v2, served under SERVE_MODEL_NAME; a question-answering
model's tensors and predictions equal its /invocations answer; on a multi-model endpoint each loaded model by its
name; bad tensors are 400s naming the input, another model's name KServe's 404, both in KServe's {"error"} shape."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from tests.integration.test_multi_model import load, running_mme
from tests.protocols.clients_run import run_client
from tests.support.paths import TINY_QA, minilm
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

NAME = "minilm"
TEXTS = ["A man is eating food.", "The girl is carrying a baby.", "Ein Mann isst Brot. Café, 東京, 😀"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kserve-stack")
    yield from Stack(minilm(), tmp / "serve.log", SERVE_MODEL_NAME=NAME).serving()


@pytest.fixture(scope="module")
def qa_stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kserve-qa-stack")
    yield from Stack(TINY_QA, tmp / "serve.log").serving()


@pytest.fixture(scope="module")
def mme(tmp_path_factory):
    for stack in running_mme(tmp_path_factory.mktemp("kserve-mme")):
        for name, url in (("minilm", minilm()), ("qa", TINY_QA)):
            loaded = load(stack, name, url)
            assert loaded.status_code == 200, loaded.text
        yield stack


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu").encode(TEXTS, convert_to_numpy=True)


def triton(stack: Stack, *steps: dict) -> list[dict]:
    return run_client("kserve_triton.py", stack.url.removeprefix("http://"), stdin={"steps": list(steps)})


def test_tritonclient_health_readiness_and_metadata(stack):
    live, ready, model_ready, other_ready, metadata, other = triton(
        stack,
        {"call": "is_server_live"},
        {"call": "is_server_ready"},
        {"call": "is_model_ready", "model": NAME},
        {"call": "is_model_ready", "model": "model"},
        {"call": "get_model_metadata", "model": NAME},
        {"call": "get_model_metadata", "model": "model"},
    )
    assert live == ready == model_ready == {"ok": True}
    assert other_ready == {"ok": False}
    assert metadata["ok"] == {
        "name": NAME,
        "platform": "hf-serving",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [{"name": "embedding", "datatype": "FP32", "shape": [-1, 384]}],
    }
    assert other["error"]["status"] == "404" and f"named {NAME}" in other["error"]["message"]


def test_tritonclient_infer_binary_and_json_both_ways_equals_encode(stack, expected):
    binary, as_json, mixed = triton(
        stack,
        {"call": "infer", "model": NAME, "inputs": {"text": TEXTS}, "id": "call-1"},  # tritonclient's defaults
        {
            "call": "infer",
            "model": NAME,
            "inputs": {"text": TEXTS},
            "binary_inputs": False,
            "outputs": [{"name": "embedding", "binary": False}],
        },
        {
            "call": "infer",
            "model": NAME,
            "inputs": {"text": TEXTS},
            "binary_inputs": False,
            "outputs": [{"name": "embedding", "binary": True}],
            "parameters": {"normalize": False},
        },
    )
    for result in (binary, as_json):
        embedding = result["ok"]["outputs"]["embedding"]
        assert (embedding["datatype"], embedding["shape"]) == ("FP32", [3, 384])
        np.testing.assert_allclose(np.array(embedding["data"]), expected, atol=1e-5)
    assert binary["ok"]["binary"] == ["embedding"] and as_json["ok"]["binary"] == []
    assert binary["ok"]["response"]["model_name"] == NAME and binary["ok"]["response"]["id"] == "call-1"
    # The task's own parameters: normalize false gives the vectors before the model's Normalize module.
    raw = np.array(mixed["ok"]["outputs"]["embedding"]["data"])
    assert mixed["ok"]["binary"] == ["embedding"] and np.linalg.norm(raw, axis=1).min() > 1.5
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), expected, atol=1e-5)


def test_tritonclient_bad_tensors_are_400s_naming_the_input(stack):
    unknown_input, unknown_output, other_model = triton(
        stack,
        {"call": "infer", "model": NAME, "inputs": {"sentence": ["a"]}},
        {"call": "infer", "model": NAME, "inputs": {"text": ["a"]}, "outputs": [{"name": "vector"}]},
        {"call": "infer", "model": "model", "inputs": {"text": ["a"]}},
    )
    assert unknown_input["error"]["status"] == "400" and "unknown input sentence" in unknown_input["error"]["message"]
    assert unknown_output["error"]["status"] == "400" and "unknown output vector" in unknown_output["error"]["message"]
    assert other_model["error"]["status"] == "404"


def test_v2_json_errors_in_kserves_shape(stack):
    response = requests.post(
        f"{stack.url}/v2/models/{NAME}/infer",
        timeout=30,
        json={"inputs": [{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]}]},
    )
    assert response.status_code == 400
    error = response.json()
    assert "input text must have datatype BYTES" in error["error"] and error["code"] == "bad_request"
    response = requests.post(
        f"{stack.url}/v2/models/{NAME}/infer",
        timeout=30,
        json={"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["a"]}]},
    )
    assert response.status_code == 400 and "input text has shape [2]" in response.json()["error"]


def test_v1_predict_equals_encode_and_its_errors(stack, expected):
    response = requests.post(f"{stack.url}/v1/models/{NAME}:predict", json={"instances": TEXTS}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    np.testing.assert_allclose(np.array(response.json()["predictions"]), expected, atol=1e-5)
    bad = requests.post(f"{stack.url}/v1/models/{NAME}:predict", json={"instances": ["a", 7]}, timeout=30)
    assert bad.status_code == 400 and "instances[1] must be a string" in bad.json()["error"]
    other = requests.post(f"{stack.url}/v1/models/model:predict", json={"instances": ["a"]}, timeout=30)
    assert other.status_code == 404 and other.json()["code"] == "model_not_found"


def test_question_answering_tensors_and_predictions_equal_invocations(qa_stack):
    pairs = [
        {"question": "Who lives in Paris?", "context": "Marie lives in Paris with her cat."},
        {"question": "What is red?", "context": "The old bus is red and slow."},
    ]
    native = qa_stack.invoke({"inputs": pairs}).json()
    (result,) = triton(
        qa_stack,
        {
            "call": "infer",
            "model": "model",
            "inputs": {
                "question": [pair["question"] for pair in pairs],
                "context": [pair["context"] for pair in pairs],
            },
            "outputs": [
                {"name": "answer", "binary": False},
                {"name": "start", "binary": True},
                {"name": "score", "binary": True},
            ],
        },
    )
    outputs = result["ok"]["outputs"]
    assert list(outputs) == ["answer", "start", "score"] and result["ok"]["binary"] == ["start", "score"]
    assert outputs["answer"]["data"] == [item["answer"] for item in native]
    assert outputs["start"] == {"datatype": "INT64", "shape": [2], "data": [item["start"] for item in native]}
    assert outputs["score"]["data"] == pytest.approx([item["score"] for item in native], rel=1e-6)
    predicted = requests.post(f"{qa_stack.url}/v1/models/model:predict", json={"instances": pairs}, timeout=30)
    assert predicted.status_code == 200 and predicted.json() == {"predictions": native}


def test_a_multi_model_endpoint_answers_each_loaded_model_by_its_name(mme, expected):
    qa_ready, absent_ready, qa_metadata, embedded, absent = triton(
        mme,
        {"call": "is_model_ready", "model": "qa"},
        {"call": "is_model_ready", "model": "absent"},
        {"call": "get_model_metadata", "model": "qa"},
        {"call": "infer", "model": "minilm", "inputs": {"text": TEXTS}},
        {"call": "infer", "model": "absent", "inputs": {"text": TEXTS}},
    )
    assert (qa_ready, absent_ready) == ({"ok": True}, {"ok": False})
    assert qa_metadata["ok"]["name"] == "qa"
    assert [tensor["name"] for tensor in qa_metadata["ok"]["inputs"]] == ["question", "context"]
    assert embedded["ok"]["response"]["model_name"] == "minilm"
    np.testing.assert_allclose(np.array(embedded["ok"]["outputs"]["embedding"]["data"]), expected, atol=1e-5)
    assert absent["error"]["status"] == "404"
    pairs = [{"question": "Who lives in Paris?", "context": "Marie lives in Paris."}]
    predicted = requests.post(f"{mme.url}/v1/models/qa:predict", json={"instances": pairs}, timeout=60)
    native = requests.post(f"{mme.url}/models/qa/invoke", json={"inputs": pairs}, timeout=60)
    assert predicted.status_code == 200 and predicted.json() == {"predictions": native.json()}
