"""LOG_FORMAT=json: the Python side's records and the lines the launcher relays from its children."""

from __future__ import annotations

import io
import json
import logging

from hf_serving.observability import log_relay, logs


def test_a_json_record_holds_its_extra_fields_and_its_traceback_in_one_line():
    stream = io.StringIO()
    logs.configure(stream, "json", "INFO", "%(message)s")
    try:
        log = logging.getLogger("hf_serving.test")
        log.info("request %s status %d", "abc", 200, extra={"request_id": "abc", "stages_ms": {"inference": 4.2}})
        try:
            raise RuntimeError("broken")
        except RuntimeError:
            log.exception("request %s failed", "abc", extra={"request_id": "abc"})
    finally:
        logging.getLogger().handlers[:] = []
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["message"], first["level"], first["logger"]) == ("request abc status 200", "INFO", "hf_serving.test")
    assert first["stages_ms"] == {"inference": 4.2} and first["time"].startswith("20")
    assert second["level"] == "ERROR" and "RuntimeError: broken" in second["exception"]


def test_text_stays_text():
    stream = io.StringIO()
    logs.configure(stream, "text", "INFO", "%(levelname)s %(name)s: %(message)s")
    try:
        logging.getLogger("hf_serving.test").warning("plain")
    finally:
        logging.getLogger().handlers[:] = []
    assert stream.getvalue() == "WARNING hf_serving.test: plain\n"


def test_relayed_lines_are_json_whoever_printed_them():
    passed = b'{"time": "t", "level": "INFO", "logger": "hf_serving.requests", "message": "m"}\n'
    assert log_relay.as_json_line(passed, "model server") == passed
    nginx = json.loads(log_relay.as_json_line(b"2026/12/02 04:21:45 [error] 51#51: *18 readv() failed\n", "nginx"))
    assert (nginx["level"], nginx["logger"]) == ("ERROR", "nginx")
    assert nginx["message"] == "2026/12/02 04:21:45 [error] 51#51: *18 readv() failed"
    java = json.loads(
        log_relay.as_json_line(b"WARNING: sun.reflect.Reflection.getCallerClass is not supported.", "model server")
    )
    assert java["level"] == "WARNING"
    plain = json.loads(log_relay.as_json_line("Model server started. \u00e9\n".encode(), "model server"))
    assert plain["level"] == "INFO" and plain["message"] == "Model server started. \u00e9"
