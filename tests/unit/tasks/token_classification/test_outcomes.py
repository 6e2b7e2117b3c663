"""What token classification's items predicted, as monitoring reads them: one prediction per entity group (per
entity with aggregation none, its class without B-/I-), on the trained demo NER model (build/demo-ner-trained)."""

from __future__ import annotations

import pytest

from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from tests.support.outcomes import answered, demo_model, token_count

TEXT = "Ada Lovelace flew from Paris to London with Acme Corporation."


@pytest.fixture(scope="module")
def model():
    return demo_model("demo-ner-trained")


def test_each_entity_group_is_a_prediction(model):
    answer, [outcome] = answered(model, {"inputs": TEXT, "parameters": {"aggregation_strategy": "simple"}})
    assert {entity["entity_group"] for entity in answer} >= {"PER", "LOC"}  # a trained model finds them
    assert outcome == ItemOutcome(
        tuple(Prediction(entity["entity_group"], entity["score"]) for entity in answer), token_count(model, TEXT)
    )


def test_aggregation_none_counts_each_tokens_class_without_its_prefix(model):
    answer, [outcome] = answered(model, {"inputs": TEXT, "parameters": {"aggregation_strategy": "none"}})
    assert {entity["entity"][:2] for entity in answer} == {"B-", "I-"}
    assert outcome.predictions == tuple(Prediction(entity["entity"][2:], entity["score"]) for entity in answer)


def test_a_text_with_no_entity_predicts_nothing_but_its_tokens_count(model):
    answer, [outcome] = answered(model, {"inputs": "nothing here at all"})
    assert answer == [] and outcome == ItemOutcome((), token_count(model, "nothing here at all"))


def test_the_classes_are_the_models_tags_without_prefixes_in_its_order(model):
    assert model.class_names() == ("O", "PER", "LOC", "ORG")
