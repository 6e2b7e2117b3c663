"""The request shapes of sentence embeddings: text-embeddings-inference's, which Hugging Face's embedding
container for SageMaker takes, and AWS's Hugging Face toolkit's; and sentence similarity.

    {"inputs": "text"}                          one vector, in a list: [[...]]
    {"inputs": ["t1", "t2"], "normalize": false} one vector per text, in order
    {"inputs": [...], "parameters": {...}}       the same parameters inside "parameters"
    {"inputs": [...], "parameters": {"output_value": "token_embeddings"}}
                                                every token's vector, un-pooled: [[[...], ...]] (TEI's /embed_all)
    "text" or ["t1", "t2"]
The response is always a list of vectors, one per input, as text-embeddings-inference answers /embed.

    {"inputs": {"source_sentence": "s", "sentences": ["a", "b"]}}
answers a bare list of cosine similarities, one per sentence ([0.71, 0.05]): the Hugging Face Inference API's
sentence-similarity shape, which TEI's /similarity and huggingface_hub's InferenceClient.sentence_similarity use.
At most MAX_SENTENCES sentences per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.formats.media import json_type_name
from hf_serving.tasks.base import RECORD_CHARS, ParsedRequest
from hf_serving.tasks.envelope import input_field
from hf_serving.tasks.parameters import Boolean, Choice, Integer, ParameterSpec, Text
from hf_serving.tasks.text_inputs import parse_items_request, text_item

DIRECTIONS = ("right", "left")
# Sentences compared with one source sentence per request: each is one more text through the model, and TEI
# refuses a /similarity request past its max-client-batch-size (32 by default); this bound is looser, and a
# request past it is a 400 saying to split it.
MAX_SENTENCES = 1024

# Each parameter declared once; the embeddings and the similarity requests share the ones they both take.
NORMALIZE = Boolean(
    "normalize",
    nullable=True,
    description="Unit-length vectors; by default as the model's modules say (a Normalize module).",
)
TRUNCATE = Boolean(
    "truncate",
    default=True,
    description="false: a text over the model's max_seq_length is a 413, as in TEI, instead of cut.",
)
TRUNCATION_DIRECTION = Choice(
    "truncation_direction",
    default="right",
    choices=DIRECTIONS,
    description="Which end of an over-long text is cut (Right or Left, any case).",
)
DIMENSIONS = Integer(
    "dimensions", minimum=1, nullable=True, description="Keep the first N values (Matryoshka models), then normalise."
)
# sentence-transformers' encode(output_value=...): the pooled vector, or the Transformer module's token states before
# pooling (special tokens included, padding not), which TEI's /embed_all answers.
SENTENCE_EMBEDDING, TOKEN_EMBEDDINGS = "sentence_embedding", "token_embeddings"
OUTPUT_VALUE = Choice(
    "output_value",
    default=SENTENCE_EMBEDDING,
    choices=(SENTENCE_EMBEDDING, TOKEN_EMBEDDINGS),
    description="token_embeddings: each text's token vectors before pooling, a list of vectors per "
    "text (normalize and dimensions do not apply), as encode(output_value=...) gives.",
)
PROMPT_NAME = Text(
    "prompt_name",
    description="One of the model's prompts (config_sentence_transformers.json), put in front of every text.",
)

EMBEDDINGS_PARAMETERS = ParameterSpec(
    "EmbeddingsParameters",
    (NORMALIZE, TRUNCATE, TRUNCATION_DIRECTION, DIMENSIONS, PROMPT_NAME, OUTPUT_VALUE),
    description="text-embeddings-inference's /embed parameters, at the top level beside inputs or in parameters.",
    top_level=("normalize", "truncate", "truncation_direction", "dimensions", "prompt_name"),
    # embedding_parameters refuses dimensions with token_embeddings (a token's vector is not cut).
    rules=(
        {
            "not": {
                "required": ["dimensions", "output_value"],
                "properties": {"dimensions": {"type": "integer"}, "output_value": {"enum": [TOKEN_EMBEDDINGS]}},
            }
        },
    ),
)
SIMILARITY_PARAMETERS = ParameterSpec(
    "SimilarityParameters",
    (TRUNCATE, TRUNCATION_DIRECTION, PROMPT_NAME),
    description='The parameters of a sentence-similarity request ({"inputs": {"source_sentence", '
    '"sentences"}}), at the top level beside inputs or in parameters. The similarities are the '
    "cosines of the model's own vectors, so normalize and dimensions do not apply.",
    top_level=("truncate", "truncation_direction", "prompt_name"),
)


@dataclass(frozen=True)
class EmbeddingParameters:
    normalize: bool | None = None  # None: as the model's modules say (a Normalize module: unit vectors)
    truncate: bool = True  # false: a text over the model's max_seq_length is a 413, as in TEI
    truncation_direction: str = "right"  # which end of an over-long text is cut
    dimensions: int | None = None  # keep the first N values (Matryoshka models), then normalise
    prompt_name: str | None = None  # one of the model's prompts (config_sentence_transformers.json)
    output_value: str = SENTENCE_EMBEDDING  # token_embeddings: the token states before pooling

    @property
    def tokens(self) -> bool:
        return self.output_value == TOKEN_EMBEDDINGS


@dataclass(frozen=True)
class SimilarityParameters:
    truncate: bool = True
    truncation_direction: str = "right"
    prompt_name: str | None = None

    def embedding(self) -> EmbeddingParameters:
        """The vectors the cosines are taken of: the model's own, as encode() gives them."""
        return EmbeddingParameters(
            truncate=self.truncate, truncation_direction=self.truncation_direction, prompt_name=self.prompt_name
        )


@dataclass(frozen=True)
class SimilarityQuery:
    """One sentence-similarity request's texts: frozen, so that the response cache can key it."""

    source_sentence: str
    sentences: tuple[str, ...]


def embedding_parameters(raw: object) -> EmbeddingParameters:
    parameters = EmbeddingParameters(**EMBEDDINGS_PARAMETERS.parse(raw))
    if parameters.tokens and parameters.dimensions is not None:
        raise BadRequest("parameters.dimensions applies to sentence embeddings, not to token_embeddings")
    return parameters


def similarity_parameters(raw: object) -> SimilarityParameters:
    return SimilarityParameters(**SIMILARITY_PARAMETERS.parse(raw))


EmbeddingsItem = str | SimilarityQuery
EmbeddingsRequest = ParsedRequest[EmbeddingsItem, EmbeddingParameters | SimilarityParameters]


def parse_embeddings_request(payload: object) -> EmbeddingsRequest:
    """Texts to embed, or, when the inputs are an object, a sentence-similarity request."""
    if isinstance(payload, dict):
        field = input_field(payload)
        if field is not None and isinstance(payload[field], dict):
            return parse_items_request(
                payload, similarity_parameters, similarity_query, top_level=SIMILARITY_PARAMETERS.top_level
            )
    read_text: Callable[[object, str], EmbeddingsItem] = text_item
    return parse_items_request(payload, embedding_parameters, read_text, top_level=EMBEDDINGS_PARAMETERS.top_level)


def similarity_query(value: object, where: str) -> SimilarityQuery:
    """{"source_sentence": "...", "sentences": ["...", ...]}; errors name the field ("inputs.sentences[2]")."""
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object, not {json_type_name(value)}")
    shape = '{"source_sentence": "...", "sentences": ["...", ...]}'
    unknown = sorted(str(name) for name in value if name not in ("source_sentence", "sentences"))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)} in {where}: a similarity request is {shape}")
    for name in ("source_sentence", "sentences"):
        if name not in value:
            raise BadRequest(f"{where}.{name} is missing: a similarity request is {shape}")
    source = text_item(value["source_sentence"], f"{where}.source_sentence")
    sentences = value["sentences"]
    if not isinstance(sentences, list):
        raise BadRequest(f"{where}.sentences must be a list of strings, not {json_type_name(sentences)}")
    if not sentences:
        raise BadRequest(f"{where}.sentences must not be an empty list")
    if len(sentences) > MAX_SENTENCES:
        raise BadRequest(
            f"{where}.sentences holds {len(sentences):,} sentences, over the {MAX_SENTENCES:,} a "
            "request may compare: send the others in requests of their own"
        )
    query = SimilarityQuery(
        source, tuple(text_item(sentence, f"{where}.sentences[{index}]") for index, sentence in enumerate(sentences))
    )
    # One query cannot be sliced: bound its text as the batch stage bounds a record's, also where a whole Batch
    # Transform body (up to 100 MB) is one JSON request, which the batch stage's per-record limit never sees.
    chars = len(query.source_sentence) + sum(len(sentence) for sentence in query.sentences)
    if chars > RECORD_CHARS:
        raise PayloadTooLarge(
            f"{where} holds {chars:,} characters of text, over the {RECORD_CHARS:,} one request may hold"
        )
    return query
