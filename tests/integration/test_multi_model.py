"""A multi-model endpoint (SAGEMAKER_MULTI_MODEL=true) on the real stack: SageMaker's model management API, models of
three tasks side by side, each with its own code, failed loads that leave nothing behind, unloads that free the
processes, and traffic to one model untouched by another's load, unload or crash."""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
import requests

from hf_serving.loading.model_store import mms_name
from tests.support import metrics
from tests.support.paths import TINY_QA, minilm
from tests.support.stack import Stack
from tests.support.wheels import module_wheel

pytestmark = pytest.mark.integration

QA_BODY = {"inputs": {"question": "Where did Alice meet Bob?", "context": "Alice met Bob in Paris last spring."}}
HOOKED_CODE = """
def output_fn(prediction, accept, context):
    import json
    return json.dumps({"from_user_code": True, "prediction": prediction}), "application/json"
"""
DYING_CODE = """
import os
import signal


def model_fn(model_dir):
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would: no word to anyone
"""
FAILING_CODE = """
def model_fn(model_dir):
    raise ValueError("this model_fn always fails")
"""


def load(stack: Stack, name: str, url: Path | str, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.url}/models", json={"model_name": name, "url": str(url)}, headers=headers, timeout=400
    )


def invoke(stack: Stack, name: str, body: object, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.url}/models/{name}/invoke",
        json=body,
        timeout=60,
        headers={"Content-Type": "application/json", **headers},
    )


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def workers_of(stack: Stack, name: str) -> list[psutil.Process]:
    """The model's loaded workers, from the reports they leave in its scratch directory (SERVE_RUNTIME_DIR)."""
    reports = Path(stack.env["SERVE_RUNTIME_DIR"]) / "models" / mms_name(name) / "ready-workers"
    found = []
    for path in reports.glob("[0-9]*") if reports.is_dir() else []:
        try:
            found.append(psutil.Process(int(path.name)))
        except psutil.NoSuchProcess:
            continue
    return [process for process in found if alive(process)]


def processes_of(stack: Stack, name: str) -> list[psutil.Process]:
    """MMS's clients for the model (`--model-name`), its workers and their listeners (forked by the zygote)."""
    assert stack.process is not None
    found = []
    for process in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            if mms_name(name) in process.cmdline() and alive(process):
                found.append(process)
        except psutil.NoSuchProcess:
            continue
    for worker in workers_of(stack, name):
        found.append(worker)
        parent = worker.parent()
        if (
            parent is not None
            and "zygote" in parent.cmdline()
            and parent.parent() is not None
            and "zygote" in parent.parent().cmdline()
        ):  # the listener, not the zygote itself
            found.append(parent)
    return found


def zygote_forks(stack: Stack) -> int:
    assert stack.process is not None
    count = 0
    for process in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            command = process.cmdline()
            if "zygote" in command and process.parent().cmdline() != psutil.Process(stack.process.pid).cmdline():
                count += 1
        except psutil.NoSuchProcess:
            continue
    return count


def with_code(tmp_path: Path, source: Path, code: str) -> Path:
    target = tmp_path / f"{source.name}-with-code"
    shutil.copytree(source, target)
    (target / "code").mkdir()
    (target / "code" / "inference.py").write_text(code)
    return target


def running_mme(log_dir: Path, **env: str) -> Iterator[Stack]:
    """A multi-model stack whose runtime directory (SERVE_RUNTIME_DIR, read by workers_of) the test can see."""
    runtime = tempfile.mkdtemp(prefix="mme-runtime-")  # under /tmp: nginx's workers (another user) must reach it
    stack = Stack(None, log_dir / "serve.log", SAGEMAKER_MULTI_MODEL="true", SERVE_RUNTIME_DIR=runtime, **env).start()
    try:
        yield stack.wait_ready()
    finally:
        stack.terminate()
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture(scope="module")
def started_mme(tmp_path_factory):
    yield from running_mme(tmp_path_factory.mktemp("mme"))


@pytest.fixture(scope="module")
def at_start(started_mme) -> tuple[requests.Response, requests.Response]:
    """GET /ping and GET /models before any test loaded a model: `mme` asks for them first, whichever test runs."""
    return started_mme.ping(), requests.get(f"{started_mme.url}/models", timeout=5)


@pytest.fixture(scope="module")
def mme(started_mme, at_start) -> Stack:
    """The multi-model endpoint the tests below share: each loads the models it needs under names of its own."""
    return started_mme


@pytest.fixture(scope="module")
def qa(mme) -> str:
    """The tiny QA model loaded as "qa", for the tests that need a model serving beside what they do: loaded by
    the first of them to run, whichever it is, and by no test itself."""
    loaded = load(mme, "qa", TINY_QA)
    assert loaded.status_code == 200, loaded.text
    return "qa"


def test_ping_is_200_with_no_model_and_the_list_is_empty(mme, at_start):
    pinged, listed = at_start
    assert pinged.status_code == 200
    assert (listed.status_code, listed.json()) == (200, {"models": [], "nextPageToken": None})
    assert "mode: multi-model endpoint" in mme.log()
    assert "memory budget:" in mme.log()


def test_three_tasks_load_and_answer_side_by_side(mme, tiny_sentiment):
    three = (
        ("three-qa", TINY_QA, "question-answering"),
        ("sentiment.tar.gz", tiny_sentiment, "text-classification"),
        ("embeddings", minilm(), "sentence-embeddings"),
    )
    for name, url, task in three:
        loaded = load(mme, name, url)
        assert loaded.status_code == 200, loaded.text
        assert (loaded.json()["modelName"], loaded.json()["status"], loaded.json()["task"]) == (name, "ready", task)
    answer = invoke(mme, "three-qa", QA_BODY, **{"X-Amzn-SageMaker-Target-Model": "qa.tar.gz"})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    context = QA_BODY["inputs"]["context"]
    assert context[found["start"] : found["end"]] == found["answer"] and found["answer"]
    labels = invoke(mme, "sentiment.tar.gz", {"inputs": ["good", "bad"]})
    assert labels.status_code == 200, labels.text
    assert len(labels.json()) == 2  # the top label of each text
    assert {row["label"] for row in labels.json()} <= {"NEGATIVE", "POSITIVE"}
    vectors = invoke(mme, "embeddings", {"inputs": ["a sentence", "another one"]})
    assert vectors.status_code == 200, vectors.text
    assert [len(v) for v in vectors.json()] == [384, 384]
    # Each model's name on its request lines: nginx's access line and the handler's own.
    deadline = time.monotonic() + 5
    while 'target_model="qa.tar.gz"' not in mme.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert 'model=three-qa target_model="qa.tar.gz"' in mme.log()
    assert "model 'sentiment.tar.gz' request" in mme.log()
    for name, _, _ in three:
        assert requests.delete(f"{mme.url}/models/{name}", timeout=60).status_code == 200


def test_an_explain_request_is_a_400_saying_a_multi_model_endpoint_has_no_worker_for_it(mme, qa):
    """Its models' workers batch every request and are sized by the memory budget: no explanations here."""
    response = invoke(mme, qa, {**QA_BODY, "parameters": {"explain": True}})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "explanations are not available here: a multi-model endpoint has no "
        "worker to explain in; use a single-model endpoint"
    )
    assert "explanations: off (a multi-model endpoint)" in mme.log()


def test_metrics_are_per_model_by_name_and_follow_loads_and_unloads(mme, tiny_sentiment):
    names = {
        "metrics-qa": (TINY_QA, "question-answering", QA_BODY),
        "metrics sentiment": (tiny_sentiment, "text-classification", {"inputs": ["good"]}),
    }
    for name, (url, _, _) in names.items():
        assert load(mme, name, url).status_code == 200
    for name, (_, _, body) in names.items():
        for _ in range(3):
            assert invoke(mme, name, body).status_code == 200
    assert invoke(mme, "not-loaded", QA_BODY).status_code == 404
    samples = metrics.scrape(mme.url)
    listed = len(requests.get(f"{mme.url}/models", params={"limit": 1000}, timeout=5).json()["models"])
    assert metrics.total(samples, "hf_serving_models_loaded") == listed
    for name, (_, task, _) in names.items():
        invoked = {"route": "/models/{name}/invoke", "model": name}
        assert metrics.total(samples, "hf_serving_requests_total", code="200", **invoked) == 3
        assert metrics.total(samples, "hf_serving_workers_ready", model=name) >= 1
        assert metrics.total(samples, "hf_serving_build_info", model=name, task=task) == 1
        assert (
            metrics.total(samples, "hf_serving_stage_duration_seconds_count", model=name, task=task, stage="inference")
            == 3
        )
        assert metrics.total(samples, "hf_serving_admission_slots", model=name) > 0
    # A model that is not loaded has no series of its own: its 404 is counted without a name.
    assert metrics.total(samples, "hf_serving_requests_total", route="/models/{name}/invoke", code="404", model="") >= 1
    assert not [s for s in metrics.series(samples, "hf_serving_requests_total") if s["model"] == "not-loaded"]
    assert requests.delete(f"{mme.url}/models/metrics-qa", timeout=60).status_code == 200
    after = metrics.scrape(mme.url)
    assert metrics.total(after, "hf_serving_models_loaded") == listed - 1
    assert metrics.total(after, "hf_serving_workers_ready", model="metrics-qa") == 0  # its processes are gone
    # An unloaded model's series go with it (tests/integration/test_multi_model_metrics.py): /metrics follows the
    # models loaded, not every model ever loaded.
    assert not [s for s in metrics.series(after, "hf_serving_requests_total") if s["model"] == "metrics-qa"]
    assert metrics.total(after, "hf_serving_requests_total", model="metrics sentiment", code="200") == 3
    assert requests.delete(f"{mme.url}/models/metrics sentiment", timeout=60).status_code == 200


def test_a_second_load_is_409_and_describe_and_list_page(mme, qa):
    again = load(mme, qa, TINY_QA)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "model_already_loaded" and again.json()["error"]["request_id"]
    described = requests.get(f"{mme.url}/models/qa", timeout=5)
    assert described.status_code == 200
    assert (described.json()["modelName"], described.json()["modelUrl"]) == ("qa", str(TINY_QA.resolve()))
    names = [m["modelName"] for m in requests.get(f"{mme.url}/models", timeout=5).json()["models"]]
    assert names == sorted(names) and "qa" in names
    first = requests.get(f"{mme.url}/models", params={"limit": 1}, timeout=5).json()
    assert [m["modelName"] for m in first["models"]] == names[:1]
    paged, token = [], first["nextPageToken"] if len(names) > 1 else None
    while token is not None:
        page = requests.get(f"{mme.url}/models", params={"limit": 1, "next_page_token": token}, timeout=5).json()
        paged += [m["modelName"] for m in page["models"]]
        token = page["nextPageToken"]
    assert names[:1] + paged == names


def test_unknown_models_and_routes_are_json_404s(mme):
    for response in (
        invoke(mme, "never-loaded", {"inputs": "x"}),
        requests.get(f"{mme.url}/models/never-loaded", timeout=5),
        requests.delete(f"{mme.url}/models/never-loaded", timeout=5),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "model_not_found"
        assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]
    single = mme.invoke({"inputs": "x"})
    assert single.status_code == 404 and "/models/{name}/invoke" in single.json()["error"]["message"]
    wrong = requests.put(f"{mme.url}/models", timeout=5)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_a_name_is_decoded_once_and_reaches_exactly_the_model_it_names(mme):
    # nginx decoded the path and Lua decoded the name again ('+' a space): /models/bert+lora/invoke reached "bert lora"
    # and /models/a%2541/invoke reached "aA", while the models API (decoding once) knew nothing of those models.
    def not_loaded(response: requests.Response) -> bool:
        return response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"

    assert load(mme, "bert lora", TINY_QA).status_code == 200
    assert load(mme, "aA", TINY_QA).status_code == 200
    try:
        assert invoke(mme, "bert%20lora", QA_BODY).status_code == 200
        assert not_loaded(invoke(mme, "bert+lora", QA_BODY))
        assert not_loaded(invoke(mme, "a%2541", QA_BODY))
        assert not_loaded(requests.get(f"{mme.url}/models/bert+lora", timeout=5))
        assert not_loaded(requests.get(f"{mme.url}/models/a%2541", timeout=5))
        assert load(mme, "bert+lora", TINY_QA).status_code == 200
        assert load(mme, "a%41", TINY_QA).status_code == 200
        for path, name in (
            ("bert+lora", "bert+lora"),
            ("bert%2Blora", "bert+lora"),
            ("a%2541", "a%41"),
            ("bert%20lora", "bert lora"),
            ("a%41", "aA"),
        ):
            answered = invoke(mme, path, QA_BODY)
            assert answered.status_code == 200, (path, answered.text)
            assert answered.json()["answer"] == invoke(mme, "aA", QA_BODY).json()["answer"] != ""
            described = requests.get(f"{mme.url}/models/{path}", timeout=5)
            assert (described.status_code, described.json()["modelName"]) == (200, name), path
        # Each unload takes its own model only.
        assert requests.delete(f"{mme.url}/models/bert+lora", timeout=60).status_code == 200
        assert not_loaded(invoke(mme, "bert+lora", QA_BODY))
        assert invoke(mme, "bert%20lora", QA_BODY).status_code == 200
        assert requests.delete(f"{mme.url}/models/a%2541", timeout=60).status_code == 200
        assert not_loaded(invoke(mme, "a%2541", QA_BODY))
        assert invoke(mme, "aA", QA_BODY).status_code == 200
    finally:
        for name in ("bert%20lora", "bert%2Blora", "aA", "a%2541"):
            requests.delete(f"{mme.url}/models/{name}", timeout=60)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "bad_request"),
        (b'{"model_name": "x"}', 400, "bad_request"),
        (b'{"model_name": "a/b", "url": "/tmp"}', 400, "bad_request"),
        (b'{"model_name": "x", "url": "/no/such/dir"}', 404, "model_files_not_found"),
        # What names no model gets that one answer, whatever the path is (nothing of the file system, no PID).
        (b'{"model_name": "x", "url": "/proc/self"}', 404, "model_files_not_found"),
        (b'{"model_name": "x", "url": "/etc"}', 404, "model_files_not_found"),
        (b"[" * 30_000 + b"]" * 30_000, 400, "bad_request"),
        (b'{"model_name": "x", "url": 1' + b"0" * 5000 + b"}", 400, "bad_request"),
    ],
)
def test_a_bad_load_request_is_a_json_4xx(mme, body, status, code):
    logged = len(mme.log())
    response = requests.post(f"{mme.url}/models", data=body, timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    message = response.json()["error"]["message"]
    assert "sys." not in message and f"/proc/{mme.process.pid}" not in message
    assert "Traceback" not in mme.log()[logged:]
    if code == "model_files_not_found":
        assert message.endswith(
            "is not a model directory in this container (a directory holding config.json or modules.json)"
        )


def test_each_model_runs_its_own_code(mme, qa, tmp_path):
    hooked = with_code(tmp_path, TINY_QA, HOOKED_CODE)
    assert load(mme, "hooked-qa", hooked).status_code == 200
    with_hooks = invoke(mme, "hooked-qa", QA_BODY).json()
    plain = invoke(mme, qa, QA_BODY).json()
    assert with_hooks == {"from_user_code": True, "prediction": plain}
    assert requests.delete(f"{mme.url}/models/hooked-qa", timeout=60).status_code == 200


@pytest.mark.parametrize("failure", ["model_fn raises", "corrupt weights", "unknown architecture", "worker killed"])
def test_a_model_that_cannot_load_is_an_error_naming_the_cause_and_leaves_nothing(mme, qa, tmp_path, failure):
    before = zygote_forks(mme)
    if failure == "model_fn raises":
        url, status, code, cause = (
            with_code(tmp_path, TINY_QA, FAILING_CODE),
            500,
            "model_load_failed",
            "ValueError: this model_fn always fails",
        )
    elif failure == "corrupt weights":
        url = tmp_path / "corrupt"
        shutil.copytree(TINY_QA, url)
        for weights in url.glob("*.safetensors"):
            weights.write_bytes(b"\x00" * 64)
        status, code, cause = 500, "model_load_failed", "failed to load"
    elif failure == "worker killed":
        url, status, code, cause = (
            with_code(tmp_path, TINY_QA, DYING_CODE),
            500,
            "model_load_failed",
            "died 3 times while loading",
        )
    else:
        url = tmp_path / "unknown"
        shutil.copytree(TINY_QA, url)
        config = (url / "config.json").read_text().replace("DistilBertForQuestionAnswering", "DistilBertForMagic")
        (url / "config.json").write_text(config)
        status, code, cause = 400, "unsupported_model", "DistilBertForMagic"
    failed = load(mme, "broken", url)
    assert (failed.status_code, failed.json()["error"]["code"]) == (status, code), failed.text
    assert cause in failed.json()["error"]["message"]
    assert requests.get(f"{mme.url}/models/broken", timeout=5).status_code == 404
    assert processes_of(mme, "broken") == [] and zygote_forks(mme) == before
    assert invoke(mme, qa, QA_BODY).status_code == 200 and mme.ping().status_code == 200
    assert invoke(mme, "broken", QA_BODY).status_code == 404


SLOW_LOAD_CODE = """
import time

from hf_serving.serving.default_hooks import model_fn as default_model_fn


def model_fn(model_dir, context=None):
    time.sleep(4)
    return default_model_fn(model_dir, context)
"""


def test_an_invocation_of_a_model_still_loading_waits_for_the_load(mme, tmp_path):
    slow = with_code(tmp_path, TINY_QA, SLOW_LOAD_CODE)
    loaded: dict[str, requests.Response] = {}
    loader = threading.Thread(target=lambda: loaded.update(response=load(mme, "slow-load", slow)))
    loader.start()
    deadline = time.monotonic() + 30
    while requests.get(f"{mme.url}/models/slow-load", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.05)
    time.sleep(1.0)  # registered with the model server, its model_fn still sleeping
    assert requests.get(f"{mme.url}/models/slow-load", timeout=5).json()["status"] == "loading"
    began = time.monotonic()
    answer = invoke(mme, "slow-load", QA_BODY)
    loader.join(timeout=60)
    assert loaded["response"].status_code == 200, loaded["response"].text
    assert answer.status_code == 200, answer.text
    assert QA_BODY["inputs"]["context"][answer.json()["start"] : answer.json()["end"]] == answer.json()["answer"]
    assert time.monotonic() - began > 1.0  # it waited for model_fn rather than failing at once
    assert requests.delete(f"{mme.url}/models/slow-load", timeout=60).status_code == 200


def test_delete_answers_once_the_model_processes_are_gone_and_it_can_load_again(mme, tiny_sentiment):
    assert load(mme, "to-unload", tiny_sentiment).status_code == 200
    processes = processes_of(mme, "to-unload")
    assert len(processes) == 3, processes  # MMS's client, the listener the zygote forked for it, the worker
    assert invoke(mme, "to-unload", {"inputs": "fine"}).status_code == 200
    deleted = requests.delete(f"{mme.url}/models/to-unload", timeout=60)
    assert (deleted.status_code, deleted.json()) == (200, {"status": "model 'to-unload' unloaded"})
    assert [p for p in processes if alive(p)] == []
    gone = invoke(mme, "to-unload", {"inputs": "fine"})
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "model_not_found")
    assert requests.delete(f"{mme.url}/models/to-unload", timeout=60).status_code == 404
    assert load(mme, "to-unload", tiny_sentiment).status_code == 200
    assert invoke(mme, "to-unload", {"inputs": "fine"}).status_code == 200
    assert requests.delete(f"{mme.url}/models/to-unload", timeout=60).status_code == 200


class Traffic:
    """Invocations of one model, two at a time, recording every status, until stopped."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack, self.name = stack, name
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]

    def _run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            response = session.post(f"{self.stack.url}/models/{self.name}/invoke", json=QA_BODY, timeout=60)
            self.statuses.append(response.status_code)

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def test_loading_unloading_and_a_crash_elsewhere_leave_another_model_serving(mme, qa, tiny_sentiment):
    with Traffic(mme, qa) as traffic:
        for _ in range(3):
            assert load(mme, "churn", tiny_sentiment).status_code == 200
            assert invoke(mme, "churn", {"inputs": "ok"}).status_code == 200
            assert requests.delete(f"{mme.url}/models/churn", timeout=60).status_code == 200
        assert load(mme, "crashing", tiny_sentiment).status_code == 200
        workers = workers_of(mme, "crashing")
        assert len(workers) == 1, workers
        workers[0].send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 60
        while invoke(mme, "crashing", {"inputs": "ok"}).status_code != 200:
            assert time.monotonic() < deadline, "the killed model's worker never came back"
            time.sleep(0.2)
        assert requests.delete(f"{mme.url}/models/crashing", timeout=60).status_code == 200
    assert len(traffic.statuses) > 20
    assert set(traffic.statuses) == {200}, sorted(set(traffic.statuses))


@pytest.fixture
def lone_mme(tmp_path):
    """A multi-model endpoint of its own, for a test that restarts the whole model server."""
    yield from running_mme(tmp_path)


def test_a_dead_worker_listener_restarts_the_model_server_which_loads_every_model_again(lone_mme, tiny_sentiment):
    mme = lone_mme
    assert load(mme, "qa", TINY_QA).status_code == 200
    assert load(mme, "second", tiny_sentiment).status_code == 200
    [worker] = workers_of(mme, "qa")
    listener = worker.parent()
    assert listener is not None and "zygote" in listener.cmdline()
    listener.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 90
    while "lost a worker listener" not in mme.log():
        assert time.monotonic() < deadline, "the launcher never noticed"
        time.sleep(0.2)
    for name, body in (("qa", QA_BODY), ("second", {"inputs": "fine"})):
        while True:
            try:
                if invoke(mme, name, body).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"model {name} never answered again"
            time.sleep(0.3)
    assert "starting model 'qa' again after the model server's restart" in mme.log()
    assert {m["modelName"] for m in requests.get(f"{mme.url}/models", timeout=5).json()["models"]} >= {"qa", "second"}


SLOW_CODE = """
import time

def predict_fn(data, model):
    time.sleep(data.pop("sleep_s", 0))
    return model.predict(data)
"""


@pytest.fixture(scope="module")
def small_mme_stack(tmp_path_factory):
    """A tight memory budget and an API key: SERVE_MEMORY_LIMIT_MB stands in for the container's limit."""
    yield from running_mme(
        tmp_path_factory.mktemp("small-mme"),
        SERVE_MEMORY_LIMIT_MB="900",
        SERVE_MEMORY_HEADROOM_MB="0",
        SERVE_API_KEY="k" * 20,
        SAGEMAKER_MODEL_SERVER_TIMEOUT="3",
        INSTALL_CODE_REQUIREMENTS="true",
    )


@pytest.fixture
def small_mme(small_mme_stack) -> Iterator[Stack]:
    """The tight endpoint with no model loaded when a test starts: what a test leaves (the budget test fills the
    budget) is unloaded after it, so that the next finds the whole budget free."""
    yield small_mme_stack
    key = {"X-Api-Key": "k" * 20}
    listed = requests.get(f"{small_mme_stack.url}/models", params={"limit": 1000}, headers=key, timeout=5).json()
    for model in listed["models"]:
        unloaded = requests.delete(
            f"{small_mme_stack.url}/models/{quote(model['modelName'], safe='')}", headers=key, timeout=60
        )
        assert unloaded.status_code == 200, unloaded.text


def test_models_need_the_api_key_outside_sagemaker(small_mme):
    for response in (
        requests.get(f"{small_mme.url}/models", timeout=5),
        load(small_mme, "x", TINY_QA),
        invoke(small_mme, "x", QA_BODY),
    ):
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert requests.get(f"{small_mme.url}/models", headers={"X-Api-Key": "k" * 20}, timeout=5).status_code == 200


GREETS = """
import greeting_for_tests


def predict_fn(data, model):
    return {"greeting": greeting_for_tests.GREETING}
"""


def test_each_model_installs_its_own_requirements_and_a_failing_install_is_a_400(small_mme, tmp_path):
    key = {"X-Api-Key": "k" * 20}
    for name in ("greets-a", "greets-b"):
        wheel = module_wheel(tmp_path / name / "wheel", "greeting_for_tests", f"GREETING = 'hello from {name}'\n")
        model = with_code(tmp_path / name, TINY_QA, GREETS)
        (model / "code" / "requirements.txt").write_text(f"{wheel}\n")
        loaded = load(small_mme, name, model, **key)
        assert loaded.status_code == 200, loaded.text
    for name in ("greets-a", "greets-b"):  # the same module name, each model's own copy
        assert invoke(small_mme, name, QA_BODY, **key).json() == {"greeting": f"hello from {name}"}
        assert requests.delete(f"{small_mme.url}/models/{name}", headers=key, timeout=60).status_code == 200
    broken = with_code(tmp_path / "broken", TINY_QA, GREETS)
    (broken / "code" / "requirements.txt").write_text(f"{tmp_path / 'no-such-package.whl'}\n")
    failed = load(small_mme, "broken-requirements", broken, **key)
    assert (failed.status_code, failed.json()["error"]["code"]) == (400, "requirements_failed"), failed.text
    assert requests.get(f"{small_mme.url}/models/broken-requirements", headers=key, timeout=5).status_code == 404


def test_one_model_over_the_invocation_timeout_is_a_504_and_the_others_answer_meanwhile(small_mme, tmp_path):
    key = {"X-Api-Key": "k" * 20}
    assert load(small_mme, "slow", with_code(tmp_path, TINY_QA, SLOW_CODE), **key).status_code == 200
    assert load(small_mme, "fast", TINY_QA, **key).status_code == 200
    results: dict[str, requests.Response] = {}
    slow = threading.Thread(
        target=lambda: results.update(slow=invoke(small_mme, "slow", {**QA_BODY, "sleep_s": 6}, **key))
    )
    slow.start()
    time.sleep(0.5)
    fast = [invoke(small_mme, "fast", QA_BODY, **key) for _ in range(5)]
    slow.join(timeout=30)
    assert [r.status_code for r in fast] == [200] * 5
    timed_out = results["slow"]
    assert (timed_out.status_code, timed_out.json()["error"]["code"]) == (504, "timeout")
    deadline = time.monotonic() + 30
    while (again := invoke(small_mme, "slow", QA_BODY, **key)).status_code != 200:  # its worker serves again
        assert time.monotonic() < deadline, again.text
        time.sleep(0.5)
    for name in ("slow", "fast"):
        assert requests.delete(f"{small_mme.url}/models/{name}", headers=key, timeout=60).status_code == 200


SPINNING_CODE = """
def predict_fn(data, model):
    while data.get("spin"):
        pass
    return model.predict(data)
"""


def test_a_model_worker_spinning_past_the_invocation_timeout_is_killed_and_replaced(small_mme, tmp_path):
    key = {"X-Api-Key": "k" * 20}
    assert load(small_mme, "spins", with_code(tmp_path, TINY_QA, SPINNING_CODE), **key).status_code == 200
    [spinning] = workers_of(small_mme, "spins")
    timed_out = invoke(small_mme, "spins", {**QA_BODY, "spin": True}, **key)
    assert (timed_out.status_code, timed_out.json()["error"]["code"]) == (504, "timeout")
    deadline = time.monotonic() + 60
    while alive(spinning) or invoke(small_mme, "spins", QA_BODY, **key).status_code != 200:
        assert time.monotonic() < deadline, small_mme.log()[-3000:]
        time.sleep(0.5)
    assert f"worker {spinning.pid} is still busy" in small_mme.log()
    [replacement] = workers_of(small_mme, "spins")
    assert replacement.pid != spinning.pid
    assert not psutil.pid_exists(spinning.pid) or psutil.Process(spinning.pid).status() != psutil.STATUS_ZOMBIE
    assert requests.delete(f"{small_mme.url}/models/spins", headers=key, timeout=60).status_code == 200


def test_a_load_past_the_memory_budget_is_507_before_anything_starts_and_fits_again_after_an_unload(small_mme):
    key = {"X-Api-Key": "k" * 20}
    loaded, refusal = [], None
    for index in range(12):
        before = zygote_forks(small_mme)
        response = load(small_mme, f"qa-{index}", TINY_QA, **key)
        if response.status_code == 507:
            refusal = response
            assert zygote_forks(small_mme) == before  # refused before any process started
            break
        assert response.status_code == 200, response.text
        loaded.append(f"qa-{index}")
    assert refusal is not None, "12 models fitted in a 900 MB budget"
    assert loaded, "not even one model fitted"
    error = refusal.json()["error"]
    assert error["code"] == "insufficient_memory" and "MB" in error["message"]
    # What SageMaker does next: unload the least recently used model, and retry.
    assert requests.delete(f"{small_mme.url}/models/{loaded[0]}", headers=key, timeout=60).status_code == 200
    retried = load(small_mme, "qa-retried", TINY_QA, **key)
    assert retried.status_code == 200, retried.text
    assert invoke(small_mme, "qa-retried", QA_BODY, **key).status_code == 200
