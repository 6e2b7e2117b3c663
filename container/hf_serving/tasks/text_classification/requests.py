"""The request shapes of text classification (tasks/text_inputs.py), text pairs, and the pipeline's parameters.

As transformers' text-classification pipeline takes them:
    {"inputs": "text"}                                           one text: [{"label", "score"}]
    {"inputs": ["t1", "t2"]}                                     one result per text
    {"inputs": {"text": "a", "text_pair": "b"}}                  one pair: a bare {"label", "score"}
    {"inputs": [{"text": "a", "text_pair": "b"}, "t3", ...]}     pairs and texts, one result each
    {"text": "a", "text_pair": "b", "parameters": {...}}         a pair at the top level
    {"inputs": "text", "raw_scores": true, "truncate": false}    TEI's /predict parameters, at the top level as
                                                                 TEI on SageMaker takes them (or in parameters)
"text" stands for "inputs" everywhere else (tasks/envelope.py); beside "text_pair" it is the pair's first text, as
the pipeline's own dict is.
"""

from __future__ import annotations

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name
from hf_serving.tasks import explaining
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.parameters import Boolean, Choice, Integer, ParameterSpec, Text
from hf_serving.tasks.text_classification.classifier import FUNCTIONS, ClassificationParameters, TextPair
from hf_serving.tasks.text_inputs import parse_items_request, text_item

ClassificationItem = str | TextPair
ClassificationRequest = ParsedRequest[ClassificationItem, ClassificationParameters]

PAIR_FIELDS = ("text", "text_pair")
_PAIR_SHAPE = '{"text": ..., "text_pair": ...}'

CLASSIFICATION_PARAMETERS = ParameterSpec(
    "ClassificationParameters",
    (
        Integer(
            "top_k",
            minimum=1,
            nullable=True,
            null_means="for every label",
            description="How many labels to answer, best first; null for every label. Without top_k, each text "
            "answers only its best {label, score} (the pipeline's legacy shape).",
        ),
        Choice(
            "function_to_apply",
            choices=FUNCTIONS,
            nullable=True,
            description="Scores from the logits: softmax, sigmoid or none (the logits). By default as the "
            "pipeline: none for problem_type regression, sigmoid for multi_label_classification or a "
            "one-label model, softmax otherwise.",
        ),
        Boolean(
            "raw_scores",
            default=False,
            description="text-embeddings-inference's: true answers the logits, as function_to_apply none does.",
        ),
        Boolean(
            "truncate",
            default=True,
            description="false: a text (or pair) over the model's maximum length is a 413 instead of cut, as in TEI.",
        ),
        Choice(
            "truncation_direction",
            default="right",
            choices=("right", "left"),
            description="Which end of an over-long text is cut (TEI's Right or Left, any case).",
        ),
        *explaining.PARAMETERS,
        Text("explain_label", description="A label explained beside the predicted one (with explain: true)."),
    ),
    description="transformers' text-classification pipeline's parameters, and text-embeddings-inference's /predict "
    "ones (raw_scores, truncate, truncation_direction), which may also be given at the top level.",
    top_level=("raw_scores", "truncate", "truncation_direction"),
    # classification_parameters refuses raw_scores (the logits) with a function that is not none, and explain_label
    # without explain: true.
    rules=(
        {
            "not": {
                "required": ["raw_scores", "function_to_apply"],
                "properties": {"raw_scores": {"enum": [True]}, "function_to_apply": {"enum": ["softmax", "sigmoid"]}},
            }
        },
        {
            "anyOf": [
                {"not": {"required": ["explain_label"]}},
                {"required": ["explain"], "properties": {"explain": {"enum": [True]}}},
            ]
        },
    ),
)


def classification_parameters(raw: object) -> ClassificationParameters:
    values = CLASSIFICATION_PARAMETERS.parse(raw)
    explain = explaining.explain_from(values)
    if values["explain_label"] is not None and not explain.enabled:
        raise BadRequest("parameters.explain_label must be a label's name, with parameters.explain: true")
    function = values["function_to_apply"]
    if values["raw_scores"]:
        if function not in (None, "none"):
            raise BadRequest(
                f"parameters.raw_scores answers the logits: it cannot go with function_to_apply {function}"
            )
        function = "none"
    return ClassificationParameters(
        top_k=values["top_k"],
        legacy=not values.given("top_k"),
        function_to_apply=function,
        explain=explain,
        explain_label=values["explain_label"],
        truncate=values["truncate"],
        truncation_direction=values["truncation_direction"],
    )


def parse_classification_request(payload: object) -> ClassificationRequest:
    if isinstance(payload, dict) and "text_pair" in payload:
        request = _top_level_pair(payload)
    else:
        request = parse_items_request(
            payload, classification_parameters, classification_item, top_level=CLASSIFICATION_PARAMETERS.top_level
        )
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
        raise BadRequest(
            f'text_pair goes beside "text" or inside "inputs" ({{"inputs": {_PAIR_SHAPE}}}), not beside "inputs"'
        )
    unknown = sorted(str(name) for name in payload if name not in (*PAIR_FIELDS, "parameters"))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected text, text_pair, parameters")
    parameters = classification_parameters(payload.get("parameters"))
    return ParsedRequest(
        [text_pair({name: payload[name] for name in PAIR_FIELDS if name in payload}, "")], parameters, is_batch=False
    )
