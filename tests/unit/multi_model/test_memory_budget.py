"""The memory budget of a multi-model endpoint: cgroup v1 and v2 trees written here, and a model's estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_serving.multi_model import memory_budget
from hf_serving.multi_model.memory_budget import MIB, MemoryBudget, estimate_model_bytes, read_cgroup
from hf_serving.settings import Settings


def cgroup_v2(root: Path, limit: str, current: int, inactive_file: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "memory.max").write_text(limit + "\n")
    (root / "memory.current").write_text(f"{current}\n")
    (root / "memory.stat").write_text(f"anon 123\ninactive_file {inactive_file}\nactive_file 9\n")
    return root


def cgroup_v1(root: Path, limit: int, usage: int, inactive_file: int) -> Path:
    memory = root / "memory"
    memory.mkdir(parents=True)
    (memory / "memory.limit_in_bytes").write_text(f"{limit}\n")
    (memory / "memory.usage_in_bytes").write_text(f"{usage}\n")
    (memory / "memory.stat").write_text(f"cache 5\ntotal_inactive_file {inactive_file}\n")
    return root


def test_cgroup_v2_limit_and_usage_less_inactive_page_cache(tmp_path):
    root = cgroup_v2(tmp_path, str(2048 * MIB), current=900 * MIB, inactive_file=100 * MIB)
    assert read_cgroup(root) == (2048 * MIB, 800 * MIB)


def test_cgroup_v2_without_a_limit_is_none(tmp_path):
    assert read_cgroup(cgroup_v2(tmp_path, "max", current=1, inactive_file=0)) is None


def test_cgroup_v1_limit_and_usage(tmp_path):
    root = cgroup_v1(tmp_path, 4096 * MIB, usage=1000 * MIB, inactive_file=250 * MIB)
    assert read_cgroup(root) == (4096 * MIB, 750 * MIB)


def test_cgroup_v1_unlimited_reads_as_no_limit(tmp_path):
    assert read_cgroup(cgroup_v1(tmp_path, 9223372036854771712, usage=5, inactive_file=0)) is None


def test_no_cgroup_files_at_all(tmp_path):
    assert read_cgroup(tmp_path) is None


class FakeMemory:
    def __init__(self, total: int, available: int) -> None:
        self.total, self.available = total, available


@pytest.fixture
def host(monkeypatch):
    def set_host(total_mb: int, available_mb: int) -> None:
        monkeypatch.setattr(
            memory_budget.psutil, "virtual_memory", lambda: FakeMemory(total_mb * MIB, available_mb * MIB)
        )

    set_host(64_000, 60_000)
    return set_host


def test_the_container_limit_decides_and_the_default_headroom_is_10_percent(tmp_path, host):
    root = cgroup_v2(tmp_path, str(4000 * MIB), current=1000 * MIB, inactive_file=0)
    budget = MemoryBudget(Settings(), lambda: [], cgroup_root=root)
    reading = budget.read()
    assert (reading.limit_bytes, reading.used_bytes, reading.source) == (
        4000 * MIB,
        1000 * MIB,
        "the container's memory limit",
    )
    assert budget.headroom_bytes(reading.limit_bytes) == 400 * MIB
    assert budget.available_bytes() == (4000 - 1000 - 400) * MIB
    assert budget.available_bytes(reserved_bytes=500 * MIB) == (4000 - 1000 - 400 - 500) * MIB
    assert "4000 MB (the container's memory limit), 1000 MB in use, headroom 400 MB" in budget.describe()


def test_a_small_limit_keeps_at_least_256_mb_of_headroom(tmp_path, host):
    root = cgroup_v2(tmp_path, str(1000 * MIB), current=0, inactive_file=0)
    budget = MemoryBudget(Settings(), lambda: [], cgroup_root=root)
    assert budget.headroom_bytes(1000 * MIB) == 256 * MIB


def test_serve_memory_limit_lowers_the_limit_and_the_stack_processes_count_without_a_cgroup(
    tmp_path, host, monkeypatch
):
    monkeypatch.setattr(memory_budget, "stack_memory", lambda pids: 300 * MIB)
    budget = MemoryBudget(Settings(memory_limit_mb=1000, memory_headroom_mb=0), lambda: [1, 2], cgroup_root=tmp_path)
    reading = budget.read()
    assert (reading.limit_bytes, reading.used_bytes, reading.source) == (1000 * MIB, 300 * MIB, "SERVE_MEMORY_LIMIT_MB")
    assert budget.available_bytes() == 700 * MIB


def test_never_more_free_than_the_host_has(tmp_path, host, monkeypatch):
    host(total_mb=8000, available_mb=500)
    monkeypatch.setattr(memory_budget, "stack_memory", lambda pids: 100 * MIB)
    budget = MemoryBudget(Settings(memory_limit_mb=4000, memory_headroom_mb=0), lambda: [], cgroup_root=tmp_path)
    assert budget.available_bytes() == 500 * MIB
    without_limit = MemoryBudget(Settings(memory_headroom_mb=0), lambda: [], cgroup_root=tmp_path)
    assert without_limit.read().limit_bytes == 8000 * MIB and without_limit.available_bytes() == 500 * MIB


def weights_dir(tmp_path: Path, files: dict[str, int], dtype: str | None = None) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    config = {"architectures": ["DistilBertForSequenceClassification"]}
    if dtype:
        config["torch_dtype"] = dtype
    (model / "config.json").write_text(json.dumps(config))
    for name, size in files.items():
        with (model / name).open("wb") as handle:
            handle.truncate(size)
    return model


def test_the_estimate_is_the_weights_at_the_loaded_dtype_plus_a_worker_base_per_worker(tmp_path):
    model = weights_dir(tmp_path, {"model.safetensors": 200 * MIB, "pytorch_model.bin": 200 * MIB})
    base = memory_budget.WORKER_BASE_BYTES
    assert estimate_model_bytes(model, model, "float32", 1) == 200 * MIB + base  # .bin beside it is not loaded
    assert estimate_model_bytes(model, model, "bfloat16", 1) == 100 * MIB + base
    assert estimate_model_bytes(model, model, "float32", 2) == 2 * (200 * MIB + base)


def test_weights_stored_in_bf16_double_when_loaded_in_float32(tmp_path):
    model = weights_dir(tmp_path, {"model.safetensors": 100 * MIB}, dtype="bfloat16")
    assert estimate_model_bytes(model, model, "float32", 1) == 200 * MIB + memory_budget.WORKER_BASE_BYTES
