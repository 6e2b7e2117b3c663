"""A model's own word on its task: `pipeline_tag` in the YAML front matter of its Hub model card (README.md), which
the Hub writes into every snapshot (`pipeline_tag: zero-shot-classification` for facebook/bart-large-mnli).

A card is user text of any size and quality, so only its head is read (MAX_CARD_BYTES), only the block between the
leading `---` lines is parsed (yaml.safe_load), and whatever goes wrong there is no tag, never a failed start.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CARD_NAME = "README.md"
# Front matter is a few hundred bytes to a few KiB (a long model-index of benchmark results reaches tens of KiB);
# a card whose front matter does not close within this is treated as having none.
MAX_CARD_BYTES = 64 * 1024
FENCE = "---"


def read_pipeline_tag(model_dir: Path) -> str | None:
    """The card's pipeline_tag, stripped and lower-cased; None when there is no card, no front matter, no tag, or
    any of them cannot be read."""
    front_matter = _front_matter(model_dir / CARD_NAME)
    if front_matter is None:
        return None
    try:
        metadata = yaml.safe_load(front_matter)
    except (yaml.YAMLError, ValueError, RecursionError):  # RecursionError: nesting deep enough to be an attack
        return None
    tag = metadata.get("pipeline_tag") if isinstance(metadata, dict) else None
    return tag.strip().lower() if isinstance(tag, str) and tag.strip() else None


def _front_matter(card: Path) -> str | None:
    """The text between the card's opening `---` line and the next `---` line, if both are in its head."""
    if not card.is_file():  # a directory, a FIFO or a dangling link named README.md is no card
        return None
    try:
        with card.open("rb") as file:
            head = file.read(MAX_CARD_BYTES)
    except OSError:
        return None
    # A multi-byte character cut at the cap can only fall after an unclosed block, which is no front matter anyway.
    lines = head.decode("utf-8", errors="replace").removeprefix("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != FENCE:
        return None
    for end, line in enumerate(lines[1:], start=1):
        if line.rstrip() == FENCE:
            return "\n".join(lines[1:end])
    return None
