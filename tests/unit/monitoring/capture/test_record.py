import base64
import json

from hf_serving.monitoring.capture.exchange import Exchange, body, cut_to
from hf_serving.monitoring.capture.record import BASE64, CSV, JSON, encoding_of, json_line, record

WHEN = 1_765_000_000.25  # 2025-12-06T05:46:40Z


def exchange(
    request: bytes | str,
    request_type: str,
    response: bytes | str = b'[{"label":"POSITIVE"}]',
    response_type: str = "application/json",
    **extra: object,
) -> Exchange:
    return Exchange("req-1", WHEN, body(request, request_type), body(response, response_type), **extra)  # type: ignore[arg-type]


def test_a_json_exchange_is_sagemakers_record_with_the_text_as_is():
    written = json.loads(json_line(exchange(b'{"inputs": "great"}', "application/json")))
    assert written == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "application/json",
                "mode": "INPUT",
                "data": '{"inputs": "great"}',
                "encoding": "JSON",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": '[{"label":"POSITIVE"}]',
                "encoding": "JSON",
            },
        },
        "eventMetadata": {"eventId": "req-1", "inferenceTime": "2025-12-06T05:46:40Z"},
        "eventVersion": "0",
    }


def test_one_line_per_record_even_when_the_body_has_newlines():
    line = json_line(exchange(b'{"inputs": "a"}\n{"inputs": "b"}\n', "application/jsonlines"))
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert json.loads(line)["captureData"]["endpointInput"]["data"] == '{"inputs": "a"}\n{"inputs": "b"}\n'


def test_encodings_follow_the_content_type():
    assert encoding_of("application/json; charset=utf-8") == JSON
    assert encoding_of("application/jsonlines") == JSON
    assert encoding_of("application/x-jsonlines") == JSON
    assert encoding_of("application/vnd.api+json") == JSON
    assert encoding_of("text/csv") == CSV
    assert encoding_of("text/plain") == BASE64
    assert encoding_of("application/octet-stream") == BASE64
    assert encoding_of("") == BASE64


def test_csv_is_kept_as_text_and_anything_else_as_base64():
    written = record(exchange("great film,1\n", "text/csv", b"\x89PNG\x00", "image/png"))["captureData"]
    assert written["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "great film,1\n",
        "encoding": "CSV",
    }
    assert written["endpointOutput"]["encoding"] == "BASE64"
    assert base64.b64decode(written["endpointOutput"]["data"]) == b"\x89PNG\x00"


def test_a_json_body_that_is_not_utf8_is_base64():
    side = record(exchange(b'{"inputs": "\xff"}', "application/json"))["captureData"]["endpointInput"]
    assert side["encoding"] == "BASE64" and base64.b64decode(side["data"]) == b'{"inputs": "\xff"}'


def test_inference_id_and_target_model_are_written_when_known():
    metadata = record(exchange(b"{}", "application/json", inference_id="caller-7", model="sentiment"))["eventMetadata"]
    assert metadata == {
        "eventId": "req-1",
        "inferenceId": "caller-7",
        "inferenceTime": "2025-12-06T05:46:40Z",
        "targetModel": "sentiment",
    }


def test_a_record_over_the_limit_keeps_its_metadata_and_says_it_was_cut():
    big = b'{"inputs": "' + b"x" * 5000 + b'"}'
    cut = cut_to(exchange(big, "application/json", inference_id="caller-7"), 1024)
    assert cut.size <= 1024 and cut.request.cut and not cut.response.cut
    written = record(cut)
    assert written["eventMetadata"]["eventId"] == "req-1"
    assert written["eventMetadata"]["inferenceId"] == "caller-7"
    assert written["eventMetadata"]["truncated"] is True
    side = written["captureData"]["endpointInput"]
    assert side["encoding"] == "BASE64" and side["originalBytes"] == len(big)
    assert big.startswith(base64.b64decode(side["data"]))
    assert written["captureData"]["endpointOutput"]["data"] == '[{"label":"POSITIVE"}]'  # the small side whole


def test_both_sides_over_the_limit_share_it():
    cut = cut_to(exchange(b"a" * 4000, "text/csv", b"b" * 4000, "text/csv"), 1000)
    assert len(cut.request.data) == 500 and len(cut.response.data) == 500
    assert cut.request.cut_from == 4000 and cut.response.cut_from == 4000


def test_a_record_within_the_limit_is_the_same_object():
    whole = exchange(b"{}", "application/json")
    assert cut_to(whole, 1024) is whole and "truncated" not in record(whole)["eventMetadata"]
