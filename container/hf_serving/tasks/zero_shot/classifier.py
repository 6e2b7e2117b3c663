"""Zero-shot classification scored as transformers' zero-shot-classification pipeline scores it, but batched.

Each label of each text is an NLI pair (premise: the text, hypothesis: the template around the label), tokenised
as the pipeline tokenises it (the text truncated, never the hypothesis). The pipeline runs one pair per forward
pass; here every pair of every item handed in (a request's texts, and the records of a server-side batch, whatever
labels each asked for) goes through the model together, sorted by length, as few passes as the engine's batch
size allows. The scores are the pipeline's: the entailment logits softmaxed across a text's labels, or with
multi_label (or one label) each label's softmax over [contradiction, entailment].
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np

from hf_serving.engines.base import Engine
from hf_serving.errors import BadRequest, ConfigurationError
from hf_serving.observability import stage_clock
from hf_serving.tasks import text_batches
from hf_serving.tasks.base import ItemAnswer
from hf_serving.tasks.scores import softmax
from hf_serving.tasks.zero_shot.requests import ZeroShotItem

# Pairs tokenised at once: bounds a call's memory (a request of many texts times many labels) while keeping the
# length sort's gain; a multiple of the engine's batch size, so only the very last pass of a call is short.
PAIRS_AT_ONCE = 4096
# Where a long text may be cut without changing the tokens before the cut: every tokenizer here splits at whitespace.
_WHITESPACE = re.compile(r"[ \t\n\r]")
_SHOWN_CHARS = 60

# The pipeline's answer for one text: {"sequence": str, "labels": [str, ...], "scores": [float, ...]}, best first.
ZeroShotAnswer = dict[str, object]


def entailment_id(config: Any) -> int:
    """The pipeline's rule: the first label whose name starts with "entail" (any case). Without one the pipeline
    only warns and scores with the last label; a server refuses to start instead."""
    for label, index in config.label2id.items():
        if str(label).lower().startswith("entail"):
            return int(index)
    labels = [str(label) for _, label in sorted((int(index), label) for index, label in config.id2label.items())]
    raise ConfigurationError(
        f"zero-shot classification needs an NLI model with an entailment label (a label2id name starting with "
        f"'entail'); this model's labels are {', '.join(labels)}"
    )


class ZeroShotClassifier:
    def __init__(self, engine: Engine, tokenizer: Any, config: Any) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.entailment_id = entailment_id(config)
        self.contradiction_id = -1 if self.entailment_id == 0 else 0  # the pipeline's choice, by position
        self.max_length = text_batches.max_length(tokenizer, config)
        self.pair_markers = tokenizer.num_special_tokens_to_add(pair=True)

    def __call__(self, items: Sequence[ZeroShotItem]) -> list[ItemAnswer[ZeroShotAnswer]]:
        """One answer per item, in order, with the tokens of all its pairs."""
        self._refuse_hypotheses_that_leave_no_room(items)
        premises = self._premises([item.text for item in items])
        logits: list[np.ndarray] = []  # per pair: [contradiction, entailment]
        tokens: list[int] = []
        pairs = self._pairs(items, premises)
        at_once = -(-PAIRS_AT_ONCE // self.engine.max_batch_size) * self.engine.max_batch_size
        while chunk := list(islice(pairs, at_once)):
            with stage_clock.tokenising():
                encoded = self.tokenizer(
                    [premise for premise, _ in chunk],
                    [hypothesis for _, hypothesis in chunk],
                    truncation="only_first",
                    max_length=self.max_length,
                    padding=False,
                )
            rows = text_batches.rows_of(encoded)
            tokens += [len(row["input_ids"]) for row in rows]
            logits += text_batches.run_sorted(self.engine, self.tokenizer, rows, self._read)
        answers: list[ItemAnswer[ZeroShotAnswer]] = []
        start = 0
        for item in items:
            end = start + len(item.labels)
            answers.append(ItemAnswer(self._result(item, np.stack(logits[start:end])), sum(tokens[start:end])))
            start = end
        return answers

    def _read(self, outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(outputs["logits"][:, [self.contradiction_id, self.entailment_id]])

    @staticmethod
    def _pairs(items: Sequence[ZeroShotItem], premises: Sequence[str]) -> Iterator[tuple[str, str]]:
        for item, premise in zip(items, premises, strict=True):
            for label in item.labels:
                yield premise, item.template.format(label)

    def _premises(self, texts: list[str]) -> list[str]:
        """Each text as the model can read it: a text over the model's length cut at the first whitespace after
        the tokens it keeps, so that tokenising it once per label does not cost the whole text each time (a 6 MB
        record times 100 labels); the tokens kept are the same."""
        with stage_clock.tokenising():
            encoded = self.tokenizer(
                texts,
                add_special_tokens=False,
                truncation=True,
                max_length=self.max_length,
                return_offsets_mapping=True,
            )
        premises = []
        for text, offsets in zip(texts, encoded["offset_mapping"], strict=True):
            cut = _WHITESPACE.search(text, offsets[-1][1]) if len(offsets) >= self.max_length else None
            premises.append(text[: cut.start()] if cut is not None else text)
        return premises

    def _refuse_hypotheses_that_leave_no_room(self, items: Sequence[ZeroShotItem]) -> None:
        """The text is truncated, never the hypothesis: one too long to leave a token of the text is a 400 (the
        tokenizer would refuse it, and the pipeline would then run the model past its length)."""
        hypotheses = sorted({item.template.format(label) for item in items for label in item.labels})
        with stage_clock.tokenising():
            lengths = self.tokenizer(hypotheses, add_special_tokens=False)["input_ids"]
        for hypothesis, ids in zip(hypotheses, lengths, strict=True):
            if len(ids) + self.pair_markers >= self.max_length:
                shown = hypothesis if len(hypothesis) <= _SHOWN_CHARS else f"{hypothesis[:_SHOWN_CHARS]}..."
                raise BadRequest(
                    f"the hypothesis {shown!r} is {len(ids):,} tokens: with the text and {self.pair_markers} "
                    f"special tokens it must fit the model's {self.max_length}; shorten parameters.candidate_labels "
                    f"or parameters.hypothesis_template"
                )

    def _result(self, item: ZeroShotItem, logits: np.ndarray) -> ZeroShotAnswer:
        """logits: [labels, (contradiction, entailment)] float32, in the item's label order."""
        if item.multi_label or len(item.labels) == 1:
            scores = softmax(logits)[:, 1]
        else:
            scores = softmax(logits[:, 1], axis=0)
        order = list(reversed(scores.argsort()))  # the pipeline's expression: the same order among equal scores
        return {
            "sequence": item.text,
            "labels": [item.labels[index] for index in order],
            "scores": scores[order].tolist(),
        }
