"""bench/matrix_rate.py: a request's matrix FLOPs from the model's config, the share of the host's bf16 rate, and the
rate measured by torch in a subprocess."""

from __future__ import annotations

import json

import pytest

from bench import matrix_rate


def test_a_distilbert_request_of_376_tokens_is_34_5_gflop(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"n_layers": 6, "dim": 768, "hidden_dim": 3072}))
    dims = matrix_rate.encoder_dims(tmp_path)
    assert dims == (6, 768, 3072)
    assert matrix_rate.text_flops(376, dims) / 1e9 == pytest.approx(34.54, abs=0.01)
    # texts are counted each at its own length, without padding to the longest
    assert matrix_rate.request_flops((100, 200), dims) == matrix_rate.text_flops(100, dims) + matrix_rate.text_flops(
        200, dims
    )


def test_bert_names_are_read_and_a_config_without_them_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"num_hidden_layers": 6, "hidden_size": 384, "intermediate_size": 1536})
    )
    assert matrix_rate.encoder_dims(tmp_path) == (6, 384, 1536)
    (tmp_path / "config.json").write_text(json.dumps({"vocab_size": 10}))
    with pytest.raises(ValueError, match="names no layers"):
        matrix_rate.encoder_dims(tmp_path)


def test_the_share_is_delivered_flops_over_the_rate():
    summary = {
        "ours": {"qa380": {"4": {"rps": 20.0}}, "clf60": {"1": {"rps": 90.0}}},
        "aws": {"qa380": {"4": {"rps": 5.0}}},
    }
    rows = matrix_rate.shares(summary, {"qa380": 34.5e9, "clf60": 5e9}, 1.5e12, 4)
    assert [(row["server"], row["kind"], row["share"]) for row in rows] == [
        ("ours", "qa380", 0.46),
        ("aws", "qa380", 0.115),
    ]
    text = matrix_rate.markdown(rows, [{"median": 1.4e12, "threads": 2}, {"median": 1.6e12, "threads": 2}], 4)
    assert "| ours | qa380 | 20.0 | 34.50 | 0.690 | 0.46 |" in text and "1.40, 1.60 TFLOP/s" in text


def test_the_rate_is_measured_by_torch_in_a_subprocess():
    rate = matrix_rate.measure(seconds=0.2, threads=1, shape=(16, 32, 32))
    assert rate["median"] > 0 and rate["best"] >= rate["median"] and rate["samples"] >= 1
