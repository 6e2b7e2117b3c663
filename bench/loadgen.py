"""A closed-loop HTTP load generator that costs little CPU: N threads, each with one keep-alive connection.

Each thread sends the next request as soon as the previous answer has been read (closed loop: the offered
load adapts to the server, nothing queues in the client). Latency is measured around request + full read.
The generator's own CPU time is the sum of its threads' CPU time (time.thread_time in each), so that a
reader can see what share of the 2 cores the client took from the servers.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CellResult:
    concurrency: int
    seconds: float  # from the first request sent to the last answer read
    latencies_ms: list[float]  # successful requests only
    errors: int
    error_samples: list[str] = field(default_factory=list)
    invalid: int = 0  # 200 with a body of the wrong shape
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class _Worker(threading.Thread):
    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        body: bytes,
        deadline: float,
        validate: Callable[[object], bool],
        timeout_s: float,
    ) -> None:
        super().__init__(daemon=True)
        self.address = (host, port, timeout_s)
        self.path, self.body, self.deadline, self.validate = path, body, deadline, validate
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.latencies_ms: list[float] = []
        self.errors = 0
        self.invalid = 0
        self.error_samples: list[str] = []
        self.first_sent = float("inf")
        self.last_read = 0.0
        self.cpu_s = 0.0

    def run(self) -> None:
        cpu_before = time.thread_time()
        host, port, timeout_s = self.address
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
        checked = False
        try:
            while (started := time.perf_counter()) < self.deadline:
                self.first_sent = min(self.first_sent, started)
                try:
                    connection.request("POST", self.path, body=self.body, headers=self.headers)
                    response = connection.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self._error(f"{type(exc).__name__}: {exc}")
                    connection.close()  # the next request() reconnects
                    continue
                finished = time.perf_counter()
                self.last_read = finished
                if response.status != 200:
                    self._error(f"HTTP {response.status}: {payload[:200]!r}")
                    continue
                if not checked:  # one full check per thread keeps the client cheap
                    checked = True
                    if not self._valid(payload):
                        self.invalid += 1
                        self._error(f"unexpected answer: {payload[:200]!r}")
                        continue
                self.latencies_ms.append((finished - started) * 1000.0)
        finally:
            connection.close()
            self.cpu_s = time.thread_time() - cpu_before

    def _valid(self, payload: bytes) -> bool:
        try:
            return self.validate(json.loads(payload))
        except ValueError:
            return False

    def _error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(message)
        time.sleep(0.01)  # a server that fails fast must not turn the client into a busy loop


def run_closed_loop(
    host: str,
    port: int,
    path: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    validate: Callable[[object], bool],
    timeout_s: float = 120.0,
) -> CellResult:
    """Keep `concurrency` requests in flight for `seconds`; requests in flight at the deadline complete."""
    return _run_threads(host, port, path, body, concurrency, seconds, validate, timeout_s).result()


@dataclass
class _ThreadsOutcome:
    concurrency: int
    first_sent: float
    last_read: float
    latencies_ms: list[float]
    errors: int
    error_samples: list[str]
    invalid: int
    client_cpu_s: float
    seconds: float

    def result(self) -> CellResult:
        return _merge([self], self.concurrency, self.seconds)


def _run_threads(
    host: str,
    port: int,
    path: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    validate: Callable[[object], bool],
    timeout_s: float,
) -> _ThreadsOutcome:
    deadline = time.perf_counter() + seconds
    workers = [_Worker(host, port, path, body, deadline, validate, timeout_s) for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return _ThreadsOutcome(
        concurrency=concurrency,
        first_sent=min(worker.first_sent for worker in workers),
        last_read=max(worker.last_read for worker in workers),
        latencies_ms=[latency for worker in workers for latency in worker.latencies_ms],
        errors=sum(worker.errors for worker in workers),
        error_samples=[sample for worker in workers for sample in worker.error_samples][:5],
        invalid=sum(worker.invalid for worker in workers),
        client_cpu_s=sum(worker.cpu_s for worker in workers),
        seconds=seconds,
    )


def _merge(parts: list[_ThreadsOutcome], concurrency: int, seconds: float) -> CellResult:
    first = min(part.first_sent for part in parts)
    last = max(part.last_read for part in parts)
    return CellResult(
        concurrency=concurrency,
        seconds=max(0.0, last - first) if last > 0 else seconds,
        latencies_ms=[latency for part in parts for latency in part.latencies_ms],
        errors=sum(part.errors for part in parts),
        error_samples=[sample for part in parts for sample in part.error_samples][:5],
        invalid=sum(part.invalid for part in parts),
        client_cpu_s=sum(part.client_cpu_s for part in parts),
    )


def run_closed_loop_processes(
    host: str,
    port: int,
    path: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    validate: Callable[[object], bool],
    processes: int,
    timeout_s: float = 120.0,
) -> CellResult:
    """The same closed loop with its connections spread over `processes` forked processes.

    One Python process's threads share one interpreter lock, which caps a client at a few thousand small
    requests per second: enough against 2 CPU cores, not against a GPU server at concurrency 64.
    """
    processes = max(1, min(processes, concurrency))
    if processes == 1:
        return run_closed_loop(host, port, path, body, concurrency, seconds, validate, timeout_s)
    context = multiprocessing.get_context("fork")  # fork: `validate` may be a closure
    queue = context.Queue()
    shares = [concurrency // processes + (1 if index < concurrency % processes else 0) for index in range(processes)]

    def child(share: int) -> None:
        queue.put(_run_threads(host, port, path, body, share, seconds, validate, timeout_s))

    children = [context.Process(target=child, args=(share,), daemon=True) for share in shares]
    for process in children:
        process.start()
    parts = [queue.get(timeout=seconds + timeout_s + 60) for _ in children]
    for process in children:
        process.join()
    return _merge(parts, concurrency, seconds)
