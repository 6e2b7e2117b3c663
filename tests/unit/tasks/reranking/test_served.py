"""The served reranker against sentence-transformers' CrossEncoder (predict and rank) on a tiny cross-encoder built at
test time: the same scores (float32, 1e-5 relative), the same order, TEI's answer shape, records batched together."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.formats.media import CSV, JSONLINES
from hf_serving.formats.records import RecordBatch, encode_csv
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task

QUERY = "How do cross-encoders rank passages?"
TEXTS = [
    "A cross-encoder reads the query and the passage together.",
    "Paris is the capital of France.",
    "Café, naïve, 東京 and 😀 in one passage.",
    "hi",
    "Rerankers score each pair with one logit. " * 80,
    "  leading and trailing spaces  ",
]


def _identity():
    import torch

    return torch.nn.Identity()


def _by_index(entries: list[dict]) -> np.ndarray:
    return np.array([entry["score"] for entry in sorted(entries, key=lambda entry: entry["index"])])


def _assert_same_answer(answer: list[dict], expected: list[dict]) -> None:
    """The same entries in the same order, scores to float32 noise (padding to another length moves the last bit)."""
    assert [{**entry, "score": None} for entry in answer] == [{**entry, "score": None} for entry in expected]
    np.testing.assert_allclose([e["score"] for e in answer], [e["score"] for e in expected], rtol=1e-5)


def test_scores_equal_crossencoder_predict_and_the_order_equals_rank(served, reference):
    assert served.task is Task.TEXT_RANKING
    expected = reference.predict([(QUERY, text) for text in TEXTS])
    answer = served.predict({"query": QUERY, "texts": TEXTS})
    assert [set(entry) for entry in answer] == [{"index", "score"}] * len(TEXTS)
    np.testing.assert_allclose(_by_index(answer), expected, rtol=1e-5)
    ranked = reference.rank(QUERY, TEXTS)
    assert [entry["index"] for entry in answer] == [entry["corpus_id"] for entry in ranked]
    assert len(set(np.round(expected, 4))) == len(TEXTS)  # distinct enough that the order means something


def test_raw_scores_are_the_logits_predict_gives_without_its_activation(served, reference):
    expected = reference.predict([(QUERY, text) for text in TEXTS], activation_fn=_identity())
    answer = served.predict({"inputs": {"query": QUERY, "texts": TEXTS}, "parameters": {"raw_scores": True}})
    np.testing.assert_allclose(_by_index(answer), expected, rtol=1e-5)
    assert [entry["index"] for entry in answer] == list(np.argsort(-expected, kind="stable"))


def test_return_text_and_top_n_cut_the_ranking_as_rank_does(served, reference):
    ranked = reference.rank(QUERY, TEXTS, top_k=3, return_documents=True)
    answer = served.predict({"inputs": {"query": QUERY, "texts": TEXTS}, "top_n": 3, "return_text": True})
    assert [(entry["index"], entry["text"]) for entry in answer] == [(r["corpus_id"], r["text"]) for r in ranked]
    np.testing.assert_allclose([entry["score"] for entry in answer], [r["score"] for r in ranked], rtol=1e-5)
    assert len(served.predict({"query": QUERY, "texts": TEXTS, "top_n": 100})) == len(TEXTS)


def test_left_truncation_keeps_the_end_of_an_over_long_pair(served, reference):
    long_text = "The beginning is about trains. " * 100 + "The end is about cross-encoders."
    default_side = reference.tokenizer.truncation_side
    reference.tokenizer.truncation_side = "left"
    try:
        expected = reference.predict([(QUERY, long_text)])
    finally:
        reference.tokenizer.truncation_side = default_side
    left = served.predict({"query": QUERY, "texts": [long_text], "truncation_direction": "Left"})
    right = served.predict({"query": QUERY, "texts": [long_text]})
    np.testing.assert_allclose(left[0]["score"], expected, rtol=1e-5)
    np.testing.assert_allclose(right[0]["score"], reference.predict([(QUERY, long_text)]), rtol=1e-5)
    assert not np.isclose(left[0]["score"], right[0]["score"], rtol=1e-5, atol=0)  # two different cuts


def test_truncate_false_refuses_an_over_long_pair_with_413_as_tei_does(served):
    with pytest.raises(PayloadTooLarge, match=r"a \(query, text\) pair is \d+ tokens long, over this model's 512"):
        served.predict({"query": QUERY, "texts": ["short", "word " * 600], "truncate": False})
    assert len(served.predict({"query": QUERY, "texts": ["short"], "truncate": False})) == 1


def test_a_huge_query_is_cut_before_pairing_without_changing_the_scores(served, reference):
    query = "What matters is only the start of this query. " * 400  # ~4,000 tokens
    expected = reference.predict([(query, text) for text in TEXTS[:3]])
    np.testing.assert_allclose(_by_index(served.predict({"query": query, "texts": TEXTS[:3]})), expected, rtol=1e-5)


def test_records_with_different_queries_share_model_passes_and_a_bad_record_keeps_its_own_error(served, reference):
    passes = []
    run = served.engine.run
    served.engine.run = lambda feed: passes.append(len(feed["input_ids"])) or run(feed)
    try:
        results = served.predict_records(
            RecordBatch(
                JSONLINES,
                [
                    {"query": QUERY, "texts": TEXTS[:3], "top_n": 2},
                    {"query": "Where is Paris?", "texts": TEXTS[1:4], "return_text": True},
                    {"query": "", "texts": ["x"]},
                    {"inputs": {"query": "Where is Paris?", "texts": TEXTS[:2]}, "raw_scores": True},
                ],
            )
        ).results
    finally:
        served.engine.run = run
    assert passes == [8]  # every pair of the three good records in one model pass, whatever their queries
    _assert_same_answer(results[0], served.predict({"query": QUERY, "texts": TEXTS[:3], "top_n": 2}))
    _assert_same_answer(
        results[1], served.predict({"query": "Where is Paris?", "texts": TEXTS[1:4], "return_text": True})
    )
    assert isinstance(results[2], BadRequest) and "query must be a non-empty string" in results[2].message
    expected = reference.predict([("Where is Paris?", text) for text in TEXTS[:2]], activation_fn=_identity())
    np.testing.assert_allclose(_by_index(results[3]), expected, rtol=1e-5)


def test_an_over_long_pair_with_truncate_false_fails_only_its_own_record(served):
    results = served.predict_records(
        RecordBatch(
            JSONLINES,
            [
                {"query": QUERY, "texts": ["word " * 600], "truncate": False},
                {"query": QUERY, "texts": ["short"], "truncate": False},
            ],
        )
    ).results
    assert isinstance(results[0], PayloadTooLarge)
    _assert_same_answer(results[1], served.predict({"query": QUERY, "texts": ["short"]}))


def test_the_activation_saved_with_the_model_is_the_one_applied(cross_encoder_dir, reference, tmp_path):
    directory = tmp_path / "identity"
    shutil.copytree(cross_encoder_dir, directory)
    path = directory / "config_sentence_transformers.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "activation_fn": "torch.nn.modules.linear.Identity"}))
    model = load_served_model(directory, Settings(model_dir=directory, dtype="float32", engine="torch"))
    expected = reference.predict([(QUERY, text) for text in TEXTS[:3]], activation_fn=_identity())
    np.testing.assert_allclose(_by_index(model.predict({"query": QUERY, "texts": TEXTS[:3]})), expected, rtol=1e-5)


def test_the_warmup_payload_is_answered(served):
    assert len(served.predict(served.warmup_payload())) == 2


def test_the_response_cache_keeps_each_pairs_logit_whatever_the_ranking_asked(cross_encoder_dir):
    from hf_serving.caching.response_cache import ResponseCache
    from hf_serving.caching.stores import MemoryStore
    from hf_serving.observability.worker_metrics import WorkerMetrics

    model = load_served_model(cross_encoder_dir, Settings(model_dir=cross_encoder_dir, dtype="float32", engine="torch"))
    model.use_cache(
        ResponseCache(
            MemoryStore(1 << 20, 60),
            "identity",
            WorkerMetrics("model", "text-ranking", enabled=False),
            model.encode_result,
            model.decode_result,
        )
    )
    passes = []
    run = model.engine.run
    model.engine.run = lambda feed: passes.append(len(feed["input_ids"])) or run(feed)
    first = model.predict({"query": QUERY, "texts": TEXTS[:3]})
    again = model.predict({"query": QUERY, "texts": TEXTS[:3], "top_n": 1, "return_text": True, "raw_scores": True})
    other_query = model.predict({"query": "Another query", "texts": TEXTS[:3]})
    assert passes == [3, 3]  # the second request read every pair from the cache; another query is new pairs
    assert [(entry["index"], entry["text"]) for entry in again] == [(first[0]["index"], TEXTS[first[0]["index"]])]
    np.testing.assert_allclose(1 / (1 + np.exp(-again[0]["score"])), first[0]["score"], rtol=1e-6)  # the logit
    assert other_query != first


def test_a_csv_row_is_one_query_text_pair_answered_as_index_and_score(served, reference):
    rows = [[QUERY, TEXTS[0]], ["Where is Paris?", TEXTS[1]]]
    results = served.predict_records(RecordBatch(CSV, rows))
    expected = reference.predict([tuple(row) for row in rows])
    assert [[entry["index"] for entry in result] for result in results.results] == [[0], [0]]
    np.testing.assert_allclose([result[0]["score"] for result in results.results], expected, rtol=1e-5)
    assert [line.split(",")[0] for line in encode_csv(results.results).decode().splitlines()] == ["0", "0"]
    with pytest.raises(BadRequest, match="row 2: a row must have 2 columns: query,texts"):
        served.predict_records(RecordBatch(CSV, [[QUERY, "a"], [QUERY]]))


def test_the_tokens_read_are_each_pairs_own_and_reported_per_record(served, reference):
    lengths = [len(ids) for ids in reference.tokenizer([QUERY] * 3, TEXTS[:3], truncation=True)["input_ids"]]
    served.predict({"query": QUERY, "texts": TEXTS[:3]})
    assert served.take_usage().tokens == sum(lengths)
    results = served.predict_records(
        RecordBatch(JSONLINES, [{"query": QUERY, "texts": TEXTS[:1]}, {"query": QUERY, "texts": TEXTS[1:3]}])
    )
    assert results.tokens == [lengths[0], lengths[1] + lengths[2]]
