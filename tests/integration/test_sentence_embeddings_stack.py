"""The real all-MiniLM-L6-v2 through the real stack (nginx, multi-model-server, Java, the handler): vectors equal to
sentence-transformers' encode(), errors naming the item, Batch Transform records, concurrent requests batched."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.support.paths import minilm
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Ein Mann isst Brot. Café, 東京, 😀",
    "word " * 400,
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("embeddings-stack")
    yield from Stack(minilm(), tmp / "serve.log", MODEL_SERVER_BATCH_SIZE="8").serving()


@pytest.fixture(scope="module")
def encoder():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu")


@pytest.fixture(scope="module")
def expected(encoder):
    return encoder.encode(TEXTS, convert_to_numpy=True)


def _cos_sim(encoder, source: str, sentences: list[str]) -> list[float]:
    """sentence-transformers' own similarity of encode()'s vectors: the reference of the similarity answers."""
    from sentence_transformers.util import cos_sim

    return cos_sim(encoder.encode([source]), encoder.encode(sentences))[0].tolist()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_the_banner_names_the_task_found_in_modules_json_and_what_the_worker_loaded(stack):
    log = stack.log()
    assert "task: sentence-embeddings (from the sentence-transformers layout, modules.json)" in log
    assert "serving sentence-embeddings on torch" in log and "dtype float32" in log
    assert "SERVING RANDOM WEIGHTS" not in log  # a trained model


def test_vectors_equal_encode_one_per_input_in_order(stack, expected):
    response = stack.invoke({"inputs": TEXTS})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    vectors = np.array(response.json())
    assert vectors.shape == (len(TEXTS), 384)
    assert _cosines(vectors, expected).min() >= 0.99999
    single = stack.invoke({"inputs": TEXTS[0]})
    assert single.status_code == 200 and len(single.json()) == 1  # a list of one vector, as TEI answers
    assert _cosines(np.array(single.json()), expected[:1])[0] >= 0.99999


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inputs": ["fine", ""]}, "inputs[1] must not be empty"),
        ({"inputs": ["fine", 7]}, "inputs[1] must be a string, not number"),
        ({"inputs": "x", "normalize": "no"}, "normalize must be true or false"),
    ],
)
def test_bad_input_is_a_400_json_error_naming_the_item(stack, body, fragment):
    response = stack.invoke(body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request" and fragment in error["message"] and error["request_id"]


def test_json_lines_records_answer_line_by_line_and_a_bad_line_keeps_its_own_error(stack, expected):
    lines = "\n".join(json.dumps(record) for record in ({"inputs": TEXTS[0]}, {"inputs": ""}, TEXTS[1:3])) + "\n"
    response = stack.invoke(data=lines, content_type="application/jsonlines")
    assert response.status_code == 200
    first, error, pair = (json.loads(line) for line in response.text.splitlines())
    assert _cosines(np.array(first), expected[:1])[0] >= 0.99999
    assert error["error"]["code"] == "bad_request" and error["error"]["line"] == 2
    assert _cosines(np.array(pair), expected[1:3]).min() >= 0.99999


def test_concurrent_requests_are_all_answered_right(stack, expected):
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda i: stack.invoke({"inputs": [TEXTS[i % 3]]}), range(24)))
    assert [r.status_code for r in responses] == [200] * 24
    for index, response in enumerate(responses):
        assert _cosines(np.array(response.json()), expected[index % 3 : index % 3 + 1])[0] >= 0.99999


def test_the_handlers_own_413_reaches_the_client_with_its_own_message(stack):
    """nginx's edge turns only its own 413 (a body over the limit) into its message; the handler's passes through."""
    response = stack.invoke({"inputs": ["short", "word " * 300], "truncate": False})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and error["request_id"] == response.headers["X-Request-Id"]
    assert error["message"].startswith("inputs[1] is 302 tokens long, over this model's 256")


def test_sentence_similarity_answers_cos_sim_of_encode_as_a_bare_list(stack, encoder):
    body = {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS[1:]}}
    response = stack.invoke(body)
    assert response.status_code == 200
    answer = response.json()
    assert isinstance(answer, list) and len(answer) == len(TEXTS) - 1
    assert answer == pytest.approx(_cos_sim(encoder, TEXTS[0], TEXTS[1:]), abs=1e-5)


def test_concurrent_similarity_requests_batched_server_side_each_get_their_own_answer(stack, encoder):
    queries = [(TEXTS[i % 3], TEXTS[(i + 1) % 4 : (i + 1) % 4 + 2]) for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(
                lambda query: stack.invoke({"inputs": {"source_sentence": query[0], "sentences": query[1]}}), queries
            )
        )
    assert [r.status_code for r in responses] == [200] * len(queries)
    for (source, sentences), response in zip(queries, responses, strict=True):
        assert response.json() == pytest.approx(_cos_sim(encoder, source, sentences), abs=1e-5)


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"source_sentence": "s", "sentences": []}, "inputs.sentences must not be an empty list"),
        ({"sentences": ["a"]}, "inputs.source_sentence is missing"),
        ({"source_sentence": "s", "sentences": ["a"] * 1025}, "inputs.sentences holds 1,025 sentences, over the 1,024"),
    ],
)
def test_a_bad_similarity_request_is_a_400_naming_the_field(stack, inputs, fragment):
    response = stack.invoke({"inputs": inputs})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request" and fragment in error["message"]


def test_huggingface_hubs_inference_client_gets_its_similarities(stack, encoder):
    """The real client, pointed at the endpoint's URL, as a user of the Inference API would point it."""
    from huggingface_hub import InferenceClient

    client = InferenceClient(model=f"{stack.url}/invocations", timeout=60)
    answer = client.sentence_similarity(TEXTS[0], other_sentences=TEXTS[1:3])
    assert answer == pytest.approx(_cos_sim(encoder, TEXTS[0], TEXTS[1:3]), abs=1e-5)
