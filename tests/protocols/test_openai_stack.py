"""OpenAI's embeddings and models API through the real stack (nginx, multi-model-server, the worker) on the real
all-MiniLM-L6-v2, called by OpenAI's own Python SDK in a venv of its own (tests/protocols/clients/openai_sdk.py): the
vectors equal sentence-transformers' encode() whether the SDK asks for base64 (its default) or floats; dimensions;
the model list and the model; bad input raises the SDK's BadRequestError with our message and param; SERVE_API_KEY is
the SDK's api_key (a Bearer token), a wrong one its AuthenticationError. On a multi-model endpoint the body's model
picks the loaded model, and the list is of the loaded models."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import requests

from tests.integration.test_multi_model import load, running_mme
from tests.protocols.clients_run import run_client
from tests.support.paths import TINY_QA, minilm
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

KEY = "openai-stack-key"
TEXTS = ["A man is eating food.", "The girl is carrying a baby.", "Ein Mann isst Brot. Café, 東京, 😀"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("openai-stack")
    yield from Stack(minilm(), tmp / "serve.log", SERVE_API_KEY=KEY).serving()


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu").encode(TEXTS, convert_to_numpy=True)


@pytest.fixture(scope="module")
def mme(tmp_path_factory):
    for stack in running_mme(tmp_path_factory.mktemp("openai-mme")):
        for name, url in (("minilm", minilm()), ("qa", TINY_QA)):
            loaded = load(stack, name, url)
            assert loaded.status_code == 200, loaded.text
        yield stack


def sdk(stack: Stack, *steps: dict, api_key: str = KEY) -> list[dict]:
    return run_client("openai_sdk.py", stdin={"base_url": f"{stack.url}/v1", "api_key": api_key, "steps": list(steps)})


def embed(**kwargs) -> dict:
    return {"call": "embeddings.create", "kwargs": {"model": "all-minilm-l6-v2", **kwargs}}


def ok(answer: dict) -> dict:
    """The SDK's answer of a step that must have succeeded; the error it raised shown otherwise."""
    assert "ok" in answer, answer
    return answer["ok"]


def _vectors(answer: dict) -> np.ndarray:
    return np.array([item["embedding"] for item in ok(answer)["data"]], dtype=np.float32)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_the_sdk_embeds_as_encode_whether_it_asks_base64_or_floats(stack, expected):
    default, floats, as_base64, cut, one = sdk(
        stack,
        embed(input=TEXTS),
        embed(input=TEXTS, encoding_format="float"),
        embed(input=TEXTS, encoding_format="base64"),
        embed(input=TEXTS, dimensions=64, encoding_format="float"),
        embed(input=TEXTS[0]),
    )
    for answer in (default, floats):
        assert ok(answer)["object"] == "list" and ok(answer)["model"] == "all-minilm-l6-v2"
        assert [item["index"] for item in ok(answer)["data"]] == [0, 1, 2]
        assert _vectors(answer).shape == (3, 384) and _cosines(_vectors(answer), expected).min() >= 0.99999
        tokens = ok(answer)["usage"]["prompt_tokens"]
        assert tokens > 3 and ok(answer)["usage"]["total_tokens"] == tokens
    # The SDK's default is base64 on the wire, which it decodes: the same float32 numbers as the floats.
    np.testing.assert_array_equal(_vectors(default), _vectors(floats))
    decoded = np.stack(
        [np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4") for item in ok(as_base64)["data"]]
    )  # asked explicitly: the SDK hands the string back
    np.testing.assert_array_equal(decoded, _vectors(floats))
    assert _vectors(cut).shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(_vectors(cut), axis=1), 1.0, atol=1e-5)
    truncated = expected[:, :64] / np.linalg.norm(expected[:, :64], axis=1, keepdims=True)
    assert _cosines(_vectors(cut), truncated).min() >= 0.99999
    assert _vectors(one).shape == (1, 384) and _cosines(_vectors(one), expected[:1])[0] >= 0.99999


def test_the_sdk_lists_and_retrieves_the_served_model_and_a_missing_one_is_its_not_found_error(stack):
    (listed,) = sdk(stack, {"call": "models.list"})
    assert len(ok(listed)) == 1
    name = ok(listed)[0]["id"]
    assert ok(listed)[0]["object"] == "model" and ok(listed)[0]["owned_by"] == "hf-serving"
    retrieved, missing = sdk(
        stack, {"call": "models.retrieve", "args": [name]}, {"call": "models.retrieve", "args": ["gpt-4"]}
    )
    assert ok(retrieved)["id"] == name and ok(retrieved)["ready"] is True
    assert missing["error"]["class"] == "NotFoundError" and missing["error"]["status_code"] == 404
    # nginx answers a name the single-model endpoint does not serve before any worker (launcher/route_locations.py).
    assert missing["error"]["code"] == "model_not_found" and missing["error"]["type"] == "not_found_error"
    assert f"this endpoint serves one model, named {name}" in missing["error"]["message"]


@pytest.mark.parametrize(
    ("kwargs", "param", "fragment"),
    [
        ({"input": ""}, "input", "input must not be empty"),
        ({"input": ["fine", ""]}, "input", "input[1] must not be empty"),
        ({"input": [100257, 2000]}, "input", "outside this model's vocabulary of 30,522"),
        ({"input": "x", "dimensions": 1000}, "dimensions", "at most 384"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format", "must be 'float' or 'base64'"),
    ],
)
def test_bad_input_is_the_sdks_bad_request_error_with_our_message_and_param(stack, kwargs, param, fragment):
    (answer,) = sdk(stack, embed(**kwargs))
    error = answer["error"]
    assert (error["class"], error["status_code"], error["param"], error["code"], error["type"]) == (
        "BadRequestError",
        400,
        param,
        "bad_request",
        "invalid_request_error",
    )
    assert fragment in error["message"] and fragment in error["body"]["message"]


def test_a_wrong_api_key_is_the_sdks_authentication_error_in_openais_shape(stack):
    (answer,) = sdk(stack, embed(input="x"), api_key="wrong")
    error = answer["error"]
    assert (error["class"], error["status_code"]) == ("AuthenticationError", 401)
    assert set(error["body"]) >= {"message", "type", "param", "code"} and error["code"] == "unauthorized"
    assert "API key" in error["message"]


def test_the_raw_answer_carries_openais_shape_and_the_request_id(stack):
    headers = {"Authorization": f"Bearer {KEY}"}
    bad = requests.post(f"{stack.url}/v1/embeddings", json={"model": "m"}, headers=headers, timeout=30)
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("application/json")
    error = bad.json()["error"]
    assert (error["param"], error["type"], error["code"]) == ("input", "invalid_request_error", "bad_request")
    assert error["request_id"]
    good = requests.post(
        f"{stack.url}/v1/embeddings", json={"model": "m", "input": "hello"}, headers=headers, timeout=30
    )
    assert good.status_code == 200 and isinstance(good.json()["data"][0]["embedding"], list)


def test_on_a_multi_model_endpoint_the_body_model_picks_the_loaded_model_and_the_list_is_the_loaded_ones(mme, expected):
    listed, retrieved, vectors, not_embeddings, missing = sdk(
        mme,
        {"call": "models.list"},
        {"call": "models.retrieve", "args": ["minilm"]},
        embed(model="minilm", input=TEXTS),
        embed(model="qa", input="x"),
        embed(model="nope", input="x"),
    )
    assert [(m["id"], m["object"], m["owned_by"]) for m in ok(listed)] == [
        ("minilm", "model", "hf-serving"),
        ("qa", "model", "hf-serving"),
    ]
    assert all(m["created"] > 0 for m in ok(listed))  # when each became ready
    assert ok(retrieved)["id"] == "minilm" and ok(retrieved)["ready"] is True
    assert ok(vectors)["model"] == "minilm" and _cosines(_vectors(vectors), expected).min() >= 0.99999
    error = not_embeddings["error"]
    assert (error["class"], error["param"]) == ("BadRequestError", "model")
    assert "served as question-answering, not sentence-embeddings" in error["message"]
    assert (missing["error"]["class"], missing["error"]["code"]) == ("NotFoundError", "model_not_found")
