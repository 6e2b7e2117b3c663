"""What this machine offers the model: usable cores, bf16 support, a GPU."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from hf_serving import cgroup_cpu

# CPU flags that make bf16 matrix work fast (PERFORMANCE.md: ~5x fp32 on AMX).
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def affinity_cores() -> int:
    """Cores the scheduler may put this process on (cpusets, taskset), not the host's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def usable_cores() -> int:
    """The cores to size threads and workers by: the smaller of the affinity and the cgroup's CPU quota."""
    quota = cgroup_cpu.cpu_quota()
    affinity = affinity_cores()
    return min(affinity, quota.whole_cpus) if quota is not None else affinity


def describe_cores() -> str:
    """Which of the two limits sized the stack, for the start-up banner."""
    quota = cgroup_cpu.cpu_quota()
    affinity = affinity_cores()
    if quota is None:
        return f"cores: {affinity} (CPU affinity; no CPU quota)"
    if quota.whole_cpus < affinity:
        return f"cores: {quota.whole_cpus} (CPU quota {quota.cpus:g} CPUs, {quota.source}; affinity {affinity})"
    return f"cores: {affinity} (CPU affinity; CPU quota {quota.cpus:g} CPUs is not below it)"


@cache
def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_has_fast_bf16() -> bool:
    return any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)


def describe_auto_dtype_on_cpu() -> str:
    """What MODEL_DTYPE=auto resolves to on this CPU, with the reason (for the start-up banner)."""
    found = [flag for flag in BF16_CPU_FLAGS if flag in cpu_flags()]
    if found:
        return f"bfloat16 (CPU has {', '.join(found)})"
    return "float32 (CPU has no AMX-BF16/AVX512-BF16)"


def gpu_count() -> int:
    """NVIDIA GPUs visible to this container, counted without importing torch (the launcher stays light)."""
    return sum(1 for path in Path("/dev").glob("nvidia[0-9]*") if path.name[6:].isdigit())
