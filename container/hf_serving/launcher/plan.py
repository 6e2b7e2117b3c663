"""What `serve` will run, decided before anything starts: ports, paths, the model server's sizes, the children's
commands and environment, nginx's values, Batch Transform's execution parameters.

A plan is data: made from the settings, the model directory and a few facts of the host (`HostFacts`), it starts
nothing and writes nothing, so a test reads it as it is. The supervisor (launcher/supervisor.py) and the endpoint's
mode (launcher/registration.py) carry it out; the banner (launcher/banner.py) shows it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import hf_serving
from hf_serving import hardware
from hf_serving.api_docs import assets
from hf_serving.launcher import admission, host_tools, mms, route_locations
from hf_serving.launcher.edge import api_key_checks, docs_values, edge_values, rate_limit
from hf_serving.launcher.ports import pick_ports
from hf_serving.loading.sizing import effective_batch_size, effective_threads, effective_workers
from hf_serving.settings import Settings
from hf_serving.tasks.base import TaskSpec
from hf_serving.tasks.registry import Detection, detect

# libgomp's spins before a waiting thread sleeps, on a multi-model endpoint (child_env says why).
MME_SPIN_COUNT = "10000"


@dataclass(frozen=True)
class HostFacts:
    """What planning reads of the machine, once; a test gives its own."""

    ports: tuple[int, int, int, int, int]  # free on loopback: MMS's inference and management, edge, models API, metrics
    runtime_dir: Path
    gpus: int
    docs_assets: assets.Pin | None  # the Swagger UI files /docs serves; None if never fetched
    nginx_modules: str  # nginx's load_module lines for its Lua module
    # The launcher's own environment, which its children inherit: the workers read their settings from it (through
    # the Java model server), nginx and Java their own variables (PATH, JAVA_HOME...). Passed through, not read.
    inherited_env: Mapping[str, str]

    @classmethod
    def read(cls, settings: Settings) -> HostFacts:
        first, second, third, fourth, fifth = pick_ports(5, settings.safe_port_range, exclude={settings.port})
        return cls(
            ports=(first, second, third, fourth, fifth),
            runtime_dir=settings.runtime_dir or Path(tempfile.mkdtemp(prefix="hf-serving-")),
            gpus=hardware.gpu_count(),
            docs_assets=assets.installed_pin(),
            nginx_modules=host_tools.nginx_load_module_lines(),
            inherited_env=dict(os.environ),
        )


@dataclass(frozen=True)
class Plan:
    settings: Settings
    model_dir: Path | None  # None: a multi-model endpoint, whose models come with POST /models
    detection: Detection | None  # the single model's task, and what decided it
    workers: int  # of the model; per model on a multi-model endpoint
    threads: int  # torch's, per worker
    # Explain requests get a worker of their own (loading/explainer.py), on a single-model endpoint of a task that
    # explains (another task's explain request is its batching worker's 400: no model is loaded to refuse it).
    explanation_worker: bool
    mms_config: mms.MmsConfig
    edge_port: int  # nginx's inner hop to the model server (docker/nginx.conf)
    models_api_port: int  # the launcher's model management API (multi-model endpoints)
    metrics_port: int  # the workers' metrics, for nginx's /metrics
    runtime_dir: Path
    host: HostFacts

    @property
    def multi_model(self) -> bool:
        return self.settings.multi_model

    @property
    def task_spec(self) -> TaskSpec | None:
        return self.detection.spec if self.detection is not None else None

    @property
    def gpus(self) -> int:
        return self.host.gpus

    @property
    def docs_assets(self) -> assets.Pin | None:
        return self.host.docs_assets

    @property
    def ready_file(self) -> Path:
        """Present while the endpoint is ready: nginx's /ping answers from it."""
        return self.runtime_dir / "ready"

    @property
    def nginx_conf(self) -> Path:
        """Where nginx.write_config writes nginx's configuration."""
        return self.runtime_dir / "nginx.conf"

    @property
    def metrics_dir(self) -> Path:
        return self.runtime_dir / "metrics"

    @property
    def code_packages(self) -> Path:
        """Where code/requirements.txt is installed (INSTALL_CODE_REQUIREMENTS=true); on the workers' path."""
        return self.runtime_dir / "code-packages"

    @property
    def zygote_socket(self) -> Path:
        return self.runtime_dir / "zygote.sock"

    @property
    def zygote_children(self) -> Path:
        return self.runtime_dir / "zygote-children"

    @property
    def zygote_command(self) -> list[str]:
        """A multi-model endpoint's model processes fork from it (launcher/zygote.py)."""
        return [sys.executable, "-m", "hf_serving", "zygote", str(self.zygote_socket), str(self.zygote_children)]

    @property
    def child_env(self) -> dict[str, str]:
        """The environment of every child: the launcher's own, with the sizes and places it decided."""
        env = dict(self.host.inherited_env)
        s = self.settings
        if self.model_dir is not None:
            # The worker reads the resolved model directory (the Hub download, if any) and code/ from here; a
            # multi-model endpoint's workers, from their model's store entry.
            env.update({"HF_MODEL_DIR": str(self.model_dir), "SERVE_CODE_DIR": str(s.code_dir)})
        # Several models' threads share the cores of a multi-model endpoint: a thread waiting for work spins a little
        # (fast hand-offs within a forward pass), then sleeps. Spinning longer, as libgomp does by default, lets a
        # model loading beside a busy one stall it (p99 3-5x steady state, 1.4x with this); never sleeping slows
        # every pass (bench/README.md, "Multi-model endpoints"). Read once, by the zygote.
        spinning = self.multi_model and s.omp_wait_policy is None
        env.update(
            {
                "SERVE_RUNTIME_DIR": str(self.runtime_dir),
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers),
                "MODEL_SERVER_THREADS": str(self.threads),
                # MMS's worker forces OMP_NUM_THREADS=1 unless it is set.
                "OMP_NUM_THREADS": str(self.threads),
                "MKL_NUM_THREADS": str(self.threads),
                # A batch's tokenisation on every core where a GPU runs the model (there the host side is the limit:
                # bench/README.md, "GPU"); off on CPU, where it would compete with torch's threads for the cores.
                "TOKENIZERS_PARALLELISM": s.tokenizers_parallelism or ("true" if self.gpus else "false"),
                "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                # Each worker's metrics, in files the launcher sums for /metrics (observability/worker_metrics.py).
                "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
                **({"GOMP_SPINCOUNT": s.gomp_spincount or MME_SPIN_COUNT} if spinning else {}),
                # The workers import hf_serving from where the launcher did (an install, or a checkout's container/).
                "PYTHONPATH": os.pathsep.join(
                    p
                    for p in (
                        str(Path(hf_serving.__file__).resolve().parents[1]),
                        str(self.code_packages),
                        env.get("PYTHONPATH", ""),
                    )
                    if p
                ),
            }
        )
        return env

    @property
    def nginx_values(self) -> dict[str, str | int]:
        """What docker/nginx.conf's placeholders become."""
        s = self.settings
        facts = route_locations.EdgeFacts(
            multi_model=self.multi_model,
            served_name=s.served_model_name,
            ready_file=str(self.ready_file),
            runtime_dir=str(self.runtime_dir),
            max_payload_mb=s.max_payload_mb,
            invocation_timeout_s=s.invocation_timeout_s,
            outer_read_timeout_s=s.invocation_timeout_s + 5,
            queue_timeout_s=s.queue_timeout_s,
            client_timeout_s=s.client_timeout_s,
            api_key_check=api_key_checks(s),
            rate_limit=rate_limit(s),
        )
        return {
            **edge_values(s),
            **docs_values(s, self.docs_assets),
            **route_locations.nginx_values(facts),
            **admission.nginx_values(s, self.workers, self.mms_config.batch_size, self.explanation_worker),
            "NGINX_MODULES": self.host.nginx_modules,
            "MULTI_MODEL": int(self.multi_model),
            "MODELS_API_PORT": self.models_api_port,
            "METRICS_PORT": self.metrics_port,
            "PORT": s.port,
            "BIND_ADDRESS": s.bind_address,
            "MMS_PORT": self.mms_config.inference_port,
            "EDGE_PORT": self.edge_port,
            "READY_FILE": str(self.ready_file),
            "EXECUTION_PARAMETERS": json.dumps(self.execution_parameters, separators=(",", ":")),
            "MAX_BODY_BYTES": s.max_payload_mb * 1024 * 1024,
            "MAX_PAYLOAD_MB": s.max_payload_mb,
            "INVOCATION_TIMEOUT_S": s.invocation_timeout_s,
            # The inner hop answers 504 at the invocation timeout: the public one waits a little longer for it.
            "OUTER_READ_TIMEOUT_S": s.invocation_timeout_s + 5,
        }

    @property
    def execution_parameters(self) -> dict[str, object]:
        """GET /execution-parameters' answer, for Batch Transform."""
        return {
            "MaxConcurrentTransforms": self.settings.max_concurrent_transforms or self.workers,
            "BatchStrategy": self.settings.batch_strategy,
            "MaxPayloadInMB": self.settings.max_payload_mb,
        }


def make_plan(settings: Settings, model_dir: Path | None, host: HostFacts | None = None) -> Plan:
    """Refuses a model whose task cannot be told (ConfigurationError) here, before any process starts."""
    detection = detect(model_dir, settings.task) if model_dir is not None else None
    host = host if host is not None else HostFacts.read(settings)
    workers = effective_workers(settings)
    explanation_worker = settings.explain and detection is not None and detection.spec.explainable
    batch_size = effective_batch_size(settings)
    max_response_bytes = settings.max_response_bytes + mms.MIB  # room above the answer limit (mms.py)
    answers_at_once = workers * batch_size + (1 if explanation_worker else 0)
    inference_port, management_port, edge_port, models_api_port, metrics_port = host.ports
    mms_config = mms.MmsConfig(
        inference_port=inference_port,
        management_port=management_port,
        workers=workers,
        batch_size=batch_size,
        max_batch_delay_ms=settings.max_batch_delay_ms,
        response_timeout_s=max(2 * settings.invocation_timeout_s, settings.invocation_timeout_s + 60),
        max_request_bytes=(settings.max_payload_mb + 1) * mms.MIB,
        max_response_bytes=max_response_bytes,
        # Never full: nginx lets at most this many requests in at once (launcher/admission.py).
        job_queue_size=admission.slots(workers, batch_size) + 16,
        jvm_args=settings.jvm_args or mms.default_jvm_args(answers_at_once, max_response_bytes),
        log_level=settings.log_level,
        log_format=settings.log_format,
    )
    return Plan(
        settings=settings,
        model_dir=model_dir,
        detection=detection,
        workers=workers,
        threads=effective_threads(settings, workers),
        explanation_worker=explanation_worker,
        mms_config=mms_config,
        edge_port=edge_port,
        models_api_port=models_api_port,
        metrics_port=metrics_port,
        runtime_dir=host.runtime_dir,
        host=host,
    )
