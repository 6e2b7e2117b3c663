"""The hooks and the handler service, called directly with a stand-in for MMS's context (no server)."""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import pytest

from hf_serving import settings as settings_module
from hf_serving.deadline import INVOCATION_START
from hf_serving.serving import default_hooks
from hf_serving.serving.batch_handler import HandlerService
from hf_serving.serving.hook_runner import call_hook
from hf_serving.serving.request_context import RequestContext
from hf_serving.serving.worker_reports import busy_deadlines
from hf_serving.settings import Settings
from tests.support.fakes import FakeServerContext, json_request, run_batch, service_for
from tests.support.paths import ROOT, TINY_QA

CONTEXT = "The container listens on port 8080 for requests."


@pytest.fixture
def settings(monkeypatch, tmp_path):
    current = Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=tmp_path / "code")
    monkeypatch.setattr(settings_module, "_current", current)
    yield current
    sys.modules.pop("inference", None)  # a user module imported by one test must not leak into the next
    if str(tmp_path / "code") in sys.path:
        sys.path.remove(str(tmp_path / "code"))


def test_default_hooks_answer_with_offsets_into_the_context(settings):
    service = service_for(settings)
    [body], context = run_batch(service, [json_request({"question": "Which port?", "context": CONTEXT})])
    answer = json.loads(body)
    assert context.statuses[0] == (200, "OK")
    assert context.response_headers[0]["content-type"] == "application/json"
    assert CONTEXT[answer["start"] : answer["end"]] == answer["answer"]
    assert 0 < answer["score"] <= 1


def test_each_request_of_a_batch_keeps_its_own_headers_and_error(settings):
    service = service_for(settings)
    good = json_request({"question": "Which port?", "context": CONTEXT}, **{"X-Request-Id": "good"})
    bodies, context = run_batch(
        service,
        [
            good,
            ({"body": b"{not json"}, {"Content-Type": "application/json", "X-Request-Id": "bad-json"}),
            ({"body": b"hello"}, {"content-type": "text/plain", "x-request-id": "bad-type"}),
            json_request({"question": "q", "context": "c"}, Accept="text/html"),
            good,
        ],
    )
    assert [context.statuses[i][0] for i in range(5)] == [200, 400, 415, 406, 200]
    assert bodies[0] == bodies[4]
    assert json.loads(bodies[1])["error"]["request_id"] == "bad-json"
    assert json.loads(bodies[2])["error"]["code"] == "unsupported_media_type"
    assert json.loads(bodies[3])["error"]["request_id"] == "mms-3"  # no X-Request-Id: the server's id


def test_an_unexpected_exception_is_a_generic_500_and_logged(settings, caplog):
    (settings.code_dir).mkdir()
    (settings.code_dir / "inference.py").write_text(
        "def predict_fn(data, model):\n    raise KeyError('internal detail')\n"
    )
    service = service_for(settings)
    [body], context = run_batch(service, [json_request({"question": "q", "context": "c"})])
    assert context.statuses[0][0] == 500
    error = json.loads(body)["error"]
    assert error["code"] == "internal_error" and "internal detail" not in body.decode()
    assert "internal detail" in caplog.text


def test_a_user_hook_replaces_only_its_default_and_may_take_the_context(settings):
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "import json\n"
        "def output_fn(prediction, accept, context):\n"
        "    context.set_custom_attributes('got=' + str(context.custom_attributes))\n"
        "    return json.dumps({'wrapped': prediction}), 'application/vnd.test+json'\n"
    )
    service = service_for(settings)
    assert service.hooks.overridden_hooks() == {"output_fn"}
    [body], context = run_batch(
        service,
        [
            json_request(
                {"question": "Which port?", "context": CONTEXT}, **{"X-Amzn-SageMaker-Custom-Attributes": "k=v"}
            )
        ],
    )
    wrapped = json.loads(body)["wrapped"]
    assert CONTEXT[wrapped["start"] : wrapped["end"]] == wrapped["answer"]
    assert context.response_headers[0]["content-type"] == "application/vnd.test+json"
    assert context.response_headers[0]["X-Amzn-SageMaker-Custom-Attributes"] == "got=k=v"


def test_sagemaker_program_names_the_users_file(settings, monkeypatch):
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text("def predict_fn(data, model):\n    return 'wrong file'\n")
    (settings.code_dir / "handlers.py").write_text("def predict_fn(data, model):\n    return {'from': 'handlers'}\n")
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "handlers.py")
    try:
        service = service_for(settings)
        [body], _ = run_batch(service, [json_request({"question": "q", "context": "c"})])
    finally:
        sys.modules.pop("handlers", None)
    assert json.loads(body) == {"from": "handlers"}


def test_transform_fn_with_other_request_hooks_is_refused_at_load(settings):
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "def transform_fn(model, body, content_type, accept):\n    return body\n"
        "def input_fn(body, content_type):\n    return body\n"
    )
    with pytest.raises(ValueError, match="transform_fn"):
        service_for(settings)


def test_transform_fn_alone_handles_the_whole_request(settings):
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "def transform_fn(model, body, content_type, accept):\n    return body.upper(), 'text/plain'\n"
    )
    service = service_for(settings)
    [body], context = run_batch(service, [({"body": b"shout"}, {"Content-Type": "text/plain"})])
    assert (body, context.statuses[0][0]) == (b"SHOUT", 200)
    assert context.response_headers[0]["content-type"] == "text/plain"


def test_call_hook_passes_the_context_only_to_hooks_that_take_it():
    context = RequestContext(None, 0, {"X-Request-Id": "r1"})
    assert call_hook(lambda a, b: (a, b), (1, 2), context) == (1, 2)
    assert call_hook(lambda a, b, ctx: ctx.request_id, (1, 2), context) == "r1"
    assert call_hook(lambda a, b, context=None: context, (1, 2), context) is context


def test_container_code_inference_py_names_the_package_defaults_for_every_hook():
    """The file users read (container/code/inference.py) holds the very functions the hook runner calls."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("documented_defaults", ROOT / "container" / "code" / "inference.py")
    assert spec is not None and spec.loader is not None
    documented = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(documented)
    for name in ("model_fn", "input_fn", "predict_fn", "output_fn"):
        assert getattr(documented, name) is getattr(default_hooks, name)
        assert callable(getattr(default_hooks, name))


def test_a_model_server_batch_shares_one_model_pass_and_keeps_each_error(settings):
    service = service_for(settings)
    calls = []
    original = service.hooks.model.predict_records
    service.hooks.model.predict_records = lambda batch: calls.append(len(batch.records)) or original(batch)
    second = {
        "inputs": {"question": "Where?", "context": "Requests go to the invocations route."},
        "parameters": {"top_k": 2},
    }
    requests = [
        json_request({"question": "Which port?", "context": CONTEXT}),
        ({"body": b"{broken"}, {"Content-Type": "application/json"}),
        json_request(second),
        ({"body": b'{"question": "Which port?", "context": "On 8080."}\n'}, {"Content-Type": "application/jsonlines"}),
        json_request({"question": "q"}, Accept="application/json"),
    ]
    for number, (_, headers) in enumerate(requests):
        headers["X-Request-Id"] = f"r{number}"  # the same ids whether sent together or alone
    together, context = run_batch(service, requests)
    assert calls[0] == 3  # the three decodable JSON requests, in one call
    alone = [run_batch(service, [request])[0][0] for request in requests]
    assert together == alone
    assert [context.statuses[i][0] for i in range(5)] == [200, 400, 200, 200, 400]
    assert json.loads(together[4])["error"]["message"] == "context is missing"


def test_a_user_predict_fn_turns_batching_off(settings):
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "def predict_fn(data, model):\n    return {'seen': data['question']}\n"
    )
    service = service_for(settings)
    assert not service.hooks.can_batch()
    bodies, _ = run_batch(service, [json_request({"question": "a"}), json_request({"question": "b"})])
    assert [json.loads(b) for b in bodies] == [{"seen": "a"}, {"seen": "b"}]


def test_a_deferred_service_loads_at_its_first_request_and_a_failed_load_is_that_requests_500(
    settings, caplog, monkeypatch
):
    """The explanation worker's: no model until a request comes; a load that fails answers the batch with 500s and
    is tried again by the next request."""
    (settings.code_dir).mkdir()
    (settings.code_dir / "inference.py").write_text(
        "import os\n"
        "from hf_serving.serving.default_hooks import model_fn as default_model_fn\n"
        "def model_fn(model_dir):\n"
        "    if os.environ.get('FAIL_LOAD'):\n"
        "        raise RuntimeError('no weights today')\n"
        "    return default_model_fn(model_dir)\n"
    )
    service = HandlerService(settings)
    service.defer(FakeServerContext([]))
    assert service.hooks.model is None
    question = json_request({"question": "Which port?", "context": CONTEXT})
    monkeypatch.setenv("FAIL_LOAD", "1")
    bodies, context = run_batch(service, [question, question])
    monkeypatch.delenv("FAIL_LOAD")
    assert [context.statuses[i][0] for i in range(2)] == [500, 500]
    assert json.loads(bodies[0])["error"]["code"] == "internal_error" and "no weights" not in bodies[0].decode()
    assert "the model failed to load for the first request" in caplog.text
    bodies, context = run_batch(service, [question])
    assert context.statuses[0][0] == 200 and json.loads(bodies[0])["answer"]
    assert service.pending_context is None


def test_the_launcher_is_told_the_batchs_deadline_while_it_runs_and_nothing_between_batches(
    settings, monkeypatch, tmp_path
):
    """The worker's busy mark (serving/worker_reports.py) holds the deadline its own checks use: the launcher kills
    it KILL_GRACE_S past that."""
    monkeypatch.setattr(settings_module, "_current", dataclasses.replace(settings, runtime_dir=tmp_path / "runtime"))
    (tmp_path / "runtime").mkdir()
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "from hf_serving import deadline\n"
        "from hf_serving.serving.worker_reports import busy_deadlines\n"
        "import os, pathlib, time\n"
        "def predict_fn(data, model):\n"
        "    mark = busy_deadlines(pathlib.Path(os.environ['RUNTIME']))[os.getpid()][0]\n"
        "    return {'left': deadline.remaining(), 'mark_left': mark - time.time()}\n"
    )
    monkeypatch.setenv("RUNTIME", str(tmp_path / "runtime"))
    service = service_for(settings_module.current_settings())
    [body], _ = run_batch(service, [json_request({"q": 1})])
    found = json.loads(body)
    assert settings.invocation_timeout_s - 5 < found["left"] <= settings.invocation_timeout_s
    assert abs(found["mark_left"] - found["left"]) < 1
    assert busy_deadlines(tmp_path / "runtime") == {}  # idle again between batches
    # A request that waited 20 s in the model server's queue (behind an abandoned one) has 20 s less: nginx's inner
    # hop times it out from when it passed it on. In a batch with a fresh request, it lasts as long as that one may.
    waited = {INVOCATION_START: f"t={time.time() - 20:.3f}"}
    [queued], _ = run_batch(service, [json_request({"q": 2}, **waited)])
    assert settings.invocation_timeout_s - 25 < json.loads(queued)["left"] <= settings.invocation_timeout_s - 19.99
    [_, together], _ = run_batch(service, [json_request({"q": 1}), json_request({"q": 2}, **waited)])
    assert settings.invocation_timeout_s - 5 < json.loads(together)["left"] <= settings.invocation_timeout_s


MIB = 1024 * 1024


def test_an_answer_over_the_limit_is_its_own_413_and_the_rest_of_the_batch_is_answered(settings):
    settings = dataclasses.replace(settings, max_response_mb=1)
    settings.code_dir.mkdir()
    (settings.code_dir / "inference.py").write_text(
        "def transform_fn(model, body, content_type, accept):\n    return b'x' * int(body), 'text/plain'\n"
    )
    service = service_for(settings)
    bodies, context = run_batch(
        service,
        [
            ({"body": str(size).encode()}, {"Content-Type": "text/plain", "X-Request-Id": f"r{i}"})
            for i, size in enumerate((10, 2 * MIB, MIB))
        ],
    )
    assert [context.statuses[i][0] for i in range(3)] == [200, 413, 200]
    assert (bodies[0], len(bodies[2])) == (b"x" * 10, MIB)
    error = json.loads(bodies[1])["error"]
    assert (error["code"], error["request_id"]) == ("response_too_large", "r1")
    assert "1 MB answer limit (SERVE_MAX_RESPONSE_MB)" in error["message"]
    assert context.response_headers[1]["content-type"] == "application/json; charset=utf-8"
