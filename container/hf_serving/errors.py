"""One exception hierarchy with a status and a stable code, and one function that renders any error.

The task code raises these without knowing about HTTP transport; `error_body` is the only place that
turns an exception into the JSON clients see. Unknown exceptions become a generic 500: their text and
traceback go to the server log only, never into a response.

Every error body has one shape, the same one nginx uses for the errors it answers itself
(docker/nginx.conf): {"error": {"code": ..., "message": ..., "request_id": ...}}.
"""

from __future__ import annotations

from sagemaker_inference.errors import BaseInferenceToolkitError

from hf_serving.error_catalogue import CODES, Protocol, error_json


class ConfigurationError(Exception):
    """A setting or the model directory is unusable; raised at start, never per request."""


class ServingError(BaseInferenceToolkitError):
    """An error a client should see, with its HTTP status and a stable machine-readable code.

    It extends sagemaker-inference's BaseInferenceToolkitError so that user hooks written for AWS's
    containers, which raise that class, keep their status here too.
    """

    code = "internal_error"
    status = CODES[code].status

    def __init_subclass__(cls, **kwargs: object) -> None:
        # The status is the catalogue's for the class's code (error_catalogue.py): one place says what a code means.
        super().__init_subclass__(**kwargs)
        cls.status = CODES[cls.code].status

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(self.status, message, message)
        self.param = param  # the request field at fault, where the protocol reports one (OpenAI's "param")


class BadRequest(ServingError):
    code = "bad_request"


class EmptyInput(BadRequest):
    """Nothing to answer: an empty list of inputs, texts or sentences (text-embeddings-inference's error_type Empty,
    which its clients tell from other validation errors)."""

    code = "empty_input"


class WrongModelType(ServingError):
    """A protocol route asks the served model for what it does not do: TEI's /rerank on an embedding model, /embed on
    a reranker. TEI answers 424 (its backend cannot), and so do its routes here."""

    code = "wrong_model_type"


class ModelNotFound(ServingError):
    """A route names a model this endpoint does not serve (OpenAI's /v1/models/{id}, KServe's paths)."""

    code = "model_not_found"


class Unprocessable(ServingError):
    """A protocol route asks the served model for what it does not do (KServe's tensors of a user's own model)."""

    code = "unprocessable"


class NotAcceptable(ServingError):
    code = "not_acceptable"


class PayloadTooLarge(ServingError):
    code = "payload_too_large"


class ResponseTooLarge(ServingError):
    """The answer is over SERVE_MAX_RESPONSE_MB: refused whole, since a truncated answer would be a wrong one."""

    code = "response_too_large"

    @classmethod
    def over(cls, what: str, limit_bytes: int) -> ResponseTooLarge:
        return cls(
            f"{what}, over the {limit_bytes // (1024 * 1024)} MB answer limit (SERVE_MAX_RESPONSE_MB): send "
            "fewer records or texts per request"
        )


class UnsupportedMediaType(ServingError):
    code = "unsupported_media_type"


# The Content-Type of every error this project's handler answers. nginx tells the handler's 500s from
# multi-model-server's own (a worker died while answering: retryable, so a 503) by this exact value.
ERROR_CONTENT_TYPE = "application/json; charset=utf-8"

INTERNAL_ERROR_MESSAGE = "internal server error; the server log has the details under this request_id"

_CODES_BY_STATUS = {
    cls.status: cls.code for cls in (BadRequest, NotAcceptable, PayloadTooLarge, UnsupportedMediaType, ServingError)
}


def status_and_message(exc: BaseException) -> tuple[int, str, str]:
    """(status, code, message) for any exception; only ServingError-like ones show their message."""
    if isinstance(exc, ServingError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, BaseInferenceToolkitError):
        status = int(exc.status_code)
        if 400 <= status < 500:
            return status, _CODES_BY_STATUS.get(status, "client_error"), str(exc.message)
    return 500, "internal_error", INTERNAL_ERROR_MESSAGE


def error_body(
    status_code: str,
    message: str,
    request_id: str | None,
    protocol: Protocol = Protocol.SAGEMAKER,
    param: str | None = None,
    status: int | None = None,
) -> bytes:
    """The error's JSON body, in the container's own shape or a protocol route's (error_catalogue.py)."""
    return error_json(protocol, status_code, message, request_id, param, status)
