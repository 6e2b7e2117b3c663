"""Mask tokens filled as transformers' fill-mask pipeline fills them, but batched.

Per text and per mask token, the top_k tokens by softmax probability over the vocabulary (or over the targets),
each {"score", "token", "token_str", "sequence"}: one mask answers a list of them, several a list of lists (each
mask scored on its own, the other masks left in the sequence with the special tokens, as the pipeline does).
Unlike the pipeline, a text longer than the model's maximum is truncated (as the pipeline truncates it when asked,
tokenizer_kwargs={"truncation": True}) instead of failing in the model; a mask past the maximum is a 400
(problem(), checked before any model pass).

Only the masked positions matter: the model runs its head on the masks' rows alone where that answers the same
(engines/masked_lm.py), and its logits are then [1, masks, vocabulary]; otherwise they are [rows, tokens,
vocabulary] float32 (120 KB a token for BERT's 30,522). Each pass is read down to its masks' proposals inside the
chunk loop and dropped, and a pass is capped at LOGITS_BYTES_PER_PASS of them (of its masks, or of its padded tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_serving.engines.base import Engine
from hf_serving.errors import BadRequest, ConfigurationError
from hf_serving.tasks import text_batches
from hf_serving.tasks.scores import softmax

# A pass's logits, at most (a text over it still runs, alone): 2,200 rows of BERT's vocabulary, of masks where the head
# runs on the masks alone, else of tokens.
LOGITS_BYTES_PER_PASS = 256 * 1024 * 1024
# A text of N UTF-8 bytes is at most N tokens plus its special tokens and a SentencePiece word start (every token
# covers at least one byte), so a text this far under the maximum is never truncated and needs no tokenising to
# check.
_SPECIAL_TOKENS_SLACK = 16
_TARGETS_NAMED = 5  # in an error about them: up to 1,000 may come

Proposal = tuple[float, int]  # (probability, token id)


@dataclass(frozen=True)
class FilledText:
    """One text's answer in the pipeline's shape, and the tokens the model read for it."""

    result: list
    tokens: int


class MaskFiller:
    def __init__(self, engine: Engine, tokenizer: Any, config: Any) -> None:
        if tokenizer.mask_token_id is None:
            raise ConfigurationError(
                "the tokenizer defines no mask token: fill-mask needs one ([MASK], <mask>) in its special tokens"
            )
        self.engine = engine
        self.tokenizer = tokenizer
        self.mask_token: str = tokenizer.mask_token
        self.mask_token_id: int = tokenizer.mask_token_id
        self.max_length = text_batches.max_length(tokenizer, config)
        self.vocabulary_size = int(getattr(config, "vocab_size", None) or len(tokenizer))  # the logits' width
        # A pass's logits at most: so many rows of the vocabulary's width, the masks' where the head runs on them
        # alone, else every token's
        self.max_logit_rows = max(1, LOGITS_BYTES_PER_PASS // (4 * self.vocabulary_size))
        self.head_on_masks = self._engine_runs_head_on_masks()
        self._vocabulary: dict[str, int] | None = None

    def _engine_runs_head_on_masks(self) -> bool:
        """One pass of a one-mask text at load tells: [1, 1, vocabulary] logits where the head runs on the masks
        alone (engines/masked_lm.py), [1, tokens, vocabulary] where it runs on every token."""
        probe = self.rows([f"a {self.mask_token}"])
        shapes = text_batches.run_sorted(
            self.engine, self.tokenizer, probe, lambda outputs, _: [outputs["logits"].shape]
        )
        return bool(shapes[0][1] == 1)

    def problem(self, text: str) -> str | None:
        """Why the model cannot fill this text (a sentence after the text's name), or None."""
        mask = self.mask_token
        if mask not in text:
            return f"has no {mask}: put {mask} where the word to fill goes"
        if len(text.encode("utf-8")) + _SPECIAL_TOKENS_SLACK <= self.max_length:
            return None
        whole = self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"].count(self.mask_token_id)
        kept = self.tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"].count(self.mask_token_id)
        if kept < whole:
            return (
                f"has {whole - kept} {mask} of {whole} past the model's maximum of {self.max_length} tokens: "
                f"shorten the text before it, or send that part as its own text"
            )
        return None

    def target_ids(self, targets: Sequence[str]) -> tuple[int, ...]:
        """The pipeline's choice: a target in the vocabulary is its id; any other its first token's; one that
        tokenises to nothing is ignored. The pipeline's order too (list(set(...)), which only ties would show)."""
        if self._vocabulary is None:
            self._vocabulary = self.tokenizer.get_vocab()
        ids = [self._vocabulary.get(target) for target in targets]
        unknown = [target for target, found in zip(targets, ids, strict=True) if found is None]
        first_tokens = iter(
            self.tokenizer(
                unknown,
                add_special_tokens=False,
                return_attention_mask=False,
                return_token_type_ids=False,
                max_length=1,
                truncation=True,
            )["input_ids"]
            if unknown
            else []
        )
        chosen = []
        for found in ids:
            if found is None:
                found = next(iter(next(first_tokens)), None)
            if found is not None:
                chosen.append(found)
        if not chosen:
            named = ", ".join(map(repr, targets[:_TARGETS_NAMED])) + (
                f" and {len(targets) - _TARGETS_NAMED:,} more" if len(targets) > _TARGETS_NAMED else ""
            )
            raise BadRequest(
                f"parameters.targets: none of {named} is a token of this model's vocabulary or tokenises to one"
            )
        return tuple(list(set(chosen)))

    def __call__(self, texts: Sequence[str], top_k: int, target_ids: Sequence[int] | None = None) -> list[FilledText]:
        """One answer per text, in order, from as few model passes as the batch size and the logits cap allow."""
        return self.fill(self.rows(texts), top_k, target_ids)

    def rows(self, texts: Sequence[str]) -> list[dict]:
        """The texts' tokens, truncated to the model's maximum."""
        return text_batches.tokenize(self.tokenizer, texts, self.max_length)

    def masks(self, row: dict) -> int:
        return int(row["input_ids"].count(self.mask_token_id))

    def proposals_per_mask(self, top_k: int, target_ids: Sequence[int] | None) -> int:
        return min(top_k, len(target_ids) if target_ids is not None else self.vocabulary_size)

    def fill(self, rows: list[dict], top_k: int, target_ids: Sequence[int] | None = None) -> list[FilledText]:
        targets = np.array(target_ids, dtype=np.int64) if target_ids is not None else None
        k = self.proposals_per_mask(top_k, target_ids)

        def read(outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray]) -> list[list[list[Proposal]]]:
            return self._read(outputs, feed, k, targets)

        if self.head_on_masks:  # a pass's logits grow with its masks
            weights = [self.masks(row) for row in rows]
            proposals = text_batches.run_sorted(
                self.engine, self.tokenizer, rows, read, weights=weights, max_weight=self.max_logit_rows
            )
        else:  # with its padded tokens
            proposals = text_batches.run_sorted(self.engine, self.tokenizer, rows, read, self.max_logit_rows)
        return [
            FilledText(self._entries(row["input_ids"], found), len(row["input_ids"]))
            for row, found in zip(rows, proposals, strict=True)
        ]

    def _read(
        self, outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray], k: int, targets: np.ndarray | None
    ) -> list[list[list[Proposal]]]:
        """Per row of a pass, per mask: its k proposals. Only the masks' logits are read; the pass's are dropped."""
        logits = outputs["logits"]
        masked = feed["input_ids"] == self.mask_token_id
        masks = masked.sum(axis=1)
        if not masks.all():  # problem() refused such texts before the pass; this is its backstop
            raise BadRequest(f"a text has no {self.mask_token} within the model's {self.max_length} tokens")
        # [1, masks, vocabulary] where the head ran on the masks alone, in row-major order; else every token's
        masks_logits = logits[0] if self.head_on_masks else logits[masked]
        probabilities = softmax(masks_logits)
        if targets is not None:
            probabilities = probabilities[:, targets]
        proposals = [_top(scores, k, targets) for scores in probabilities]
        ends = np.cumsum(masks).tolist()
        return [proposals[end - count : end] for end, count in zip(ends, masks.tolist(), strict=True)]

    def _entries(self, input_ids: list[int], proposals: list[list[Proposal]]) -> list:
        """The pipeline's entries: each proposal put in its mask's place, pads left out, and the sequence decoded
        without special tokens for one mask, with them for several (else the other masks would vanish)."""
        ids = np.array(input_ids)
        positions = np.flatnonzero(ids == self.mask_token_id)
        single = len(positions) == 1
        pad = self.tokenizer.pad_token_id
        answer = []
        for position, found in zip(positions, proposals, strict=True):
            sequences = []
            for _, token in found:
                filled = ids.copy()
                filled[position] = token
                sequences.append((filled[filled != pad] if pad is not None else filled).tolist())
            texts = self.tokenizer.batch_decode(sequences, skip_special_tokens=single)
            words = self.tokenizer.batch_decode([[token] for _, token in found])
            answer.append(
                [
                    {"score": score, "token": token, "token_str": word, "sequence": sequence}
                    for (score, token), word, sequence in zip(found, words, texts, strict=True)
                ]
            )
        return answer[0] if single else answer


def _top(scores: np.ndarray, k: int, targets: np.ndarray | None) -> list[Proposal]:
    """The k highest, highest first; their token ids (a target's own id where scores are the targets')."""
    best = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    best = best[np.argsort(-scores[best], kind="stable")]
    ids = targets[best] if targets is not None else best
    return [(float(scores[i]), int(token)) for i, token in zip(best, ids, strict=True)]
