"""multi-model-server's entry point in each Python worker: `handle(data, context)`.

MMS calls handle(None, context) once when the worker starts (load the model, then one warm-up
inference: only then may /ping say ready), and handle(batch, context) for every batch of requests.
Each request of a batch is decoded, validated, answered and encoded on its own, with its own headers;
a bad one gets its own JSON error and the others are answered. Nothing raised here escapes to MMS,
which would answer 503 for the whole batch, or kill the worker.
"""

from __future__ import annotations

import logging
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

from hf_serving.errors import error_body, status_and_message
from hf_serving.hook_runner import HookRunner
from hf_serving.media import JSON
from hf_serving.request_context import RequestContext
from hf_serving.settings import Settings, current_settings

log = logging.getLogger("hf_serving.requests")


class HandlerService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hooks = HookRunner(settings.code_dir)

    def initialize(self, server_context: Any) -> None:
        started = time.monotonic()
        model = self.hooks.load(self.settings.model_dir, server_context)
        if "model_fn" in self.hooks.overridden_hooks() or not hasattr(model, "warmup_payload"):
            log.info("warm-up skipped: a user model_fn returned a model this container does not know")
        else:
            model.predict(model.warmup_payload())
        log.info("model ready in %.1f s (model_fn and warm-up)", time.monotonic() - started)

    def handle_batch(self, batch: list[dict], server_context: Any) -> list[bytes | str]:
        return [self._handle_one(index, request, server_context) for index, request in enumerate(batch)]

    def _handle_one(self, index: int, request: dict, server_context: Any) -> bytes | str:
        started = time.monotonic()
        context = RequestContext(server_context, index, server_context.get_all_request_header(index))
        content_type = context.get_request_header("Content-Type")
        accept = context.get_request_header("Accept")
        body = request.get("body")
        if body is None:
            body = request.get("data", b"")
        try:
            response, response_type = self.hooks.run_request(body, content_type, accept, context)
            status = 200
        except Exception as exc:
            status, code, message = status_and_message(exc)
            if status >= 500:
                log.error("request %s failed", context.request_id, exc_info=True)
            response, response_type = error_body(code, message, context.request_id), JSON
        server_context.set_response_status(status, _phrase(status), index)
        server_context.set_response_content_type(index, response_type)
        log.info("request %s status %d in %.1f ms", context.request_id, status,
                 (time.monotonic() - started) * 1000)
        return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a user hook may raise any status
        return ""


_service: HandlerService | None = None


def handle(data: list[dict] | None, context: Any) -> list[bytes | str] | None:
    global _service
    if _service is None:
        _configure_logging()
        settings = current_settings()
        _service = HandlerService(settings)
        try:
            _service.initialize(context)
        except BaseException as exc:
            # Logged here with its cause, and told to the launcher, which exits non-zero: MMS alone
            # would retry the worker forever while its /ping said healthy.
            log.critical("model failed to load from %s", Path(settings.model_dir), exc_info=True)
            _report_load_failure(settings, exc)
            _service = None
            raise
    if data is None:
        return None
    return _service.handle_batch(data, context)


LOAD_FAILURE_FILE = "model-load-failed"


def _report_load_failure(settings: Settings, exc: BaseException) -> None:
    if settings.runtime_dir is not None:
        summary = f"{type(exc).__name__}: {exc}"
        (settings.runtime_dir / LOAD_FAILURE_FILE).write_text(summary[:2000] + "\n", encoding="utf-8")


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(current_settings().log_level)
