"""The explanation worker runs on the CPU time nothing else wants (SCHED_IDLE; nice 19 where that is refused): on cores
it shares with the batching workers, an explanation's seconds of gradients must not take theirs. Measured with
`make bench` (bench/explain.py): plain requests' p50 beside an explanation x1.15 this way, x2.1 at nice 5."""

from __future__ import annotations

import os

EXPLANATION_NICENESS = 19


def run_when_idle() -> None:
    """This process's threads, and those they start from now on (torch's), at the lowest CPU priority."""
    for thread in _own_threads():
        try:
            os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
        except OSError:  # a seccomp profile or an old kernel that refuses it
            os.setpriority(os.PRIO_PROCESS, thread, EXPLANATION_NICENESS)


def _own_threads() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: this thread alone
        return [0]
