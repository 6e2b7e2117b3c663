"""Server-Timing's value and the queue stage read from nginx's X-Request-Start."""

from __future__ import annotations

import pytest

from hf_serving.observability.request_timing import RequestTiming, queue_seconds


@pytest.mark.parametrize(
    ("header", "now", "expected"),
    [
        ("t=1000.250", 1000.5, 0.25),
        ("t=1000", 1000.0, 0.0),
        (None, 1000.0, None),
        ("", 1000.0, None),
        ("1000.0", 1000.5, None),  # not nginx's shape
        ("t=abc", 1000.5, None),
        ("t=1001.0", 1000.0, None),  # in the future: another clock
        ("t=0", 1_000_000.0, None),  # over an hour: not a queue
    ],
)
def test_the_queue_is_the_time_since_nginx_read_the_request(header, now, expected):
    found = queue_seconds(header, now)
    assert found == (pytest.approx(expected) if expected is not None else None)


def test_server_timing_lists_the_stages_in_milliseconds_in_order():
    timing = RequestTiming(queue_s=0.0031, tokenise_s=0.0004, inference_s=0.04125, encode_s=0.0001)
    assert timing.server_timing() == "queue;dur=3.1, tokenise;dur=0.4, inference;dur=41.2, encode;dur=0.1"


def test_without_nginx_there_is_no_queue_stage_and_no_stage_is_negative():
    timing = RequestTiming(tokenise_s=0.002, inference_s=-0.0000001, encode_s=0.0)
    assert timing.stages() == {"tokenise": 0.002, "inference": 0.0, "encode": 0.0}
    assert timing.server_timing() == "tokenise;dur=2.0, inference;dur=0.0, encode;dur=0.0"
