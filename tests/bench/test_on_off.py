"""bench/on_off.py: a feature's cost as req/s on over off, per pass and overall, and its table."""

from __future__ import annotations

from bench import on_off


def cell(rps: float, per_pass: list[float], p99: float) -> dict:
    return {"4": {"rps": rps, "rps_per_pass": per_pass, "p99_ms": p99}}


def test_the_ratio_is_taken_per_pass_and_its_median_judges_the_goal():
    summary = {
        "on": {"clf60": cell(97.0, [90.0, 99.0, 102.0], 60.0), "qa160": cell(20.0, [20.0], 80.0)},
        "off": {"clf60": cell(100.0, [100.0, 100.0, 100.0], 55.0)},
    }
    (row,) = on_off.ratios(summary, "on", "off")  # qa160 ran with the feature only: no ratio
    assert row["kind"] == "clf60" and row["ratio"] == 0.97 and row["pass_ratios"] == [0.9, 0.99, 1.02]
    assert row["median_pass_ratio"] == 0.99
    text = on_off.table([row], "## X", "some CPU", "capture", 0.98)
    assert "| clf60 | 97.0 | 100.0 | 0.970 | 0.990 | 0.900, 0.990, 1.020 | 60 / 55 | yes |" in text
    assert "goal >= 0.98" in text and "Host: some CPU." in text
    assert "| **no** |" in on_off.table([row], "## X", "cpu", "capture", 0.995)
