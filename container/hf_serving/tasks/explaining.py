"""Explanations, as the text tasks share them: the request's parameters, the baseline, and the response's shape.

`"parameters": {"explain": true}` asks, beside each prediction, for the attribution of every token of its input to
the output the prediction rests on (engines/attribution.py computes them: integrated gradients on the float32
model). The response carries them as

    "explanation": {"method": "integrated_gradients", "baseline": "[PAD]", "targets": [
        {"target": "POSITIVE", "output": "softmax score", "value": F(text), "baseline_value": F(baseline),
         "delta": sum - (value - baseline_value), "steps": 64, "converged": true,
         "tokens": [{"token": "wonderful", "start": 14, "end": 23, "attribution": 0.41}, ...]}]}

with each token's characters in the text (start/end offsets; a question-answering token also names its "field",
question or context). Special tokens ([CLS], [SEP]) are kept in the baseline, so they have no attribution and are
not listed.

Bounds: at most MAX_EXPLAINED_ITEMS texts (question/context pairs) per request, and MAX_STEPS steps per output;
the invocation timeout bounds the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_serving.engines.base import Attribution, Attributor, Target
from hf_serving.errors import BadRequest
from hf_serving.tasks.parameters import Boolean, Integer, ParameterSpec, Values

METHOD = "integrated_gradients"
MAX_EXPLAINED_ITEMS = 8
DEFAULT_STEPS = 32
MAX_STEPS = 256
NAMES = ("explain", "explain_steps")


# What LoadedParts carries: the attributor, loaded on first use, or a BadRequest saying why there is none.
AttributorSource = Callable[[], Attributor]


def unavailable(reason: str) -> AttributorSource:
    def refuse() -> Attributor:
        raise BadRequest(f"explanations are not available here: {reason}")

    return refuse


NO_EXPLAINER = unavailable("this model was loaded without an explainer")


@dataclass(frozen=True)
class ExplainRequest:
    """What a request asked of explanations: none, or with how many steps to start."""

    enabled: bool = False
    steps: int = DEFAULT_STEPS


PARAMETERS = (
    Boolean(
        "explain",
        default=False,
        description=(
            "Also return, with each prediction, the attribution of every token of its input (integrated gradients on "
            f"the float32 model; see `Explanation`). At most {MAX_EXPLAINED_ITEMS} inputs per request. Answered by a "
            "worker of its own on a single-model endpoint (a 400 on a multi-model endpoint, or with "
            "`SERVE_EXPLAIN=off`)."
        ),
    ),
    Integer(
        "explain_steps",
        default=DEFAULT_STEPS,
        minimum=1,
        maximum=MAX_STEPS,
        description=(
            f"With `explain`, the integral's first number of steps; they double (up to {MAX_STEPS}) until the "
            "attributions add up to the output's change within 1% (or 0.001)."
        ),
    ),
)
_SPEC = ParameterSpec("ExplainParameters", PARAMETERS)


def explain_from(values: Values) -> ExplainRequest:
    """explain and explain_steps from a task's parsed parameters (tasks/parameters.py), which declare PARAMETERS."""
    if values.given("explain_steps") and not values["explain"]:
        raise BadRequest("parameters.explain_steps needs parameters.explain: true")
    return ExplainRequest(values["explain"], values["explain_steps"])


def explain_request(parameters: Mapping[str, object]) -> ExplainRequest:
    """explain and explain_steps from a request's raw parameters (the caller checks for unknown names)."""
    return explain_from(_SPEC.parse({name: parameters[name] for name in NAMES if name in parameters}))


def check_item_count(explain: ExplainRequest, items: int, what: str) -> None:
    if explain.enabled and items > MAX_EXPLAINED_ITEMS:
        raise BadRequest(
            f"an explain request may hold at most {MAX_EXPLAINED_ITEMS} {what}, not {items}: "
            "send the others in requests of their own"
        )


def baseline_ids(input_ids: np.ndarray, special: np.ndarray, pad_id: int) -> np.ndarray:
    """The input with every token but the special ones replaced by the pad token: the 'no text' reference."""
    return np.where(special.astype(bool), input_ids, pad_id).astype(np.int64)


@dataclass(frozen=True)
class TokenSpan:
    """A token of the input that carries an attribution: where it is in the row, and in which text."""

    position: int  # in the model's row
    start: int  # character offsets into its text
    end: int
    field: str | None = None  # question answering: "question" or "context"


def token_entries(spans: Sequence[TokenSpan], texts: Mapping[str | None, str], values: np.ndarray) -> list[dict]:
    entries = []
    for span in spans:
        entry: dict[str, object] = {"token": texts[span.field][span.start : span.end]}
        if span.field is not None:
            entry["field"] = span.field
        entry.update(start=span.start, end=span.end, attribution=float(values[span.position]))
        entries.append(entry)
    return entries


def target_entry(target: str, output: str, attribution: Attribution, tokens: list[dict]) -> dict:
    return {
        "target": target,
        "output": output,
        "value": attribution.output,
        "baseline_value": attribution.baseline_output,
        "delta": attribution.delta,
        "steps": attribution.steps,
        "converged": attribution.converged,
        "tokens": tokens,
    }


def explanation(baseline_token: str, targets: list[dict]) -> dict:
    return {"method": METHOD, "baseline": baseline_token, "targets": targets}


@dataclass(frozen=True)
class Explained:
    """One output to explain, and how the answer names it: the engine's Target, its name ("start", "POSITIVE") and
    what its value is ("start logit", "softmax score")."""

    target: Target
    name: str
    output: str


def explain_row(
    attributor: Attributor,
    tokenizer: Any,
    inputs: dict[str, np.ndarray],
    special: np.ndarray,
    explained: Sequence[Explained],
    spans: Sequence[TokenSpan],
    texts: Mapping[str | None, str],
    steps: int,
) -> dict:
    """The explanation of one tokenised row (inputs of shape [1, tokens]; special marks the tokens the baseline
    keeps): each output's attributions, per token of the texts that `spans` place."""
    baseline = baseline_ids(inputs["input_ids"], special, tokenizer.pad_token_id or 0)
    found = attributor.attribute(inputs, baseline, [entry.target for entry in explained], steps, MAX_STEPS)
    return explanation(
        tokenizer.pad_token or "[PAD]",
        [
            target_entry(entry.name, entry.output, attribution, token_entries(spans, texts, attribution.values))
            for entry, attribution in zip(explained, found, strict=True)
        ],
    )
