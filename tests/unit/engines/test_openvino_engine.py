"""The OpenVINO engine: when it is chosen, and that it answers as torch does on the same weights."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hf_serving
from hf_serving import hardware
from hf_serving.engines.openvino import engine as openvino_engine
from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.engines.select import choose_engine
from hf_serving.engines.torch_engine import TorchEngine
from hf_serving.errors import ConfigurationError
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from tests.support.paths import TRAINED_QA

CONTEXT = (
    "Nina Quinn founded Nimbus Games in 1931. In 1974, Elena Popescu was born in Osaka. "
    "Jonas Ito was born in Lima in 1902. Rosa's car is pink."
)
QUESTIONS = [
    "Where was Elena Popescu born?",
    "Who founded Nimbus Games?",
    "What colour is Rosa's car?",
    "In which year was Jonas Ito born?",
]

pytestmark = pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt")


def test_auto_takes_openvino_for_bfloat16_and_int8_on_cpu_and_torch_for_the_rest():
    assert choose_engine("auto", "bfloat16", "cpu", True) == "openvino"
    assert choose_engine("auto", "int8", "cpu", True) == "openvino"
    for dtype in ("float32", "float16"):  # float32 stays the pipeline-exact reference
        assert choose_engine("auto", dtype, "cpu", True) == "torch"
    assert choose_engine("torch", "int8", "cpu", True) == "torch"
    assert choose_engine("auto", "bfloat16", "cuda:0", True) == "torch"
    assert choose_engine("torch", "bfloat16", "cpu", True) == "torch"
    assert choose_engine("openvino", "float32", "cpu", True) == "openvino"


@pytest.mark.parametrize(("dtype", "device"), [("float16", "cpu"), ("bfloat16", "cuda:0"), ("int8", "cuda:0")])
def test_asking_openvino_for_what_it_does_not_serve_is_a_configuration_error(dtype, device):
    with pytest.raises(
        ConfigurationError,
        match=f"MODEL_ENGINE=openvino serves float32, bfloat16 and int8 on CPU, not {dtype} on {device}",
    ):
        choose_engine("openvino", dtype, device, True)


def _load(engine: str, dtype: str, model_dir: Path = TRAINED_QA):
    return load_served_model(model_dir, Settings(model_dir=model_dir, dtype=dtype, engine=engine))


def _assert_same_answers(got: list, expected: list, atol: float) -> None:
    """Same answer texts and offsets, in the same order, scores equal within float32 noise."""
    for mine, theirs in zip(got, expected, strict=True):
        assert [(a["answer"], a["start"], a["end"]) for a in mine] == [
            (a["answer"], a["start"], a["end"]) for a in theirs
        ]
        np.testing.assert_allclose([a["score"] for a in mine], [a["score"] for a in theirs], rtol=1e-4, atol=atol)


def test_openvino_float32_gives_torchs_answers_offsets_and_scores():
    torch_model, ov_model = _load("torch", "float32"), _load("openvino", "float32")
    assert isinstance(ov_model.engine, openvino_engine.OpenVINOEngine)
    payload = {"inputs": [{"question": q, "context": CONTEXT} for q in QUESTIONS], "parameters": {"top_k": 3}}
    expected, got = torch_model.predict(payload), ov_model.predict(payload)
    _assert_same_answers(got, expected, atol=1e-5)
    assert [item[0]["answer"] for item in got] == ["Osaka", "Nina Quinn", "pink", "1902"]


def test_openvino_bfloat16_answers_right_in_a_padded_batch_and_alone():
    model = _load("openvino", "bfloat16")
    questions = [*QUESTIONS, "Where was Jonas Ito born?"]
    batch = model.predict({"inputs": [{"question": q, "context": CONTEXT} for q in questions]})
    alone = [model.predict({"question": q, "context": CONTEXT}) for q in questions]
    assert [a["answer"] for a in batch] == ["Osaka", "Nina Quinn", "pink", "1902", "Lima"]
    assert [(a["answer"], a["start"], a["end"]) for a in batch] == [(a["answer"], a["start"], a["end"]) for a in alone]
    assert CONTEXT[batch[0]["start"] : batch[0]["end"]] == "Osaka"


def _runtime_layers(model) -> list[tuple[str, str]]:
    """(layer type, runtime precision) of every node OpenVINO's CPU plugin compiled."""
    runtime = model.engine._compiled.get_runtime_model()
    return [
        (node.get_rt_info()["layerType"].astype(str), node.get_rt_info()["runtimePrecision"].astype(str))
        for node in runtime.get_ordered_ops()
    ]


def test_openvino_int8_runs_every_linear_layer_on_int8_weights_and_answers_right():
    import torch

    model = _load("auto", "int8")
    assert isinstance(model.engine, openvino_engine.OpenVINOEngine) and model.engine.dtype == "int8"
    linear_layers = [layer for layer in _runtime_layers(model) if layer[0] == "FullyConnected"]
    # 3 transformer layers x (q, k, v, out, 2 feed-forward) + the span head, as torch has them
    assert (
        len(linear_layers)
        == sum(isinstance(module, torch.nn.Linear) for module in _load("torch", "float32").engine.module.modules())
        == 19
    )
    assert set(linear_layers) == {("FullyConnected", "i8")}
    # OpenVINO runs bf16 where the CPU has bf16 instructions, and falls back to f32 elsewhere (AVX2-only Zen 3).
    assert {
        precision for kind, precision in _runtime_layers(_load("openvino", "bfloat16")) if kind == "FullyConnected"
    } == ({"bf16"} if hardware.cpu_has_fast_bf16() else {"f32"})
    questions = [*QUESTIONS, "Where was Jonas Ito born?"]
    batch = model.predict({"inputs": [{"question": q, "context": CONTEXT} for q in questions]})
    alone = [model.predict({"question": q, "context": CONTEXT}) for q in questions]
    assert [(a["answer"], a["start"], a["end"]) for a in batch] == [
        ("Osaka", 76, 81),
        ("Nina Quinn", 0, 10),
        ("pink", 133, 137),
        ("1902", 113, 117),
        ("Lima", 105, 109),
    ]
    assert [(a["answer"], a["start"], a["end"]) for a in batch] == [(a["answer"], a["start"], a["end"]) for a in alone]


def test_int8_on_torch_is_torchs_dynamic_quantisation_and_the_log_says_which(caplog):
    caplog.set_level(logging.INFO, logger="hf_serving.loading.loader")
    # torch 2.13 warns that torch.ao's dynamic int8 is deprecated (it moved to torchao).
    with pytest.warns(UserWarning, match="quantize_per_tensor"):
        model = _load("torch", "int8")
    assert not isinstance(model.engine, openvino_engine.OpenVINOEngine)
    assert any(
        type(module).__name__ == "Linear" and "quantized" in type(module).__module__
        for module in model.engine.module.modules()
    )
    assert "(int8: torch dynamic quantisation), device cpu, dtype int8" in caplog.text
    assert model.predict({"question": QUESTIONS[0], "context": CONTEXT})["answer"] == "Osaka"
    assert "(int8 weights; activations quantised at run time), device cpu, dtype int8" in _load_logging(
        "auto", "int8", caplog
    )


def _load_logging(engine: str, dtype: str, caplog) -> str:
    caplog.clear()
    _load(engine, dtype)
    return caplog.text


@pytest.mark.parametrize(("fast_bf16", "precision"), [(True, "bf16"), (False, "f32")])
def test_int8_runs_the_rest_of_the_graph_in_bf16_only_where_the_cpu_has_it(monkeypatch, fast_bf16, precision):
    monkeypatch.setattr(openvino_engine.hardware, "cpu_has_fast_bf16", lambda: fast_bf16)
    config = openvino_engine.compile_config("int8", threads=2, pin_threads=True)
    assert config == {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": 2,
        "ENABLE_CPU_PINNING": True,
        "INFERENCE_PRECISION_HINT": precision,
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": 128,
    }
    assert openvino_engine.compile_config("bfloat16", 1, False)["INFERENCE_PRECISION_HINT"] == "bf16"
    assert "DYNAMIC_QUANTIZATION_GROUP_SIZE" not in openvino_engine.compile_config("bfloat16", 1, False)


def test_loading_sends_no_telemetry_and_starts_no_process(tmp_path, monkeypatch):
    """OpenVINO's conversion would otherwise fork a process per Google Analytics event (30 per model here)."""
    monkeypatch.setenv("HOME", str(tmp_path))  # where its consent and client-id files would go
    forks: list[int] = []
    os.register_at_fork(before=lambda: forks.append(1))
    model = _load("openvino", "bfloat16")
    assert model.predict({"question": QUESTIONS[0], "context": CONTEXT})["answer"] == "Osaka"
    assert forks == []
    assert sys.modules["openvino_telemetry"] is None
    assert list(tmp_path.iterdir()) == []


def test_reading_the_version_first_still_keeps_the_telemetry_out():
    """`import openvino` imports its telemetry: whatever touches OpenVINO first must block it (it was let in
    by describe() once, and every later model conversion forked)."""
    code = (
        "import sys\nfrom hf_serving.engines.openvino import engine\nprint(engine.describe())\n"
        "print(sys.modules['openvino_telemetry'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(hf_serving.__file__).parents[1])},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [openvino_engine.describe(), "None"]


def _tiny_bert(out_dir: Path, task: str) -> Path:
    """A BERT (its inputs include token_type_ids, which DistilBERT's lack), random weights, the real vocabulary."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification, BertTokenizerFast

    from hf_serving.tools.model_parts import build_tokenizer

    build_tokenizer().save_pretrained(out_dir / "vocab")
    tokenizer = BertTokenizerFast.from_pretrained(out_dir / "vocab")
    torch.manual_seed(5)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=2 if task == "qa" else 3,
    )
    model = (BertForQuestionAnswering if task == "qa" else BertForSequenceClassification)(config).eval()
    model.save_pretrained(out_dir / task)
    tokenizer.save_pretrained(out_dir / task)
    return out_dir / task


def test_a_bert_with_token_type_ids_answers_as_on_torch(tmp_path):
    model_dir = _tiny_bert(tmp_path, "qa")
    on_torch, on_openvino = (_load(engine, "float32", model_dir) for engine in ("torch", "openvino"))
    assert on_openvino.engine.input_names == ("input_ids", "attention_mask", "token_type_ids")
    payload = {"inputs": [{"question": q, "context": CONTEXT} for q in QUESTIONS], "parameters": {"top_k": 2}}
    _assert_same_answers(on_openvino.predict(payload), on_torch.predict(payload), atol=1e-6)


def test_a_bert_classifier_scores_as_on_torch(tmp_path):
    model_dir = _tiny_bert(tmp_path, "clf")
    on_torch, on_openvino = (_load(engine, "float32", model_dir) for engine in ("torch", "openvino"))
    texts = ["short", "a somewhat longer text, so that the batch is padded", "mid length text"]
    payload = {"inputs": texts, "parameters": {"top_k": None}}
    expected, got = on_torch.predict(payload), on_openvino.predict(payload)
    assert [[s["label"] for s in row] for row in got] == [[s["label"] for s in row] for row in expected]
    np.testing.assert_allclose(
        [[s["score"] for s in row] for row in got],
        [[s["score"] for s in row] for row in expected],
        rtol=1e-4,
        atol=1e-6,
    )


def test_a_bert_classifier_runs_every_linear_layer_in_int8_and_scores_as_float32_does(tmp_path):
    """A BERT (token_type_ids) with a classification head; the trained QA fixture is where int8's answers are
    held to float32's. This one's random scores all lie near 1/3, so they are compared to 5e-4, in order."""
    model_dir = _tiny_bert(tmp_path, "clf")
    reference, int8 = _load("torch", "float32", model_dir), _load("auto", "int8", model_dir)
    assert int8.engine.input_names == ("input_ids", "attention_mask", "token_type_ids")
    precisions = {precision for layer, precision in _runtime_layers(int8) if layer == "FullyConnected"}
    if hardware.cpu_has_fast_bf16():
        # With bf16 as the inference precision (AMX, AVX512-BF16) the CPU plugin runs this tiny model's 32x32
        # matrices on weights decompressed to bf16, and its 32x64 ones in int8 (seen on a Xeon with AMX): the
        # plugin's choice for small weights. The trained QA fixture's are all held to int8 in the test above.
        assert "i8" in precisions and precisions <= {"i8", "bf16"}, precisions
    else:
        assert precisions == {"i8"}, precisions
    texts = ["short", "a somewhat longer text, so that the batch is padded", "mid length text"]
    payload = {"inputs": texts, "parameters": {"top_k": None}}
    expected, got = reference.predict(payload), int8.predict(payload)
    assert [[s["label"] for s in row] for row in got] == [[s["label"] for s in row] for row in expected]
    np.testing.assert_allclose(
        [[s["score"] for s in row] for row in got], [[s["score"] for s in row] for row in expected], atol=5e-4
    )


def test_auto_serves_on_torch_when_openvino_cannot_convert_and_openvino_asked_for_fails(monkeypatch, caplog):
    def cannot_convert(*args, **kwargs):
        raise RuntimeError("Couldn't get TorchScript module by tracing.\nmore detail")

    monkeypatch.setattr(openvino_engine, "OpenVINOEngine", cannot_convert)
    model = _load("auto", "bfloat16")
    assert isinstance(model.engine, TorchEngine) and model.engine.dtype == "bfloat16"
    assert {str(parameter.dtype) for parameter in model.engine.module.parameters()} == {"torch.bfloat16"}
    assert model.predict({"question": QUESTIONS[0], "context": CONTEXT})["answer"] == "Osaka"
    assert (
        f"OpenVINO could not convert {TRAINED_QA} (RuntimeError: Couldn't get TorchScript module by tracing.); "
        "serving it on torch instead"
    ) in caplog.text
    with pytest.raises(RuntimeError, match="TorchScript"):
        _load("openvino", "bfloat16")
