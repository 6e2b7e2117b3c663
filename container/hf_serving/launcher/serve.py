"""`serve`: configure, start and supervise nginx and multi-model-server until told to stop.

The launcher plans (launcher/plan.py: ports, sizes, the children's commands and environment, nginx's values),
shows the plan (launcher/banner.py), lays out the runtime directory, then hands over to the supervisor
(launcher/supervisor.py), which starts the children and restarts one that dies, a few times a minute at most, while
the endpoint's mode (launcher/registration.py) registers its model, or serves POST /models on a multi-model endpoint.
Exit status: 0 after SIGTERM/SIGINT once in-flight requests finished; 1 if the model failed to load or a child kept
dying; 2 for a configuration error or a host without nginx or Java (named in one log line, before anything starts).
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import threading
from pathlib import Path

from hf_serving.api_docs import spec
from hf_serving.errors import ConfigurationError
from hf_serving.launcher import banner, host_tools, mms, nginx, registration
from hf_serving.launcher.plan import Plan, make_plan
from hf_serving.launcher.processes import become_subreaper
from hf_serving.launcher.readiness import Readiness
from hf_serving.launcher.supervisor import Supervisor
from hf_serving.loading.source import resolve_model_dir
from hf_serving.observability import collector, logs
from hf_serving.serving.worker_reports import BUSY_WORKERS_DIR, LOAD_FAILURE_FILE, READY_WORKERS_DIR, SERVED_MARK
from hf_serving.settings import Settings, early_log_format
from hf_serving.tasks.base import ModelFacts
from hf_serving.tasks.registry import parameter_schemas, read_model_facts

log = logging.getLogger("hf_serving.serve")

TEXT_LOG_PATTERN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main() -> int:
    logs.configure(sys.stdout, early_log_format(), "INFO", TEXT_LOG_PATTERN)
    lacking = host_tools.missing()
    if lacking:
        log.error("%s", host_tools.describe_missing(lacking))
        return 2
    try:
        settings = Settings.from_environ()
        logs.configure(sys.stdout, settings.log_format, settings.log_level, TEXT_LOG_PATTERN)
        # A multi-model endpoint starts with no model: SageMaker loads them with POST /models.
        model_dir = None if settings.multi_model else resolve_model_dir(settings)
        return Stack(settings, model_dir).run()
    except ConfigurationError as exc:
        log.error("configuration error: %s", exc)
        return 2


class Stack:
    """One run of the launcher: the plan, carried out by the supervisor in the endpoint's mode."""

    def __init__(self, settings: Settings, model_dir: Path | None) -> None:
        self.plan: Plan = make_plan(settings, model_dir)  # refuses a model whose task cannot be told
        runtime_dir = self.plan.runtime_dir
        runtime_dir.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as another user when the launcher is root: they must see the ready file.
        runtime_dir.chmod(0o755)
        self.stop_requested = threading.Event()
        self.supervisor = Supervisor(self.plan, Readiness(self.plan.ready_file), self.stop_requested)
        self.mode = registration.choose(self.plan, self.supervisor)

    def run(self) -> int:
        self.mode.prepare()
        banner.log_banner(self.plan, self.mode.describe())
        self._lay_out_runtime_dir()
        become_subreaper()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop_requested.set())
        try:
            return self.supervisor.run(self.mode)
        finally:
            if self.plan.settings.runtime_dir is None:
                shutil.rmtree(self.plan.runtime_dir, ignore_errors=True)

    def _lay_out_runtime_dir(self) -> None:
        """The files the children read: nginx's and MMS's configuration, the model store, the API description."""
        plan, runtime_dir = self.plan, self.plan.runtime_dir
        for stale in (LOAD_FAILURE_FILE, SERVED_MARK):  # a previous run's, in a SERVE_RUNTIME_DIR kept
            (runtime_dir / stale).unlink(missing_ok=True)
        for stale_dir in (READY_WORKERS_DIR, BUSY_WORKERS_DIR):
            shutil.rmtree(runtime_dir / stale_dir, ignore_errors=True)
        collector.reset_directory(plan.metrics_dir)
        if plan.settings.docs:  # /openapi.json and /openapi.yaml, for this container (api_docs/spec.py)
            task_spec, model_dir = plan.task_spec, plan.model_dir
            facts = read_model_facts(task_spec, model_dir) if task_spec and model_dir else ModelFacts()
            spec.write(
                runtime_dir,
                task_spec.task.value if task_spec is not None else None,
                api_key=plan.settings.api_key is not None,
                schemas=parameter_schemas(),
                prompt_names=facts.prompt_names,
                vocabulary=facts.vocabulary,
                width=facts.width,
                labels=facts.labels,
            )
        nginx.write_config(runtime_dir, plan.nginx_values)
        mms.write_runtime_files(
            runtime_dir, plan.mms_config, single_model=not plan.multi_model, explanation_worker=plan.explanation_worker
        )
