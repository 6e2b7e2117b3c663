"""Parity with transformers 5.23.0's token-classification pipeline on the same weights: every aggregation strategy,
ignore_labels, the shapes of a text and of a list, offsets into texts with accents, emoji and CJK, stride, and texts
longer than the model read whole."""

from __future__ import annotations

import pytest

from tests.unit.tasks.token_classification.parity import assert_same

STRATEGIES = ("none", "simple", "first", "average", "max")
TEXTS = [
    "Ada Lovelace met Charles Babbage in London, and Siemens hired them.",
    "Héloïse Dupré flew from São Paulo to Zürich; naïve café résumé.",
    "Call me 😀 at the Ünïcødé hotel 🏨 in 東京 or 北京市 today!",
    "unbelievably extraordinary antidisestablishmentarianism, hyphen-ated words",
]
# Sentences for windows of 24 tokens: several windows each, entities across their edges.
LONG_TEXT = " ".join(["Ada Lovelace met Charles Babbage in London.", "Café 東京 😀 naïve résumé at Zürich."] * 4)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("ignore_labels", [None, [], ["O", "B-PER", "I-LOC"]], ids=["default", "none", "three"])
def test_a_list_of_texts_equals_the_pipeline(served, reference, strategy, ignore_labels):
    parameters: dict = {"aggregation_strategy": strategy}
    if ignore_labels is not None:
        parameters["ignore_labels"] = ignore_labels
    ours = served.predict({"inputs": TEXTS, "parameters": parameters})
    theirs = reference(TEXTS, **parameters)
    assert_same(ours, theirs)
    if ignore_labels == []:
        assert all(ours)  # every text has tokens, so entities


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_one_text_answers_one_list_of_entities_as_the_pipeline(served, reference, strategy):
    ours = served.predict({"inputs": TEXTS[1], "parameters": {"aggregation_strategy": strategy, "ignore_labels": []}})
    assert_same(ours, reference(TEXTS[1], aggregation_strategy=strategy, ignore_labels=[]))
    assert isinstance(ours, list) and ours and isinstance(ours[0], dict)


def test_without_parameters_the_pipeline_defaults_none_and_ignore_o(served, reference):
    assert_same(served.predict(TEXTS[0]), reference(TEXTS[0]))
    assert_same(served.predict({"inputs": TEXTS}), reference(TEXTS))
    assert all("O" != entity["entity"] for entity in served.predict({"inputs": TEXTS[0]}))


@pytest.mark.parametrize("text", TEXTS[1:3], ids=["accents", "emoji-cjk"])
@pytest.mark.parametrize("strategy", ["none", "first"])
def test_offsets_are_characters_of_the_original_text(served, reference, text, strategy):
    ours = served.predict({"inputs": text, "parameters": {"aggregation_strategy": strategy, "ignore_labels": []}})
    assert_same(ours, reference(text, aggregation_strategy=strategy, ignore_labels=[]))
    # Every token or word, in order, tiles the text's characters but its spaces: no offset is off by a byte.
    assert "".join(text[entity["start"] : entity["end"]] for entity in ours).replace(" ", "") == text.replace(" ", "")
    if strategy == "none" and "😀" in text:  # an unknown token's word is its text (the pipeline's rule)
        words = {entity["word"] for entity in ours if entity["word"] == text[entity["start"] : entity["end"]]}
        assert {"😀", "🏨"} <= words


def test_a_batch_equals_its_texts_one_by_one(served):
    texts = [TEXTS[i % len(TEXTS)] * (1 + i % 3) for i in range(40)]  # more than one chunk, many lengths
    parameters = {"aggregation_strategy": "average", "ignore_labels": []}
    batched = served.predict({"inputs": texts, "parameters": parameters})
    alone = [served.predict({"inputs": text, "parameters": parameters}) for text in texts]
    assert_same(batched, alone)


@pytest.mark.parametrize("strategy", STRATEGIES[1:])
@pytest.mark.parametrize("stride", [0, 5, 21])
def test_stride_equals_the_pipelines_windows(served_short, reference_short, strategy, stride):
    parameters = {"aggregation_strategy": strategy, "stride": stride, "ignore_labels": []}
    ours = served_short.predict({"inputs": [LONG_TEXT, TEXTS[0]], "parameters": parameters})
    assert_same(ours, reference_short([LONG_TEXT, TEXTS[0]], **parameters))
    assert ours[0][-1]["end"] == len(LONG_TEXT)  # the last window reaches the end


@pytest.mark.parametrize("strategy", STRATEGIES[1:])
def test_a_long_text_without_stride_is_read_whole_in_overlapping_windows(served_short, reference_short, strategy):
    """The pipeline would truncate it to one window; here it is the pipeline's answer with the default overlap."""
    overlap = served_short.tagger.default_stride
    assert overlap > 0
    ours = served_short.predict(
        {"inputs": LONG_TEXT, "parameters": {"aggregation_strategy": strategy, "ignore_labels": []}}
    )
    assert_same(ours, reference_short(LONG_TEXT, aggregation_strategy=strategy, stride=overlap, ignore_labels=[]))
    truncated = reference_short(LONG_TEXT, aggregation_strategy=strategy, ignore_labels=[])
    assert ours[-1]["end"] == len(LONG_TEXT) > truncated[-1]["end"]


def test_with_aggregation_none_a_long_texts_tokens_keep_their_index_in_the_whole_text(served_short, reference_short):
    """Every token once, as the pipeline merges the windows; "index" counts from the text's first token (the
    pipeline's from its window's)."""
    ours = served_short.predict({"inputs": LONG_TEXT, "parameters": {"ignore_labels": []}})
    overlap = served_short.tagger.default_stride
    assert_same(ours, reference_short(LONG_TEXT, stride=overlap, ignore_labels=[]), without=("index",))
    whole = reference_short.tokenizer(LONG_TEXT, return_offsets_mapping=True, return_special_tokens_mask=True)
    content = [position for position, special in enumerate(whole["special_tokens_mask"]) if not special]
    assert [entity["index"] for entity in ours] == content
    assert all(tuple(whole["offset_mapping"][entity["index"]]) == (entity["start"], entity["end"]) for entity in ours)


def test_a_text_that_fits_is_one_window_whatever_the_stride(served_short, reference_short):
    text = "Ada Lovelace met Babbage."
    ours = served_short.predict({"inputs": text, "parameters": {"aggregation_strategy": "simple", "stride": 3}})
    assert_same(ours, reference_short(text, aggregation_strategy="simple"))


def test_a_text_of_a_million_characters_is_answered_whole(served):
    text = "Ada Lovelace lives in London. " * 35_000
    entities = served.predict({"inputs": text, "parameters": {"aggregation_strategy": "first", "ignore_labels": []}})
    assert entities[0]["start"] == 0 and entities[-1]["end"] == len(text.rstrip())
    starts = [entity["start"] for entity in entities]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_tokens_read_count_every_window(served_short):
    ours = served_short.tagger(["short text", LONG_TEXT], served_short.parse(LONG_TEXT).parameters)
    assert ours[0][1] == 4
    windows = served_short.tagger.tokenizer(
        LONG_TEXT,
        truncation=True,
        max_length=24,
        return_overflowing_tokens=True,
        stride=served_short.tagger.default_stride,
    )["input_ids"]
    assert len(windows) > 2 and ours[1][1] == sum(len(window) for window in windows)


def test_windows_run_from_the_start_whatever_the_tokenizers_truncation_side(served_short):
    parameters = {"aggregation_strategy": "simple", "ignore_labels": []}
    expected = served_short.predict({"inputs": LONG_TEXT, "parameters": parameters})
    tokenizer = served_short.tagger.tokenizer
    tokenizer.truncation_side = "left"
    try:
        assert_same(served_short.predict({"inputs": LONG_TEXT, "parameters": parameters}), expected)
        assert tokenizer.truncation_side == "left"  # left as it was
    finally:
        tokenizer.truncation_side = "right"
