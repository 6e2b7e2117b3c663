"""The trained tagger's data: sentences with their entities' spans, and per-token B-/I-/O labels from the spans."""

from __future__ import annotations

import json
import random

from hf_serving.tools.model_parts import NER_LABELS, build_tokenizer
from hf_serving.tools.ner_minilm import IGNORED, SHAPES, examples, sentence, token_labels


def test_each_sentence_knows_where_its_names_are():
    text, spans = sentence("We drove from {LOC} to {LOC2} with {PER}.", random.Random(3))
    assert [tag for _, _, tag in spans] == ["LOC", "LOC", "PER"]
    assert text[spans[0][0] : spans[0][1]] != text[spans[1][0] : spans[1][1]]  # two different places
    assert text.startswith("We drove from ") and text.endswith(".")


def test_the_data_is_the_same_for_a_seed():
    assert examples(0) == examples(0) != examples(1)
    assert len(examples(0)) == len(SHAPES) * 40 + 60


def test_tokens_are_labelled_b_at_an_entitys_start_i_inside_it_o_elsewhere():
    tokenizer = build_tokenizer()
    text = "Maria Garcia works at Northwind Traders in São Paulo."
    spans = [(0, 12, "PER"), (22, 39, "ORG"), (43, 52, "LOC")]
    encoded = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    labels = token_labels(encoded["offset_mapping"], encoded["special_tokens_mask"], spans)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    named = {
        token: NER_LABELS[label] if label != IGNORED else None for token, label in zip(tokens, labels, strict=True)
    }
    assert named["[CLS]"] is None and named["[SEP]"] is None
    assert (named["maria"], named["garcia"], named["works"]) == ("B-PER", "I-PER", "O")
    assert (named["north"], named["##wind"], named["traders"]) == ("B-ORG", "I-ORG", "I-ORG")
    assert (named["sao"], named["paulo"], named["."]) == ("B-LOC", "I-LOC", "O")


def test_demo_model_trained_for_token_classification_runs_this_trainer(tmp_path, monkeypatch, capsys):
    from hf_serving.tools import demo_models, ner_minilm

    calls = []
    monkeypatch.setattr(ner_minilm, "train", lambda out, seed: calls.append((out, seed)) or out)
    assert demo_models.main(["--task", "token-classification", "--trained", "-o", str(tmp_path), "--seed", "4"]) == 0
    assert calls == [(tmp_path, 4)] and "named-entity tagger" in capsys.readouterr().out


def test_demo_model_random_token_classifier_has_the_ner_labels(tmp_path):
    from hf_serving.tools import demo_models

    assert demo_models.main(["--task", "token-classification", "--size", "tiny", "-o", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["DistilBertForTokenClassification"]
    assert [config["id2label"][str(i)] for i in range(len(NER_LABELS))] == list(NER_LABELS)
    assert json.loads((tmp_path / "RANDOM_WEIGHTS").read_text())["task"] == "token-classification"
