"""OpenAI's embeddings and models API over the served model, so that OpenAI's SDKs (and LangChain, LlamaIndex,
Haystack, which reach self-hosted embedders through them) work with a base URL of ".../v1".

    POST /v1/embeddings     {"model", "input", "encoding_format"?, "dimensions"?, "user"?}
                            -> {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
                                "usage": {"prompt_tokens", "total_tokens"}}
    GET  /v1/models         -> {"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}],
                                "models": [name]}   ("models": KServe v1's list, which shares the path)
    GET  /v1/models/{id}    -> {"id", "object": "model", "created", "owned_by", "name", "ready": true}
                                ("name" and "ready": KServe v1's readiness, which shares the path)

The embeddings are the sentence-embeddings task's own ({"inputs": [...], "dimensions": D}), so they go through the
same batching and response cache as /invocations and equal sentence-transformers' encode(). Errors are raised with
the request field at fault (`param`), which OpenAI's error shape carries and its SDK shows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_serving.error_catalogue import Protocol
from hf_serving.errors import BadRequest, ModelNotFound, ServingError
from hf_serving.formats.media import json_type_name
from hf_serving.protocols import token_ids
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Native, Served, Usage

# OpenAI's own limit on inputs per request; a longer list is a 400 there too, so a client that works against OpenAI
# already splits its batches below it.
MAX_INPUTS = 2048
ENCODINGS = ("float", "base64")
FIELDS = ("model", "input", "encoding_format", "dimensions", "user")
OWNER = "hf-serving"
SENTENCE_EMBEDDINGS = "sentence-embeddings"


@dataclass(frozen=True)
class _Keep:
    """What shapes the answer: the model name as sent (echoed), the encoding, and how many vectors to expect."""

    model: str
    encoding: str
    count: int
    cut: int | None  # dimensions the adapter cuts itself: a user's model (model_fn) takes no native `dimensions`


class Embeddings(Exchange):
    protocol = Protocol.OPENAI

    def to_native(self, call: Call, served: Served) -> Native:
        body = call.json_body()
        if not isinstance(body, dict):
            raise BadRequest(f"the body must be a JSON object with model and input, not {json_type_name(body)}")
        # OpenAI refuses an argument it does not know (with this message) rather than ignore it: a misspelt
        # "dimension" must not silently give full-width vectors.
        unknown = sorted(str(name) for name in body if name not in FIELDS)
        if unknown:
            raise BadRequest(f"Unrecognized request argument supplied: {', '.join(unknown)}", param=unknown[0])
        model = _model(body.get("model"))
        if served.task not in (SENTENCE_EMBEDDINGS, None):
            raise BadRequest(
                f"model {model!r} is served as {served.task}, not sentence-embeddings: /v1/embeddings "
                "needs a sentence-embeddings model (sentence-transformers' layout, or "
                "HF_TASK=sentence-embeddings)",
                param="model",
            )
        texts = _texts(body.get("input"), served.tokenizer)
        encoding = _encoding(body.get("encoding_format"))
        dimensions = _dimensions(body.get("dimensions"), served)
        payload: dict[str, Any] = {"inputs": texts}
        native_cut = dimensions is not None and served.task == SENTENCE_EMBEDDINGS
        if native_cut:
            payload["dimensions"] = dimensions  # cut, then re-normalised as the model normalises (embedder.py)
        return Native(payload, keep=_Keep(model, encoding, len(texts), None if native_cut else dimensions))

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        keep: _Keep = native.keep
        vectors = _vectors(answer, keep.count)
        if keep.cut is not None:
            vectors = _cut(vectors, keep.cut)
        tokens = usage.tokens or 0
        data = [
            {"object": "embedding", "index": index, "embedding": _encoded(vector, keep.encoding)}
            for index, vector in enumerate(vectors)
        ]
        return Answer(
            {
                "object": "list",
                "data": data,
                "model": keep.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


class Models(Exchange):
    """The single-model endpoint's list: its one model. (A multi-model endpoint's list is the model management
    API's, multi_model/api.py.)"""

    protocol = Protocol.OPENAI

    def to_native(self, call: Call, served: Served) -> Direct:
        return Direct(model_list([served.name]))


class Model(Exchange):
    protocol = Protocol.OPENAI

    def to_native(self, call: Call, served: Served) -> Direct:
        name = call.path_params.get("name", "")
        if name != served.name:
            raise ModelNotFound(
                f"The model {name!r} does not exist: this endpoint serves {served.name!r}", param="model"
            )
        return Direct({**model_object(served.name), "name": served.name, "ready": True})


def model_object(name: str, created: int = 0) -> dict[str, Any]:
    """OpenAI's model object. `created` is a Unix time the SDK requires; 0 where the load time is not known."""
    return {"id": name, "object": "model", "created": created, "owned_by": OWNER}


def model_list(names: list[str], created: dict[str, int] | None = None) -> dict[str, Any]:
    """OpenAI's list of models, and KServe v1's ("models": the names), which share GET /v1/models."""
    created = created or {}
    return {
        "object": "list",
        "data": [model_object(name, created.get(name, 0)) for name in names],
        "models": list(names),
    }


def _model(value: object) -> str:
    # Required, as OpenAI requires it; any name is echoed on a single-model endpoint, since clients send their
    # default ("text-embedding-ada-002" in LangChain) and the endpoint has one model to answer with.
    if value is None:
        raise BadRequest("you must provide a model parameter", param="model")
    if not isinstance(value, str) or not value:
        raise BadRequest(f"model must be a non-empty string, not {json_type_name(value)}", param="model")
    return value


def _texts(value: object, tokenizer: Any) -> list[str]:
    """The texts to embed: a string, a list of strings, a list of token ids, or a list of lists of token ids."""
    if value is None:
        raise BadRequest(
            "you must provide an input parameter: a string, a list of strings or of token-id lists", param="input"
        )
    if isinstance(value, str):
        return [_text(value, "input")]
    if not isinstance(value, list):
        raise BadRequest(
            f"input must be a string, a list of strings, a list of token ids or a list of token-id "
            f"lists, not {json_type_name(value)}",
            param="input",
        )
    if not value:
        raise BadRequest("input must not be an empty list", param="input")
    if len(value) > MAX_INPUTS:
        raise BadRequest(
            f"input holds {len(value):,} items, over the {MAX_INPUTS:,} one request may hold (as at "
            "OpenAI): send the others in requests of their own",
            param="input",
        )
    if all(token_ids.is_id(item) for item in value):
        return [_decoded(value, "input", tokenizer)]
    if all(isinstance(item, list) for item in value):
        return [_decoded(item, f"input[{index}]", tokenizer) for index, item in enumerate(value)]
    return [_text(item, f"input[{index}]") for index, item in enumerate(value)]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(
            f"{where} must be a string, not {json_type_name(value)}: input is a list of strings or "
            "of token-id lists, not a mixture",
            param="input",
        )
    if not value.strip():
        raise BadRequest(f"{where} must not be empty", param="input")
    return value


def _decoded(ids: list[Any], where: str, tokenizer: Any) -> str:
    """Token ids as text (protocols/token_ids.py): this model's tokenizer's, not tiktoken's, which OpenAI's are."""
    if tokenizer is None:
        raise BadRequest(
            "token ids need the model's tokenizer, and this model (a user's model_fn) has none: send strings",
            param="input",
        )
    if not ids:
        raise BadRequest(f"{where} must not be an empty list of token ids", param="input")
    return token_ids.text_of(
        ids,
        where,
        tokenizer,
        param="input",
        hint=": token ids must be this model's tokenizer's, not tiktoken's (with LangChain's "
        "OpenAIEmbeddings, set check_embedding_ctx_length=False to send the texts)",
    )


def _encoding(value: object) -> str:
    if value is None:
        return "float"  # OpenAI's default on the wire; its SDK sends "base64" unless told otherwise
    if value not in ENCODINGS:
        raise BadRequest(f"encoding_format must be 'float' or 'base64', not {value!r}", param="encoding_format")
    return str(value)


def _dimensions(value: object, served: Served) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest(f"dimensions must be a positive integer, not {value!r}", param="dimensions")
    width = _width(served)
    if width is not None and value > width:
        raise BadRequest(
            f"dimensions must be at most {width}, this model's embedding size; {value} asked", param="dimensions"
        )
    return value


def _width(served: Served) -> int | None:
    """The model's full embedding size (before its own truncate_dim), which `dimensions` may not exceed; checked
    here so that the 400 names its param (the model pass would refuse it too, without)."""
    embedder = getattr(served.model, "embedder", None)
    return getattr(embedder, "dimension", None)


def _vectors(answer: Any, count: int) -> list[list[float]]:
    """The model's answer, one vector per input; anything else is the model's fault (a user's predict_fn)."""
    if (
        not isinstance(answer, list)
        or len(answer) != count
        or not all(isinstance(vector, list) and vector for vector in answer)
    ):
        raise ServingError(
            f"the model did not answer one vector per input ({count} asked): /v1/embeddings needs "
            "a list of lists of numbers from the served model"
        )
    return answer


def _cut(vectors: list[list[float]], dimensions: int) -> list[list[float]]:
    """The first `dimensions` numbers of each vector, re-normalised (a user's model's vectors, cut here)."""
    array = np.asarray(vectors, dtype=np.float32)[:, :dimensions]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.where(norms > 0, norms, 1)).tolist()


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":  # little-endian float32, as OpenAI's SDKs decode it (numpy.frombuffer, "float32")
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector
