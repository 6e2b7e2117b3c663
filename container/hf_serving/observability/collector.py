"""The workers' metrics, summed across processes, and the launcher's own: the part of /metrics nginx does not count.

Each worker writes memory-mapped files into the metrics directory (observability/worker_metrics.py);
prometheus_client's MultiProcessCollector sums them. A worker that died keeps its counters and histograms (clients
saw those requests); its live gauges (workers ready, build info) are dropped here, at each scrape, because nothing
else tells prometheus_client that a process is gone.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def reset_directory(directory: Path) -> Path:
    """An empty metrics directory for this start: a previous run's counts are not this container's."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    return directory


class _LauncherMetrics(Collector):
    def __init__(self, models_loaded: Callable[[], int]) -> None:
        self.models_loaded = models_loaded

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("hf_serving_models_loaded", "Models serving (a single-model endpoint: 1 once ready)",
                                value=self.models_loaded())


class WorkerMetricsCollector:
    def __init__(self, directory: Path, models_loaded: Callable[[], int]) -> None:
        self.directory = directory
        self.registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(self.registry, str(directory))
        self.registry.register(_LauncherMetrics(models_loaded))

    def render(self) -> bytes:
        self._forget_dead_processes()
        return generate_latest(self.registry)

    def _forget_dead_processes(self) -> None:
        for path in self.directory.glob("gauge_live*.db"):
            match = _LIVE_GAUGE_FILE.match(path.name)
            if match and not _alive(int(match.group(1))):
                multiprocess.mark_process_dead(int(match.group(1)), str(self.directory))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
