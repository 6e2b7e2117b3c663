"""multi-model-server's entry point in each Python worker: `handle(data, context)`.

MMS calls handle(None, context) once when the worker starts (load the model, then one warm-up
inference: only then may /ping say ready), and handle(batch, context) for every batch of requests.
Each request of a batch is decoded, validated and encoded on its own, with its own headers; a bad one
gets its own JSON error and the others are answered. With the default input_fn and predict_fn, the
valid JSON requests of a batch share one model pass (MODEL_SERVER_BATCH_SIZE > 1 makes MMS send
batches). Nothing raised here escapes to MMS, which would answer 503 for the whole batch, or kill the
worker.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from hf_serving.deadline import DeadlineExceeded, deadline_after
from hf_serving.errors import ERROR_CONTENT_TYPE, error_body, status_and_message
from hf_serving.formats.media import JSON
from hf_serving.formats.records import RecordBatch
from hf_serving.loading import model_store
from hf_serving.serving import memory
from hf_serving.serving.hook_runner import HookRunner
from hf_serving.serving.request_context import RequestContext
from hf_serving.serving.worker_reports import report_load_failure, report_worker_ready, report_worker_started
from hf_serving.settings import Settings, current_settings, use_settings

log = logging.getLogger("hf_serving.requests")


class HandlerService:
    def __init__(self, settings: Settings, model_name: str | None = None) -> None:
        self.settings = settings
        self.hooks = HookRunner(settings.code_dir)
        # On a multi-model endpoint every request's log line names its model.
        self.log_prefix = f"model {model_name!r} " if model_name is not None else ""

    def initialize(self, server_context: Any) -> None:
        started = time.monotonic()
        model = self.hooks.load(self.settings.model_dir, server_context)
        if "model_fn" in self.hooks.overridden_hooks() or not hasattr(model, "warmup_payload"):
            log.info("warm-up skipped: a user model_fn returned a model this container does not know")
        else:
            model.predict(model.warmup_payload())
        log.info("model ready in %.1f s (model_fn and warm-up)", time.monotonic() - started)

    def loaded_description(self) -> str:
        model = self.hooks.model
        describe = getattr(model, "describe", None)
        return describe() if callable(describe) else f"a {type(model).__name__} from a user model_fn"

    def handle_batch(self, batch: list[dict], server_context: Any) -> list[bytes | str]:
        started = time.monotonic()
        pending = [_Pending.of(index, request, server_context) for index, request in enumerate(batch)]
        with deadline_after(self.settings.invocation_timeout_s):
            if len(pending) > 1 and self.hooks.can_batch():
                outcomes = self._run_together(pending)
            else:
                outcomes = [_attempt(self.hooks.run_request, p.body, p.content_type, p.accept, p.context)
                            for p in pending]
        responses = [self._respond(p, outcome, server_context, started)
                     for p, outcome in zip(pending, outcomes, strict=True)]
        memory.after_request(sum(len(p.body) for p in pending))
        return responses

    def _run_together(self, pending: list[_Pending]) -> list[Outcome]:
        """The JSON requests of a model-server batch in one model pass; each keeps its own error."""
        decoded = [_attempt(self.hooks.decode, p.body, p.content_type, p.context) for p in pending]
        predictions: list[Any] = list(decoded)
        together = [i for i, data in enumerate(decoded) if not isinstance(data, BaseException | RecordBatch)]
        try:
            results = self.hooks.model.predict_records(RecordBatch(JSON, [decoded[i] for i in together])).results
            for index, result in zip(together, results, strict=True):
                predictions[index] = result
        except Exception:  # unexpected here: answer them one by one, each with its own error
            log.warning("a batch of %d failed together; answering one by one", len(together), exc_info=True)
            together = []
        for index, p in enumerate(pending):
            if index not in together and not isinstance(decoded[index], BaseException):
                predictions[index] = _attempt(self.hooks.predict, decoded[index], p.context)
        return [prediction if isinstance(prediction, BaseException)
                else _attempt(self.hooks.encode, prediction, p.accept, p.context)
                for p, prediction in zip(pending, predictions, strict=True)]

    def _respond(self, p: _Pending, outcome: Outcome, server_context: Any, started: float) -> bytes | str:
        response: bytes | str
        if isinstance(outcome, BaseException):
            status, code, message = status_and_message(outcome)
            if isinstance(outcome, DeadlineExceeded):
                log.warning("request %s abandoned: %s", p.context.request_id, outcome.message)
            elif status >= 500:
                log.error("request %s failed", p.context.request_id, exc_info=outcome)
            response, response_type = error_body(code, message, p.context.request_id), ERROR_CONTENT_TYPE
        else:
            status, (response, response_type) = 200, outcome
        server_context.set_response_status(status, _phrase(status), p.index)
        server_context.set_response_content_type(p.index, response_type)
        log.info("%srequest %s status %d in %.1f ms", self.log_prefix, p.context.request_id, status,
                 (time.monotonic() - started) * 1000)
        return response


Outcome = tuple[bytes | str, str] | BaseException


def _attempt(function: Any, *args: Any) -> Any:
    """The function's result, or the exception it raised (each request keeps its own error)."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - every failure becomes that request's JSON error
        return exc


@dataclass(frozen=True)
class _Pending:
    """One request of a model-server batch, with its own headers."""

    index: int
    context: RequestContext
    body: bytes
    content_type: str | None
    accept: str | None

    @classmethod
    def of(cls, index: int, request: dict, server_context: Any) -> _Pending:
        context = RequestContext(server_context, index, server_context.get_all_request_header(index))
        body = request.get("body")
        if body is None:
            body = request.get("data", b"")
        return cls(index, context, body, context.get_request_header("Content-Type"),
                   context.get_request_header("Accept"))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a user hook may raise any status
        return ""


_service: HandlerService | None = None


def _worker_settings(context: Any) -> tuple[Settings, Path | None, str | None]:
    """This worker's settings, the directory it reports to the launcher in, and its model's name.

    On a multi-model endpoint the store entry MMS gave the worker names the model's own directory: its weights,
    its config (so its own task) and its own code/inference.py. Its reports go to the model's scratch directory.
    """
    settings = current_settings()
    properties = getattr(context, "system_properties", None) or {}
    entry = model_store.read_entry(Path(properties.get("model_dir") or "."))
    if entry is None:
        return settings, settings.runtime_dir, None
    settings = dataclasses.replace(settings, model_dir=entry.url, code_dir_override=None)
    use_settings(settings)
    reports = None
    if settings.runtime_dir is not None:
        reports = model_store.scratch_dir(settings.runtime_dir, entry.mms_name)
        packages = reports / model_store.CODE_PACKAGES
        if packages.is_dir():
            sys.path.insert(0, str(packages))
    return settings, reports, entry.name


def handle(data: list[dict] | None, context: Any) -> list[bytes | str] | None:
    global _service
    if _service is None:
        _configure_logging()
        settings, reports, model_name = _worker_settings(context)
        if reports is not None and model_name is not None:
            report_worker_started(reports)  # a multi-model load counts the workers that die without a word
        _service = HandlerService(settings, model_name)
        try:
            _service.initialize(context)
        except BaseException as exc:
            # Logged here with its cause, and told to the launcher: MMS alone would retry the worker forever while
            # its /ping said healthy. A single-model container exits non-zero; a multi-model one answers the load.
            log.critical("model failed to load from %s", Path(settings.model_dir), exc_info=True)
            if reports is not None:
                report_load_failure(reports, exc)
            _service = None
            raise
        if reports is not None:
            report_worker_ready(reports, _service.loaded_description())
    if data is None:
        return None
    context.request_processor = [_FramedRequest(rp) for rp in context.request_processor]
    return _service.handle_batch(data, context)


class _WireHeaders(dict):
    """Response headers as MMS frames them for Java: Content-Type travels in its own field only.

    MMS 1.1.11's Java decoder (CodecUtils.readMap) throws CorruptedFrameException, and MMS kills the
    worker, when a socket read ends inside a response's header map, which happens under load as soon
    as the map is not empty (every response had Content-Type in it). Left out of the map, the map is
    empty unless a hook sets another header.
    """

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__((k, v) for k, v in headers.items() if k.lower() != "content-type")
        self.content_type = headers.get("content-type")

    def get(self, key: str, default: Any = None) -> Any:
        return self.content_type if key == "content-type" else super().get(key, default)


class _FramedRequest:
    """MMS's per-request processor, sending its response headers as _WireHeaders."""

    def __init__(self, processor: Any) -> None:
        self._processor = processor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._processor, name)

    def get_response_headers(self) -> dict[str, str]:
        return _WireHeaders(self._processor.get_response_headers())


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(current_settings().log_level)
