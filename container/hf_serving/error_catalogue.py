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
    ErrorCode("bad_request", 400, "The request cannot be answered as sent; the message names the field."),
    ErrorCode("empty_input", 400, "Nothing to answer: an empty list of inputs, texts or sentences (a protocol route)."),
    ErrorCode("unsupported_model", 400, "A model to load is not one this container can serve (multi-model)."),
    ErrorCode("requirements_failed", 400, "pip could not install a model's code/requirements.txt (multi-model)."),
    ErrorCode("client_error", 400, "A user hook's error with a 4xx status of its own (the status is the hook's)."),
    ErrorCode("unauthorized", 401, "SERVE_API_KEY is set and the request did not carry it."),
    ErrorCode("not_found", 404, "No such route, or a route that is off."),
    ErrorCode("model_not_found", 404, "The model named is not loaded, or is not this endpoint's model."),
    ErrorCode("model_files_not_found", 404, "A model to load is not a model directory in this container."),
    ErrorCode("method_not_allowed", 405, "The route exists; the message says which methods it takes."),
    ErrorCode("not_acceptable", 406, "The Accept header asks for a type this route cannot write."),
    ErrorCode("request_timeout", 408, "The request's headers or body did not arrive in time."),
    ErrorCode("model_already_loaded", 409, "A model of that name is loaded already (multi-model)."),
    ErrorCode("model_busy", 409, "The model is being loaded or unloaded (multi-model)."),
    ErrorCode("precondition_failed", 412, "A /docs file does not match If-Match or If-Unmodified-Since."),
    ErrorCode("payload_too_large", 413, "The body, or a text or batch in it, is over a limit; the message says which."),
    ErrorCode("response_too_large", 413, "The answer would be over SERVE_MAX_RESPONSE_MB."),
    ErrorCode("uri_too_long", 414, "The request line is too long."),
    ErrorCode("unsupported_media_type", 415, "The Content-Type is not one the route reads."),
    ErrorCode("unprocessable", 422, "The model cannot answer this request (a protocol route: the model does not "
                                    "do what the route asks, or a text cannot be tokenized)."),
    ErrorCode("wrong_model_type", 424, "A protocol route asks the served model for what it does not do (TEI's "
                                       "/rerank on an embedding model, /embed on a reranker)."),
    ErrorCode("rate_limited", 429, "Over SERVE_RATE_LIMIT_RPS from this client."),
    ErrorCode("too_many_connections", 429, "Over SERVE_MAX_CONNECTIONS_PER_ADDRESS requests open from this address."),
    ErrorCode("request_header_fields_too_large", 431, "The request headers are too large."),
    ErrorCode("internal_error", 500, "A fault inside the container; the log has it under the request id."),
    ErrorCode("model_load_failed", 500, "A model could not be loaded (multi-model); the log has the cause."),
    ErrorCode("not_implemented", 501, "An unsupported Transfer-Encoding."),
    ErrorCode("not_ready", 503, "The model is not ready, or no worker can take the request now: retry (Retry-After)."),
    ErrorCode("overloaded", 503, "Admission control: the request could not start within SERVE_QUEUE_TIMEOUT_S "
                                 "(Retry-After)."),
    ErrorCode("timeout", 504, "The model did not answer within the invocation timeout."),
    ErrorCode("load_timeout", 504, "A model was not loaded in time (multi-model)."),
    ErrorCode("http_version_not_supported", 505, "Not HTTP/1.0 or HTTP/1.1."),
    ErrorCode("insufficient_memory", 507, "No memory for one more model (multi-model)."),
)


def status_of(code: str) -> int:
    return CODES[code].status


class Protocol(enum.Enum):
    """Whose error shape a route answers in."""

    SAGEMAKER = "sagemaker"  # the container's own, on /invocations and every route that is not a protocol's
    OPENAI = "openai"
    TEI = "tei"
    KSERVE = "kserve"  # v1 and v2 (the Open Inference Protocol) share it


# OpenAI's error types by status (its SDK maps statuses to exception classes; the type is for people reading).
_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
                 413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
                 429: "rate_limit_error"}

# TEI's error_type (router/src/lib.rs's ErrorType, serialised by its variant's name), by code where one code says it,
# else by status. Its router maps the types to statuses once (router/src/http/server.rs, From<&ErrorType>): Empty
# 400, Validation 413 (422 since TEI's #818, February 2026), Tokenizer 422, Backend 424, Overloaded 429, Unhealthy
# 503. TEI has one 400 only, Empty: this container's other 400s (a field of the wrong type, say; TEI's JSON reader
# answers those 422 without a type) are Validation. Unauthorized and NotFound are this container's, for its own
# statuses.
_TEI_TYPES_BY_CODE = {"empty_input": "Empty", "wrong_model_type": "Backend", "overloaded": "Overloaded",
                      "rate_limited": "Overloaded", "too_many_connections": "Overloaded", "not_ready": "Unhealthy"}
_TEI_TYPES = {400: "Validation", 401: "Unauthorized", 404: "NotFound", 405: "Validation", 408: "Validation",
              413: "Validation", 415: "Validation", 422: "Validation", 424: "Backend", 429: "Overloaded",
              503: "Unhealthy"}


def error_document(protocol: Protocol, code: str, message: str, request_id: str | None,
                   param: str | None = None, status: int | None = None) -> dict:
    """The error body's JSON document in the protocol's shape."""
    status = status if status is not None else CODES[code].status if code in CODES else 500
    if protocol is Protocol.OPENAI:
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": param, "code": code,
                          "request_id": request_id}}
    if protocol is Protocol.TEI:
        kind = _TEI_TYPES_BY_CODE.get(code) or _TEI_TYPES.get(status, "Backend" if status >= 500 else "Validation")
        return {"error": message, "error_type": kind, "code": code, "request_id": request_id}
    if protocol is Protocol.KSERVE:
        return {"error": message, "code": code, "request_id": request_id}
    return {"error": {"code": code, "message": message, "request_id": request_id}}


def error_json(protocol: Protocol, code: str, message: str, request_id: str | None, param: str | None = None,
               status: int | None = None) -> bytes:
    # "replace": a message quoting a lone surrogate (say, from a user hook) must not turn an error into a crash.
    return json.dumps(error_document(protocol, code, message, request_id, param, status), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8", "replace")


REQUEST_ID_MARK = "\x00request-id\x00"


def nginx_return(protocol: Protocol, code: str, message: str, request_id_variable: str = "$request_id",
                 status: int | None = None) -> str:
    """nginx's `return STATUS 'BODY';` for an error it answers itself, the request id filled by nginx. The message may
    name nginx variables of its own ($uri); it must hold no quote or backslash (nginx's string, then JSON)."""
    if any(ch in message for ch in "'\\\""):
        raise ValueError(f"an nginx error message holds no quotes or backslashes: {message!r}")
    status = status if status is not None else CODES[code].status
    body = json.dumps(error_document(protocol, code, message, REQUEST_ID_MARK, status=status),
                      ensure_ascii=True, separators=(",", ":"))
    return f"return {status} '{body.replace(json.dumps(REQUEST_ID_MARK), chr(34) + request_id_variable + chr(34))}';"
