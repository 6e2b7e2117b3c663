"""The handler's observations, in-process (no PROMETHEUS_MULTIPROC_DIR: prometheus_client's own registry): each
request of a shared model pass gets its own tokens, the pass its rows, the batch its size, every response its
Server-Timing."""

from __future__ import annotations

import json
import re

import pytest
from prometheus_client import REGISTRY
from transformers import AutoTokenizer

from hf_serving.settings import Settings, settings_in_use
from tests.support.fakes import json_request, run_batch, service_for
from tests.support.paths import TINY_QA

LABELS = {"model": "model", "task": "question-answering"}
CONTEXTS = ["The container listens on port 8080.", "Answers come back as JSON lines.", "Short."]


@pytest.fixture(scope="module")
def service():
    current = Settings(model_dir=TINY_QA, dtype="float32")
    with settings_in_use(current):
        yield service_for(current)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {**LABELS, **labels}) or 0.0


def test_requests_sharing_a_pass_each_get_their_own_tokens(service):
    tokenizer = AutoTokenizer.from_pretrained(TINY_QA)
    expected = [len(tokenizer("Which port?", context)["input_ids"]) for context in CONTEXTS]
    before = {
        name: value(name)
        for name in (
            "hf_serving_request_tokens_sum",
            "hf_serving_request_tokens_count",
            "hf_serving_pass_rows_sum",
            "hf_serving_pass_rows_count",
            "hf_serving_batch_requests_sum",
            "hf_serving_batch_requests_count",
            "hf_serving_model_pass_duration_seconds_sum",
            "hf_serving_model_pass_duration_seconds_count",
        )
    }
    requests = [json_request({"question": "Which port?", "context": context}) for context in CONTEXTS]
    bodies, context = run_batch(service, [*requests, ({"body": b"{broken"}, {"Content-Type": "application/json"})])
    assert [context.statuses[i][0] for i in range(4)] == [200, 200, 200, 400]
    grown = {name: value(name) - before[name] for name in before}
    assert grown["hf_serving_request_tokens_count"] == 3  # the broken one read no tokens
    assert grown["hf_serving_request_tokens_sum"] == sum(expected)
    assert (grown["hf_serving_pass_rows_count"], grown["hf_serving_pass_rows_sum"]) == (1, 3)
    assert (grown["hf_serving_batch_requests_count"], grown["hf_serving_batch_requests_sum"]) == (1, 4)
    inference_ms = []
    for index in range(4):
        timing = context.response_headers[index]["Server-Timing"]
        assert re.fullmatch(r"tokenise;dur=[0-9.]+, inference;dur=[0-9.]+, encode;dur=[0-9.]+", timing)
        inference_ms.append(float(re.search(r"inference;dur=([0-9.]+)", timing).group(1)))
    assert json.loads(bodies[3])["error"]["code"] == "bad_request"
    # The engine's own seconds, once for the one pass: inside what each request sharing it counts as inference
    assert grown["hf_serving_model_pass_duration_seconds_count"] == 1
    assert 0 < grown["hf_serving_model_pass_duration_seconds_sum"] * 1000 <= min(inference_ms[:3]) + 0.1


def test_the_stage_histograms_count_each_request_once_per_stage(service):
    before = {
        stage: value("hf_serving_stage_duration_seconds_count", stage=stage)
        for stage in ("queue", "tokenise", "inference", "encode")
    }
    headers = {"X-Request-Start": "t=0"}  # implausible: no queue stage rather than a wrong one
    run_batch(service, [json_request({"question": "Which port?", "context": CONTEXTS[0]}, **headers)])
    grown = {
        stage: value("hf_serving_stage_duration_seconds_count", stage=stage) - count for stage, count in before.items()
    }
    assert grown == {"queue": 0, "tokenise": 1, "inference": 1, "encode": 1}
