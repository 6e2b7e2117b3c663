"""text-embeddings-inference's routes (TEI's own OpenAPI description, docs/openapi.json in its repository): its
bodies and answers over the served model's own requests.

    POST /embed       {"inputs": "t" | [ids] | ["t" or [ids], ...], "normalize", "truncate", "truncation_direction",
                       "prompt_name", "dimensions"}        -> [[floats], ...]       (sentence-embeddings)
    POST /embed_all   {"inputs", "truncate", "truncation_direction", "prompt_name"}
                                                           -> [[[floats], ...], ...] every token's vector
    POST /rerank      {"query", "texts", "truncate", "truncation_direction", "raw_scores", "return_text"}
                                                           -> [{"index", "score", "text"?}], best first (text-ranking)
    POST /similarity  {"inputs": {"source_sentence", "sentences"}, "parameters"?}  -> [floats]
    POST /tokenize    {"inputs", "add_special_tokens", "prompt_name"} -> [[{"id", "text", "special", "start", "stop"}]]
    POST /decode      {"ids": [int] | [[int]], "skip_special_tokens"} -> ["text", ...]
    GET  /info        the model's facts, in TEI's Info shape

As TEI does: fields a route does not read are ignored; a list of more than MAX_CLIENT_BATCH_SIZE inputs is a 413
(error_type Validation), an empty one a 400 (Empty); a route the served model cannot answer is a 424 (Backend).
Errors come in TEI's {"error", "error_type"} (error_catalogue.error_document).
"""

from __future__ import annotations

from typing import Any

import hf_serving
from hf_serving.error_catalogue import Protocol
from hf_serving.errors import BadRequest, EmptyInput, PayloadTooLarge, WrongModelType
from hf_serving.formats.media import json_type_name
from hf_serving.protocols import token_ids
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Native, Served, Usage
from hf_serving.tasks import text_batches
from hf_serving.tasks.reranking.requests import MAX_TEXTS
from hf_serving.tasks.sentence_embeddings.requests import TOKEN_EMBEDDINGS

# Inputs one request may hold (TEI's --max-client-batch-size, 32 by default). TEI's default guards an accelerator's
# memory on a server that batches by tokens; here a request is answered in slices of text (tasks/base.py SLICE_CHARS)
# and its answer is bounded by SERVE_MAX_RESPONSE_MB, so the cap only needs to keep one request from holding the
# workers for long. Indexing clients send hundreds of documents a call; 32 would only multiply their requests. The
# same number as /rerank's texts (reranking's MAX_TEXTS: what a retrieval stage hands a reranker), so that /info's
# one max_client_batch_size is true of every route.
MAX_CLIENT_BATCH_SIZE = MAX_TEXTS

EMBEDDINGS, RANKING = "sentence-embeddings", "text-ranking"


class TEIExchange(Exchange):
    protocol = Protocol.TEI

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        return Answer(document=answer)  # the served tasks answer TEI's shapes already


class Embed(TEIExchange):
    def to_native(self, call: Call, served: Served) -> Native | Direct:
        _require(served, EMBEDDINGS, "Model is not an embedding model")
        body = _object(call)
        texts = _texts(body, "inputs", served.tokenizer)
        # TEI normalises unless told not to; the model's own default (its Normalize module) would differ for a model
        # without one.
        parameters = _given(body, ("truncate", "truncation_direction", "prompt_name", "dimensions"))
        parameters["normalize"] = True if body.get("normalize") is None else body["normalize"]
        return Native({"inputs": texts, "parameters": parameters})


class EmbedAll(TEIExchange):
    """Every token's vector before pooling: the sentence-embeddings model's own token states (its output_value
    token_embeddings, as sentence-transformers' encode() names them), special tokens included."""

    def to_native(self, call: Call, served: Served) -> Native | Direct:
        _require(served, EMBEDDINGS, "Model is not an embedding model")
        body = _object(call)
        texts = _texts(body, "inputs", served.tokenizer)
        parameters = {
            **_given(body, ("truncate", "truncation_direction", "prompt_name")),
            "output_value": TOKEN_EMBEDDINGS,
        }
        return Native({"inputs": texts, "parameters": parameters})


class Rerank(TEIExchange):
    def to_native(self, call: Call, served: Served) -> Native | Direct:
        _require(served, RANKING, "model is not a re-ranker model")
        body = _object(call)
        texts = body.get("texts")
        if isinstance(texts, list):
            _bounded(len(texts), "`texts` cannot be empty")
        return Native(
            {
                name: body[name]
                for name in ("query", "texts", "truncate", "truncation_direction", "raw_scores", "return_text")
                if body.get(name) is not None
            }
        )


class Similarity(TEIExchange):
    def to_native(self, call: Call, served: Served) -> Native | Direct:
        _require(served, EMBEDDINGS, "Model is not an embedding model")
        body = _object(call)
        inputs = body.get("inputs")
        if inputs is None:
            raise BadRequest('inputs is missing: send {"inputs": {"source_sentence": "...", "sentences": ["..."]}}')
        if not isinstance(inputs, dict):
            # The served model reads any other inputs as texts to embed: it would answer vectors, not similarities.
            raise BadRequest(
                'inputs must be an object {"source_sentence": "...", "sentences": ["..."]}, not '
                f"{json_type_name(inputs)}"
            )
        sentences = inputs.get("sentences")
        if isinstance(sentences, list):
            if not sentences:
                raise EmptyInput("`inputs.sentences` cannot be empty")
            _bounded(len(sentences) + 1, "")  # TEI counts the source sentence too
        parameters = body.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise BadRequest(f"parameters must be an object, not {json_type_name(parameters)}")
        return Native(
            {
                # The fields TEI reads: any other is ignored, as TEI ignores it (the task's parser would refuse it).
                "inputs": {name: inputs[name] for name in ("source_sentence", "sentences") if name in inputs},
                "parameters": _given(parameters or {}, ("truncate", "truncation_direction", "prompt_name")),
            }
        )


class Tokenize(TEIExchange):
    """The tokenizer's tokens, as TEI lists them: a special token is its token string without offsets; any other is
    the slice of the text it came from, with start and stop in UTF-8 bytes (TEI's offsets are its Rust tokenizer's)."""

    def to_native(self, call: Call, served: Served) -> Native | Direct:
        tokenizer = _tokenizer(served)
        body = _object(call)
        inputs = body.get("inputs")
        if isinstance(inputs, str):
            texts = [inputs]
        elif isinstance(inputs, list) and all(isinstance(text, str) for text in inputs):
            _bounded(len(inputs), "`inputs` cannot be empty")
            texts = inputs
        else:
            raise BadRequest(f"inputs must be a string or a list of strings, not {_shown(inputs)}")
        add_special_tokens = _flag(body, "add_special_tokens", True)
        prompt = _prompt(served, body.get("prompt_name"))
        return Direct([_tokens(tokenizer, prompt + text, add_special_tokens) for text in texts])


class Decode(TEIExchange):
    def to_native(self, call: Call, served: Served) -> Native | Direct:
        tokenizer = _tokenizer(served)
        body = _object(call)
        ids = body.get("ids")
        if isinstance(ids, list) and ids and all(token_ids.is_id(value) for value in ids):
            rows = [ids]
        elif isinstance(ids, list) and all(
            isinstance(row, list) and all(token_ids.is_id(value) for value in row) for row in ids
        ):
            _bounded(len(ids), "`ids` cannot be empty")
            rows = ids
        else:
            raise BadRequest(f"ids must be a list of token ids or a list of such lists, not {_shown(ids)}")
        vocabulary = len(tokenizer)
        for row in rows:
            for value in row:
                if not 0 <= value < vocabulary:  # a negative id is no token either (the tokenizer overflows on it)
                    raise BadRequest(
                        f"ids holds {value}, not a token id of this model's tokenizer (0 to {vocabulary - 1})"
                    )
        skip = _flag(body, "skip_special_tokens", True)
        return Direct([tokenizer.decode(row, skip_special_tokens=skip) for row in rows])


class Info(TEIExchange):
    """TEI's Info: what the model is, and this endpoint's limits in TEI's terms (see docs/features/protocols.md)."""

    def to_native(self, call: Call, served: Served) -> Native | Direct:
        model = served.model
        engine = getattr(model, "engine", None)
        max_input_length = _max_input_length(served)
        return Direct(
            {
                "model_id": served.model_id,
                "model_sha": None,
                "model_dtype": getattr(engine, "dtype", None),
                "model_type": _model_type(served),
                "served_model_name": served.name,
                # Requests in the model server at once (admission control's slots); TEI answers 429 past its number,
                # this container queues them SERVE_QUEUE_TIMEOUT_S, then answers 503.
                "max_concurrent_requests": served.concurrent_requests,
                "max_input_length": max_input_length,
                # The most padded tokens one model pass holds (MAX_BATCH_TOKENS): its rows times its longest text.
                "max_batch_tokens": getattr(engine, "max_batch_tokens", None),
                "max_batch_requests": served.batch_size,  # requests a worker answers together (MODEL_SERVER_BATCH_SIZE)
                "max_client_batch_size": MAX_CLIENT_BATCH_SIZE,
                "auto_truncate": True,  # truncate defaults to true on every route
                "tokenization_workers": served.workers,  # each worker tokenises its own batches
                "version": hf_serving.__version__,
                "sha": None,
                "docker_label": None,
            }
        )


def _object(call: Call) -> dict:
    body = call.json_body()
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {json_type_name(body)}")
    return body


def _require(served: Served, task: str, message: str) -> None:
    """TEI's answer to a route its model does not serve: a 424 Backend error, with its message."""
    if served.task != task:
        raise WrongModelType(f"{message}: this endpoint serves {served.task or 'a model of its own code'}")


def _tokenizer(served: Served) -> Any:
    if served.tokenizer is None:
        raise WrongModelType("this endpoint's model (its own code's) has no tokenizer to use")
    return served.tokenizer


def _bounded(size: int, empty_message: str) -> None:
    if size == 0:
        raise EmptyInput(empty_message)
    if size > MAX_CLIENT_BATCH_SIZE:
        raise PayloadTooLarge(f"batch size {size} > maximum allowed batch size {MAX_CLIENT_BATCH_SIZE}")


def _texts(body: dict, name: str, tokenizer: Any) -> list[object]:
    """TEI's Input: a text, token ids, or a list of either. The texts themselves are checked by the served model's
    parser (it names the item at fault); token ids become their text."""
    inputs = body.get(name)
    if inputs is None:
        raise BadRequest(f"{name} is missing: send a text or a list of texts")
    if isinstance(inputs, list) and inputs and all(token_ids.is_id(value) for value in inputs):
        return [_decoded(inputs, name, tokenizer)]  # one input's token ids
    if isinstance(inputs, list):
        _bounded(len(inputs), f"`{name}` cannot be empty")
        return [
            _decoded(item, f"{name}[{index}]", tokenizer) if isinstance(item, list) else item
            for index, item in enumerate(inputs)
        ]
    return [inputs]


def _decoded(ids: list, where: str, tokenizer: Any) -> str:
    """Token ids (TEI's InputType [int]) as the text they stand for (protocols/token_ids.py)."""
    if not ids:
        raise EmptyInput(f"`{where}` cannot be empty")
    return token_ids.text_of(ids, where, tokenizer)


def _given(body: dict, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields the body gives, null ones left out: TEI's null is its default."""
    return {name: body[name] for name in names if body.get(name) is not None}


def _flag(body: dict, name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, not {json_type_name(value)}")
    return value


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list) and not value:
        return "an empty list"
    return json_type_name(value)


def _prompt(served: Served, name: object) -> str:
    """The text a prompt_name puts in front, as the embedder does (tokenize shows what /embed reads)."""
    if name is None:
        return ""
    layout = getattr(getattr(served.model, "embedder", None), "layout", None)
    prompts: dict[str, str] = getattr(layout, "prompts", None) or {}
    if not isinstance(name, str) or name not in prompts:
        known = ", ".join(sorted(prompts)) or "none"
        raise BadRequest(f"prompt_name {name!r} is not one of this model's prompts ({known})")
    return prompts[name]


def _tokens(tokenizer: Any, text: str, add_special_tokens: bool) -> list[dict[str, Any]]:
    encoding = tokenizer.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens)
    # The Python tokenizers give offsets in characters; TEI's are bytes of the UTF-8 text.
    byte_at = [0]
    for character in text:
        byte_at.append(byte_at[-1] + len(character.encode("utf-8")))
    tokens = []
    for token_id, token, (start, stop), special in zip(
        encoding.ids, encoding.tokens, encoding.offsets, encoding.special_tokens_mask, strict=True
    ):
        if special:
            tokens.append({"id": token_id, "text": token, "special": True, "start": None, "stop": None})
        else:
            tokens.append(
                {
                    "id": token_id,
                    "text": text[start:stop],
                    "special": False,
                    "start": byte_at[start],
                    "stop": byte_at[stop],
                }
            )
    return tokens


def _max_input_length(served: Served) -> int | None:
    """The most tokens of a text the model reads: the task's own limit where it has one (max_seq_length)."""
    model = served.model
    for owner in (getattr(model, "embedder", None), getattr(model, "scorer", None)):
        if isinstance(getattr(owner, "max_length", None), int):
            return owner.max_length  # type: ignore[union-attr]
    if served.tokenizer is None:
        return None
    return text_batches.max_length(served.tokenizer, getattr(model, "config", None))


def _model_type(served: Served) -> dict[str, Any]:
    """TEI's ModelType: an embedding model and its pooling, a reranker, or a classifier and their labels."""
    if served.task == EMBEDDINGS:
        modes = served.model.embedder.layout.pooling.modes
        return {"embedding": {"pooling": "+".join("last_token" if mode == "lasttoken" else mode for mode in modes)}}
    config = getattr(served.model, "config", None)
    id2label = {str(index): str(label) for index, label in (getattr(config, "id2label", None) or {}).items()}
    labels = {"id2label": id2label, "label2id": {label: int(index) for index, label in id2label.items()}}
    if served.task == RANKING:
        return {"reranker": labels}
    if served.task == "feature-extraction":
        return {"embedding": {"pooling": "none"}}  # every token's state: what /embed_all would give
    return {"classifier": labels}
