"""OpenAI's adapters called directly over the real all-MiniLM-L6-v2 loaded in-process: the embeddings equal
sentence-transformers' encode() as floats and as base64, dimensions cut and re-normalise, token ids embed their text,
every refusal is a 400 naming its param; the models list and model."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from hf_serving.error_catalogue import Protocol, error_document
from hf_serving.errors import BadRequest, ModelNotFound, ServingError
from hf_serving.protocols.exchange import Call, Direct, Native, Served, Usage
from hf_serving.protocols.openai import MAX_INPUTS, Embeddings, Model, Models
from tests.support.paths import minilm

TEXTS = ["A man is eating food.", "The girl is carrying a baby.", "Ein Mann isst Brot. Café, 東京"]


@pytest.fixture(scope="module")
def served() -> Served:
    from hf_serving.loading.loader import load_served_model
    from hf_serving.settings import Settings

    model = load_served_model(minilm(), Settings(model_dir=minilm(), dtype="float32", engine="torch"))
    return Served(name="minilm", task="sentence-embeddings", model=model, model_id=str(minilm()))


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu").encode(TEXTS, convert_to_numpy=True)


def _call(body: Any, route: str = "openai.embeddings", **path_params: str) -> Call:
    return Call(route, path_params, json.dumps(body).encode(), "application/json", "req-1")


def embed(served: Served, body: Any) -> dict:
    """What the worker does: the native request through the served model, its JSON answer to from_native."""
    exchange = Embeddings()
    call = _call(body)
    native = exchange.to_native(call, served)
    assert isinstance(native, Native)
    answer = json.loads(json.dumps(served.model.predict(native.payload)))
    usage = served.model.take_usage()
    document = exchange.from_native(answer, native, call, served, Usage(usage.tokens if usage else None)).document
    return json.loads(json.dumps(document))


def refusal(served: Served, body: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        Embeddings().to_native(_call(body), served)
    return caught.value


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _decoded(item: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")


def test_floats_equal_encode_in_openais_shape_with_the_model_echoed_and_usage(served, expected):
    document = embed(
        served, {"model": "text-embedding-3-small", "input": TEXTS, "encoding_format": "float", "user": "someone"}
    )
    assert document["object"] == "list" and document["model"] == "text-embedding-3-small"
    assert [(item["object"], item["index"]) for item in document["data"]] == [("embedding", i) for i in range(3)]
    vectors = np.array([item["embedding"] for item in document["data"]])
    assert vectors.shape == (3, 384) and _cosines(vectors, expected).min() >= 0.99999
    tokens = sum(len(ids) for ids in served.tokenizer(TEXTS)["input_ids"])
    assert document["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}


def test_float_is_the_default_on_the_wire(served, expected):
    document = embed(served, {"model": "m", "input": TEXTS[0]})
    assert len(document["data"]) == 1 and isinstance(document["data"][0]["embedding"], list)
    assert _cosines(np.array([document["data"][0]["embedding"]]), expected[:1])[0] >= 0.99999


def test_base64_is_little_endian_float32_equal_to_the_floats(served, expected):
    floats = embed(served, {"model": "m", "input": TEXTS, "encoding_format": "float"})
    encoded = embed(served, {"model": "m", "input": TEXTS, "encoding_format": "base64"})
    for as_float, as_base64 in zip(floats["data"], encoded["data"], strict=True):
        assert isinstance(as_base64["embedding"], str)
        np.testing.assert_array_equal(_decoded(as_base64), np.asarray(as_float["embedding"], dtype=np.float32))
    vectors = np.stack([_decoded(item) for item in encoded["data"]])
    assert _cosines(vectors, expected).min() >= 0.99999


def test_dimensions_keep_the_first_numbers_re_normalised(served, expected):
    document = embed(served, {"model": "m", "input": TEXTS, "encoding_format": "float", "dimensions": 64})
    vectors = np.array([item["embedding"] for item in document["data"]])
    assert vectors.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cut = expected[:, :64] / np.linalg.norm(expected[:, :64], axis=1, keepdims=True)
    assert _cosines(vectors, cut).min() >= 0.99999
    whole = embed(served, {"model": "m", "input": TEXTS[0], "dimensions": 384})
    assert len(whole["data"][0]["embedding"]) == 384


def test_token_ids_embed_the_text_they_spell(served, expected):
    ids = [served.tokenizer(text, add_special_tokens=False)["input_ids"] for text in TEXTS[:2]]
    many = embed(served, {"model": "m", "input": ids, "encoding_format": "float"})
    one = embed(served, {"model": "m", "input": ids[0], "encoding_format": "float"})
    with_specials = embed(served, {"model": "m", "input": [served.tokenizer(TEXTS[0])["input_ids"]]})
    vectors = np.array([item["embedding"] for item in many["data"]])
    assert _cosines(vectors, expected[:2]).min() >= 0.99999
    assert one["data"][0]["embedding"] == many["data"][0]["embedding"] == with_specials["data"][0]["embedding"]
    assert many["usage"]["prompt_tokens"] == sum(len(row) + 2 for row in ids)  # each with [CLS] and [SEP]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"input": "x"}, "model", "you must provide a model parameter"),
        ({"model": 3, "input": "x"}, "model", "model must be a non-empty string"),
        ({"model": "m"}, "input", "you must provide an input parameter"),
        ({"model": "m", "input": ""}, "input", "input must not be empty"),
        ({"model": "m", "input": "   "}, "input", "input must not be empty"),
        ({"model": "m", "input": []}, "input", "input must not be an empty list"),
        ({"model": "m", "input": ["fine", ""]}, "input", "input[1] must not be empty"),
        ({"model": "m", "input": ["fine", 7]}, "input", "input[1] must be a string, not number"),
        ({"model": "m", "input": {"text": "x"}}, "input", "input must be a string, a list of strings"),
        ({"model": "m", "input": [[]]}, "input", "input[0] must not be an empty list of token ids"),
        ({"model": "m", "input": [[101, "x"]]}, "input", "input[0][1] must be a token id"),
        ({"model": "m", "input": [100257]}, "input", "input[0] is token id 100257, outside this model's vocabulary"),
        ({"model": "m", "input": [-1]}, "input", "outside this model's vocabulary"),
        ({"model": "m", "input": [101, 102]}, "input", "input holds only special tokens"),
        ({"model": "m", "input": ["x"] * (MAX_INPUTS + 1)}, "input", "over the 2,048 one request may hold"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format", "must be 'float' or 'base64'"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions", "dimensions must be a positive integer"),
        ({"model": "m", "input": "x", "dimensions": "64"}, "dimensions", "dimensions must be a positive integer"),
        ({"model": "m", "input": "x", "dimensions": True}, "dimensions", "dimensions must be a positive integer"),
        ({"model": "m", "input": "x", "dimensions": 385}, "dimensions", "at most 384, this model's embedding size"),
        (
            {"model": "m", "input": "x", "dimension": 64},
            "dimension",
            "Unrecognized request argument supplied: dimension",
        ),
    ],
)
def test_each_refusal_is_a_400_naming_its_param(served, body, param, fragment):
    error = refusal(served, body)
    assert error.status == 400 and error.param == param and fragment in error.message
    document = error_document(Protocol.OPENAI, error.code, error.message, "req-1", error.param)
    assert document["error"] == {
        "message": error.message,
        "type": "invalid_request_error",
        "param": param,
        "code": "bad_request",
        "request_id": "req-1",
    }


def test_a_body_that_is_not_an_object_is_a_400(served):
    assert "must be a JSON object" in refusal(served, ["x"]).message


def test_a_model_of_another_task_is_a_400_saying_what_it_serves(served):
    classifier = Served("sentiment", "text-classification", served.model, "x")
    error = refusal(classifier, {"model": "sentiment", "input": "x"})
    assert error.param == "model" and "served as text-classification, not sentence-embeddings" in error.message


def test_a_users_model_gets_texts_and_its_vectors_are_cut_here():
    class UsersModel:  # what a model_fn may return: no tokenizer, no embedder
        pass

    user = Served("mine", None, UsersModel(), "x")
    exchange = Embeddings()
    call = _call({"model": "mine", "input": ["a", "b"], "dimensions": 2, "encoding_format": "float"})
    native = exchange.to_native(call, user)
    assert isinstance(native, Native) and native.payload == {"inputs": ["a", "b"]}
    document = exchange.from_native([[3.0, 4.0, 9.0], [0.0, 2.0, 1.0]], native, call, user, Usage(None)).document
    vectors = [item["embedding"] for item in document["data"]]
    assert vectors[0] == pytest.approx([0.6, 0.8]) and vectors[1] == pytest.approx([0.0, 1.0])
    assert document["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    with pytest.raises(ServingError, match="did not answer one vector per input"):
        exchange.from_native([[1.0]], native, call, user, Usage(None))
    assert refusal(user, {"model": "mine", "input": [1, 2]}).message.startswith("token ids need the model's")


def test_models_lists_the_one_served_model_for_openai_and_kserve_v1(served):
    answer = Models().to_native(_call(None, "openai.models"), served)
    assert isinstance(answer, Direct) and answer.status == 200
    assert answer.document == {
        "object": "list",
        "models": ["minilm"],
        "data": [{"id": "minilm", "object": "model", "created": 0, "owned_by": "hf-serving"}],
    }


def test_model_describes_the_served_model_and_404s_another_name(served):
    answer = Model().to_native(_call(None, "openai.model", name="minilm"), served)
    assert isinstance(answer, Direct) and answer.document == {
        "id": "minilm",
        "object": "model",
        "created": 0,
        "owned_by": "hf-serving",
        "name": "minilm",
        "ready": True,
    }
    with pytest.raises(ModelNotFound) as caught:
        Model().to_native(_call(None, "openai.model", name="gpt-4"), served)
    assert caught.value.status == 404 and caught.value.code == "model_not_found"
    assert "'gpt-4' does not exist: this endpoint serves 'minilm'" in caught.value.message
