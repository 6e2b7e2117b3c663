"""The request shapes of text classification (tasks/text_inputs.py), with the pipeline's parameters."""

from __future__ import annotations

from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.text_classification.classifier import ClassificationParameters
from hf_serving.tasks.text_inputs import parse_text_request

ClassificationRequest = ParsedRequest[str, ClassificationParameters]


def parse_classification_request(payload: object) -> ClassificationRequest:
    return parse_text_request(payload, ClassificationParameters.from_request)
