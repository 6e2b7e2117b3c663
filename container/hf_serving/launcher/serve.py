"""`serve`: configure, start and supervise nginx and multi-model-server until told to stop.

nginx, the model server (Java) and MMS's worker listeners are restarted when they die (launcher/supervision.py),
a few times a minute at most. Exit status: 0 after SIGTERM/SIGINT once in-flight requests finished; 1 if the model
failed to load or a child kept dying; 2 for a configuration error or a host without nginx or Java (named in one
log line, before anything starts).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
from pathlib import Path

import hf_serving
from hf_serving import hardware
from hf_serving.api_docs import assets, site, spec
from hf_serving.caching import response_cache
from hf_serving.engines import select
from hf_serving.errors import ConfigurationError
from hf_serving.launcher import admission, cors, host_tools, mms, nginx, route_locations, zygote
from hf_serving.launcher.edge import api_key_checks, describe_connections, docs_values, edge_values, rate_limit
from hf_serving.launcher.mms_fix import MmsFixError
from hf_serving.launcher.model_server_models import MmsModels
from hf_serving.launcher.ports import pick_ports
from hf_serving.launcher.processes import Child, Children, become_subreaper
from hf_serving.launcher.readiness import Readiness, watch_workers
from hf_serving.launcher.stuck_workers import kill_stuck_workers
from hf_serving.launcher.supervision import RestartBudget, listener_models, model_listeners
from hf_serving.loading import code_requirements, model_store
from hf_serving.loading.sizing import effective_batch_size, effective_threads, effective_workers
from hf_serving.loading.source import has_random_weights, resolve_model_dir
from hf_serving.multi_model.api import ModelsApi
from hf_serving.multi_model.lifecycle import Lifecycle
from hf_serving.multi_model.memory_budget import MemoryBudget, process_tree
from hf_serving.multi_model.registry import READY
from hf_serving.observability import collector, logs
from hf_serving.observability.metrics_server import MetricsServer
from hf_serving.serving.worker_reports import (
    BUSY_WORKERS_DIR,
    LOAD_FAILURE_FILE,
    READY_WORKERS_DIR,
    SERVED_MARK,
    load_failure,
    ready_worker_descriptions,
)
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from hf_serving.tasks.explaining import MAX_EXPLAINED_ITEMS, MAX_STEPS
from hf_serving.tasks.registry import Detection, FoundBy, detect, parameter_schemas

log = logging.getLogger("hf_serving.serve")

SHUTDOWN_GRACE_S = 25.0  # SageMaker sends SIGKILL 30 s after SIGTERM
# After the model server has stopped, its Python workers end on their own (their connections closed), writing what
# data capture still holds (monitoring/capture/capture.py); killed if they have not within this.
WORKERS_EXIT_S = 4.0
# MMS restarts a dead worker within seconds; if none is back after this long, the model server is restarted.
DEGRADED_LIMIT_S = 20.0
STARTUP_TIMEOUT_S = 600.0
# Restarts of nginx or of the model server allowed per child in any minute; past that the container exits 1.
RESTARTS_PER_MINUTE = 5
LISTENER_CHECK_INTERVAL_S = 0.5
TEXT_LOG_PATTERN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MME_SPIN_COUNT = "10000"  # libgomp's spins before a waiting thread sleeps, on a multi-model endpoint


class Fatal(Exception):
    """The stack cannot go on: log the reason and exit 1."""


def main() -> int:
    logs.configure(sys.stdout, os.environ.get("LOG_FORMAT", "text").lower(), "INFO", TEXT_LOG_PATTERN)
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
    def __init__(self, settings: Settings, model_dir: Path | None) -> None:
        self.settings = settings
        self.model_dir = model_dir
        # Refused here, before any process starts.
        self.detection = detect(model_dir, settings.task) if model_dir is not None else None
        self.task_spec = self.detection.spec if self.detection is not None else None
        self.workers = effective_workers(settings)  # of the model; per model on a multi-model endpoint
        # Explain requests get a worker of their own (loading/explainer.py), on a single-model endpoint of a task that
        # explains (another task's explain request is its batching worker's 400: no model is loaded to refuse it).
        self.explanation_worker = settings.explain and self.task_spec is not None and self.task_spec.explainable
        self.threads = effective_threads(settings, self.workers)
        ports = pick_ports(5, settings.safe_port_range, exclude={settings.port})
        self.edge_port = ports[2]  # nginx's inner hop to the model server (docker/nginx.conf)
        self.models_api_port = ports[3]  # the launcher's model management API (multi-model endpoints)
        self.metrics_port = ports[4]  # the workers' metrics, for nginx's /metrics
        batch_size = effective_batch_size(settings)
        max_response_bytes = settings.max_response_bytes + mms.MIB  # room above the answer limit (mms.py)
        answers_at_once = self.workers * batch_size + (1 if self.explanation_worker else 0)
        self.mms_config = mms.MmsConfig(
            inference_port=ports[0],
            management_port=ports[1],
            workers=self.workers,
            batch_size=batch_size,
            max_batch_delay_ms=settings.max_batch_delay_ms,
            response_timeout_s=max(2 * settings.invocation_timeout_s, settings.invocation_timeout_s + 60),
            max_request_bytes=(settings.max_payload_mb + 1) * mms.MIB,
            max_response_bytes=max_response_bytes,
            # Never full: nginx lets at most this many requests in at once (launcher/admission.py).
            job_queue_size=admission.slots(self.workers, batch_size) + 16,
            jvm_args=settings.jvm_args or mms.default_jvm_args(answers_at_once, max_response_bytes),
            log_level=settings.log_level,
            log_format=settings.log_format,
        )
        self.runtime_dir = settings.runtime_dir or Path(tempfile.mkdtemp(prefix="hf-serving-"))
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as another user when the launcher is root: they must see the ready file.
        self.runtime_dir.chmod(0o755)
        self.readiness = Readiness(self.runtime_dir / "ready")
        self.docs_assets = assets.installed_pin()  # the Swagger UI files /docs serves; None if never fetched
        self.stop_requested = threading.Event()
        self.registration_error: str | None = None
        self.children = Children(json_logs=settings.log_format == logs.JSON_FORMAT)
        self.env: dict[str, str] = {}
        self.front: Child | None = None  # nginx
        self.zygote: Child | None = None  # a multi-model endpoint's model processes fork from it (launcher/zygote.py)
        self.back: Child | None = None  # the model server (Java, with MMS's Python processes under it)
        self.generation = 0  # of the model server: a registration of one that died since counts for nothing
        self.listeners: dict[int, str] = {}  # pid -> the model it serves
        self.listeners_checked = 0.0
        self.budgets = {name: RestartBudget(RESTARTS_PER_MINUTE, 60.0) for name in ("nginx", "model server", "zygote")}
        self.lifecycle: Lifecycle | None = None
        self.models_api: ModelsApi | None = None
        self.metrics_server: MetricsServer | None = None
        if settings.multi_model:
            self.budget = MemoryBudget(settings, lambda: process_tree(os.getpid()))
            models = MmsModels(
                self.mms_config,
                lambda: self.back.pid if self.back is not None else None,
                self.edge_port,
                register_timeout_s=60.0,
                zygote_children=self._zygote_children,
            )
            self.lifecycle = Lifecycle(
                settings,
                self.runtime_dir,
                mms.model_store_dir(self.runtime_dir),
                mms.HANDLER,
                models,
                self.budget,
                self.workers,
                hardware.gpu_count(),
                on_change=self._note_listeners,
            )

    def run(self) -> int:
        self._install_code_requirements()
        self._print_banner()
        for stale in (LOAD_FAILURE_FILE, SERVED_MARK):  # a previous run's, in a SERVE_RUNTIME_DIR kept
            (self.runtime_dir / stale).unlink(missing_ok=True)
        for stale_dir in (READY_WORKERS_DIR, BUSY_WORKERS_DIR):
            shutil.rmtree(self.runtime_dir / stale_dir, ignore_errors=True)
        collector.reset_directory(self._metrics_dir)
        become_subreaper()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop_requested.set())
        try:
            return self._supervise()
        finally:
            if self.settings.runtime_dir is None:
                shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def _supervise(self) -> int:
        self.env = self._child_env()
        try:
            python = sys.executable
            if self.lifecycle is not None:
                python = str(zygote.wrapper_script(self.runtime_dir, self._zygote_socket))
                self._zygote_socket.unlink(missing_ok=True)  # a previous run's, in a SERVE_RUNTIME_DIR kept
                self.zygote = self.children.start("zygote", self._zygote_command, self.env)
            self.model_server_command = mms.java_command(self.runtime_dir, self.mms_config.jvm_args, python)
        except MmsFixError as exc:
            log.error("%s", exc)
            return 1
        if self.settings.docs:  # /openapi.json and /openapi.yaml, for this container (api_docs/spec.py)
            spec.write(
                self.runtime_dir,
                self.task_spec.task.value if self.task_spec is not None else None,
                api_key=self.settings.api_key is not None,
                schemas=parameter_schemas(),
            )
        self.nginx_conf = nginx.write_config(self.runtime_dir, self._nginx_values())
        mms.write_runtime_files(
            self.runtime_dir,
            self.mms_config,
            single_model=self.lifecycle is None,
            explanation_worker=self.explanation_worker,
        )
        if self.lifecycle is not None:
            self.models_api = ModelsApi(self.lifecycle, self.models_api_port)
            self.models_api.start()
        models_known = self._models_known if self.lifecycle is not None else None
        self.metrics_server = MetricsServer(
            collector.WorkerMetricsCollector(self._metrics_dir, self._models_loaded, models_known), self.metrics_port
        )
        self.metrics_server.start()
        self.front = self.children.start("nginx", nginx.nginx_command(self.nginx_conf), self.env)
        self._start_model_server()
        if self.lifecycle is None:  # a multi-model endpoint's loads watch their own workers
            threading.Thread(
                target=watch_workers,
                args=(self.readiness, self.runtime_dir, self.stop_requested),
                name="watch-workers",
                daemon=True,
            ).start()
        try:
            while not self.stop_requested.wait(0.1):
                self._check_health()
        except Fatal as exc:
            log.error("%s; stopping the container", exc)
            self._shutdown(graceful=False)
            return 1
        log.info("stop requested: finishing in-flight requests (up to %.0f s)", SHUTDOWN_GRACE_S)
        self._shutdown(graceful=True)
        log.info("stopped")
        return 0

    def _start_model_server(self) -> None:
        self.generation += 1
        self.listeners = {}
        self.back = self.children.start("model server", self.model_server_command, self.env)
        client = mms.ManagementClient(self.mms_config.management_port)
        target = self._register if self.lifecycle is None else self._serve_models
        threading.Thread(target=target, args=(client, self.generation), name="register", daemon=True).start()

    @property
    def _metrics_dir(self) -> Path:
        return self.runtime_dir / "metrics"

    def _models_loaded(self) -> int:
        if self.lifecycle is None:
            return int(self.readiness.state == "ready")
        return sum(record.state == READY for record in self.lifecycle.registry.all())

    def _models_known(self) -> set[str]:
        """A multi-model endpoint's models, in any state: the series /metrics keeps."""
        assert self.lifecycle is not None
        return {record.name for record in self.lifecycle.registry.all()}

    @property
    def _zygote_socket(self) -> Path:
        return self.runtime_dir / "zygote.sock"

    @property
    def _zygote_children(self) -> Path:
        return self.runtime_dir / "zygote-children"

    @property
    def _zygote_command(self) -> list[str]:
        return [sys.executable, "-m", "hf_serving", "zygote", str(self._zygote_socket), str(self._zygote_children)]

    def _check_health(self) -> None:
        for child in self.children.reap():
            if not self.stop_requested.is_set() and child in (self.front, self.back, self.zygote):
                self._restart(child, f"exited on its own with status {child.exit_status}")
        failure = load_failure(self.runtime_dir)
        if failure is not None:
            raise Fatal(f"the model failed to load: {failure}")
        if self.registration_error is not None:
            raise Fatal(self.registration_error)
        kill_stuck_workers(self.runtime_dir)  # past the invocation timeout: replaced, never left computing beside
        if self.readiness.state in ("ready", "degraded"):  # registered: its listeners are up, or were
            self._check_listeners()
        if self.readiness.degraded_for() > DEGRADED_LIMIT_S and self.back is not None:
            self._restart(self.back, f"has had no model worker for {DEGRADED_LIMIT_S:.0f} s")

    def _check_listeners(self) -> None:
        """MMS never restarts a worker listener that died: the model server is restarted instead."""
        now = time.monotonic()
        if now - self.listeners_checked < LISTENER_CHECK_INTERVAL_S or self.back is None:
            return
        self.listeners_checked = now
        alive = model_listeners(self.back.pid)
        lost = [model for pid, model in self.listeners.items() if pid not in alive and self._still_served(model)]
        if lost:
            self._restart(self.back, "lost a worker listener, which multi-model-server never restarts")

    def _still_served(self, model: str) -> bool:
        """Whether a listener's model should still have one (not a model of a multi-model endpoint unloaded since)."""
        if self.lifecycle is None:
            return True
        return any(r.entry.mms_name == model and r.state == READY for r in self.lifecycle.registry.all())

    def _note_listeners(self) -> None:
        """A multi-model endpoint's models changed: the listeners of the ready ones are the ones to watch."""
        if self.back is not None:
            self.listeners = listener_models(self.back.pid)

    def _restart(self, child: Child, why: str) -> None:
        if not self.budgets[child.name].spend():
            raise Fatal(f"{child.name} {why}, more than {RESTARTS_PER_MINUTE} times in a minute")
        log.warning("%s %s: restarting it", child.name, why)
        # The whole group: nginx's workers outlive a killed master and hold the port; Java's Python processes.
        if child.running:
            self.children.stop_group(child, 2.0)
        self.children.signal_group(child, signal.SIGKILL)
        self.children.wait_group_gone(child, 5.0)  # its listening sockets are free only then
        if child is self.front:
            self.front = self.children.start("nginx", nginx.nginx_command(self.nginx_conf), self.env)
            return
        if child is self.zygote:
            # Its forked processes went with it (same group): MMS restarts their workers through the new one.
            self.zygote = self.children.start("zygote", self._zygote_command, self.env)
            return
        self.readiness.set("restarting", f"the model server {why}")
        shutil.rmtree(self.runtime_dir / READY_WORKERS_DIR, ignore_errors=True)
        self._start_model_server()

    def _register(self, client: mms.ManagementClient, generation: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not client.is_up():
            if self.stop_requested.is_set() or time.monotonic() > deadline or generation != self.generation:
                return
            time.sleep(0.1)
        started = time.monotonic()
        try:
            client.register(self.mms_config, timeout_s=max(1.0, deadline - time.monotonic()))
            if self.explanation_worker:  # it loads its model at its first request: registered in a second or two
                client.register(
                    mms.explanation_config(self.mms_config),
                    name=model_store.EXPLAIN_MODEL_NAME,
                    timeout_s=max(1.0, deadline - time.monotonic()),
                )
        except (OSError, urllib.error.URLError) as exc:
            detail = exc.read().decode(errors="replace") if isinstance(exc, urllib.error.HTTPError) else exc
            if not self.stop_requested.is_set() and generation == self.generation:
                self.registration_error = f"the model server could not start the model: {detail}"
            return
        if generation != self.generation or self.back is None:
            return  # that model server died while it registered; its successor registers itself
        self.listeners = listener_models(self.back.pid)  # every worker has loaded: its listener is up
        log.info("model registered with %d worker(s) in %.1f s", self.workers, time.monotonic() - started)
        for loaded in sorted(set(ready_worker_descriptions(self.runtime_dir))):
            log.info("serving %s", loaded)  # what the workers really loaded, fallbacks included
        self.readiness.set("ready", "model loaded and warmed up")

    def _serve_models(self, client: mms.ManagementClient, generation: int) -> None:
        """A multi-model endpoint is ready once its model server answers, with no model; after a restart of the
        model server, the models it held are started again first."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        # The zygote too: its socket appears once torch and transformers are imported, and the first load is fast.
        while not (client.is_up() and self._zygote_socket.exists()):
            if self.stop_requested.is_set() or time.monotonic() > deadline or generation != self.generation:
                if time.monotonic() > deadline:
                    self.registration_error = "the model server or the zygote did not start"
                return
            time.sleep(0.1)
        assert self.lifecycle is not None
        if generation > 1:
            self.lifecycle.reregister_all()
        self._note_listeners()
        self.readiness.set("ready", "the model server is up; models are loaded by POST /models")

    def _shutdown(self, graceful: bool) -> None:
        self.readiness.set("stopping", "the container is stopping")
        front, back = self.front, self.back
        assert front is not None and back is not None
        extra = [self.zygote] if self.zygote is not None else []
        if front.running:
            # SIGQUIT: nginx stops accepting, finishes the requests in flight, then exits.
            self.children.signal_group(front, signal.SIGQUIT if graceful else signal.SIGTERM)
            if not self.children.wait_for(front, SHUTDOWN_GRACE_S if graceful else 2.0):
                self.children.stop_group(front, 1.0)
        if back.running:
            self.children.stop_group(back, 3.0, then_wait_s=WORKERS_EXIT_S if graceful else 0.0)
        if graceful:
            for child in extra:  # a multi-model endpoint's workers were forked by the zygote: they are in its group
                self.children.wait_followers_gone(child, WORKERS_EXIT_S)
        for child in (front, back, *extra):
            # A group can outlive its leader: nginx's worker when its master was killed, MMS's Python workers.
            self.children.signal_group(child, signal.SIGKILL)
        self.children.reap_all()
        for server in (self.models_api, self.metrics_server):
            if server is not None:
                server.stop()

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.model_dir is not None:
            # The worker reads the resolved model directory (the Hub download, if any) and code/ from here; a
            # multi-model endpoint's workers, from their model's store entry.
            env.update({"HF_MODEL_DIR": str(self.model_dir), "SERVE_CODE_DIR": str(self.settings.code_dir)})
        env.update(
            {
                "SERVE_RUNTIME_DIR": str(self.runtime_dir),
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers),
                "MODEL_SERVER_THREADS": str(self.threads),
                # MMS's worker forces OMP_NUM_THREADS=1 unless it is set.
                "OMP_NUM_THREADS": str(self.threads),
                "MKL_NUM_THREADS": str(self.threads),
                # A batch's tokenisation on every core where a GPU runs the model (there the host side is the limit:
                # bench/README.md, "GPU"); off on CPU, where it would compete with torch's threads for the cores.
                "TOKENIZERS_PARALLELISM": os.environ.get(
                    "TOKENIZERS_PARALLELISM", "true" if hardware.gpu_count() else "false"
                ),
                "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                # Each worker's metrics, in files the launcher sums for /metrics (observability/worker_metrics.py).
                "PROMETHEUS_MULTIPROC_DIR": str(self._metrics_dir),
                # Several models' threads share the cores of a multi-model endpoint: a thread waiting for work
                # spins a little (fast hand-offs within a forward pass), then sleeps. Spinning longer, as libgomp
                # does by default, lets a model loading beside a busy one stall it (p99 3-5x steady state, 1.4x
                # with this); never sleeping slows every pass (bench/README.md, "Multi-model endpoints"). Read
                # once, by the zygote.
                **(
                    {"GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT", MME_SPIN_COUNT)}
                    if self.lifecycle is not None and "OMP_WAIT_POLICY" not in os.environ
                    else {}
                ),
                # The workers import hf_serving from where the launcher did (an install, or a checkout's container/).
                "PYTHONPATH": os.pathsep.join(
                    p
                    for p in (
                        str(Path(hf_serving.__file__).resolve().parents[1]),
                        str(self._code_packages),
                        env.get("PYTHONPATH", ""),
                    )
                    if p
                ),
            }
        )
        return env

    def _nginx_values(self) -> dict[str, str | int]:
        facts = route_locations.EdgeFacts(
            multi_model=self.lifecycle is not None,
            served_name=self.settings.served_model_name,
            ready_file=str(self.readiness.ready_file),
            runtime_dir=str(self.runtime_dir),
            max_payload_mb=self.settings.max_payload_mb,
            invocation_timeout_s=self.settings.invocation_timeout_s,
            outer_read_timeout_s=self.settings.invocation_timeout_s + 5,
            queue_timeout_s=self.settings.queue_timeout_s,
            client_timeout_s=self.settings.client_timeout_s,
            api_key_check=api_key_checks(self.settings),
            rate_limit=rate_limit(self.settings),
        )
        return {
            **edge_values(self.settings),
            **docs_values(self.settings, self.docs_assets),
            **route_locations.nginx_values(facts),
            **admission.nginx_values(self.settings, self.workers, self.mms_config.batch_size, self.explanation_worker),
            "NGINX_MODULES": host_tools.nginx_load_module_lines(),
            "MULTI_MODEL": int(self.lifecycle is not None),
            "MODELS_API_PORT": self.models_api_port,
            "METRICS_PORT": self.metrics_port,
            "PORT": self.settings.port,
            "BIND_ADDRESS": self.settings.bind_address,
            "MMS_PORT": self.mms_config.inference_port,
            "EDGE_PORT": self.edge_port,
            "READY_FILE": str(self.readiness.ready_file),
            "EXECUTION_PARAMETERS": json.dumps(self._execution_parameters(), separators=(",", ":")),
            "MAX_BODY_BYTES": self.settings.max_payload_mb * 1024 * 1024,
            "MAX_PAYLOAD_MB": self.settings.max_payload_mb,
            "INVOCATION_TIMEOUT_S": self.settings.invocation_timeout_s,
            # The inner hop answers 504 at the invocation timeout: the public one waits a little longer for it.
            "OUTER_READ_TIMEOUT_S": self.settings.invocation_timeout_s + 5,
        }

    def _execution_parameters(self) -> dict[str, object]:
        return {
            "MaxConcurrentTransforms": self.settings.max_concurrent_transforms or self.workers,
            "BatchStrategy": self.settings.batch_strategy,
            "MaxPayloadInMB": self.settings.max_payload_mb,
        }

    @property
    def _code_packages(self) -> Path:
        """Where code/requirements.txt is installed (INSTALL_CODE_REQUIREMENTS=true); on the workers' path."""
        return self.runtime_dir / "code-packages"

    def _install_code_requirements(self) -> None:
        requirements = self.settings.code_dir / "requirements.txt"
        if self.model_dir is None or not requirements.is_file():  # a multi-model endpoint's: at each load
            return
        if not self.settings.install_code_requirements:
            log.info("%s skipped: set INSTALL_CODE_REQUIREMENTS=true to pip-install it at start", requirements)
            return
        log.info("installing %s", requirements)
        failure = code_requirements.install(requirements, self._code_packages)
        if failure is not None:
            raise ConfigurationError(f"pip could not install {requirements} ({failure})")

    def _user_code(self) -> str:
        if self.model_dir is None:
            return "each model's own code/ (if any)"
        program = self.settings.code_dir / self.settings.user_program
        return str(program) if program.is_file() else f"none ({program} does not exist)"

    def _model_lines(self) -> list[str]:
        s = self.settings
        if self.model_dir is None or self.task_spec is None:
            assert self.lifecycle is not None
            return [
                "mode: multi-model endpoint (SAGEMAKER_MULTI_MODEL): no model until POST /models; each model's "
                "task, weights and code/ from its own directory",
                self.budget.describe(),
            ]
        from_hub = self.model_dir != s.model_dir.resolve()
        source = (
            f"Hugging Face Hub {s.model_id}@{s.model_revision or 'main'} -> {self.model_dir}"
            if from_hub
            else f"directory {self.model_dir}"
        )
        assert self.detection is not None
        return [f"model source: {source}", f"task: {self.task_spec.task.value} ({found_by(self.detection)})"]

    def _explanations_line(self) -> str:
        if self.explanation_worker:
            return (
                f"explanations: on, in a worker of their own (float32 torch, loaded at the first explain request; "
                f"at most {MAX_EXPLAINED_ITEMS} texts and {MAX_STEPS} steps); SERVE_EXPLAIN=off turns them off"
            )
        why = (
            "SERVE_EXPLAIN=off"
            if not self.settings.explain
            else "a multi-model endpoint"
            if self.task_spec is None
            else f"{self.task_spec.task.value} has none"
        )
        return f"explanations: off ({why})"

    def _print_banner(self) -> None:
        s = self.settings
        per_model = " per model" if self.lifecycle is not None else ""
        lines = [
            *self._model_lines(),
            hardware.describe_cores(),
            f"workers{per_model}: {self.workers}, torch threads per worker: {self.threads}, "
            f"batch size: {self.mms_config.batch_size} (max delay {s.max_batch_delay_ms} ms)",
            f"ports: public {s.bind_address}:{s.port}; on 127.0.0.1 model server {self.mms_config.inference_port}, "
            f"management {self.mms_config.management_port}, nginx's inner hop {self.edge_port}",
            select.describe_plan(s.engine, s.dtype, hardware.gpu_count()),
            f"API key: {'required' if s.api_key else 'off'}, rate limit: "
            f"{f'{s.rate_limit_rps} req/s per client' if s.rate_limit_rps else 'off'}, /metrics: "
            f"{ {'public': 'no key asked', 'key': 'behind the API key', 'off': 'off'}[s.metrics] }",
            describe_connections(s),
            cors.describe(s),
            admission.describe(s, self.workers, self.mms_config.batch_size),
            response_cache.describe(s),
            self._explanations_line(),
            f"invocation timeout: {s.invocation_timeout_s} s, max payload: {s.max_payload_mb} MB, "
            f"max answer: {s.max_response_mb} MB, "
            f"user code: {self._user_code()}",
        ]
        for line in lines:
            log.info("%s", line)
        if s.multi_model and s.api_key is not None and s.metrics == "public":
            log.warning(
                "/metrics is public (SERVE_METRICS=public) and names every model loaded, which GET /models "
                "shows only with the API key"
            )
        docs_warning, docs_line = site.describe(s.docs, self.docs_assets)
        log.log(logging.WARNING if docs_warning else logging.INFO, "%s", docs_line)
        if s.log_format == logs.JSON_FORMAT:  # the same, as fields (secrets, which settings never repr, left out)
            log.info(
                "start-up configuration",
                extra={
                    "configuration": {
                        **{f.name: _plain(getattr(s, f.name)) for f in dataclasses.fields(s) if f.repr},
                        "workers": self.workers,
                        "threads": self.threads,
                        "batch_size": self.mms_config.batch_size,
                        "task": self.task_spec.task.value if self.task_spec is not None else None,
                        "model_dir": str(self.model_dir) if self.model_dir is not None else None,
                    }
                },
            )
        if self.model_dir is not None and has_random_weights(self.model_dir):
            log.warning(
                "SERVING RANDOM WEIGHTS: %s is a demo model built offline; its answers are meaningless", self.model_dir
            )


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


# The layouts that name a task (TaskSpec.owns_directory), as the banner names them.
LAYOUTS = {
    Task.SENTENCE_EMBEDDINGS: "the sentence-transformers layout, modules.json",
    Task.TEXT_RANKING: "the sentence-transformers CrossEncoder layout",
}


def found_by(detection: Detection) -> str:
    """What decided the task, for the banner's task line; a model card's tag that did not decide, and why."""
    layout = LAYOUTS.get(detection.spec.task, "the directory's layout")
    words = {
        FoundBy.HF_TASK: "HF_TASK",
        FoundBy.LAYOUT: f"from {layout}",
        FoundBy.MODEL_CARD: "from README.md pipeline_tag",
        FoundBy.ARCHITECTURES: "from config.json architectures",
    }[detection.found_by]
    return f"{words}; {detection.ignored_tag}" if detection.ignored_tag else words
