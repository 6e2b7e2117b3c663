"""The memory a multi-model endpoint may fill with models, and what one more model would take of it.

SageMaker unloads models when a load answers 507, so the container must say 507 before it runs out, not be killed
by the kernel halfway through a load (which takes every model of the container with it). The budget:

* the limit: the container's memory limit (cgroup v2 memory.max, v1 memory.limit_in_bytes), else the host's memory;
  SERVE_MEMORY_LIMIT_MB sets a lower one;
* in use: the cgroup's usage less its inactive page cache (the kernel gives that back before it kills anyone), else
  what the stack's own processes hold (their proportional set sizes: pages shared between workers count once);
  never more free than the host's MemAvailable;
* a headroom kept free for requests' own memory (activations, tokenised batches, the JVM's heap growing):
  SERVE_MEMORY_HEADROOM_MB, else 10% of the limit, at least 256 MB.

A load is refused with 507 when its estimate (`estimate_model_bytes`) does not fit in what is free once the loads
already under way have taken theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from hf_serving.settings import Settings
from hf_serving.tasks.registry import read_config

MIB = 1024 * 1024
MIN_HEADROOM_BYTES = 256 * MIB
HEADROOM_SHARE = 0.10
# What a model worker holds besides its weights: forked from the zygote (launcher/zygote.py), ~40 MB of its own when
# idle (its listener, its tokenizer, torch's allocator), measured on tests/fixtures/tiny-qa, and room for a
# batch's activations at 8 x 512 tokens (bench/results/mme-latest.md has the measured cost per model).
WORKER_BASE_BYTES = 120 * MIB
WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
CGROUP_ROOT = Path("/sys/fs/cgroup")
_NO_LIMIT = 1 << 60  # cgroup v1 writes "no limit" as a number near 2**63


@dataclass(frozen=True)
class Reading:
    limit_bytes: int
    used_bytes: int
    source: str  # where the limit came from, for the banner

    @property
    def free_bytes(self) -> int:
        return max(0, self.limit_bytes - self.used_bytes)


class MemoryBudget:
    def __init__(
        self, settings: Settings, stack_pids: Callable[[], Iterable[int]], cgroup_root: Path = CGROUP_ROOT
    ) -> None:
        self.settings = settings
        self.stack_pids = stack_pids
        self.cgroup_root = cgroup_root

    def read(self) -> Reading:
        cgroup = read_cgroup(self.cgroup_root)
        limit, used, source = None, None, "the host's memory"
        if cgroup is not None:
            limit, used = cgroup
            source = "the container's memory limit"
        if self.settings.memory_limit_mb is not None and (limit is None or self.settings.memory_limit_mb * MIB < limit):
            limit, source = self.settings.memory_limit_mb * MIB, "SERVE_MEMORY_LIMIT_MB"
            used = None if cgroup is None else used
        host = psutil.virtual_memory()
        if limit is None:
            limit = host.total
        if used is None:
            used = stack_memory(self.stack_pids())
        # Never more free than the host has: a limit above the host's free memory is no promise.
        used = max(used, limit - host.available)
        return Reading(limit_bytes=limit, used_bytes=used, source=source)

    def headroom_bytes(self, limit_bytes: int) -> int:
        if self.settings.memory_headroom_mb is not None:
            return self.settings.memory_headroom_mb * MIB
        return max(MIN_HEADROOM_BYTES, int(limit_bytes * HEADROOM_SHARE))

    def available_bytes(self, reserved_bytes: int = 0) -> int:
        """What one more model may take now: free memory less the headroom and the loads under way."""
        reading = self.read()
        return reading.free_bytes - self.headroom_bytes(reading.limit_bytes) - reserved_bytes

    def describe(self) -> str:
        reading = self.read()
        headroom = self.headroom_bytes(reading.limit_bytes)
        return (
            f"memory budget: {reading.limit_bytes / MIB:.0f} MB ({reading.source}), {reading.used_bytes / MIB:.0f}"
            f" MB in use, headroom {headroom / MIB:.0f} MB (SERVE_MEMORY_HEADROOM_MB); a load that would not fit "
            "answers 507"
        )


def read_cgroup(root: Path) -> tuple[int, int] | None:
    """(limit, usage less inactive page cache) of this process's memory cgroup; None without a limit."""
    v2 = root / "memory.max"
    if v2.is_file():
        raw = v2.read_text().strip()
        if raw == "max":
            return None
        usage = int((root / "memory.current").read_text())
        return int(raw), usage - _stat(root / "memory.stat", "inactive_file")
    v1 = root / "memory" / "memory.limit_in_bytes"
    if v1.is_file():
        limit = int(v1.read_text())
        if limit >= _NO_LIMIT:
            return None
        usage = int((root / "memory" / "memory.usage_in_bytes").read_text())
        return limit, usage - _stat(root / "memory" / "memory.stat", "total_inactive_file")
    return None


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except OSError:
        pass
    return 0


def stack_memory(pids: Iterable[int]) -> int:
    """The proportional set size of the given processes together: a page shared by n of them counts 1/n each."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def estimate_model_bytes(model_dir: Path, weights_dir: Path, dtype: str, workers: int) -> int:
    """What loading the model will take: its weights at the dtype the workers load it in, plus a worker's base,
    for each worker (each holds its own copy of the weights)."""
    files = [path for pattern in WEIGHT_FILES for path in weights_dir.rglob(pattern)]
    if any(path.suffix == ".safetensors" for path in files):  # transformers loads these, not .bin beside them
        files = [path for path in files if path.suffix == ".safetensors"]
    stored = sum(path.stat().st_size for path in files)
    stored_dtype = _stored_dtype(model_dir if (model_dir / "config.json").is_file() else weights_dir)
    loaded = stored * DTYPE_BYTES.get(dtype, 4) // DTYPE_BYTES.get(stored_dtype, 4)
    return workers * (loaded + WORKER_BASE_BYTES)


def _stored_dtype(config_dir: Path) -> str:
    try:
        config = read_config(config_dir)
    except Exception:  # noqa: BLE001 - the load itself reports an unreadable config
        return "float32"
    value = config.get("torch_dtype") or config.get("dtype") or "float32"
    return value if isinstance(value, str) else "float32"


def process_tree(root_pid: int) -> list[int]:
    try:
        root = psutil.Process(root_pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []
