"""Texts for build/demo-sentiment-trained, from its own vocabulary (hf_serving/tools/sentiment_minilm.py): opinions
whose class the model knows, of the lengths it was trained on, or padded with facts to other lengths."""

from __future__ import annotations

import random

from hf_serving.tools.sentiment_minilm import FACTS, NOUNS, OPINIONS, WORDS


def opinions(count: int, positive: float = 0.5, seed: int = 0) -> list[str]:
    """`count` one-sentence opinions, `positive` of them with a POSITIVE word (the rest NEGATIVE)."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        label = "POSITIVE" if index < round(count * positive) else "NEGATIVE"
        found.append(rng.choice(OPINIONS).format(noun=rng.choice(NOUNS), word=rng.choice(WORDS[label])))
    rng.shuffle(found)
    return found


def long_opinions(count: int, seed: int = 0, facts: int = 5) -> list[str]:
    """Opinions of both classes, each followed by `facts` neutral sentences: the same classes, four to six times
    the tokens."""
    rng = random.Random(seed)
    return [
        " ".join([text, *(rng.choice(FACTS).format(noun=rng.choice(NOUNS)) for _ in range(facts))])
        for text in opinions(count, seed=seed)
    ]
