"""Fill-mask through the real stack: found from config.json, the pipeline's answers, each bad record its own error."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import time

import pytest
from transformers import pipeline

from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model
from tests.support import metrics
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

TEXT = "Paris is the [MASK] of France."
NO_MASK = "inputs has no [MASK]: put [MASK] where the word to fill goes"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("tiny-fill-mask"), Task.FILL_MASK, "tiny", seed=7)


@pytest.fixture(scope="module")
def reference(model_dir):
    fill_mask = pipeline("fill-mask", model=str(model_dir), device="cpu")

    def answer(inputs, **parameters):
        logging.getLogger("transformers").setLevel(logging.ERROR)  # its warning for each replaced target
        return fill_mask(inputs, **parameters)

    return answer


@pytest.fixture(scope="module")
def stack(tmp_path_factory, model_dir):
    """Server-side batching on: concurrent requests share model passes (and a bad one must not spoil them)."""
    tmp = tmp_path_factory.mktemp("fill-mask")
    yield from Stack(
        model_dir_with_code(tmp, source=model_dir),
        tmp / "serve.log",
        MODEL_SERVER_BATCH_SIZE="8",
        MODEL_SERVER_MAX_BATCH_DELAY_MS="100",
    ).serving()


def same(ours, theirs) -> bool:
    """The pipeline's JSON: tokens, words, sequences and nesting equal; scores within 1e-5 relative."""
    if isinstance(theirs, list):
        return (
            isinstance(ours, list)
            and len(ours) == len(theirs)
            and all(same(mine, expected) for mine, expected in zip(ours, theirs, strict=True))
        )
    return (
        list(ours) == ["score", "token", "token_str", "sequence"]
        and all(ours[key] == theirs[key] for key in ("token", "token_str", "sequence"))
        and ours["score"] == pytest.approx(theirs["score"], rel=1e-5)
    )


def test_the_task_comes_from_config_json(stack):
    assert "task: fill-mask (from config.json architectures)" in stack.log()
    assert "serving fill-mask on torch" in stack.log()


@pytest.mark.parametrize(
    ("inputs", "parameters"),
    [
        (TEXT, {}),
        ([TEXT, "a [MASK] b", "Café 漢字 🙂 [MASK]"], {"top_k": 3}),
        ([TEXT], {}),
        ("The [MASK] sat on the [MASK].", {"top_k": 2}),
        (TEXT, {"targets": ["capital", "Zebrafication", "city"], "top_k": 10}),
    ],
    ids=["one text", "a list", "a list of one", "two masks", "targets in and out of the vocabulary"],
)
def test_answers_equal_the_in_process_pipelines(stack, reference, inputs, parameters):
    response = stack.invoke({"inputs": inputs, "parameters": parameters})
    assert response.status_code == 200, response.text
    assert same(response.json(), reference(inputs, **parameters))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": TEXT, "parameters": {"top_k": 0}}, "parameters.top_k must be an integer from 1 to 100"),
        ({"inputs": TEXT, "parameters": {"targets": ["\u200b"]}}, "parameters.targets: none of"),
        ({"inputs": TEXT, "parameters": {"top_n": 2}}, "unknown parameters: top_n (accepted: top_k, targets)"),
        ({"inputs": "no mask here"}, NO_MASK),
        ({"inputs": [TEXT, "a [mask] in lower case"]}, "inputs[1] has no [MASK]"),
    ],
)
def test_bad_parameters_and_texts_are_400_naming_them(stack, body, message):
    response = stack.invoke(body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error["message"] and error["code"] and error["request_id"]


def test_a_bad_request_in_a_server_side_batch_gets_its_own_400_and_the_others_their_answers(stack, reference):
    bodies = [{"inputs": f"Request {i} asks for the [MASK]."} for i in range(11)] + [{"inputs": "no mask here"}]
    batched = batches_over_one(stack)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda body: stack.invoke(body, timeout=120), bodies))
    assert [r.status_code for r in responses] == [200] * 11 + [400]
    assert responses[-1].json()["error"]["message"] == NO_MASK
    for body, response in zip(bodies[:-1], responses[:-1], strict=True):
        assert same(response.json(), reference(body["inputs"]))
    assert batches_over_one(stack) > batched  # they did share model passes


def batches_over_one(stack: Stack) -> float:
    """Batches of more than one request the workers answered, from /metrics' histogram."""
    samples = metrics.scrape(stack.url)
    return metrics.total(samples, "hf_serving_batch_requests_count") - metrics.total(
        samples, "hf_serving_batch_requests_bucket", le="1.0"
    )


def test_json_lines_each_record_answered_or_given_its_own_error(stack, reference):
    records = [
        {"inputs": TEXT},
        {"inputs": "no mask here"},
        {"inputs": ["a [MASK] b", TEXT], "parameters": {"top_k": 2}},
        {"inputs": TEXT, "parameters": {"top_k": 500}},
    ]
    lines = "".join(json.dumps(record) + "\n" for record in records)
    response = stack.invoke(data=lines.encode(), content_type="application/jsonlines")
    assert response.status_code == 200
    answered = [json.loads(line) for line in response.text.splitlines()]
    assert len(answered) == 4
    assert same(answered[0], reference(TEXT))
    assert answered[1]["error"]["message"] == NO_MASK and answered[1]["error"]["line"] == 2
    assert same(answered[2], reference(["a [MASK] b", TEXT], top_k=2))
    assert "parameters.top_k must be an integer from 1 to 100" in answered[3]["error"]["message"]


def test_csv_one_text_a_row_one_row_a_proposal(stack, reference):
    response = stack.invoke(
        data=f'"{TEXT}"\n"a [MASK], b"\n'.encode(), content_type="text/csv", Accept="application/json"
    )
    assert response.status_code == 200, response.text
    assert same(response.json(), [reference(TEXT), reference("a [MASK], b")])


def test_the_metrics_count_the_tokens_the_model_read(stack):
    before = metrics.total(metrics.scrape(stack.url), "hf_serving_request_tokens_sum")
    response = stack.invoke({"inputs": ["a [MASK]", TEXT]})  # [CLS] a [MASK] [SEP], and 9
    assert response.status_code == 200
    assert "inference;dur=" in response.headers["Server-Timing"]
    deadline = time.monotonic() + 30  # the worker's report reaches /metrics after the answer
    while metrics.total(metrics.scrape(stack.url), "hf_serving_request_tokens_sum") - before < 13:
        assert time.monotonic() < deadline, "the request's 13 tokens never reached /metrics"
        time.sleep(0.2)
    assert metrics.total(metrics.scrape(stack.url), "hf_serving_request_tokens_sum") - before == 13
