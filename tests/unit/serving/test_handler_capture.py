"""The handler's data capture, driven with a stand-in for MMS's context: what it hands over, and what it leaves out."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from hf_serving.settings import Settings, settings_in_use
from tests.support.fakes import json_request, run_batch, service_for
from tests.support.paths import TINY_QA

CONTEXT = "The container listens on port 8080 for requests."


@pytest.fixture
def settings(monkeypatch, tmp_path):
    current = Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=tmp_path / "code")
    with settings_in_use(current):
        yield current
        sys.modules.pop("inference", None)


def records(root: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(root.rglob("*.jsonl")) for line in path.read_text().splitlines()]


def test_off_there_is_no_capture(settings):
    assert service_for(settings).capture is None


def test_answered_requests_are_captured_as_sent_and_errors_are_not(settings, tmp_path):
    on = dataclasses.replace(
        settings, data_capture_percent=100.0, data_capture_destination=str(tmp_path / "cap"), data_capture_endpoint="qa"
    )
    service = service_for(on)
    good = json_request(
        {"question": "Which port?", "context": CONTEXT},
        **{
            "X-Request-Id": "good",
            "X-Amzn-SageMaker-Inference-Id": "mine",
            "X-Api-Key": "k" * 20,
            "Authorization": "Bearer not-for-capture",
        },
    )
    bodies, context = run_batch(
        service, [good, ({"body": b"{not json"}, {"Content-Type": "application/json", "X-Request-Id": "bad"})]
    )
    assert [context.statuses[i][0] for i in range(2)] == [200, 400]
    assert service.capture is not None
    service.capture.close()
    (record,) = records(tmp_path / "cap")
    assert record["eventMetadata"]["eventId"] == "good" and record["eventMetadata"]["inferenceId"] == "mine"
    assert "targetModel" not in record["eventMetadata"]  # a single-model endpoint
    assert record["captureData"]["endpointInput"]["data"].encode() == good[0]["body"]
    assert record["captureData"]["endpointOutput"]["data"].encode() == bodies[0]
    written = "".join(p.read_text() for p in (tmp_path / "cap").rglob("*.jsonl"))
    assert "not-for-capture" not in written and "k" * 20 not in written
