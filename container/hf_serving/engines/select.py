"""Which engine runs a model, and with which dtype: the policy, and the fallback when OpenVINO cannot convert.

One function decides (`choose_engine`), for the workers that load the model and for the launcher's banner
alike, so that the banner says what the workers will do. `load_engine` then builds it, and falls back to torch
when MODEL_ENGINE=auto and OpenVINO fails on an architecture: auto must never stop a model that torch serves.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hf_serving import hardware
from hf_serving.engines.base import DEFAULT_MAX_BATCH_TOKENS, Engine
from hf_serving.engines.openvino import engine as openvino_engine
from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.errors import ConfigurationError

log = logging.getLogger(__name__)


def dtype_on_cpu(setting: str) -> str:
    """What MODEL_DTYPE means on this CPU: auto is bfloat16 where the CPU has fast bf16 units, else float32."""
    if setting == "auto":
        return "bfloat16" if hardware.cpu_has_fast_bf16() else "float32"
    return setting


def dtype_on_gpu(setting: str, bf16_supported: bool) -> str:
    if setting == "auto":
        return "bfloat16" if bf16_supported else "float16"
    return setting


def choose_engine(setting: str, dtype: str, device: str, openvino_available: bool) -> str:
    """torch or openvino. auto: OpenVINO for bfloat16 and int8 on CPU (~1.4x torch's req/s in bf16,
    bench/README.md; ~2.4x torch's dynamic int8 model-only, engines/openvino/int8.py); torch for float32, the
    reference that answers exactly as transformers' pipelines did, and for GPUs and float16."""
    if setting == "torch":
        return "torch"
    fits = device == "cpu" and dtype in openvino_engine.SERVED_DTYPES
    if setting == "openvino":
        if not fits:
            served = ", ".join(openvino_engine.SERVED_DTYPES[:-1]) + f" and {openvino_engine.SERVED_DTYPES[-1]}"
            raise ConfigurationError(f"MODEL_ENGINE=openvino serves {served} on CPU, not {dtype} on {device}")
        if not openvino_available:
            raise ConfigurationError("MODEL_ENGINE=openvino, but the openvino package is not installed")
        return "openvino"
    return "openvino" if fits and dtype != "float32" and openvino_available else "torch"


def describe_plan(engine_setting: str, dtype_setting: str, gpus: int) -> str:
    """The banner's line: the dtype and engine the workers will choose, by the same rules, without torch."""
    if gpus:
        dtype = dtype_on_gpu(dtype_setting, bf16_supported=True)
        dtype_text = "auto -> bfloat16 (float16 on a GPU without bf16)" if dtype_setting == "auto" else dtype
        device = "cuda"
    else:
        dtype = dtype_on_cpu(dtype_setting)
        dtype_text = f"auto -> {hardware.describe_auto_dtype_on_cpu()}" if dtype_setting == "auto" else dtype
        device = "cpu"
    engine = choose_engine(engine_setting, dtype, device, openvino_runtime.installed())
    fallback = (
        " (torch where OpenVINO cannot convert the model)" if engine == "openvino" and engine_setting == "auto" else ""
    )
    return f"dtype: {dtype_text}; engine: {engine_setting} -> {engine}{fallback}"


def load_engine(
    auto_model: Any,
    weights_dir: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dtype: str,
    device: str,
    engine_setting: str,
    threads: int,
    workers: int,
    trust_remote_code: bool,
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    prepare: Callable[[Any], Any] | None = None,
) -> Engine:
    """The model in weights_dir, loaded by the transformers class auto_model, on the engine the policy picks;
    `prepare` makes the loaded torch module into what the engine runs (a masked LM's head on its masks alone)."""
    engine = choose_engine(engine_setting, dtype, device, openvino_runtime.available())
    prepared = prepare or (lambda module: module)
    if engine == "openvino":
        try:
            # OpenVINO makes bf16 from float32 weights
            module = prepared(_torch_module(auto_model, weights_dir, "float32", trust_remote_code))
            return openvino_engine.OpenVINOEngine(
                module,
                forward_inputs(module, input_names),
                output_names,
                dtype,
                threads=threads,
                pin_threads=workers == 1,
                max_batch_tokens=max_batch_tokens,
            )
        except Exception as exc:
            if engine_setting == "openvino":
                raise
            log.warning(
                "OpenVINO could not convert %s (%s: %s); serving it on torch instead",
                weights_dir,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
    from hf_serving.engines.torch_engine import TorchEngine

    module = prepared(_torch_module(auto_model, weights_dir, dtype, trust_remote_code))
    module = _on_device(module, dtype, device)
    return TorchEngine(
        module, forward_inputs(module, input_names), output_names, dtype, device, max_batch_tokens=max_batch_tokens
    )


def float32_torch_module(auto_model: Any, weights_dir: Path, device: str, trust_remote_code: bool) -> Any:
    """The model as transformers defines it, in float32 on `device`: the reference, and what gradients run on."""
    return _on_device(_torch_module(auto_model, weights_dir, "float32", trust_remote_code), "float32", device)


def _torch_module(auto_model: Any, weights_dir: Path, dtype: str, trust_remote_code: bool) -> Any:
    import torch

    torch_dtype = torch.float32 if dtype == "int8" else getattr(torch, dtype)  # int8 quantises float32 layers
    return auto_model.from_pretrained(weights_dir, dtype=torch_dtype, trust_remote_code=trust_remote_code)


def _on_device(module: Any, dtype: str, device: str) -> Any:
    import torch

    module.eval()
    if dtype == "int8":
        if device != "cpu":
            raise ConfigurationError("MODEL_DTYPE=int8 is for CPUs; use bfloat16 or float16 on a GPU")
        module = torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
    return module.to(device)


def forward_inputs(module: Any, offered: Sequence[str]) -> list[str]:
    """The tokenizer's outputs that forward() takes, in forward's order (a tokenizer may make some a model does
    not take)."""
    given = set(offered)
    return [name for name in inspect.signature(module.forward).parameters if name in given]
