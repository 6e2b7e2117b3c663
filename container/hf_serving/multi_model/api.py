"""SageMaker's model management API for multi-model endpoints, served on loopback behind nginx's /models.

  POST   /models              {"model_name", "url"}: 200 once loaded and warmed; 409 if loaded; 507 if it would not
                              fit the memory budget; 4xx/5xx naming the cause when it cannot load
  GET    /models              ?next_page_token=&limit=: {"models": [{"modelName", "modelUrl"}], "nextPageToken"}
  GET    /models/{name}       the model, or 404
  DELETE /models/{name}       200 once its processes are gone, or 404
  GET    /v1/models           OpenAI's list of the ready models, with KServe v1's "models" (their names) beside it

Every error has the container's shape ({"error": {"code", "message", "request_id"}}), OpenAI's on /v1/models; the
request id is the one nginx gave the request. Each request runs on its own thread: a load takes seconds and must not
hold up a listing or another model's load.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from hf_serving.error_catalogue import Protocol, error_json, status_of
from hf_serving.errors import ERROR_CONTENT_TYPE, BadRequest, error_body
from hf_serving.formats import media
from hf_serving.loopback import LoopbackServer
from hf_serving.multi_model.lifecycle import Lifecycle, Refused, describe
from hf_serving.multi_model.registry import READY
from hf_serving.protocols.openai import model_list

log = logging.getLogger("hf_serving.models")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_BODY_BYTES = 64 * 1024


class ModelsApi(LoopbackServer):
    def __init__(self, lifecycle: Lifecycle, port: int) -> None:
        self.lifecycle = lifecycle
        super().__init__(port, type("Handler", (_Handler,), {"api": self}), "models-api")

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        parts = [_model_name(part) for part in path.split("/")[1:]]
        if parts == ["models"]:
            if method == "GET":
                return 200, self._list(query)
            if method == "POST":
                fields = _fields(query, body)
                loaded = self.lifecycle.load(fields.get("model_name"), fields.get("url"))
                return 200, describe(loaded)
            raise Refused("method_not_allowed", "use GET or POST for /models")
        if len(parts) == 2 and parts[0] == "models" and parts[1]:
            name = parts[1]
            if method == "GET":
                record = self.lifecycle.registry.get(name)
                if record is None:
                    raise Refused("model_not_found", f"model {name!r} is not loaded")
                return 200, describe(record)
            if method == "DELETE":
                self.lifecycle.unload(name)
                return 200, {"status": f"model {name!r} unloaded"}
            raise Refused("method_not_allowed", "use GET or DELETE for /models/{name}")
        if parts == ["v1", "models"]:
            if method == "GET":
                return 200, self._openai_list()
            raise Refused("method_not_allowed", "use GET for /v1/models")
        raise Refused("not_found", "no such route")

    def _openai_list(self) -> dict[str, Any]:
        """The models a request can use now (a model still loading or unloading is not one), in OpenAI's list."""
        ready = [record for record in self.lifecycle.registry.all() if record.state == READY]
        return model_list([record.name for record in ready], {record.name: record.ready_at for record in ready})

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = _integer(query, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        start = _integer(query, "next_page_token", 0, 0, None)
        records = self.lifecycle.registry.all()
        page = records[start : start + limit]
        following = start + limit
        return {
            "models": [{"modelName": r.name, "modelUrl": r.shown_url} for r in page],
            "nextPageToken": str(following) if following < len(records) else None,
        }


def _error(path: str, code: str, message: str, request_id: str | None) -> bytes:
    """The error body in the route's protocol's shape: OpenAI's on its /v1/models, so that its SDK shows it."""
    if path.startswith("/v1/"):
        return error_json(Protocol.OPENAI, code, message, request_id)
    return error_body(code, message, request_id)


def _model_name(part: str) -> str:
    """A path segment decoded once, as nginx decoded it before escaping it whole for this API (docker/nginx.conf):
    '+' is a plus. Bytes that are not UTF-8 name no model (a loaded name is text), so they are refused, not replaced."""
    try:
        return urllib.parse.unquote(part, errors="strict")
    except UnicodeDecodeError:
        raise Refused("model_not_found", "no model has this name: it is not UTF-8") from None


def _fields(query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
    """POST /models's fields: a JSON body (what SageMaker sends), or query parameters (MMS's own style)."""
    fields: dict[str, Any] = {key: values[-1] for key, values in query.items()}
    if body.strip():
        try:  # the same strict decoding as /invocations: deep nesting and huge numbers are 400s, not tracebacks
            decoded = media.decode_json(media.decode_text(body))
        except BadRequest as exc:
            raise Refused("bad_request", f'{exc.message}: send {{"model_name": ..., "url": ...}}') from None
        if not isinstance(decoded, dict):
            raise Refused("bad_request", "the body must be a JSON object with model_name and url")
        fields.update(decoded)
    return fields


def _integer(query: dict[str, list[str]], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name, [""])[-1]
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refused("bad_request", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise Refused("bad_request", f"{name} must be between {low} and {high if high is not None else 'any'}")
    return value


class _Handler(BaseHTTPRequestHandler):
    api: ModelsApi
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        request_id = self.headers.get("X-Request-Id")
        split = urllib.parse.urlsplit(self.path)  # the query is never logged: it may hold a secret
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise Refused("payload_too_large", "a /models request body is at most 64 KB")
            body = self.rfile.read(length) if length else b""
            status, answer = self.api.route(method, split.path, urllib.parse.parse_qs(split.query), body)
            payload, content_type = json.dumps(answer).encode(), "application/json"
        except Refused as exc:
            status = status_of(exc.code)  # the HTTP status of every refusal, the lifecycle's too, is given here
            if status >= 500:
                log.warning("%s %s: %d %s", method, split.path, status, exc.message)
            status, payload, content_type = (
                status,
                _error(split.path, exc.code, exc.message, request_id),
                ERROR_CONTENT_TYPE,
            )
        except Exception:
            log.exception("%s %s failed", method, split.path)
            status = 500
            payload = _error(
                split.path,
                "internal_error",
                "internal server error; the server log has the details under this request_id",
                request_id,
            )
            content_type = ERROR_CONTENT_TYPE
        self.send_response(status, HTTPStatus(status).phrase)  # every status this API answers is a standard one
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return
