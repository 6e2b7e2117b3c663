"""Workers past their invocation deadline are killed, whatever they are doing, and multi-model-server starts others.

A worker checks the deadline between model chunks and gives up by itself (deadline.py), but nothing makes a user's
predict_fn, or one long C call, check it. MMS itself only gives up on a worker at its response timeout (minutes) and
then starts another beside it without killing it: the old one went on computing, holding its memory and its cores.
So each worker writes its batch's deadline where the launcher reads it (serving/worker_reports.py, BusyMark), and
the launcher SIGKILLs a worker still busy KILL_GRACE_S past it. A signal the worker cannot block or delay, from a
process it cannot starve. Its listener (mms/model_service_worker.py) reaps it when it forks the replacement MMS
asks for; a killed worker whose listener died with it is re-parented to the launcher, a subreaper, which reaps it.
Reaches every worker that runs the handler: the batching workers, the explanation worker, a multi-model endpoint's.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import psutil

from hf_serving import processes_alive
from hf_serving.serving.worker_reports import busy_deadlines, forget_busy

log = logging.getLogger("hf_serving.serve")

# Time the worker's own deadline checks get to answer 504 and go on serving (a model chunk, a decoding step: well
# under a second); past it the worker is not coming back by itself. Its requests were answered 504 by nginx at the
# deadline already: this is only when the worker is freed.
KILL_GRACE_S = 5.0


def kill_stuck_workers(runtime_dir: Path, now: float | None = None) -> list[int]:
    """SIGKILL each worker KILL_GRACE_S past its batch's deadline; returns their PIDs."""
    now = time.time() if now is None else now
    killed = []
    for pid, (deadline, written) in busy_deadlines(runtime_dir).items():
        if now < deadline + KILL_GRACE_S:
            continue
        forget_busy(runtime_dir, pid)
        if not _is_the_worker(pid, written):
            continue  # it died on its own (its mark stayed), and its PID may be another process's since
        log.warning(
            "worker %d is still busy %.0f s after its invocation deadline: killing it (multi-model-server "
            "starts another)",
            pid,
            now - deadline,
        )
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(pid)
    return killed


def _is_the_worker(pid: int, written: float) -> bool:
    """Whether `pid` is still the process that wrote its mark at `written`, not a PID reused since."""
    try:
        process = psutil.Process(pid)
        return processes_alive.alive(process) and process.create_time() <= written + 1.0
    except psutil.NoSuchProcess:
        return False
