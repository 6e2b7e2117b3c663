"""Each answered request's item outcomes reach the worker's prediction monitor, through both ways a batch runs
(alone: input_fn -> predict_fn -> output_fn; together: one model pass for the batch's JSON requests), for JSON,
JSON Lines and CSV bodies; a user's model_fn, predict_fn or transform_fn reports nothing and fails nothing."""

from __future__ import annotations

import json
import sys

import pytest

from hf_serving import settings as settings_module
from hf_serving.monitoring.monitor import PredictionMonitor
from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from hf_serving.serving.batch_handler import HandlerService
from hf_serving.settings import Settings
from tests.support.fakes import json_request, run_batch, service_for
from tests.support.outcomes import demo_dir

TEXTS = ["I love this, it is wonderful.", "This was a terrible waste of money.", "Fine."]


class Recorder:
    """An observer keeping every request's outcomes, in the order the monitor was handed them."""

    def __init__(self) -> None:
        self.requests: list[list[ItemOutcome]] = []

    def observe(self, outcomes):
        self.requests.append(list(outcomes))


@pytest.fixture
def settings(monkeypatch, tmp_path):
    current = Settings(
        model_dir=demo_dir("demo-sentiment-trained"), dtype="float32", code_dir_override=tmp_path / "code"
    )
    monkeypatch.setattr(settings_module, "_current", current)
    yield current
    sys.modules.pop("inference", None)
    if str(tmp_path / "code") in sys.path:
        sys.path.remove(str(tmp_path / "code"))


def watched(settings: Settings, code: str | None = None) -> tuple[HandlerService, Recorder]:
    if code is not None:
        settings.code_dir.mkdir()
        (settings.code_dir / "inference.py").write_text(code)
    service, recorder = service_for(settings), Recorder()
    service.monitor = PredictionMonitor([recorder])
    return service, recorder


def predicted(body: bytes | str) -> list[tuple[str, float]]:
    """(label, score) of each text of a legacy-shaped answer (a list of {"label", "score"})."""
    return [(entry["label"], entry["score"]) for entry in json.loads(body)]


def labels_and_scores(outcomes: list[ItemOutcome]) -> list[tuple[str | None, float | None]]:
    return [(p.label, p.confidence) for outcome in outcomes for p in outcome.predictions]


def test_a_request_alone_reports_what_its_answer_said(settings):
    service, recorder = watched(settings)
    [body], context = run_batch(service, [json_request({"inputs": TEXTS})])
    assert context.statuses[0][0] == 200
    [outcomes] = recorder.requests
    assert labels_and_scores(outcomes) == predicted(body)
    assert all(outcome.tokens for outcome in outcomes)


def test_a_batch_together_reports_each_requests_own_items_and_nothing_for_an_error(settings):
    service, recorder = watched(settings)
    calls = []
    original = service.hooks.model.predict_records
    service.hooks.model.predict_records = lambda batch: calls.append(len(batch.records)) or original(batch)
    bodies, context = run_batch(
        service,
        [
            json_request({"inputs": TEXTS[:2]}),
            json_request({"inputs": 3}),
            ({"body": b"{broken"}, {"Content-Type": "application/json"}),
            json_request({"inputs": TEXTS[2]}),
        ],
    )
    assert calls == [3]  # the three decodable requests in one pass
    assert [context.statuses[i][0] for i in range(4)] == [200, 400, 400, 200]
    assert [labels_and_scores(outcomes) for outcomes in recorder.requests] == [
        predicted(bodies[0]),
        predicted(bodies[3]),
    ]
    assert [len(outcomes) for outcomes in recorder.requests] == [2, 1]


def test_json_lines_and_csv_report_every_answered_record_in_order(settings):
    service, recorder = watched(settings)
    lines = "\n".join(json.dumps(line) for line in ({"inputs": TEXTS[0]}, {"inputs": 3}, {"inputs": TEXTS[1:]}))
    csv_body = f'"{TEXTS[2]}"\n"{TEXTS[0]}"\n'
    bodies, context = run_batch(
        service,
        [
            ({"body": lines.encode()}, {"Content-Type": "application/jsonlines"}),
            ({"body": csv_body.encode()}, {"Content-Type": "text/csv", "Accept": "application/json"}),
        ],
    )
    assert [context.statuses[i][0] for i in range(2)] == [200, 200]
    records = [json.loads(line) for line in bodies[0].splitlines()]
    assert "error" in records[1]
    assert labels_and_scores(recorder.requests[0]) == [(e["label"], e["score"]) for e in records[0] + records[2]]
    rows = json.loads(bodies[1])
    assert labels_and_scores(recorder.requests[1]) == [(row[0]["label"], row[0]["score"]) for row in rows]


def test_a_user_output_fn_still_reports_the_models_predictions(settings):
    service, recorder = watched(
        settings,
        "import json\n"
        "def output_fn(prediction, accept):\n"
        "    return json.dumps({'wrapped': prediction}), 'application/json'\n",
    )
    [body], _ = run_batch(service, [json_request({"inputs": TEXTS[0]})])
    [entry] = json.loads(body)["wrapped"]
    assert recorder.requests == [
        [ItemOutcome((Prediction(entry["label"], entry["score"]),), recorder.requests[0][0].tokens)]
    ]


@pytest.mark.parametrize(
    "code",
    [
        "def predict_fn(data, model):\n    return model.predict(data)\n",
        "def transform_fn(model, body, content_type, accept):\n"
        "    import json\n    return json.dumps(model.predict(json.loads(body))), 'application/json'\n",
        "from hf_serving.serving.default_hooks import model_fn as default\n"
        "def model_fn(model_dir):\n    return default(model_dir)\n",
    ],
)
def test_a_users_model_or_prediction_hook_reports_nothing_and_fails_nothing(settings, code):
    service, recorder = watched(settings, code)
    bodies, context = run_batch(service, [json_request({"inputs": TEXTS[0]}), json_request({"inputs": TEXTS[1]})])
    assert [context.statuses[i][0] for i in range(2)] == [200, 200]
    assert all(json.loads(body) for body in bodies)
    assert recorder.requests == []  # monitor.observe skips a request without outcomes


def test_an_observer_that_fails_changes_no_answer_and_is_counted(settings, monkeypatch):
    from prometheus_client import REGISTRY

    from hf_serving.monitoring import failures

    monkeypatch.setattr(failures, "_worker", failures._Worker())

    def failures() -> float:
        return (
            REGISTRY.get_sample_value("hf_serving_monitoring_errors_total", {"model": "model", "stage": "observer"})
            or 0.0
        )

    service, recorder = watched(settings)
    expected, _ = run_batch(service, [json_request({"inputs": TEXTS})])

    class Broken:
        def observe(self, outcomes):
            raise RuntimeError("an observer's bug")

    service.monitor = PredictionMonitor([Broken(), recorder])
    before = failures()
    bodies, context = run_batch(service, [json_request({"inputs": TEXTS})])
    assert (bodies, context.statuses[0][0]) == (expected, 200)
    assert failures() == before + 1
    assert len(recorder.requests) == 2  # the next observer still saw it


def test_a_protocol_routes_request_reports_its_items_and_a_direct_answer_nothing(monkeypatch, tmp_path):
    """TEI's /embed through the worker (its adapter over the served model): each text's tokens, no prediction;
    /tokenize is answered by the adapter alone, with no model pass: nothing to report."""
    current = Settings(model_dir=demo_dir("demo-embeddings"), dtype="float32", code_dir_override=tmp_path / "code")
    monkeypatch.setattr(settings_module, "_current", current)
    service, recorder = service_for(current), Recorder()
    service.monitor = PredictionMonitor([recorder])
    bodies, context = run_batch(
        service,
        [
            json_request({"inputs": TEXTS[:2]}, **{"X-Serving-Route": "tei.embed", "X-Serving-Path": "/embed"}),
            json_request({"inputs": TEXTS[0]}, **{"X-Serving-Route": "tei.tokenize", "X-Serving-Path": "/tokenize"}),
        ],
    )
    assert [context.statuses[i][0] for i in range(2)] == [200, 200]
    assert len(json.loads(bodies[0])) == 2
    tokenizer = service.hooks.model.tokenizer
    assert recorder.requests == [[ItemOutcome((), len(tokenizer(text)["input_ids"])) for text in TEXTS[:2]]]
