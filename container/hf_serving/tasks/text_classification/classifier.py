"""Text classification scored as transformers' text-classification pipeline scores it, but batched.

Same labels, same scores (float32 logits through the same numpy softmax/sigmoid), same output shapes,
including the pipeline's legacy shape when the request names no top_k: one {"label", "score"} per text.
Unlike the pipeline, texts longer than the model's maximum are truncated instead of crashing the model
(a known failure of AWS's container), and a batch is sorted by length and padded per chunk to its longest.
With `explain`, each text's prediction also carries the attribution of its tokens to the predicted label's score
(and to `explain_label`'s), as tasks/explaining.py describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hf_serving.engines.base import Engine, Target
from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.observability import stage_clock
from hf_serving.tasks import explaining, text_batches
from hf_serving.tasks.explaining import AttributorSource, Explained, ExplainRequest, TokenSpan
from hf_serving.tasks.scores import sigmoid, softmax

FUNCTIONS = ("softmax", "sigmoid", "none")
# What an explanation's "output" says it explains, by the function the scores come from.
_OUTPUTS = {"softmax": "softmax score", "sigmoid": "sigmoid score", "none": "logit"}


@dataclass(frozen=True)
class TextPair:
    """Two texts classified together (NLI, paraphrase, a query and a passage), as the pipeline's {"text",
    "text_pair"}; without text_pair, one text answered in the pair's shape."""

    text: str
    text_pair: str | None = None


@dataclass(frozen=True)
class ClassificationParameters:
    """What a request asked, read by requests.classification_parameters; frozen so that records group by it."""

    top_k: int | None = None  # None: every label (or, legacy, the best one only)
    legacy: bool = True  # no top_k in the request: the pipeline's one-dict-per-text shape
    function_to_apply: str | None = None  # None: from the model's config, as the pipeline decides
    explain: ExplainRequest = field(default_factory=ExplainRequest)
    explain_label: str | None = None  # explained beside the predicted label
    truncate: bool = True  # false: a text over the model's maximum is a 413, as in text-embeddings-inference
    truncation_direction: str = "right"  # which end of an over-long text is cut


class TextClassifier:
    def __init__(
        self, engine: Engine, tokenizer: Any, config: Any, attributor: AttributorSource = explaining.NO_EXPLAINER
    ) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.attributor = attributor
        self.id2label = {int(k): v for k, v in config.id2label.items()}
        self.label2id = {label: index for index, label in self.id2label.items()}
        self.max_length = text_batches.max_length(tokenizer, config)
        self.default_function = self._default_function(config)

    @staticmethod
    def _default_function(config: Any) -> str:
        """The pipeline's choice when the request names none."""
        if config.problem_type == "regression":
            return "none"
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        if config.problem_type == "single_label_classification" or config.num_labels > 1:
            return "softmax"
        return str(getattr(config, "function_to_apply", "none")).lower()

    def __call__(self, texts: Sequence[str | TextPair], params: ClassificationParameters) -> list[object]:
        """One result per text or pair, in order: a dict (legacy shape) or a list of dicts sorted by score."""
        return [result for result, _ in self.answer_items(texts, params)]

    def answer_items(
        self, texts: Sequence[str | TextPair], params: ClassificationParameters
    ) -> list[tuple[object, int]]:
        """Per text or pair: its result, and the tokens the model read of it (a pair's both texts)."""
        rows = self.tokenized(texts, params.truncation_direction)
        if not params.truncate:
            self._refuse_truncated(texts, rows)
        logits = self._logits(rows)
        function = params.function_to_apply or self.default_function
        scores = {"softmax": softmax, "sigmoid": sigmoid}.get(function, lambda x: x)(logits)
        results = [self._result(row, params) for row in scores]
        if params.explain.enabled:
            for text, row, result in zip(texts, scores, results, strict=True):
                if not isinstance(text, str):  # requests.py refuses it first; a pair's explanation is not written
                    raise BadRequest("explanations of text pairs are not supported")
                entry = result if isinstance(result, dict) else result[0]  # type: ignore[index]  # the top label's
                entry["explanation"] = self._explain(text, int(row.argmax()), function, params)
        return [(result, len(row["input_ids"])) for result, row in zip(results, rows, strict=True)]

    def logits(self, texts: Sequence[str | TextPair]) -> np.ndarray:
        """float32 logits, one row per text or pair (truncated to the model's maximum)."""
        return self._logits(self.tokenized(texts))

    def _logits(self, rows: list[dict]) -> np.ndarray:
        return np.stack(
            text_batches.run_sorted(self.engine, self.tokenizer, rows, lambda outputs, _: list(outputs["logits"]))
        )

    def tokenized(self, items: Sequence[str | TextPair], truncation_side: str = "right") -> list[dict]:
        """One dict of token lists per item, in order. A pair is encoded as the pipeline's tokenizer(text,
        text_pair) encodes it ([CLS] a [SEP] b [SEP], token types 0 then 1); over the model's maximum, the longer
        of the two texts loses tokens first ("longest_first"), where the pipeline would fail; truncation_side says
        which end is cut."""
        default_side = self.tokenizer.truncation_side
        self.tokenizer.truncation_side = truncation_side  # read at each call; a worker tokenises one request at once
        try:
            return self._tokenized(items)
        finally:
            self.tokenizer.truncation_side = default_side

    def _refuse_truncated(self, items: Sequence[str | TextPair], rows: list[dict]) -> None:
        """truncate: false, as TEI has it: a 413 naming the first text the model could not read whole."""
        for index, (item, row) in enumerate(zip(items, rows, strict=True)):
            if len(row["input_ids"]) < self.max_length:
                continue  # shorter than the maximum: nothing was cut
            first, second = (item, None) if isinstance(item, str) else (item.text, item.text_pair)
            with stage_clock.tokenising():
                length = len(self.tokenizer(first, second, truncation=False)["input_ids"])
            if length > self.max_length:
                raise PayloadTooLarge(
                    f"inputs[{index}] is {length} tokens long, over this model's {self.max_length}:"
                    " send truncate: true, or a shorter text"
                )

    def _tokenized(self, items: Sequence[str | TextPair]) -> list[dict]:
        alone = [index for index, item in enumerate(items) if isinstance(item, str) or item.text_pair is None]
        paired = [index for index, item in enumerate(items) if not isinstance(item, str) and item.text_pair]
        rows: list[dict] = [{}] * len(items)
        with stage_clock.tokenising():
            if alone:
                encoded = self.tokenizer(
                    [_first(items[index]) for index in alone],
                    truncation=True,
                    max_length=self.max_length,
                    padding=False,
                )
                for position, index in enumerate(alone):
                    rows[index] = {name: encoded[name][position] for name in encoded}
            if paired:
                firsts = [_first(items[index]) for index in paired]
                seconds = [_second(items[index]) for index in paired]
                encoded = self.tokenizer(
                    firsts, seconds, truncation="longest_first", max_length=self.max_length, padding=False
                )
                for position, index in enumerate(paired):
                    rows[index] = {name: encoded[name][position] for name in encoded}
        return rows

    def _explain(self, text: str, predicted: int, function: str, params: ClassificationParameters) -> dict:
        """The attributions of the text's tokens to the predicted label's score, and to explain_label's."""
        labels = [predicted]
        if params.explain_label is not None:
            named = self.label2id.get(params.explain_label)
            if named is None:
                raise BadRequest(
                    f"parameters.explain_label {params.explain_label!r} is not one of this model's "
                    f"labels: {', '.join(self.id2label.values())}"
                )
            labels += [named] if named != predicted else []
        attributor = self.attributor()
        encoded = self.tokenizer(
            text,
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        offsets, special = encoded.pop("offset_mapping"), np.array(encoded.pop("special_tokens_mask"))
        inputs = {name: np.array([values], dtype=np.int64) for name, values in encoded.items()}
        spans = [
            TokenSpan(position, start, end)
            for position, (start, end) in enumerate(offsets)
            if not special[position] and end > start
        ]
        return explaining.explain_row(
            attributor,
            self.tokenizer,
            inputs,
            special[None],
            [
                Explained(Target("logits", label, function), self.id2label[label], _OUTPUTS[function])
                for label in labels
            ],
            spans,
            {None: text},
            params.explain.steps,
        )

    def _result(self, scores: np.ndarray, params: ClassificationParameters) -> object:
        if params.legacy:
            return {"label": self.id2label[scores.argmax().item()], "score": scores.max().item()}
        ranked = [{"label": self.id2label[i], "score": score.item()} for i, score in enumerate(scores)]
        ranked.sort(key=lambda entry: entry["score"], reverse=True)
        return ranked if params.top_k is None else ranked[: params.top_k]


def _first(item: str | TextPair) -> str:
    return item if isinstance(item, str) else item.text


def _second(item: str | TextPair) -> str:
    assert not isinstance(item, str) and item.text_pair is not None
    return item.text_pair
