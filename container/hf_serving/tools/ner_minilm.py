"""A small named-entity tagger with real, trained weights, made offline: all-MiniLM-L6-v2's encoder fine-tuned here on
templated sentences, labelled per token (O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG).

The Hub's NER models are out of reach on the machines this project is built on, and a tagger with random weights
tags nothing in particular. This one knows a closed list of people (PEOPLE), places (PLACES) and companies
(COMPANIES) in a few sentence shapes (SHAPES): "Maria Garcia lives in Berlin." has a PER and a LOC. It is not a
general NER model: names outside its lists, or sentences unlike its shapes, mean little to it. Its tokenizer is
uncased, so capitals are no clue to it either.

Labels are given per token from the entities' character spans: a token that starts an entity is B-, the rest of it
(later words, WordPiece continuations) I-, so the pipeline's aggregation groups whole names. Deterministic for a given
seed and thread count; about a minute of CPU time (420 sentences, 2 epochs).

    python -m hf_serving demo-model --task token-classification --trained -o build/demo-ner-trained
"""

from __future__ import annotations

import itertools
import random
import string
from pathlib import Path

from hf_serving.tools.model_parts import NER_LABELS, minilm_dir, save_trained

PEOPLE = (
    "Maria Garcia",
    "John Smith",
    "Aiko Tanaka",
    "Ada Lovelace",
    "Pierre Dubois",
    "Olga Ivanova",
    "Rahul Mehta",
    "Fatima Zahra",
    "Lucas Silva",
    "Emma Johansson",
    "Chen Wei",
    "Kwame Mensah",
)
PLACES = (
    "Berlin",
    "Paris",
    "Tokyo",
    "London",
    "Nairobi",
    "São Paulo",
    "New York",
    "Mumbai",
    "Sydney",
    "Madrid",
    "Toronto",
    "Cairo",
)
COMPANIES = (
    "Acme Corporation",
    "Globex",
    "Initech",
    "Northwind Traders",
    "Umbrella Labs",
    "Stark Industries",
    "Wayne Enterprises",
    "Contoso",
    "Hooli",
    "Vandelay Industries",
)
SHAPES = (
    "{PER} lives in {LOC}.",
    "{PER} works at {ORG} in {LOC}.",
    "Yesterday {PER} flew to {LOC}.",
    "{ORG} opened a new office in {LOC}.",
    "{PER} joined {ORG} last year.",
    "The meeting with {PER} is in {LOC} on Monday.",
    "I met {PER} at the {ORG} office.",
    "{ORG} hired {PER} as its new director.",
    "We drove from {LOC} to {LOC2} with {PER}.",
)
PLAIN = (
    "The weather was nice today.",
    "We talked about the budget at lunch.",
    "The train was late again.",
    "Please send the report by Friday.",
    "She bought bread and milk.",
    "The meeting lasted two hours.",
)
IGNORED = -100  # special tokens: no label, no loss


def sentence(shape: str, rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """A sentence of this shape with names drawn by rng, and its entities' (start, end, type) character spans."""
    places = rng.sample(PLACES, 2)
    fills = {"PER": rng.choice(PEOPLE), "LOC": places[0], "LOC2": places[1], "ORG": rng.choice(COMPANIES)}
    text, spans = "", []
    for literal, field, _, _ in string.Formatter().parse(shape):
        text += literal
        if field:
            spans.append((len(text), len(text) + len(fills[field]), field.rstrip("2")))
            text += fills[field]
    return text, spans


def examples(seed: int, per_shape: int = 40) -> list[tuple[str, list[tuple[int, int, str]]]]:
    rng = random.Random(seed)
    found = [sentence(shape, rng) for shape in SHAPES for _ in range(per_shape)]
    found += [(text, []) for text in PLAIN] * 10
    rng.shuffle(found)
    return found


def token_labels(offsets: list[tuple[int, int]], special: list[int], spans: list[tuple[int, int, str]]) -> list[int]:
    """B- for the token where an entity starts, I- for its other tokens, O elsewhere; special tokens ignored."""
    labels = []
    for (start, _end), is_special in zip(offsets, special, strict=True):
        if is_special:
            labels.append(IGNORED)
            continue
        kind = next(((span_start, tag) for span_start, span_end, tag in spans if span_start <= start < span_end), None)
        if kind is None:
            labels.append(NER_LABELS.index("O"))
        else:
            labels.append(NER_LABELS.index(("B-" if start == kind[0] else "I-") + kind[1]))
    return labels


def train(out_dir: Path, seed: int = 0, epochs: int = 2) -> Path:
    import torch
    from transformers import AutoTokenizer, BertForTokenClassification

    torch.manual_seed(seed)
    source = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForTokenClassification.from_pretrained(
        source,
        num_labels=len(NER_LABELS),
        id2label=dict(enumerate(NER_LABELS)),
        label2id={label: index for index, label in enumerate(NER_LABELS)},
    )
    data = examples(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    for _, start in itertools.product(range(epochs), range(0, len(data), 32)):
        batch = data[start : start + 32]
        encoded = tokenizer(
            [text for text, _ in batch],
            padding=True,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
            return_tensors="pt",
        )
        offsets, special = encoded.pop("offset_mapping").tolist(), encoded.pop("special_tokens_mask").tolist()
        labels = torch.tensor(
            [
                token_labels([tuple(pair) for pair in row_offsets], row_special, spans)
                for row_offsets, row_special, (_, spans) in zip(offsets, special, batch, strict=True)
            ]
        )
        loss = model(**encoded, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    note = "a named-entity tagger for these names and shapes only: tools/ner_minilm.py"
    return save_trained(model, tokenizer, out_dir, note, len(data), epochs, seed)
