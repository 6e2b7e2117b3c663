"""bench/explain.py's own logic: the explain body made from the plain one, the steps read back from any answer shape,
the table."""

from __future__ import annotations

import json

from bench import explain


def test_the_explain_request_is_the_plain_one_with_explain_added():
    plain = json.dumps({"inputs": {"question": "q?", "context": "c"}, "parameters": {"top_k": 2}}).encode()
    assert json.loads(explain._explained(plain)) == {
        "inputs": {"question": "q?", "context": "c"},
        "parameters": {"top_k": 2, "explain": True},
    }
    assert json.loads(explain._explained(b'{"inputs": "t"}'))["parameters"] == {"explain": True}


def test_steps_are_found_in_every_answer_shape_and_none_in_a_plain_answer():
    target = {"target": "start", "steps": 64}
    answer = {"answer": "x", "score": 0.5, "explanation": {"targets": [target, {**target, "steps": 128}]}}
    assert explain._steps(answer) == [64, 128]
    assert explain._steps([[{"label": "A", "explanation": {"targets": [target]}}, {"label": "B"}]]) == [64]
    assert explain._steps([{"label": "A", "score": 0.9}]) == []


def test_the_table_names_the_host_and_the_plain_requests_ratio():
    cell = {"requests": 10, "rps": 100.0, "errors": 0, "p50_ms": 10.0, "p95_ms": 12.0, "p99_ms": 13.0}
    record = {
        "model": "clf",
        "request": "clf60",
        "model_dir": "build/demo-sentiment",
        "first_explain_s": 4.0,
        "explain_c1": {**cell, "p50_ms": 1300.0, "p95_ms": 1400.0},
        "steps": {"min": 32, "max": 64, "median": 32},
        "plain_alone": cell,
        "plain_beside_explain": {**cell, "p50_ms": 11.5, "rps": 90.0},
        "plain_p50_ratio": 1.15,
        "plain_rps_ratio": 0.9,
        "peak_rss_mb": 2000.0,
    }
    meta = {"started_utc": "t", "cpu": "Xeon (amx_bf16)", "cores": 2, "commit": "c", "load_start": [0.1]}
    table = explain.markdown({"meta": meta, "seconds": 15.0, "records": [record]})
    assert "Host: Xeon (amx_bf16), 2 cores" in table
    assert "| clf (build/demo-sentiment) | clf60 | 4.0 s | 1300 / 1400 ms | 32, 64 | 10 ms | 12 ms (x1.15) |" in table
