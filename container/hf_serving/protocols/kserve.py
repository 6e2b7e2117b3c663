"""KServe's protocols over the served model: v1's `:predict` (instances in, predictions out) and the Open Inference
Protocol's (v2) model metadata and `/infer`, with BYTES tensors named for the task's fields in and typed tensors out.

The model is named as clients call it (Served.name: "model" on a single-model endpoint unless SERVE_MODEL_NAME says
otherwise); a path naming another is KServe's 404. Errors are KServe's {"error": message} (error_catalogue.py). The
readiness and server routes (/v2/health/*, /v2, /v2/models/{name}/ready) are nginx's own; v1's readiness
(GET /v1/models/{name}) is answered with OpenAI's model route (openai.py).

How each task's instances and tensors map to its /invocations request and answer: kserve_instances.py (v1) and
kserve_signatures.py (v2); the v2 wire, JSON and binary: kserve_tensors.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hf_serving.error_catalogue import Protocol
from hf_serving.errors import BadRequest, ModelNotFound, Unprocessable
from hf_serving.formats.media import json_type_name
from hf_serving.protocols import kserve_instances
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Native, Served, Usage
from hf_serving.protocols.kserve_signatures import Signature, signature
from hf_serving.protocols.kserve_tensors import (
    BINARY,
    HEADER_LENGTH,
    InferRequest,
    read_infer_request,
    write_infer_response,
)

PLATFORM = "hf-serving"  # the spec's "framework/backend" of the model: this container's own


def _check_model(call: Call, served: Served) -> None:
    name = call.path_params.get("name", served.name)
    if name != served.name:
        raise ModelNotFound(f"model {name} is not served here: this endpoint serves {served.name}")


def _signature(served: Served) -> Signature:
    found = signature(served.task, served.model) if served.task else None
    if found is None:
        raise Unprocessable(
            f"model {served.name} has no KServe mapping (a model of task {served.task or 'unknown'}, "
            "from the user's model_fn): call /invocations with its own request"
        )
    return found


def request_header(call: Call, name: str) -> str | None:
    """A request header the worker was given (nginx forwards a whitelist), whatever its case."""
    headers = getattr(call, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


class V1Predict(Exchange):
    """POST /v1/models/{name}:predict {"instances": [...], "parameters"?: {...}} -> {"predictions": [...]}."""

    protocol = Protocol.KSERVE

    def to_native(self, call: Call, served: Served) -> Native:
        _check_model(call, served)
        _signature(served)  # a 422 for a model without a mapping
        body = call.json_body()
        if not isinstance(body, dict):
            raise BadRequest(f'the body must be a JSON object {{"instances": [...]}}, not {json_type_name(body)}')
        unknown = sorted(str(key) for key in body if key not in ("instances", "parameters"))
        if unknown:
            raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected instances, parameters")
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            raise BadRequest("instances must be a non-empty list")
        parameters = body.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise BadRequest(f"parameters must be a JSON object, not {json_type_name(parameters)}")
        task = str(served.task)
        return Native(kserve_instances.native_request(task, instances, parameters), keep=(task, len(instances)))

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        task, instances = native.keep
        return Answer({"predictions": kserve_instances.predictions(task, answer, instances)})


class V2Metadata(Exchange):
    """GET /v2/models/{name}: the model's name, platform and its input and output tensors."""

    protocol = Protocol.KSERVE

    def to_native(self, call: Call, served: Served) -> Direct:
        _check_model(call, served)
        found = signature(served.task, served.model) if served.task else None
        return Direct(
            {
                "name": served.name,
                "platform": PLATFORM,
                "inputs": [tensor.metadata() for tensor in found.inputs] if found else [],
                "outputs": [tensor.metadata() for tensor in found.outputs] if found else [],
            }
        )


@dataclass(frozen=True)
class _Kept:
    request: InferRequest
    texts: dict[str, tuple[str, ...]]
    signature: Signature


class V2Infer(Exchange):
    """POST /v2/models/{name}/infer: BYTES tensors in, the task's typed tensors out, as JSON or binary."""

    protocol = Protocol.KSERVE

    def to_native(self, call: Call, served: Served) -> Native:
        _check_model(call, served)
        found = _signature(served)
        request = read_infer_request(call.body, call.content_type, request_header(call, HEADER_LENGTH))
        texts = _texts(request, found)
        for output in request.outputs or ():
            if output.name not in found.output_names():
                raise BadRequest(
                    f"unknown output {output.name}: model {served.name} answers {', '.join(found.output_names())}"
                )
        parameters = dict(request.parameters)
        return Native(found.to_native(texts, parameters), keep=_Kept(request, texts, found))

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        kept: _Kept = native.keep
        outputs = kept.signature.from_native(answer, kept.texts, dict(kept.request.parameters))
        if kept.request.outputs is not None:
            by_name = {output.name: output for output in outputs}
            outputs = [by_name[wanted.name] for wanted in kept.request.outputs]
        head = {"model_name": served.name, "id": kept.request.id or call.request_id}
        encoded = write_infer_response(head, outputs, kept.request)
        if encoded.body is None:
            return Answer(encoded.document)
        return Answer(body=encoded.body, content_type=BINARY, headers={HEADER_LENGTH: str(encoded.json_length)})


def _texts(request: InferRequest, found: Signature) -> dict[str, tuple[str, ...]]:
    """The request's inputs checked against the task's: no unknown or missing one, no empty text."""
    known = [tensor.name for tensor in found.inputs]
    for name in request.inputs:
        if name not in known:
            raise BadRequest(f"unknown input {name}: this model takes {', '.join(known)}")
    for name in found.required:
        if name not in request.inputs:
            raise BadRequest(f"input {name} is missing: this model takes {', '.join(known)}")
    texts = {name: tensor.texts for name, tensor in request.inputs.items()}
    for name, elements in texts.items():
        if not elements:
            raise BadRequest(f"input {name} holds no element")
        for index, element in enumerate(elements):
            if not element.strip():
                raise BadRequest(f"input {name}'s element {index} is an empty text")
    given = [name for name in found.paired if name in texts]
    if len({len(texts[name]) for name in given}) > 1:
        counts = ", ".join(f"{name} {len(texts[name])}" for name in given)
        raise BadRequest(f"inputs {' and '.join(given)} must hold as many elements each ({counts})")
    return texts
