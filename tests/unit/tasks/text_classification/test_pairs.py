"""Text pairs and every problem type, against transformers' text-classification pipeline on the same weights.

The models are tiny BERTs with random weights built here (seeded), with MiniLM's real uncased tokenizer: BERT reads
token_type_ids, so a pair encoded as one text, or with the wrong token types, would give other scores.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import pipeline

from hf_serving.errors import BadRequest
from hf_serving.formats.media import JSONLINES
from hf_serving.formats.records import RecordBatch
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.text_classification.classifier import TextPair
from hf_serving.tasks.text_classification.requests import parse_classification_request
from tests.support.paths import minilm

NLI_LABELS = ("entailment", "neutral", "contradiction")
PREMISES = ["A man is eating food.", "The girl is carrying a baby.", "Café 漢字 🙂 ok", "Two dogs run " * 12]
HYPOTHESES = ["Someone eats.", "Nobody is carrying anything.", "ok", "Animals are outside."]
PAIRS = [{"text": premise, "text_pair": hypothesis} for premise, hypothesis in zip(PREMISES, HYPOTHESES, strict=True)]


def build_bert(out_dir: Path, labels: tuple[str, ...], seed: int, problem_type: str | None = None) -> Path:
    """A 2-layer BERT sequence classifier, random weights; problem_type as a fine-tuned model's config names it."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(minilm()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        type_vocab_size=2,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        problem_type=problem_type,
    )
    torch.manual_seed(seed)
    BertForSequenceClassification(config).eval().save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


# (problem_type in config.json, labels): the pipeline picks its function from them.
PROBLEM_TYPES = {
    "single-label": ("single_label_classification", NLI_LABELS),
    "multi-label": ("multi_label_classification", ("toxic", "obscene", "insult")),
    "regression": ("regression", ("similarity",)),
    "one label, no problem_type": (None, ("relevant",)),
    "three labels, no problem_type": (None, NLI_LABELS),
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Each problem type's model directory, built once for this module."""
    return {
        name: build_bert(tmp_path_factory.mktemp(name.replace(" ", "-").replace(",", "")), labels, seed, problem_type)
        for seed, (name, (problem_type, labels)) in enumerate(PROBLEM_TYPES.items())
    }


@pytest.fixture(scope="module")
def served_and_reference(models):
    """The served model and the pipeline of each directory, loaded once."""
    return {
        name: (
            load_served_model(path, Settings(model_dir=path, dtype="float32")),
            pipeline("text-classification", model=str(path), device="cpu"),
        )
        for name, path in models.items()
    }


def assert_same(ours, theirs):
    """The same nesting, labels equal, scores equal in float32 (~1e-5 relative)."""
    assert type(ours) is type(theirs)
    if isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            assert_same(mine, reference)
    else:
        assert set(ours) == set(theirs) == {"label", "score"}
        assert ours["label"] == theirs["label"]
        assert ours["score"] == pytest.approx(theirs["score"], rel=1e-5, abs=1e-6)


PAIR_CASES = [
    ("one pair: a bare object", PAIRS[0], {}),
    ("a list of pairs", PAIRS, {}),
    ("one pair, top_k 2: a bare list", PAIRS[1], {"top_k": 2}),
    ("pairs and texts mixed, every label", [PAIRS[0], "just a text", PAIRS[2]], {"top_k": None}),
    ("a dict without text_pair", {"text": PREMISES[0]}, {}),
    ("sigmoid on pairs", PAIRS, {"function_to_apply": "sigmoid", "top_k": None}),
    ("raw logits of one pair", PAIRS[3], {"function_to_apply": "none", "top_k": 1}),
]


@pytest.mark.parametrize(("name", "inputs", "parameters"), PAIR_CASES, ids=[case[0] for case in PAIR_CASES])
def test_pairs_equal_the_pipeline(served_and_reference, name, inputs, parameters):
    model, reference = served_and_reference["single-label"]
    payload = {"inputs": inputs, "parameters": parameters} if parameters else {"inputs": inputs}
    assert_same(model.predict(payload), reference(inputs, **parameters))


def test_a_pair_at_the_top_level_is_a_pair_and_not_text_standing_for_inputs(served_and_reference):
    model, reference = served_and_reference["single-label"]
    expected = reference(PAIRS[1])
    assert isinstance(expected, dict)
    assert_same(model.predict(PAIRS[1]), expected)
    assert_same(model.predict({**PAIRS[1], "parameters": {"top_k": None}}), reference(PAIRS[1], top_k=None))
    assert model.predict({"inputs": PAIRS[1]}) == model.predict(PAIRS[1])
    assert model.predict({"text": [PAIRS[1]]}) == [model.predict(PAIRS[1])]  # "text" standing for "inputs"


def test_the_second_text_and_its_token_types_count(served_and_reference):
    """The pair is not read as one text: its scores differ from the joined text's."""
    model, _ = served_and_reference["single-label"]
    pair = model.predict({"inputs": PAIRS[0], "parameters": {"top_k": None}})
    joined = model.predict({"inputs": f"{PREMISES[0]} {HYPOTHESES[0]}", "parameters": {"top_k": None}})
    assert [e["score"] for e in pair] != pytest.approx([e["score"] for e in joined], abs=1e-6)


def test_an_over_long_pair_loses_tokens_from_its_longer_text_as_the_pipeline_truncates(served_and_reference):
    model, reference = served_and_reference["single-label"]
    pair = {"text": "a very long premise " * 300, "text_pair": "a short hypothesis"}
    assert_same(
        model.predict({"inputs": pair, "parameters": {"top_k": None}}), reference(pair, top_k=None, truncation=True)
    )


@pytest.mark.parametrize("problem", list(PROBLEM_TYPES))
@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"top_k": None},
        {"function_to_apply": "softmax", "top_k": None},
        {"function_to_apply": "sigmoid"},
        {"function_to_apply": "none"},
    ],
    ids=["default", "every label", "softmax asked", "sigmoid asked", "none asked"],
)
def test_scores_follow_the_problem_type_and_function_to_apply_as_the_pipeline(
    served_and_reference, problem, parameters
):
    model, reference = served_and_reference[problem]
    for inputs in (PREMISES, PREMISES[2], PAIRS[:2]):
        payload = {"inputs": inputs, "parameters": parameters} if parameters else {"inputs": inputs}
        assert_same(model.predict(payload), reference(inputs, **parameters))


def test_regression_answers_the_raw_output_and_a_one_label_model_its_sigmoid(served_and_reference):
    """What the pipeline's default means, checked beside the parity above: the logit itself, or in (0, 1)."""
    regression, _ = served_and_reference["regression"]
    raw = regression.predict({"inputs": PREMISES[0], "parameters": {"function_to_apply": "none"}})
    assert regression.predict({"inputs": PREMISES[0]}) == raw
    one_label, _ = served_and_reference["one label, no problem_type"]
    [entry] = one_label.predict({"inputs": PREMISES[0]})
    assert entry["label"] == "relevant" and 0 < entry["score"] < 1


def test_records_of_pairs_and_texts_share_one_model_pass_and_keep_their_own_shapes(served_and_reference):
    model, reference = served_and_reference["single-label"]
    calls = []
    original = model.engine.run
    model.engine.run = lambda feed: calls.append(feed["input_ids"].shape[0]) or original(feed)
    try:
        results = model.predict_records(
            RecordBatch(
                JSONLINES,
                [
                    {"inputs": PAIRS[0]},
                    PAIRS[1],
                    {"inputs": {"text_pair": "no text"}},
                    {"inputs": [PAIRS[2], "a text"]},
                    "a lone text",
                ],
            )
        )
    finally:
        model.engine.run = original
    assert calls == [5]  # the five items of the four good records in one pass
    first, top_level, error, mixed, lone = results.results
    assert isinstance(error, BadRequest) and "inputs.text is missing" in error.message
    assert_same(first, reference(PAIRS[0]))
    assert_same(top_level, reference(PAIRS[1]))
    assert_same(mixed, reference([PAIRS[2], "a text"]))
    assert_same(lone, reference("a lone text"))


def test_items_are_strings_and_frozen_pairs_so_the_cache_and_the_batcher_can_key_them():
    request = parse_classification_request({"inputs": [PAIRS[0], "text", {"text": "alone"}]})
    assert request.items == [TextPair(PREMISES[0], HYPOTHESES[0]), "text", TextPair("alone")]
    assert request.is_batch and len({*request.items}) == 3
    assert parse_classification_request({"text": "a", "text_pair": "b"}).items == [TextPair("a", "b")]
    assert parse_classification_request({"text": "a"}).items == ["a"]  # "text" alone stands for "inputs"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": {"text_pair": "b"}}, 'inputs.text is missing: a text pair is {"text": ..., "text_pair": ...}'),
        ({"text_pair": "b"}, "text is missing"),
        ({"inputs": ["a", {"text_pair": "b"}]}, "inputs[1].text is missing"),
        ({"inputs": [{"text": "a", "text_pair": " "}]}, "inputs[0].text_pair must not be empty"),
        ({"inputs": {"text": "a", "text_pair": 3}}, "inputs.text_pair must be a string, not number"),
        ({"text": "a", "text_pair": None}, "text_pair must be a string, not null"),
        ({"text": 4, "text_pair": "b"}, "text must be a string, not number"),
        ({"inputs": {"text": "a", "pair": "b"}}, "unknown field(s) pair in inputs: a text pair is"),
        ({"inputs": "a", "text_pair": "b"}, 'text_pair goes beside "text" or inside "inputs"'),
        ({"text": "a", "text_pair": "b", "top_k": 2}, "unknown field(s) top_k: expected text, text_pair, parameters"),
        ({"inputs": [["a", "b"]]}, 'inputs[0] must be a string or a {"text": ..., "text_pair": ...} object, not array'),
        ({"inputs": PAIRS[0], "parameters": {"top_k": 0}}, "parameters.top_k must be an integer >= 1, or null"),
        (
            {"text": "a", "text_pair": "b", "parameters": {"function_to_apply": "relu"}},
            "parameters.function_to_apply must be one of softmax, sigmoid, none",
        ),
        ({"inputs": PAIRS[0], "parameters": {"explain": True}}, "explanations of text pairs are not supported"),
        ({"inputs": ["a", PAIRS[0]], "parameters": {"explain": True}}, "explanations of text pairs are not supported"),
        (
            {"inputs": "a", "parameters": {"explain_steps": 8}},
            "parameters.explain_steps needs parameters.explain: true",
        ),
        ({"inputs": "a", "parameters": {"top": 1}}, "unknown parameters: top (accepted: top_k, function_to_apply,"),
    ],
)
def test_bad_pairs_and_parameters_are_400s_naming_the_field(payload, message):
    with pytest.raises(BadRequest) as caught:
        parse_classification_request(payload)
    assert message in caught.value.message


def test_a_pairs_tokens_are_both_texts_with_their_special_tokens(served_and_reference):
    model, reference = served_and_reference["single-label"]
    model.take_usage()
    model.predict({"inputs": [PAIRS[0], "a text"]})
    usage = model.take_usage()
    pair = reference.tokenizer(PAIRS[0]["text"], PAIRS[0]["text_pair"])["input_ids"]
    assert usage is not None and usage.tokens == len(pair) + len(reference.tokenizer("a text")["input_ids"])
