"""An Exchange as SageMaker Model Monitor's capture record: one JSON object per line,

    {"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
                     "endpointOutput": {"observedContentType", "mode": "OUTPUT", "data", "encoding"}},
     "eventMetadata": {"eventId", "inferenceId" (only when the caller sent one), "inferenceTime"},
     "eventVersion": "0"}

as SageMaker writes it (docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html; inferenceId, which
Model Monitor prefers over eventId to merge ground truth, from .../model-monitor-model-quality-merge.html).
Encodings: JSON for JSON and JSON Lines bodies, CSV for text/csv, the text as is in both; BASE64 for anything else and
for a body that is not UTF-8. Two keys of our own, where Model Monitor's readers look for none: a multi-model
endpoint's eventMetadata.targetModel (SageMaker's layout has no level for it), and a cut record's
eventMetadata.truncated, whose cut body is then BASE64 of its first bytes (a prefix is not a JSON or CSV document) with
its whole length in "originalBytes".
"""

from __future__ import annotations

import base64
import json
import time

from hf_serving.monitoring.capture.exchange import Body, Exchange

JSON, CSV, BASE64 = "JSON", "CSV", "BASE64"
EVENT_VERSION = "0"


def encoding_of(content_type: str) -> str:
    """The capture encoding a body of this media type is written in, if it is UTF-8 text."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in (
        "application/json",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/x-ndjson",
    ) or media.endswith("+json"):
        return JSON
    if media == "text/csv":
        return CSV
    return BASE64


def side(body: Body, mode: str) -> dict:
    encoding = BASE64 if body.cut else encoding_of(body.content_type)
    data: str | None = None
    if encoding != BASE64:
        try:
            data = body.data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = BASE64
    if data is None:
        data = base64.b64encode(body.data).decode("ascii")
    written: dict[str, str | int] = {
        "observedContentType": body.content_type,
        "mode": mode,
        "data": data,
        "encoding": encoding,
    }
    if body.cut:
        written["originalBytes"] = body.cut_from
    return written


def inference_time(seconds: float) -> str:
    """SageMaker's form: UTC to the second, with a Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def record(exchange: Exchange) -> dict:
    metadata: dict = {"eventId": exchange.event_id}
    if exchange.inference_id:
        metadata["inferenceId"] = exchange.inference_id
    metadata["inferenceTime"] = inference_time(exchange.inference_time)
    if exchange.model is not None:
        metadata["targetModel"] = exchange.model
    if exchange.cut:
        metadata["truncated"] = True
    return {
        "captureData": {
            "endpointInput": side(exchange.request, "INPUT"),
            "endpointOutput": side(exchange.response, "OUTPUT"),
        },
        "eventMetadata": metadata,
        "eventVersion": EVENT_VERSION,
    }


def json_line(exchange: Exchange) -> bytes:
    return json.dumps(record(exchange), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
