"""Engines around torch modules that tests build themselves (a tiny model, a bf16 copy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hf_serving.engines.torch_engine import TorchEngine


def torch_engine(
    module: Any, tokenizer: Any, output_names: Sequence[str], dtype: str = "float32", max_batch_size: int = 32
) -> TorchEngine:
    """As the loader builds one: the tokenizer's outputs that forward() takes, on the CPU."""
    import inspect

    given = set(tokenizer.model_input_names)
    names = [name for name in inspect.signature(module.forward).parameters if name in given]
    return TorchEngine(module.eval(), names, output_names, dtype, "cpu", max_batch_size=max_batch_size)
