"""The request shapes of text classification (tasks/text_inputs.py), text pairs, and the pipeline's parameters.

As transformers' text-classification pipeline takes them:
    {"inputs": "text"}                                           one text: [{"label", "score"}]
    {"inputs": ["t1", "t2"]}                                     one result per text
    {"inputs": {"text": "a", "text_pair": "b"}}                  one pair: a bare {"label", "score"}
    {"inputs": [{"text": "a", "text_pair": "b"}, "t3", ...]}     pairs and texts, one result each
    {"text": "a", "text_pair": "b", "parameters": {...}}         a pair at the top level
"text" stands for "inputs" everywhere else (tasks/envelope.py); beside "text_pair" it is the pair's first text, as
the pipeline's own dict is.
"""

from __future__ import annotations

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name
from hf_serving.tasks import explaining
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.parameters import Choice, Integer, ParameterSpec, Text
from hf_serving.tasks.text_classification.classifier import FUNCTIONS, ClassificationParameters, TextPair
from hf_serving.tasks.text_inputs import parse_items_request, text_item

ClassificationItem = str | TextPair
ClassificationRequest = ParsedRequest[ClassificationItem, ClassificationParameters]

PAIR_FIELDS = ("text", "text_pair")
_PAIR_SHAPE = '{"text": ..., "text_pair": ...}'

CLASSIFICATION_PARAMETERS = ParameterSpec("ClassificationParameters", (
    Integer("top_k", minimum=1, nullable=True, null_means="for every label",
            description="How many labels to answer, best first; null for every label. Without top_k, each text "
                        "answers only its best {label, score} (the pipeline's legacy shape)."),
    Choice("function_to_apply", choices=FUNCTIONS, nullable=True,
           description="Scores from the logits: softmax, sigmoid or none (the logits). By default as the "
                       "pipeline: none for problem_type regression, sigmoid for multi_label_classification or a "
                       "one-label model, softmax otherwise."),
    *explaining.PARAMETERS,
    Text("explain_label", description="A label explained beside the predicted one (with explain: true)."),
), description="transformers' text-classification pipeline's parameters.")


def classification_parameters(raw: object) -> ClassificationParameters:
    values = CLASSIFICATION_PARAMETERS.parse(raw)
    explain = explaining.explain_from(values)
    if values["explain_label"] is not None and not explain.enabled:
        raise BadRequest("parameters.explain_label must be a label's name, with parameters.explain: true")
    return ClassificationParameters(
        top_k=values["top_k"], legacy=not values.given("top_k"), function_to_apply=values["function_to_apply"],
        explain=explain, explain_label=values["explain_label"])


def parse_classification_request(payload: object) -> ClassificationRequest:
    if isinstance(payload, dict) and "text_pair" in payload:
        request = _top_level_pair(payload)
    else:
        request = parse_items_request(payload, classification_parameters, classification_item)
    explaining.check_item_count(request.parameters.explain, len(request.items), "texts")
    if request.parameters.explain.enabled and any(isinstance(item, TextPair) for item in request.items):
        raise BadRequest("explanations of text pairs are not supported: send parameters.explain with single texts")
    return request


def classification_item(value: object, where: str) -> ClassificationItem:
    """A text, or a {"text", "text_pair"} object (text_pair may be left out, as the pipeline allows)."""
    if isinstance(value, dict):
        return text_pair(value, where)
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string or a {_PAIR_SHAPE} object, not {json_type_name(value)}")
    return text_item(value, where)


def text_pair(value: dict, where: str) -> TextPair:
    """{"text", "text_pair"} read from `value`; errors name `where.text` (just `text` at the top level)."""
    def named(field: str) -> str:
        return f"{where}.{field}" if where else field

    unknown = sorted(str(name) for name in value if name not in PAIR_FIELDS)
    if unknown:
        place = f" in {where}" if where else ""
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}{place}: a text pair is {_PAIR_SHAPE}")
    if "text" not in value:
        raise BadRequest(f"{named('text')} is missing: a text pair is {_PAIR_SHAPE}")
    first = text_item(value["text"], named("text"))
    if "text_pair" not in value:
        return TextPair(first)
    return TextPair(first, text_item(value["text_pair"], named("text_pair")))


def _top_level_pair(payload: dict) -> ClassificationRequest:
    """{"text": "a", "text_pair": "b", "parameters": {...}}: one pair, answered bare."""
    if "inputs" in payload:
        raise BadRequest(f'text_pair goes beside "text" or inside "inputs" ({{"inputs": {_PAIR_SHAPE}}}), not '
                         'beside "inputs"')
    unknown = sorted(str(name) for name in payload if name not in (*PAIR_FIELDS, "parameters"))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected text, text_pair, parameters")
    parameters = classification_parameters(payload.get("parameters"))
    return ParsedRequest([text_pair({name: payload[name] for name in PAIR_FIELDS if name in payload}, "")],
                         parameters, is_batch=False)
