"""SQuAD v1.1: reading its JSON format, and its official metrics, exact match and F1.

The normalisation and scores are those of the official evaluate-v1.1.py: lowercase, drop punctuation,
drop the articles a/an/the, collapse whitespace; F1 over the bag of normalised tokens; each question
scores its best over its gold answers; the aggregates are percentages over the questions of the file
(a question with no prediction scores 0, as in the official script).
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@dataclass(frozen=True)
class SquadExample:
    id: str
    question: str
    context: str
    answers: tuple[str, ...]  # the gold answer texts, duplicates kept as in the file
    answer_starts: tuple[int, ...]  # their character offsets into the context


def load_squad(path: Path) -> list[SquadExample]:
    """Every question of a SQuAD v1.1-format file, in file order."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise ValueError(f"{path} is not in SQuAD format: no top-level 'data' list")
    return [
        SquadExample(
            qa["id"],
            qa["question"],
            paragraph["context"],
            tuple(answer["text"] for answer in qa["answers"]),
            tuple(answer["answer_start"] for answer in qa["answers"]),
        )
        for article in document["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


def normalize_answer(text: str) -> str:
    """The official normalisation (the order matters: articles are matched after punctuation is gone)."""
    text = "".join(character for character in text.lower() if character not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    predicted_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(predicted_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(predicted_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(prediction: str, golds: Iterable[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction: the best over its gold answers, each in [0, 1]."""
    golds = list(golds)
    if not golds:
        raise ValueError("a SQuAD v1.1 question needs at least one gold answer")
    return (max(exact_match(prediction, gold) for gold in golds), max(f1(prediction, gold) for gold in golds))


@dataclass(frozen=True)
class Scores:
    exact_match: float  # percent, as the official script prints
    f1: float  # percent
    count: int  # questions in the file
    predicted: int  # questions that had a prediction


def score(examples: Iterable[SquadExample], predictions: Mapping[str, str]) -> Scores:
    """Aggregate EM and F1 over every example; an example without a prediction scores 0."""
    total_em = total_f1 = 0.0
    count = predicted = 0
    for example in examples:
        count += 1
        if example.id not in predictions:
            continue
        predicted += 1
        em, f = best_over_golds(predictions[example.id], example.answers)
        total_em += em
        total_f1 += f
    if count == 0:
        raise ValueError("no questions to score")
    return Scores(100.0 * total_em / count, 100.0 * total_f1 / count, count, predicted)
