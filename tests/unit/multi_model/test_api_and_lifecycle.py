"""The model management API's routing and answers, and the lifecycle's checks and bookkeeping, with a fake model
server whose workers report through the same files real ones write (the real stack: tests/integration)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from hf_serving.errors import ConfigurationError
from hf_serving.loading import model_store
from hf_serving.multi_model.api import ModelsApi
from hf_serving.multi_model.lifecycle import Lifecycle, Refused
from hf_serving.multi_model.registry import LOADING, READY, ModelRecord
from hf_serving.serving.worker_reports import report_load_failure, report_worker_ready
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA


class FakeBudget:
    def __init__(self, free: int) -> None:
        self.free = free

    def available_bytes(self, reserved_bytes: int = 0) -> int:
        return self.free - reserved_bytes


class FakeServer:
    """Registering starts a 'worker' that reports ready (or the failure given) in the model's scratch directory."""

    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = runtime_dir
        self.failure: BaseException | None = None
        self.registered: list[str] = []
        self.unregistered: list[str] = []
        self.hold = threading.Event()
        self.hold.set()

    def register(self, name: str, workers: int) -> None:
        self.registered.append(name)
        scratch = model_store.scratch_dir(self.runtime_dir, name)

        def report() -> None:
            self.hold.wait()
            if self.failure is not None:
                report_load_failure(scratch, self.failure)
            else:
                report_worker_ready(scratch, "question-answering on a fake worker")

        threading.Thread(target=report, daemon=True).start()

    def unregister(self, name: str) -> None:
        self.unregistered.append(name)

    def processes_of(self, name: str) -> list:
        return []

    def in_flight(self, name: str) -> int:
        return 0


@pytest.fixture
def parts(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    server = FakeServer(runtime)
    changes: list[str] = []
    lifecycle = Lifecycle(
        Settings(dtype="float32"),
        runtime,
        runtime / "model-store",
        "handler:handle",
        server,
        FakeBudget(10**12),
        workers_per_model=1,
        gpus=0,
        on_change=lambda: changes.append("x"),
    )
    return lifecycle, server, runtime, changes


def test_a_load_answers_once_the_worker_reported_ready_and_an_unload_removes_everything(parts):
    lifecycle, server, runtime, changes = parts
    record = lifecycle.load("qa", str(TINY_QA))
    assert (record.state, record.task, record.loaded) == (
        READY,
        "question-answering",
        "question-answering on a fake worker",
    )
    name = model_store.mms_name("qa")
    assert server.registered == [name]
    entry = model_store.read_entry(runtime / "model-store" / name)
    assert entry == model_store.StoreEntry("qa", TINY_QA.resolve())
    assert (model_store.scratch_dir(runtime, name) / model_store.SERVING_MARK).exists()
    with pytest.raises(Refused) as again:
        lifecycle.load("qa", str(TINY_QA))
    assert again.value.code == "model_already_loaded"
    lifecycle.unload("qa")
    assert server.unregistered == [name]
    assert not (runtime / "model-store" / name).exists() and not model_store.scratch_dir(runtime, name).exists()
    assert lifecycle.registry.get("qa") is None and changes == ["x", "x"]
    with pytest.raises(Refused) as missing:
        lifecycle.unload("qa")
    assert missing.value.code == "model_not_found"


def test_a_worker_load_failure_is_answered_with_its_cause_and_undone(parts):
    lifecycle, server, runtime, _ = parts
    server.failure = ValueError("this model_fn always fails")
    with pytest.raises(Refused) as failed:
        lifecycle.load("broken", str(TINY_QA))
    assert failed.value.code == "model_load_failed"
    assert "ValueError: this model_fn always fails" in failed.value.message
    assert server.unregistered == [model_store.mms_name("broken")]
    assert lifecycle.registry.all() == [] and not (runtime / "models" / model_store.mms_name("broken")).exists()


def test_a_load_over_the_budget_is_507_before_anything_is_registered(parts):
    lifecycle, server, _, _ = parts
    lifecycle.budget = FakeBudget(1000)
    with pytest.raises(Refused) as refused:
        lifecycle.load("qa", str(TINY_QA))
    assert refused.value.code == "insufficient_memory"
    assert "MB" in refused.value.message and server.registered == [] and lifecycle.registry.all() == []


def test_loads_under_way_count_against_the_budget(parts):
    lifecycle, server, _, _ = parts
    server.hold.clear()  # the first load's worker does not report yet
    first = threading.Thread(target=lifecycle.load, args=("first", str(TINY_QA)), daemon=True)
    first.start()
    while lifecycle.registry.get("first") is None:
        pass
    estimate = lifecycle.registry.get("first").estimate_bytes
    lifecycle.budget = FakeBudget(estimate + estimate // 2)  # room for one and a half models
    assert lifecycle.registry.get("first").state == LOADING
    with pytest.raises(Refused) as refused:
        lifecycle.load("second", str(TINY_QA))
    assert refused.value.code == "insufficient_memory"
    with pytest.raises(Refused) as busy:
        lifecycle.unload("first")
    assert busy.value.code == "model_busy"
    server.hold.set()
    first.join(timeout=10)
    assert lifecycle.registry.get("first").state == READY


@pytest.mark.parametrize(
    ("name", "url", "code"),
    [
        (None, str(TINY_QA), "bad_request"),
        ("", str(TINY_QA), "bad_request"),
        ("a/b", str(TINY_QA), "bad_request"),
        ("x" * 257, str(TINY_QA), "bad_request"),
        ("ok", None, "bad_request"),
        ("ok", "relative/dir", "model_files_not_found"),
        ("ok", "/no/such/dir", "model_files_not_found"),
    ],
)
def test_bad_names_and_urls_are_refused_before_anything_starts(parts, name, url, code):
    lifecycle, server, _, _ = parts
    with pytest.raises(Refused) as refused:
        lifecycle.load(name, url)
    assert refused.value.code == code
    assert server.registered == []


def test_an_unservable_model_is_400_naming_the_url_sent_not_the_path_it_resolves_to(parts, tmp_path):
    """An architecture no task serves, and a config.json that is not JSON (whose message names its path): named
    through a link, the message names the link."""
    lifecycle, _, _, _ = parts
    for name, config in (("magic", json.dumps({"architectures": ["BertForMagic"]})), ("broken", "{not json")):
        model = tmp_path / f"hidden-{name}"
        model.mkdir()
        (model / "config.json").write_text(config)
        (tmp_path / name).symlink_to(model)
        with pytest.raises(Refused) as refused:
            lifecycle.load(name, str(tmp_path / name))
        assert refused.value.code == "unsupported_model"
        assert "hidden-" not in refused.value.message
        assert (
            "BertForMagic" in refused.value.message
            if name == "magic"
            else f"{tmp_path / name / 'config.json'} is not readable JSON" in refused.value.message
        )


def test_a_path_that_holds_no_model_gets_one_answer_whatever_it_is(parts, tmp_path):
    """No directory, an empty one, a file, a directory of the system: a key holder learns nothing of the file system
    beyond "no model there", and no resolved path (/proc/self is /proc/<the launcher's PID>)."""
    lifecycle, server, _, _ = parts
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("{}")
    messages = []
    for url in ("/no/such/dir", str(tmp_path / "empty"), str(tmp_path / "a-file"), "/proc/self", "/etc"):
        with pytest.raises(Refused) as refused:
            lifecycle.load("probe", url)
        assert refused.value.code == "model_files_not_found"
        messages.append(refused.value.message.replace(repr(url), "URL"))
    assert set(messages) == {
        "url URL is not a model directory in this container (a directory holding config.json or modules.json)"
    }
    assert server.registered == []


@pytest.fixture
def api(parts):
    lifecycle = parts[0]
    server = ModelsApi(lifecycle, 0)
    server.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}", lifecycle
    server.stop()


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (MemoryError("out of memory"), 507, "insufficient_memory"),
        (ConfigurationError("no fast tokenizer"), 400, "unsupported_model"),
        (OSError("bad weights"), 500, "model_load_failed"),
    ],
)
def test_a_workers_load_failure_is_answered_with_its_codes_status_and_its_cause(api, failure, status, code):
    url, lifecycle = api
    lifecycle.server.failure = failure
    response = requests.post(f"{url}/models", json={"model_name": "m", "url": str(TINY_QA)}, timeout=30)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert f"{type(failure).__name__}: {failure}" in response.json()["error"]["message"]
    assert lifecycle.registry.all() == []


def test_the_api_lists_pages_describes_and_answers_errors_in_the_container_shape(api):
    url, lifecycle = api
    for name in ("c", "a", "b"):
        assert requests.post(f"{url}/models", json={"model_name": name, "url": str(TINY_QA)}, timeout=10).ok
    assert requests.post(f"{url}/models?model_name=d&url={TINY_QA}", timeout=10).status_code == 200  # MMS's style
    listed = requests.get(f"{url}/models", timeout=5).json()
    assert [m["modelName"] for m in listed["models"]] == ["a", "b", "c", "d"] and listed["nextPageToken"] is None
    page = requests.get(f"{url}/models?limit=3", timeout=5).json()
    assert [m["modelName"] for m in page["models"]] == ["a", "b", "c"] and page["nextPageToken"] == "3"
    rest = requests.get(f"{url}/models?limit=3&next_page_token=3", timeout=5).json()
    assert [m["modelName"] for m in rest["models"]] == ["d"] and rest["nextPageToken"] is None
    described = requests.get(f"{url}/models/a", timeout=5).json()
    assert (described["modelName"], described["modelUrl"], described["status"]) == (
        "a",
        str(TINY_QA.resolve()),
        "ready",
    )
    missing = requests.get(f"{url}/models/zzz", headers={"X-Request-Id": "rid-1"}, timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "model_not_found", "message": "model 'zzz' is not loaded", "request_id": "rid-1"}
    }
    for bad, fragment in (
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
        ('{"model_name": 1' + "0" * 5000 + "}", "more than 4300 digits"),
    ):
        response = requests.post(f"{url}/models", data=bad, timeout=5)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
        assert fragment in response.json()["error"]["message"] and "sys." not in response.json()["error"]["message"]
    assert requests.get(f"{url}/models?limit=0", timeout=5).status_code == 400
    assert requests.get(f"{url}/models?limit=x", timeout=5).status_code == 400
    assert requests.delete(f"{url}/models", timeout=5).status_code == 405
    assert requests.post(f"{url}/models/a", timeout=5).status_code == 405
    assert requests.get(f"{url}/elsewhere", timeout=5).status_code == 404
    deleted = requests.delete(f"{url}/models/a", timeout=5)
    assert (deleted.status_code, deleted.json()) == (200, {"status": "model 'a' unloaded"})
    assert [r.name for r in lifecycle.registry.all()] == ["b", "c", "d"]


def test_openais_model_list_holds_the_ready_models_with_kserve_v1s_names_and_answers_errors_in_openais_shape(api):
    url, lifecycle = api
    assert requests.get(f"{url}/v1/models", timeout=5).json() == {"object": "list", "data": [], "models": []}
    before = int(time.time())
    for name in ("b", "a"):
        assert requests.post(f"{url}/models", json={"model_name": name, "url": str(TINY_QA)}, timeout=10).ok
    lifecycle.registry.begin_load(
        ModelRecord(model_store.StoreEntry("loading", TINY_QA), LOADING, "x", 0), lambda _: None
    )
    listed = requests.get(f"{url}/v1/models", timeout=5).json()
    assert listed["object"] == "list" and listed["models"] == ["a", "b"]  # not the one still loading
    assert [(m["id"], m["object"], m["owned_by"]) for m in listed["data"]] == [
        ("a", "model", "hf-serving"),
        ("b", "model", "hf-serving"),
    ]
    assert all(before <= m["created"] <= time.time() for m in listed["data"])
    refused = requests.post(f"{url}/v1/models", headers={"X-Request-Id": "rid-2"}, timeout=5)
    assert refused.status_code == 405
    assert refused.json() == {
        "error": {
            "message": "use GET for /v1/models",
            "type": "invalid_request_error",
            "param": None,
            "code": "method_not_allowed",
            "request_id": "rid-2",
        }
    }


def test_a_name_with_percent_encoded_characters_is_decoded(api):
    url, _ = api
    assert requests.post(f"{url}/models", json={"model_name": "a b.tar.gz", "url": str(TINY_QA)}, timeout=10).ok
    assert requests.get(f"{url}/models/a%20b.tar.gz", timeout=5).json()["modelName"] == "a b.tar.gz"


def test_a_name_is_decoded_once_with_plus_a_plus_and_bytes_that_are_not_utf8_naming_no_model(api):
    # nginx passes the name it decoded, escaped whole (docker/nginx.conf): one unquote gives it back.
    url, _ = api
    for name in ("bert+lora", "a%41"):
        assert requests.post(f"{url}/models", json={"model_name": name, "url": str(TINY_QA)}, timeout=10).ok
    assert requests.get(f"{url}/models/bert%2Blora", timeout=5).json()["modelName"] == "bert+lora"
    assert requests.get(f"{url}/models/a%2541", timeout=5).json()["modelName"] == "a%41"
    not_utf8 = requests.get(f"{url}/models/%FF", timeout=5)
    assert (not_utf8.status_code, not_utf8.json()["error"]["code"]) == (404, "model_not_found")
