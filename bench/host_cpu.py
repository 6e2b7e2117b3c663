"""Where the host's CPU goes during a benchmark cell: milliseconds of CPU per request, by process role.

Read from /proc for every process of the server (bench/processes.py finds them) just before and just after each
cell: user + system time of nginx, the model server's Java frontend, the Python workers, and the rest (the launcher,
a peer's master process). Unlike the time split from /metrics (bench/time_split.py), it needs nothing from the
server, so peers get it too, and it counts what the workers' own clock cannot: the frontend's and nginx's work, which
take cores from the engine on a small machine. A server's whole cost per request is the sum of the row; the load
generator's is reported beside it (bench/loadgen.py). At a concurrency that keeps the server busy on a model whose
engine costs next to nothing (`host60`: a tiny classifier), the row is the serving stack's own cost per request: what
bounds the requests a second of a fast engine (an AMX host, a GPU) on a given number of cores.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.processes import ProcessTree

TICKS = os.sysconf("SC_CLK_TCK")
ROLES = ("nginx", "frontend", "workers", "other")


def role(pid: int, name: str) -> str:
    """nginx; the Java frontend (multi-model-server's); a Python worker (MMS's model_service_worker, a gunicorn or
    uvicorn worker); anything else (the launcher, a master process)."""
    if name == "nginx":
        return "nginx"
    if name == "java":
        return "frontend"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "model_service_worker" in command or "gunicorn" in command or "uvicorn" in command:
        # A gunicorn master or a lone uvicorn is a worker too, which over-counts nothing: it holds no model then.
        return "workers"
    return "other"


def cpu_seconds(pid: int) -> float | None:
    """User + system seconds of one process so far (its threads included; not its reaped children)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 of proc(5)
    return (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(tree: ProcessTree) -> dict[int, tuple[str, float]]:
    """Every live process of the server: pid -> (role, CPU seconds so far)."""
    found = {}
    for process in tree.processes():
        seconds = cpu_seconds(process.pid)
        if seconds is not None:
            found[process.pid] = (role(process.pid, process.name), seconds)
    return found


def per_request(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], requests: int
) -> dict[str, float] | None:
    """Milliseconds of CPU per request by role over a cell; a process that started during it counts from zero."""
    if requests <= 0:
        return None
    spent = dict.fromkeys(ROLES, 0.0)
    for pid, (process_role, seconds) in after.items():
        spent[process_role] += seconds - (before[pid][1] if pid in before else 0.0)
    return {key: round(1000 * value / requests, 3) for key, value in spent.items()}


def markdown(cells: list[dict], labels: dict[str, str]) -> str:
    """The table of every cell that has the figures, averaged over passes."""
    rows: dict[tuple[str, str, int], list[dict]] = {}
    for cell in cells:
        if cell.get("host_cpu_ms"):
            rows.setdefault((cell["server"], cell["kind"], cell["concurrency"]), []).append(cell)
    if not rows:
        return ""
    lines = [
        "## Where the host's CPU goes (bench/host_cpu.py)",
        "",
        "Milliseconds of CPU per request over each cell, by process, from /proc (user + system), the mean over "
        "passes. `workers`: the Python workers, engine included; `frontend`: the model server's Java process; "
        "`other`: the launcher or a master process; `client`: the load generator's threads. The cores' whole "
        "capacity is cores x 1,000 ms a second: a row's total x req/s over it is how busy the host was.",
        "",
        "| server | request | c | req/s | nginx | frontend | workers | other | server total | client |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (server, kind, concurrency), found in rows.items():

        def mean(pick, cells: list[dict] = found) -> float:
            return sum(pick(cell) for cell in cells) / len(cells)

        by_role = {key: mean(lambda cell, key=key: cell["host_cpu_ms"][key]) for key in ROLES}
        client = mean(lambda cell: 1000 * cell["client_cpu_s"] / cell["requests"] if cell["requests"] else 0.0)
        lines.append(
            f"| {labels.get(server, server)} | {kind} | {concurrency} | {mean(lambda cell: cell['rps']):.1f} | "
            + " | ".join(f"{by_role[key]:.2f}" for key in ROLES)
            + f" | **{sum(by_role.values()):.2f}** | {client:.2f} |"
        )
    return "\n".join(lines) + "\n"
