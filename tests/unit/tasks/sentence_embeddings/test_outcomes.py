"""Embeddings predict nothing to count, only the tokens the model read (build/demo-embeddings): as sentence
embeddings, as sentence similarity (a cosine is no probability) and as feature extraction."""

from __future__ import annotations

from hf_serving.monitoring.outcomes import ItemOutcome
from tests.support.outcomes import answered, demo_model, token_count

TEXTS = ["The container started.", "A second, somewhat longer sentence about serving."]


def test_embeddings_and_hidden_states_report_tokens_only():
    for task in ("sentence-embeddings", "feature-extraction"):
        model = demo_model("demo-embeddings", task)
        _, outcomes = answered(model, {"inputs": TEXTS})
        assert outcomes == [ItemOutcome((), token_count(model, text)) for text in TEXTS]
        assert model.class_names() == ()


def test_a_similarity_query_predicts_nothing():
    model = demo_model("demo-embeddings", "sentence-embeddings")
    _, [outcome] = answered(model, {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS}})
    assert outcome.predictions == ()
    assert outcome.tokens == token_count(model, TEXTS[0]) + sum(token_count(model, text) for text in TEXTS)
