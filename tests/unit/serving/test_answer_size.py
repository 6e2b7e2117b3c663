"""The answer limit (serving/answer_size.py); in a batch, tests/unit/serving/test_handler_service.py."""

from __future__ import annotations

from hf_serving.errors import ResponseTooLarge
from hf_serving.serving import answer_size

MIB = 1024 * 1024


def test_an_answer_at_the_limit_passes_and_one_byte_more_is_refused_naming_the_limit():
    assert answer_size.refusal(b"x" * MIB, MIB) is None
    refused = answer_size.refusal(b"x" * (MIB + 1), MIB)
    assert isinstance(refused, ResponseTooLarge)
    assert (refused.status, refused.code) == (413, "response_too_large")
    assert refused.message.startswith(
        f"the answer is {MIB + 1:,} bytes, over the 1 MB answer limit (SERVE_MAX_RESPONSE_MB)"
    )


def test_a_text_answer_is_measured_in_the_utf8_bytes_sent():
    assert answer_size.refusal("é" * (MIB // 2), MIB) is None  # 2 bytes each: exactly 1 MiB
    assert answer_size.refusal("é" * (MIB // 2 + 1), MIB) is not None
    assert answer_size.refusal("x" * (MIB // 4), MIB) is None  # measured without encoding it
    assert answer_size.encoded_size("東京") == 6
