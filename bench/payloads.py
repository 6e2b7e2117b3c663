"""The benchmark's fixed request bodies: QA at ~160 and ~380 tokens, classification at ~60.

Token counts are what the model sees (question + context + [CLS]/[SEP], or text + [CLS]/[SEP]) with the
demo model's real uncased tokenizer; `check_token_counts` verifies them before every run, so that an edit
of the text cannot silently move a request out of its size class or past the 384-token QA window.
Every server gets the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

QA_WINDOW = 384

QUESTION = "When did the harbour bridge open to traffic?"

# A plain encyclopaedic passage; the answer sits in its first sentences so that both sizes contain it.
PASSAGE = (
    "The harbour bridge was opened to traffic on 19 March 1932, after eight years of construction.",
    "It carries rail, vehicular, bicycle and pedestrian traffic between the business district and the north shore.",
    "The arch was built from both shores at once, and the two halves were joined in August 1930.",
    "About 1,400 workers took part in the work, and sixteen of them lost their lives during construction.",
    "The steel came mostly from England, while the granite for the pylons was quarried near the south coast.",
    "Six million hand-driven rivets hold the arch together, and the largest weigh more than three kilograms each.",
    "The deck is forty-nine metres wide, which made it the widest long-span bridge in the world for decades.",
    "Tolls were charged in both directions at first; today drivers pay only when they travel towards the city.",
    "Painting the bridge is a task that never ends, and a full coat needs about thirty thousand litres of paint.",
    "Since 1998 visitors have been able to climb the upper arch in guided groups wearing harnesses and grey suits.",
    "On New Year's Eve the arch becomes the centre of a fireworks display watched by more than a million people.",
    "A tunnel under the harbour was opened in 1992 to relieve the congestion that had grown on the bridge itself.",
    "Engineers inspect the structure continuously, using sensors that report vibration, strain and temperature.",
    "The pylons at each end are not needed to carry the load; they were added to reassure a doubtful public.",
    "During the opening ceremony a man on horseback cut the ribbon with his sword before the premier could do so.",
    "The bridge appears on stamps, coins and countless postcards, and locals have long called it the coat hanger.",
    "In hot weather the arch expands by up to eighteen centimetres, and hinges at its base let it move freely.",
    "Trains crossed for the first time a few weeks before the public opening, to test the load on the deck.",
    "A museum inside the south-east pylon tells the story of the people who designed and built the crossing.",
    "Buses, taxis and cyclists now share the crossing with about one hundred and sixty thousand cars a day.",
    "Maintenance crews replace worn rivets and repaint sections one after another through every season.",
    "Historians still argue about who deserves most credit for the design, the engineer or the builders.",
    "Several films have used the bridge as a backdrop, and its silhouette is known around the world.",
    "Ferries pass beneath the arch all day long, carrying commuters to the wharves on both sides.",
    "At night the arch is lit in changing colours to mark festivals, sporting events and national days.",
)

REVIEW = ("I bought this coffee grinder after my old one broke, and I have mixed feelings about it. "
          "The grind is consistent and it is much quieter than I expected, but the hopper is small and the lid "
          "does not close properly. Cleaning it takes far too long. For the price, I hoped for better.")


@dataclass(frozen=True)
class RequestKind:
    name: str           # qa160, qa380, clf60
    model: str          # "qa" or "clf": which model directory serves it
    body: bytes
    tokens: int         # as the model sees it
    description: str


def _tokenizer(model_dir: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _context(tokenizer, target: int) -> tuple[str, int]:
    """The longest prefix of PASSAGE (whole sentences) whose QA sequence stays within `target` tokens."""
    context, tokens = "", 0
    for sentence in PASSAGE:
        candidate = f"{context} {sentence}".strip()
        length = len(tokenizer.encode(QUESTION, candidate).ids)
        if length > target:
            break
        context, tokens = candidate, length
    return context, tokens


def build(qa_model_dir: Path, clf_model_dir: Path) -> dict[str, RequestKind]:
    qa_tokenizer = _tokenizer(qa_model_dir)
    kinds = {}
    for name, target in (("qa160", 164), ("qa380", 382)):
        context, tokens = _context(qa_tokenizer, target)
        body = json.dumps({"inputs": {"question": QUESTION, "context": context}}).encode()
        kinds[name] = RequestKind(name, "qa", body, tokens, f"QA, {tokens} tokens (one window)")
    clf_tokens = len(_tokenizer(clf_model_dir).encode(REVIEW).ids)
    kinds["clf60"] = RequestKind("clf60", "clf", json.dumps({"inputs": REVIEW}).encode(), clf_tokens,
                                 f"classification, {clf_tokens} tokens")
    check_token_counts(kinds)
    return kinds


def check_token_counts(kinds: dict[str, RequestKind]) -> None:
    expected = {"qa160": (150, 170), "qa380": (370, QA_WINDOW), "clf60": (50, 70)}
    for name, (low, high) in expected.items():
        tokens = kinds[name].tokens
        if not low <= tokens <= high:
            raise ValueError(f"request {name} has {tokens} tokens, outside {low}-{high}: edit bench/payloads.py")


def valid_response(kind: RequestKind, payload: object) -> bool:
    """The answer has the shape every server promises: a QA answer object, or one label with a score."""
    if kind.model == "qa":
        answer = payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
        return isinstance(answer, dict) and {"answer", "score", "start", "end"} <= answer.keys()
    label = payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
    return isinstance(label, dict) and {"label", "score"} <= label.keys()
