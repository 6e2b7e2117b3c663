"""A cross-encoder (built here and saved by sentence-transformers' CrossEncoder) through the real stack (nginx,
multi-model-server, Java, the handler): detected from its own files, scores equal to CrossEncoder.predict, TEI's
/rerank body on /invocations, Batch Transform records with a bad one, parameter errors as JSON 400s."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from hf_serving.tools.demo_reranker import build_reranker
from tests.support import metrics
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

QUERY = "Which passage explains reranking?"
TEXTS = [
    "A reranker scores each passage against the query.",
    "The train leaves at noon.",
    "Café, naïve, 東京 and 😀.",
    "Rerankers read query and passage together. " * 100,
]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory):
    return build_reranker(tmp_path_factory.mktemp("reranking-stack") / "cross-encoder", size="tiny", seed=11)


@pytest.fixture(scope="module")
def reference(cross_encoder):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(cross_encoder), device="cpu")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, cross_encoder):
    tmp = tmp_path_factory.mktemp("reranking-serve")
    yield from Stack(cross_encoder, tmp / "serve.log", MODEL_SERVER_BATCH_SIZE="8").serving()


def _scores(entries: list[dict]) -> np.ndarray:
    return np.array([entry["score"] for entry in sorted(entries, key=lambda entry: entry["index"])])


def test_the_banner_names_the_task_found_in_the_directory_and_the_worker_loaded_it(stack):
    log = stack.log()
    assert "task: text-ranking (" in log and "HF_TASK" not in log.split("task: text-ranking (")[1][:20]
    assert "serving text-ranking on torch" in log and "SERVING RANDOM WEIGHTS" in log


def test_scores_equal_crossencoder_predict_sorted_best_first(stack, reference):
    response = stack.invoke({"inputs": {"query": QUERY, "texts": TEXTS}, "parameters": {"top_n": 3}})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    ranked = reference.rank(QUERY, TEXTS, top_k=3)
    assert [entry["index"] for entry in answer] == [entry["corpus_id"] for entry in ranked]
    np.testing.assert_allclose([e["score"] for e in answer], [r["score"] for r in ranked], rtol=1e-5)
    assert all(set(entry) == {"index", "score"} for entry in answer)


def test_teis_rerank_body_on_invocations_with_raw_scores_and_texts(stack, reference):
    import torch

    response = stack.invoke({"query": QUERY, "texts": TEXTS, "raw_scores": True, "return_text": True, "truncate": True})
    assert response.status_code == 200
    answer = response.json()
    expected = reference.predict([(QUERY, text) for text in TEXTS], activation_fn=torch.nn.Identity())
    np.testing.assert_allclose(_scores(answer), expected, rtol=1e-5)
    assert [entry["text"] for entry in answer] == [TEXTS[entry["index"]] for entry in answer]
    assert [entry["score"] for entry in answer] == sorted((entry["score"] for entry in answer), reverse=True)


def test_json_lines_records_answer_line_by_line_and_a_bad_line_keeps_its_own_error(stack, reference):
    records = [
        {"query": QUERY, "texts": TEXTS[:2]},
        {"query": QUERY, "texts": []},
        {"inputs": {"query": "Where does the train go?", "texts": TEXTS[1:3]}},
    ]
    response = stack.invoke(
        data="\n".join(json.dumps(record) for record in records) + "\n", content_type="application/jsonlines"
    )
    assert response.status_code == 200
    first, error, third = (json.loads(line) for line in response.text.splitlines())
    np.testing.assert_allclose(_scores(first), reference.predict([(QUERY, text) for text in TEXTS[:2]]), rtol=1e-5)
    assert error["error"]["code"] == "bad_request" and error["error"]["line"] == 2
    assert "texts must not be an empty list" in error["error"]["message"]
    np.testing.assert_allclose(
        _scores(third), reference.predict([("Where does the train go?", text) for text in TEXTS[1:3]]), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"query": QUERY, "texts": TEXTS, "top_n": 0}, 400, "parameters.top_n must be an integer >= 1"),
        (
            {"inputs": {"query": QUERY, "texts": TEXTS}, "parameters": {"top_k": 2}},
            400,
            "unknown parameters: top_k (accepted: raw_scores, return_text, top_n, truncate, truncation_direction)",
        ),
        ({"query": QUERY, "texts": ["t"] * 1001}, 413, "texts holds 1,001 texts, over the 1,000 one request may rank"),
        ({"query": QUERY, "texts": ["short", "word " * 600], "truncate": False}, 413, "over this model's 512"),
    ],
)
def test_bad_requests_are_json_errors_naming_the_parameter_or_the_limit(stack, body, status, fragment):
    response = stack.invoke(body)
    assert response.status_code == status
    error = response.json()["error"]
    assert fragment in error["message"] and error["request_id"] == response.headers["X-Request-Id"]


def test_concurrent_requests_with_different_queries_are_all_answered_right(stack, reference):
    queries = [QUERY, "Where does the train go?", "Is this about Tokyo?"]
    expected = [reference.predict([(query, text) for text in TEXTS[:3]]) for query in queries]
    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda i: stack.invoke({"query": queries[i % 3], "texts": TEXTS[:3]}), range(12)))
    assert [response.status_code for response in responses] == [200] * 12
    for index, response in enumerate(responses):
        np.testing.assert_allclose(_scores(response.json()), expected[index % 3], rtol=1e-5)


def test_the_tokens_counted_are_every_pairs_own_and_one_model_pass_read_them(stack, reference):
    expected = [len(ids) for ids in reference.tokenizer([QUERY] * 3, TEXTS[:3], truncation=True)["input_ids"]]
    before = metrics.scrape(stack.url)
    response = stack.invoke({"query": QUERY, "texts": TEXTS[:3]})
    after = metrics.scrape(stack.url)
    assert response.status_code == 200

    def grew(name: str) -> float:
        return metrics.total(after, name) - metrics.total(before, name)

    assert grew("hf_serving_request_tokens_count") == 1 and grew("hf_serving_request_tokens_sum") == sum(expected)
    assert grew("hf_serving_pass_rows_count") == 1 and grew("hf_serving_pass_rows_sum") == 3
    assert (
        metrics.total(after, "hf_serving_build_info", model="model", task="text-ranking", dtype="float32", device="cpu")
        == 1
    )
