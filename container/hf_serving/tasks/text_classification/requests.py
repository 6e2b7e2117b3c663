"""The request shapes of text classification (tasks/text_inputs.py), with the pipeline's parameters."""

from __future__ import annotations

from hf_serving.tasks import explaining
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.text_classification.classifier import ClassificationParameters
from hf_serving.tasks.text_inputs import parse_text_request

ClassificationRequest = ParsedRequest[str, ClassificationParameters]


def parse_classification_request(payload: object) -> ClassificationRequest:
    request = parse_text_request(payload, ClassificationParameters.from_request)
    explaining.check_item_count(request.parameters.explain, len(request.items), "texts")
    return request
