"""The service a worker runs: its model loaded and warmed up, and each batch MMS sends answered.

HandlerService.initialize loads the model (the hook runner's model_fn) and runs one warm-up inference, so that /ping
says ready only once a request would be answered at full speed; defer() instead loads at the first request (the
explanation worker). handle_batch decodes, validates and encodes each request of a batch on its own, with its own
headers: a bad one gets its own JSON error and the others are answered. With the default input_fn and predict_fn, the
valid JSON requests of a batch share one model pass (batch_runs.py); a protocol route's request goes through its
adapter first (protocol_calls.py). Each response's status, Content-Type and headers are set on MMS's context, and
the request is counted (metrics, monitoring, data capture) and logged.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any

from hf_serving.caching import response_cache
from hf_serving.caching.response_cache import ResponseCache
from hf_serving.deadline import INVOCATION_START, DeadlineExceeded, deadline_after
from hf_serving.error_catalogue import Protocol
from hf_serving.errors import ERROR_CONTENT_TYPE, ResponseTooLarge, error_body, status_and_message
from hf_serving.monitoring import observers
from hf_serving.monitoring.capture import capture as data_capture
from hf_serving.monitoring.capture.capture import INFERENCE_ID_HEADER, DataCapture
from hf_serving.monitoring.monitor import PredictionMonitor
from hf_serving.observability import stage_clock
from hf_serving.observability.request_timing import REQUEST_START, SERVER_TIMING, RequestTiming, queue_seconds
from hf_serving.observability.worker_metrics import SINGLE_MODEL_LABEL, WorkerMetrics
from hf_serving.routes import Kind
from hf_serving.serving import answer_size, batch_runs, memory, protocol_calls
from hf_serving.serving.batch_runs import Outcome, Pending
from hf_serving.serving.hook_runner import HookRunner
from hf_serving.serving.protocol_calls import ProtocolCall
from hf_serving.serving.worker_reports import BusyMark
from hf_serving.settings import Settings

log = logging.getLogger("hf_serving.requests")


class HandlerService:
    def __init__(self, settings: Settings, model_name: str | None = None) -> None:
        self.settings = settings
        self.hooks = HookRunner(settings.code_dir)
        # On a multi-model endpoint every request's log line names its model.
        self.log_prefix = f"model {model_name!r} " if model_name is not None else ""
        self.model_label = model_name if model_name is not None else SINGLE_MODEL_LABEL
        self.metrics: WorkerMetrics | None = None
        self.cache: ResponseCache | None = None
        self.pending_context: Any = None  # the explanation worker's server context, until its model is loaded
        self.busy: BusyMark | _NoMark | None = None  # this worker's deadline, for the launcher; opened at first use
        self.served: protocol_calls.Served | None = None  # the model as the protocol adapters see it (_served)
        self._native_answers = False
        self.monitor = PredictionMonitor()  # no observer until the model is loaded
        self.capture: DataCapture | None = None  # DATA_CAPTURE_PERCENT > 0: made at initialize

    def initialize(self, server_context: Any, restarted: bool = False) -> None:
        started = time.monotonic()
        model = self.hooks.load(self.settings.model_dir, server_context)
        if "model_fn" in self.hooks.overridden_hooks() or not hasattr(model, "warmup_payload"):
            log.info("warm-up skipped: a user model_fn returned a model this container does not know")
        else:
            model.predict(
                _explained(model.warmup_payload()) if self.pending_context is not None else model.warmup_payload()
            )
        task = getattr(getattr(model, "task", None), "value", "custom")  # a user model_fn's own model: "custom"
        engine = getattr(model, "engine", None)
        self.metrics = WorkerMetrics(self.model_label, task, enabled=self.settings.metrics != "off")
        # After the warm-up, which must not fill it; the model's files are hashed for its identity (~1 s per GB).
        self.cache = response_cache.for_model(self.settings, model, self.hooks.overridden_hooks(), self.metrics)
        took = time.monotonic() - started
        log.info("model ready in %.1f s (model_fn and warm-up)", took)
        self.monitor = observers.for_worker(
            self.settings, self.model_label, task, model, watch_drift=self.pending_context is None
        )
        if self.capture is None:
            # A multi-model endpoint's records name their model; a single-model endpoint's (and its explanation
            # worker's) need not.
            self.capture = data_capture.from_settings(
                self.settings,
                self.model_label,
                self.model_label if self.settings.multi_model else None,
                metrics_enabled=self.settings.metrics != "off",
            )
        self.metrics.loaded(
            took,
            getattr(engine, "description", "custom"),
            getattr(engine, "dtype", "unknown"),
            getattr(engine, "device", "unknown"),
            restarted,
        )

    def defer(self, server_context: Any) -> None:
        """Load at the first request, not now (the explanation worker)."""
        self.pending_context = server_context
        log.info("%sworker started; it loads the model at its first request", self.log_prefix)

    def loaded_description(self) -> str:
        model = self.hooks.model
        describe = getattr(model, "describe", None)
        return describe() if callable(describe) else f"a {type(model).__name__} from a user model_fn"

    def handle_batch(self, batch: list[dict], server_context: Any) -> list[bytes | str]:
        started, now = time.monotonic(), time.time()
        unloaded = self._load_deferred() if self.pending_context is not None else None  # counts against the timeout
        clock = stage_clock.begin()
        try:
            pending = [Pending.of(index, request, server_context) for index, request in enumerate(batch)]
            timings = [RequestTiming(queue_seconds(p.context.get_request_header(REQUEST_START), now)) for p in pending]
            # nginx answers each request 504 at the invocation timeout after its inner hop passed it on: the batch is
            # abandoned when its last request has been, the time it waited in the model server's queue included.
            waited_s = min(
                (queue_seconds(p.context.get_request_header(INVOCATION_START), now) or 0.0 for p in pending),
                default=0.0,
            )
            left_s = self.settings.invocation_timeout_s - waited_s - (time.monotonic() - started)
            # Past its deadline the launcher kills this process; counted from now at the earliest, so that a first
            # request whose deferred load alone took the whole timeout is answered 504 by the checks, not killed.
            self._busy_mark().busy_until(time.time() + max(left_s, 0.0))
            calls: list[ProtocolCall | None] = [None] * len(pending)
            with deadline_after(left_s):
                if unloaded is not None:
                    outcomes: list[Outcome] = [unloaded for _ in pending]
                else:
                    outcomes, calls = self._run(pending, timings, clock)
            responses = [
                self._respond(p, outcome, timing, server_context, len(pending), started, call)
                for p, outcome, timing, call in zip(pending, outcomes, timings, calls, strict=True)
            ]
            self._metrics().batch(len(pending), clock.pass_rows, clock.pass_seconds)
        finally:
            self._busy_mark().idle()
            stage_clock.end()
        memory.after_request(sum(len(p.body) for p in pending))
        return responses

    def _run(
        self, pending: list[Pending], timings: list[RequestTiming], clock: stage_clock.StageClock
    ) -> tuple[list[Outcome], list[ProtocolCall | None]]:
        """Each request's outcome. A protocol route's request is first turned into the served model's own (or
        answered by its adapter alone); the model's requests of the batch then share one pass, as /invocations'."""
        calls: list[ProtocolCall | None] = [None] * len(pending)
        outcomes: list[Outcome | None] = [None] * len(pending)
        work, runnable = list(pending), []
        served: protocol_calls.Served | None = None
        for index, p in enumerate(pending):
            route = protocol_calls.route_of(p)
            if route is None:
                runnable.append(index)
                continue
            served = self._served()
            calls[index], begun = protocol_calls.begin(p, route, served, self._native_answers)
            if isinstance(begun, Pending):
                work[index] = begun
                runnable.append(index)
            else:
                outcomes[index] = begun
        run, run_timings = [work[i] for i in runnable], [timings[i] for i in runnable]
        if len(run) > 1 and self.hooks.can_batch():
            results = batch_runs.run_together(self.hooks, run, run_timings, clock)
        else:
            results = [
                batch_runs.run_alone(self.hooks, p, timing, clock) for p, timing in zip(run, run_timings, strict=True)
            ]
        for index, outcome in zip(runnable, results, strict=True):
            call = calls[index]
            outcomes[index] = (
                outcome
                if call is None or served is None
                else protocol_calls.finish(call, outcome, served, timings[index].tokens)
            )
        answered = [outcome for outcome in outcomes if outcome is not None]
        assert len(answered) == len(pending), "a request of the batch was left without an outcome"
        return answered, calls

    def _served(self) -> protocol_calls.Served:
        """The model as the protocol adapters see it (its name as clients call it, its task, where it came from,
        how this endpoint serves it): made once per loaded model, not per batch."""
        model = self.hooks.model
        if self.served is None or self.served.model is not model:
            settings = self.settings
            # A single-model endpoint's workers, its explanation worker ("explain") too, serve SERVE_MODEL_NAME.
            name = self.model_label if settings.multi_model else settings.served_model_name
            self.served = protocol_calls.served_of(model, name, settings)
            # The container's output_fn hands a protocol's adapter the answer as it is (media.NATIVE); a user's
            # output_fn (or transform_fn) is asked for JSON, as on /invocations.
            self._native_answers = not {"output_fn", "transform_fn"} & self.hooks.overridden
        return self.served

    def _load_deferred(self) -> Exception | None:
        """The explanation worker's model, at its first request; a failure is that batch's 500s (the cause in the
        log), and the next request tries again."""
        try:
            self.initialize(self.pending_context)
        except Exception as exc:  # every request of the batch gets it as its error
            log.error("%sthe model failed to load for the first request", self.log_prefix, exc_info=True)
            return exc
        self.pending_context = None
        return None

    def _respond(
        self,
        p: Pending,
        outcome: Outcome,
        timing: RequestTiming,
        server_context: Any,
        batch_size: int,
        started: float,
        call: ProtocolCall | None = None,
    ) -> bytes | str:
        response: bytes | str
        if not isinstance(outcome, BaseException):
            refused = answer_size.refusal(outcome[0], self.settings.max_response_bytes)
            outcome = outcome if refused is None else refused
        if isinstance(outcome, BaseException):
            status, code, message = status_and_message(outcome)
            if isinstance(outcome, DeadlineExceeded):
                log.warning("request %s abandoned: %s", p.context.request_id, outcome.message)
            elif status >= 500:
                log.error("request %s failed", p.context.request_id, exc_info=outcome)
            elif isinstance(outcome, ResponseTooLarge):
                log.warning("request %s refused: %s", p.context.request_id, outcome.message)
            protocol = call.protocol if call is not None else Protocol.SAGEMAKER
            response = error_body(
                code, message, p.context.request_id, protocol, getattr(outcome, "param", None), status
            )
            response_type = ERROR_CONTENT_TYPE
        else:
            status, (response, response_type) = 200, outcome
            if call is not None and call.answer is not None:
                status = call.answer.status
                for name, value in call.answer.headers.items():
                    server_context.set_response_header(p.index, name, value)
        server_context.set_response_status(status, _phrase(status), p.index)
        if response_type:  # none (a user's output_fn that returned a bare body, no Accept): MMS sends none either
            server_context.set_response_content_type(p.index, response_type)
        stages = timing.stages()
        server_context.set_response_header(p.index, SERVER_TIMING, timing.server_timing())
        if self.cache is not None:
            server_context.set_response_header(p.index, response_cache.X_CACHE, response_cache.x_cache(timing.cached))
        self._metrics().request(stages, timing.tokens)
        if status == 200:
            self.monitor.observe(timing.outcomes)
        if self.capture is not None and status == 200 and (call is None or call.route.kind is Kind.INFERENCE):
            # Answered inferences only (not a protocol's metadata routes, /v1/models or /tokenize), as KServe's logger
            # logs responses (a 200 only) and as Model Monitor reads captures: an error answer holds no prediction to
            # compare with a baseline or with ground truth, and a refused request's body is often what was wrong.
            # The body as the client sent it (on a protocol route, the protocol's own request, not the served model's
            # translation) and the answer as it leaves; never a header (the API key, Authorization, cookies).
            self.capture.offer(
                p.context.request_id,
                p.body,
                p.content_type,
                response,
                response_type,
                p.context.get_request_header(INFERENCE_ID_HEADER),
            )
        took_ms = (time.monotonic() - started) * 1000
        log.info(
            "%srequest %s status %d in %.1f ms",
            self.log_prefix,
            p.context.request_id,
            status,
            took_ms,
            extra={
                "request_id": p.context.request_id,
                "model": self.model_label,
                "status": status,
                "duration_ms": round(took_ms, 2),
                "batch_size": batch_size,
                "tokens": timing.tokens,
                "stages_ms": {stage: round(s * 1000, 2) for stage, s in stages.items()},
            },
        )
        return response

    def _busy_mark(self) -> BusyMark | _NoMark:
        if self.busy is None:
            runtime_dir = self.settings.runtime_dir
            self.busy = BusyMark(runtime_dir) if runtime_dir is not None else _NoMark()
        return self.busy

    def _metrics(self) -> WorkerMetrics:
        if self.metrics is None:  # before initialize() (a test driving handle_batch alone): the model's task unknown
            self.metrics = WorkerMetrics(self.model_label, "unknown", enabled=self.settings.metrics != "off")
        return self.metrics


def _explained(payload: object) -> object:
    """The explanation worker's warm-up: one step of the integral, so that Captum's import (seconds: it imports
    matplotlib) is part of the load, not of a request's deadline, where the launcher would kill the worker for it."""
    if not isinstance(payload, dict):
        return payload
    return {**payload, "parameters": {**payload.get("parameters", {}), "explain": True, "explain_steps": 1}}


class _NoMark:
    """No runtime directory (a test driving the handler alone): no launcher watches this worker."""

    def busy_until(self, deadline: float) -> None:
        pass

    def idle(self) -> None:
        pass


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a user hook may raise any status
        return ""
