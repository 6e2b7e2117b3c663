"""The request shapes of fill-mask (tasks/text_inputs.py), with the pipeline's parameters declared once."""

from __future__ import annotations

from dataclasses import dataclass

from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.parameters import Integer, ParameterSpec, Texts
from hf_serving.tasks.text_inputs import parse_text_request

# Each proposal repeats the whole text ("sequence"), so an answer grows with top_k times the text: the pipeline's
# default is 5, and 100 already answers a 500-token text with ~300 KB per mask.
MAX_TOP_K = 100
MAX_TARGETS = 1_000  # each one looked up (or tokenised) per request

FILL_MASK_PARAMETERS = ParameterSpec(
    "FillMaskParameters",
    (
        Integer(
            "top_k",
            default=5,
            minimum=1,
            maximum=MAX_TOP_K,
            description="How many proposals per mask token, most probable first (at most the number of targets).",
        ),
        Texts(
            "targets",
            nullable=True,
            max_items=MAX_TARGETS,
            description="Score only these tokens. A word that is not one token of the vocabulary is replaced by its "
            "first token, as the pipeline does (token_str shows which); one that tokenises to nothing is "
            "ignored, and a 400 when none is left.",
        ),
    ),
    description="transformers' fill-mask pipeline parameters.",
)


@dataclass(frozen=True)
class FillMaskParameters:
    top_k: int = 5
    targets: tuple[str, ...] | None = None  # as the request named them
    # The targets' vocabulary ids, as the pipeline picks them; the served model fills them in (it has the tokenizer)
    target_ids: tuple[int, ...] | None = None


FillMaskRequest = ParsedRequest[str, FillMaskParameters]


def parse_fill_mask_parameters(raw: object) -> FillMaskParameters:
    values = FILL_MASK_PARAMETERS.parse(raw)
    return FillMaskParameters(top_k=values["top_k"], targets=values["targets"])


def parse_fill_mask_request(payload: object) -> FillMaskRequest:
    """The text shapes every text task takes; whether each text has a mask token is the served model's check (the
    token is the tokenizer's: [MASK], <mask>)."""
    return parse_text_request(payload, parse_fill_mask_parameters)
