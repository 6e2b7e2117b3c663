"""Explanations through the whole stack (nginx, multi-model-server, the workers, a real torch model): explain requests
reach the explanation worker and nothing else does, they never hold up a batch, a burst of them is refused in its own
queue, a page for a person, the invocation timeout, and the setting that turns them off."""

from __future__ import annotations

import concurrent.futures
import json
import os
import threading
import time

import pytest
import requests

from tests.support.browser import browser_page
from tests.support.metrics import scrape, total
from tests.support.paths import TRAINED_QA
from tests.support.stack import TINY_QA, Stack

pytestmark = pytest.mark.integration

OPINION = "The hotel was horrible."
# Long enough texts for an explanation of seconds: what must not hold up the others.
LONG = ["We stayed four nights and the hotel was dreadful from the first evening to the last breakfast, " * 3] * 8


@pytest.fixture(scope="module")
def stack(tmp_path_factory, trained_sentiment):
    """The batching worker on the fast engine (OpenVINO, bfloat16), as served by default on a CPU with bf16 units. A
    queue bound of 1 s: a burst of explanations of seconds each is refused whatever the CPU's speed. An invocation
    timeout of 4 minutes: the explanation worker runs at idle priority, so on a machine busy with other work the long
    explanation below takes what CPU is left (over the default 60 s once, in a session with training beside it)."""
    yield from Stack(
        trained_sentiment,
        tmp_path_factory.mktemp("explain") / "serve.log",
        MODEL_DTYPE="bfloat16",
        MODEL_ENGINE="openvino",
        SERVE_QUEUE_TIMEOUT_S="1",
        SAGEMAKER_MODEL_SERVER_TIMEOUT="240",
    ).serving()


def post(stack: Stack, body: object, path: str = "/invocations", timeout: float = 300, **headers: str):
    return requests.post(f"{stack.url}{path}", json=body, headers=headers, timeout=timeout)


def test_explain_requests_reach_the_explanation_worker_and_plain_ones_the_batching_workers(stack):
    before = scrape(stack.url)
    plain = post(stack, {"text": OPINION}, "/predict")
    assert plain.status_code == 200 and [set(r) for r in plain.json()] == [{"label", "score"}]
    explained = post(stack, {"inputs": OPINION, "parameters": {"explain": True}})
    assert explained.status_code == 200, explained.text
    [result] = explained.json()
    assert result["label"] == plain.json()[0]["label"] == "NEGATIVE"
    [target] = result["explanation"]["targets"]
    assert max(target["tokens"], key=lambda t: t["attribution"])["token"] == "horrible"
    after = scrape(stack.url)
    for model, added in (("model", 1), ("explain", 1)):
        assert (
            total(after, "hf_serving_requests_total", model=model, code="200")
            - total(before, "hf_serving_requests_total", model=model, code="200")
            == added
        )
    # Plain requests keep the fast engine; the explanation worker runs float32 torch, loaded for the first explain.
    assert total(after, "hf_serving_build_info", model="model", dtype="bfloat16") == 1
    assert total(after, "hf_serving_build_info", model="explain", dtype="float32", device="cpu") == 1
    assert explained.headers["X-Request-Id"] in stack.log()
    # The explanation worker, every thread of it (torch's too), runs on CPU time the batching worker leaves.
    [explainer] = stack.forked_workers("explain")
    assert {os.sched_getscheduler(thread.id) for thread in explainer.threads()} == {os.SCHED_IDLE}
    assert {os.sched_getscheduler(worker.pid) for worker in stack.forked_workers()} == {os.SCHED_OTHER}


def test_text_written_with_the_word_explain_is_not_an_explain_request(stack):
    before = total(scrape(stack.url), "hf_serving_requests_total", model="explain")
    response = post(stack, {"inputs": 'Please "explain": why was the food awful?'})
    assert response.status_code == 200 and "explanation" not in response.json()[0]
    assert total(scrape(stack.url), "hf_serving_requests_total", model="explain") == before


def test_an_explanation_in_flight_holds_up_no_other_request(stack):
    post(stack, {"inputs": "warm", "parameters": {"explain": True}})  # the explanation worker's model is loaded
    done = threading.Event()

    def explain_long():
        try:
            return post(stack, {"inputs": LONG, "parameters": {"explain": True, "explain_steps": 256}})
        finally:
            done.set()

    with concurrent.futures.ThreadPoolExecutor(17) as pool:
        slow = pool.submit(explain_long)
        while stack.admission()["pools"]["explain"]["in_service"] == 0 and not done.is_set():
            pass  # until the explanation is inside the model server
        plain = list(pool.map(lambda i: post(stack, {"inputs": [f"The meal was awful, part {i}."]}), range(16)))
        finished_first = not done.is_set()
        assert [r.status_code for r in plain] == [200] * 16
        assert all(r.json()[0]["label"] == "NEGATIVE" for r in plain)
        assert finished_first, "the plain requests waited for the explanation"
        explained = slow.result()
    assert explained.status_code == 200, explained.text
    assert len(explained.json()) == 8 and all("explanation" in r for r in explained.json())


def test_a_burst_of_explanations_is_refused_in_its_own_queue_while_plain_requests_pass(stack):
    report = stack.admission()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        burst = [
            pool.submit(post, stack, {"inputs": LONG[:4], "parameters": {"explain": True, "explain_steps": 128}})
            for _ in range(6)
        ]
        plain = [post(stack, {"inputs": "The trip was lovely."}) for _ in range(5)]
        answers = [future.result() for future in burst]
    assert [r.status_code for r in plain] == [200] * 5
    statuses = sorted(r.status_code for r in answers)
    assert 200 in statuses and 503 in statuses, statuses
    for refused in (r for r in answers if r.status_code == 503):
        assert refused.json()["error"]["code"] == "overloaded" and int(refused.headers["Retry-After"]) >= 1
    for answered in (r for r in answers if r.status_code == 200):
        assert [result["label"] for result in answered.json()] == ["NEGATIVE"] * 4
        assert all(result["explanation"]["targets"][0]["tokens"] for result in answered.json())
    assert all(r.json()[0]["label"] == "POSITIVE" and "explanation" not in r.json()[0] for r in plain)
    now = stack.admission()
    assert (
        now["pools"]["model"]["refused_predicted"] + now["pools"]["model"]["refused_waited"]
        == report["pools"]["model"]["refused_predicted"] + report["pools"]["model"]["refused_waited"]
    )
    assert now["pools"]["explain"]["slots"] == 2


def test_a_person_gets_a_page_with_the_tokens_shaded(stack):
    response = post(stack, {"inputs": OPINION, "parameters": {"explain": True}}, Accept="text/html")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert ">horrible</span>" in response.text and "<script" not in response.text
    plain = post(stack, {"inputs": OPINION}, Accept="text/html")
    assert plain.status_code == 406 and "explain" in plain.json()["error"]["message"]


def test_the_page_renders_in_a_browser_shaded_under_its_policy_with_nothing_fetched(stack):
    """A browser's own navigation, made a POST of an explain request: its Accept prefers HTML, so the container answers
    with the page. Screenshot: build/browser/explanation.png."""
    body = json.dumps(
        {"inputs": [OPINION, "What a brilliant trip!"], "parameters": {"explain": True, "explain_label": "POSITIVE"}}
    )
    with browser_page(stack.url, "explanation") as browser:
        browser.page.route(
            f"{stack.url}/invocations",
            lambda route: route.continue_(
                method="POST", post_data=body, headers={**route.request.headers, "content-type": "application/json"}
            ),
        )
        response = browser.page.goto(f"{stack.url}/invocations")
        assert response is not None and response.status == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        headings = browser.page.locator("section h2").all_inner_texts()
        assert [heading.split(" (")[0] for heading in headings] == ["Text 1: NEGATIVE", "Text 2: POSITIVE"]
        first_row = browser.page.locator("section").first.locator("p.tokens").first
        shades = {
            span.inner_text(): span.evaluate("e => getComputedStyle(e).backgroundColor")
            for span in first_row.locator("span.t").all()
        }
        assert set(shades) == {"The", "hotel", "was", "horrible", "."}
        alphas = {token: float(colour.rsplit(",", 1)[1].rstrip(")")) for token, colour in shades.items()}
        assert max(alphas, key=alphas.__getitem__) == "horrible"  # the inline styles applied under the CSP
        assert shades["horrible"].startswith("rgba(22, 163, 74")  # green: it raised NEGATIVE's score
        browser.screenshot()
        assert browser.console_errors == []


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"explain": True, "explain_label": "MAYBE"}, "not one of this model's labels: NEGATIVE, POSITIVE"),
        ({"explain": True, "explain_steps": 0}, "explain_steps must be an integer from 1 to 256"),
        ({"explain": "yes"}, "parameters.explain must be true or false"),
    ],
)
def test_bad_explain_parameters_are_400s_from_the_explanation_worker(stack, parameters, message):
    response = post(stack, {"inputs": OPINION, "parameters": parameters})
    assert response.status_code == 400 and message in response.json()["error"]["message"]
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]
    over = post(stack, {"inputs": [OPINION] * 9, "parameters": {"explain": True}})
    assert over.status_code == 400 and "at most 8 texts, not 9" in over.json()["error"]["message"]


# Eight texts of ~200 tokens at 256 steps: a minute of gradients on a fast CPU, far past the timeout below.
LONGER = [LONG[0] * 3] * 8


def test_an_explanation_past_the_invocation_timeout_is_a_504_and_the_next_is_answered(tmp_path, trained_sentiment):
    """The abandoned explanation stops at its deadline (checked in every layer, forward and back, and a request that
    waited behind it has its deadline from when nginx passed it on), so the next one has the worker. 10 s: the next
    explanation itself takes 1.5-2.5 s at the explanation worker's idle priority on a loaded 2-core host."""
    running = Stack(trained_sentiment, tmp_path / "serve.log", SAGEMAKER_MODEL_SERVER_TIMEOUT="10").start()
    try:
        running.wait_ready()
        # The explanation worker loads its model (and Captum) at its first explain request: on a loaded host that
        # alone can outlast the timeout, and a request sent meanwhile waits for it. Loaded first, as on a warm
        # endpoint: the explanations below are then answered, or abandoned at their deadline, and nothing else.
        deadline = time.monotonic() + 120
        while post(running, {"inputs": OPINION, "parameters": {"explain": True}}).status_code != 200:
            assert time.monotonic() < deadline, running.log()[-3000:]
        late = post(running, {"inputs": LONGER, "parameters": {"explain": True, "explain_steps": 256}})
        assert late.status_code == 504 and late.json()["error"]["code"] == "timeout"
        answered = post(running, {"inputs": OPINION, "parameters": {"explain": True}})
        assert answered.status_code == 200 and answered.json()[0]["explanation"]["targets"]
        assert "abandoned" in running.log()
    finally:
        running.kill_everything()


def test_question_answering_is_explained_through_the_stack_and_text_stands_for_inputs(tmp_path):
    running = Stack(TRAINED_QA, tmp_path / "serve.log").start()
    try:
        running.wait_ready()
        pair = {
            "question": "In which year was Daniel Novak born?",
            "context": "In 1936, Daniel Novak was born in Bangkok. Zara Berg was born in Santiago in 1983.",
        }
        plain = post(running, {"text": pair}, "/predict")
        response = post(running, {"text": pair, "parameters": {"explain": True}}, "/predict")
        assert plain.status_code == response.status_code == 200
        answer = response.json()
        keys = ("answer", "start", "end")
        assert {k: answer[k] for k in keys} == {k: plain.json()[k] for k in keys}
        start, end = answer["explanation"]["targets"]
        for target in (start, end):
            top = max((t for t in target["tokens"] if t["field"] == "context"), key=lambda t: t["attribution"])
            assert answer["answer"] == "1936" and top["token"] == "1936"
    finally:
        running.kill_everything()


def test_with_explanations_off_an_explain_request_is_a_400_saying_so(tmp_path):
    running = Stack(TINY_QA, tmp_path / "serve.log", SERVE_EXPLAIN="off").start()
    try:
        running.wait_ready()
        response = post(
            running, {"inputs": {"question": "Which port?", "context": "Port 8080."}, "parameters": {"explain": True}}
        )
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "explanations are not available here: SERVE_EXPLAIN=off"
        assert "explanations: off (SERVE_EXPLAIN=off)" in running.log()
        assert "explain" not in running.admission()["pools"]
        assert json.loads(requests.get(f"{running.url}/ping", timeout=5).text) == {"status": "ready"}
    finally:
        running.kill_everything()
