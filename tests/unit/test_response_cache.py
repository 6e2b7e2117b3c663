"""The response cache: keys, the memory LRU, only the misses through the model, and a real Redis (Debian's
redis-server, started here) reachable, unreachable, slow and restarted."""

from __future__ import annotations

import subprocess
import time

import pytest

from hf_serving.caching import keys
from hf_serving.caching.response_cache import ResponseCache, x_cache
from hf_serving.caching.stores import MemoryStore, RedisStore, redact
from hf_serving.errors import ConfigurationError
from hf_serving.observability.worker_metrics import WorkerMetrics
from hf_serving.settings import Settings
from hf_serving.tasks.question_answering.answerer import QAInput, QAParameters
from hf_serving.tasks.text_classification.classifier import ClassificationParameters
from tests.support.redis import REDIS_CLI, RedisServer, free_port


def test_keys_follow_the_model_the_item_and_its_parameters(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    identity = keys.model_identity(tmp_path, "text-classification", "torch", "float32")
    assert identity == keys.model_identity(tmp_path, "text-classification", "torch", "float32")
    assert identity != keys.model_identity(tmp_path, "text-classification", "openvino", "int8")
    (tmp_path / "model.safetensors").write_bytes(b"retrained")
    assert keys.model_identity(tmp_path, "text-classification", "torch", "float32") != identity
    default = ClassificationParameters()
    key = keys.item_key(identity, "a text", default)
    assert key.startswith(keys.KEY_PREFIX) and key == keys.item_key(identity, "a text", ClassificationParameters())
    assert key != keys.item_key(identity, "a text ", default)
    assert key != keys.item_key(identity, "a text", ClassificationParameters(top_k=2, legacy=False))
    qa = keys.item_key(identity, QAInput("Who?", "Ann did."), QAParameters())
    assert qa != keys.item_key(identity, QAInput("Who?", "Bob did."), QAParameters())


def test_the_memory_store_is_an_lru_bounded_in_bytes_with_a_ttl():
    now = [0.0]
    store = MemoryStore(max_bytes=100, ttl_s=10, clock=lambda: now[0])
    store.set_many({"a": b"x" * 30, "b": b"y" * 30})
    assert store.get_many(["a", "b", "c"]) == [b"x" * 30, b"y" * 30, None]
    store.set_many({"c": b"z" * 40})  # 31 + 31 + 41 > 100: the least recently used ("a") goes
    assert store.get_many(["a", "b", "c"]) == [None, b"y" * 30, b"z" * 40] and store.bytes <= 100
    store.set_many({"huge": b"h" * 200})  # larger than the whole cache: not kept, nothing evicted for it
    assert store.get_many(["huge", "b"]) == [None, b"y" * 30]
    now[0] = 10.5
    assert store.get_many(["b", "c"]) == [None, None] and len(store) == 0 and store.bytes == 0


class Model:
    """answer() that says which items it was asked for, with one token count per item as tasks give them."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def answer(self, items: list[str], parameters: object) -> list[tuple[object, int]]:
        self.asked.append(list(items))
        return [({"label": item.upper(), "score": 0.5}, len(item)) for item in items]


def cache_for(store) -> ResponseCache:
    return ResponseCache(
        store,
        "identity",
        WorkerMetrics("model", "text-classification", enabled=False),
        lambda result: result,
        lambda stored: stored,
    )


def test_only_the_misses_go_through_the_model_and_answers_keep_their_order():
    model, cache = Model(), cache_for(MemoryStore(1 << 20, 60))
    assert cache.answer(["b", "a"], None, model.answer) == [
        ({"label": "B", "score": 0.5}, 1, False),
        ({"label": "A", "score": 0.5}, 1, False),
    ]
    got = cache.answer(["a", "cc", "b", "cc"], None, model.answer)
    assert [result["label"] for result, _, _ in got] == ["A", "CC", "B", "CC"]
    assert model.asked == [["b", "a"], ["cc"]]  # the repeat of "cc" in one call: answered once
    assert [hit for _, _, hit in got] == [True, False, True, False]
    assert [tokens for _, tokens, _ in got] == [0, 2, 0, 0]  # the hits and the repeat read nothing
    again = cache.answer(["a", "b"], None, model.answer)
    assert model.asked[-1] == ["cc"] and [(tokens, hit) for _, tokens, hit in again] == [(0, True), (0, True)]
    assert (x_cache([True, True]), x_cache([True, False]), x_cache([False]), x_cache([])) == (
        "hit",
        "partial",
        "miss",
        "miss",
    )


def test_a_failure_of_the_model_is_not_cached():
    calls = []

    def failing(items: list[str], parameters: object) -> list[object]:
        calls.append(items)
        raise ValueError("the model failed")

    cache = cache_for(MemoryStore(1 << 20, 60))
    for _ in range(2):
        with pytest.raises(ValueError):
            cache.answer(["x"], None, failing)
    assert calls == [["x"], ["x"]]


def test_settings_read_the_cache_variables_and_never_show_a_password():
    settings = Settings.from_environ({"RESPONSE_CACHE": "redis://:s3cret@cache:6379/2", "RESPONSE_CACHE_TTL_S": "60"})
    assert (settings.response_cache, settings.response_cache_ttl_s) == ("redis", 60)
    assert "s3cret" not in repr(settings) and redact(settings.response_cache_url or "") == "redis://:***@cache:6379/2"
    assert Settings.from_environ({"RESPONSE_CACHE": "memory"}).response_cache == "memory"
    assert Settings.from_environ({}).response_cache == "off"
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_environ({"RESPONSE_CACHE": "memcached://:hunter2@x"})
    assert "hunter2" not in str(refused.value)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path, free_port(), password="a-password-for-the-test")
    server.start()
    yield server
    server.stop()


def test_redis_keeps_answers_with_the_ttl_and_the_password(redis_server):
    import redis

    errors: list[str] = []
    url = f"redis://127.0.0.1:{redis_server.port}/3"
    store = RedisStore(url, redis_server.password, ttl_s=120, timeout_s=0.05, on_error=errors.append)
    model, cache = Model(), cache_for(store)
    first, second = (cache.answer(["a", "b"], None, model.answer) for _ in range(2))
    assert [result for result, _, _ in first] == [result for result, _, _ in second]
    assert [hit for _, _, hit in first + second] == [False, False, True, True]
    assert model.asked == [["a", "b"]] and errors == []
    direct = redis.Redis(port=redis_server.port, db=3, password=redis_server.password)
    stored = direct.keys(keys.KEY_PREFIX + "*")
    assert len(stored) == 2 and all(0 < direct.ttl(key) <= 120 for key in stored)
    # A second worker or replica with the same model shares the answers.
    other = Model()
    assert cache_for(RedisStore(url, redis_server.password, 120, 0.05)).answer(["b"], None, other.answer)
    assert other.asked == []
    # The wrong password: every lookup a miss, an error counted, never raised.
    wrong = RedisStore(url, "not-the-password", 120, 0.05, on_error=errors.append)
    assert wrong.get_many(["x"]) == [None] and errors == ["get"]
    for client in (direct, store.client, wrong.client):
        client.close()


def test_redis_unreachable_slow_or_restarted_is_answered_without_the_cache(redis_server):
    import redis

    errors: list[str] = []
    store = RedisStore(
        f"redis://127.0.0.1:{redis_server.port}/0", redis_server.password, 60, 0.05, on_error=errors.append
    )
    model, cache = Model(), cache_for(store)
    cache.answer(["a"], None, model.answer)
    # Slow: the server busy for 1 s; the call gives up after the 50 ms timeout.
    blocker = redis.Redis(port=redis_server.port, password=redis_server.password)
    sleeper = subprocess.Popen(
        [
            REDIS_CLI,
            "-p",
            str(redis_server.port),
            "-a",
            redis_server.password,
            "--no-auth-warning",
            "DEBUG",
            "SLEEP",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.2)
    started = time.monotonic()
    assert [r for r, _, _ in cache.answer(["a"], None, model.answer)] == [{"label": "A", "score": 0.5}]
    assert time.monotonic() - started < 0.5 and errors and model.asked[-1] == ["a"]
    sleeper.wait()
    # Then resting: for RETRY_AFTER_S no call reaches Redis (no timeout paid per request).
    failures = len(errors)
    started = time.monotonic()
    cache.answer(["b"], None, model.answer)
    assert time.monotonic() - started < 0.05 and len(errors) == failures
    # Unreachable: stopped.
    redis_server.stop()
    time.sleep(1.1)
    assert [r for r, _, _ in cache.answer(["c"], None, model.answer)] == [{"label": "C", "score": 0.5}]
    assert len(errors) == failures + 1
    # Restarted (empty, on the same port): the store reconnects by itself once its rest is over.
    redis_server.start()
    time.sleep(1.1)
    cache.answer(["d"], None, model.answer)
    asked = len(model.asked)
    assert [r for r, _, _ in cache.answer(["d"], None, model.answer)] == [{"label": "D", "score": 0.5}]
    assert len(model.asked) == asked
    assert blocker.ping()
    blocker.close()
    store.client.close()
