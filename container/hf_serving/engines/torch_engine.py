"""torch as an engine: a transformers module in eval mode on a device, called under inference_mode.

The reference engine: in float32 it answers exactly as transformers' pipelines did. Also the engine for GPUs
(bfloat16, float16) and for int8 where OpenVINO is missing (torch's dynamic quantisation).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hf_serving.engines.base import DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_TOKENS


class TorchEngine:
    def __init__(
        self,
        module: Any,
        input_names: Sequence[str],
        output_names: Sequence[str],
        dtype: str,
        device: str,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    ) -> None:
        self.module = module
        self.input_names = tuple(input_names)
        self.output_names = tuple(output_names)
        self.dtype = dtype
        self.device = device
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        quantised = " (int8: torch dynamic quantisation)" if dtype == "int8" else ""
        self.description = f"torch {torch.__version__}{quantised}"
        # As transformers' pipelines did: models that can cache keys and values must not here.
        self._extras = {"use_cache": False} if "use_cache" in inspect.signature(module.forward).parameters else {}

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {name: torch.from_numpy(np.ascontiguousarray(inputs[name])).to(self.device) for name in self.input_names}
        with torch.inference_mode():
            output = self.module(**feed, **self._extras)
        # bf16/fp16 models: the task code computes probabilities and pooling in float32, as the pipelines did.
        return {
            name: _output(output, index, name).float().cpu().numpy() for index, name in enumerate(self.output_names)
        }


def _output(output: Any, index: int, name: str) -> torch.Tensor:
    """A ModelOutput by name; a plain tuple (return_dict=False, or a user's module) by position."""
    if isinstance(output, Mapping):
        return output[name]
    return output[index]
