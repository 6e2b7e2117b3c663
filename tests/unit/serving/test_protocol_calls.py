"""A protocol route's request in the worker (serving/protocol_calls.py), with a stand-in adapter over the tiny QA
model: turned into the model's own request, batched with /invocations' requests, answered in the protocol's shape,
its errors (the adapter's and the model's) in the protocol's error shape, and a Direct answer without a model pass."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from hf_serving.error_catalogue import Protocol
from hf_serving.errors import BadRequest
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Native, Served, Usage
from hf_serving.serving import protocol_calls
from hf_serving.settings import Settings, settings_in_use
from tests.support.fakes import json_request, run_batch, service_for
from tests.support.paths import TINY_QA

CONTEXT = "The container listens on port 8080 for requests."


class Asking(Exchange):
    """{"ask": question} -> the QA model's own request; its answer wrapped as {"said": ..., "tokens": N}."""

    protocol = Protocol.OPENAI

    def to_native(self, call: Call, served: Served) -> Native | Direct:
        body = call.json_body()
        if body.get("ask") == "nan":
            return Direct({"value": float("nan")})
        if body.get("ask") == "who":
            return Direct({"model": served.name, "task": served.task, "params": dict(call.path_params)})
        if not isinstance(body.get("ask"), str):
            raise BadRequest("ask must be a string", param="ask")
        return Native({"question": body["ask"], "context": body.get("context", CONTEXT)}, keep=body["ask"])

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        return Answer(
            {"said": answer["answer"], "asked": native.keep, "tokens": usage.tokens},
            status=201,
            headers={"X-Said": "yes"},
        )


@pytest.fixture
def service(monkeypatch, tmp_path):
    current = Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=tmp_path / "code", served_model_name="qa")
    with settings_in_use(current):
        monkeypatch.setattr(protocol_calls, "exchange_of", lambda name: Asking())
        yield service_for(current)
        sys.modules.pop("inference", None)


def routed(body: object, route: str = "openai.embeddings", path: str = "/v1/embeddings"):
    return json_request(body, **{"X-Serving-Route": route, "X-Serving-Path": path})


def test_a_protocol_request_shares_the_batch_with_invocations_and_is_answered_in_its_shape(service):
    bodies, context = run_batch(
        service,
        [
            routed({"ask": "Which port does the container listen on?"}),
            json_request({"question": "Which port does the container listen on?", "context": CONTEXT}),
        ],
    )
    shaped, plain = json.loads(bodies[0]), json.loads(bodies[1])
    assert context.statuses[0][0] == 201 and context.statuses[1][0] == 200
    assert shaped == {
        "said": plain["answer"],
        "asked": "Which port does the container listen on?",
        "tokens": shaped["tokens"],
    }
    assert shaped["tokens"] > 10  # the tokens the model read for this request, as the worker counted them
    assert context.response_headers[0]["X-Said"] == "yes"


def test_the_adapters_refusal_and_the_models_are_in_the_protocols_error_shape(service):
    bodies, context = run_batch(
        service,
        [routed({"ask": 3}), routed({"ask": "", "context": ""}), json_request({"question": 3, "context": CONTEXT})],
    )
    refused, model_refused, plain = (json.loads(body) for body in bodies)
    assert context.statuses[0][0] == 400
    assert refused["error"]["param"] == "ask" and refused["error"]["type"] == "invalid_request_error"
    assert refused["error"]["message"] == "ask must be a string" and refused["error"]["code"] == "bad_request"
    assert context.statuses[1][0] == 400 and model_refused["error"]["type"] == "invalid_request_error"
    assert set(plain["error"]) == {"code", "message", "request_id"}  # /invocations keeps the container's shape


def test_a_direct_answer_needs_no_model_pass_and_sees_the_path_and_the_model(service):
    bodies, context = run_batch(service, [routed({"ask": "who"}, "kserve.v2.metadata", "/v2/models/qa")])
    assert context.statuses[0][0] == 200
    assert json.loads(bodies[0]) == {"model": "qa", "task": "question-answering", "params": {"name": "qa"}}


def test_a_body_that_is_not_json_is_a_400_in_the_protocols_shape(service):
    bodies, context = run_batch(
        service, [({"body": b"{nope"}, {"Content-Type": "application/json", "X-Serving-Route": "openai.embeddings"})]
    )
    assert context.statuses[0][0] == 400
    assert json.loads(bodies[0])["error"]["message"].startswith("the body is not valid JSON")


def test_a_users_output_fn_answers_json_that_the_adapter_reads(monkeypatch, tmp_path):
    """The default output_fn hands the adapter the answer as it is; a user's output_fn is asked for JSON, as on
    /invocations, and the adapter reads what it wrote."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "import json\n"
        "def output_fn(prediction, accept):\n"
        "    return json.dumps({**prediction, 'answer': 'user: ' + prediction['answer']}), 'application/json'\n"
    )
    current = Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=code)
    with settings_in_use(current):
        monkeypatch.setattr(protocol_calls, "exchange_of", lambda name: Asking())
        try:
            service = service_for(current)
            bodies, context = run_batch(service, [routed({"ask": "Which port does the container listen on?"})])
        finally:
            sys.modules.pop("inference", None)
            sys.path.remove(str(code))
        said = json.loads(bodies[0])["said"]
        assert context.statuses[0][0] == 201 and said.startswith("user: ")


def test_an_answer_json_cannot_hold_is_that_requests_500_and_the_batch_is_answered(service):
    bodies, context = run_batch(service, [routed({"ask": "nan"}), routed({"ask": "who"})])
    assert context.statuses[0][0] == 500 and json.loads(bodies[0])["error"]["code"] == "internal_error"
    assert context.statuses[1][0] == 200 and json.loads(bodies[1])["model"] == "qa"
