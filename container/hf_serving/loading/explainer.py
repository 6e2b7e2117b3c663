"""Where a served model's explanations come from: integrated gradients on the float32 torch model.

Loaded at the first explain request, never at start: requests without `explain` keep the fast engine (OpenVINO in
bfloat16, say) and the memory of one model. A worker whose engine is already float32 torch (the explanation worker
of a single-model endpoint, or MODEL_DTYPE=float32) explains with that same module; any other loads a float32 copy
of the weights beside its engine, once.

Refused, with the reason, where SERVE_EXPLAIN=off, and on a multi-model endpoint: its models' workers batch their
requests together and are sized by a memory budget that a second copy of the weights would break. Refused too in a
single-model endpoint's batching workers: nginx sends explain requests to the explanation worker
(launcher/lua/explanations.lua), and one that reached a batching worker anyway must not load a second model there and
hold up its batches for seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hf_serving.engines import select
from hf_serving.engines.base import Attributor, Engine
from hf_serving.settings import Settings
from hf_serving.tasks.explaining import AttributorSource, unavailable


def attributor_source(
    settings: Settings, engine: Engine, auto_model: Any, weights_dir: Path, input_names: Sequence[str], device: str
) -> AttributorSource:
    if not settings.explain:
        return unavailable("SERVE_EXPLAIN=off")
    if settings.multi_model:
        return unavailable("a multi-model endpoint has no worker to explain in; use a single-model endpoint")
    if settings.explain_elsewhere:
        return unavailable(
            "this request reached a batching worker, which never explains; explain requests go to "
            "the explanation worker"
        )
    loaded: list[Attributor] = []
    lock = threading.Lock()

    def get() -> Attributor:
        with lock:
            if not loaded:
                loaded.append(_load(settings, engine, auto_model, weights_dir, input_names, device))
            return loaded[0]

    return get


def _load(
    settings: Settings, engine: Engine, auto_model: Any, weights_dir: Path, input_names: Sequence[str], device: str
) -> Attributor:
    from hf_serving.engines.attribution import IntegratedGradients
    from hf_serving.engines.torch_engine import TorchEngine

    if isinstance(engine, TorchEngine) and engine.dtype == "float32":
        module = engine.module
    else:
        module = select.float32_torch_module(auto_model, weights_dir, device, settings.trust_remote_code)
    return IntegratedGradients(module, select.forward_inputs(module, input_names), device)
