"""The request shapes of sentence embeddings: text-embeddings-inference's, which Hugging Face's embedding
container for SageMaker takes, and AWS's Hugging Face toolkit's.

    {"inputs": "text"}                          one vector, in a list: [[...]]
    {"inputs": ["t1", "t2"], "normalize": false} one vector per text, in order
    {"inputs": [...], "parameters": {...}}       the same parameters inside "parameters"
    "text" or ["t1", "t2"]
The response is always a list of vectors, one per input, as text-embeddings-inference answers /embed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.text_inputs import parse_text_request

DIRECTIONS = ("right", "left")


@dataclass(frozen=True)
class EmbeddingParameters:
    normalize: bool | None = None  # None: as the model's modules say (a Normalize module: unit vectors)
    truncate: bool = True  # false: a text over the model's max_seq_length is a 413, as in TEI
    truncation_direction: str = "right"  # which end of an over-long text is cut
    dimensions: int | None = None  # keep the first N values (Matryoshka models), then normalise
    prompt_name: str | None = None  # one of the model's prompts (config_sentence_transformers.json)

    @classmethod
    def from_request(cls, parameters: object) -> EmbeddingParameters:
        if parameters is None:
            return cls()
        if not isinstance(parameters, dict):
            raise BadRequest(f"parameters must be a JSON object, not {json_type_name(parameters)}")
        known = [field.name for field in fields(cls)]
        unknown = sorted(str(name) for name in parameters if name not in known)
        if unknown:
            raise BadRequest(f"unknown parameters: {', '.join(unknown)} (accepted: {', '.join(known)})")
        values = dict(parameters)
        for name in ("normalize", "truncate"):
            if name in values and not isinstance(values[name], bool) and not (
                    name == "normalize" and values[name] is None):
                raise BadRequest(f"parameters.{name} must be true or false")
        direction = values.get("truncation_direction", "right")
        if not isinstance(direction, str) or direction.lower() not in DIRECTIONS:
            raise BadRequest("parameters.truncation_direction must be Right or Left")
        values["truncation_direction"] = direction.lower()
        dimensions = values.get("dimensions")
        if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)
                                       or dimensions < 1):
            raise BadRequest("parameters.dimensions must be an integer >= 1, or null")
        prompt = values.get("prompt_name")
        if prompt is not None and not isinstance(prompt, str):
            raise BadRequest(f"parameters.prompt_name must be a string, not {json_type_name(prompt)}")
        return cls(**values)


TOP_LEVEL = tuple(field.name for field in fields(EmbeddingParameters))

EmbeddingsRequest = ParsedRequest[str, EmbeddingParameters]


def parse_embeddings_request(payload: object) -> EmbeddingsRequest:
    return parse_text_request(payload, EmbeddingParameters.from_request, top_level=TOP_LEVEL)
