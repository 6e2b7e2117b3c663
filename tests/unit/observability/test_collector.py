"""The launcher's sum of the workers' files: a dead worker's counts stay, its live gauges go."""

from __future__ import annotations

import os
import subprocess
import sys

from hf_serving.observability import collector
from tests.support import metrics

WORKER = """
from hf_serving.observability.worker_metrics import WorkerMetrics
m = WorkerMetrics("a model", "question-answering")
m.loaded(1.5, "torch", "float32", "cpu", restarted=True)
m.request({"tokenise": 0.001, "inference": 0.02, "encode": 0.0001}, 12)
m.batch(1, [1])
"""


def test_a_dead_workers_counts_stay_and_its_gauges_go(tmp_path):
    directory = collector.reset_directory(tmp_path / "metrics")
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", WORKER], check=True, env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
        )
    rendered = collector.WorkerMetricsCollector(directory, lambda: 3).render().decode()
    samples = metrics.parse(rendered)
    assert metrics.total(samples, "hf_serving_worker_restarts_total", model="a model") == 2
    assert metrics.total(samples, "hf_serving_request_tokens_sum", model="a model") == 24
    assert metrics.total(samples, "hf_serving_stage_duration_seconds_count", stage="inference") == 2
    assert metrics.total(samples, "hf_serving_model_load_seconds_count") == 2
    assert metrics.series(samples, "hf_serving_workers_ready") == []  # both processes exited
    assert metrics.series(samples, "hf_serving_build_info") == []
    assert metrics.total(samples, "hf_serving_models_loaded") == 3
    assert not list(directory.glob("gauge_live*"))


def test_a_new_start_begins_with_no_counts(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"stale")
    assert list(collector.reset_directory(directory).iterdir()) == []
