"""text-embeddings-inference's routes through the real stack (nginx, multi-model-server, the worker), with TEI's
bodies from its OpenAPI description: the real all-MiniLM-L6-v2's answers equal sentence-transformers' own, a
cross-encoder ranks as CrossEncoder does, TEI's limits and errors in its {"error", "error_type"} shape with its
statuses; and huggingface_hub's InferenceClient pointed at /embed, /similarity and /invocations, as LangChain's
HuggingFaceEndpointEmbeddings and TEI-on-SageMaker users point it."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from hf_serving.protocols.tei import MAX_CLIENT_BATCH_SIZE
from hf_serving.tools.demo_reranker import build_reranker
from tests.protocols.clients_run import run_client
from tests.support.paths import minilm
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "Ein Mann isst Brot. Café, 東京, 😀",
    "word " * 400,
]  # the last one over MiniLM's 256 tokens: truncated, as TEI's auto-truncate does
QUERY = "Which passage explains reranking?"
PASSAGES = ["A reranker scores each passage against the query.", "The train leaves at noon.", "Café, 東京 and 😀."]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from Stack(minilm(), tmp_path_factory.mktemp("tei-stack") / "serve.log").serving()


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory):
    return build_reranker(tmp_path_factory.mktemp("tei-reranker") / "cross-encoder", size="tiny", seed=5)


@pytest.fixture(scope="module")
def reranker_stack(cross_encoder, tmp_path_factory):
    yield from Stack(cross_encoder, tmp_path_factory.mktemp("tei-reranker-stack") / "serve.log").serving()


@pytest.fixture(scope="module")
def encoder():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu")


def _post(stack: Stack, route: str, body: object) -> requests.Response:
    return requests.post(f"{stack.url}{route}", json=body, timeout=60)


def _tei_error(response: requests.Response, status: int, error_type: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    assert document["error_type"] == error_type and fragment in document["error"], document


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_embed_answers_encode_s_vectors(stack, encoder):
    response = _post(
        stack, "/embed", {"inputs": TEXTS, "normalize": True, "truncate": True, "truncation_direction": "Right"}
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    vectors = np.array(response.json())
    assert vectors.shape == (len(TEXTS), 384)
    assert _cosines(vectors, encoder.encode(TEXTS)).min() >= 0.99999
    one = np.array(_post(stack, "/embed", {"inputs": TEXTS[0]}).json())
    assert one.shape == (1, 384)  # TEI answers one text with a list of one vector
    np.testing.assert_allclose(one[0], encoder.encode(TEXTS[0]), atol=1e-5)
    ids = [[101, 1037, 2158, 2003, 5983, 2833, 1012, 102]]  # "A man is eating food." in MiniLM's vocabulary
    np.testing.assert_allclose(_post(stack, "/embed", {"inputs": ids}).json(), one, atol=1e-6)
    cut = np.array(_post(stack, "/embed", {"inputs": TEXTS[:2], "dimensions": 64}).json())
    assert cut.shape == (2, 64) and np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)


def test_embed_all_answers_encode_s_token_embeddings(stack, encoder):
    response = _post(stack, "/embed_all", {"inputs": TEXTS[:3]})
    assert response.status_code == 200
    for states, reference in zip(
        response.json(), encoder.encode(TEXTS[:3], output_value="token_embeddings"), strict=True
    ):
        states = np.array(states)
        assert states.shape == tuple(reference.shape)
        assert _cosines(states, reference.numpy()).min() >= 0.9999


def test_similarity_answers_cos_sim_of_encode(stack, encoder):
    from sentence_transformers.util import cos_sim

    body = {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS[1:3]}, "parameters": {"truncate": True}}
    response = _post(stack, "/similarity", body)
    assert response.status_code == 200
    expected = cos_sim(encoder.encode([TEXTS[0]]), encoder.encode(TEXTS[1:3]))[0].tolist()
    np.testing.assert_allclose(response.json(), expected, atol=1e-5)


def test_tokenize_and_decode_round_trip(stack):
    tokens = _post(stack, "/tokenize", {"inputs": ["Café 東京", "hello"], "add_special_tokens": True}).json()
    assert [token["text"] for token in tokens[0]] == ["[CLS]", "Café", "東", "京", "[SEP]"]
    assert tokens[0][1] == {"id": tokens[0][1]["id"], "text": "Café", "special": False, "start": 0, "stop": 5}
    ids = [[token["id"] for token in row] for row in tokens]
    assert _post(stack, "/decode", {"ids": ids}).json() == ["cafe 東 京", "hello"]
    assert _post(stack, "/decode", {"ids": ids[1], "skip_special_tokens": False}).json() == ["[CLS] hello [SEP]"]


def test_info_in_tei_s_shape(stack):
    response = requests.get(f"{stack.url}/info", timeout=10)
    assert response.status_code == 200
    info = response.json()
    assert info["model_type"] == {"embedding": {"pooling": "mean"}}
    assert info["max_input_length"] == 256 and info["max_client_batch_size"] == MAX_CLIENT_BATCH_SIZE
    assert info["model_dtype"] == "float32" and info["auto_truncate"] is True and info["model_sha"] is None
    assert {
        "max_concurrent_requests",
        "max_batch_tokens",
        "max_batch_requests",
        "tokenization_workers",
        "version",
        "sha",
        "docker_label",
        "model_id",
    } <= set(info)
    # The endpoint's own limits, as admission control and the model server have them.
    assert info["max_concurrent_requests"] == stack.admission()["slots"]
    assert info["max_concurrent_requests"] == 2 * info["tokenization_workers"] * info["max_batch_requests"]


@pytest.mark.parametrize(
    ("route", "body", "status", "error_type", "fragment"),
    [
        ("/embed", {"inputs": []}, 400, "Empty", "`inputs` cannot be empty"),
        (
            "/embed",
            {"inputs": ["t"] * (MAX_CLIENT_BATCH_SIZE + 1)},
            413,
            "Validation",
            f"batch size {MAX_CLIENT_BATCH_SIZE + 1} > maximum allowed batch size {MAX_CLIENT_BATCH_SIZE}",
        ),
        ("/embed", {"inputs": TEXTS[3], "truncate": False}, 413, "Validation", "over this model's 256"),
        ("/embed", {"inputs": ["fine", 7]}, 400, "Validation", "inputs[1] must be a string"),
        ("/embed", {"inputs": "x", "dimensions": 999}, 400, "Validation", "dimensions must be <= 384"),
        ("/embed", {"inputs": [[101, 10**6]]}, 400, "Validation", "outside this model's vocabulary"),
        ("/embed_all", {"inputs": []}, 400, "Empty", "`inputs` cannot be empty"),
        (
            "/similarity",
            {"inputs": {"source_sentence": "s", "sentences": []}},
            400,
            "Empty",
            "`inputs.sentences` cannot be empty",
        ),
        ("/tokenize", {"inputs": "t", "prompt_name": "query"}, 400, "Validation", "not one of this model's prompts"),
        ("/rerank", {"query": "q", "texts": ["t"]}, 424, "Backend", "model is not a re-ranker model"),
    ],
)
def test_bad_input_is_answered_in_tei_s_shape(stack, route, body, status, error_type, fragment):
    _tei_error(_post(stack, route, body), status, error_type, fragment)


def test_a_body_that_is_not_json_and_a_wrong_method_are_tei_errors_too(stack):
    _tei_error(
        requests.post(f"{stack.url}/embed", data=b"{", headers={"Content-Type": "application/json"}, timeout=10),
        400,
        "Validation",
        "not valid JSON",
    )
    _tei_error(requests.get(f"{stack.url}/embed", timeout=10), 405, "Validation", "POST")


def test_inference_client_on_tei_s_routes_and_on_invocations(stack, encoder):
    """InferenceClient(model=URL): LangChain's HuggingFaceEndpointEmbeddings gives it the /embed URL, TEI on SageMaker
    users /invocations; both take the client's root-level parameters."""
    expected = encoder.encode(["A man is eating food."])
    for url in (f"{stack.url}/embed", f"{stack.url}/invocations"):
        found = run_client(
            "hf_inference_client.py",
            url,
            "feature_extraction",
            "feature_extraction_batch",
            "feature_extraction_parameters",
        )
        assert _cosines(np.array(found["feature_extraction"]["ok"]), expected)[0] >= 0.99999, url
        assert np.array(found["feature_extraction_batch"]["ok"]).shape == (2, 384), url
        assert np.array(found["feature_extraction_parameters"]["ok"]).shape == (1, 8), url
    for url in (f"{stack.url}/similarity", f"{stack.url}/invocations"):
        found = run_client("hf_inference_client.py", url, "sentence_similarity")["sentence_similarity"]
        assert len(found["ok"]) == 2 and found["ok"][0] > found["ok"][1], (url, found)


def test_rerank_ranks_as_cross_encoder_does(reranker_stack, cross_encoder):
    from sentence_transformers import CrossEncoder

    reference = CrossEncoder(str(cross_encoder), device="cpu").rank(QUERY, PASSAGES, return_documents=True)
    response = _post(
        reranker_stack,
        "/rerank",
        {"query": QUERY, "texts": PASSAGES, "return_text": True, "raw_scores": False, "truncate": True},
    )
    assert response.status_code == 200
    ranks = response.json()
    assert [rank["index"] for rank in ranks] == [int(rank["corpus_id"]) for rank in reference]
    np.testing.assert_allclose(
        [rank["score"] for rank in ranks], [float(rank["score"]) for rank in reference], atol=1e-5
    )
    assert [rank["text"] for rank in ranks] == [PASSAGES[rank["index"]] for rank in ranks]
    raw = _post(reranker_stack, "/rerank", {"query": QUERY, "texts": PASSAGES, "raw_scores": True}).json()
    assert "text" not in raw[0] and [rank["index"] for rank in raw] == [rank["index"] for rank in ranks]
    np.testing.assert_allclose(
        1 / (1 + np.exp(-np.array([rank["score"] for rank in raw]))),  # the logits
        [rank["score"] for rank in ranks],
        atol=1e-5,
    )


def test_a_reranker_s_errors_and_info(reranker_stack):
    _tei_error(_post(reranker_stack, "/rerank", {"query": QUERY, "texts": []}), 400, "Empty", "`texts` cannot be empty")
    _tei_error(
        _post(reranker_stack, "/rerank", {"query": QUERY, "texts": ["t"] * (MAX_CLIENT_BATCH_SIZE + 1)}),
        413,
        "Validation",
        "maximum allowed batch size",
    )
    _tei_error(_post(reranker_stack, "/embed", {"inputs": "x"}), 424, "Backend", "Model is not an embedding model")
    info = requests.get(f"{reranker_stack.url}/info", timeout=10).json()
    assert list(info["model_type"]) == ["reranker"] and len(info["model_type"]["reranker"]["id2label"]) == 1
