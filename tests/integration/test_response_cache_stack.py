"""RESPONSE_CACHE through the whole stack (nginx, multi-model-server, a worker, a real redis-server): X-Cache on every
response, a hit answered as the miss was, only the misses of a batch through the model, the counts in /metrics,
Redis stopped mid-run answered without it, and a user predict_fn not cached unless it opts in."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support import metrics
from tests.support.redis import RedisServer, free_port
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

CONTEXT = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France, built by Gustave Eiffel."
USER_PREDICT = """
def predict_fn(data, model):
    return model.predict(data)
"""


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port(), password="stack-test-password")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cached(tmp_path_factory, redis_server):
    tmp = tmp_path_factory.mktemp("cached")
    yield from Stack(
        model_dir_with_code(tmp, None),
        tmp / "serve.log",
        RESPONSE_CACHE=f"redis://:{redis_server.password}@127.0.0.1:{redis_server.port}/1",
        RESPONSE_CACHE_TTL_S="300",
    ).serving()


def lookups(stack: Stack) -> dict[str, float]:
    samples = metrics.scrape(stack.url)
    return {
        result: metrics.total(samples, "hf_serving_response_cache_lookups_total", result=result)
        for result in ("hit", "miss")
    }


def test_a_repeat_is_a_hit_with_the_same_answer_and_a_batch_sends_only_its_misses(cached):
    before = lookups(cached)
    question = {"question": "Who built the tower?", "context": CONTEXT}
    first = cached.invoke(question)
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss", (first.status_code, first.text)
    answer = first.json()
    assert CONTEXT[answer["start"] : answer["end"]] == answer["answer"]
    again = cached.invoke({"inputs": question})  # another shape of the same item: the same key
    assert (again.status_code, again.headers["X-Cache"], again.json()) == (200, "hit", answer)
    assert re.match(r"queue;dur=[0-9.]+, tokenise;dur=", again.headers["Server-Timing"])
    other = {"question": "Where is the tower?", "context": CONTEXT}
    batch = cached.invoke({"inputs": [other, question]})
    assert batch.status_code == 200 and batch.headers["X-Cache"] == "partial", batch.text
    got = batch.json()
    assert got[1] == answer and CONTEXT[got[0]["start"] : got[0]["end"]] == got[0]["answer"]
    assert cached.invoke({"inputs": [question, other]}).headers["X-Cache"] == "hit"
    after = lookups(cached)
    assert (after["hit"] - before["hit"], after["miss"] - before["miss"]) == (4, 2)


def test_errors_carry_x_cache_miss_and_are_not_cached(cached):
    for _ in range(2):
        bad = cached.invoke({"question": "", "context": CONTEXT})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request", bad.text
        assert bad.headers["X-Cache"] == "miss"


def test_redis_stopped_is_answered_without_the_cache_counted_and_logged_once(cached, redis_server):
    question = {"question": "What is the tower made of?", "context": CONTEXT}
    redis_server.stop()
    try:
        for _ in range(3):
            response = cached.invoke(question, timeout=10)
            assert response.status_code == 200 and response.headers["X-Cache"] == "miss", response.text
            assert CONTEXT[response.json()["start"] : response.json()["end"]] == response.json()["answer"]
        samples = metrics.scrape(cached.url)
        assert metrics.total(samples, "hf_serving_response_cache_errors_total") >= 1
        warned = [line for line in cached.log().splitlines() if "answering without the cache" in line]
        assert len(warned) == 1 and "stack-test-password" not in cached.log(), warned
    finally:
        redis_server.start()


@pytest.fixture(scope="module")
def user_hooks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user-hooks")
    yield from Stack(model_dir_with_code(tmp, USER_PREDICT), tmp / "serve.log", RESPONSE_CACHE="memory").serving()


def test_a_user_predict_fn_is_not_cached_unless_it_opts_in(user_hooks):
    question = {"question": "Who built the tower?", "context": CONTEXT}
    for _ in range(2):
        response = user_hooks.invoke(question)
        assert response.status_code == 200 and "X-Cache" not in response.headers, response.headers
        assert CONTEXT[response.json()["start"] : response.json()["end"]] == response.json()["answer"]
    assert "may not be deterministic" in user_hooks.log()
    assert requests.get(f"{user_hooks.url}/ping", timeout=5).status_code == 200
