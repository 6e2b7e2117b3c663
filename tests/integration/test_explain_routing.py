"""Which worker an explain request reaches, however it is spelled (launcher/lua/explanations.lua), through the whole
stack: a key written with JSON escapes is an explain request and goes to the explanation worker; a text that holds the
word, in JSON, JSON Lines or CSV, is not and goes to the batching workers; and a batching worker that is sent an
explain request anyway refuses it instead of explaining inside a batch."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.metrics import scrape, total
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_sentiment):
    yield from Stack(tiny_sentiment, tmp_path_factory.mktemp("explain-routing") / "serve.log").serving()


def served_by(stack: Stack, send) -> tuple[requests.Response, dict[str, float]]:
    """The response to send(), and how many answers each worker (the batching "model", the "explain" one) added."""
    before = scrape(stack.url)
    response = send()
    after = scrape(stack.url)
    added = {
        model: total(after, "hf_serving_requests_total", model=model)
        - total(before, "hf_serving_requests_total", model=model)
        for model in ("model", "explain")
    }
    return response, added


def post_raw(stack: Stack, body: bytes, content_type: str = "application/json", **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.url}/invocations", data=body, timeout=120, headers={"Content-Type": content_type, **headers}
    )


@pytest.mark.parametrize(
    "body",
    [
        rb'{"inputs": "The hotel was fine.", "parameters": {"\u0065xplain": true}}',
        rb'{"inputs": "The hotel was fine.", "parameters": {"expl\u0061in": true, "\u0065xplain_steps": 4}}',
        rb'{"inputs": "The hotel was fine.", "parameters": {"\u0065\u0078\u0070\u006C\u0061\u0069\u006e" : true}}',
    ],
    ids=["first-letter", "two-keys", "every-letter"],
)
def test_an_explain_key_written_with_escapes_reaches_the_explanation_worker(stack, body):
    response, added = served_by(stack, lambda: post_raw(stack, body))
    assert response.status_code == 200, response.text
    [result] = response.json()
    assert result["label"] in ("POSITIVE", "NEGATIVE")
    assert result["explanation"]["targets"][0]["tokens"], result
    assert added == {"model": 0, "explain": 1}


@pytest.mark.parametrize("key", [rb'"\u0065xplain"', b'"explain"'], ids=["escaped", "plain"])
def test_a_key_in_a_body_kept_on_disk_is_found_across_its_chunks(stack, key):
    """A body over 1 MB is in a file, searched in 1 MB chunks: a key, 2 MB of blanks and its colon span three."""
    body = b'{"inputs": "The hotel was fine.", "parameters": {' + key + b" " * (2 * 1024 * 1024) + b": true}}"
    response, added = served_by(stack, lambda: post_raw(stack, body))
    assert response.status_code == 200, response.text
    assert "explanation" in response.json()[0]
    assert added == {"model": 0, "explain": 1}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (rb'{"inputs": "Say \"\u0065xplain\": now, the room was awful."}', "application/json"),
        (
            b'{"inputs": "The room, \\"explained\\": awful."}\n{"inputs": "fine \\"explain\\"\\": true"}\n',
            "application/jsonlines",
        ),
        (b'"He said ""explained"": the room was awful."\nThe bill "explain": true\n', "text/csv"),
    ],
    ids=["json-escaped-word", "jsonlines", "csv"],
)
def test_a_text_that_holds_the_word_is_answered_by_the_batching_workers(stack, body, content_type):
    response, added = served_by(stack, lambda: post_raw(stack, body, content_type, Accept="application/json"))
    assert response.status_code == 200, response.text
    assert "explanation" not in response.text
    assert added == {"model": 1, "explain": 0}


def test_a_batching_worker_sent_an_explain_request_refuses_it_instead_of_explaining(stack):
    """Straight to the model server on loopback, as a routing mistake would send it: never explained in a batch."""
    port = re.search(r"on 127\.0\.0\.1 model server (\d+)", stack.log())
    assert port is not None
    response = requests.post(
        f"http://127.0.0.1:{port.group(1)}/predictions/model",
        timeout=60,
        json={"inputs": "The hotel was fine.", "parameters": {"explain": True}},
        headers={"X-Request-Id": "routing-mistake"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request" and "reached a batching worker, which never explains" in error["message"]
    # ... and the batching worker answers as before, without a second copy of the model.
    plain = post_raw(stack, b'{"inputs": "The hotel was fine."}')
    assert plain.status_code == 200 and "explanation" not in plain.text
