"""The CPU quota read from fake cgroup trees (v2, v1, hybrid, nested, none), and the sizing that follows from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_serving import cgroup_cpu, hardware
from hf_serving.loading.sizing import effective_threads, effective_workers
from hf_serving.settings import Settings

V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTS = (
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "33 31 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
)


def tree(root: Path, cgroup: str, mountinfo: str, files: dict[str, str]) -> Path:
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(cgroup)
    (root / "proc/self/mountinfo").write_text(mountinfo)
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_v2_inside_a_container_reads_cpu_max_at_the_top(tmp_path):
    root = tree(tmp_path, "0::/\n", V2_MOUNT, {"/sys/fs/cgroup/cpu.max": "150000 100000\n"})
    quota = cgroup_cpu.cpu_quota(root)
    assert quota is not None and quota.cpus == 1.5 and quota.whole_cpus == 1
    assert quota.source == "cgroup v2 cpu.max 150000/100000"


def test_v2_max_is_no_limit(tmp_path):
    root = tree(tmp_path, "0::/\n", V2_MOUNT, {"/sys/fs/cgroup/cpu.max": "max 100000\n"})
    assert cgroup_cpu.cpu_quota(root) is None


def test_v2_on_a_host_the_tightest_ancestor_wins(tmp_path):
    # Kubernetes: a pod-level cgroup limited to 2 CPUs, the container's own cgroup to 4 (or unlimited).
    pod = "/sys/fs/cgroup/kubepods.slice/pod1"
    root = tree(
        tmp_path,
        "0::/kubepods.slice/pod1/container1\n",
        V2_MOUNT,
        {
            "/sys/fs/cgroup/cpu.max": "max 100000\n",
            f"{pod}/cpu.max": "200000 100000\n",
            f"{pod}/container1/cpu.max": "400000 100000\n",
        },
    )
    quota = cgroup_cpu.cpu_quota(root)
    assert quota is not None and (quota.cpus, quota.whole_cpus) == (2.0, 2)


def test_v1_reads_quota_over_period_from_the_cpu_controller(tmp_path):
    root = tree(
        tmp_path,
        "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
        V1_MOUNTS,
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000\n",
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        },
    )
    quota = cgroup_cpu.cpu_quota(root)
    assert quota is not None and (quota.cpus, quota.whole_cpus) == (3.0, 3)
    assert quota.source == "cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us 300000/100000"


def test_v1_minus_one_is_no_limit(tmp_path):
    root = tree(
        tmp_path,
        "4:cpu,cpuacct:/\n",
        V1_MOUNTS,
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        },
    )
    assert cgroup_cpu.cpu_quota(root) is None


def test_v1_container_without_a_cgroup_namespace_reads_its_mounted_cgroup(tmp_path):
    # The kernel names the host's path; the container sees that cgroup itself mounted at the hierarchy's top.
    mountinfo = "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
    root = tree(
        tmp_path,
        "3:cpu:/docker/abc\n",
        mountinfo,
        {
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        },
    )
    quota = cgroup_cpu.cpu_quota(root)
    assert quota is not None and (quota.cpus, quota.whole_cpus) == (0.5, 1)


def test_hybrid_v1_and_an_empty_v2_hierarchy_take_the_v1_quota(tmp_path):
    mountinfo = V1_MOUNTS + "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    root = tree(
        tmp_path,
        "4:cpu,cpuacct:/\n0::/\n",
        mountinfo,
        {
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "200000\n",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        },
    )
    quota = cgroup_cpu.cpu_quota(root)
    assert quota is not None and quota.cpus == 2.0 and quota.source.startswith("cgroup v1")


def test_no_cgroup_files_or_garbage_is_no_limit(tmp_path):
    assert cgroup_cpu.cpu_quota(tmp_path) is None  # no /proc at all (not Linux, or hidden)
    root = tree(tmp_path / "garbage", "0::/\n", V2_MOUNT, {"/sys/fs/cgroup/cpu.max": "lots 100000\n"})
    assert cgroup_cpu.cpu_quota(root) is None


@pytest.mark.parametrize(
    ("affinity", "quota", "cores", "says"),
    [
        (64, 2.0, 2, "cores: 2 (CPU quota 2 CPUs, cgroup v2 cpu.max 200000/100000; affinity 64)"),
        (2, 8.0, 2, "cores: 2 (CPU affinity; CPU quota 8 CPUs is not below it)"),
        (4, None, 4, "cores: 4 (CPU affinity; no CPU quota)"),
    ],
)
def test_sizing_takes_the_smaller_of_quota_and_affinity_and_the_banner_says_which(
    monkeypatch, affinity, quota, cores, says
):
    found = (
        None
        if quota is None
        else cgroup_cpu.CpuQuota(cpus=quota, source=f"cgroup v2 cpu.max {int(quota * 100000)}/100000")
    )
    monkeypatch.setattr(hardware, "affinity_cores", lambda: affinity)
    monkeypatch.setattr(cgroup_cpu, "cpu_quota", lambda: found)
    monkeypatch.setattr(hardware, "gpu_count", lambda: 0)
    assert hardware.usable_cores() == cores
    assert hardware.describe_cores() == says
    settings = Settings()
    workers = effective_workers(settings)
    assert (workers, effective_threads(settings, workers)) == (1, cores)


def test_this_machine_reads_without_error():
    quota = cgroup_cpu.cpu_quota()
    assert quota is None or quota.cpus > 0
    assert 1 <= hardware.usable_cores() <= hardware.affinity_cores()
