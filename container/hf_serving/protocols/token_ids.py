"""Token ids sent where a protocol takes them in place of text (OpenAI's token arrays, TEI's InputType [int]).

They must be this model's tokenizer's ids. They are decoded and the text embedded as any text is, so that the
prompt, truncation and the response cache apply alike; the special tokens are dropped, since the tokenizer adds its
own around the text. A WordPiece or BPE tokenizer gives the same ids back for the decoded text, save for pieces no
text tokenizes to.
"""

from __future__ import annotations

from typing import Any

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name


def is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text_of(ids: list[Any], where: str, tokenizer: Any, *, param: str | None = None, hint: str = "") -> str:
    """The text the ids stand for; a 400 naming the id at fault (`hint` says more where a protocol's clients are
    known to send another vocabulary's ids)."""
    vocabulary = len(tokenizer)
    for index, value in enumerate(ids):
        if not is_id(value):
            raise BadRequest(
                f"{where}[{index}] must be a token id (an integer), not {json_type_name(value)}", param=param
            )
        if not 0 <= value < vocabulary:
            raise BadRequest(
                f"{where}[{index}] is token id {value}, outside this model's vocabulary of "
                f"{vocabulary:,} (0 to {vocabulary - 1}){hint}",
                param=param,
            )
    text = tokenizer.decode(ids, skip_special_tokens=True)
    if not text.strip():
        raise BadRequest(f"{where} holds only special tokens: there is no text to embed", param=param)
    return str(text)
