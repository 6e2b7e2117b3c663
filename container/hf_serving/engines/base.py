"""The engine contract: a model as a function from named arrays to named arrays.

Task code tokenises, pads and decodes in numpy and never sees torch or OpenVINO: it builds a batch of the
engine's `input_names` (int64, [rows, tokens]) and reads the engine's `output_names` back as float32 arrays.
So a new engine is one class with this shape (engines/torch_engine.py, engines/openvino/engine.py), and a new
task never learns which engine runs it. `max_batch_size` is how many rows the task should send per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

# Rows per call unless an engine says otherwise: the chunk size the task code has always used.
DEFAULT_MAX_BATCH_SIZE = 32


class Engine(Protocol):
    description: str  # what runs the model, for the log: "torch 2.13.0", "OpenVINO 2026.4.0"
    dtype: str  # the MODEL_DTYPE it runs: float32, bfloat16, float16 or int8
    device: str  # "cpu", "cuda:0"
    input_names: tuple[str, ...]  # what run() reads, in the model's order
    output_names: tuple[str, ...]  # what run() returns
    max_batch_size: int

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One forward pass: int64 [rows, tokens] arrays in, float32 arrays out (copies the caller may keep)."""
        ...
