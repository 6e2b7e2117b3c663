"""Integrated gradients on a float32 torch model: what each input token contributed to one output.

The attribution of token i is (e_i - b_i) . integral over a in [0, 1] of dF/de_i at b + a (e - b), where e are the
text's token embeddings and b the baseline's (every token of the text replaced by the pad token, special tokens
kept). Its property, completeness, is what makes it testable and what the response reports: the attributions of a
text add up to F(text) - F(baseline), up to the error of the integral's quadrature (`delta`).

The integral is Captum's LayerIntegratedGradients on the model's input embeddings, with Gauss-Legendre
quadrature. A fine-tuned model can flip its output over a short stretch of the path, which few steps miss: the
steps double from the request's first count until the attributions add up (within 1% of the output's change, or
0.001) or the maximum is reached, and a doubling the invocation timeout has no room for is not started.

Task code sees named numpy arrays, as with engines (engines/base.py); torch and Captum stay here.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hf_serving import deadline
from hf_serving.engines.base import Attribution, Target

# Rows x tokens per forward and backward pass through the model: bounds the memory a pass holds for its gradients
# (a 384-token DistilBERT window: ~5 rows of the integral at a time), without slowing short texts.
TOKENS_PER_PASS = 2048
RELATIVE_TOLERANCE = 0.01
ABSOLUTE_TOLERANCE = 0.001


def tolerance(output: float, baseline_output: float) -> float:
    return max(RELATIVE_TOLERANCE * abs(output - baseline_output), ABSOLUTE_TOLERANCE)


class IntegratedGradients:
    """Explains outputs of `module` (a transformers model in float32, eval mode) on `device`."""

    def __init__(self, module: Any, input_names: Sequence[str], device: str) -> None:
        from captum.attr import LayerIntegratedGradients  # imports matplotlib: only where explanations run

        self.module = module
        self.input_names = tuple(input_names)
        self.device = device
        self._extras = {"use_cache": False} if "use_cache" in inspect.signature(module.forward).parameters else {}
        for parameter in module.parameters():  # gradients flow to the embeddings' output, never to the weights
            parameter.requires_grad_(False)
        _check_deadline_in_every_layer(module)
        self._target: Target = Target("logits", 0)
        self._method = LayerIntegratedGradients(self._forward, module.get_input_embeddings())

    def attribute(
        self,
        inputs: Mapping[str, np.ndarray],
        baseline_ids: np.ndarray,
        targets: Sequence[Target],
        first_steps: int,
        max_steps: int,
    ) -> list[Attribution]:
        tensors = {
            name: torch.from_numpy(np.ascontiguousarray(inputs[name])).to(self.device) for name in self.input_names
        }
        baseline = torch.from_numpy(np.ascontiguousarray(baseline_ids)).to(self.device)
        return [self._attribute_one(tensors, baseline, target, first_steps, max_steps) for target in targets]

    def _attribute_one(
        self, tensors: dict[str, torch.Tensor], baseline: torch.Tensor, target: Target, first_steps: int, max_steps: int
    ) -> Attribution:
        self._target = target
        ids, others = tensors["input_ids"], tuple(tensors[name] for name in self.input_names if name != "input_ids")
        with torch.no_grad():
            both = self._forward(torch.cat([ids, baseline]), *(torch.cat([t, t]) for t in others))
        output, baseline_output = (float(value) for value in both.float().cpu())
        rows = max(1, TOKENS_PER_PASS // ids.shape[1])
        steps = max(1, first_steps)
        while True:
            started = time.monotonic()
            layer = self._method.attribute(
                ids,
                baselines=baseline,
                additional_forward_args=others,
                n_steps=steps,
                method="gausslegendre",
                internal_batch_size=rows,
            )
            values = layer.sum(dim=-1)[0].detach().double().cpu().numpy()
            delta = float(values.sum()) - (output - baseline_output)
            converged = abs(delta) <= tolerance(output, baseline_output)
            if converged or steps * 2 > max_steps or not _time_for(2 * (time.monotonic() - started)):
                return Attribution(values, output, baseline_output, delta, steps, converged)
            steps *= 2

    def _forward(self, input_ids: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
        feed = dict(zip((name for name in self.input_names if name != "input_ids"), others, strict=True))
        output = self.module(input_ids=input_ids, **feed, **self._extras)[self._target.output].float()
        if self._target.transform == "softmax":
            output = torch.softmax(output, dim=-1)
        elif self._target.transform == "sigmoid":
            output = torch.sigmoid(output)
        return output[:, self._target.index]


def _check_deadline_in_every_layer(module: Any) -> None:
    """Captum runs the whole integral in one call: the invocation timeout is checked in it, as each pass enters each
    layer of the model going forward and leaves it going back. Once per pass, an abandoned explanation on a busy
    host went on for a whole forward and backward pass (2.3 s) and took that from the explanation after it."""
    module.register_forward_pre_hook(lambda *_: deadline.check())
    for layers in (child for child in module.modules() if isinstance(child, torch.nn.ModuleList)):
        for layer in layers:
            layer.register_forward_pre_hook(lambda *_: deadline.check())
            layer.register_forward_hook(_check_on_the_way_back)


def _check_on_the_way_back(_layer: Any, _inputs: Any, output: Any) -> None:
    first = output[0] if isinstance(output, tuple) else output
    if isinstance(first, torch.Tensor) and first.requires_grad:
        first.register_hook(_checked_gradient)


def _checked_gradient(gradient: torch.Tensor) -> torch.Tensor:
    deadline.check()  # raised out of the backward pass, to the explanation's caller
    return gradient


def _time_for(seconds: float) -> bool:
    """Whether the invocation timeout leaves room for work of this length (always, outside a deadline)."""
    left = deadline.remaining()
    return left is None or left > seconds
