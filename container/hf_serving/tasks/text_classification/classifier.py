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
from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name
from hf_serving.tasks import explaining, text_batches
from hf_serving.tasks.explaining import AttributorSource, ExplainRequest, TokenSpan

FUNCTIONS = ("softmax", "sigmoid", "none")
_KNOWN = {"top_k", "function_to_apply", "explain_label", *explaining.NAMES}
# What an explanation's "output" says it explains, by the function the scores come from.
_OUTPUTS = {"softmax": "softmax score", "sigmoid": "sigmoid score", "none": "logit"}


@dataclass(frozen=True)
class ClassificationParameters:
    top_k: int | None = 1
    legacy: bool = True  # no top_k in the request: the pipeline's one-dict-per-text shape
    function_to_apply: str | None = None  # None: from the model's config, as the pipeline decides
    explain: ExplainRequest = field(default_factory=ExplainRequest)
    explain_label: str | None = None  # explained beside the predicted label

    @classmethod
    def from_request(cls, parameters: object) -> ClassificationParameters:
        if parameters is None:
            return cls()
        if not isinstance(parameters, dict):
            raise BadRequest(f"parameters must be a JSON object, not {json_type_name(parameters)}")
        unknown = sorted(set(parameters) - _KNOWN)
        if unknown:
            raise BadRequest(f"unknown parameters: {', '.join(unknown)} (accepted: {', '.join(sorted(_KNOWN))})")
        function = parameters.get("function_to_apply")
        if function is not None and (not isinstance(function, str) or function.lower() not in FUNCTIONS):
            raise BadRequest(f"parameters.function_to_apply must be one of {', '.join(FUNCTIONS)}")
        explain = explaining.explain_request(parameters)
        label = parameters.get("explain_label")
        if label is not None and (not isinstance(label, str) or not explain.enabled):
            raise BadRequest("parameters.explain_label must be a label's name, with parameters.explain: true")
        function_to_apply = function.lower() if function else None
        if "top_k" not in parameters:
            return cls(function_to_apply=function_to_apply, explain=explain, explain_label=label)
        top_k = parameters["top_k"]
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise BadRequest("parameters.top_k must be an integer >= 1, or null for every label")
        return cls(top_k=top_k, legacy=False, function_to_apply=function_to_apply, explain=explain,
                   explain_label=label)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


class TextClassifier:
    def __init__(self, engine: Engine, tokenizer: Any, config: Any,
                 attributor: AttributorSource = explaining.NO_EXPLAINER) -> None:
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

    def __call__(self, texts: Sequence[str], params: ClassificationParameters) -> list[object]:
        """One result per text, in order: a dict (legacy shape) or a list of dicts sorted by score."""
        return [result for result, _ in self.answer_items(texts, params)]

    def answer_items(self, texts: Sequence[str], params: ClassificationParameters) -> list[tuple[object, int]]:
        """Per text: its result, and the tokens the model read of it."""
        rows = text_batches.tokenize(self.tokenizer, texts, self.max_length)
        logits = self._logits(rows)
        function = params.function_to_apply or self.default_function
        scores = {"softmax": _softmax, "sigmoid": _sigmoid}.get(function, lambda x: x)(logits)
        results = [self._result(row, params) for row in scores]
        if params.explain.enabled:
            for text, row, result in zip(texts, scores, results, strict=True):
                entry = result if isinstance(result, dict) else result[0]  # type: ignore[index]  # the top label's
                entry["explanation"] = self._explain(text, int(row.argmax()), function, params)
        return [(result, len(row["input_ids"])) for result, row in zip(results, rows, strict=True)]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """float32 logits, one row per text (truncated to the model's maximum)."""
        return self._logits(text_batches.tokenize(self.tokenizer, texts, self.max_length))

    def _logits(self, rows: list[dict]) -> np.ndarray:
        return np.stack(text_batches.run_sorted(self.engine, self.tokenizer, rows,
                                                lambda outputs, _: list(outputs["logits"])))

    def _explain(self, text: str, predicted: int, function: str, params: ClassificationParameters) -> dict:
        """The attributions of the text's tokens to the predicted label's score, and to explain_label's."""
        labels = [predicted]
        if params.explain_label is not None:
            named = self.label2id.get(params.explain_label)
            if named is None:
                raise BadRequest(f"parameters.explain_label {params.explain_label!r} is not one of this model's "
                                 f"labels: {', '.join(self.id2label.values())}")
            labels += [named] if named != predicted else []
        attributor = self.attributor()
        encoded = self.tokenizer(text, truncation=True, max_length=self.max_length, return_offsets_mapping=True,
                                 return_special_tokens_mask=True)
        offsets, special = encoded.pop("offset_mapping"), np.array(encoded.pop("special_tokens_mask"))
        inputs = {name: np.array([values], dtype=np.int64) for name, values in encoded.items()}
        baseline = explaining.baseline_ids(inputs["input_ids"], special[None], self.tokenizer.pad_token_id or 0)
        found = attributor.attribute(inputs, baseline, [Target("logits", label, function) for label in labels],
                                     params.explain.steps, explaining.MAX_STEPS)
        spans = [TokenSpan(position, start, end) for position, (start, end) in enumerate(offsets)
                 if not special[position] and end > start]
        return explaining.explanation(self.tokenizer.pad_token or "[PAD]", [
            explaining.target_entry(self.id2label[label], _OUTPUTS[function], attribution,
                                    explaining.token_entries(spans, {None: text}, attribution.values))
            for label, attribution in zip(labels, found, strict=True)])

    def _result(self, scores: np.ndarray, params: ClassificationParameters) -> object:
        if params.legacy:
            return {"label": self.id2label[scores.argmax().item()], "score": scores.max().item()}
        ranked = [{"label": self.id2label[i], "score": score.item()} for i, score in enumerate(scores)]
        ranked.sort(key=lambda entry: entry["score"], reverse=True)
        return ranked if params.top_k is None else ranked[:params.top_k]
