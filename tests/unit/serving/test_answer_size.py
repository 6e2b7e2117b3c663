"""The answer limit (serving/answer_size.py), alone and in the handler service's batches."""

from __future__ import annotations

import json
import sys

import pytest

from hf_serving import settings as settings_module
from hf_serving.errors import ResponseTooLarge
from hf_serving.serving import answer_size
from hf_serving.settings import Settings
from tests.support.fakes import run_batch, service_for
from tests.support.paths import TINY_QA

MIB = 1024 * 1024


def test_an_answer_at_the_limit_passes_and_one_byte_more_is_refused_naming_the_limit():
    assert answer_size.refusal(b"x" * MIB, MIB) is None
    refused = answer_size.refusal(b"x" * (MIB + 1), MIB)
    assert isinstance(refused, ResponseTooLarge)
    assert (refused.status, refused.code) == (413, "response_too_large")
    assert refused.message.startswith(f"the answer is {MIB + 1:,} bytes, over the 1 MB answer limit "
                                      "(SERVE_MAX_RESPONSE_MB)")


def test_a_text_answer_is_measured_in_the_utf8_bytes_sent():
    assert answer_size.refusal("é" * (MIB // 2), MIB) is None  # 2 bytes each: exactly 1 MiB
    assert answer_size.refusal("é" * (MIB // 2 + 1), MIB) is not None
    assert answer_size.refusal("x" * (MIB // 4), MIB) is None  # measured without encoding it
    assert answer_size.encoded_size("東京") == 6


@pytest.fixture
def settings(monkeypatch, tmp_path):
    current = Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=tmp_path / "code", max_response_mb=1)
    monkeypatch.setattr(settings_module, "_current", current)
    yield current
    sys.modules.pop("inference", None)
    if str(tmp_path / "code") in sys.path:
        sys.path.remove(str(tmp_path / "code"))


def test_an_answer_over_the_limit_is_its_own_413_and_the_rest_of_the_batch_is_answered(settings):
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "def transform_fn(model, body, content_type, accept):\n"
        "    return b'x' * int(body), 'text/plain'\n")
    service = service_for(settings)
    bodies, context = run_batch(service, [({"body": str(size).encode()}, {"Content-Type": "text/plain",
                                                                          "X-Request-Id": f"r{i}"})
                                          for i, size in enumerate((10, 2 * MIB, MIB))])
    assert [context.statuses[i][0] for i in range(3)] == [200, 413, 200]
    assert (bodies[0], len(bodies[2])) == (b"x" * 10, MIB)
    error = json.loads(bodies[1])["error"]
    assert (error["code"], error["request_id"]) == ("response_too_large", "r1")
    assert "1 MB answer limit (SERVE_MAX_RESPONSE_MB)" in error["message"]
    assert context.response_headers[1]["content-type"] == "application/json; charset=utf-8"

