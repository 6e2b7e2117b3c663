"""A request that came by a protocol route (nginx names it in X-Serving-Route: hf_serving/routes.py), turned into
the served model's own request before the batch runs, and its answer turned back afterwards.

The route's adapter (hf_serving/protocols/) gives the container's own JSON request; that request then takes the same
way as one sent to /invocations (the hooks, server-side batching, the response cache, the metrics), so every
protocol is answered by the same served model and the same code. Its errors, the adapter's and the model's, are
written in the route's protocol shape (error_catalogue.py).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
from dataclasses import dataclass
from typing import Any

from hf_serving.error_catalogue import Protocol
from hf_serving.errors import ServingError
from hf_serving.formats.media import JSON, NATIVE
from hf_serving.loading import sizing
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Native, Served, Usage
from hf_serving.routes import BY_NAME, Route
from hf_serving.serving.batch_runs import Outcome, Pending
from hf_serving.settings import Settings

SERVING_ROUTE = "X-Serving-Route"  # set by nginx's rendered locations (launcher/route_locations.py)
ROUTED_PATH = "X-Serving-Path"
JSON_TYPE = "application/json"


class AnswerNotJson(ServingError):
    """A user's output_fn answered something a protocol route cannot reshape."""

    code = "internal_error"


@dataclass
class ProtocolCall:
    """One request of a protocol route through the worker."""

    route: Route
    exchange: Exchange
    call: Call
    native: Native | None = None  # set when the model answers it
    answer: Answer | None = None  # the protocol's answer, once made

    @property
    def protocol(self) -> Protocol:
        return self.route.protocol


@functools.cache
def exchange_of(route_name: str) -> Exchange:
    """The route's adapter, imported at its first request (the launcher never imports them)."""
    route = BY_NAME[route_name]
    module_name, class_name = route.exchange.split(":")
    module = importlib.import_module(f"hf_serving.protocols.{module_name}")
    exchange = getattr(module, class_name)()
    if not isinstance(exchange, Exchange):
        raise TypeError(f"{route.exchange} is not an Exchange")
    return exchange


def route_of(p: Pending) -> Route | None:
    """The protocol route a request came by; None for /invocations and /models/{name}/invoke."""
    name = p.context.get_request_header(SERVING_ROUTE)
    if not name:
        return None
    route = BY_NAME.get(name)
    return route if route is not None and route.exchange else None


def path_params(route: Route, p: Pending) -> dict[str, str]:
    """The route template's names. A single-model endpoint's nginx checked the name; a multi-model one routed by it."""
    path = p.context.get_request_header(ROUTED_PATH)
    found = route.path_params(path) if path else None
    return found or {}


def begin(
    p: Pending, route: Route, served: Served, native_answers: bool = False
) -> tuple[ProtocolCall, Pending | Outcome]:
    """The request as the served model takes it (a Pending for the batch), or its outcome already: a Direct answer,
    or the adapter's refusal. `native_answers`: output_fn is the container's, which hands the answer over as it is
    (media.NATIVE) instead of JSON the adapter would decode again."""
    call = Call(route.name, path_params(route, p), p.body, p.content_type, p.context.request_id, p.context.headers)
    try:
        exchange = exchange_of(route.name)
    except Exception as exc:  # noqa: BLE001 - an adapter that cannot be imported is this request's 500
        return ProtocolCall(route, _Unavailable(), call), exc
    pc = ProtocolCall(route, exchange, call)
    try:
        native = exchange.to_native(call, served)
    except Exception as exc:  # noqa: BLE001 - the adapter's refusal (or fault) is this request's error
        return pc, exc
    if isinstance(native, Direct):
        pc.answer = Answer(document=native.document, status=native.status)
        return pc, encoded(pc.answer)
    pc.native = native
    try:
        body = json.dumps(native.payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:  # an adapter's fault: this request's 500, never the batch's
        return pc, exc
    return pc, dataclasses.replace(p, body=body, content_type=JSON, accept=NATIVE if native_answers else JSON)


def finish(pc: ProtocolCall, outcome: Outcome, served: Served, tokens: int | None) -> Outcome:
    """The protocol's answer from the served model's own."""
    if isinstance(outcome, BaseException) or pc.native is None:
        return outcome
    body, answer_type = outcome
    if answer_type == NATIVE:
        answer: Any = body
    else:
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return AnswerNotJson(
                f"the model's output_fn answered something other than JSON, which {pc.route.path} cannot reshape"
            )
    try:
        pc.answer = pc.exchange.from_native(answer, pc.native, pc.call, served, Usage(tokens))
    except Exception as exc:  # noqa: BLE001 - the adapter's refusal (or fault) is this request's error
        return exc
    return encoded(pc.answer)


def encoded(answer: Answer) -> Outcome:
    """The answer's bytes, or the fault that kept it from being written (a NaN: JSON has none): this request's 500,
    never the batch's."""
    try:
        return encode(answer)
    except (TypeError, ValueError) as exc:
        return exc


def encode(answer: Answer) -> tuple[bytes, str]:
    if answer.body is not None:
        return answer.body, answer.content_type
    return json.dumps(
        answer.document, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode(), answer.content_type


def served_of(model: Any, name: str, settings: Settings) -> Served:
    task = getattr(getattr(model, "task", None), "value", None)
    workers, batch_size = sizing.effective_workers(settings), sizing.effective_batch_size(settings)
    return Served(
        name=name,
        task=task if isinstance(task, str) else None,
        model=model,
        model_id=settings.model_id or str(settings.model_dir),
        workers=workers,
        batch_size=batch_size,
        concurrent_requests=sizing.admission_slots(workers, batch_size),
    )


class _Unavailable(Exchange):
    protocol = Protocol.SAGEMAKER

    def to_native(self, call: Call, served: Served) -> Native | Direct:
        raise NotImplementedError
