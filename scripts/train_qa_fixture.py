"""Train the small DistilBERT QA fixture (tests/fixtures/trained-qa) on the generated QA set, on CPU.

A model that knows answers, so that tests can assert the right answer text. It is small on purpose: a
WordPiece vocabulary cut down to the pieces that bert-base-uncased's tokenizer produces on the generated
corpus (plus special tokens and single characters, so that any ASCII word still tokenizes), which
tokenizes that corpus exactly as the full tokenizer does (checked here), and a few narrow layers.
Seeded; about five minutes on 2 cores. From the repository root:

    python scripts/generate_qa_dataset.py build/qa-data --sample-out tests/fixtures/squad-sample.json
    python scripts/train_qa_fixture.py --data build/qa-data --out tests/fixtures/trained-qa
"""

from __future__ import annotations

import argparse
import json
import random
import string
import time
from pathlib import Path
from typing import Any

import torch
from transformers import DistilBertConfig, DistilBertForQuestionAnswering, DistilBertTokenizerFast

from hf_serving.engines.torch_engine import TorchEngine
from hf_serving.tasks.question_answering.answerer import QAInput, QAParameters, QuestionAnswerer
from hf_serving.tools.model_parts import build_tokenizer
from hf_serving.tools.squad_metrics import SquadExample, load_squad, score

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARACTERS = string.ascii_lowercase + string.digits


def reduced_vocabulary(texts: list[str]) -> dict[str, int]:
    """Special tokens, every piece the full tokenizer makes of texts, and single characters."""
    full = build_tokenizer()
    pieces = {piece for encoding in full(texts, add_special_tokens=False).encodings for piece in encoding.tokens}
    pieces |= set(CHARACTERS) | {f"##{character}" for character in CHARACTERS} | set(string.punctuation)
    pieces -= set(SPECIAL_TOKENS)
    missing = pieces - set(full.get_vocab())
    assert not missing, f"pieces outside bert-base-uncased's vocabulary: {sorted(missing)[:10]}"
    return {piece: index for index, piece in enumerate([*SPECIAL_TOKENS, *sorted(pieces)])}


def build_small_tokenizer(texts: list[str], max_length: int) -> DistilBertTokenizerFast:
    tokenizer = DistilBertTokenizerFast(
        vocab=reduced_vocabulary(texts), do_lower_case=True, model_max_length=max_length
    )
    full = build_tokenizer()
    ours = tokenizer(texts, add_special_tokens=False).encodings
    theirs = full(texts, add_special_tokens=False).encodings
    for text, mine, real in zip(texts, ours, theirs, strict=True):
        assert mine.tokens == real.tokens and mine.offsets == real.offsets, f"tokenizes differently: {text!r}"
    return tokenizer


def features(examples: list[SquadExample], tokenizer: DistilBertTokenizerFast) -> list[dict[str, Any]]:
    """input_ids, the gold start/end token, and which context tokens lie in the sentence holding the answer."""
    encoded = tokenizer(
        [e.question for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=tokenizer.model_max_length,
        return_offsets_mapping=True,
        return_overflowing_tokens=True,
    )
    assert len(encoded["input_ids"]) == len(examples), "a context does not fit in one window"
    rows = []
    for row, example in enumerate(examples):
        start_char = example.answer_starts[0]
        end_char = start_char + len(example.answers[0])
        # Every generated fact is one sentence ending in "." and no answer holds a ".".
        previous_end = example.context.rfind(". ", 0, start_char)
        sentence_start = previous_end + 2 if previous_end >= 0 else 0
        sentence_end = example.context.index(".", end_char - 1) + 1
        in_context = [sequence == 1 for sequence in encoded.sequence_ids(row)]
        offsets = encoded["offset_mapping"][row]
        answer = [
            i for i, (begin, end) in enumerate(offsets) if in_context[i] and begin < end_char and end > start_char
        ]
        supporting = [
            (1.0 if sentence_start <= begin and end <= sentence_end else 0.0) if in_context[i] else -1.0
            for i, (begin, end) in enumerate(offsets)
        ]
        rows.append(
            {"input_ids": encoded["input_ids"][row], "start": answer[0], "end": answer[-1], "supporting": supporting}
        )
    return rows


def batches(rows: list[dict[str, Any]], batch_size: int, rng: random.Random):
    """Endless shuffled batches: (input_ids, attention_mask, start, end, supporting-fact labels, -1 = none)."""
    while True:
        order = list(range(len(rows)))
        rng.shuffle(order)
        for begin in range(0, len(order) - batch_size + 1, batch_size):
            chunk = [rows[index] for index in order[begin : begin + batch_size]]
            longest = max(len(row["input_ids"]) for row in chunk)
            input_ids = torch.zeros((len(chunk), longest), dtype=torch.long)
            supporting = torch.full((len(chunk), longest), -1.0)
            for position, row in enumerate(chunk):
                input_ids[position, : len(row["input_ids"])] = torch.tensor(row["input_ids"])
                supporting[position, : len(row["supporting"])] = torch.tensor(row["supporting"])
            yield (
                input_ids,
                (input_ids != 0).long(),
                torch.tensor([row["start"] for row in chunk]),
                torch.tensor([row["end"] for row in chunk]),
                supporting,
            )


def train(
    model: DistilBertForQuestionAnswering,
    curriculum: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    args: argparse.Namespace,
) -> int:
    """Birth questions only until their QA loss falls below --curriculum-loss (at most --curriculum-steps
    steps), then every question for --steps steps, the learning rate decaying to 0. Returns the steps taken.

    Besides the QA loss, a linear probe on the last hidden states learns which context tokens belong to the
    sentence that answers the question (supporting-fact supervision, as in bAbI). From scratch and with
    the QA loss alone, the model learned each answer's type but picked among same-type facts at chance for
    thousands of steps: binding a fact's subject to its answer a few tokens away is what it failed to
    find. With this loss, on one relation first, it finds it after 2,000-3,000 steps, and then carries it
    over to the others. The probe is not saved: the model stays a plain DistilBertForQuestionAnswering.
    """
    rng = random.Random(args.seed)
    probe = torch.nn.Linear(model.config.dim, 1)
    optimizer = torch.optim.AdamW([*model.parameters(), *probe.parameters()], lr=args.lr, weight_decay=0.01)
    model.train()
    stream, stage, stage_began = batches(curriculum, args.batch_size, rng), "birth questions", 0
    step, began = 0, time.monotonic()
    recent: list[float] = []
    while stage == "birth questions" or step < stage_began + args.steps:
        if stage == "birth questions" and (
            step >= args.curriculum_steps or (len(recent) == 250 and sum(recent) / 250 < args.curriculum_loss)
        ):
            stream, stage, stage_began = batches(rows, args.batch_size, rng), "all questions", step
        decay = 1.0 if stage == "birth questions" else (stage_began + args.steps - step) / args.steps
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min((step + 1) / args.warmup_steps, decay)
        input_ids, attention_mask, start, end, supporting = next(stream)
        output = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            start_positions=start,
            end_positions=end,
            output_hidden_states=True,
        )
        labelled = supporting >= 0
        logits = probe(output.hidden_states[-1]).squeeze(-1)[labelled]
        loss = output.loss + torch.nn.functional.binary_cross_entropy_with_logits(logits, supporting[labelled])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        recent = [*recent[-249:], output.loss.item()]
        step += 1
        if step % 250 == 0:
            print(
                f"step {step} ({stage}) QA loss {sum(recent) / len(recent):.3f} {time.monotonic() - began:.0f} s",
                flush=True,
            )
    model.eval()
    print(f"{stage_began} steps on birth questions, {args.steps} on all questions")
    return step


def evaluate(model: Any, tokenizer: Any, examples: list[SquadExample]) -> dict[str, dict[str, float]]:
    """EM/F1 through the serving code's own decoding, overall and by question phrasing (seen / new)."""
    engine = TorchEngine(
        model.eval(), ["input_ids", "attention_mask"], ["start_logits", "end_logits"], "float32", "cpu"
    )
    answerer = QuestionAnswerer(engine, tokenizer, model.config)
    answers = answerer([QAInput(e.question, e.context) for e in examples], QAParameters())
    predictions = {e.id: found[0].answer for e, found in zip(examples, answers, strict=True)}
    groups = {
        "all": examples,
        "seen phrasing": [e for e in examples if e.id.endswith("-seen")],
        "new phrasing": [e for e in examples if e.id.endswith("-new")],
    }
    return {name: vars(score(group, predictions)) for name, group in groups.items() if group}


def write_readme(
    out: Path,
    args: argparse.Namespace,
    config: DistilBertConfig,
    figures: dict,
    seconds: float,
    parameters: int,
    steps: int,
) -> None:
    rows = "\n".join(
        f"| {name} | {values['count']} | {values['exact_match']:.1f} | {values['f1']:.1f} |"
        for name, values in figures.items()
    )
    (out / "README.md").write_text(
        f"""# trained-qa: a small DistilBERT QA model that knows its answers

Trained here from scratch (TRAINED weights, not random) on a generated extractive QA set, so that tests can
assert the right answer text. It only knows the templated world of scripts/generate_qa_dataset.py (people
born in cities in years, companies and their founders, rivers and countries, the colours of people's
things, books and their authors); on any other text its answers are meaningless.

- DistilBertForQuestionAnswering, dim {config.dim}, {config.n_layers} layers, {config.n_heads} heads, FFN \
{config.hidden_dim}, {config.max_position_embeddings} positions,
  {parameters:,} parameters, float32 weights.
- Tokenizer: bert-base-uncased's WordPiece, cut down to {config.vocab_size} entries (special tokens, every piece
  the full tokenizer produces on the generated corpus, single characters); it tokenizes that corpus exactly
  as the full tokenizer does (the training script checks it).
- Trained with seed {args.seed}, batch {args.batch_size}, lr {args.lr}, dropout {args.dropout}: \
{steps - args.steps} steps on birth questions only
  (until their QA loss fell below {args.curriculum_loss}), then {args.steps} on all questions, with \
supporting-fact supervision (the
  training script says why); {seconds / 60:.1f} min with {args.threads} torch threads on this project's \
shared 2-core machine.

Made from the repository root with (`make fixture-qa`):

    python scripts/generate_qa_dataset.py build/qa-data --sample-out tests/fixtures/squad-sample.json
    python scripts/train_qa_fixture.py --data build/qa-data --out tests/fixtures/trained-qa

Held-out generated questions (build/qa-data/dev.json: subjects never seen in training; half of the questions
in a phrasing never seen in training), decoded by hf_serving's own question answering, float32:

| questions | count | exact match | F1 |
|---|---|---|---|
{rows}
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("build/qa-data"), help="holds train.json and dev.json")
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/trained-qa"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curriculum-steps", type=int, default=6000, help="at most this many on birth questions")
    parser.add_argument("--curriculum-loss", type=float, default=0.3, help="then all questions below this loss")
    parser.add_argument("--steps", type=int, default=5000, help="steps on all questions")
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--max-length", type=int, default=128, help="positions and tokenizer model_max_length")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_examples = load_squad(args.data / "train.json")
    dev_examples = load_squad(args.data / "dev.json")
    texts = sorted({text for e in train_examples + dev_examples for text in (e.question, e.context)})
    tokenizer = build_small_tokenizer(texts, args.max_length)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=args.max_length,
        dim=args.dim,
        n_layers=args.layers,
        n_heads=args.heads,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        attention_dropout=args.dropout,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = DistilBertForQuestionAnswering(config)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"vocabulary {len(tokenizer)}, {parameters:,} parameters, {len(train_examples)} training questions")
    began = time.monotonic()
    rows = features(train_examples, tokenizer)
    curriculum = [row for row, e in zip(rows, train_examples, strict=True) if "-birth-" in e.id]
    steps = train(model, curriculum, rows, args)
    seconds = time.monotonic() - began
    figures = evaluate(model, tokenizer, dev_examples)
    print(f"trained in {seconds:.0f} s; held-out: {json.dumps(figures)}")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    write_readme(args.out, args, config, figures, seconds, parameters, steps)
    for path in args.out.iterdir():
        if path.is_file():  # safetensors writes 0600; the stack's workers must read it
            path.chmod(0o644)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
