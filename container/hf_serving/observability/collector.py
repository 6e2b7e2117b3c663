"""The workers' metrics, summed across processes, and the launcher's own: the part of /metrics nginx does not count.

Each worker writes memory-mapped files into the metrics directory (observability/worker_metrics.py);
prometheus_client's MultiProcessCollector sums them. A worker that died keeps its counters and histograms (clients
saw those requests); its live gauges (workers ready, build info) are dropped here, at each scrape, because nothing
else tells prometheus_client that a process is gone.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.registry import Collector

from hf_serving import processes_alive

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")
_PROCESS_FILE = re.compile(r"^[a-z]+(?:_[a-z]+)?_(\d+)\.db$")  # counter_12.db, histogram_12.db, gauge_livesum_12.db


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
        yield GaugeMetricFamily(
            "hf_serving_models_loaded",
            "Models serving (a single-model endpoint: 1 once ready)",
            value=self.models_loaded(),
        )


class WorkerMetricsCollector:
    """`models_known`, on a multi-model endpoint: the names of the models it has now (loading, loaded or unloading).
    A dead process's files whose series are all of other models are deleted: an unloaded model's series go with it,
    so /metrics grows with the models loaded, not with every model ever loaded. None (a single-model endpoint): every
    dead process's counts are kept."""

    def __init__(
        self, directory: Path, models_loaded: Callable[[], int], models_known: Callable[[], set[str]] | None = None
    ) -> None:
        self.directory = directory
        self.models_known = models_known
        self.registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(self.registry, str(directory))
        self.registry.register(_LauncherMetrics(models_loaded))

    def render(self) -> bytes:
        self._forget_dead_processes()
        if self.models_known is not None:
            self._forget_unloaded_models(self.models_known())
        return generate_latest(self.registry)

    def _forget_unloaded_models(self, known: set[str]) -> None:
        for path in self.directory.glob("*.db"):
            match = _PROCESS_FILE.match(path.name)
            if match is None or processes_alive.alive(int(match.group(1))):
                continue  # a live worker's model is known: it is loading, loaded or unloading
            models = _models_in(path)
            if models and not models & known:
                path.unlink(missing_ok=True)

    def _forget_dead_processes(self) -> None:
        for path in self.directory.glob("gauge_live*.db"):
            match = _LIVE_GAUGE_FILE.match(path.name)
            if match and not processes_alive.alive(int(match.group(1))):
                multiprocess.mark_process_dead(int(match.group(1)), str(self.directory))


def _models_in(path: Path) -> set[str]:
    """The values of the "model" label among a process file's series (worker_metrics.py gives every series one)."""
    try:
        values = MmapedDict.read_all_values_from_file(str(path))
        return {json.loads(key)[2].get("model", "") for key, _, _, _ in values} - {""}
    except (OSError, ValueError, IndexError, AttributeError):  # gone since, or torn: left for the next scrape
        return set()
