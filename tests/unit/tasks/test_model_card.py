"""A model card's pipeline_tag (README.md's YAML front matter), read robustly: the block between the leading `---`
lines only, at most MAX_CARD_BYTES of the file, and anything unreadable is no tag."""

import os

import pytest

from hf_serving.tasks.model_card import MAX_CARD_BYTES, read_pipeline_tag


def with_card(tmp_path, text: str | bytes):
    """tmp_path with this README.md."""
    card = tmp_path / "README.md"
    card.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return tmp_path


# The head of facebook/bart-large-mnli's card, as a Hub snapshot holds it.
BART_MNLI = """---
license: mit
thumbnail: https://huggingface.co/front/thumbnails/facebook.png
pipeline_tag: zero-shot-classification
datasets:
- multi_nli
---

# bart-large-mnli

This is the checkpoint for bart-large after being trained on the MultiNLI (MNLI) dataset.
"""


@pytest.mark.parametrize(
    ("card", "tag"),
    [
        (BART_MNLI, "zero-shot-classification"),
        ("---\npipeline_tag: text-ranking\n---\n", "text-ranking"),
        ("\ufeff---\r\npipeline_tag: Fill-Mask \r\n---\r\n# a card written on Windows, with a BOM\r\n", "fill-mask"),
        ("---  \npipeline_tag: token-classification\n---  \n", "token-classification"),
        (
            "---\ntags: [a, b]\npipeline_tag: 'sentence-similarity'\nmodel-index:\n- name: x\n---\nbody\n---\nmore\n",
            "sentence-similarity",
        ),
        (b"---\nauthor: Ren\xe9 (Latin-1, not UTF-8)\npipeline_tag: fill-mask\n---\n", "fill-mask"),
    ],
)
def test_the_tag_in_the_front_matter_is_read_stripped_and_lower_cased(tmp_path, card, tag):
    assert read_pipeline_tag(with_card(tmp_path, card)) == tag


@pytest.mark.parametrize(
    "card",
    [
        pytest.param("# bart-large-mnli\n\npipeline_tag: zero-shot-classification\n", id="no front matter"),
        pytest.param("\n---\npipeline_tag: fill-mask\n---\n", id="front matter not on the first line"),
        pytest.param("---\npipeline_tag: fill-mask\n", id="never closed"),
        pytest.param("---\nlicense: mit\n---\npipeline_tag: fill-mask\n", id="tag only in the body"),
        pytest.param("---\n---\n", id="empty front matter"),
        pytest.param("---\npipeline_tag: [fill-mask\n---\n", id="broken YAML"),
        pytest.param("---\npipeline_tag: fill-mask\n  bad: indent\n---\n", id="broken YAML indentation"),
        pytest.param("---\n- pipeline_tag: fill-mask\n---\n", id="a list, not a mapping"),
        pytest.param("---\npipeline_tag: [fill-mask]\n---\n", id="a tag that is no string"),
        pytest.param("---\npipeline_tag: 3\n---\n", id="a number"),
        pytest.param("---\npipeline_tag: '  '\n---\n", id="a blank tag"),
        pytest.param("---\npipeline_tag: !!python/object:os.system x\n---\n", id="a python tag (safe_load refuses)"),
        pytest.param("---\npipeline_tag: fill-mask\npipeline_tag: &a [*a]\n---\n", id="a recursive alias"),
        pytest.param(
            "---\npipeline_tag: fill-mask\nx: " + "[" * 5000 + "]" * 5000 + "\n---\n",
            id="nesting deep enough to recurse",
        ),
    ],
)
def test_a_card_without_a_readable_tag_has_none(tmp_path, card):
    assert read_pipeline_tag(with_card(tmp_path, card)) is None


def test_no_card_a_directory_or_a_dangling_link_named_readme_is_no_tag(tmp_path):
    assert read_pipeline_tag(tmp_path) is None
    (tmp_path / "README.md").mkdir()
    assert read_pipeline_tag(tmp_path) is None
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.md").symlink_to(other / "missing.md")
    assert read_pipeline_tag(other) is None


def test_a_fifo_named_readme_is_not_opened(tmp_path):
    os.mkfifo(tmp_path / "README.md")  # opening it would block the start for ever
    assert read_pipeline_tag(tmp_path) is None


def test_a_hub_snapshot_card_is_a_link_into_the_blobs_and_is_read(tmp_path):
    blob = tmp_path / "blobs" / "0123abcd"
    blob.parent.mkdir()
    blob.write_text(BART_MNLI)
    snapshot = tmp_path / "snapshots" / "main"
    snapshot.mkdir(parents=True)
    (snapshot / "README.md").symlink_to(blob)
    assert read_pipeline_tag(snapshot) == "zero-shot-classification"


def test_only_the_head_of_a_huge_card_is_read(tmp_path):
    padding = "x" * 80 + "\n"
    closed_late = "---\n" + "# " + padding * (MAX_CARD_BYTES // len(padding)) + "pipeline_tag: fill-mask\n---\n"
    assert read_pipeline_tag(with_card(tmp_path, closed_late)) is None  # its end lies past the cap
    huge_body = "---\npipeline_tag: fill-mask\n---\n" + padding * (4 * MAX_CARD_BYTES // len(padding))
    assert read_pipeline_tag(with_card(tmp_path, huge_body)) == "fill-mask"


def test_a_long_front_matter_within_the_cap_is_read(tmp_path):
    model_index = "".join(f"- task: {{type: retrieval}}\n  metrics: [{{type: ndcg, value: {i}}}]\n" for i in range(300))
    card = f"---\nmodel-index:\n{model_index}pipeline_tag: sentence-similarity\n---\n"
    assert len(card) < MAX_CARD_BYTES
    assert read_pipeline_tag(with_card(tmp_path, card)) == "sentence-similarity"
