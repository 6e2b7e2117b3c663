"""The engine and dtype policy, as the banner states it: the same rules the workers apply when they load."""

from __future__ import annotations

import pytest

from hf_serving.engines import select
from hf_serving.engines.openvino import runtime as openvino_runtime


@pytest.fixture
def cpu(monkeypatch):
    def set_cpu(fast_bf16: bool, openvino: bool = True) -> None:
        monkeypatch.setattr(select.hardware, "cpu_has_fast_bf16", lambda: fast_bf16)
        monkeypatch.setattr(select.hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"} if fast_bf16 else ()))
        monkeypatch.setattr(openvino_runtime, "installed", lambda: openvino)

    return set_cpu


@pytest.mark.parametrize(
    ("fast_bf16", "engine", "dtype", "line"),
    [
        (
            True,
            "auto",
            "auto",
            "dtype: auto -> bfloat16 (CPU has avx512_bf16); engine: auto -> openvino (torch where "
            "OpenVINO cannot convert the model)",
        ),
        (False, "auto", "auto", "dtype: auto -> float32 (CPU has no AMX-BF16/AVX512-BF16); engine: auto -> torch"),
        (True, "auto", "int8", "dtype: int8; engine: auto -> openvino (torch where OpenVINO cannot convert the model)"),
        (True, "torch", "int8", "dtype: int8; engine: torch -> torch"),
        (True, "openvino", "float32", "dtype: float32; engine: openvino -> openvino"),
    ],
)
def test_the_banner_line_states_the_policy_for_this_cpu(cpu, fast_bf16, engine, dtype, line):
    cpu(fast_bf16)
    assert select.describe_plan(engine, dtype, gpus=0) == line


def test_without_openvino_installed_auto_says_torch(cpu):
    cpu(True, openvino=False)
    assert select.describe_plan("auto", "auto", gpus=0).endswith("engine: auto -> torch")


def test_on_a_gpu_auto_is_bf16_or_fp16_on_torch(cpu):
    cpu(True)
    assert select.describe_plan("auto", "auto", gpus=1) == (
        "dtype: auto -> bfloat16 (float16 on a GPU without bf16); engine: auto -> torch"
    )
    assert select.dtype_on_gpu("auto", bf16_supported=False) == "float16"


@pytest.mark.parametrize(
    ("setting", "fast_bf16", "expected"),
    [("auto", True, "bfloat16"), ("auto", False, "float32"), ("float16", True, "float16"), ("int8", False, "int8")],
)
def test_the_dtype_each_worker_resolves(cpu, setting, fast_bf16, expected):
    cpu(fast_bf16)
    assert select.dtype_on_cpu(setting) == expected
