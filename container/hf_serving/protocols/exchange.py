"""What a protocol route's adapter is: the request of another protocol (OpenAI's, TEI's, KServe's) turned into the
container's own request for the served model, and the model's answer turned back into that protocol's answer.

The served models stay as they are: an adapter's `to_native` gives the JSON request /invocations would take, the
worker runs it through the same hooks (a user's input_fn, predict_fn and output_fn included), the same batching and
the same response cache, and `from_native` shapes the JSON the model answered. A route that needs no model pass
(TEI's /tokenize and /info, KServe's model metadata) answers with `Direct`. An adapter raises the container's own
errors (hf_serving/errors.py); the worker renders them in the route's protocol shape (error_catalogue.py).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hf_serving.error_catalogue import Protocol
from hf_serving.errors import BadRequest, UnsupportedMediaType
from hf_serving.formats.media import JSON


@dataclass(frozen=True)
class Call:
    """One request on a protocol route, as the worker got it."""

    route: str  # the route's name in the table (routes/table.py), e.g. "openai.embeddings"
    path_params: Mapping[str, str]  # the route template's names, e.g. {"name": "model"} for /v2/models/{name}/infer
    body: bytes
    content_type: str | None
    request_id: str
    # The request's headers nginx forwards (lower-case names): SageMaker's, and the protocols' own
    # (KServe v2's Inference-Header-Content-Length).
    headers: Mapping[str, str] = field(default_factory=dict)

    def json_body(self) -> Any:
        """The body as JSON: a 415 for another type, a 400 when it is not JSON."""
        media = (self.content_type or JSON).split(";")[0].strip().lower()
        if media not in (JSON, "text/json", "*/*", ""):
            raise UnsupportedMediaType(f"this route reads application/json, not {media}")
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None


@dataclass(frozen=True)
class Served:
    """What an adapter may know of the model behind the route."""

    name: str  # as clients call it: SERVE_MODEL_NAME on a single-model endpoint, its loaded name on a multi-model one
    task: str | None  # the task's value ("sentence-embeddings", ...); None for a model a user's model_fn returned
    model: Any  # the served model (a tasks.base.BatchedModel), or whatever a user's model_fn returned
    model_id: str  # where it came from, for /info and /v1/models (HF_MODEL_ID, else the directory)
    # How this endpoint serves it, for TEI's /info: the model's workers, the requests a worker answers together, and
    # admission control's slots (the requests the model server holds at once).
    workers: int = 1
    batch_size: int = 1
    concurrent_requests: int = 2

    @property
    def tokenizer(self) -> Any:
        """The served model's transformers tokenizer, or None (a user's model)."""
        return getattr(self.model, "tokenizer", None)


@dataclass(frozen=True)
class Native:
    """The container's own request for the served model (what /invocations takes), and what `from_native` needs."""

    payload: Any  # JSON-able: {"inputs": ..., "parameters": {...}}
    keep: Any = None  # the adapter's own: the parts of the request that shape the answer (encoding, echo)


@dataclass(frozen=True)
class Direct:
    """An answer made without a model pass."""

    document: Any  # JSON-able
    status: int = 200


@dataclass(frozen=True)
class Usage:
    """What the model pass cost, as the worker measured it."""

    tokens: int | None  # the tokens the model read for this request (None: a user's model did not say)


@dataclass(frozen=True)
class Answer:
    """A protocol's answer: its JSON document, or bytes already encoded, and its status and type."""

    document: Any = None
    body: bytes | None = None
    status: int = 200
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


class Exchange(ABC):
    """One route's adapter."""

    protocol: Protocol

    @abstractmethod
    def to_native(self, call: Call, served: Served) -> Native | Direct:
        """The served model's request for this call, or the answer itself when no model pass is needed."""

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        """The protocol's answer from the served model's decoded JSON answer."""
        raise NotImplementedError(f"{type(self).__name__} answers directly")
