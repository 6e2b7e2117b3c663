"""Token classification through the real stack (nginx, multi-model-server, Java, the handler), on the named-entity
tagger trained here (tools/ner_minilm.py): detected from config.json, the pipeline's answers for several strategies,
names found, a bad record's own error in a batch, JSON Lines, and the response cache."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from transformers import pipeline

from tests.support.answers import same_answer
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

TEXTS = [
    "Maria Garcia lives in Berlin.",
    "Kwame Mensah works at Northwind Traders in Tokyo.",
    "Yesterday Héloïse flew to São Paulo 😀 and 東京.",
    "The weather was nice today.",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, trained_ner):
    tmp = tmp_path_factory.mktemp("token-classification")
    yield from Stack(
        trained_ner,
        tmp / "serve.log",
        MODEL_SERVER_BATCH_SIZE="8",
        MODEL_SERVER_MAX_BATCH_DELAY_MS="50",
        RESPONSE_CACHE="memory",
    ).serving()


@pytest.fixture(scope="module")
def reference(trained_ner):
    return pipeline("token-classification", model=str(trained_ner), device="cpu")


def test_the_task_comes_from_config_json(stack):
    log = stack.log()
    assert "task: token-classification (from config.json architectures)" in log
    assert "serving token-classification on torch" in log and "SERVING RANDOM WEIGHTS" not in log


@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_answers_equal_the_pipeline_in_process(stack, reference, strategy):
    response = stack.invoke({"inputs": TEXTS, "parameters": {"aggregation_strategy": strategy}})
    assert response.status_code == 200, response.text
    expected = json.loads(json.dumps(reference(TEXTS, aggregation_strategy=strategy), default=float))
    assert same_answer(response.json(), expected), (response.json(), expected)
    alone = stack.invoke({"inputs": TEXTS[0], "parameters": {"aggregation_strategy": strategy}})
    assert alone.status_code == 200 and same_answer(alone.json(), expected[0])  # one text: its list of entities


def test_the_trained_tagger_finds_the_person_and_the_place(stack):
    text = "Emma Johansson lives in Madrid."
    response = stack.invoke({"inputs": text, "parameters": {"aggregation_strategy": "simple"}})
    assert response.status_code == 200
    found = {(entity["entity_group"], text[entity["start"] : entity["end"]]) for entity in response.json()}
    assert {("PER", "Emma Johansson"), ("LOC", "Madrid")} <= found, found
    assert all(entity["score"] > 0.5 for entity in response.json())


def test_a_long_text_is_read_whole(stack):
    text = "The weather was nice today. " * 200 + "Maria Garcia lives in Berlin."
    response = stack.invoke({"inputs": text, "parameters": {"aggregation_strategy": "first"}})
    assert response.status_code == 200
    found = {(entity["entity_group"], text[entity["start"] : entity["end"]]) for entity in response.json()}
    assert {("PER", "Maria Garcia"), ("LOC", "Berlin")} <= found, found


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({"aggregation_strategy": "longest"}, "parameters.aggregation_strategy must be one of none, simple, first"),
        ({"stride": 16, "aggregation_strategy": "none"}, "parameters.stride needs parameters.aggregation_strategy"),
        ({"stride": 510, "aggregation_strategy": "simple"}, "parameters.stride must be less than 510"),
        ({"top_k": 1}, "unknown parameters: top_k (accepted: aggregation_strategy, ignore_labels, stride)"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(stack, parameters, fragment):
    response = stack.invoke({"inputs": TEXTS[0], "parameters": parameters})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request" and fragment in error["message"] and error["request_id"]


def test_concurrent_requests_batched_with_bad_ones_each_get_their_own_answer(stack, reference):
    good = {"inputs": TEXTS[1], "parameters": {"aggregation_strategy": "simple"}}
    too_long_a_stride = {"inputs": TEXTS[0], "parameters": {"aggregation_strategy": "simple", "stride": 600}}
    bodies = [too_long_a_stride if i % 4 == 3 else {"inputs": ""} if i % 4 == 1 else good for i in range(24)]
    expected = json.loads(json.dumps(reference(TEXTS[1], aggregation_strategy="simple"), default=float))
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda body: stack.invoke(body, timeout=60), bodies))
    for body, response in zip(bodies, responses, strict=True):
        if body is good:
            assert response.status_code == 200 and same_answer(response.json(), expected)
        else:
            assert response.status_code == 400
            assert (
                "parameters.stride" if body is too_long_a_stride else "inputs must not be empty"
            ) in response.json()["error"]["message"]
    assert "worker process died" not in stack.log().lower()


def test_json_lines_answer_line_by_line_and_a_bad_line_keeps_its_own_error(stack, reference):
    records = [
        {"inputs": TEXTS[0], "parameters": {"aggregation_strategy": "simple"}},
        {"inputs": TEXTS[1], "parameters": {"aggregation_strategy": "simple", "stride": 9999}},
        {"inputs": TEXTS[2:], "parameters": {"aggregation_strategy": "max"}},
        {"inputs": TEXTS[3]},
    ]
    lines = "".join(json.dumps(record) + "\n" for record in records)
    response = stack.invoke(data=lines, content_type="application/jsonlines")
    assert response.status_code == 200, response.text
    first, error, pair, plain = (json.loads(line) for line in response.text.splitlines())
    assert same_answer(first, json.loads(json.dumps(reference(TEXTS[0], aggregation_strategy="simple"), default=float)))
    assert error["error"]["code"] == "bad_request" and error["error"]["line"] == 2
    assert "parameters.stride must be less than 510" in error["error"]["message"]
    assert same_answer(pair, json.loads(json.dumps(reference(TEXTS[2:], aggregation_strategy="max"), default=float)))
    assert plain == []  # no entity in it: every token is O


def test_a_repeat_comes_from_the_response_cache_with_the_same_answer(stack):
    body = {"inputs": "Olga Ivanova joined Hooli last year.", "parameters": {"aggregation_strategy": "average"}}
    first = stack.invoke(body)
    again = stack.invoke(body)
    assert (first.status_code, first.headers["X-Cache"]) == (200, "miss")
    assert (again.status_code, again.headers["X-Cache"], again.json()) == (200, "hit", first.json())
    other = stack.invoke({**body, "parameters": {"aggregation_strategy": "simple"}})  # other parameters: other key
    assert other.headers["X-Cache"] == "miss"
