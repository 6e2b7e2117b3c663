"""The benchmark's report: goals judged on the default configuration, other configurations' ratios beside."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import report


def _summary(rps: dict[str, float], p99: dict[str, float]) -> dict:
    return {server: {"qa380": {"4": {"rps": value, "p99_ms": p99[server], "p50_ms": 1.0, "p95_ms": 1.0,
                                     "errors": 0, "requests": 10, "rps_per_pass": [value]}}}
            for server, value in rps.items()}


def test_goals_judge_the_default_and_other_configurations_are_listed_beside_it():
    summary = _summary({"ours": 10.0, "aws": 4.0, "ours-int8": 16.4, "ours-fp32": 4.2, "flask": 2.0},
                       {"ours": 500.0, "aws": 1100.0, "ours-int8": 300.0, "ours-fp32": 1700.0, "flask": 2300.0})
    goals = report.goals(summary, [], {})
    assert goals == [
        {"goal": "qa380 c=4: req/s vs peer (a)", "value": "2.50x", "target": ">= 4x", "met": False},
        {"goal": "qa380 c=4: p99 vs peer (a)", "value": "500 ms vs 1100 ms", "target": "lower", "met": True}]
    others = report.variant_ratios(summary, ["ours", "aws", "ours-int8", "ours-fp32", "flask"])
    assert others == [
        {"server": "ours-int8", "cell": "qa380 c=4", "ratio": 4.1, "p99_ms": 300.0, "peer_p99_ms": 1100.0,
         "goal_ratio": 4.0},
        {"server": "ours-fp32", "cell": "qa380 c=4", "ratio": 1.05, "p99_ms": 1700.0, "peer_p99_ms": 1100.0,
         "goal_ratio": 4.0}]
    result = {"meta": {"started_utc": "t", "cpu": "cpu", "cores": 2, "commit": "c", "load_start": [0],
                       "load_end": [0]},
              "config": {"servers": ["ours", "aws", "ours-int8", "ours-fp32", "flask"], "passes": 1,
                         "warmup_s": 1, "seconds": 1, "concurrency": [4], "kinds": {"qa380": {"tokens": 378}}},
              "servers": {key: {"label": label, "description": label} for key, label in
                          [("ours", "ours (default)"), ("aws", "AWS"), ("ours-int8", "ours (int8)"),
                           ("ours-fp32", "ours (float32)"), ("flask", "Flask")]},
              "summary": summary, "goals": goals, "other_configurations": others, "starts": [], "overhead": {},
              "loadgen": {"cpu_s": 0.0, "requests": 1, "wall_s": 1.0, "cpu_ms_per_request": 0.0, "cpu_share": 0.0,
                          "rss_sampler_cpu_s": 0.0, "servers_up_s": 1.0}}
    text = report.markdown(result)
    assert "| qa380 c=4: req/s vs peer (a) | 2.50x | >= 4x | **no** |" in text
    assert "| ours (int8) | qa380 c=4 | 4.10x | >= 4x | 300 ms vs 1100 ms |" in text
    assert "| ours (float32) | qa380 c=4 | 1.05x | >= 4x | 1700 ms vs 1100 ms |" in text
    assert text.index("## Other configurations") < text.index("## Throughput and latency")
