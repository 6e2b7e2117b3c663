"""Padding tokenised rows into the engine's int64 arrays, in numpy.

Right padding whatever the tokenizer's padding_side: every real token keeps the position it has alone (left
padding would shift absolute position embeddings), and the attention mask hides the pads, so the outputs of
real tokens do not change. Filled in numpy: a torch.tensor per row cost ~30 us each, 4 ms per batch of 64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def pad_values(tokenizer: Any) -> dict[str, int]:
    return {
        "input_ids": tokenizer.pad_token_id or 0,
        "token_type_ids": tokenizer.pad_token_type_id or 0,
        "attention_mask": 0,
    }


def pad_rows(
    rows: Sequence[Mapping[str, Sequence[int]]], names: Sequence[str], values: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """[len(rows), longest] int64 arrays of the named fields; a field a row lacks must not be asked for."""
    longest = max(len(row["input_ids"]) for row in rows)
    batch = {}
    for name in names:
        array = np.full((len(rows), longest), values.get(name, 0), dtype=np.int64)
        for index, row in enumerate(rows):
            array[index, : len(row[name])] = row[name]
        batch[name] = array
    return batch
