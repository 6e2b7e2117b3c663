"""Every route the container answers, one row each: its path, its methods, who answers it, its protocol (whose
error shape it answers in), its adapter, its metrics label and kind, and where a multi-model endpoint finds its model.

The launcher renders nginx's locations for the protocol routes from these rows (launcher/route_locations.py), and the
metrics' route labels for every row; nginx tells the worker which route a request came by (X-Serving-Route), and the
worker answers it with the row's adapter (serving/protocol_calls.py). The container's own routes (/ping,
/invocations, /models, /docs...) keep their hand-written locations in docker/nginx.conf (`rendered=False`): their
rows give their metrics labels and the list /docs and docs/reference/routes.md are checked against.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from hf_serving.error_catalogue import Protocol


class Answerer(enum.Enum):
    WORKER = "worker"  # through admission control to the model's workers, shaped by the row's adapter
    EDGE = "edge"  # nginx alone (readiness, the server's metadata): microseconds, whatever the workers do
    TEMPLATE = "template"  # the container's own routes: hand-written locations in docker/nginx.conf


class Kind(enum.Enum):
    """What a route is for, in /metrics (the `kind` label): dashboards and alerts select on it, not on paths, so a new
    route is on them without an edit."""

    INFERENCE = "inference"  # the model computes an answer
    METADATA = "metadata"  # what the model is (names, shapes, the tokenizer's work)
    HEALTH = "health"
    MANAGEMENT = "management"  # loading and unloading models
    OBSERVABILITY = "observability"
    DOCS = "docs"


class ModelFrom(enum.Enum):
    """Where a multi-model endpoint's request names its model."""

    NONE = "none"  # the route is a single-model endpoint's only (TEI serves one model)
    PATH = "path"  # the path's {name}
    BODY = "body"  # the JSON body's "model" (OpenAI)
    ALL = "all"  # the route is about every model (a list)


@dataclass(frozen=True)
class Route:
    path: str  # a template: {name} is one path segment
    methods: tuple[str, ...]
    name: str  # what nginx tells the worker (X-Serving-Route), and the adapter's key
    protocol: Protocol
    kind: Kind
    answerer: Answerer = Answerer.WORKER
    exchange: str = ""  # the adapter, "module:Class" under hf_serving.protocols (imported by the worker only)
    model_from: ModelFrom = ModelFrom.NONE
    summary: str = ""

    @property
    def label(self) -> str:
        """The metrics' route label: the template, so that every model name is one series."""
        return self.path

    @property
    def rendered(self) -> bool:
        return self.answerer is not Answerer.TEMPLATE

    def pattern(self) -> re.Pattern[str]:
        """The path as a regular expression over the decoded path nginx routed by; names as groups."""
        return _pattern(self.path)

    def path_params(self, path: str) -> dict[str, str] | None:
        found = self.pattern().match(path)
        return None if found is None else found.groupdict()


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    """Built once per template: a worker matches a protocol request's path against it on the request path."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+?)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


_S, _O, _T, _K = Protocol.SAGEMAKER, Protocol.OPENAI, Protocol.TEI, Protocol.KSERVE
_GET, _POST = ("GET", "HEAD"), ("POST",)

ROUTES: tuple[Route, ...] = (
    # The container's own (docker/nginx.conf).
    Route("/ping", _GET, "ping", _S, Kind.HEALTH, Answerer.TEMPLATE, summary="SageMaker's health check"),
    Route(
        "/invocations",
        _POST,
        "invocations",
        _S,
        Kind.INFERENCE,
        Answerer.TEMPLATE,
        summary="the served model's own request (POST /predict is the same route)",
    ),
    Route(
        "/execution-parameters",
        _GET,
        "execution-parameters",
        _S,
        Kind.METADATA,
        Answerer.TEMPLATE,
        summary="Batch Transform's parameters",
    ),
    Route("/metrics", _GET, "metrics", _S, Kind.OBSERVABILITY, Answerer.TEMPLATE, summary="Prometheus' text format"),
    Route("/docs", _GET, "docs", _S, Kind.DOCS, Answerer.TEMPLATE, summary="Swagger UI (and its files under /docs/)"),
    Route(
        "/openapi",
        _GET,
        "openapi",
        _S,
        Kind.DOCS,
        Answerer.TEMPLATE,
        summary="the OpenAPI description (/openapi.json, /openapi.yaml)",
    ),
    Route(
        "/models",
        ("GET", "POST"),
        "models",
        _S,
        Kind.MANAGEMENT,
        Answerer.TEMPLATE,
        summary="multi-model: list and load",
    ),
    Route(
        "/models/{name}",
        ("GET", "DELETE"),
        "model",
        _S,
        Kind.MANAGEMENT,
        Answerer.TEMPLATE,
        summary="multi-model: describe and unload",
    ),
    Route(
        "/models/{name}/invoke",
        _POST,
        "model-invoke",
        _S,
        Kind.INFERENCE,
        Answerer.TEMPLATE,
        model_from=ModelFrom.PATH,
        summary="multi-model: one model's invocations",
    ),
    # OpenAI's embeddings API.
    Route(
        "/v1/embeddings",
        _POST,
        "openai.embeddings",
        _O,
        Kind.INFERENCE,
        exchange="openai:Embeddings",
        model_from=ModelFrom.BODY,
        summary="OpenAI's embeddings",
    ),
    Route(
        "/v1/models",
        _GET,
        "openai.models",
        _O,
        Kind.METADATA,
        exchange="openai:Models",
        model_from=ModelFrom.ALL,
        summary="OpenAI's model list (KServe v1's too)",
    ),
    Route(
        "/v1/models/{name}",
        _GET,
        "openai.model",
        _O,
        Kind.METADATA,
        exchange="openai:Model",
        model_from=ModelFrom.PATH,
        summary="OpenAI's model; KServe v1's readiness",
    ),
    # KServe v1.
    Route(
        "/v1/models/{name}:predict",
        _POST,
        "kserve.v1.predict",
        _K,
        Kind.INFERENCE,
        exchange="kserve:V1Predict",
        model_from=ModelFrom.PATH,
        summary="KServe v1: instances in, predictions out",
    ),
    # KServe's Open Inference Protocol (v2).
    Route("/v2/health/live", _GET, "kserve.v2.live", _K, Kind.HEALTH, Answerer.EDGE, summary="v2 liveness"),
    Route("/v2/health/ready", _GET, "kserve.v2.ready", _K, Kind.HEALTH, Answerer.EDGE, summary="v2 readiness"),
    Route("/v2", _GET, "kserve.v2.server", _K, Kind.METADATA, Answerer.EDGE, summary="v2 server metadata"),
    Route(
        "/v2/models/{name}",
        _GET,
        "kserve.v2.metadata",
        _K,
        Kind.METADATA,
        exchange="kserve:V2Metadata",
        model_from=ModelFrom.PATH,
        summary="v2 model metadata: its input and output tensors",
    ),
    Route(
        "/v2/models/{name}/ready",
        _GET,
        "kserve.v2.model_ready",
        _K,
        Kind.HEALTH,
        Answerer.EDGE,
        model_from=ModelFrom.PATH,
        summary="v2 model readiness",
    ),
    Route(
        "/v2/models/{name}/infer",
        _POST,
        "kserve.v2.infer",
        _K,
        Kind.INFERENCE,
        exchange="kserve:V2Infer",
        model_from=ModelFrom.PATH,
        summary="v2 inference: BYTES tensors in, typed tensors out",
    ),
    # text-embeddings-inference's routes (one model: a single-model endpoint's).
    Route("/embed", _POST, "tei.embed", _T, Kind.INFERENCE, exchange="tei:Embed", summary="TEI: pooled embeddings"),
    Route(
        "/embed_all",
        _POST,
        "tei.embed_all",
        _T,
        Kind.INFERENCE,
        exchange="tei:EmbedAll",
        summary="TEI: every token's embedding",
    ),
    Route("/rerank", _POST, "tei.rerank", _T, Kind.INFERENCE, exchange="tei:Rerank", summary="TEI: rerank texts"),
    Route(
        "/similarity",
        _POST,
        "tei.similarity",
        _T,
        Kind.INFERENCE,
        exchange="tei:Similarity",
        summary="TEI: sentence similarity",
    ),
    Route(
        "/tokenize",
        _POST,
        "tei.tokenize",
        _T,
        Kind.METADATA,
        exchange="tei:Tokenize",
        summary="TEI: the tokenizer's tokens",
    ),
    Route("/decode", _POST, "tei.decode", _T, Kind.METADATA, exchange="tei:Decode", summary="TEI: ids to text"),
    Route("/info", _GET, "tei.info", _T, Kind.METADATA, exchange="tei:Info", summary="TEI: the model's facts"),
    # huggingface_hub's InferenceClient(model=URL + "/hf-inference"): /invocations' bodies, the Inference API's answer
    # shapes where the pipeline's differ (text and zero-shot classification); errors in its {"error"} shape, TEI's.
    Route(
        "/hf-inference",
        _POST,
        "hf.inference",
        _T,
        Kind.INFERENCE,
        exchange="hf_inference:InferenceApi",
        summary="the Hugging Face Inference API's answer shapes, for huggingface_hub's InferenceClient",
    ),
)

BY_NAME = {route.name: route for route in ROUTES}


def rendered_routes() -> tuple[Route, ...]:
    return tuple(route for route in ROUTES if route.rendered)
