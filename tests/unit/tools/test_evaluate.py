"""hf_serving.tools.evaluate in-process: the trained fixture's scores, and figures that agree with each other.

Endpoint mode runs against the real stack in tests/integration/test_trained_model.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hf_serving.tools import evaluate
from hf_serving.tools.squad_metrics import best_over_golds, load_squad
from tests.support.paths import SQUAD_SAMPLE as SAMPLE
from tests.support.paths import TRAINED_QA

LINE = re.compile(
    r"^(?P<label>[^:]+): exact_match (?P<em>[\d.]+)  f1 (?P<f1>[\d.]+)  count (?P<count>\d+)  "
    r"latency p50 (?P<p50>[\d.]+) ms  p90 (?P<p90>[\d.]+) ms  p99 (?P<p99>[\d.]+) ms "
    r"per call of (?P<batch>\d+) questions?",
    re.MULTILINE,
)


def run_cli(capsys, tmp_path: Path, *args: str) -> tuple[int, str, dict]:
    out = tmp_path / "figures.json"
    status = evaluate.main([str(SAMPLE), "--model-dir", str(TRAINED_QA), "--json-out", str(out), *args])
    return status, capsys.readouterr().out, json.loads(out.read_text())


def test_the_trained_fixture_scores_high_and_the_printed_figures_are_the_recomputed_ones(capsys, tmp_path):
    status, printed, figures = run_cli(capsys, tmp_path, "--dtype", "float32")
    assert status == 0
    examples = load_squad(SAMPLE)
    assert 40 <= len(examples) <= 60
    match = LINE.search(printed)
    assert match is not None, printed
    assert match["label"] == "float32"
    [run] = figures["runs"]
    predictions = run["predictions"]
    assert set(predictions) == {example.id for example in examples}
    # Recompute EM and F1 from the predictions, question by question, and compare with what was printed.
    per_question = [best_over_golds(predictions[e.id], e.answers) for e in examples]
    em = 100 * sum(em for em, _ in per_question) / len(examples)
    f1 = 100 * sum(f for _, f in per_question) / len(examples)
    assert float(match["em"]) == pytest.approx(em, abs=0.005)
    assert float(match["f1"]) == pytest.approx(f1, abs=0.005)
    assert int(match["count"]) == run["count"] == run["predicted"] == len(examples)
    assert run["exact_match"] == pytest.approx(em) and run["f1"] == pytest.approx(f1)
    assert em >= 90.0, f"the trained fixture answered only {em:.1f}% exactly"
    # One call per question, percentiles in order.
    assert run["calls"] == len(examples) and int(match["batch"]) == 1
    assert 0 < float(match["p50"]) <= float(match["p90"]) <= float(match["p99"])


def test_batched_calls_give_the_same_answers(capsys, tmp_path):
    _, _, single = run_cli(capsys, tmp_path, "--dtype", "float32", "--limit", "20")
    status, printed, batched = run_cli(capsys, tmp_path, "--dtype", "float32", "--limit", "20", "--batch-size", "8")
    assert status == 0
    assert batched["runs"][0]["predictions"] == single["runs"][0]["predictions"]
    assert batched["runs"][0]["count"] == 20
    assert batched["runs"][0]["calls"] == 3  # 8 + 8 + 4
    assert "per call of 8 questions" in printed


def test_auto_dtype_is_labelled_with_what_it_resolved_to(capsys, tmp_path):
    status, printed, _ = run_cli(capsys, tmp_path, "--limit", "4")
    assert status == 0
    assert re.search(r"^auto \((float32|bfloat16)\): exact_match", printed, re.MULTILINE), printed


def test_percentiles_interpolate_between_ranks():
    values = [10.0, 1.0, 3.0, 2.0, 4.0]  # sorted: 1 2 3 4 10
    assert evaluate.percentile(values, 50) == 3.0
    assert evaluate.percentile(values, 90) == pytest.approx(4 + 0.6 * 6)
    assert evaluate.percentile(values, 99) == pytest.approx(4 + 0.96 * 6)
    assert evaluate.percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "http://127.0.0.1:1", "--compare-dtypes", "int8"], "--compare-dtypes needs --model-dir"),
        (["--model-dir", "m", "--compare-dtypes", "float32,fp8"], "unknown dtype(s) fp8"),
        (["--model-dir", "m", "--batch-size", "0"], "must be >= 1"),
        (["--model-dir", "m", "--endpoint", "http://127.0.0.1:1"], "not allowed with argument"),
        (["--model-dir", "m", "--dtype", "int8", "--compare-dtypes", "float32,int8"], "--dtype is for one"),
        (["--endpoint", "http://127.0.0.1:1", "--dtype", "bfloat16"], "its MODEL_DTYPE"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(capsys, args, message):
    with pytest.raises(SystemExit) as exited:
        evaluate.main([str(SAMPLE), *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_request_the_model_refuses_stops_the_run_naming_why(capsys, tmp_path):
    # 70 question tokens leave a 128-token window too little room for the context with stride 64.
    data = tmp_path / "long-question.json"
    data.write_text(
        json.dumps(
            {
                "version": "1.1",
                "data": [
                    {
                        "title": "t",
                        "paragraphs": [
                            {
                                "context": "Anna Berg was born in Lisbon in 1954. " * 10,
                                "qas": [
                                    {
                                        "id": "q1",
                                        "question": "where " * 70 + "?",
                                        "answers": [{"text": "Lisbon", "answer_start": 22}],
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        )
    )
    assert evaluate.main([str(data), "--model-dir", str(TRAINED_QA), "--dtype", "float32"]) == 1
    error = capsys.readouterr().err
    assert "evaluation failed: the model refused a request (bad_request): inputs[0].question is" in error
