"""The official SQuAD v1.1 normalisation and scores, against values worked out by hand."""

from __future__ import annotations

import json

import pytest

from hf_serving.tools.squad_metrics import (
    SquadExample,
    best_over_golds,
    exact_match,
    f1,
    load_squad,
    normalize_answer,
    score,
)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The  Cat, sat!", "cat sat"),
        ("An apple a day", "apple day"),
        ("THE END", "end"),
        ("theatre and anthem", "theatre and anthem"),  # articles only as whole words
        ("the-end", "theend"),  # punctuation goes first, so "the" is no longer a word
        ("  1,024 km\t(approx.)\n", "1024 km approx"),
        ("a", ""),
    ],
)
def test_normalisation_is_the_official_one(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_after_normalisation():
    assert exact_match("the Denver Broncos.", "Denver Broncos") == 1.0
    assert exact_match("Denver", "Denver Broncos") == 0.0


def test_f1_over_bags_of_tokens():
    # prediction {cat, sat, on, mat}, gold {cat, on, mat}: 3 in common, P = 3/4, R = 1, F1 = 6/7
    assert f1("the cat sat on the mat", "a cat on a mat") == pytest.approx(6 / 7)
    # repeated tokens count as often as both sides have them: {cat, dog} in common, P = R = 2/3
    assert f1("cat cat dog", "cat dog dog") == pytest.approx(2 / 3)
    assert f1("Paris", "London") == 0.0
    assert f1("", "London") == 0.0
    assert f1("The", "London") == 0.0  # normalises to nothing


def test_each_question_takes_its_best_gold():
    assert best_over_golds("Denver Broncos", ["Broncos", "The Denver Broncos", "Denver"]) == (1.0, 1.0)
    # EM 0 against both; F1 0.5 against "Denver Broncos" (1 of 2 tokens each way), 0 against "Carolina"
    assert best_over_golds("Broncos team", ["Denver Broncos", "Carolina"]) == (0.0, 0.5)
    # the best EM and the best F1 may come from different golds
    assert best_over_golds("in 1990", ["1990", "in 1990s"]) == (0.0, pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="at least one gold"):
        best_over_golds("x", [])


def example(id_: str, *answers: str) -> SquadExample:
    return SquadExample(id_, "q?", "context", answers, tuple(0 for _ in answers))


def test_aggregate_is_percent_over_every_question_and_a_missing_prediction_scores_zero():
    examples = [
        example("a", "Denver Broncos"),
        example("b", "red", "crimson"),
        example("c", "1990"),
        example("d", "Paris"),
    ]
    predictions = {"a": "Broncos", "b": "Crimson.", "c": "1990"}  # no prediction for d
    scores = score(examples, predictions)
    assert scores.count == 4
    assert scores.predicted == 3
    assert scores.exact_match == pytest.approx(100 * 2 / 4)
    # F1: a = 2/3 (P 1, R 1/2), b = 1, c = 1, d = 0
    assert scores.f1 == pytest.approx(100 * (2 / 3 + 1 + 1 + 0) / 4)
    with pytest.raises(ValueError, match="no questions"):
        score([], {})


def test_load_squad_reads_every_question_in_file_order(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(
        json.dumps(
            {
                "version": "1.1",
                "data": [
                    {
                        "title": "t1",
                        "paragraphs": [
                            {
                                "context": "Rome is in Italy.",
                                "qas": [
                                    {
                                        "id": "q1",
                                        "question": "Where is Rome?",
                                        "answers": [
                                            {"text": "Italy", "answer_start": 11},
                                            {"text": "Italy", "answer_start": 11},
                                        ],
                                    }
                                ],
                            }
                        ],
                    },
                    {
                        "title": "t2",
                        "paragraphs": [
                            {
                                "context": "Bo is red.",
                                "qas": [
                                    {
                                        "id": "q2",
                                        "question": "What colour is Bo?",
                                        "answers": [{"text": "red", "answer_start": 6}],
                                    }
                                ],
                            }
                        ],
                    },
                ],
            }
        )
    )
    loaded = load_squad(path)
    assert [e.id for e in loaded] == ["q1", "q2"]
    assert loaded[0] == SquadExample("q1", "Where is Rome?", "Rome is in Italy.", ("Italy", "Italy"), (11, 11))
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError, match="not in SQuAD format"):
        load_squad(tmp_path / "bad.json")
