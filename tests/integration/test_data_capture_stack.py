"""Data capture (DATA_CAPTURE_*) through the real stack: the records read back as SageMaker's capture format and
compared with what was sent and answered; a multi-model endpoint sampling 10% to S3 (moto's server); the CloudEvents
sink as a local HTTP server, then failing without changing an answer; and a graceful stop that leaves every record
written."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support import metrics
from tests.support.missing import skip_or_fail
from tests.support.outcomes import demo_dir
from tests.support.paths import ROOT
from tests.support.stack import Stack
from tests.unit.monitoring.capture.sinks import EventSink

SENTIMENT = ROOT / "build" / "demo-sentiment-trained"
MOTO_SERVER = ROOT / ".venv-deploy" / "bin" / "moto_server"  # make install-deploy
TEXTS = ["A wonderful, moving film.", "Dull and far too long.", "The cast is superb.", "I want my money back."]
DEADLINE_S = 60.0

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True, scope="module")
def sentiment_model_built() -> None:
    demo_dir(SENTIMENT.name)  # a skip where it is not built, a failure in CI


def records_under(root: Path) -> list[tuple[Path, dict]]:
    return [
        (path, json.loads(line)) for path in sorted(root.rglob("*.jsonl")) for line in path.read_text().splitlines()
    ]


def decoded(side: dict) -> bytes:
    if side["encoding"] == "BASE64":
        return base64.b64decode(side["data"])
    assert side["encoding"] in ("JSON", "CSV")
    return side["data"].encode()


def until(condition, what: str, deadline_s: float = DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- A single-model endpoint capturing everything to a directory, flushed only by its graceful stop -----------------


def test_every_answer_is_captured_as_sent_and_answered_and_a_graceful_stop_writes_them(tmp_path: Path):
    capture_dir = tmp_path / "capture"
    stack = Stack(
        SENTIMENT,
        tmp_path / "serve.log",
        DATA_CAPTURE_PERCENT="100",
        DATA_CAPTURE_DESTINATION=str(capture_dir),
        DATA_CAPTURE_ENDPOINT_NAME="sentiment-prod",
        DATA_CAPTURE_FLUSH_S="60",
        SERVE_API_KEY="s" * 24,
    ).start()
    try:
        stack.wait_ready()
        auth = {"X_Api_Key": "s" * 24, "Authorization": "Bearer secret-token-not-to-capture"}
        sent = []  # (request body, content type, response)
        for text in TEXTS:
            body = json.dumps({"inputs": text}).encode()
            sent.append((body, "application/json", stack.invoke(data=body, **auth)))
        rows = io.StringIO()
        csv.writer(rows).writerows([[t] for t in TEXTS])
        sent.append(
            (
                rows.getvalue().encode(),
                "text/csv",
                stack.invoke(data=rows.getvalue().encode(), content_type="text/csv", Accept="text/csv", **auth),
            )
        )
        lines = "".join(json.dumps({"inputs": t}) + "\n" for t in TEXTS[:2]).encode()
        sent.append(
            (
                lines,
                "application/jsonlines",
                stack.invoke(
                    data=lines,
                    content_type="application/jsonlines",
                    Accept="application/jsonlines",
                    X_Amzn_SageMaker_Inference_Id="caller-42",
                    **auth,
                ),
            )
        )
        # A protocol route: its own request and answer are captured, not the served model's translation of them.
        predict = json.dumps({"instances": TEXTS[:2]}).encode()
        keys = {"X-Api-Key": "s" * 24, "Content-Type": "application/json"}
        sent.append(
            (
                predict,
                "application/json",
                requests.post(f"{stack.url}/v1/models/model:predict", data=predict, headers=keys, timeout=30),
            )
        )
        assert "predictions" in sent[-1][2].json()
        metadata = requests.get(f"{stack.url}/v1/models", headers=keys, timeout=30)  # not an inference: not captured
        refused = stack.invoke(data=b"{not json", **auth)  # an error answer: not captured
        assert (metadata.status_code, refused.status_code) == (200, 400)
        for _, _, response in sent:
            assert response.status_code == 200, response.text
        assert records_under(capture_dir) == []  # DATA_CAPTURE_FLUSH_S=60: nothing written before the stop
        assert stack.terminate() == 0
    finally:
        stack.kill_everything()

    found = records_under(capture_dir)
    assert len(found) == len(sent), stack.log()[-3000:]
    by_id = {record["eventMetadata"]["eventId"]: (path, record) for path, record in found}
    for body, content_type, response in sent:
        path, record = by_id[response.headers["X-Request-Id"]]  # the record, the response and the log line link
        assert path.relative_to(capture_dir).parts[:2] == ("sentiment-prod", "AllTraffic")
        assert [len(part) for part in path.relative_to(capture_dir).parts[2:6]] == [4, 2, 2, 2]  # yyyy/mm/dd/hh
        assert record["eventVersion"] == "0"
        assert time.strptime(record["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
        given, answered = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
        assert (given["mode"], answered["mode"]) == ("INPUT", "OUTPUT")
        assert given["observedContentType"] == content_type
        assert given["encoding"] == ("CSV" if content_type == "text/csv" else "JSON")
        assert decoded(given) == body
        assert answered["observedContentType"] == response.headers["Content-Type"]
        assert decoded(answered) == response.content
        assert f"request {response.headers['X-Request-Id']} status 200" in stack.log()
    assert by_id[sent[5][2].headers["X-Request-Id"]][1]["eventMetadata"]["inferenceId"] == "caller-42"
    everything = "".join(path.read_text() for path in capture_dir.rglob("*") if path.is_file())
    assert "secret-token" not in everything and "s" * 24 not in everything
    assert not [p for p in capture_dir.rglob(".*")]  # no temporary file left behind


# --- A multi-model endpoint sampling 10% to S3 ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MOTO_SERVER.exists():
        skip_or_fail(f"{MOTO_SERVER} is missing: make deploy-test builds it")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        until(lambda: _answers(url), "moto_server started", 30)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.ConnectionError:
        return False


def test_a_multi_model_endpoint_samples_ten_percent_to_s3_and_writes_them_as_it_stops(tmp_path: Path, moto_url: str):
    boto3 = pytest.importorskip("boto3")
    aws = {
        "AWS_ENDPOINT_URL_S3": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="captures")
    runtime = tempfile.mkdtemp(prefix="capture-mme-")
    # DATA_CAPTURE_FLUSH_S=60 and ~100 sampled records (a flush on size takes 1000): every record is written by the
    # workers' exit at the graceful stop, to S3.
    stack = Stack(
        None,
        tmp_path / "serve.log",
        SAGEMAKER_MULTI_MODEL="true",
        SERVE_RUNTIME_DIR=runtime,
        DATA_CAPTURE_PERCENT="10",
        DATA_CAPTURE_DESTINATION="s3://captures/monitoring",
        DATA_CAPTURE_ENDPOINT_NAME="mme",
        DATA_CAPTURE_FLUSH_S="60",
        **aws,
    ).start()
    n = 1000  # at p = 0.1: sd 9.5; within 5.3 sd of 100 ([50, 150]) a correct sampler fails with p < 1e-6
    try:
        stack.wait_ready()
        loaded = requests.post(
            f"{stack.url}/models", json={"model_name": "sentiment", "url": str(SENTIMENT)}, timeout=400
        )
        assert loaded.status_code == 200, loaded.text
        bodies = [json.dumps({"inputs": f"{TEXTS[i % len(TEXTS)]} #{i}"}).encode() for i in range(n)]

        def invoke(body: bytes) -> requests.Response:
            return requests.post(
                f"{stack.url}/models/sentiment/invoke",
                data=body,
                timeout=60,
                headers={"Content-Type": "application/json"},
            )

        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(invoke, bodies))
        assert [r.status_code for r in responses] == [200] * n
        answered = {r.headers["X-Request-Id"]: (body, r) for body, r in zip(bodies, responses, strict=True)}
        samples = metrics.scrape(stack.url)
        assert metrics.total(samples, "hf_serving_data_capture_records_total", model="sentiment") == 0  # all held
        assert stack.terminate() == 0
    finally:
        stack.kill_everything()
        shutil.rmtree(runtime, ignore_errors=True)

    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="captures")
        for o in page.get("Contents", [])
    ]
    assert keys and all(k.startswith("monitoring/mme/AllTraffic/") and k.endswith(".jsonl") for k in keys)
    records = [
        json.loads(line)
        for key in keys
        for line in s3.get_object(Bucket="captures", Key=key)["Body"].read().splitlines()
    ]
    assert abs(len(records) - n * 0.1) <= 5.3 * math.sqrt(n * 0.1 * 0.9), len(records)
    assert len({r["eventMetadata"]["eventId"] for r in records}) == len(records)
    for record in records:
        body, response = answered[record["eventMetadata"]["eventId"]]
        assert record["eventMetadata"]["targetModel"] == "sentiment"
        assert decoded(record["captureData"]["endpointInput"]) == body
        assert decoded(record["captureData"]["endpointOutput"]) == response.content


# --- The CloudEvents sink, then the sink failing ----------------------------------------------------------------


def test_the_sink_gets_kserves_events_and_a_failing_sink_changes_no_answer(tmp_path: Path):
    with EventSink() as sink:
        stack = Stack(
            SENTIMENT,
            tmp_path / "serve.log",
            DATA_CAPTURE_PERCENT="100",
            DATA_CAPTURE_DESTINATION=sink.url,
            DATA_CAPTURE_FLUSH_S="0.5",
        ).start()
        try:
            stack.wait_ready()
            body = json.dumps({"inputs": TEXTS[0]}).encode()
            good = stack.invoke(data=body)
            assert good.status_code == 200
            request_id = good.headers["X-Request-Id"]
            events = until(lambda: sink.events if len(sink.events) >= 2 else None, "two events")
            (request_headers, request_body), (response_headers, response_body) = events[:2]
            assert request_headers["ce-type"] == "org.kubeflow.serving.inference.request"
            assert response_headers["ce-type"] == "org.kubeflow.serving.inference.response"
            for headers in (request_headers, response_headers):
                assert headers["ce-specversion"] == "1.0" and headers["ce-id"] == request_id
                assert headers["ce-source"] and headers["ce-time"].endswith("Z")
                assert headers["ce-inferenceservicename"] == "model" and headers["ce-endpoint"] == "AllTraffic"
            assert (request_body, request_headers["content-type"]) == (body, "application/json")
            assert (response_body, response_headers["content-type"]) == (good.content, good.headers["Content-Type"])

            sink.status = 500  # the sink now refuses everything: the answers must not change
            failing = [stack.invoke(data=body) for _ in range(5)]
            assert [(r.status_code, r.json()) for r in failing] == [(200, good.json())] * 5
            samples = until(lambda: _dropped(stack.url, 5), "the drops counted")
            assert metrics.total(samples, "hf_serving_data_capture_records_total", result="write_failed") >= 5
            assert metrics.total(samples, "hf_serving_data_capture_records_total", result="written") == 1
            until(lambda: "data capture to http://127.0.0.1" in stack.log(), "the drops logged")

            # A slow sink at the stop: the workers still write their last records before the launcher kills them.
            sink.status, sink.delay_s = 200, 0.4
            last = [stack.invoke(data=body).headers["X-Request-Id"] for _ in range(2)]
            assert stack.terminate() == 0
            delivered = [headers["ce-id"] for headers, _ in sink.events if headers["ce-id"] in last]
            assert sorted(delivered) == sorted(last * 2), stack.log()[-3000:]
        finally:
            stack.kill_everything()


def _dropped(url: str, at_least: int) -> metrics.Samples | None:
    samples = metrics.scrape(url)
    failed = metrics.total(samples, "hf_serving_data_capture_records_total", result="write_failed")
    return samples if failed >= at_least else None
