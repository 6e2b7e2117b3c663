"""Every error this container answers, in one place: its code, its HTTP status and what it means; and the shape each
protocol gives an error body.

The Python errors (hf_serving/errors.py and the model management API) take their status from here, nginx's own
answers are rendered from here into its configuration (launcher/route_locations.py), and the OpenAPI description lists
the codes from here (api_docs/spec.py). A protocol route answers in its own protocol's shape, so that its clients show
the message: OpenAI's SDK reads {"error": {"message", "type", "param", "code"}}, TEI's clients {"error", "error_type"},
KServe's {"error"}. Every other route answers the container's own {"error": {"code", "message", "request_id"}}.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    meaning: str


def _codes(*codes: ErrorCode) -> dict[str, ErrorCode]:
    return {entry.code: entry for entry in codes}


CODES = _codes(
    ErrorCode(
        "bad_request",
        400,
        "Malformed JSON (also `NaN`/`Infinity`, numbers out of range, duplicate keys, lone "
        "surrogates, invalid UTF-8, nesting too deep), a missing, empty or non-string field "
        "(the message names it), a bad parameter, a question too long for `max_seq_len`; "
        "also a malformed HTTP request (a bad `Content-Length` or request line, a malformed "
        "chunked body).",
    ),
    ErrorCode("empty_input", 400, "A protocol route's empty list of inputs, texts or sentences (TEI's `Empty`)."),
    ErrorCode("unsupported_model", 400, "Multi-model: the model to load is not one this container can serve."),
    ErrorCode("requirements_failed", 400, "Multi-model: pip could not install the model's `code/requirements.txt`."),
    ErrorCode(
        "client_error", 400, "A user hook raised an error with a 4xx status of its own (the status is the hook's)."
    ),
    ErrorCode(
        "unauthorized",
        401,
        "`SERVE_API_KEY` is set and the request carries neither `X-Api-Key` nor `Authorization: Bearer` with it.",
    ),
    ErrorCode(
        "not_found",
        404,
        "No such route (or a route that is off: `SERVE_DOCS=off`, `SERVE_METRICS=off`; TEI's "
        "routes on a multi-model endpoint).",
    ),
    ErrorCode(
        "model_not_found",
        404,
        "The model named (in the path, or OpenAI's `model`) is not loaded, or is not "
        "this single-model endpoint's (`SERVE_MODEL_NAME`).",
    ),
    ErrorCode("model_files_not_found", 404, "Multi-model: the `url` to load is not a model directory."),
    ErrorCode("method_not_allowed", 405, "The route exists; the message says which method it takes."),
    ErrorCode("not_acceptable", 406, "An `Accept` this request cannot be answered in."),
    ErrorCode("request_timeout", 408, "The request's body did not arrive within `SERVE_REQUEST_READ_TIMEOUT_S`."),
    ErrorCode("model_already_loaded", 409, "Multi-model: a model of that name is loaded already."),
    ErrorCode("model_busy", 409, "Multi-model: the model is being loaded or unloaded."),
    ErrorCode("precondition_failed", 412, "A `/docs` file does not match `If-Match` or `If-Unmodified-Since`."),
    ErrorCode(
        "payload_too_large",
        413,
        "A body over `SAGEMAKER_MAX_PAYLOAD_IN_MB` (default 6 MB), refused by nginx "
        "before it is read; or a text or batch over a route's own limit (the message "
        "says which).",
    ),
    ErrorCode("response_too_large", 413, "The answer would be over `SERVE_MAX_RESPONSE_MB` (default 16 MB)."),
    ErrorCode("uri_too_long", 414, "A request line over nginx's header buffer."),
    ErrorCode(
        "unsupported_media_type", 415, "A `Content-Type` the route does not read, or a charset other than UTF-8."
    ),
    ErrorCode(
        "unprocessable",
        422,
        "The model cannot do what a protocol route asks (say, KServe's tensors of a "
        "user's own model; TEI's routes answer `wrong_model_type`, as TEI does).",
    ),
    ErrorCode(
        "wrong_model_type",
        424,
        "TEI's routes: the served model does not do what the route asks (`/rerank` on "
        "a model that is not a reranker, `/embed` on one that is not an embedding "
        "model), TEI's status.",
    ),
    ErrorCode("rate_limited", 429, "`SERVE_RATE_LIMIT_RPS` is set and this client is over it."),
    ErrorCode(
        "too_many_connections",
        429,
        "This client address already has `SERVE_MAX_CONNECTIONS_PER_ADDRESS` "
        "requests open (default 512; `/ping` is never counted).",
    ),
    ErrorCode("request_header_fields_too_large", 431, "The request headers are too large."),
    ErrorCode(
        "internal_error",
        500,
        "An unexpected failure: a generic message; the details are in the server log under the request id.",
    ),
    ErrorCode("model_load_failed", 500, "Multi-model: the model could not be loaded; the log has the cause."),
    ErrorCode("not_implemented", 501, "A `Transfer-Encoding` other than `chunked`."),
    ErrorCode(
        "not_ready",
        503,
        "The model is loading, no worker can take the request now, or the container is "
        "stopping: retry (`Retry-After`).",
    ),
    ErrorCode(
        "overloaded",
        503,
        "Every admission slot is taken and the request could not start within "
        "`SERVE_QUEUE_TIMEOUT_S` (default 5 s); refused at once when its predicted wait is "
        "over that bound (`Retry-After`: the queue's estimate).",
    ),
    ErrorCode(
        "timeout", 504, "No answer within the invocation timeout (`SAGEMAKER_MODEL_SERVER_TIMEOUT`, default 60 s)."
    ),
    ErrorCode("load_timeout", 504, "Multi-model: the model was not loaded within 360 s."),
    ErrorCode("http_version_not_supported", 505, "A request line with an HTTP version other than 1.0 or 1.1."),
    ErrorCode("insufficient_memory", 507, "Multi-model: no memory for one more model."),
)


def markdown_table() -> str:
    """The codes as the OpenAPI description lists them (api_docs/spec.py writes it into the served description)."""
    rows = [
        f"| {entry.status} | `{entry.code}` | {entry.meaning} |"
        for entry in sorted(CODES.values(), key=lambda entry: (entry.status, entry.code))
    ]
    return "\n".join(["| status | code | when |", "|---|---|---|", *rows])


def status_of(code: str) -> int:
    return CODES[code].status


class Protocol(enum.Enum):
    """Whose error shape a route answers in."""

    SAGEMAKER = "sagemaker"  # the container's own, on /invocations and every route that is not a protocol's
    OPENAI = "openai"
    TEI = "tei"
    KSERVE = "kserve"  # v1 and v2 (the Open Inference Protocol) share it


# OpenAI's error types by status (its SDK maps statuses to exception classes; the type is for people reading).
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

# TEI's error_type (router/src/lib.rs's ErrorType, serialised by its variant's name), by code where one code says it,
# else by status. Its router maps the types to statuses once (router/src/http/server.rs, From<&ErrorType>): Empty
# 400, Validation 413 (422 since TEI's #818, February 2026), Tokenizer 422, Backend 424, Overloaded 429, Unhealthy
# 503. TEI has one 400 only, Empty: this container's other 400s (a field of the wrong type, say; TEI's JSON reader
# answers those 422 without a type) are Validation. Unauthorized and NotFound are this container's, for its own
# statuses.
_TEI_TYPES_BY_CODE = {
    "empty_input": "Empty",
    "wrong_model_type": "Backend",
    "overloaded": "Overloaded",
    "rate_limited": "Overloaded",
    "too_many_connections": "Overloaded",
    "not_ready": "Unhealthy",
}
_TEI_TYPES = {
    400: "Validation",
    401: "Unauthorized",
    404: "NotFound",
    405: "Validation",
    408: "Validation",
    413: "Validation",
    415: "Validation",
    422: "Validation",
    424: "Backend",
    429: "Overloaded",
    503: "Unhealthy",
}


def error_document(
    protocol: Protocol,
    code: str,
    message: str,
    request_id: str | None,
    param: str | None = None,
    status: int | None = None,
) -> dict:
    """The error body's JSON document in the protocol's shape."""
    status = status if status is not None else CODES[code].status if code in CODES else 500
    if protocol is Protocol.OPENAI:
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": param, "code": code, "request_id": request_id}}
    if protocol is Protocol.TEI:
        kind = _TEI_TYPES_BY_CODE.get(code) or _TEI_TYPES.get(status, "Backend" if status >= 500 else "Validation")
        return {"error": message, "error_type": kind, "code": code, "request_id": request_id}
    if protocol is Protocol.KSERVE:
        return {"error": message, "code": code, "request_id": request_id}
    return {"error": {"code": code, "message": message, "request_id": request_id}}


def error_json(
    protocol: Protocol,
    code: str,
    message: str,
    request_id: str | None,
    param: str | None = None,
    status: int | None = None,
) -> bytes:
    # "replace": a message quoting a lone surrogate (say, from a user hook) must not turn an error into a crash.
    return json.dumps(
        error_document(protocol, code, message, request_id, param, status), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8", "replace")


REQUEST_ID_MARK = "\x00request-id\x00"


def nginx_return(
    protocol: Protocol, code: str, message: str, request_id_variable: str = "$request_id", status: int | None = None
) -> str:
    """nginx's `return STATUS 'BODY';` for an error it answers itself, the request id filled by nginx. The message may
    name nginx variables of its own ($uri); it must hold no quote or backslash (nginx's string, then JSON)."""
    if any(ch in message for ch in "'\\\""):
        raise ValueError(f"an nginx error message holds no quotes or backslashes: {message!r}")
    status = status if status is not None else CODES[code].status
    body = json.dumps(
        error_document(protocol, code, message, REQUEST_ID_MARK, status=status),
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return f"return {status} '{body.replace(json.dumps(REQUEST_ID_MARK), chr(34) + request_id_variable + chr(34))}';"
