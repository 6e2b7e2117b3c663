"""The shipped dashboard and alerting rules against a real Prometheus scraping the real stack's GET /metrics.

One stack (a text classifier, so that the prediction panels have classes, confidences and tokens; one worker,
batches of two: 4 admission slots, and SERVE_QUEUE_TIMEOUT_S=0, so a request that finds them taken is refused at
once) takes load from six threads for the whole module: answers, 400 (bad JSON), 404 (an
unknown route), 415 (text/plain), /ping, and the 503s of admission control. Its worker is killed once, so that a
restart is counted and a model load is observed while Prometheus watches (the load pauses meanwhile: on two cores
a flood of refusals would starve the new worker's load past the launcher's 20 s patience). Prometheus (Debian's,
on a free port, its data in a temporary directory) scrapes /metrics every second and evaluates
deploy/prometheus/alerts.yml every second; the load keeps running while the queries below are asked, so every rate
window has samples.

* promtool accepts deploy/prometheus/alerts.yml and prometheus.yml.
* Every expression of every dashboard panel, with Grafana's $__rate_interval as 15s and as 1m and $model as ".*"
  (what "All" sends), answers `success` with at least one series and at least one finite value: a panel this
  traffic leaves empty or all-NaN is a wrong name, label or query.
* Alert expressions are conditions: healthy, most are rightly empty, so an empty answer proves nothing. Each is
  asked as it stands (it must parse and evaluate), then taken apart (tests/support/promql.py,
  condition_operands): cut at its top-level `or`/`and`/`unless` and at its comparison with a threshold, each query
  that is compared must return series here. That is what makes the condition able to fire: the comparison only
  decides when, and a selector that matches nothing (a misspelt metric, label or job) would keep an alert quiet
  forever. The traffic is chosen so that each compared query has data (503s for the 5xx ratio, a restart for
  the restarts' increase). Prometheus's own view follows: every rule loaded and evaluated without error, and
  the two whose conditions this traffic meets without a `for` to wait out (a restart) or with one (refusals)
  are firing and pending.

Skipped where /usr/bin/prometheus is missing, except in CI (CI=true: .ci/run installs it), where that fails.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import math
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.support import promql, waiting
from tests.support.prometheus_server import Prometheus
from tests.support.promql import ALERTS, PROMETHEUS_CONFIG, condition_operands, dashboard_exprs, load_dashboard
from tests.support.stack import Stack, free_port, model_dir_with_code

pytestmark = pytest.mark.integration

GOOD = {"inputs": ["I am thrilled with this!", "The container listens on port 8080."]}
# 20 ms more per request, so that six clients keep the 4 slots full and some requests are refused. In input_fn: the
# model's own predict_fn answers, so what it predicted is counted (a user's predict_fn reports no prediction).
SLOW_CODE = """
import time

from hf_serving.serving.default_hooks import input_fn as default_input_fn


def input_fn(body, content_type):
    time.sleep(0.02)
    return default_input_fn(body, content_type)
"""
THREADS = 6
BEFORE_KILL = 300  # requests before the worker is killed
AFTER_KILL = 100  # and after it is back
ANSWERED = 100  # answers (200) at least, and at least one of each of these
REFUSED = ("400", "404", "415", "503")
DEADLINE_S = 120.0
INTERVALS = ("15s", "1m")
# The drift and data capture panels' series exist only with DRIFT_BASELINE (see DRIFT_RULES) and DATA_CAPTURE_PERCENT:
# test_drift_stack.py, whose stack has both, asks them.
ONLY_WITH_MONITORING = ("hf_serving_drift_", "hf_serving_data_capture_")
DASHBOARD_EXPRS = [
    (title, expr)
    for title, expr in dashboard_exprs(load_dashboard())
    if not any(prefix in expr for prefix in ONLY_WITH_MONITORING)
]
RULES = promql.rule_exprs()
# The drift gauges exist only with DRIFT_BASELINE and a model that reports its outcomes (this stack's user predict_fn
# does not): tests/integration/test_drift_stack.py asks those rules' operands and the drift panels' expressions, and
# sees the rules fire, in a real Prometheus of its own.
DRIFT_RULES = {"HfServingDriftSignificant", "HfServingDriftModerate"}
COMPARED_HERE = [(alert, expr) for alert, expr in RULES if alert not in DRIFT_RULES]


class Load:
    """THREADS clients in a loop until stopped; what each request got, counted."""

    def __init__(self, stack: Stack) -> None:
        url = stack.url
        self.requests: list[Callable[[], requests.Response]] = [
            *[lambda: stack.invoke(GOOD, timeout=30)] * 5,
            lambda: stack.invoke(data=b'{"inputs": ', timeout=30),  # 400
            lambda: stack.invoke(data=b"hello", content_type="text/plain", timeout=30),  # 415
            lambda: requests.get(f"{url}/no-such-route", timeout=30),  # 404
            lambda: stack.ping(timeout=30),
        ]
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.running = threading.Event()
        self.idle = threading.Semaphore(0)  # a client released each time it waits while paused
        self.pool = concurrent.futures.ThreadPoolExecutor(THREADS)
        self.futures: list[concurrent.futures.Future] = []

    def start(self) -> Load:
        self.running.set()
        self.futures = [self.pool.submit(self._client, offset) for offset in range(THREADS)]
        return self

    def pause(self) -> None:
        """Every client done with its request: the worker's restart is not starved of the two cores."""
        self.running.clear()
        for _ in range(THREADS):
            assert self.idle.acquire(timeout=60), "a client did not pause"

    def resume(self) -> None:
        self.running.set()

    def _client(self, offset: int) -> None:
        i = offset
        while not self.stopping.is_set():
            if not self.running.is_set():
                self.idle.release()
                while not (self.running.wait(0.1) or self.stopping.is_set()):
                    pass
                continue
            try:
                outcome = str(self.requests[i % len(self.requests)]().status_code)
            except requests.RequestException as error:  # counted, never fatal
                outcome = type(error).__name__
            with self.lock:
                self.counts[outcome] += 1
            i += 1
            # A refusal takes a millisecond: without a back-off the clients would spin on them.
            time.sleep(0.05 if outcome == "503" else 0.002)

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def wait_for(self, count: int, deadline_s: float = DEADLINE_S) -> None:
        target = self.total() + count
        deadline = time.monotonic() + deadline_s
        while self.total() < target:
            assert time.monotonic() < deadline, f"only {self.total()} requests: {self.counts}"
            for future in self.futures:
                if future.done():
                    future.result()
            time.sleep(0.2)

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def got_every_kind(self) -> bool:
        counts = self.snapshot()
        return counts.get("200", 0) >= ANSWERED and all(counts.get(status, 0) for status in REFUSED)

    def stop(self) -> None:
        self.stopping.set()
        for future in self.futures:
            future.result(timeout=60)
        self.pool.shutdown()


def wait_until(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> bool:
    return waiting.wait_until(condition, deadline_s)


def answers(stack: Stack) -> bool:
    try:
        return stack.ping().status_code == 200 and stack.invoke(GOOD, timeout=10).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def observed(tmp_path_factory, tiny_emotion) -> Iterator[tuple[Stack, Prometheus, Load]]:
    binary = promql.prometheus_tool("prometheus")
    tmp = tmp_path_factory.mktemp("observability")
    # The response cache on, pointed at a Redis that is not there: every lookup a miss and the failures counted, so
    # the dashboard's cache panel has both of its series (test_response_cache_stack.py has a real Redis).
    stack = Stack(
        model_dir_with_code(tmp, SLOW_CODE, source=tiny_emotion),
        tmp / "serve.log",
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
        MODEL_SERVER_BATCH_SIZE="2",
        SERVE_QUEUE_TIMEOUT_S="0",
        RESPONSE_CACHE=f"redis://127.0.0.1:{free_port()}/0",
        RESPONSE_CACHE_USER_HOOKS="true",
    )
    prometheus = Prometheus(binary, tmp, f"127.0.0.1:{stack.port}")
    load = None
    try:
        stack.start().wait_ready()
        prometheus.start()
        load = Load(stack).start()
        load.wait_for(BEFORE_KILL)
        # A restart while Prometheus watches: the counter goes up, the new worker's load is observed.
        load.pause()
        workers = stack.forked_workers()
        assert workers, stack.log()[-3000:]
        workers[0].send_signal(signal.SIGKILL)
        assert wait_until(lambda: answers(stack)), f"not recovered:\n{stack.log()[-4000:]}"
        load.resume()
        load.wait_for(AFTER_KILL)
        wait_until(load.got_every_kind, 60)  # test_the_load_got_every_kind_of_answer says what is missing
        # Enough scrapes, the recovered worker's in them (where /metrics counts it, the tests below say), and
        # the last scrape a good one.
        wait_until(
            lambda: (
                prometheus.value('count_over_time(up{job="hf-serving"}[10m])', 0) >= 10
                and prometheus.value("sum(hf_serving_workers_ready)", 0) >= 1
                and prometheus.value("sum(hf_serving_worker_restarts_total)", 0) >= 1
            ),
            30,
        )
        wait_until(lambda: prometheus.value('up{job="hf-serving"}', 0) == 1, 10)
        yield stack, prometheus, load
    finally:
        if load is not None:
            load.stop()
        prometheus.stop()
        stack.kill_everything()


def describe(result: list[dict]) -> str:
    return json.dumps(result)[:1500]


def test_promtool_accepts_the_shipped_rules_and_config():
    promtool = promql.prometheus_tool("promtool")
    for check in (["check", "rules", str(ALERTS)], ["check", "config", str(PROMETHEUS_CONFIG)]):
        done = subprocess.run([promtool, *check], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_load_got_every_kind_of_answer(observed):
    _, _, load = observed
    counts = load.snapshot()
    assert counts.get("200", 0) >= ANSWERED, counts
    for status in REFUSED:
        assert counts.get(status, 0) > 0, counts


def test_prometheus_scrapes_the_stack_and_it_is_ready(observed):
    stack, prometheus, _ = observed
    (target,) = prometheus.api("targets", state="active")["activeTargets"]
    assert target["scrapeUrl"] == f"{stack.url}/metrics"
    assert target["health"] == "up", target
    assert prometheus.value('count_over_time(up{job="hf-serving"}[10m])') >= 10
    assert prometheus.value("hf_serving_ready") == 1
    assert prometheus.value("hf_serving_worker_metrics_up") == 1


def test_the_model_variable_lists_the_model(observed):
    _, prometheus, _ = observed
    assert "model" in prometheus.api("label/model/values", **{"match[]": "hf_serving_requests_total"})


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize(("title", "expr"), DASHBOARD_EXPRS, ids=[title for title, _ in DASHBOARD_EXPRS])
def test_every_dashboard_expression_returns_data(observed, title, expr, interval):
    _, prometheus, _ = observed
    query = promql.substitute(expr, interval=interval)
    result = prometheus.query(query)
    assert result, f"{title}: no series for {query}"
    values = [float(series["value"][1]) for series in result]
    assert any(math.isfinite(value) for value in values), f"{title}: only {values} for {query}"


@pytest.mark.parametrize(("alert", "expr"), COMPARED_HERE, ids=[alert for alert, _ in COMPARED_HERE])
def test_every_alert_condition_evaluates_and_what_it_compares_has_data(observed, alert, expr):
    _, prometheus, _ = observed
    prometheus.query(expr)  # valid, whatever it finds
    operands = condition_operands(expr)
    assert operands, expr
    for operand in operands:
        result = prometheus.query(operand)
        assert result, f"{alert}: {operand} matches nothing, so the alert could never fire"


def test_prometheus_evaluates_every_rule_and_the_ones_this_traffic_meets_are_active(observed):
    _, prometheus, _ = observed
    loaded = {rule["name"]: rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]}
    assert set(loaded) == {alert for alert, _ in RULES}
    for name, rule in loaded.items():
        assert rule["health"] == "ok" and not rule.get("lastError"), (name, rule)
    # A restart fires at once (no `for`): only if the restarts counter was there, at 0, before it went up.
    assert loaded["HfServingWorkerRestarts"]["state"] == "firing", loaded["HfServingWorkerRestarts"]
    # Refusals go on all along: pending, for 10 minutes.
    assert loaded["HfServingAdmissionRefusals"]["state"] == "pending", loaded["HfServingAdmissionRefusals"]
    assert loaded["HfServingNotReady"]["state"] == "inactive", loaded["HfServingNotReady"]
