"""tests/support/built_once.py: a model the tests train is built once per key, reused after, and built again when
what determines it changes or when build/ lost it."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from tests.support import built_once as cache


@pytest.fixture
def built(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(cache, "BUILT", tmp_path / "test-models")
    return tmp_path / "test-models"


def trainer(tmp_path: Path, source: str) -> tuple[types.ModuleType, list[int]]:
    """A module whose source the key reads, and a build that counts its calls."""
    path = tmp_path / "fake_trainer.py"
    path.write_text(source)
    module = types.ModuleType("fake_trainer")
    module.__file__ = str(path)
    return module, []


def build_counting(calls: list[int]):
    def build(out: Path, seed: int) -> Path:
        calls.append(seed)
        out.mkdir(parents=True)
        (out / "weights").write_text(f"seed {seed}")
        return out

    return build


def test_a_model_is_built_once_then_reused(built, tmp_path):
    module, calls = trainer(tmp_path, "EPOCHS = 2\n")
    first = cache.built_once("fake", build_counting(calls), [module], seed=0)
    again = cache.built_once("fake", build_counting(calls), [module], seed=0)
    assert first == again and first.parent == built and calls == [0]
    assert (first / "weights").read_text() == "seed 0"
    stamp = json.loads(first.with_suffix(".json").read_text())
    assert stamp["arguments"] == {"seed": 0} and "torch" in stamp["packages"]
    assert [path.name for path in built.iterdir() if path.name.startswith(".")] == []  # no scratch left


def test_a_changed_source_or_seed_builds_again_beside_the_old_build(built, tmp_path):
    module, calls = trainer(tmp_path, "EPOCHS = 2\n")
    first = cache.built_once("fake", build_counting(calls), [module], seed=0)
    other_seed = cache.built_once("fake", build_counting(calls), [module], seed=1)
    Path(module.__file__).write_text("EPOCHS = 3\n")
    edited = cache.built_once("fake", build_counting(calls), [module], seed=0)
    assert len({first, other_seed, edited}) == 3 and calls == [0, 1, 0]


def test_a_build_wiped_from_build_or_left_without_its_stamp_is_built_again(built, tmp_path):
    module, calls = trainer(tmp_path, "EPOCHS = 2\n")
    first = cache.built_once("fake", build_counting(calls), [module], seed=0)
    for path in first.iterdir():
        path.unlink()
    first.rmdir()
    assert cache.built_once("fake", build_counting(calls), [module], seed=0) == first
    first.with_suffix(".json").unlink()  # a directory without its stamp: a build that never finished
    assert cache.built_once("fake", build_counting(calls), [module], seed=0) == first
    assert calls == [0, 0, 0] and (first / "weights").read_text() == "seed 0"


def test_a_build_that_fails_leaves_nothing_that_looks_finished(built, tmp_path):
    module, _ = trainer(tmp_path, "EPOCHS = 2\n")

    def failing(out: Path, seed: int) -> Path:
        out.mkdir(parents=True)
        (out / "half").write_text("half a model")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError, match="killed half-way"):
        cache.built_once("fake", failing, [module], seed=0)
    assert sorted(path.suffix for path in built.iterdir()) == [".lock"]
