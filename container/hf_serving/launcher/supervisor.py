"""The children's lives: start nginx, the model server (Java, with MMS's Python processes under it) and the
endpoint mode's helpers (a multi-model endpoint's zygote), watch them, restart one that dies, stop them all.

A child that dies is restarted, a few times a minute at most (RESTARTS_PER_MINUTE; past that the container exits 1);
so is the model server when it has had no ready worker for DEGRADED_LIMIT_S, or lost a worker listener, which
multi-model-server never restarts. After each start of the model server, the endpoint's mode
(launcher/registration.py) registers its model(s) in a thread of its own, through a `ModelServerRun`.
"""

from __future__ import annotations

import logging
import shutil
import signal
import threading
import time
from collections.abc import Callable
from typing import Protocol

from hf_serving.launcher import mms, nginx
from hf_serving.launcher.mms_fix import MmsFixError
from hf_serving.launcher.plan import Plan
from hf_serving.launcher.processes import Child, Children
from hf_serving.launcher.readiness import Readiness
from hf_serving.launcher.stuck_workers import kill_stuck_workers
from hf_serving.launcher.supervision import RestartBudget, listener_models, model_listeners
from hf_serving.observability import collector
from hf_serving.observability.metrics_server import MetricsServer
from hf_serving.serving.worker_reports import READY_WORKERS_DIR, load_failure
from hf_serving.settings import LogFormat

# The launcher's lines, whichever of its modules writes them, come from one logger: "hf_serving.serve".
log = logging.getLogger("hf_serving.serve")

SHUTDOWN_GRACE_S = 25.0  # SageMaker sends SIGKILL 30 s after SIGTERM
# After the model server has stopped, its Python workers end on their own (their connections closed), writing what
# data capture still holds (monitoring/capture/capture.py); killed if they have not within this.
WORKERS_EXIT_S = 4.0
# MMS restarts a dead worker within seconds; if none is back after this long, the model server is restarted.
DEGRADED_LIMIT_S = 20.0
STARTUP_TIMEOUT_S = 600.0
# Restarts of one child allowed in any minute; past that the container exits 1.
RESTARTS_PER_MINUTE = 5
LISTENER_CHECK_INTERVAL_S = 0.5
NGINX = "nginx"
MODEL_SERVER = "model server"


class Fatal(Exception):
    """The stack cannot go on: log the reason and exit 1."""


class Mode(Protocol):
    """What differs between a single-model and a multi-model endpoint (launcher/registration.py)."""

    def worker_python(self) -> str:
        """What MMS runs its Python processes with; may write it into the runtime directory."""
        ...

    def helpers(self) -> dict[str, list[str]]:
        """Children started before the model server and restarted like nginx, by name."""
        ...

    def start_services(self) -> None:
        """Threads and servers of the launcher's own, before nginx starts."""
        ...

    def serve(self, run: ModelServerRun) -> None:
        """After a start of the model server, in a thread of its own: register the model(s), say when ready."""
        ...

    def still_served(self, mms_name: str) -> bool:
        """Whether a worker listener of this MMS model should still be alive."""
        ...

    def models_loaded(self) -> int: ...

    def models_known(self) -> Callable[[], set[str]] | None:
        """The models whose series /metrics keeps, in any state; None: the one model."""
        ...

    def stop(self) -> None: ...


class ModelServerRun:
    """One start of the model server, as the mode's registration sees it from its thread."""

    def __init__(self, supervisor: Supervisor, generation: int) -> None:
        self.client = mms.ManagementClient(supervisor.plan.mms_config.management_port)
        self.generation = generation
        self.deadline = time.monotonic() + STARTUP_TIMEOUT_S
        self._supervisor = supervisor

    @property
    def first(self) -> bool:
        """False after a restart: what the model server held must be registered again."""
        return self.generation == 1

    def latest(self) -> bool:
        """Whether this is still the model server running: a registration of one that died counts for nothing."""
        return self.generation == self._supervisor.generation and self._supervisor.model_server is not None

    def current(self) -> bool:
        """The latest, and no stop requested."""
        return not self._supervisor.stop_requested.is_set() and self.generation == self._supervisor.generation

    def time_left(self) -> float:
        return max(1.0, self.deadline - time.monotonic())

    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def wait_until_up(self, also: Callable[[], bool] = lambda: True) -> bool:
        """Until the management API answers (and `also` holds); False on a stop, the deadline, or a newer start."""
        while not (self.client.is_up() and also()):
            if not self.current() or self.timed_out():
                return False
            time.sleep(0.1)
        return True

    def fail(self, message: str) -> None:
        """The container exits 1 with this reason, at the supervisor's next check."""
        self._supervisor.registration_error = message

    def ready(self, reason: str) -> None:
        self._supervisor.note_listeners()  # every worker has loaded: its listener is up
        self._supervisor.readiness.set("ready", reason)


class Supervisor:
    def __init__(self, plan: Plan, readiness: Readiness, stop_requested: threading.Event) -> None:
        self.plan = plan
        self.readiness = readiness
        self.stop_requested = stop_requested
        self.children = Children(json_logs=plan.settings.log_format == LogFormat.JSON)
        self.env = plan.child_env
        self.commands: dict[str, list[str]] = {}
        self.running: dict[str, Child] = {}  # by name: nginx, the model server, the mode's helpers
        self.budgets: dict[str, RestartBudget] = {}
        self.generation = 0  # of the model server: a registration of one that died since counts for nothing
        self.listeners: dict[int, str] = {}  # pid -> the model it serves
        self.listeners_checked = 0.0
        self.registration_error: str | None = None
        self.metrics_server: MetricsServer | None = None

    @property
    def model_server(self) -> Child | None:
        return self.running.get(MODEL_SERVER)

    def java_pid(self) -> int | None:
        server = self.model_server
        return server.pid if server is not None else None

    def note_listeners(self) -> None:
        """The models changed (or were registered): the listeners of the ready ones are the ones to watch."""
        server = self.model_server
        if server is not None:
            self.listeners = listener_models(server.pid)

    def run(self, mode: Mode) -> int:
        """Until a stop is requested (0, once in-flight requests finished) or the stack cannot go on (1)."""
        self.mode = mode
        try:
            python = mode.worker_python()
            for name, command in mode.helpers().items():
                self._start(name, command)
            model_server_command = mms.java_command(self.plan.runtime_dir, self.plan.mms_config.jvm_args, python)
        except MmsFixError as exc:
            log.error("%s", exc)
            return 1
        mode.start_services()
        metrics = collector.WorkerMetricsCollector(self.plan.metrics_dir, mode.models_loaded, mode.models_known())
        self.metrics_server = MetricsServer(metrics, self.plan.metrics_port)
        self.metrics_server.start()
        self._start(NGINX, nginx.nginx_command(self.plan.nginx_conf))
        self.commands[MODEL_SERVER] = model_server_command
        self._start_model_server()
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

    def _start(self, name: str, command: list[str]) -> None:
        self.commands[name] = command
        self.budgets.setdefault(name, RestartBudget(RESTARTS_PER_MINUTE, 60.0))
        self.running[name] = self.children.start(name, command, self.env)

    def _start_model_server(self) -> None:
        self.generation += 1
        self.listeners = {}
        self._start(MODEL_SERVER, self.commands[MODEL_SERVER])
        run = ModelServerRun(self, self.generation)
        threading.Thread(target=self.mode.serve, args=(run,), name="register", daemon=True).start()

    def _check_health(self) -> None:
        for child in self.children.reap():
            if not self.stop_requested.is_set() and self.running.get(child.name) is child:
                self._restart(child, f"exited on its own with status {child.exit_status}")
        failure = load_failure(self.plan.runtime_dir)
        if failure is not None:
            raise Fatal(f"the model failed to load: {failure}")
        if self.registration_error is not None:
            raise Fatal(self.registration_error)
        kill_stuck_workers(self.plan.runtime_dir)  # past the invocation timeout: replaced, never left computing beside
        if self.readiness.state in ("ready", "degraded"):  # registered: its listeners are up, or were
            self._check_listeners()
        server = self.model_server
        if self.readiness.degraded_for() > DEGRADED_LIMIT_S and server is not None:
            self._restart(server, f"has had no model worker for {DEGRADED_LIMIT_S:.0f} s")

    def _check_listeners(self) -> None:
        """MMS never restarts a worker listener that died: the model server is restarted instead."""
        now = time.monotonic()
        server = self.model_server
        if now - self.listeners_checked < LISTENER_CHECK_INTERVAL_S or server is None:
            return
        self.listeners_checked = now
        alive = model_listeners(server.pid)
        lost = [model for pid, model in self.listeners.items() if pid not in alive and self.mode.still_served(model)]
        if lost:
            self._restart(server, "lost a worker listener, which multi-model-server never restarts")

    def _restart(self, child: Child, why: str) -> None:
        if not self.budgets[child.name].spend():
            raise Fatal(f"{child.name} {why}, more than {RESTARTS_PER_MINUTE} times in a minute")
        log.warning("%s %s: restarting it", child.name, why)
        # The whole group: nginx's workers outlive a killed master and hold the port; Java's Python processes; the
        # zygote's forked processes (MMS restarts their workers through the new one).
        if child.running:
            self.children.stop_group(child, 2.0)
        self.children.signal_group(child, signal.SIGKILL)
        self.children.wait_group_gone(child, 5.0)  # its listening sockets are free only then
        if child.name != MODEL_SERVER:
            self._start(child.name, self.commands[child.name])
            return
        self.readiness.set("restarting", f"the model server {why}")
        shutil.rmtree(self.plan.runtime_dir / READY_WORKERS_DIR, ignore_errors=True)
        self._start_model_server()

    def _shutdown(self, graceful: bool) -> None:
        self.readiness.set("stopping", "the container is stopping")
        front, back = self.running[NGINX], self.running[MODEL_SERVER]
        helpers = [child for name, child in self.running.items() if name not in (NGINX, MODEL_SERVER)]
        if front.running:
            # SIGQUIT: nginx stops accepting, finishes the requests in flight, then exits.
            self.children.signal_group(front, signal.SIGQUIT if graceful else signal.SIGTERM)
            if not self.children.wait_for(front, SHUTDOWN_GRACE_S if graceful else 2.0):
                self.children.stop_group(front, 1.0)
        if back.running:
            self.children.stop_group(back, 3.0, then_wait_s=WORKERS_EXIT_S if graceful else 0.0)
        if graceful:
            for child in helpers:  # a multi-model endpoint's workers were forked by the zygote: they are in its group
                self.children.wait_followers_gone(child, WORKERS_EXIT_S)
        for child in (front, back, *helpers):
            # A group can outlive its leader: nginx's worker when its master was killed, MMS's Python workers.
            self.children.signal_group(child, signal.SIGKILL)
        self.children.reap_all()
        self.mode.stop()
        if self.metrics_server is not None:
            self.metrics_server.stop()
