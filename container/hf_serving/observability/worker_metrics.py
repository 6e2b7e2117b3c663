"""What each model worker process records for /metrics (docs/reference/metrics.md has the table).

prometheus_client in its multiprocess mode: the launcher sets PROMETHEUS_MULTIPROC_DIR for every worker, each
process writes its values to its own memory-mapped files there, and the launcher sums them per scrape
(observability/collector.py). A worker that dies keeps its counts; its live gauges are dropped. Without that
variable (in-process benchmarks, unit tests) the same calls count in this process alone.

Labels are bounded: the model (its name on a multi-model endpoint, "model" on a single-model one), the task, the
stage. Never a request id.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

import hf_serving

# 1 ms to 60 s: a cached or tiny request to a long document on a slow CPU.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LOAD_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
COUNT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TOKEN_BUCKETS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536, 262144)
SINGLE_MODEL_LABEL = "model"  # a single-model endpoint's model, as multi-model-server names it
STAGES = ("queue", "tokenise", "inference", "encode")

STAGE_SECONDS = Histogram(
    "hf_serving_stage_duration_seconds",
    "Seconds a request spent in each stage",
    ("model", "task", "stage"),
    buckets=DURATION_BUCKETS,
)
BATCH_REQUESTS = Histogram(
    "hf_serving_batch_requests",
    "Requests per model-server batch a worker answered",
    ("model", "task"),
    buckets=COUNT_BUCKETS,
)
PASS_ROWS = Histogram(
    "hf_serving_pass_rows",
    "Rows (texts, question-answering windows) per model pass",
    ("model", "task"),
    buckets=COUNT_BUCKETS,
)
MODEL_PASS_SECONDS = Histogram(
    "hf_serving_model_pass_duration_seconds",
    "Seconds of each model pass, the engine alone (the rest of a request's time is spent outside the model)",
    ("model", "task"),
    buckets=DURATION_BUCKETS,
)
REQUEST_TOKENS = Histogram(
    "hf_serving_request_tokens", "Tokens the model read for one request", ("model", "task"), buckets=TOKEN_BUCKETS
)
WORKERS_READY = Gauge(
    "hf_serving_workers_ready",
    "Worker processes with the model loaded and warmed up",
    ("model",),
    multiprocess_mode="livesum",
)
WORKER_RESTARTS = Counter(
    "hf_serving_worker_restarts", "Workers started again after the model had been served", ("model",)
)
MODEL_LOAD_SECONDS = Histogram(
    "hf_serving_model_load_seconds",
    "Seconds of model_fn and the warm-up, per worker",
    ("model", "task"),
    buckets=LOAD_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "hf_serving_response_cache_lookups", "Items looked up in the response cache, by result", ("model", "task", "result")
)
CACHE_ERRORS = Counter(
    "hf_serving_response_cache_errors", "Response cache calls that failed (answered without it)", ("model", "operation")
)
BUILD_INFO = Gauge(
    "hf_serving_build_info",
    "What each model runs on (always 1)",
    ("model", "version", "task", "engine", "dtype", "device"),
    multiprocess_mode="livemax",
)


class WorkerMetrics:
    """One worker's model: the label values every observation carries, bound once. Disabled (SERVE_METRICS=off),
    it records nothing."""

    def __init__(self, model: str, task: str, enabled: bool = True) -> None:
        self.model, self.task, self.enabled = model, task, enabled
        self._stages = {stage: STAGE_SECONDS.labels(model, task, stage) for stage in STAGES}
        self._batch = BATCH_REQUESTS.labels(model, task)
        self._rows = PASS_ROWS.labels(model, task)
        self._pass_seconds = MODEL_PASS_SECONDS.labels(model, task)
        self._tokens = REQUEST_TOKENS.labels(model, task)

    def loaded(self, seconds: float, engine: str, dtype: str, device: str, restarted: bool) -> None:
        if not self.enabled:
            return
        MODEL_LOAD_SECONDS.labels(self.model, self.task).observe(seconds)
        BUILD_INFO.labels(self.model, hf_serving.__version__, self.task, engine, dtype, device).set(1)
        WORKERS_READY.labels(self.model).set(1)
        restarts = WORKER_RESTARTS.labels(self.model)  # the series exists, at 0, from the first load
        if restarted:
            restarts.inc()

    def request(self, stages: dict[str, float], tokens: int | None) -> None:
        if not self.enabled:
            return
        for stage, seconds in stages.items():
            self._stages[stage].observe(seconds)
        if tokens is not None:
            self._tokens.observe(tokens)

    def cache_lookups(self, hits: int, misses: int) -> None:
        if not self.enabled:
            return
        CACHE_LOOKUPS.labels(self.model, self.task, "hit").inc(hits)
        CACHE_LOOKUPS.labels(self.model, self.task, "miss").inc(misses)

    def cache_error(self, operation: str) -> None:
        if self.enabled:
            CACHE_ERRORS.labels(self.model, operation).inc()

    def batch(self, requests: int, pass_rows: Sequence[int], pass_seconds: Sequence[float] = ()) -> None:
        if not self.enabled:
            return
        self._batch.observe(requests)
        for rows in pass_rows:
            self._rows.observe(rows)
        for seconds in pass_seconds:
            self._pass_seconds.observe(seconds)
