"""Running the requests of one model-server batch through the hooks, each stage timed for Server-Timing and /metrics.

Alone: transform_fn, or input_fn -> predict_fn -> output_fn. Together (the default hooks, JSON requests): each
decoded on its own, one predict_records for all of them (one model pass), each encoded on its own. Either way each
request keeps its own error: a hook's exception becomes that request's outcome, never the batch's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from hf_serving.formats.media import JSON
from hf_serving.formats.records import RecordBatch, RecordResults
from hf_serving.monitoring.outcomes import ItemOutcome
from hf_serving.observability.request_timing import RequestTiming
from hf_serving.observability.stage_clock import StageClock
from hf_serving.serving.hook_runner import HookRunner
from hf_serving.serving.request_context import RequestContext
from hf_serving.tasks.base import Counted

log = logging.getLogger("hf_serving.requests")


Outcome = tuple[bytes | str, str] | BaseException


def timed(timing: RequestTiming, stage: str, function: Any, *args: Any) -> Any:
    """attempt, adding the seconds it took to the timing's stage."""
    begun = time.perf_counter()
    try:
        return attempt(function, *args)
    finally:
        setattr(timing, stage, getattr(timing, stage) + time.perf_counter() - begun)


def attempt(function: Any, *args: Any) -> Any:
    """The function's result, or the exception it raised (each request keeps its own error)."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - every failure becomes that request's JSON error
        return exc


@dataclass(frozen=True)
class Pending:
    """One request of a model-server batch, with its own headers."""

    index: int
    context: RequestContext
    body: bytes
    content_type: str | None
    accept: str | None

    @classmethod
    def of(cls, index: int, request: dict, server_context: Any) -> Pending:
        context = RequestContext(server_context, index, server_context.get_all_request_header(index))
        body = request.get("body")
        if body is None:
            body = request.get("data", b"")
        return cls(
            index, context, body, context.get_request_header("Content-Type"), context.get_request_header("Accept")
        )


def take_usage(model: Any) -> Counted | None:
    """What the served model's last predict() cost, if the model is ours (a user's model_fn may return anything)."""
    take = getattr(model, "take_usage", None)
    return take() if callable(take) else None


def record_outcomes(prediction: object) -> list[ItemOutcome]:
    """What the items of a JSON Lines or CSV request predicted, every record's in order (a bad record's: none)."""
    if not isinstance(prediction, RecordResults):
        return []
    return [item for items in prediction.outcomes or [] for item in items]


def run_alone(hooks: HookRunner, p: Pending, timing: RequestTiming, clock: StageClock) -> Outcome:
    """One request through transform_fn, or input_fn -> predict_fn -> output_fn, each stage timed."""
    tokenised, begun = clock.tokenise_s, time.perf_counter()
    take_usage(hooks.model)  # a previous request's, never this one's
    if hooks.uses_transform_fn():
        outcome = attempt(hooks.transform, p.body, p.content_type, p.accept, p.context)
        timing.tokenise_s = clock.tokenise_s - tokenised
        timing.inference_s = time.perf_counter() - begun - timing.tokenise_s
    else:
        data = attempt(hooks.decode, p.body, p.content_type, p.context)
        decoded = time.perf_counter()
        prediction = data if isinstance(data, BaseException) else attempt(hooks.predict, data, p.context)
        predicted = time.perf_counter()
        outcome = (
            prediction
            if isinstance(prediction, BaseException)
            else attempt(hooks.encode, prediction, p.accept, p.context)
        )
        inside = clock.tokenise_s - tokenised  # the tokenizer's part of predict_fn
        timing.tokenise_s = decoded - begun + inside
        timing.inference_s = predicted - decoded - inside
        timing.encode_s = time.perf_counter() - predicted
        if isinstance(prediction, RecordResults):  # the default predict_fn on JSON Lines or CSV: per record
            known = [count for count in prediction.tokens or [] if count is not None]
            timing.tokens = sum(known) if known else None
            timing.cached = [hit for hits in prediction.cached or [] for hit in hits]
        timing.outcomes = record_outcomes(prediction)
    usage = take_usage(hooks.model)
    if usage is not None:
        timing.tokens, timing.cached, timing.outcomes = usage.tokens, usage.cached, usage.outcomes
    if isinstance(outcome, BaseException):
        timing.tokens = None
    if isinstance(outcome, BaseException) or not hooks.tells_outcomes():
        timing.outcomes = []
    return outcome


def run_together(
    hooks: HookRunner, pending: list[Pending], timings: list[RequestTiming], clock: StageClock
) -> list[Outcome]:
    """The JSON requests of a model-server batch in one model pass; each keeps its own error."""
    decoded = [
        timed(timing, "tokenise_s", hooks.decode, p.body, p.content_type, p.context)
        for p, timing in zip(pending, timings, strict=True)
    ]
    predictions: list[Any] = list(decoded)
    together = [i for i, data in enumerate(decoded) if not isinstance(data, BaseException | RecordBatch)]
    tokenised, begun = clock.tokenise_s, time.perf_counter()
    try:
        answered = hooks.model.predict_records(RecordBatch(JSON, [decoded[i] for i in together]))
        tokens = answered.tokens or [None] * len(together)
        cached = answered.cached or [[] for _ in together]
        outcomes = answered.outcomes or [[] for _ in together]
        for index, result, count, found, told in zip(together, answered.results, tokens, cached, outcomes, strict=True):
            predictions[index], timings[index].tokens, timings[index].cached = result, count, found
            timings[index].outcomes = told
    except Exception:  # unexpected here: answer them one by one, each with its own error
        log.warning("a batch of %d failed together; answering one by one", len(together), exc_info=True)
        together = []
    inside, shared = clock.tokenise_s - tokenised, time.perf_counter() - begun
    for index in together:  # each waited for the whole pass
        timings[index].tokenise_s += inside
        timings[index].inference_s += shared - inside
    for index, p in enumerate(pending):
        if index not in together and not isinstance(decoded[index], BaseException):
            tokenised, begun = clock.tokenise_s, time.perf_counter()
            take_usage(hooks.model)
            predictions[index] = attempt(hooks.predict, decoded[index], p.context)
            usage = take_usage(hooks.model)
            timings[index].outcomes = record_outcomes(predictions[index])
            if usage is not None:
                timings[index].tokens, timings[index].cached = usage.tokens, usage.cached
                timings[index].outcomes = usage.outcomes
            inside = clock.tokenise_s - tokenised
            timings[index].tokenise_s += inside
            timings[index].inference_s += time.perf_counter() - begun - inside
    encoded = [
        prediction
        if isinstance(prediction, BaseException)
        else timed(timing, "encode_s", hooks.encode, prediction, p.accept, p.context)
        for p, prediction, timing in zip(pending, predictions, timings, strict=True)
    ]
    ours = hooks.tells_outcomes()
    for outcome, timing in zip(encoded, timings, strict=True):
        if isinstance(outcome, BaseException) or not ours:  # the client saw no prediction of the model's as it is
            timing.outcomes = []
    return encoded
