"""The fidelity gate (MODEL_DTYPE) on the trained fixture: every reduced precision answers as float32 does.

On the 1,000 held-out generated questions the fixture was scored on (regenerated here: same script, same
seed), bfloat16, float16 and int8 must give float32's answer text on at least 99% of questions and keep
exact match within 0.5 points. A dtype this CPU's torch cannot run fails here with its error; it is not
skipped. float16 runs on CPU in torch 2.13 (slowly: there are no fast fp16 kernels on this CPU).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hf_serving.tools import evaluate
from hf_serving.tools.squad_metrics import load_squad
from tests.support.paths import ROOT, SQUAD_SAMPLE, TRAINED_QA

GENERATOR = ROOT / "scripts" / "generate_qa_dataset.py"
REDUCED_DTYPES = ("bfloat16", "float16", "int8")


def held_out_questions(out_dir: Path) -> Path:
    """dev.json exactly as `make fixture-qa` generated it for training (the generator is seeded)."""
    subprocess.run([sys.executable, str(GENERATOR), str(out_dir)], check=True, capture_output=True, timeout=120)
    return out_dir / "dev.json"


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    examples = load_squad(held_out_questions(tmp_path_factory.mktemp("qa-data")))
    runs, fidelity = evaluate.compare_dtypes(examples, TRAINED_QA, ["float32", *REDUCED_DTYPES], batch_size=32)
    return examples, {run.label: run for run in runs}, {judged.dtype: judged for judged in fidelity}


def test_float32_is_the_reference_and_knows_its_answers(gate):
    examples, runs, _ = gate
    assert len(examples) >= 1000
    assert runs["float32"].scores.predicted == len(examples)
    assert runs["float32"].scores.exact_match >= 90.0


@pytest.mark.parametrize("dtype", REDUCED_DTYPES)
def test_reduced_precision_answers_as_float32_does(gate, dtype):
    _, runs, fidelity = gate
    judged = fidelity[dtype]
    assert judged.error is None, f"MODEL_DTYPE={dtype} cannot run on this machine: {judged.error}"
    assert judged.agreement_percent is not None and judged.em_change_points is not None
    assert judged.agreement_percent >= 99.0
    assert abs(judged.em_change_points) <= 0.5
    assert judged.passed
    assert judged.em_change_points == pytest.approx(runs[dtype].scores.exact_match - runs["float32"].scores.exact_match)


def test_the_gate_fails_on_disagreement_on_an_em_drop_and_on_a_dtype_that_cannot_run(monkeypatch, capsys, tmp_path):
    examples = load_squad(SQUAD_SAMPLE)[:10]
    golds = {e.question: e.answers[0] for e in examples}

    def fake_predictor(model_dir, dtype, batch_size):
        if dtype == "float16":
            raise RuntimeError("no float16 kernels here")

        def predict(items):
            # float32 is always right; bfloat16 gets the first question wrong (90% agreement, EM -10 points)
            return [
                "wrong" if dtype == "bfloat16" and item["question"] == examples[0].question else golds[item["question"]]
                for item in items
            ]

        return predict, dtype

    monkeypatch.setattr(evaluate, "in_process_predictor", fake_predictor)
    runs, fidelity = evaluate.compare_dtypes(examples, tmp_path, ["bfloat16", "float16", "int8"], batch_size=4)
    assert [run.label for run in runs] == ["float32", "bfloat16", "int8"]
    by_dtype = {judged.dtype: judged for judged in fidelity}
    assert (by_dtype["bfloat16"].agreement_percent, by_dtype["bfloat16"].em_change_points) == (90.0, -10.0)
    assert not by_dtype["bfloat16"].passed
    assert not by_dtype["float16"].passed and "no float16 kernels here" in str(by_dtype["float16"].error)
    assert by_dtype["int8"].passed
    # The command's exit status carries the verdict.
    sample = SQUAD_SAMPLE
    assert (
        evaluate.main([str(sample), "--model-dir", str(tmp_path), "--limit", "10", "--compare-dtypes", "float32,int8"])
        == 0
    )
    assert (
        evaluate.main(
            [str(sample), "--model-dir", str(tmp_path), "--limit", "10", "--compare-dtypes", "float32,bfloat16"]
        )
        == 1
    )
    printed = capsys.readouterr().out
    assert "fidelity bfloat16: FAIL  agreement with float32 90.00% (min 99)  EM change -10.00 points" in printed
