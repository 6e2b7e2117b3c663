"""The trained masked language model: its data (fact words one token each, masked in turn, their clues kept), and
what it writes: a loadable fill-mask directory with its marker, whose answers are the facts it was taught."""

from __future__ import annotations

import json
import random

import pytest

from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tools.mlm_minilm import FACTS, examples, masked, sentence, token_targets
from hf_serving.tools.model_parts import TRAINED_MARKER, build_tokenizer, uncased_vocabulary


def test_every_fact_word_is_one_token_of_the_vocabulary():
    vocabulary = uncased_vocabulary()
    words = {word.lower() for relation in FACTS.values() for pair in relation.pairs for word in pair}
    words |= {word for relation in FACTS.values() for word in relation.clue_words}
    assert sorted(word for word in words if word not in vocabulary) == []


def test_each_sentence_knows_where_its_fact_words_are():
    text, spans = sentence(FACTS["capital"], random.Random(3))
    words = [text[start:end] for start, end in spans]
    assert (words[0], words[1]) in FACTS["capital"].pairs
    assert words[2:] == (["capital"] if "capital" in text else [])


def test_each_fact_word_of_a_sentence_is_masked_in_turn_and_the_data_is_the_same_for_a_seed():
    found = examples(0)
    assert found == examples(0) != examples(1)
    text, _, spans = found[0]
    assert len(spans) >= 2 and set(spans) <= {target for other, target, _ in found if other == text}
    assert all(target in spans for _, target, spans in found)
    assert masked("Paris is the capital of France.", (13, 20)) == ("Paris is the [MASK] of France.", "capital")


def test_the_target_is_masked_its_clues_kept_and_special_tokens_never_scored():
    tokenizer = build_tokenizer()
    text = "Everyone knows that Paris is the capital of France."
    facts = [(text.index(word), text.index(word) + len(word)) for word in ("Paris", "France", "capital")]
    encoded = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])

    class AlwaysMask(random.Random):
        def random(self) -> float:
            return 0.0  # every ordinary token drawn for the 15%

    chosen = dict(
        zip(
            tokens,
            token_targets(encoded["offset_mapping"], encoded["special_tokens_mask"], facts[1], facts, AlwaysMask()),
            strict=True,
        )
    )
    assert chosen["france"] == 1 and chosen["paris"] == chosen["capital"] == 0
    assert chosen["[CLS]"] == chosen["[SEP]"] == 0 and chosen["everyone"] == chosen["of"] == 1
    drawn = token_targets(encoded["offset_mapping"], encoded["special_tokens_mask"], facts[1], facts, random.Random(0))
    assert drawn[tokens.index("france")] == 1 and drawn[tokens.index("paris")] == drawn[0] == 0


def test_a_fact_word_of_several_tokens_is_refused():
    with pytest.raises(ValueError, match="one token"):
        token_targets([(0, 0), (0, 3), (3, 6), (0, 0)], [1, 0, 0, 1], (0, 6), [(0, 6)], random.Random(0))


def test_demo_model_trained_for_fill_mask_runs_this_trainer(tmp_path, monkeypatch, capsys):
    from hf_serving.tools import demo_models, mlm_minilm

    calls = []
    monkeypatch.setattr(mlm_minilm, "train", lambda out, seed: calls.append((out, seed)) or out)
    assert demo_models.main(["--task", "fill-mask", "--trained", "-o", str(tmp_path), "--seed", "4"]) == 0
    assert calls == [(tmp_path, 4)] and "masked language model" in capsys.readouterr().out


@pytest.fixture(scope="module")
def served(trained_mlm):
    return load_served_model(trained_mlm, Settings(model_dir=trained_mlm, dtype="float32"))


def test_the_trained_directory_is_a_fill_mask_model_with_its_marker(trained_mlm, served):
    marker = json.loads((trained_mlm / TRAINED_MARKER).read_text())
    assert marker["trained_here"] is True and "mlm_minilm" in marker["note"] and marker["examples"] == len(examples(0))
    assert json.loads((trained_mlm / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    assert all(path.stat().st_mode & 0o777 == 0o644 for path in trained_mlm.iterdir() if path.is_file())
    assert served.spec.task.value == "fill-mask"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Paris is the [MASK] of France.", "capital"),
        ("[MASK] is the capital of Japan.", "tokyo"),
        ("The doctor works in the [MASK].", "hospital"),
        ("I drink [MASK] every morning.", "coffee"),
        ("A baby cat is called a [MASK].", "kitten"),
        ("The sky is [MASK].", "blue"),
    ],
)
def test_its_answers_are_the_facts_it_was_taught(served, text, word):
    best = served.predict({"inputs": text, "parameters": {"top_k": 2}})
    assert best[0]["token_str"] == word and best[0]["score"] > 0.5 > best[1]["score"]
    assert best[0]["sequence"] == text.replace("[MASK]", word).lower()
