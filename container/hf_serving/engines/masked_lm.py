"""The masked-LM head run on the masks' rows alone.

A fill-mask answer reads the logits of the mask tokens only, but a ...ForMaskedLM model runs its head (a transform
and a projection onto the whole vocabulary) over every token: for DistilBERT-base the projection is 768 x 30,522
multiply-adds a token, about a third of the model's work, and most of it for XLM-R's 250,002 tokens. Every masked-LM
head in transformers reads each token's row on its own, so run on the masks' rows alone it gives the same logits for
them. `masks_only` swaps the model's encoder (its `base_model_prefix` attribute) for one that hands the head only the
mask tokens' rows, as [1, masks, hidden] in row-major order: the model's logits are then [1, masks, vocabulary].

A head that read more than its own token's row would answer otherwise, so the swap is kept only where the model
answers a probe of two texts and three masks the same with it as without it; else the model is left as it was
(logged), and the task reads its full logits as before (tasks/fill_mask/filler.py reads either shape).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch

log = logging.getLogger(__name__)

# The same logits within this share of the largest: the same products, summed in another order by a matrix product of
# another shape.
_TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 3e-2, torch.float16: 5e-3}


class MaskRows(torch.nn.Module):
    """An encoder whose first output (the last hidden states) keeps only the mask tokens' rows."""

    def __init__(self, wrapped: torch.nn.Module, mask_token_id: int) -> None:
        super().__init__()
        self.wrapped = wrapped
        self.mask_token_id = mask_token_id

    def __getattr__(self, name: str) -> Any:
        # A head may read the encoder's parts (DeBERTa's reads its word embeddings): they are the wrapped encoder's.
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["wrapped"], name)

    def forward(self, input_ids: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        output = self.wrapped(input_ids, *args, **kwargs)
        rows = output[0][input_ids == self.mask_token_id].unsqueeze(0)
        if isinstance(output, tuple):
            return (rows, *output[1:])
        output[next(iter(output.keys()))] = rows  # a ModelOutput: its first field is the last hidden states
        return output


def masks_only(model: Any, tokenizer: Any) -> Any:
    """The model with its head run on the masks alone where that answers as the model did; else the model as it was."""
    prefix = getattr(model, "base_model_prefix", "")
    encoder = getattr(model, prefix, None) if prefix else None
    mask = tokenizer.mask_token
    if not isinstance(encoder, torch.nn.Module) or mask is None:
        return model
    probe = tokenizer([f"a {mask} b", f"{mask} c d {mask} e"], padding=True, return_tensors="pt")
    accepted = inspect.signature(model.forward).parameters
    feed = {name: tensor for name, tensor in probe.items() if name in accepted}
    masked = feed["input_ids"] == tokenizer.mask_token_id
    model.eval()
    with torch.inference_mode():
        expected = _logits(model(**feed))[masked].unsqueeze(0)
        setattr(model, prefix, MaskRows(encoder, tokenizer.mask_token_id))
        try:
            found = _logits(model(**feed))
        except Exception as exc:  # noqa: BLE001 - a head the swap breaks: the model is served as it was
            found, why = None, f"{type(exc).__name__}: {exc}"
    if found is not None and found.shape == expected.shape:
        tolerance = _TOLERANCE.get(expected.dtype, 1e-2) * float(expected.abs().max().clamp(min=1.0))
        if bool(((found - expected).abs() <= tolerance).all()):
            return model
        why = f"the masks' logits differ by up to {float((found - expected).abs().max()):.3g}"
    elif found is not None:
        why = f"logits of shape {tuple(found.shape)}, not {tuple(expected.shape)}"
    setattr(model, prefix, encoder)
    log.info("%s runs its masked-LM head over every token (%s)", type(model).__name__, why)
    return model


def _logits(output: Any) -> torch.Tensor:
    return output.logits if hasattr(output, "logits") else output[0]
