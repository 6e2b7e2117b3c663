"""bench/engine_variants.py (make bench-engine): OpenVINO's CPU settings compiled side by side from one converted graph,
on a tiny model built here; what each variant feeds and answers, and the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import engine_variants
from hf_serving.tasks.registry import Task
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.model_parts import SENTIMENT_LABELS


@pytest.fixture(scope="module")
def tiny_qa(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("tiny-qa"), Task.QUESTION_ANSWERING, "tiny", SENTIMENT_LABELS, seed=4)


def test_rows_are_split_into_contiguous_parts_that_cover_each_row_once():
    for rows in range(1, 10):
        for streams in (1, 2, 3, 4):
            parts = engine_variants.row_parts(rows, streams)
            covered = [index for part in parts for index in range(rows)[part]]
            assert covered == list(range(rows))
            assert len(parts) == min(rows, streams) and all(part.stop > part.start for part in parts)
            sizes = [part.stop - part.start for part in parts]
            assert max(sizes) - min(sizes) <= 1


def test_padding_reaches_the_multiple_with_pad_ids_and_a_zero_mask():
    feed = {
        "input_ids": np.array([[101, 7, 8, 102]] * 2, dtype=np.int64),
        "attention_mask": np.ones((2, 4), dtype=np.int64),
        "token_type_ids": np.zeros((2, 4), dtype=np.int64),
    }
    out = engine_variants.padded(feed, 32, pad_id=3)
    assert {name: array.shape for name, array in out.items()} == {name: (2, 32) for name in feed}
    assert (out["input_ids"][:, 4:] == 3).all() and (out["input_ids"][:, :4] == feed["input_ids"]).all()
    assert (out["attention_mask"][:, 4:] == 0).all() and (out["attention_mask"][:, :4] == 1).all()
    assert engine_variants.padded(out, 32, pad_id=3) is out  # already a multiple
    assert engine_variants.unpadded(np.ones((2, 32)), 4).shape == (2, 4)
    assert engine_variants.unpadded(np.ones((2, 2)), 4).shape == (2, 2)  # one value a row: nothing to cut


def test_every_variant_runs_the_same_rows_and_answers_as_float32_does(tiny_qa, tmp_path):
    quick = "--tokens 20 --rows 1 3 --rounds 2 --cell-seconds 0.01 --matrix-seconds 0.2 --threads 2".split()
    args = engine_variants.parse_args(["--model-dir", str(tiny_qa), "--out", str(tmp_path), *quick])
    result = engine_variants.measure(args)
    names = [variant["name"] for variant in result["variants"]]
    assert names == ["default", "float32", "int8", "streams", "unpinned", "pad 32", "static shape"]
    assert sorted((row["variant"], row["tokens"], row["rows"]) for row in result["results"]) == sorted(
        (name, 20, rows) for name in names for rows in (1, 3)
    )
    by_name = {(row["variant"], row["rows"]): row for row in result["results"]}
    for row in result["results"]:
        assert row["ms_per_pass"] > 0 and row["share"] > 0 and row["compared_with"] == "float32"
        # rows per second is the pass's rows over its time (to the 0.01 ms the time is rounded to)
        assert row["rows"] * 1000 / row["rows_per_s"] == pytest.approx(row["ms_per_pass"], abs=0.006)
    # float32 is its own reference; every float variant answers as it does (start logits, cut back to 20 tokens
    # where padded, and put back together where split over two streams); int8 within quantisation's error
    assert by_name[("float32", 3)]["max_abs_difference"] == 0
    for name in ("streams", "pad 32", "static shape", "unpinned", "default"):
        assert by_name[(name, 3)]["max_abs_difference"] < 0.05, name
    assert by_name[("int8", 3)]["max_abs_difference"] < 0.5
    assert len(result["matrix_rates"]) == 2 and all(rate["median"] > 0 for rate in result["matrix_rates"])

    text = engine_variants.markdown(result)
    assert "| variant | 20 tokens x 1 | 20 tokens x 3 |" in text
    assert text.count("| pad 32 |") == 3 and "from float32's" in text
    json.dumps(result)  # the report is written as JSON


def test_a_chosen_subset_runs_alone_and_the_first_chosen_is_the_reference(tiny_qa, tmp_path):
    quick = "--tokens 12 --rows 2 --rounds 1 --cell-seconds 0.01 --matrix-seconds 0.2 --threads 1 --name subset"
    variants = ["--variants", "unpinned", "static shape"]
    assert engine_variants.main(["--model-dir", str(tiny_qa), "--out", str(tmp_path), *quick.split(), *variants]) == 0
    result = json.loads((tmp_path / "subset.json").read_text())
    assert [variant["name"] for variant in result["variants"]] == ["unpinned", "static shape"]
    assert {row["compared_with"] for row in result["results"]} == {"unpinned"}
    text = (tmp_path / "subset.md").read_text()
    assert "| static shape | " in text
    assert "(1.00)" in text  # the reference's own ratio


def test_the_streams_variant_takes_its_count_apart_from_the_threads():
    streams = next(v for v in engine_variants.variants(threads=16, streams=4) if v.name == "streams")
    assert streams.streams == 4 and streams.overrides == {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": 4}
    assert "4 streams sharing 16 threads" in streams.what
    assert engine_variants.parse_args(["--streams", "4"]).streams == 4
    assert engine_variants.parse_args([]).streams is None  # one a thread
