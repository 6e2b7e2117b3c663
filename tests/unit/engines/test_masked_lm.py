"""The masked-LM head run on the masks' rows alone (engines/masked_lm.py): kept for every encoder family transformers
has a masked-LM head for, with the same logits at the masks as the whole model's; left out, and logged, for a head that
reads other rows or breaks. (tests/unit/tasks/fill_mask/test_masks_logits.py: the served model's engines.)"""

from __future__ import annotations

import copy
import inspect
import logging

import pytest
import torch
import transformers
from transformers import AutoModelForMaskedLM, AutoTokenizer

from hf_serving.engines.masked_lm import MaskRows, masks_only
from tests.support.paths import minilm

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
FAMILIES = {
    "bert": ("BertConfig", SMALL),
    "distilbert": ("DistilBertConfig", {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}),
    "roberta": ("RobertaConfig", SMALL),
    "xlm-roberta": ("XLMRobertaConfig", SMALL),
    "camembert": ("CamembertConfig", SMALL),
    "albert": ("AlbertConfig", {**SMALL, "embedding_size": 16}),
    "electra": ("ElectraConfig", {**SMALL, "embedding_size": 16}),
    "deberta-v2": ("DebertaV2Config", SMALL),
    "mpnet": ("MPNetConfig", SMALL),
    "modernbert": ("ModernBertConfig", {**SMALL, "global_attn_every_n_layers": 2, "local_attention": 8}),
}
TEXTS = [
    "a [MASK]",
    "[MASK] sat on the [MASK] by the [MASK] in the afternoon sun",
    "Paris is the [MASK] of France, and the longest text of the three by far, so the others are padded.",
]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(minilm())  # BERT's uncased WordPiece, [MASK] among its special tokens


def random_masked_lm(family: str, tokenizer) -> torch.nn.Module:
    name, sizes = FAMILIES[family]
    config = getattr(transformers, name)(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, max_position_embeddings=128, **sizes
    )
    torch.manual_seed(3)
    return AutoModelForMaskedLM.from_config(config).eval()


def masks_logits(model: torch.nn.Module, feed: dict) -> torch.Tensor:
    with torch.inference_mode():
        return model(**feed).logits


def feed_of(tokenizer, model) -> dict:
    encoded = tokenizer(TEXTS, padding=True, return_tensors="pt")
    accepted = inspect.signature(model.forward).parameters
    return {name: tensor for name, tensor in encoded.items() if name in accepted}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_keeps_the_swap_and_its_masks_logits_are_the_whole_models(family, tokenizer):
    whole = random_masked_lm(family, tokenizer)
    model = masks_only(copy.deepcopy(whole), tokenizer)
    assert isinstance(getattr(model, model.base_model_prefix), MaskRows)
    feed = feed_of(tokenizer, whole)
    masked = feed["input_ids"] == tokenizer.mask_token_id
    expected = masks_logits(whole, feed)[masked]
    found = masks_logits(model, feed)
    assert found.shape == (1, 5, len(tokenizer))  # 1 + 3 + 1 masks, in the texts' order
    torch.testing.assert_close(found[0], expected, rtol=1e-4, atol=1e-4)


class MixingRows(torch.nn.Module):
    """A head's transform that adds the mean of every row of the text to each: it reads more than its own row."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.inner(hidden + hidden.mean(dim=1, keepdim=True))


class TwoRowsOnly(torch.nn.Module):
    """A head's transform that assumes the batch it was written for: it breaks on [1, masks, hidden]."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.inner(hidden.view(2, -1, hidden.shape[-1]))


@pytest.mark.parametrize(
    ("head", "why"), [(MixingRows, "logits differ by up to"), (TwoRowsOnly, "RuntimeError")], ids=["mixes", "breaks"]
)
def test_a_head_that_reads_other_rows_or_breaks_is_left_whole_and_logged(tokenizer, head, why, caplog):
    model = random_masked_lm("distilbert", tokenizer)
    model.vocab_transform = head(model.vocab_transform)
    with caplog.at_level(logging.INFO, logger="hf_serving.engines.masked_lm"):
        kept = masks_only(model, tokenizer)
    assert kept is model and not isinstance(model.distilbert, MaskRows)
    assert "DistilBertForMaskedLM runs its masked-LM head over every token" in caplog.text and why in caplog.text
    feed = {name: tensor[:2] for name, tensor in feed_of(tokenizer, model).items()}  # two texts: TwoRowsOnly's
    assert masks_logits(model, feed).shape == (*feed["input_ids"].shape, len(tokenizer))  # every token's, as before
