"""What the model server's Python workers tell the launcher, through files in the runtime directory.

multi-model-server cannot be trusted on either point: it retries a worker whose model_fn fails forever
(while its /ping says healthy), and it reports a worker READY after the worker's process died. So each
worker reports for itself: a load failure with its cause, and a file named by its PID once its model is
loaded and warmed up. A worker is ready while that file exists and its process is alive.
"""

from __future__ import annotations

import os
from pathlib import Path

from hf_serving import processes_alive

LOAD_FAILURE_FILE = "model-load-failed"
READY_WORKERS_DIR = "ready-workers"
STARTED_WORKERS_DIR = "started-workers"  # a file per worker that began loading: one that dies unheard is counted
# Present once a worker has served the model: a worker starting after that is a restart (for /metrics).
SERVED_MARK = "model-served"


def report_load_failure(runtime_dir: Path, exc: BaseException) -> None:
    summary = f"{type(exc).__name__}: {exc}"
    partial = runtime_dir / f".{LOAD_FAILURE_FILE}.{os.getpid()}.partial"
    partial.write_text(summary[:2000] + "\n", encoding="utf-8")
    partial.rename(runtime_dir / LOAD_FAILURE_FILE)  # whole or absent: the launcher reads it as soon as it exists


def load_failure(runtime_dir: Path) -> str | None:
    path = runtime_dir / LOAD_FAILURE_FILE
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def report_worker_ready(runtime_dir: Path, loaded: str) -> None:
    """`loaded` says what this worker serves (task, engine, device, dtype), for the launcher's log."""
    directory = runtime_dir / READY_WORKERS_DIR
    directory.mkdir(exist_ok=True)
    partial = directory / f".{os.getpid()}.partial"
    partial.write_text(loaded + "\n", encoding="utf-8")
    partial.rename(directory / str(os.getpid()))  # whole or absent: the watcher may read it at any moment
    (runtime_dir / SERVED_MARK).touch()


def served_before(runtime_dir: Path) -> bool:
    """Whether a worker had loaded this model before this one started (this one is a restart)."""
    return (runtime_dir / SERVED_MARK).exists()


def report_worker_started(runtime_dir: Path) -> None:
    directory = runtime_dir / STARTED_WORKERS_DIR
    directory.mkdir(exist_ok=True)
    (directory / str(os.getpid())).touch()


def workers_died_loading(runtime_dir: Path) -> int:
    """Workers that began loading and died without reporting ready or failed (killed by a signal, a native crash)."""
    directory = runtime_dir / STARTED_WORKERS_DIR
    ready = runtime_dir / READY_WORKERS_DIR
    died = 0
    for path in directory.iterdir() if directory.is_dir() else []:
        if not (path.name.isdigit() and processes_alive.alive(int(path.name))) and not (ready / path.name).exists():
            died += 1
    return died


def ready_worker_descriptions(runtime_dir: Path) -> list[str]:
    """What each live, ready worker reported it loaded."""
    directory = runtime_dir / READY_WORKERS_DIR
    found = []
    for pid in ready_worker_pids(runtime_dir):
        try:
            found.append((directory / str(pid)).read_text(encoding="utf-8").strip())
        except OSError:  # gone since: it died
            continue
    return found


def ready_worker_pids(runtime_dir: Path) -> list[int]:
    """PIDs of workers that loaded the model and are still alive; forgets the dead ones."""
    alive = []
    directory = runtime_dir / READY_WORKERS_DIR
    for path in directory.iterdir() if directory.is_dir() else []:
        if path.name.startswith("."):
            continue  # a report being written
        if path.name.isdigit() and processes_alive.alive(int(path.name)):
            alive.append(int(path.name))
        else:
            path.unlink(missing_ok=True)
    return alive


BUSY_WORKERS_DIR = "busy-workers"  # a file per worker: the deadline of the batch it is working on, or 0 when idle
_BUSY_FORMAT = "%20.3f\n"  # fixed width: every write overwrites the whole value in place


class BusyMark:
    """This worker's `<runtime dir>/busy-workers/<pid>`: the wall-clock deadline of the batch in hand, 0 between
    batches. The launcher kills a worker it finds past its deadline (launcher/stuck_workers.py): a user predict_fn in
    a busy loop, or one C call that never returns, cannot stop itself, and a thread of its own could be starved of
    the GIL. One pwrite of 21 bytes at each end of a batch, into a file opened once."""

    def __init__(self, runtime_dir: Path) -> None:
        directory = runtime_dir / BUSY_WORKERS_DIR
        directory.mkdir(exist_ok=True)
        self._fd = os.open(directory / str(os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.idle()

    def busy_until(self, deadline: float) -> None:
        """`deadline`: time.time() when the batch's requests have all been answered 504 by nginx."""
        os.pwrite(self._fd, (_BUSY_FORMAT % deadline).encode(), 0)

    def idle(self) -> None:
        os.pwrite(self._fd, (_BUSY_FORMAT % 0).encode(), 0)


def busy_deadlines(runtime_dir: Path) -> dict[int, tuple[float, float]]:
    """pid -> (its batch's deadline, when it wrote it) for each worker busy with a batch; idle ones left out."""
    directory = runtime_dir / BUSY_WORKERS_DIR
    found = {}
    for path in directory.iterdir() if directory.is_dir() else []:
        try:
            with path.open("rb") as mark:
                written = os.fstat(mark.fileno()).st_mtime
                deadline = float(mark.read(64))
            pid = int(path.name)
        except (OSError, ValueError):  # gone since, or a torn read: the next look, 0.1 s later, sees it whole
            continue
        if deadline > 0:
            found[pid] = (deadline, written)
    return found


def forget_busy(runtime_dir: Path, pid: int) -> None:
    (runtime_dir / BUSY_WORKERS_DIR / str(pid)).unlink(missing_ok=True)
