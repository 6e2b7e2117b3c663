"""The served models KServe's adapters are tested on (tiny random ones, built once a session, and the real
all-MiniLM-L6-v2), and a run of an adapter as the worker runs it: to_native, the model's /invocations answer through
JSON, from_native."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hf_serving.loading.loader import load_served_model
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Served, Usage
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.demo_reranker import build_reranker
from hf_serving.tools.model_parts import NER_LABELS
from tests.support.nli_models import tiny_nli
from tests.support.paths import minilm


@dataclass(frozen=True)
class HeaderCall(Call):
    """A Call with the request headers nginx forwards (Inference-Header-Content-Length)."""

    headers: Mapping[str, str] = field(default_factory=dict)


def _served(path: Path, task: str | None = None) -> Served:
    model = load_served_model(path, Settings(model_dir=path, dtype="float32", engine="torch", task=task))
    return Served(name="model", task=model.spec.task.value, model=model, model_id=str(path))


def _builders(root: Path) -> dict[str, Any]:
    return {
        "sentence-embeddings": lambda: _served(minilm()),
        "feature-extraction": lambda: _served(minilm(), "feature-extraction"),
        "text-classification": lambda: _served(build_model(root / "tc", Task.TEXT_CLASSIFICATION, "tiny", seed=3)),
        "question-answering": lambda: _served(build_model(root / "qa", Task.QUESTION_ANSWERING, "tiny", seed=3)),
        "token-classification": lambda: _served(
            build_model(root / "ner", Task.TOKEN_CLASSIFICATION, "tiny", NER_LABELS, seed=3)
        ),
        "fill-mask": lambda: _served(build_model(root / "fm", Task.FILL_MASK, "tiny", seed=3)),
        "zero-shot-classification": lambda: _served(tiny_nli(root / "nli"), "zero-shot-classification"),
        "text-ranking": lambda: _served(build_reranker(root / "rr", size="tiny", seed=7)),
    }


@pytest.fixture(scope="session")
def served_models(tmp_path_factory):
    """Each task's served model, built on first use."""
    builders = _builders(tmp_path_factory.mktemp("kserve-models"))
    loaded: dict[str, Served] = {}

    def get(task: str) -> Served:
        if task not in loaded:
            loaded[task] = builders[task]()
        return loaded[task]

    return get


def run(
    exchange: Exchange,
    served: Served,
    body: object | bytes,
    *,
    name: str = "model",
    content_type: str | None = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Answer | Direct:
    """The adapter's answer, as the worker makes it: the model's answer goes through JSON as on /invocations."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    call = HeaderCall("kserve", {"name": name}, raw, content_type, "request-1", headers=dict(headers or {}))
    native = exchange.to_native(call, served)
    if isinstance(native, Direct):
        return native
    answer = json.loads(json.dumps(served.model.predict(native.payload)))
    return exchange.from_native(answer, native, call, served, Usage(tokens=None))


def native_answer(served: Served, payload: object) -> Any:
    return json.loads(json.dumps(served.model.predict(payload)))
