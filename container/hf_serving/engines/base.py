"""The engine contract: a model as a function from named arrays to named arrays.

Task code tokenises, pads and decodes in numpy and never sees torch or OpenVINO: it builds a batch of the
engine's `input_names` (int64, [rows, tokens]) and reads the engine's `output_names` back as float32 arrays.
So a new engine is one class with this shape (engines/torch_engine.py, engines/openvino/engine.py), and a new
task never learns which engine runs it. A call holds at most `max_batch_size` rows and `max_batch_tokens` padded
tokens (rows x the longest row): the task code (tasks/text_batches.py) cuts its rows into such calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# A call is bounded by its padded tokens (MAX_BATCH_TOKENS, TEI's max-batch-tokens), which bound its memory and time,
# rather than by a count of rows, and by 256 rows (each row costs Python work of its own). On a CPU the best cap is
# small: `make bench-pass-size` (bench/results/pass-size-*.md; Zen 5, OpenVINO bf16), against the former 32 rows, found
# short texts faster in larger calls (10 tokens: 0.87x for MiniLM, 0.93x for DistilBERT-base at a cap of 2,048) and
# MiniLM's longer texts slower in calls of many tokens (a cap of 16,384: 1.09x at 128 tokens, 1.02x at 384), as their
# activations outgrow the caches. At 2,048 every cell was 1.01x or faster (204 short texts a call, 42 of 48 tokens,
# 5 question-answering windows of 384). A GPU wants large calls: TEI's own default there.
DEFAULT_MAX_BATCH_TOKENS_CPU = 2_048
DEFAULT_MAX_BATCH_TOKENS_GPU = 16_384
DEFAULT_MAX_BATCH_TOKENS = DEFAULT_MAX_BATCH_TOKENS_CPU
DEFAULT_MAX_BATCH_SIZE = 256


def default_max_batch_tokens(device: str) -> int:
    """MAX_BATCH_TOKENS unless set: by the device the model runs on."""
    return DEFAULT_MAX_BATCH_TOKENS_CPU if device == "cpu" else DEFAULT_MAX_BATCH_TOKENS_GPU


class Engine(Protocol):
    description: str  # what runs the model, for the log: "torch 2.13.0", "OpenVINO 2026.4.0"
    dtype: str  # the MODEL_DTYPE it runs: float32, bfloat16, float16 or int8
    device: str  # "cpu", "cuda:0"
    input_names: tuple[str, ...]  # what run() reads, in the model's order
    output_names: tuple[str, ...]  # what run() returns
    max_batch_size: int  # rows per call, at most
    max_batch_tokens: int  # padded tokens per call, at most (a row longer than that goes alone)

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One forward pass: int64 [rows, tokens] arrays in, float32 arrays out (copies the caller may keep)."""
        ...


# Explanations (engines/attribution.py): the same contract in array terms, for the engine that computes gradients.


@dataclass(frozen=True)
class Target:
    """One output to explain: `output` (an output name), transformed over its last axis, at `index`."""

    output: str  # "logits", "start_logits", "end_logits"
    index: int  # a label, or a token position
    transform: str = "none"  # "softmax", "sigmoid" or "none"


@dataclass(frozen=True)
class Attribution:
    values: np.ndarray  # one per token of the input (0 where the baseline keeps the token)
    output: float  # F(input)
    baseline_output: float  # F(baseline)
    delta: float  # sum(values) - (output - baseline_output): the quadrature's error
    steps: int
    converged: bool  # |delta| within the tolerance


class Attributor(Protocol):
    def attribute(
        self,
        inputs: Mapping[str, np.ndarray],
        baseline_ids: np.ndarray,
        targets: Sequence[Target],
        first_steps: int,
        max_steps: int,
    ) -> list[Attribution]:
        """inputs: one row of int64 arrays, as run() takes them (extra names are ignored); baseline_ids: that row's
        input_ids with the text's tokens replaced. One Attribution per target, in order."""
        ...
