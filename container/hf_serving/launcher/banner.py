"""The start-up banner: what the plan will run, in a few lines of the log before anything starts (and once more as
fields, with LOG_FORMAT=json), with the warnings an operator must not miss."""

from __future__ import annotations

import dataclasses
import logging

from hf_serving import hardware
from hf_serving.api_docs import site
from hf_serving.caching import response_cache
from hf_serving.engines import select
from hf_serving.launcher import admission, cors
from hf_serving.launcher.edge import describe_connections
from hf_serving.launcher.plan import Plan
from hf_serving.loading.source import has_random_weights
from hf_serving.settings import LogFormat, MetricsAccess
from hf_serving.tasks.base import Task
from hf_serving.tasks.explaining import MAX_EXPLAINED_ITEMS, MAX_STEPS
from hf_serving.tasks.registry import Detection, FoundBy

log = logging.getLogger("hf_serving.serve")  # the launcher's one logger (launcher/supervisor.py)

METRICS_WORDS = {
    MetricsAccess.PUBLIC: "no key asked",
    MetricsAccess.KEY: "behind the API key",
    MetricsAccess.OFF: "off",
}
# The layouts that name a task (TaskSpec.owns_directory), as the banner names them.
LAYOUTS = {
    Task.SENTENCE_EMBEDDINGS: "the sentence-transformers layout, modules.json",
    Task.TEXT_RANKING: "the sentence-transformers CrossEncoder layout",
}


def single_model_lines(plan: Plan) -> list[str]:
    """Where the model comes from and its task."""
    s, model_dir, detection = plan.settings, plan.model_dir, plan.detection
    assert model_dir is not None and detection is not None
    from_hub = model_dir != s.model_dir.resolve()
    source = (
        f"Hugging Face Hub {s.model_id}@{s.model_revision or 'main'} -> {model_dir}"
        if from_hub
        else f"directory {model_dir}"
    )
    return [f"model source: {source}", f"task: {detection.spec.task.value} ({found_by(detection)})"]


def multi_model_lines(memory_budget: str) -> list[str]:
    return [
        "mode: multi-model endpoint (SAGEMAKER_MULTI_MODEL): no model until POST /models; each model's "
        "task, weights and code/ from its own directory",
        memory_budget,
    ]


def lines(plan: Plan, mode_lines: list[str]) -> list[str]:
    """The banner's INFO lines; `mode_lines` first: the model's source and task, or the multi-model endpoint's."""
    s, config = plan.settings, plan.mms_config
    per_model = " per model" if plan.multi_model else ""
    rate_limit = f"{s.rate_limit_rps} req/s per client" if s.rate_limit_rps else "off"
    return [
        *mode_lines,
        hardware.describe_cores(),
        f"workers{per_model}: {plan.workers}, torch threads per worker: {plan.threads}, "
        f"batch size: {config.batch_size} (max delay {s.max_batch_delay_ms} ms)",
        f"ports: public {s.bind_address}:{s.port}; on 127.0.0.1 model server {config.inference_port}, "
        f"management {config.management_port}, nginx's inner hop {plan.edge_port}",
        select.describe_plan(s.engine, s.dtype, plan.gpus),
        f"API key: {'required' if s.api_key else 'off'}, rate limit: {rate_limit}, "
        f"/metrics: {METRICS_WORDS[s.metrics]}",
        describe_connections(s),
        cors.describe(s),
        admission.describe(s, plan.workers, config.batch_size),
        response_cache.describe(s),
        explanations_line(plan),
        f"invocation timeout: {s.invocation_timeout_s} s, max payload: {s.max_payload_mb} MB, "
        f"max answer: {s.max_response_mb} MB, "
        f"user code: {user_code(plan)}",
    ]


def log_banner(plan: Plan, mode_lines: list[str]) -> None:
    s = plan.settings
    for line in lines(plan, mode_lines):
        log.info("%s", line)
    if s.multi_model and s.api_key is not None and s.metrics == MetricsAccess.PUBLIC:
        log.warning(
            "/metrics is public (SERVE_METRICS=public) and names every model loaded, which GET /models "
            "shows only with the API key"
        )
    docs_warning, docs_line = site.describe(s.docs, plan.docs_assets)
    log.log(logging.WARNING if docs_warning else logging.INFO, "%s", docs_line)
    if s.log_format == LogFormat.JSON:  # the same, as fields (secrets, which settings never repr, left out)
        log.info("start-up configuration", extra={"configuration": configuration(plan)})
    if plan.model_dir is not None and has_random_weights(plan.model_dir):
        log.warning(
            "SERVING RANDOM WEIGHTS: %s is a demo model built offline; its answers are meaningless", plan.model_dir
        )


def configuration(plan: Plan) -> dict[str, object]:
    """The settings (but secrets) and what the plan decided, as JSON values."""
    s = plan.settings
    return {
        **{f.name: _plain(getattr(s, f.name)) for f in dataclasses.fields(s) if f.repr},
        "workers": plan.workers,
        "threads": plan.threads,
        "batch_size": plan.mms_config.batch_size,
        "task": plan.task_spec.task.value if plan.task_spec is not None else None,
        "model_dir": str(plan.model_dir) if plan.model_dir is not None else None,
    }


def explanations_line(plan: Plan) -> str:
    if plan.explanation_worker:
        return (
            f"explanations: on, in a worker of their own (float32 torch, loaded at the first explain request; "
            f"at most {MAX_EXPLAINED_ITEMS} texts and {MAX_STEPS} steps); SERVE_EXPLAIN=off turns them off"
        )
    why = (
        "SERVE_EXPLAIN=off"
        if not plan.settings.explain
        else "a multi-model endpoint"
        if plan.task_spec is None
        else f"{plan.task_spec.task.value} has none"
    )
    return f"explanations: off ({why})"


def user_code(plan: Plan) -> str:
    if plan.model_dir is None:
        return "each model's own code/ (if any)"
    program = plan.settings.code_dir / plan.settings.user_program
    return str(program) if program.is_file() else f"none ({program} does not exist)"


def found_by(detection: Detection) -> str:
    """What decided the task, for the banner's task line; a model card's tag that did not decide, and why."""
    layout = LAYOUTS.get(detection.spec.task, "the directory's layout")
    words = {
        FoundBy.HF_TASK: "HF_TASK",
        FoundBy.LAYOUT: f"from {layout}",
        FoundBy.MODEL_CARD: "from README.md pipeline_tag",
        FoundBy.ARCHITECTURES: "from config.json architectures",
    }[detection.found_by]
    return f"{words}; {detection.ignored_tag}" if detection.ignored_tag else words


def _plain(value: object) -> object:
    """A setting as JSON holds it: a path, or a choice (a StrEnum), as its text."""
    return value if value is None or isinstance(value, bool | int | float) else str(value)
