"""A small sentiment classifier with real, trained weights, made offline: all-MiniLM-L6-v2's encoder fine-tuned here
on templated sentences.

The Hub's sentiment models are out of reach on the machines this project is built on, and a classifier with random
weights has nothing to explain. This one knows a closed list of opinion words (WORDS) in a few sentence shapes:
"The hotel was dreadful." is NEGATIVE because of "dreadful", which is what an explanation of it should show. It is
not a general sentiment model: words outside its lists mean little to it. Neutral sentences (facts with no opinion)
are trained towards 50/50, so that a text with its words taken away, the explanations' baseline, scores about even.

Deterministic for a given seed and thread count; about 20 s on 2 cores.

    python -m hf_serving demo-model --task text-classification --trained -o build/demo-sentiment-trained
"""

from __future__ import annotations

import random
from pathlib import Path

from hf_serving.tools.model_parts import SENTIMENT_LABELS, minilm_dir, save_trained

WORDS = {
    "POSITIVE": (
        "wonderful",
        "excellent",
        "great",
        "amazing",
        "delightful",
        "superb",
        "fantastic",
        "lovely",
        "brilliant",
        "enjoyable",
    ),
    "NEGATIVE": (
        "terrible",
        "awful",
        "horrible",
        "dreadful",
        "boring",
        "disappointing",
        "bad",
        "poor",
        "dull",
        "unpleasant",
    ),
}
NOUNS = ("movie", "film", "food", "service", "book", "hotel", "show", "concert", "meal", "trip")
OPINIONS = (
    "The {noun} was {word}.",
    "What a {word} {noun}!",
    "I thought the {noun} was {word}.",
    "Honestly, this {noun} is {word}.",
    "Our {noun} turned out {word} in the end.",
)
FACTS = (
    "The {noun} was on Tuesday.",
    "I saw the {noun} yesterday.",
    "This {noun} is in the city centre.",
    "We talked about the {noun} at lunch.",
    "The {noun} lasted two hours.",
)


def examples() -> list[tuple[str, tuple[float, float]]]:
    """(sentence, target probabilities of NEGATIVE and POSITIVE)."""
    found = [
        (shape.format(noun=noun, word=word), (0.0, 1.0) if label == "POSITIVE" else (1.0, 0.0))
        for shape in OPINIONS
        for noun in NOUNS
        for label, words in WORDS.items()
        for word in words
    ]
    found += [(shape.format(noun=noun), (0.5, 0.5)) for shape in FACTS for noun in NOUNS] * 4
    return found


def train(out_dir: Path, seed: int = 0, epochs: int = 2) -> Path:
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(seed)
    source = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForSequenceClassification.from_pretrained(
        source,
        num_labels=2,
        id2label=dict(enumerate(SENTIMENT_LABELS)),
        label2id={label: index for index, label in enumerate(SENTIMENT_LABELS)},
    )
    data = examples()
    random.Random(seed).shuffle(data)
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    for _ in range(epochs):
        for start in range(0, len(data), 32):
            batch = data[start : start + 32]
            encoded = tokenizer([text for text, _ in batch], padding=True, return_tensors="pt")
            logits = model(**encoded).logits
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([target for _, target in batch]))
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
    note = "a sentiment classifier for these words only: tools/sentiment_minilm.py"
    return save_trained(model, tokenizer, out_dir, note, len(data), epochs, seed)
