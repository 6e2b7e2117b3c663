"""Generate a templated extractive QA set in SQuAD v1.1 format, for training and testing a small QA model.

Each context states 2-5 facts, at least two of them of the kind the questions ask about (people born in
cities in years, companies founded by people in years, rivers flowing through countries, the colours of
people's things, books written by people), so a model must read the question to pick the right one.

The dev split is held out two ways: every dev question asks about a subject (a full name, a company, a
book title, an owner's object, a river-country pair) that never occurs anywhere in the train split, and
half of the dev questions use a phrasing that no train question uses. Question ids say which:
    dev-00042-birth-city-new      a held-out phrasing
    dev-00043-colour-colour-seen  a phrasing seen in training (about a subject that was not)

Same seed, same files. From the repository root:

    python scripts/generate_qa_dataset.py build/qa-data --sample-out tests/fixtures/squad-sample.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FIRST_NAMES = (
    "Anna Boris Clara Daniel Elena Felix Greta Hugo Irene Jonas Karin Lukas Maria Nadia Oscar "
    "Paula Quentin Rosa Samuel Tara Victor Wanda Xavier Yara Zoltan Alice Bruno Carmen Dmitri "
    "Esther Fatima George Helen Ivan Julia Kenji Laura Marco Nina Omar Pedro Rita Stefan Teresa "
    "Ulrich Vera Walter Yusuf Zara Amir"
).split()
SURNAMES = (
    "Berg Costa Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Keller Lindqvist Moreau "
    "Novak Olsen Petrov Quinn Rossi Schmidt Tanaka Urban Vargas Weber Young Zimmer Almeida Brennan "
    "Castillo Duarte Engel Ferreira Grant Holm Ito Jovanovic Kowalski Larsen Murphy Nilsson "
    "Okafor Popescu"
).split()
CITIES = (
    "Lisbon Madrid Paris Berlin Vienna Prague Warsaw Oslo Stockholm Helsinki Dublin London "
    "Edinburgh Amsterdam Brussels Geneva Milan Naples Athens Istanbul Cairo Nairobi Lagos Accra "
    "Mumbai Delhi Bangkok Hanoi Manila Jakarta Seoul Osaka Sydney Auckland Toronto Montreal "
    "Chicago Boston Denver Seattle Havana Lima Bogota Santiago Quito Caracas"
).split()
COUNTRIES = (
    "Peru Chile Brazil Argentina Mexico Canada Norway Sweden Finland Poland Austria Hungary "
    "Romania Bulgaria Greece Turkey Egypt Kenya Ghana Nigeria India Nepal Thailand Vietnam "
    "Indonesia Japan Mongolia Kazakhstan Spain Portugal France Germany Italy Ireland Scotland "
    "Iceland Morocco Tunisia Ethiopia Uganda"
).split()
RIVERS = (
    "Amber Silver Kalun Tarven Mossa Orlin Belka Duna Sarro Velta Isar Neva Lomond Kestrel Arden "
    "Corran Ebro Maren Tamsin Ulla Varna Wend Yser Zala Brenna Fenwick Harlow Ilsa Jorvik Lenna "
    "Marsh Norrin Perrin Ravel Sable Thorne"
).split()
COLOURS = "red blue green yellow black white orange purple pink brown grey silver golden violet".split()
OBJECTS = (
    "kite boat bicycle car hat umbrella door scarf lamp chair jacket tent guitar mug backpack "
    "notebook sofa bucket wagon balloon"
).split()
COMPANY_HEADS = (
    "Apex Cobalt Nimbus Vertex Orion Juniper Falcon Summit Harbor Granite Beacon Maple Zenith "
    "Quartz Willow Polaris Cedar Horizon Lumen Atlas"
).split()
COMPANY_TAILS = "Labs Systems Foods Motors Media Robotics Textiles Airlines Bank Energy Games".split()
TITLE_ADJECTIVES = (
    "Silent Last Hidden Broken Golden Distant Quiet Burning Frozen Endless Forgotten Narrow Crimson Hollow Wandering"
).split()
TITLE_NOUNS = (
    "Harbor Orchard Garden Winter Mountain Lantern Kingdom Bridge Island Letter Mirror Forest Station Voyage Tower"
).split()
YEARS = [str(year) for year in range(1850, 2021)]


@dataclass(frozen=True)
class Question:
    slot: str  # the slot whose value is the answer
    seen: tuple[str, ...]  # phrasings in train (and half of dev)
    held_out: tuple[str, ...]  # phrasings in dev only


@dataclass(frozen=True)
class Relation:
    name: str
    subject: tuple[str, ...]  # the slots that identify a fact of this relation within a context
    facts: tuple[str, ...]  # sentence templates
    questions: tuple[Question, ...]


# Each question type has three phrasings in training and one held out for dev. A held-out phrasing is never
# asked of its own relation in training, but its pattern ("In which year ...", "Which colour is ...") is
# asked of another one: the dev set tests that the model reads the question's words, not one template.
RELATIONS = (
    Relation(
        "birth",
        ("person",),
        ("{person} was born in {city} in {year}.", "In {year}, {person} was born in {city}."),
        (
            Question(
                "city",
                ("Where was {person} born?", "In which city was {person} born?", "Which city was {person} born in?"),
                ("What city was {person} born in?",),
            ),
            Question(
                "year",
                ("When was {person} born?", "In what year was {person} born?", "What year was {person} born in?"),
                ("In which year was {person} born?",),
            ),
        ),
    ),
    Relation(
        "founded",
        ("company",),
        ("{company} was founded by {founder} in {year}.", "{founder} founded {company} in {year}."),
        (
            Question(
                "founder",
                ("Who founded {company}?", "Who was the founder of {company}?", "Which person founded {company}?"),
                ("Who was {company} founded by?",),
            ),
            Question(
                "year",
                (
                    "When was {company} founded?",
                    "In what year was {company} founded?",
                    "In which year was {company} founded?",
                ),
                ("What year was {company} founded in?",),
            ),
        ),
    ),
    Relation(
        "river",
        ("river", "country"),
        ("The {river} River flows through {country}.", "{country} is crossed by the {river} River."),
        (
            Question(
                "country",
                (
                    "Which country does the {river} River flow through?",
                    "Through which country does the {river} River flow?",
                    "Which country is crossed by the {river} River?",
                ),
                ("What country does the {river} River flow through?",),
            ),
        ),
    ),
    Relation(
        "colour",
        ("owner", "object"),
        ("{owner}'s {object} is {colour}.", "{owner} has a {colour} {object}."),
        (
            Question(
                "colour",
                (
                    "What colour is {owner}'s {object}?",
                    "What is the colour of {owner}'s {object}?",
                    "Which colour does {owner}'s {object} have?",
                ),
                ("Which colour is {owner}'s {object}?",),
            ),
        ),
    ),
    Relation(
        "book",
        ("title",),
        ("{title} was written by {author}.", "{author} wrote {title}."),
        (
            Question(
                "author",
                ("Who wrote {title}?", "Who is the author of {title}?", "Who was {title} written by?"),
                ("Which person wrote {title}?",),
            ),
        ),
    ),
)


def _split(values: list, rng: random.Random, dev_share: float = 0.25) -> tuple[list, list]:
    shuffled = sorted(values)
    rng.shuffle(shuffled)
    cut = int(len(shuffled) * dev_share)
    return shuffled[cut:], shuffled[:cut]


class Subjects:
    """Combinations reserved for dev questions (never in train) and the rest, for train and distractors."""

    def __init__(self, rng: random.Random) -> None:
        people = [f"{first} {last}" for first, last in itertools.product(FIRST_NAMES, SURNAMES)]
        companies = [f"{head} {tail}" for head, tail in itertools.product(COMPANY_HEADS, COMPANY_TAILS)]
        titles = [f"The {adjective} {noun}" for adjective, noun in itertools.product(TITLE_ADJECTIVES, TITLE_NOUNS)]
        self.people, self.dev_people = _split(people, rng)
        self.companies, self.dev_companies = _split(companies, rng)
        self.titles, self.dev_titles = _split(titles, rng)
        self.belongings, self.dev_belongings = _split(list(itertools.product(FIRST_NAMES, OBJECTS)), rng)
        self.river_pairs, self.dev_river_pairs = _split(list(itertools.product(RIVERS, COUNTRIES)), rng)

    def sample(self, relation: str, rng: random.Random, reserved: bool) -> dict[str, str]:
        """Slot values for one fact; its subject from the reserved (dev) pool or the ordinary one."""
        if relation == "birth":
            person = rng.choice(self.dev_people if reserved else self.people)
            return {"person": person, "city": rng.choice(CITIES), "year": rng.choice(YEARS)}
        if relation == "founded":
            company = rng.choice(self.dev_companies if reserved else self.companies)
            return {"company": company, "founder": rng.choice(self.people), "year": rng.choice(YEARS)}
        if relation == "river":
            river, country = rng.choice(self.dev_river_pairs if reserved else self.river_pairs)
            return {"river": river, "country": country}
        if relation == "colour":
            owner, thing = rng.choice(self.dev_belongings if reserved else self.belongings)
            return {"owner": owner, "object": thing, "colour": rng.choice(COLOURS)}
        title = rng.choice(self.dev_titles if reserved else self.titles)
        return {"title": title, "author": rng.choice(self.people)}


@dataclass(frozen=True)
class Fact:
    relation: Relation
    values: dict[str, str]

    def key(self) -> tuple[str, ...]:
        return (self.relation.name, *(self.values[slot] for slot in self.relation.subject))


def _render(template: str, values: dict[str, str]) -> tuple[str, dict[str, int]]:
    """The filled template and where each slot's value starts in it."""
    text, starts = "", {}
    for literal, slot, _, _ in string.Formatter().parse(template):
        text += literal
        if slot is not None:
            starts[slot] = len(text)
            text += values[slot]
    return text, starts


def _paragraph(subjects: Subjects, rng: random.Random, split: str, counter: Callable[[], int]) -> dict:
    relation = rng.choice(RELATIONS)
    same_kind = rng.randint(2, 3)
    others = rng.randint(0, 5 - same_kind)
    reserved = split == "dev"
    facts: list[Fact] = []
    asked: list[Fact] = []
    for index in range(same_kind + others):
        kind = relation if index < same_kind else rng.choice(RELATIONS)
        # Dev questions are about reserved subjects; every other fact (train, dev distractors) is not.
        is_asked = index < same_kind and (index == 0 or rng.random() < 0.4)
        for _ in range(100):
            fact = Fact(kind, subjects.sample(kind.name, rng, reserved and is_asked))
            if all(fact.key() != other.key() for other in facts):
                break
        facts.append(fact)
        if is_asked:
            asked.append(fact)
    order = list(range(len(facts)))
    rng.shuffle(order)
    context, starts = "", {}
    for position in order:
        sentence, slot_starts = _render(rng.choice(facts[position].relation.facts), facts[position].values)
        context += " " if context else ""
        starts[position] = {slot: len(context) + start for slot, start in slot_starts.items()}
        context += sentence
    qas = []
    for fact in asked:
        question = rng.choice(fact.relation.questions)
        new_phrasing = split == "dev" and rng.random() < 0.5
        phrasing = rng.choice(question.held_out if new_phrasing else question.seen)
        text, _ = _render(phrasing, fact.values)
        answer = fact.values[question.slot]
        start = starts[facts.index(fact)][question.slot]
        assert context[start : start + len(answer)] == answer
        qas.append(
            {
                "id": f"{split}-{counter():05d}-{fact.relation.name}-{question.slot}-"
                f"{'new' if new_phrasing else 'seen'}",
                "question": text[0].upper() + text[1:],
                "answers": [{"text": answer, "answer_start": start}],
            }
        )
    return {"relation": relation.name, "paragraph": {"context": context, "qas": qas}}


def generate(split: str, n_questions: int, subjects: Subjects, rng: random.Random) -> dict:
    """A SQuAD v1.1 document of about n_questions questions (whole paragraphs), grouped by relation."""
    count = itertools.count()
    by_relation: dict[str, list[dict]] = {relation.name: [] for relation in RELATIONS}
    total = 0
    while total < n_questions:
        made = _paragraph(subjects, rng, split, lambda: next(count))
        by_relation[made["relation"]].append(made["paragraph"])
        total += len(made["paragraph"]["qas"])
    return {
        "version": "1.1",
        "data": [
            {"title": f"generated-{split}-{name}", "paragraphs": paragraphs} for name, paragraphs in by_relation.items()
        ],
    }


def sample(document: dict, n_questions: int) -> dict:
    """The first paragraphs of each title, round robin, until n_questions questions."""
    picked: dict[str, list[dict]] = {article["title"]: [] for article in document["data"]}
    total = 0
    for round_paragraphs in itertools.zip_longest(*(article["paragraphs"] for article in document["data"])):
        for article, paragraph in zip(document["data"], round_paragraphs, strict=True):
            if paragraph is not None and total < n_questions:
                picked[article["title"]].append(paragraph)
                total += len(paragraph["qas"])
    return {
        "version": "1.1",
        "data": [{"title": title, "paragraphs": paragraphs} for title, paragraphs in picked.items() if paragraphs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="writes train.json and dev.json here")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--train-questions", type=int, default=80000)
    parser.add_argument("--dev-questions", type=int, default=1000)
    parser.add_argument("--sample-out", type=Path, help="also write a small sample of dev here")
    parser.add_argument("--sample-questions", type=int, default=48)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    subjects = Subjects(rng)
    documents = {
        "train": generate("train", args.train_questions, subjects, rng),
        "dev": generate("dev", args.dev_questions, subjects, rng),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {args.out_dir / f"{split}.json": document for split, document in documents.items()}
    if args.sample_out:
        outputs[args.sample_out] = sample(documents["dev"], args.sample_questions)
    for path, document in outputs.items():
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        count = sum(len(p["qas"]) for article in document["data"] for p in article["paragraphs"])
        print(f"wrote {count} questions to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
