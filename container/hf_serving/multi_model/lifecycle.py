"""Loading and unloading the models of a multi-model endpoint: what POST /models and DELETE /models/{name} do.

A load is synchronous, as SageMaker expects: it answers 200 only once every worker of the model has run model_fn
and a warm-up inference. MMS is asked to start the workers without waiting (its own synchronous registration
waits forever on a worker whose model_fn fails, since it retries it); the workers' own reports (serving/
worker_reports.py, in the model's scratch directory) say when they are ready or why they failed. A failed load
is undone completely (unregistered, processes gone, files removed) before the error is answered, so the endpoint
and the other models go on as if it had never been tried.

An unload stops new invocations first (nginx routes on the model's serving mark), lets the ones in flight finish,
has MMS stop the workers, and answers only when the model's processes are gone (model_processes.py): their memory
is free then.

A model's states and their order are the registry's (registry.py: LOADING, then READY, then UNLOADING, then
forgotten); this module moves a model through them. What it refuses it raises as Refused, by the error code alone:
the HTTP status is the API's to give (api.py, from the error catalogue).
"""

from __future__ import annotations

import logging
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from hf_serving.engines import select
from hf_serving.errors import ConfigurationError
from hf_serving.loading import code_requirements, model_store
from hf_serving.loading.model_store import StoreEntry
from hf_serving.multi_model import model_processes
from hf_serving.multi_model.memory_budget import MIB, MemoryBudget, estimate_model_bytes
from hf_serving.multi_model.registry import LOADING, Conflict, ModelRecord, Registry
from hf_serving.serving.worker_reports import load_failure, ready_worker_descriptions, workers_died_loading
from hf_serving.settings import Settings
from hf_serving.tasks.registry import detect

log = logging.getLogger("hf_serving.models")

LOAD_TIMEOUT_S = 360.0  # SageMaker lets a load run this long
UNLOAD_DRAIN_S = 30.0  # invocations in flight on a model being unloaded may finish within this
MAX_NAME_LENGTH = 256
POLL_S = 0.05
# What a model directory holds at least: a transformers model's config, or a sentence-transformers layout's modules.
MODEL_FILES = ("config.json", "modules.json")
MAX_LOAD_ATTEMPTS = 3  # worker starts per worker before a load whose workers keep dying is given up


@dataclass(frozen=True)
class Refused(Exception):
    """A load or unload refused, or a request to the model management API: its error code (error_catalogue.py)
    and the message the caller reads. The API answers it with the code's status."""

    code: str
    message: str


class ModelServer(Protocol):
    """What the lifecycle needs of the running model server (launcher/serve.py provides it)."""

    def register(self, name: str, workers: int) -> None: ...
    def unregister(self, name: str) -> None: ...
    def processes_of(self, name: str) -> list[psutil.Process]: ...
    def in_flight(self, name: str) -> int: ...


class Lifecycle:
    def __init__(
        self,
        settings: Settings,
        runtime_dir: Path,
        model_store_dir: Path,
        handler: str,
        server: ModelServer,
        budget: MemoryBudget,
        workers_per_model: int,
        gpus: int,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.runtime_dir = runtime_dir
        self.model_store_dir = model_store_dir
        self.handler = handler
        self.server = server
        self.budget = budget
        self.workers = workers_per_model
        self.dtype = select.dtype_on_gpu(settings.dtype, True) if gpus else select.dtype_on_cpu(settings.dtype)
        self.on_change = on_change
        self.registry = Registry()

    # POST /models
    def load(self, name: object, url: object) -> ModelRecord:
        entry = StoreEntry(name=_checked_name(name), url=_checked_url(url))
        given = str(url)
        try:
            detection = detect(entry.url, self.settings.task)
        except ConfigurationError as exc:
            # Named by the url as sent: the resolved path may say more of the container (a link's target, a PID).
            message = str(exc).replace(str(entry.url), given.removeprefix("file://").rstrip("/"))
            raise Refused("unsupported_model", f"model {entry.name!r} cannot be served: {message}") from None
        spec = detection.spec
        log.info(
            "model %r: task %s (from %s%s)",
            entry.name,
            spec.task.value,
            detection.found_by.value,
            f"; {detection.ignored_tag}" if detection.ignored_tag else "",
        )
        estimate = estimate_model_bytes(entry.url, spec.weights_dir(entry.url), self.dtype, self.workers)
        record = ModelRecord(entry=entry, state=LOADING, task=spec.task.value, estimate_bytes=estimate, given_url=given)
        try:
            self.registry.begin_load(record, lambda reserved: self._check_fits(entry.name, estimate, reserved))
        except Conflict as exc:
            raise Refused("model_already_loaded", str(exc)) from None
        started = time.monotonic()
        try:
            self._start(entry)
            loaded = self._wait_until_ready(entry, started + LOAD_TIMEOUT_S)
        except Refused:
            self._undo(entry)
            raise
        except BaseException:
            log.exception("loading model %r failed", entry.name)
            self._undo(entry)
            raise Refused(
                "model_load_failed", f"model {entry.name!r} could not be loaded; the server log has the details"
            ) from None
        load_s = time.monotonic() - started
        self.registry.mark_ready(entry.name, load_s, loaded)
        log.info("model %r loaded from %s in %.2f s: %s", entry.name, entry.url, load_s, loaded)
        self.on_change()
        ready = self.registry.get(entry.name)
        assert ready is not None
        return ready

    # DELETE /models/{name}
    def unload(self, name: str) -> None:
        try:
            record = self.registry.begin_unload(name)
        except Conflict as exc:
            raise Refused("model_busy", str(exc)) from None
        if record is None:
            raise Refused("model_not_found", f"model {name!r} is not loaded")
        started = time.monotonic()
        scratch = model_store.scratch_dir(self.runtime_dir, record.entry.mms_name)
        (scratch / model_store.SERVING_MARK).unlink(missing_ok=True)  # new invocations get 404 from here on
        self._drain(record.entry)
        self._stop(record.entry)
        model_store.remove_entry(self.model_store_dir, self.runtime_dir, record.entry)
        self.registry.forget(name)
        log.info("model %r unloaded in %.2f s", name, time.monotonic() - started)
        self.on_change()

    def reregister_all(self) -> None:
        """After the model server was restarted: every model it held is started again."""
        for record in self.registry.all():
            if record.state == LOADING:
                continue  # its load is still waiting on its workers, and registers nothing again
            log.info("starting model %r again after the model server's restart", record.name)
            try:
                self.server.register(record.entry.mms_name, self.workers)
            except (OSError, urllib.error.URLError) as exc:
                log.error("model %r could not be started again: %s", record.name, exc)

    def _check_fits(self, name: str, estimate: int, reserved: int) -> None:
        available = self.budget.available_bytes(reserved)
        if estimate > available:
            raise Refused(
                "insufficient_memory",
                f"model {name!r} needs about {estimate / MIB:.0f} MB and {max(0, available) / MIB:.0f} MB "
                f"of the memory budget is free; unload a model and retry",
            )

    def _start(self, entry: StoreEntry) -> None:
        scratch = model_store.scratch_dir(self.runtime_dir, entry.mms_name)
        scratch.mkdir(parents=True, exist_ok=True)
        self._install_requirements(entry, scratch)
        model_store.write_entry(self.model_store_dir, entry, self.handler)
        (scratch / model_store.SERVING_MARK).touch()  # invocations now reach MMS, which holds them until ready
        try:
            self.server.register(entry.mms_name, self.workers)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise Refused(
                "insufficient_memory" if exc.code == 507 else "model_load_failed",
                f"the model server refused model {entry.name!r}: {detail}",
            ) from None

    def _install_requirements(self, entry: StoreEntry, scratch: Path) -> None:
        requirements = entry.url / "code" / "requirements.txt"
        if not requirements.is_file():
            return
        if not self.settings.install_code_requirements:
            log.info("%s skipped: set INSTALL_CODE_REQUIREMENTS=true to pip-install it at load", requirements)
            return
        log.info("installing %s for model %r", requirements, entry.name)
        failure = code_requirements.install(requirements, scratch / model_store.CODE_PACKAGES)
        if failure is not None:
            raise Refused(
                "requirements_failed", f"pip could not install {requirements} for model {entry.name!r} ({failure})"
            )

    def _wait_until_ready(self, entry: StoreEntry, deadline: float) -> str:
        scratch = model_store.scratch_dir(self.runtime_dir, entry.mms_name)
        while time.monotonic() < deadline:
            failure = load_failure(scratch)
            if failure is not None:
                raise Refused(*_classify_failure(entry.name, failure))
            described = ready_worker_descriptions(scratch)
            if len(described) >= self.workers:
                return described[0]
            deaths = workers_died_loading(scratch)  # MMS starts a dead worker again, forever
            if deaths >= self.workers * MAX_LOAD_ATTEMPTS:
                raise Refused(*self._died_while_loading(entry, deaths))
            time.sleep(POLL_S)
        raise Refused("load_timeout", f"model {entry.name!r} was not loaded within {LOAD_TIMEOUT_S:.0f} s")

    def _died_while_loading(self, entry: StoreEntry, deaths: int) -> tuple[str, str]:
        """A worker that dies without a word (killed by the kernel, a crash in native code, os._exit in model_fn):
        MMS would start it again forever. Out of memory when the budget has no room for the model any more."""
        record = self.registry.get(entry.name)
        estimate = record.estimate_bytes if record is not None else 0
        if self.budget.available_bytes() < estimate:
            return "insufficient_memory", (
                f"model {entry.name!r}: its worker died {deaths} times while loading, "
                "and the memory budget has no room for it: unload a model and retry"
            )
        return "model_load_failed", (
            f"model {entry.name!r}: its worker process died {deaths} times while "
            "loading, without an error (killed by a signal, or a crash in native code)"
        )

    def _drain(self, entry: StoreEntry) -> None:
        deadline = time.monotonic() + UNLOAD_DRAIN_S
        while self.server.in_flight(entry.mms_name) > 0 and time.monotonic() < deadline:
            time.sleep(POLL_S)

    def _stop(self, entry: StoreEntry) -> None:
        """Unregister from MMS and wait for the model's processes to be gone (killed if they linger)."""
        known = self.server.processes_of(entry.mms_name)  # before MMS stops them: model_processes.wait_gone
        try:
            self.server.unregister(entry.mms_name)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                log.warning("the model server could not unregister model %r: %s", entry.name, exc)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("the model server could not unregister model %r: %s", entry.name, exc)
        model_processes.wait_gone(known, lambda: self.server.processes_of(entry.mms_name), entry.name)

    def _undo(self, entry: StoreEntry) -> None:
        scratch = model_store.scratch_dir(self.runtime_dir, entry.mms_name)
        (scratch / model_store.SERVING_MARK).unlink(missing_ok=True)
        self._stop(entry)
        model_store.remove_entry(self.model_store_dir, self.runtime_dir, entry)
        self.registry.forget(entry.name)
        self.on_change()


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise Refused("bad_request", f"model_name must be a string of 1 to {MAX_NAME_LENGTH} characters")
    if "/" in name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name) or name in (".", ".."):
        raise Refused("bad_request", "model_name may not hold '/' or control characters")
    return name


def _checked_url(url: object) -> Path:
    """The model's directory, resolved. A path that is no directory and a directory without a model's files get the
    same answer: a key holder must not learn from it what else the container's file system holds."""
    if not isinstance(url, str) or not url:
        raise Refused("bad_request", "url must name the model's directory, e.g. /opt/ml/models/<name>/model")
    path = Path(url.removeprefix("file://"))
    try:
        found = path.is_absolute() and path.is_dir() and any((path / name).is_file() for name in MODEL_FILES)
    except OSError:  # unreadable, a name too long: not a model directory either
        found = False
    if not found:
        raise Refused(
            "model_files_not_found",
            f"url {url!r} is not a model directory in this container (a directory holding {' or '.join(MODEL_FILES)})",
        )
    return path.resolve()


def _classify_failure(name: str, failure: str) -> tuple[str, str]:
    """A worker's load failure (`ExceptionType: message`) as the error code and message the caller gets."""
    kind = failure.partition(":")[0]
    if kind == "MemoryError":
        return "insufficient_memory", f"model {name!r} ran out of memory while loading: {failure}"
    if kind == "ConfigurationError":
        return "unsupported_model", f"model {name!r} cannot be served: {failure}"
    return "model_load_failed", f"model {name!r} failed to load: {failure}"


def describe(record: ModelRecord) -> dict[str, object]:
    """GET /models/{name}'s answer: SageMaker's two fields, and what this container knows of the model."""
    return {
        "modelName": record.name,
        "modelUrl": record.shown_url,
        "status": record.state,
        "task": record.task,
        "loaded": record.loaded,
        "loadSeconds": None if record.load_s is None else round(record.load_s, 3),
        "memoryEstimateMB": round(record.estimate_bytes / MIB),
    }
