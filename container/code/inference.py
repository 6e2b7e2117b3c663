"""The container's default handlers: the SageMaker hooks every request goes through.

A model.tar.gz may carry code/inference.py (or the file SAGEMAKER_PROGRAM names) defining any of
model_fn, input_fn, predict_fn, output_fn, or transform_fn alone; each one it defines replaces the
matching function below, and the others stay. Each hook may take a trailing `context` argument:
model_fn gets the model server's context; the request hooks get a hf_serving.request_context.RequestContext
(request_id, custom_attributes, set_custom_attributes, get_request_header, set_response_header).

These defaults stay thin: the task logic lives in hf_serving (served_model, question_answering).
"""

from __future__ import annotations

from hf_serving import media
from hf_serving.errors import NotAcceptable
from hf_serving.model_loading import load_served_model
from hf_serving.served_model import ServedModel
from hf_serving.settings import current_settings

INPUT_TYPES = (media.JSON,)
OUTPUT_TYPES = (media.JSON,)


def model_fn(model_dir, context=None) -> ServedModel:
    """Load the model in model_dir (config.json, weights, tokenizer) for the task it was trained for."""
    from pathlib import Path

    return load_served_model(Path(model_dir), current_settings())


def input_fn(input_data, content_type, context=None) -> object:
    """Decode the request body; Content-Type must be application/json (any charset parameter: UTF-8)."""
    media.require_content_type(content_type, INPUT_TYPES)
    return media.decode_json(media.decode_text(input_data))


def predict_fn(data, model: ServedModel, context=None) -> object:
    """Validate the decoded request for the model's task and answer it."""
    return model.predict(data)


def output_fn(prediction, accept, context=None) -> tuple[bytes, str]:
    """Encode the answer as the client asked (Accept), returning the body and its Content-Type."""
    response_type = media.negotiate_accept(accept, OUTPUT_TYPES, media.JSON)
    if response_type != media.JSON:
        raise NotAcceptable(f"Accept {accept!r} is not supported")
    return media.encode_json(prediction), media.JSON
