"""The worker's DataCapture as the handler makes and calls it."""

import dataclasses
import json
from pathlib import Path

from hf_serving.monitoring.capture import capture
from hf_serving.settings import Settings


def settings(tmp_path: Path, **changes: object) -> Settings:
    return dataclasses.replace(
        Settings.from_environ({"DATA_CAPTURE_PERCENT": "100", "DATA_CAPTURE_DESTINATION": str(tmp_path)}), **changes
    )


def test_off_is_no_capture_at_all(tmp_path: Path):
    assert capture.from_settings(settings(tmp_path, data_capture_percent=0.0), "model", None) is None


def test_an_offered_exchange_is_written_at_close_with_its_ids(tmp_path: Path):
    made = capture.from_settings(
        settings(tmp_path, data_capture_endpoint="ep", data_capture_flush_s=60.0), "m1", "sentiment"
    )
    assert made is not None
    assert made.offer(
        "req-1",
        bytearray(b'{"inputs": "hi"}'),
        "application/json",
        '[{"label": "POSITIVE"}]',
        "application/json",
        "caller-1",
    )
    made.close()
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.relative_to(tmp_path).parts[:2] == ("ep", "AllTraffic")
    written = json.loads(path.read_text())
    assert written["eventMetadata"]["eventId"] == "req-1"
    assert written["eventMetadata"]["inferenceId"] == "caller-1"
    assert written["eventMetadata"]["targetModel"] == "sentiment"
    assert written["captureData"]["endpointInput"]["data"] == '{"inputs": "hi"}'
    assert written["captureData"]["endpointOutput"]["data"] == '[{"label": "POSITIVE"}]'


def test_a_record_over_the_limit_is_cut_before_it_is_buffered(tmp_path: Path):
    made = capture.from_settings(settings(tmp_path, data_capture_max_record_kb=1), "m2", None)
    assert made is not None
    made.offer("big", b"x" * 10_000, "text/csv", b"1", "text/csv")
    assert made.writer._pending[0].size <= 1024
    made.close()
    written = json.loads(next(tmp_path.rglob("*.jsonl")).read_text())
    assert written["eventMetadata"]["truncated"] is True
    assert written["captureData"]["endpointInput"]["originalBytes"] == 10_000


def test_a_fault_in_capture_never_reaches_the_request(tmp_path: Path):
    made = capture.from_settings(settings(tmp_path), "m3", None)
    assert made is not None
    assert made.offer("odd", 12345, "application/json", b"{}", "application/json") is False  # type: ignore[arg-type]
    made.close()
