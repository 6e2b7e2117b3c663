"""bench/time_split.py: the engine's share of our workers' time, from two /metrics scrapes around a cell."""

from __future__ import annotations

from bench import time_split

BEFORE = """# HELP hf_serving_model_pass_duration_seconds Seconds of each model pass
hf_serving_model_pass_duration_seconds_sum{model="model",task="question-answering"} 10.0
hf_serving_model_pass_duration_seconds_count{model="model",task="question-answering"} 100.0
hf_serving_model_pass_duration_seconds_bucket{le="0.1",model="model",task="question-answering"} 100.0
hf_serving_stage_duration_seconds_sum{model="model",stage="tokenise",task="question-answering"} 1.0
hf_serving_stage_duration_seconds_count{model="model",stage="tokenise",task="question-answering"} 200.0
hf_serving_stage_duration_seconds_sum{model="model",stage="inference",task="question-answering"} 20.0
hf_serving_stage_duration_seconds_count{model="model",stage="inference",task="question-answering"} 200.0
hf_serving_workers_ready{model="model"} 1.0
"""


def grown(text: str, model_s: float, passes: int, tokenise_s: float, inference_s: float, requests: int) -> str:
    values = {"model_pass_duration_seconds_sum": 10.0 + model_s, "model_pass_duration_seconds_count": 100 + passes}
    out = []
    for line in text.splitlines():
        for name, value in values.items():
            if line.startswith(f"hf_serving_{name}{{"):
                line = line.rsplit(" ", 1)[0] + f" {value}"
        if "stage_duration_seconds_sum" in line:
            line = line.rsplit(" ", 1)[0] + f" {(1.0 + tokenise_s) if 'tokenise' in line else (20.0 + inference_s)}"
        if "stage_duration_seconds_count" in line:
            line = line.rsplit(" ", 1)[0] + f" {200 + requests}"
        out.append(line)
    return "\n".join(out)


def test_the_sums_are_read_from_the_prometheus_text_and_the_buckets_ignored():
    found = time_split.sums(BEFORE)
    assert found["model_s"] == 10.0 and found["passes"] == 100.0 and found["workers"] == 1.0
    assert (found["tokenise_s"], found["tokenise_n"], found["inference_s"], found["inference_n"]) == (
        1.0,
        200.0,
        20.0,
        200.0,
    )


def test_a_cell_splits_the_engines_seconds_against_its_wall_time_workers_and_latencies():
    after = time_split.sums(grown(BEFORE, model_s=7.5, passes=50, tokenise_s=0.4, inference_s=16.0, requests=200))
    split = time_split.split(time_split.sums(BEFORE), after, wall_s=10.0, latency_sum_ms=30_000.0)
    assert split == {
        "workers": 1,
        "passes": 50,
        "model_busy": 0.75,
        "model_share_of_latency": 0.25,
        "model_ms_per_pass": 150.0,
        "stage_ms_per_request": {"tokenise": 2.0, "inference": 80.0},
    }
    table = time_split.markdown(
        [{"server": "ours", "kind": "qa380", "concurrency": 4, "time_split": split}], {"ours": "ours (bf16)"}
    )
    assert "| ours (bf16) | qa380 | 4 | 0.75 | 0.25 | 150.0 | 2.0 | 80.0 | - | - |" in table


def test_a_peer_without_our_metrics_gets_no_split():
    assert time_split.split(None, time_split.sums(BEFORE), 10.0, 1.0) is None
    assert time_split.markdown([{"server": "aws", "kind": "qa380", "concurrency": 4, "time_split": None}], {}) == ""
