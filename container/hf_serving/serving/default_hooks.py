"""The container's default handlers: the SageMaker hooks every request goes through (container/code/inference.py
names them for users; the hook runner imports them from here).

A model.tar.gz may carry code/inference.py (or the file SAGEMAKER_PROGRAM names) defining any of
model_fn, input_fn, predict_fn, output_fn, or transform_fn alone; each one it defines replaces the
matching function below, and the others stay. Each hook may take a trailing `context` argument:
model_fn gets the model server's context; the request hooks get a hf_serving.serving.request_context.RequestContext
(request_id, custom_attributes, set_custom_attributes, get_request_header, set_response_header).

input_fn returns the decoded JSON value for application/json, and a hf_serving.formats.records.RecordBatch for the
Batch Transform formats (application/jsonlines, text/csv); predict_fn returns JSON-able data, or a
RecordResults for a RecordBatch. These defaults stay thin: the task logic lives in hf_serving.
"""

from __future__ import annotations

from hf_serving.errors import NotAcceptable
from hf_serving.formats import explanation_html, media, records
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import current_settings
from hf_serving.tasks.base import ServedModel

INPUT_TYPES = (media.JSON, media.JSONLINES, media.CSV)
# What each kind of request can be answered in; the first is the answer when Accept leaves it open.
OUTPUT_TYPES = {
    media.JSON: (media.JSON, media.JSONLINES),
    media.JSONLINES: (media.JSONLINES, media.JSON),
    media.CSV: (media.CSV, media.JSON),
}


def model_fn(model_dir, context=None) -> ServedModel:
    """Load the model in model_dir (config.json, weights, tokenizer) for the task it was trained for.

    On a GPU machine the model server gives each worker its own GPU (system_properties["gpu_id"]).
    """
    from pathlib import Path

    properties = getattr(context, "system_properties", None) or {}
    gpu_id = properties.get("gpu_id")
    return load_served_model(Path(model_dir), current_settings(), worker_index=int(gpu_id or 0))


def input_fn(input_data, content_type, context=None) -> object:
    """Decode the body: JSON, JSON Lines or CSV, in UTF-8 (any charset parameter naming UTF-8)."""
    essence = media.require_content_type(content_type, INPUT_TYPES)
    text = media.decode_text(input_data)
    if essence == media.JSONLINES:
        return records.decode_jsonlines(text)
    if essence == media.CSV:
        return records.decode_csv(text)
    return media.decode_json(text)


def predict_fn(data, model: ServedModel, context=None) -> object:
    """Validate the decoded request for the model's task and answer it."""
    if isinstance(data, records.RecordBatch):
        return model.predict_records(data)
    return model.predict(data)


def output_fn(prediction, accept, context=None) -> tuple[object, str]:
    """Encode the answer as the client asked (Accept), returning the body and its Content-Type. An explain request
    may also be answered as a page (text/html) that shows its attributions."""
    if accept == media.NATIVE and not isinstance(prediction, records.RecordResults):
        return prediction, media.NATIVE  # a protocol route's adapter reshapes it (serving/protocol_calls.py)
    request_type = prediction.format if isinstance(prediction, records.RecordResults) else media.JSON
    supported: tuple[str, ...] = OUTPUT_TYPES[request_type]
    results = prediction.results if isinstance(prediction, records.RecordResults) else None
    if results is None and explanation_html.has_explanations(prediction):
        supported = (*supported, media.HTML)
    default = current_settings().default_accept
    try:
        response_type = media.negotiate_accept(accept, supported, default if default in supported else supported[0])
    except NotAcceptable as exc:
        if media.HTML in (accept or "") and media.HTML not in supported:
            raise NotAcceptable(f'{exc.message} (text/html answers requests with "explain": true)') from None
        raise
    if response_type == media.HTML:
        return explanation_html.render(prediction), explanation_html.CONTENT_TYPE
    if response_type == media.CSV and results is not None:
        return records.encode_csv(results), media.CSV
    if response_type == media.JSONLINES:
        lines = results if results is not None else (prediction if isinstance(prediction, list) else [prediction])
        return records.encode_jsonlines(lines), media.JSONLINES
    if response_type == media.JSON:
        body = records.encode_json_list(results) if results is not None else media.encode_json(prediction)
        return body, media.JSON
    raise NotAcceptable(f"Accept {accept!r} is not supported")
