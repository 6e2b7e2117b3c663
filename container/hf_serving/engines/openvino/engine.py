"""OpenVINO as the CPU engine: the transformers model converted once at load, then called as torch's was.

Why: on CPU, OpenVINO runs the same DistilBERT graph fused (attention, GELU, layer norms) with bf16 kernels,
about 1.5x torch eager bfloat16 on the same cores (docs/PERFORMANCE.md has the figures), and compiles a new
input shape in well under a second, where torch.compile takes seconds per shape in every worker. The model
is converted from the loaded torch module (no export step, no files written), so a Hub model id, a model
directory and a model.tar.gz all take this path unchanged.

It meets the engine contract (engines/base.py): named int64 arrays in, named float32 arrays out, with the
output names transformers gives them ("start_logits"/"end_logits", "logits", "last_hidden_state").
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hf_serving import hardware
from hf_serving.engines.base import DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS
from hf_serving.engines.openvino import int8 as openvino_int8
from hf_serving.engines.openvino import runtime as openvino_runtime

# The MODEL_DTYPEs OpenVINO serves; the others stay on torch. int8 is int8 weights and dot products
# (engines/openvino/int8.py), with the rest of the graph in bf16 where the CPU runs it fast.
SERVED_DTYPES = ("float32", "bfloat16", "int8")


class OpenVINOEngine:
    """A transformers model converted from its torch module and compiled by OpenVINO for the CPU."""

    def __init__(
        self,
        torch_model: Any,
        input_names: Sequence[str],
        output_names: Sequence[str],
        dtype: str,
        threads: int,
        pin_threads: bool,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    ) -> None:
        if dtype not in SERVED_DTYPES:
            raise ValueError(f"OpenVINO serves {', '.join(SERVED_DTYPES)}, not {dtype}")
        self.dtype = dtype
        self.device = "cpu"
        self.input_names = tuple(input_names)
        self.output_names = tuple(output_names)
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        quantised = " (int8 weights; activations quantised at run time)" if dtype == "int8" else ""
        self.description = describe() + quantised
        graph = convert(torch_model, self.input_names)
        if dtype == "int8":
            openvino_int8.compress_linear_weights(graph)
        config = compile_config(dtype, threads, pin_threads)
        self._compiled = openvino_runtime.load().Core().compile_model(graph, "CPU", config)
        self._request = self._compiled.create_infer_request()  # one worker runs one request at a time

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = self._request.infer({name: inputs[name] for name in self.input_names})
        # Copies: the request's output buffers are reused by the next call. The graph's outputs come in the
        # module's tuple order, of which output_names name the first ones.
        return {name: np.array(results[index], dtype=np.float32) for index, name in enumerate(self.output_names)}


def convert(torch_model: Any, input_names: Sequence[str]) -> Any:
    """The torch module as an OpenVINO graph in float32, taking int64 [rows, tokens] arrays of any shape."""
    import torch

    ov = openvino_runtime.load()
    return_dict = torch_model.config.return_dict
    torch_model.config.return_dict = False  # a tuple of tensors traces; a ModelOutput does not
    example = {name: torch.ones((1, 16), dtype=torch.long) for name in input_names}
    try:
        # Tracing warns about every Python-side check on shapes it freezes (the mask's padding, is_causal)
        # and about deprecations inside transformers: noise in a server's log. What matters is checked
        # instead: answers equal torch's, padded and alone (tests/unit/engines/test_openvino_engine.py).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ov.convert_model(
                torch_model.float().eval(),
                example_input=example,
                input=[(name, [-1, -1], ov.Type.i64) for name in input_names],
            )
    finally:
        torch_model.config.return_dict = return_dict


def compile_config(dtype: str, threads: int, pin_threads: bool) -> dict[str, Any]:
    """The CPU plugin's settings for a MODEL_DTYPE. Threads as the rest of the worker uses them (cores /
    workers). Several workers must not all pin their threads to the same cores (seen here: total throughput
    halves)."""
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": threads,
        "ENABLE_CPU_PINNING": pin_threads,
    }
    if dtype == "int8":
        # What is not an int8 dot product (attention, GELU, layer norms) runs as bf16 would.
        config["INFERENCE_PRECISION_HINT"] = "bf16" if hardware.cpu_has_fast_bf16() else "f32"
        config["DYNAMIC_QUANTIZATION_GROUP_SIZE"] = openvino_int8.ACTIVATION_GROUP_SIZE
    else:
        config["INFERENCE_PRECISION_HINT"] = {"float32": "f32", "bfloat16": "bf16"}[dtype]
    return config


def describe() -> str:
    return f"OpenVINO {openvino_runtime.load().get_version().split('-')[0]}"
