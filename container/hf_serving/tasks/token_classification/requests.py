"""The request shapes of token classification (tasks/text_inputs.py) and the pipeline's parameters, declared once."""

from __future__ import annotations

from dataclasses import dataclass

from hf_serving.errors import BadRequest
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.parameters import Choice, Integer, ParameterSpec, Texts
from hf_serving.tasks.text_inputs import parse_text_request

STRATEGIES = ("none", "simple", "first", "average", "max")
# The strategies that pool a word's tokens: they need the fast tokenizer's offsets (the pipeline refuses slow ones).
WORD_STRATEGIES = ("first", "average", "max")

SPEC = ParameterSpec(
    "TokenClassificationParameters",
    (
        Choice(
            "aggregation_strategy",
            choices=STRATEGIES,
            default="none",
            description="none: one entity per token (with its index); simple: adjacent tokens of the same tag "
            "grouped; first/average/max: whole words first (the tag of their first token, of the "
            "average scores, of the most confident token), then grouped. As transformers' pipeline.",
        ),
        Texts(
            "ignore_labels",
            default=("O",),
            min_items=0,
            description="Labels left out of the answer ([] keeps every token or group).",
        ),
        Integer(
            "stride",
            minimum=0,
            nullable=True,
            null_means="for the default overlap",
            description="Tokens shared by consecutive windows of a text longer than the model's maximum, as the "
            "pipeline's stride. Without it, long texts are still read whole, in windows that overlap "
            "by a quarter of the model's maximum. Not with aggregation_strategy none.",
        ),
    ),
    description="transformers' token-classification pipeline parameters.",
    # from_request refuses a stride with aggregation_strategy none named.
    rules=(
        {
            "not": {
                "required": ["stride", "aggregation_strategy"],
                "properties": {"stride": {"type": "integer"}, "aggregation_strategy": {"enum": ["none"]}},
            }
        },
    ),
)


@dataclass(frozen=True)
class TokenClassificationParameters:
    aggregation_strategy: str = "none"
    ignore_labels: tuple[str, ...] = ("O",)
    stride: int | None = None  # None: the default overlap, used only when a text needs more than one window

    @classmethod
    def from_request(cls, raw: object) -> TokenClassificationParameters:
        values = SPEC.parse(raw)
        # The pipeline refuses stride with aggregation_strategy "none" when the request names both (with none
        # only implied, it merges tokens across windows; so does this container).
        if (
            values["stride"] is not None
            and values.given("aggregation_strategy")
            and values["aggregation_strategy"] == "none"
        ):
            raise BadRequest(
                "parameters.stride needs parameters.aggregation_strategy simple, first, average or max, "
                "not none (as transformers' pipeline)"
            )
        return cls(values["aggregation_strategy"], tuple(values["ignore_labels"]), values["stride"])


TokenClassificationRequest = ParsedRequest[str, TokenClassificationParameters]


def parse_token_classification_request(payload: object) -> TokenClassificationRequest:
    return parse_text_request(payload, TokenClassificationParameters.from_request)
