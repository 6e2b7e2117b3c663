"""The request shapes of reranking: text-embeddings-inference's /rerank body, which its SageMaker container takes on
/invocations for a one-output classifier, and the toolkit's {"inputs", "parameters"} envelope.

    {"query": "q", "texts": ["t1", "t2"], "raw_scores": false, "return_text": false, "truncate": true}
    {"inputs": {"query": "q", "texts": ["t1", "t2"]}, "parameters": {"top_n": 1, "return_text": true}}
The parameters may be given at the top level in either shape; "texts" may also be one string (a CSV row is
query,text). The answer is TEI's: [{"index", "score", "text"?}], sorted by score, highest first; top_n keeps the
first n.

Each (query, text) pair is one item, so the server-side batch scores the pairs of every record that shares the
model's own parameters (truncation) in the same model passes, whatever their queries; how the scores are shown
(activation, text, top_n) is each record's own (RerankRequest.ranking).
"""

from __future__ import annotations

from dataclasses import dataclass

from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.formats.media import json_type_name
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.envelope import input_field, parameters_with_top_level
from hf_serving.tasks.parameters import Boolean, Choice, Integer, ParameterSpec

# Texts one request may rank: TEI's max_client_batch_size is 32 by default and raised by its operator; 1,000 is what
# a retrieval stack's first stage hands a reranker at most, and about 2 s of a full-size DistilBERT on one core per
# 100 texts of 100 tokens.
MAX_TEXTS = 1_000

RERANK_PARAMETERS = ParameterSpec(
    "RerankParameters",
    (
        Boolean(
            "raw_scores",
            default=False,
            description="the model's logit, without the activation CrossEncoder.predict applies (sigmoid by default)",
        ),
        Boolean("return_text", default=False, description="each entry also carries its text"),
        Integer(
            "top_n",
            minimum=1,
            nullable=True,
            null_means="for every text",
            description="keep the n best-scored texts (null or absent: every text)",
        ),
        Boolean(
            "truncate",
            default=True,
            nullable=True,
            description="false: a (query, text) pair over the model's maximum length is a 413 instead of cut (null, "
            "as TEI's optional truncate: true)",
        ),
        Choice(
            "truncation_direction",
            choices=("right", "left"),
            default="right",
            description="which end of an over-long pair is cut",
        ),
    ),
    description="Reranking (text-ranking): text-embeddings-inference's /rerank parameters, and top_n.",
    top_level=("raw_scores", "return_text", "top_n", "truncate", "truncation_direction"),
)

INPUT_KEYS = ("query", "texts")


@dataclass(frozen=True)
class Pair:
    """One item: a text and the query it is ranked against."""

    query: str
    text: str


@dataclass(frozen=True)
class Scoring:
    """What the model pass depends on: the parameters records are grouped by."""

    truncate: bool = True
    truncation_direction: str = "right"


@dataclass(frozen=True)
class Ranking:
    """How one request's scores are shown."""

    raw_scores: bool = False
    return_text: bool = False
    top_n: int | None = None


@dataclass(frozen=True)
class RerankRequest(ParsedRequest[Pair, Scoring]):
    ranking: Ranking = Ranking()


def parse_rerank_request(payload: object) -> RerankRequest:
    if not isinstance(payload, dict):
        raise BadRequest(
            f'send {{"query": "...", "texts": ["..."]}} or {{"inputs": {{"query", '
            f'"texts"}}}}, not a JSON {json_type_name(payload)}'
        )
    top_level = RERANK_PARAMETERS.top_level
    if "query" in payload or "texts" in payload:  # TEI's body: the inputs and the parameters side by side
        inputs: object = {name: payload[name] for name in INPUT_KEYS if name in payload}
        allowed, expected = {*INPUT_KEYS, "parameters", *top_level}, "query, texts, parameters"
    else:
        found = input_field(payload)
        if found is None:
            raise BadRequest(
                'inputs is missing: send {"query": "...", "texts": ["..."]} or '
                '{"inputs": {"query": "...", "texts": ["..."]}}'
            )
        inputs = payload[found]
        allowed, expected = {found, "parameters", *top_level}, "inputs, parameters"
    unknown = sorted(str(name) for name in payload if name not in allowed)
    if unknown:
        raise BadRequest(
            f"unknown field(s) {', '.join(unknown)}: expected {expected}, or {', '.join(top_level)} beside them"
        )
    values = RERANK_PARAMETERS.parse(parameters_with_top_level(payload, top_level))
    query, texts = _query_and_texts(inputs)
    return RerankRequest(
        [Pair(query, text) for text in texts],
        Scoring(values["truncate"] is not False, values["truncation_direction"]),
        is_batch=True,
        ranking=Ranking(values["raw_scores"], values["return_text"], values["top_n"]),
    )


def _query_and_texts(inputs: object) -> tuple[str, list[str]]:
    if not isinstance(inputs, dict):
        raise BadRequest(f'inputs must be an object {{"query": "...", "texts": ["..."]}}, not {json_type_name(inputs)}')
    unknown = sorted(str(name) for name in inputs if name not in INPUT_KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)} in inputs: expected query, texts")
    missing = [name for name in INPUT_KEYS if name not in inputs]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise BadRequest(f'{" and ".join(missing)} {verb} missing: send {{"query": "...", "texts": ["..."]}}')
    query, texts = inputs["query"], inputs["texts"]
    if not isinstance(query, str) or not query.strip():
        raise BadRequest(f"query must be a non-empty string, not {_shown(query)}")
    if isinstance(texts, str):  # one text, as a CSV row (query,text) carries it
        if not texts.strip():
            raise BadRequest("texts must not be empty")
        texts = [texts]
    if not isinstance(texts, list):
        raise BadRequest(f"texts must be a list of strings, or one string, not {json_type_name(texts)}")
    if not texts:
        raise BadRequest("texts must not be an empty list")
    if len(texts) > MAX_TEXTS:
        raise PayloadTooLarge(
            f"texts holds {len(texts):,} texts, over the {MAX_TEXTS:,} one request may rank: "
            "send them in several requests"
        )
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise BadRequest(f"texts[{index}] must be a string, not {json_type_name(text)}")
        if not text.strip():
            raise BadRequest(f"texts[{index}] must not be empty")
    return query, texts


def _shown(value: object) -> str:
    return "an empty string" if isinstance(value, str) else json_type_name(value)
