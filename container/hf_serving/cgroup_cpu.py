"""The CPU time this process's cgroups allow (a CFS quota), in CPUs: cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` over
`cpu.cfs_period_us`.

A pod limited to 2 CPUs on a 64-core node, or `docker run --cpus=2`, may still be scheduled on all 64 cores: only
the quota limits it. Sized by affinity alone it would run 64 torch threads and be throttled every period.

The cgroup is found as the kernel names it (/proc/self/cgroup) under the hierarchy's mount point (/proc/self/
mountinfo), so it is right both inside a container (a cgroup namespace: the cgroup is "/") and on a host. Every
ancestor up to the mount is read too: Kubernetes puts the limit on the pod's cgroup and the container's. `root`
lets the unit tests point it at a fake tree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

V1_CPU_CONTROLLER = "cpu"


@dataclass(frozen=True)
class CpuQuota:
    cpus: float  # quota / period, the smallest along the cgroup's ancestors
    source: str  # e.g. "cgroup v2 cpu.max 150000/100000"

    @property
    def whole_cpus(self) -> int:
        """The cores worth of threads that run without throttling: rounded down, at least one."""
        return max(1, math.floor(self.cpus + 1e-9))


@dataclass(frozen=True)
class _Mount:
    point: Path  # where the hierarchy is mounted (under root)
    root: PurePosixPath  # the hierarchy's path that is mounted there
    version: int


def cpu_quota(root: Path = Path("/")) -> CpuQuota | None:
    """The tightest CFS quota on this process, or None where there is none (or no cgroup can be read)."""
    try:
        memberships = (root / "proc/self/cgroup").read_text().splitlines()
        mounts = _cgroup_mounts((root / "proc/self/mountinfo").read_text(), root)
    except OSError:
        return None
    found: list[CpuQuota] = []
    for line in memberships:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            version = 2
        elif V1_CPU_CONTROLLER in controllers.split(","):
            version = 1
        else:
            continue
        for mount in mounts:
            if mount.version == version:
                directory = _cgroup_directory(mount, PurePosixPath(path))
                if directory is not None:
                    found.extend(_quotas_up_to(mount.point, directory, version))
    return min(found, key=lambda quota: quota.cpus, default=None)


def _cgroup_mounts(mountinfo: str, root: Path) -> list[_Mount]:
    mounts = []
    for line in mountinfo.splitlines():
        fields, _, tail = line.partition(" - ")
        parts, tail_parts = fields.split(), tail.split()
        if len(parts) < 5 or len(tail_parts) < 3:
            continue
        fstype, super_options = tail_parts[0], tail_parts[2]
        if fstype == "cgroup2":
            version = 2
        elif fstype == "cgroup" and V1_CPU_CONTROLLER in super_options.split(","):
            version = 1
        else:
            continue
        point = root / parts[4].lstrip("/")
        mounts.append(_Mount(point=point, root=PurePosixPath(parts[3]), version=version))
    return mounts


def _cgroup_directory(mount: _Mount, path: PurePosixPath) -> Path | None:
    """The cgroup's directory under the mount; None where the mount does not hold it."""
    try:
        relative = path.relative_to(mount.root)
    except ValueError:
        # Inside a container without a cgroup namespace the kernel names the host's path, and the container sees
        # its own cgroup mounted at the hierarchy's top: read the top.
        return mount.point
    directory = mount.point / relative
    return directory if directory.is_dir() else mount.point


def _quotas_up_to(top: Path, directory: Path, version: int) -> list[CpuQuota]:
    quotas = []
    current = directory
    while True:
        quota = _read_v2(current) if version == 2 else _read_v1(current)
        if quota is not None:
            quotas.append(quota)
        if current == top or top not in current.parents:
            return quotas
        current = current.parent


def _read_v2(directory: Path) -> CpuQuota | None:
    try:
        quota, _, period = (directory / "cpu.max").read_text().strip().partition(" ")
    except OSError:
        return None
    if quota == "max":
        return None
    return _quota(quota, period or "100000", "cgroup v2 cpu.max")


def _read_v1(directory: Path) -> CpuQuota | None:
    try:
        quota = (directory / "cpu.cfs_quota_us").read_text().strip()
        period = (directory / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _quota(quota, period, "cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us")


def _quota(quota: str, period: str, name: str) -> CpuQuota | None:
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:
        return None
    if quota_us <= 0 or period_us <= 0:  # v1 writes -1 for "no limit"
        return None
    return CpuQuota(cpus=quota_us / period_us, source=f"{name} {quota_us}/{period_us}")
