"""tasks/text_batches.run_sorted: shortest first, each model pass bounded by the engine's rows and padded tokens
(MAX_BATCH_TOKENS) and by a task's own tighter cap; results back in the caller's order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from hf_serving.engines.base import default_max_batch_tokens
from hf_serving.settings import Settings
from hf_serving.tasks import text_batches


class ShapeEngine:
    """Records each pass's [rows, tokens]; answers each row with its own length."""

    def __init__(self, max_batch_size: int, max_batch_tokens: int) -> None:
        self.max_batch_size, self.max_batch_tokens = max_batch_size, max_batch_tokens
        self.shapes: list[tuple[int, int]] = []

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.shapes.append(feed["input_ids"].shape)
        return {"lengths": feed["attention_mask"].sum(axis=1)}


TOKENIZER = SimpleNamespace(pad_token_id=0, pad_token_type_id=0)


def rows(lengths: list[int]) -> list[dict]:
    return [{"input_ids": [1] * n, "attention_mask": [1] * n} for n in lengths]


def read(outputs: dict, feed: dict) -> list[int]:
    return [int(n) for n in outputs["lengths"]]


def test_passes_are_capped_by_padded_tokens_so_short_texts_go_many_at_once_and_long_ones_few():
    engine = ShapeEngine(max_batch_size=256, max_batch_tokens=64)
    lengths = [8] * 10 + [30, 31, 32, 100]
    found = text_batches.run_sorted(engine, TOKENIZER, rows(lengths[::-1]), read)
    assert found == lengths[::-1]  # each row's own answer, in the caller's order
    assert engine.shapes == [(8, 8), (2, 8), (2, 31), (1, 32), (1, 100)]  # <= 64 padded tokens, or one long row
    assert all(r * t <= 64 or r == 1 for r, t in engine.shapes)


def test_the_rows_cap_still_holds_and_a_tasks_own_tighter_cap_wins():
    engine = ShapeEngine(max_batch_size=3, max_batch_tokens=10_000)
    text_batches.run_sorted(engine, TOKENIZER, rows([4] * 7), read)
    assert engine.shapes == [(3, 4), (3, 4), (1, 4)]
    engine = ShapeEngine(max_batch_size=256, max_batch_tokens=10_000)
    text_batches.run_sorted(engine, TOKENIZER, rows([4] * 7), read, max_tokens=8)
    assert engine.shapes == [(2, 4), (2, 4), (2, 4), (1, 4)]


def test_max_batch_tokens_is_read_from_the_environment_else_chosen_by_device():
    assert Settings.from_environ({}).max_batch_tokens is None
    assert Settings.from_environ({"MAX_BATCH_TOKENS": "4096"}).max_batch_tokens == 4096
    assert (default_max_batch_tokens("cpu"), default_max_batch_tokens("cuda:0")) == (2048, 16_384)


def test_a_loaded_model_passes_at_most_the_settings_tokens(tmp_path):
    """Through the loader: MAX_BATCH_TOKENS reaches the engine, and the device's default where it is unset."""
    from hf_serving.loading.loader import load_served_model
    from tests.support.paths import TINY_QA

    assert load_served_model(TINY_QA, Settings(model_dir=TINY_QA, dtype="float32")).engine.max_batch_tokens == 2048
    served = load_served_model(TINY_QA, Settings(model_dir=TINY_QA, dtype="float32", max_batch_tokens=1024))
    assert served.engine.max_batch_tokens == 1024
