"""The endpoint's two modes (launcher/registration.py), chosen once from the plan: what each adds to the stack, and
what each does after a start of the model server, driven through a stand-in for that start (no process runs)."""

from __future__ import annotations

import sys
import threading
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

from hf_serving.launcher import mms
from hf_serving.launcher.plan import HostFacts, Plan, make_plan
from hf_serving.launcher.readiness import Readiness
from hf_serving.launcher.registration import MultiModel, SingleModel, choose
from hf_serving.launcher.supervisor import Supervisor
from hf_serving.loading import model_store
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA, minilm


def plan_for(tmp_path: Path, model_dir: Path | None = TINY_QA, **settings: object) -> Plan:
    runtime = tmp_path / "runtime"
    runtime.mkdir(exist_ok=True)
    host = HostFacts((20001, 20002, 20003, 20004, 20005), runtime, 0, None, "", {})
    return make_plan(Settings(model_dir=TINY_QA, runtime_dir=runtime, **settings), model_dir, host)


def mode_for(plan: Plan) -> SingleModel | MultiModel:
    return choose(plan, Supervisor(plan, Readiness(plan.ready_file), threading.Event()))


@dataclass
class FakeClient:
    refuse: Exception | None = None
    registered: list[tuple[str, int, int]] = field(default_factory=list)

    def register(self, config: mms.MmsConfig, timeout_s: float, name: str = mms.MODEL_NAME) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.registered.append((name, config.workers, config.batch_size))


@dataclass
class FakeRun:
    """One start of the model server, up at once, as ModelServerRun shows it."""

    client: FakeClient
    first: bool = True
    still_latest: bool = True
    failed: list[str] = field(default_factory=list)
    readied: list[str] = field(default_factory=list)

    def wait_until_up(self, also=lambda: True) -> bool:
        return also()

    def time_left(self) -> float:
        return 60.0

    def timed_out(self) -> bool:
        return True

    def current(self) -> bool:
        return self.still_latest

    def latest(self) -> bool:
        return self.still_latest

    def fail(self, message: str) -> None:
        self.failed.append(message)

    def ready(self, reason: str) -> None:
        self.readied.append(reason)


def test_the_mode_is_chosen_from_the_settings_once(tmp_path):
    assert isinstance(mode_for(plan_for(tmp_path)), SingleModel)
    assert isinstance(mode_for(plan_for(tmp_path, None, multi_model=True)), MultiModel)


def test_a_single_model_endpoint_runs_no_helper_and_its_workers_on_this_python(tmp_path):
    mode = mode_for(plan_for(tmp_path))
    assert mode.helpers() == {} and mode.worker_python() == sys.executable
    assert mode.models_known() is None and mode.still_served("anything")


def test_a_single_model_is_registered_with_its_explanation_worker_then_ready(tmp_path):
    plan = plan_for(tmp_path)
    run = FakeRun(FakeClient())
    mode_for(plan).serve(run)
    config = plan.mms_config
    assert run.client.registered == [
        (mms.MODEL_NAME, config.workers, config.batch_size),
        (model_store.EXPLAIN_MODEL_NAME, 1, 1),
    ]
    assert (run.readied, run.failed) == (["model loaded and warmed up"], [])


def test_a_task_without_explanations_registers_the_model_alone(tmp_path):
    run = FakeRun(FakeClient())
    mode_for(plan_for(tmp_path, minilm())).serve(run)
    assert [name for name, _, _ in run.client.registered] == [mms.MODEL_NAME]


def test_a_refused_registration_stops_the_container_unless_that_model_server_is_gone(tmp_path):
    mode = mode_for(plan_for(tmp_path))
    refused = FakeRun(FakeClient(refuse=urllib.error.URLError("refused")))
    mode.serve(refused)
    assert refused.failed == ["the model server could not start the model: <urlopen error refused>"]
    assert refused.readied == []
    replaced = FakeRun(FakeClient(refuse=urllib.error.URLError("refused")), still_latest=False)
    mode.serve(replaced)
    assert replaced.failed == [] and replaced.readied == []


def test_a_multi_model_endpoint_forks_its_workers_from_the_zygote(tmp_path):
    plan = plan_for(tmp_path, None, multi_model=True)
    mode = mode_for(plan)
    assert mode.helpers() == {"zygote": plan.zygote_command}
    wrapper = Path(mode.worker_python())
    assert wrapper.parent == plan.runtime_dir and str(plan.zygote_socket) in wrapper.read_text()
    models_known = mode.models_known()
    assert models_known is not None and models_known() == set()
    assert mode.models_loaded() == 0 and not mode.still_served("unknown-model")


def test_a_multi_model_endpoint_is_ready_with_no_model_once_the_zygote_listens(tmp_path):
    plan = plan_for(tmp_path, None, multi_model=True)
    mode = mode_for(plan)
    waiting = FakeRun(FakeClient())
    mode.serve(waiting)  # no zygote socket yet, and the deadline passed
    assert waiting.failed == ["the model server or the zygote did not start"] and waiting.readied == []
    plan.zygote_socket.touch()
    up = FakeRun(FakeClient(), first=False)
    mode.serve(up)
    assert up.readied == ["the model server is up; models are loaded by POST /models"] and up.failed == []
