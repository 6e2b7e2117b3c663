"""The request shapes of zero-shot classification, as transformers' zero-shot-classification pipeline takes them.

    {"inputs": "text", "parameters": {"candidate_labels": ["sports", "politics"]}}       one answer
    {"inputs": ["t1", "t2"], "parameters": {"candidate_labels": "sports, politics"}}    one answer per text
    {"inputs": "text", "candidate_labels": [...]}                                        the labels beside "inputs"
A CSV row is `text,candidate_labels` (the labels comma-separated, so the field quoted).

Each text becomes an item that carries its own labels, template and multi_label: the server-side batch then groups
every record in one model call, whatever labels each asked for, and their (text, hypothesis) pairs share passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.parameters import Boolean, ParameterSpec, Text, Texts
from hf_serving.tasks.text_inputs import parse_text_request

# Labels one request may ask about: each label of each text is one model row (a 512-token pass at worst), and the
# pipeline's answers are read by people, so more than this is a mistake rather than a use.
MAX_CANDIDATE_LABELS = 100
DEFAULT_TEMPLATE = "This example is {}."
_PROBE = "\x00label\x00"


def _has_one_label_slot(template: str) -> str | None:
    """None when str.format puts a label into the template (as the pipeline does), else the problem in words."""
    try:
        filled = template.format(_PROBE)
    except (IndexError, KeyError, ValueError):
        return "must contain {} once, where each label goes (write other braces as {{ and }})"
    return None if _PROBE in filled else "must contain {}, where each label goes"


ZERO_SHOT_PARAMETERS = ParameterSpec(
    "ZeroShotParameters",
    (
        Texts(
            "candidate_labels",
            comma_separated=True,
            max_items=MAX_CANDIDATE_LABELS,
            required=True,
            description=f"Required: the labels to choose from, a list or one comma-separated string; at most "
            f"{MAX_CANDIDATE_LABELS}. Each becomes a hypothesis the model reads after the text.",
        ),
        Text(
            "hypothesis_template",
            default=DEFAULT_TEMPLATE,
            check=_has_one_label_slot,
            description="The hypothesis each label is put into; {} stands for the label.",
        ),
        Boolean(
            "multi_label",
            default=False,
            description="true: each label scored on its own (entailment against contradiction); false: the "
            "scores of a text's labels sum to 1.",
        ),
    ),
    description="transformers' zero-shot-classification pipeline's parameters; candidate_labels may also be given "
    "beside inputs.",
    top_level=("candidate_labels",),
)


@dataclass(frozen=True)
class ZeroShotItem:
    """One text and what to ask of it: every pair (text, template.format(label)) is one row for the model."""

    text: str
    labels: tuple[str, ...]
    template: str = DEFAULT_TEMPLATE
    multi_label: bool = False


ZeroShotRequest = ParsedRequest[ZeroShotItem, None]


def parse_zero_shot_request(payload: object) -> ZeroShotRequest:
    request = parse_text_request(payload, ZERO_SHOT_PARAMETERS.parse, ZERO_SHOT_PARAMETERS.top_level)
    values = request.parameters
    items = [
        ZeroShotItem(text, values["candidate_labels"], values["hypothesis_template"], values["multi_label"])
        for text in request.items
    ]
    return ParsedRequest(items, None, request.is_batch)
