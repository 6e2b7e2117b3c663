"""The served fill-mask model: requests checked against this model's tokenizer before any model pass (a 400 naming
the text or the parameter), answers refused early when surely over the limit, the response cache."""

from __future__ import annotations

import pytest

from hf_serving.caching import response_cache
from hf_serving.errors import BadRequest, ResponseTooLarge
from hf_serving.loading.loader import load_served_model
from hf_serving.observability.worker_metrics import WorkerMetrics
from hf_serving.settings import Settings

TEXT = "Paris is the [MASK] of France."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": "no mask here"}, "inputs has no [MASK]: put [MASK] where the word to fill goes"),
        (
            {"inputs": [TEXT, "a [mask] in lower case"]},
            "inputs[1] has no [MASK]: put [MASK] where the word to fill goes",
        ),
        ({"text": [TEXT, "no mask"]}, "text[1] has no [MASK]"),
        (["no mask", TEXT], "inputs[0] has no [MASK]"),
        (
            {"inputs": "word " * 600 + "[MASK] [MASK]"},
            "inputs has 2 [MASK] of 2 past the model's maximum of 512 tokens: shorten the text before it",
        ),
        (
            {"inputs": ["[MASK] " + "word " * 600 + "[MASK]"]},
            "inputs[0] has 1 [MASK] of 2 past the model's maximum of 512 tokens",
        ),
        ({"inputs": TEXT, "parameters": {"top_k": 0}}, "parameters.top_k must be an integer from 1 to 100"),
        ({"inputs": TEXT, "parameters": {"top_k": 101}}, "parameters.top_k must be an integer from 1 to 100"),
        ({"inputs": TEXT, "parameters": {"top_k": "5"}}, "parameters.top_k must be an integer from 1 to 100"),
        ({"inputs": TEXT, "parameters": {"top_k": True}}, "parameters.top_k must be an integer from 1 to 100"),
        ({"inputs": TEXT, "parameters": {"targets": []}}, "parameters.targets must be a list of 1 to 1,000 non-empty"),
        ({"inputs": TEXT, "parameters": {"targets": ["ok", ""]}}, "parameters.targets must be a list of 1 to 1,000"),
        ({"inputs": TEXT, "parameters": {"targets": 3}}, "parameters.targets must be a list of 1 to 1,000"),
        ({"inputs": TEXT, "parameters": {"targets": ["w"] * 1001}}, "parameters.targets must be a list of 1 to 1,000"),
        (
            {"inputs": TEXT, "parameters": {"targets": ["\u200b"]}},
            "parameters.targets: none of '\\u200b' is a token of this model's vocabulary or tokenises to one",
        ),
        (
            {"inputs": TEXT, "parameters": {"targets": ["\u200b"] * 7}},
            "parameters.targets: none of '\\u200b', '\\u200b', '\\u200b', '\\u200b', '\\u200b' and 2 more is a token",
        ),
        ({"inputs": TEXT, "parameters": {"top_n": 3}}, "unknown parameters: top_n (accepted: top_k, targets)"),
        ({"inputs": TEXT, "parameters": {"tokenizer_kwargs": {}}}, "unknown parameters: tokenizer_kwargs"),
    ],
)
def test_bad_requests_are_400_naming_the_text_or_the_parameter(model, body, message):
    with pytest.raises(BadRequest) as refused:
        model.predict(body)
    assert refused.value.status == 400 and message in refused.value.message


def test_targets_null_is_no_targets(model):
    assert model.predict({"inputs": TEXT, "parameters": {"targets": None}}) == model.predict(TEXT)


def test_an_answer_surely_over_the_limit_is_a_413_before_any_model_pass(model_dir, monkeypatch):
    limited = load_served_model(model_dir, Settings(model_dir=model_dir, dtype="float32", max_response_mb=1))
    monkeypatch.setattr(limited.engine, "run", lambda *args: pytest.fail("the model ran"))
    with pytest.raises(ResponseTooLarge):  # 1,400 texts x 100 proposals x 2 numbers: over 1 MB
        limited.predict({"inputs": ["[MASK]"] * 1400, "parameters": {"top_k": 100}})
    assert limited.numbers_per_item(limited.parse({"inputs": TEXT}).parameters) == 10
    assert (
        limited.numbers_per_item(limited.parse({"inputs": TEXT, "parameters": {"targets": ["a", "b"]}}).parameters) == 4
    )


def test_proposals_surely_over_the_limit_are_a_413_once_the_masks_are_counted_before_the_model_pass(
    model_dir, monkeypatch
):
    """40 texts of 250 masks, top_k 100: 1,000,000 proposals of at least 50 bytes, though 40 x 100 x 2 numbers
    alone passed the first count."""
    limited = load_served_model(model_dir, Settings(model_dir=model_dir, dtype="float32", max_response_mb=16))
    monkeypatch.setattr(limited.engine, "run", lambda *args: pytest.fail("the model ran"))
    with pytest.raises(ResponseTooLarge, match="the answer holds 1,000,000 proposals, at least 50,000,000 bytes"):
        limited.predict({"inputs": ["[MASK] " * 250] * 40, "parameters": {"top_k": 100}})


def test_the_response_cache_answers_a_repeat_without_the_model(model_dir, monkeypatch):
    """Results are JSON as they are; the parameters (targets and their ids, tuples) name the cached answer."""
    settings = Settings(model_dir=model_dir, dtype="float32", response_cache="memory")
    cached = load_served_model(model_dir, settings)
    assert response_cache.for_model(settings, cached, set(), WorkerMetrics("model", "fill-mask", enabled=False))
    bodies = [
        {"inputs": [TEXT, "The [MASK] sat on the [MASK]."], "parameters": {"targets": ["cat", "capital"]}},
        {"inputs": TEXT, "parameters": {"top_k": 3}},
    ]

    def usage_of(body):
        cached.predict(body)
        return cached.take_usage()

    first = [usage_of(body) for body in bodies]
    assert [(counted.tokens, counted.cached) for counted in first] == [(9 + 9, [False, False]), (9, [False])]
    monkeypatch.setattr(cached.engine, "run", lambda *args: pytest.fail("the model ran"))
    again = [usage_of(body) for body in bodies]
    assert [counted.result for counted in again] == [counted.result for counted in first]
    assert [(counted.tokens, counted.cached) for counted in again] == [(0, [True, True]), (0, [True])]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_openvino_the_default_engine_on_cpu_serves_it_close_to_torch_float32(model, model_dir, dtype):
    """OpenVINO converts the masked-LM head too; float32 answers as torch does, bfloat16 within its precision (the
    tiny random model's probabilities are all near 1/30,522, so bfloat16 may reorder them: its top token must
    still be among float32's top 5)."""
    converted = load_served_model(model_dir, Settings(model_dir=model_dir, dtype=dtype, engine="openvino"))
    assert "OpenVINO" in converted.describe()
    texts = [TEXT, "The [MASK] sat on the mat."]
    ours, reference = converted.predict({"inputs": texts}), model.predict({"inputs": texts})
    for mine, expected in zip(ours, reference, strict=True):
        if dtype == "float32":
            assert [entry["token"] for entry in mine] == [entry["token"] for entry in expected]
            assert [entry["score"] for entry in mine] == pytest.approx([entry["score"] for entry in expected], rel=1e-4)
        else:
            assert mine[0]["token"] in [entry["token"] for entry in expected]
            assert mine[0]["score"] == pytest.approx(expected[0]["score"], rel=0.05)
