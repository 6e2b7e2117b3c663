"""Score a question-answering model on a SQuAD v1.1-format file: exact match, F1 and latency.

    python -m hf_serving.tools.evaluate dev-v1.1.json --endpoint http://localhost:8080
    python -m hf_serving.tools.evaluate dev-v1.1.json --model-dir DIR [--dtype bfloat16]
    python -m hf_serving.tools.evaluate dev-v1.1.json --model-dir DIR --compare-dtypes float32,bfloat16,float16,int8

--endpoint POSTs each question (or, with --batch-size N, N of them as {"inputs": [...]}) to URL/invocations;
--model-dir loads the model in this process as the server does (hf_serving.loading.loader) and calls its
predict. Latency is per call, after one untimed warm-up call. EM and F1 are the official SQuAD v1.1 ones.

--compare-dtypes is the fidelity gate: it runs the model in-process under each dtype and, for each one
but float32, reports the share of questions whose answer text equals float32's and the change in exact
match; the exit status is 1 unless every dtype agrees on at least 99% of questions with |EM change| at
most 0.5 points. A dtype that cannot run here fails the gate and says why.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_serving.settings import Dtype
from hf_serving.tools.squad_metrics import Scores, SquadExample, load_squad, score

DTYPES = tuple(Dtype)  # MODEL_DTYPE's choices
MIN_AGREEMENT_PERCENT = 99.0
MAX_EM_CHANGE_POINTS = 0.5

Predictor = Callable[[list[dict[str, str]]], list[str]]  # a batch of {question, context} -> answer texts


class EvaluationError(Exception):
    """The model or endpoint could not answer; the message says which question and why."""


@dataclass
class Run:
    label: str
    scores: Scores
    predictions: dict[str, str]
    latencies_ms: list[float]
    batch_size: int
    seconds: float

    def summary(self) -> dict:
        latency = {f"p{q}": percentile(self.latencies_ms, q) for q in (50, 90, 99)}
        return {
            "label": self.label,
            "exact_match": self.scores.exact_match,
            "f1": self.scores.f1,
            "count": self.scores.count,
            "predicted": self.scores.predicted,
            "batch_size": self.batch_size,
            "calls": len(self.latencies_ms),
            "latency_ms": latency,
            "questions_per_s": self.scores.predicted / self.seconds if self.seconds else None,
        }


@dataclass
class Fidelity:
    dtype: str
    agreement_percent: float | None  # None: the dtype could not run
    em_change_points: float | None
    error: str | None = None
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = (
            self.agreement_percent is not None
            and self.em_change_points is not None
            and self.agreement_percent >= MIN_AGREEMENT_PERCENT
            and abs(self.em_change_points) <= MAX_EM_CHANGE_POINTS
        )


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def evaluate(examples: list[SquadExample], predict: Predictor, batch_size: int, label: str) -> Run:
    items = [{"question": example.question, "context": example.context} for example in examples]
    predict(items[:batch_size])  # warm-up, untimed: first-call costs are not per-request latency
    predictions: dict[str, str] = {}
    latencies: list[float] = []
    began = time.perf_counter()
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        called = time.perf_counter()
        answers = predict(chunk)
        latencies.append((time.perf_counter() - called) * 1000)
        if len(answers) != len(chunk):
            raise EvaluationError(f"{len(chunk)} questions from {examples[start].id} got {len(answers)} answers")
        for example, answer in zip(examples[start : start + batch_size], answers, strict=True):
            predictions[example.id] = answer
    seconds = time.perf_counter() - began
    return Run(label, score(examples, predictions), predictions, latencies, batch_size, seconds)


def endpoint_predictor(url: str, batch_size: int, timeout_s: float = 60.0) -> Predictor:
    import requests  # only endpoint mode needs it (a development requirement, not the image's)

    target = url.rstrip("/")
    target = target if target.endswith("/invocations") else f"{target}/invocations"
    session = requests.Session()

    def predict(items: list[dict[str, str]]) -> list[str]:
        body: dict[str, Any] = items[0] if batch_size == 1 else {"inputs": items}
        response = session.post(target, json=body, timeout=timeout_s)
        if response.status_code != 200:
            raise EvaluationError(f"{target} answered {response.status_code}: {response.text[:300]}")
        return _answer_texts(response.json(), batch_size)

    return predict


def in_process_predictor(model_dir: Path, dtype: str, batch_size: int) -> tuple[Predictor, str]:
    """The predictor, and a label naming the dtype (what auto resolved to)."""
    from hf_serving.errors import ServingError
    from hf_serving.loading.loader import load_served_model
    from hf_serving.settings import Settings

    served = load_served_model(model_dir, Settings(model_dir=model_dir, dtype=Dtype(dtype)))
    label = f"auto ({served.engine.dtype})" if dtype == "auto" else dtype

    def predict(items: list[dict[str, str]]) -> list[str]:
        # Batches go as {"inputs": [...]}, even a last batch of one, so the answer is always a list then.
        payload: object = items[0] if batch_size == 1 else {"inputs": items}
        try:
            return _answer_texts(served.predict(payload), batch_size)
        except ServingError as exc:  # what the endpoint would have answered with a 4xx
            raise EvaluationError(f"the model refused a request ({exc.code}): {exc.message}") from None

    return predict, label


def _answer_texts(result: object, batch_size: int) -> list[str]:
    answers = [result] if batch_size == 1 else result
    if not isinstance(answers, list) or not all(isinstance(a, dict) and "answer" in a for a in answers):
        raise EvaluationError(f"not a question-answering response: {json.dumps(result)[:300]}")
    return [str(answer["answer"]) for answer in answers]


def compare_dtypes(
    examples: list[SquadExample], model_dir: Path, dtypes: list[str], batch_size: int
) -> tuple[list[Run], list[Fidelity]]:
    """Run every dtype (float32 first, as the reference) and judge each other one against it."""
    ordered = ["float32", *(dtype for dtype in dtypes if dtype != "float32")]
    runs: list[Run] = []
    fidelity: list[Fidelity] = []
    for dtype in ordered:
        try:
            predictor, _ = in_process_predictor(model_dir, dtype, batch_size)
            run = evaluate(examples, predictor, batch_size, dtype)
        except Exception as exc:  # a dtype this machine cannot run fails the gate, with its error
            if dtype == "float32":
                raise
            fidelity.append(Fidelity(dtype, None, None, f"{type(exc).__name__}: {exc}"))
            continue
        runs.append(run)
        if dtype != "float32":
            reference = runs[0]
            same = sum(run.predictions[e.id] == reference.predictions[e.id] for e in examples)
            fidelity.append(
                Fidelity(dtype, 100.0 * same / len(examples), run.scores.exact_match - reference.scores.exact_match)
            )
    return runs, fidelity


def report(runs: list[Run], fidelity: list[Fidelity]) -> str:
    lines = []
    for run in runs:
        s = run.summary()
        latency = s["latency_ms"]
        per_call = f"{run.batch_size} question{'s' if run.batch_size > 1 else ''}"
        lines.append(
            f"{run.label}: exact_match {s['exact_match']:.2f}  f1 {s['f1']:.2f}  count {s['count']}  "
            f"latency p50 {latency['p50']:.1f} ms  p90 {latency['p90']:.1f} ms  p99 {latency['p99']:.1f} ms "
            f"per call of {per_call} ({s['questions_per_s']:.1f} questions/s)"
        )
    for judged in fidelity:
        if judged.error is not None:
            lines.append(f"fidelity {judged.dtype}: FAIL, cannot run here: {judged.error}")
            continue
        lines.append(
            f"fidelity {judged.dtype}: {'pass' if judged.passed else 'FAIL'}  agreement with float32 "
            f"{judged.agreement_percent:.2f}% (min {MIN_AGREEMENT_PERCENT:g})  EM change "
            f"{judged.em_change_points:+.2f} points (max {MAX_EM_CHANGE_POINTS:g})"
        )
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hf_serving.tools.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", type=Path, help="a SQuAD v1.1-format JSON file")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", help="base URL of a running endpoint, e.g. http://localhost:8080")
    where.add_argument("--model-dir", type=Path, help="a model directory, loaded in this process")
    parser.add_argument("--dtype", choices=DTYPES, help="in-process dtype, as MODEL_DTYPE (default auto)")
    parser.add_argument("--batch-size", type=int, default=1, help="questions per call")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--compare-dtypes", help="comma-separated dtypes: the fidelity gate (in-process)")
    parser.add_argument("--json-out", type=Path, help="write figures and predictions here")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--batch-size and --limit must be >= 1")
    if args.dtype is not None and (args.endpoint or args.compare_dtypes):
        parser.error(
            "--dtype is for one in-process run: an endpoint's dtype is its MODEL_DTYPE, and "
            "--compare-dtypes names its own"
        )
    if args.compare_dtypes:
        if args.endpoint:
            parser.error("--compare-dtypes needs --model-dir: an endpoint's dtype is its MODEL_DTYPE")
        args.compare_dtypes = [dtype.strip() for dtype in args.compare_dtypes.split(",") if dtype.strip()]
        unknown = [dtype for dtype in args.compare_dtypes if dtype not in DTYPES]
        if unknown:
            parser.error(f"unknown dtype(s) {', '.join(unknown)}: choose from {', '.join(DTYPES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    examples = load_squad(args.data)[: args.limit]
    fidelity: list[Fidelity] = []
    try:
        if args.compare_dtypes:
            runs, fidelity = compare_dtypes(examples, args.model_dir, args.compare_dtypes, args.batch_size)
        elif args.endpoint:
            runs = [
                evaluate(
                    examples,
                    endpoint_predictor(args.endpoint, args.batch_size),
                    args.batch_size,
                    f"endpoint {args.endpoint}",
                )
            ]
        else:
            predictor, label = in_process_predictor(args.model_dir, args.dtype or "auto", args.batch_size)
            runs = [evaluate(examples, predictor, args.batch_size, label)]
    except EvaluationError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.data}: {len(examples)} questions, "
        f"{'endpoint ' + args.endpoint if args.endpoint else f'model {args.model_dir} in-process'}"
    )
    print(report(runs, fidelity))
    passed = all(judged.passed for judged in fidelity)
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "data": str(args.data),
                    "runs": [{**run.summary(), "predictions": run.predictions} for run in runs],
                    "fidelity": [vars(judged) for judged in fidelity],
                    "passed": passed,
                },
                indent=1,
            )
            + "\n"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
