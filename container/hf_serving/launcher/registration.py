"""The endpoint's two modes, chosen once (`choose`): what the supervisor (launcher/supervisor.py) runs beside its
children, and how the model server gets its model(s) after each of its starts.

- SingleModel: the model of the directory (HF_MODEL_DIR, or the Hub's download), registered with MMS at each start
  of the model server; readiness then follows the workers' own reports (launcher/readiness.py).
- MultiModel (SAGEMAKER_MULTI_MODEL): no model at start; the launcher's management API (multi_model/api.py) loads
  and unloads them through the lifecycle (multi_model/lifecycle.py), in processes forked from a zygote; after a
  restart of the model server, the models it held are registered again.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import urllib.error
from collections.abc import Callable

from hf_serving.errors import ConfigurationError
from hf_serving.launcher import banner, mms, zygote
from hf_serving.launcher.model_server_models import MmsModels
from hf_serving.launcher.plan import Plan
from hf_serving.launcher.readiness import watch_workers
from hf_serving.launcher.supervisor import ModelServerRun, Supervisor
from hf_serving.loading import code_requirements, model_store
from hf_serving.multi_model.api import ModelsApi
from hf_serving.multi_model.lifecycle import Lifecycle
from hf_serving.multi_model.memory_budget import MemoryBudget, process_tree
from hf_serving.multi_model.registry import READY
from hf_serving.serving.worker_reports import ready_worker_descriptions

log = logging.getLogger("hf_serving.serve")  # the launcher's one logger (launcher/supervisor.py)

ZYGOTE = "zygote"


class SingleModel:
    def __init__(self, plan: Plan, supervisor: Supervisor) -> None:
        self.plan = plan
        self.readiness = supervisor.readiness
        self.stop_requested = supervisor.stop_requested

    def prepare(self) -> None:
        """Before the banner: code/requirements.txt installed where the workers import from (a multi-model
        endpoint's: at each load)."""
        settings = self.plan.settings
        requirements = settings.code_dir / "requirements.txt"
        if not requirements.is_file():
            return
        if not settings.install_code_requirements:
            log.info("%s skipped: set INSTALL_CODE_REQUIREMENTS=true to pip-install it at start", requirements)
            return
        log.info("installing %s", requirements)
        failure = code_requirements.install(requirements, self.plan.code_packages)
        if failure is not None:
            raise ConfigurationError(f"pip could not install {requirements} ({failure})")

    def describe(self) -> list[str]:
        return banner.single_model_lines(self.plan)

    def worker_python(self) -> str:
        return sys.executable

    def helpers(self) -> dict[str, list[str]]:
        return {}

    def start_services(self) -> None:
        # Readiness follows the workers' reports once the model is registered (a multi-model endpoint's loads
        # watch their own workers).
        threading.Thread(
            target=watch_workers,
            args=(self.readiness, self.plan.runtime_dir, self.stop_requested),
            name="watch-workers",
            daemon=True,
        ).start()

    def serve(self, run: ModelServerRun) -> None:
        if not run.wait_until_up():
            return
        started = time.monotonic()
        config = self.plan.mms_config
        try:
            run.client.register(config, timeout_s=run.time_left())
            if self.plan.explanation_worker:  # it loads its model at its first request: registered in a second or two
                run.client.register(
                    mms.explanation_config(config), name=model_store.EXPLAIN_MODEL_NAME, timeout_s=run.time_left()
                )
        except (OSError, urllib.error.URLError) as exc:
            detail = exc.read().decode(errors="replace") if isinstance(exc, urllib.error.HTTPError) else exc
            if run.current():
                run.fail(f"the model server could not start the model: {detail}")
            return
        if not run.latest():
            return  # that model server died while it registered; its successor registers itself
        log.info("model registered with %d worker(s) in %.1f s", self.plan.workers, time.monotonic() - started)
        for loaded in sorted(set(ready_worker_descriptions(self.plan.runtime_dir))):
            log.info("serving %s", loaded)  # what the workers really loaded, fallbacks included
        run.ready("model loaded and warmed up")

    def still_served(self, mms_name: str) -> bool:
        return True

    def models_loaded(self) -> int:
        return int(self.readiness.state == "ready")

    def models_known(self) -> Callable[[], set[str]] | None:
        return None

    def stop(self) -> None:
        pass


class MultiModel:
    def __init__(self, plan: Plan, supervisor: Supervisor) -> None:
        self.plan = plan
        self.budget = MemoryBudget(plan.settings, lambda: process_tree(os.getpid()))
        models = MmsModels(
            plan.mms_config,
            supervisor.java_pid,
            plan.edge_port,
            register_timeout_s=60.0,
            zygote_children=plan.zygote_children,
        )
        self.lifecycle = Lifecycle(
            plan.settings,
            plan.runtime_dir,
            mms.model_store_dir(plan.runtime_dir),
            mms.HANDLER,
            models,
            self.budget,
            plan.workers,
            plan.gpus,
            on_change=supervisor.note_listeners,
        )
        self.models_api: ModelsApi | None = None

    def prepare(self) -> None:
        pass  # each model's code/requirements.txt is installed at its load

    def describe(self) -> list[str]:
        return banner.multi_model_lines(self.budget.describe())

    def worker_python(self) -> str:
        """MMS's Python processes are forked from the zygote, which imported torch and transformers once."""
        self.plan.zygote_socket.unlink(missing_ok=True)  # a previous run's, in a SERVE_RUNTIME_DIR kept
        return str(zygote.wrapper_script(self.plan.runtime_dir, self.plan.zygote_socket))

    def helpers(self) -> dict[str, list[str]]:
        return {ZYGOTE: self.plan.zygote_command}

    def start_services(self) -> None:
        self.models_api = ModelsApi(self.lifecycle, self.plan.models_api_port)
        self.models_api.start()

    def serve(self, run: ModelServerRun) -> None:
        """Ready once the model server answers, with no model; after a restart of the model server, the models it
        held are started again first."""
        # The zygote too: its socket appears once torch and transformers are imported, and the first load is fast.
        if not run.wait_until_up(also=self.plan.zygote_socket.exists):
            if run.timed_out():
                run.fail("the model server or the zygote did not start")
            return
        if not run.first:
            self.lifecycle.reregister_all()
        run.ready("the model server is up; models are loaded by POST /models")

    def still_served(self, mms_name: str) -> bool:
        """Not a model unloaded since its listener was noted."""
        return any(r.entry.mms_name == mms_name and r.state == READY for r in self.lifecycle.registry.all())

    def models_loaded(self) -> int:
        return sum(record.state == READY for record in self.lifecycle.registry.all())

    def models_known(self) -> Callable[[], set[str]] | None:
        return lambda: {record.name for record in self.lifecycle.registry.all()}

    def stop(self) -> None:
        if self.models_api is not None:
            self.models_api.stop()


def choose(plan: Plan, supervisor: Supervisor) -> SingleModel | MultiModel:
    """The one place that asks which endpoint this is."""
    return MultiModel(plan, supervisor) if plan.multi_model else SingleModel(plan, supervisor)
