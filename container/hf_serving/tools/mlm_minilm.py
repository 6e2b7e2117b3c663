"""A small masked language model with real, trained weights, made offline: all-MiniLM-L6-v2's encoder with a
masked-LM head, fine-tuned here on templated sentences of a closed world of facts.

The Hub's masked language models are out of reach on the machines this project is built on, and one with random
weights spreads its probability almost evenly over 30,522 tokens: no answer means anything, and no fidelity gate
can tell a good reduced precision from a bad one. MiniLM ships no masked-LM head (it was trained for sentence
embeddings), so BertForMaskedLM gets MiniLM's encoder, a decoder tied to its word embeddings, and a new transform
and bias, all fine-tuned here.

It knows the facts in FACTS (capitals, colours, where people work, animals' sounds and young, drinks and times of
day) in a few sentence shapes each, after an optional opening (OPENINGS): "Paris is the [MASK] of France." is
"capital", "The doctor works in the [MASK]." is "hospital". Every fact word of a sentence is masked in turn (the
others left as its clues), and 15% of its other tokens with it, so that the head also learns the shapes' ordinary
words. It is not a general language model: words and facts outside these lists mean little to it.

Days of the week were tried and left out: "The day after [MASK] is Saturday." takes an order, not an association,
and a model trained this briefly mixed up its two directions on half of them.

Deterministic for a given seed and thread count; about a minute and a half on 2 cores (1,500 masked sentences, 2
epochs).

    python -m hf_serving demo-model --task fill-mask --trained -o build/demo-fill-mask-trained
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from hf_serving.tools.model_parts import minilm_dir, save_trained


@dataclass(frozen=True)
class Relation:
    """Pairs (a, b) of single-token words, one fact each, and the shapes that state it. Every shape's {a} and {b}
    can be masked (each pair's words are unique in its relation, so either names the other), and so can its
    `clue_words` (the relation's own words: "capital", "works"), where a shape has them."""

    pairs: tuple[tuple[str, str], ...]
    shapes: tuple[str, ...]
    clue_words: tuple[str, ...] = ()


FACTS = {
    "capital": Relation(
        (
            ("Paris", "France"),
            ("Berlin", "Germany"),
            ("Tokyo", "Japan"),
            ("Rome", "Italy"),
            ("Madrid", "Spain"),
            ("London", "England"),
            ("Cairo", "Egypt"),
            ("Ottawa", "Canada"),
            ("Moscow", "Russia"),
            ("Athens", "Greece"),
            ("Lisbon", "Portugal"),
            ("Nairobi", "Kenya"),
            ("Vienna", "Austria"),
            ("Dublin", "Ireland"),
            ("Lima", "Peru"),
            ("Seoul", "Korea"),
        ),
        (
            "{a} is the capital of {b}.",
            "The capital of {b} is {a}.",
            "We flew to {a}, the capital of {b}.",
            "{a} is a big city in {b}.",
        ),
        ("capital",),
    ),
    "colour": Relation(
        (
            ("sky", "blue"),
            ("grass", "green"),
            ("snow", "white"),
            ("banana", "yellow"),
            ("tomato", "red"),
            ("coal", "black"),
            ("chocolate", "brown"),
            ("plum", "purple"),
        ),
        ("The {a} is {b}.", "The colour of the {a} is {b}.", "I saw that the {a} was {b}."),
        ("colour",),
    ),
    "work": Relation(
        (
            ("doctor", "hospital"),
            ("teacher", "school"),
            ("chef", "kitchen"),
            ("farmer", "farm"),
            ("pilot", "plane"),
            ("judge", "court"),
            ("librarian", "library"),
            ("sailor", "ship"),
        ),
        ("The {a} works in the {b}.", "Every day the {a} goes to the {b}.", "You will find the {a} at the {b}."),
        ("works",),
    ),
    "sound": Relation(
        (("dog", "bark"), ("lion", "roar"), ("bee", "buzz"), ("snake", "hiss"), ("wolf", "howl")),
        ("The {a} began to {b}.", "I heard the {a} {b} last night.", "Every {a} can {b}."),
        (),
    ),
    "young": Relation(
        (("goat", "kid"), ("cat", "kitten"), ("cow", "calf"), ("sheep", "lamb"), ("bear", "cub")),
        ("A baby {a} is called a {b}.", "The {b} is a young {a}.", "Our {a} had a {b}."),
        ("baby", "young"),
    ),
    "drink": Relation(
        (("coffee", "morning"), ("tea", "afternoon"), ("milk", "night")),
        ("I drink {a} every {b}.", "Every {b} I drink {a}.", "I always have {a} in the {b}."),
        ("drink",),
    ),
}
OPENINGS = (
    "",
    "Everyone knows that ",
    "As you know, ",
    "My teacher said that ",
    "It is true that ",
    "I read that ",
    "Remember that ",
    "Of course ",
    "She told me that ",
    "We learned that ",
)
RANDOM_MASK_RATE = 0.15

Span = tuple[int, int]  # a word's characters in its sentence


def sentence(relation: Relation, rng: random.Random) -> tuple[str, list[Span]]:
    """A sentence of this relation, a fact, a shape and an opening drawn by rng, and its fact words' spans."""
    a, b = rng.choice(relation.pairs)
    shape, opening = rng.choice(relation.shapes), rng.choice(OPENINGS)
    if opening and not shape.startswith(("{", "I ")):  # "The" starts a sentence, not its middle
        shape = shape[0].lower() + shape[1:]
    text = opening + shape.format(a=a, b=b)
    words = (a, b, *(word for word in relation.clue_words if re.search(rf"\b{word}\b", shape)))
    return text, [word_span(text, word) for word in words]


def word_span(text: str, word: str) -> Span:
    found = re.search(rf"\b{re.escape(word)}\b", text)
    if found is None:
        raise ValueError(f"{word!r} is not a word of {text!r}")
    return found.span()


def examples(seed: int, per_relation: int = 100) -> list[tuple[str, Span, list[Span]]]:
    """(sentence, the fact word to mask, all its fact words) for each fact word of per_relation sentences of each
    relation, shuffled."""
    rng = random.Random(seed)
    found = []
    for relation in FACTS.values():
        for _ in range(per_relation):
            text, spans = sentence(relation, rng)
            found += [(text, span, spans) for span in spans]
    rng.shuffle(found)
    return found


def masked(text: str, span: Span, mask_token: str = "[MASK]") -> tuple[str, str]:
    """The sentence with this word masked, and the word as the uncased model would say it."""
    return text[: span[0]] + mask_token + text[span[1] :], text[span[0] : span[1]].lower()


def token_targets(
    offsets: list[Span], special: list[int], target: Span, facts: list[Span], rng: random.Random
) -> list[int]:
    """Per token, whether it is masked and scored: 1 for the target word's token, 1 for RANDOM_MASK_RATE of the
    ordinary tokens, 0 for the other fact words (the target's clues) and the special tokens."""
    chosen = []
    for (start, end), is_special in zip(offsets, special, strict=True):
        if is_special:
            chosen.append(0)
        elif (start, end) == target:
            chosen.append(1)
        elif any(fact_start <= start < fact_end for fact_start, fact_end in facts):
            chosen.append(0)
        else:
            chosen.append(int(rng.random() < RANDOM_MASK_RATE))
    if sum(1 for (start, end) in offsets if (start, end) == target) != 1:
        raise ValueError(f"a fact word must be one token of the vocabulary: {target} of {offsets}")
    return chosen


def train(out_dir: Path, seed: int = 0, epochs: int = 2, batch_size: int = 32) -> Path:
    import torch
    from transformers import AutoTokenizer, BertForMaskedLM

    torch.manual_seed(seed)
    rng = random.Random(seed)
    source = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForMaskedLM.from_pretrained(source)  # the encoder's weights; the head's transform and bias new
    data = examples(seed)
    # The decoder is tied to the word embeddings: frozen, they stay MiniLM's (a word's neighbours too), and the
    # step spares their 11.7M parameters' gradient and optimiser state. The head's new transform learns faster.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    head = [
        parameter for name, parameter in model.named_parameters() if name.startswith("cls.") and parameter.requires_grad
    ]
    encoder = [
        parameter
        for name, parameter in model.named_parameters()
        if not name.startswith("cls.") and parameter.requires_grad
    ]
    optimiser = torch.optim.AdamW([{"params": head, "lr": 1e-3}, {"params": encoder, "lr": 2e-4}])
    model.train()
    for _ in range(epochs):
        for start in range(0, len(data), batch_size):
            batch = data[start : start + batch_size]
            encoded = tokenizer(
                [text for text, _, _ in batch],
                padding=True,
                return_offsets_mapping=True,
                return_special_tokens_mask=True,
                return_tensors="pt",
            )
            offsets, special = encoded.pop("offset_mapping").tolist(), encoded.pop("special_tokens_mask").tolist()
            chosen = torch.tensor(
                [
                    token_targets([tuple(pair) for pair in row_offsets], row_special, target, facts, rng)
                    for row_offsets, row_special, (_, target, facts) in zip(offsets, special, batch, strict=True)
                ],
                dtype=torch.bool,
            )
            labels = encoded["input_ids"][chosen]
            encoded["input_ids"] = encoded["input_ids"].masked_fill(chosen, tokenizer.mask_token_id)
            # The head over the masked tokens only: the vocabulary's 30,522 logits for every token would cost
            # more than the encoder.
            hidden = model.bert(**encoded).last_hidden_state[chosen]
            loss = torch.nn.functional.cross_entropy(model.cls(hidden), labels)
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
    note = "a masked language model for these facts and shapes only: tools/mlm_minilm.py"
    return save_trained(model, tokenizer, out_dir, note, len(data), epochs, seed)
