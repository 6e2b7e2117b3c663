"""Integrated gradients' completeness, checked against the model run directly: the attributions of a text add up to
F(text) - F(baseline) within the stated tolerance, where F is computed here with transformers, not by the code under
test. On a trained classifier (MiniLM, trained here) and the trained question-answering fixture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoTokenizer

from hf_serving.deadline import DeadlineExceeded, deadline_after
from hf_serving.engines import attribution
from hf_serving.engines.attribution import IntegratedGradients, tolerance
from hf_serving.engines.base import Target
from tests.support.paths import TRAINED_QA

QUESTION = "In which year was Daniel Novak born?"
CONTEXT = (
    "In 1936, Daniel Novak was born in Bangkok. Oscar Hansen wrote The Silent Voyage. Zara Berg was born in "
    "Santiago in 1983."
)


def _row(tokenizer, *texts):
    encoded = tokenizer(*texts, return_special_tokens_mask=True)
    special = np.array([encoded.pop("special_tokens_mask")])
    inputs = {name: np.array([values], dtype=np.int64) for name, values in encoded.items()}
    baseline = np.where(special == 1, inputs["input_ids"], tokenizer.pad_token_id)
    return inputs, baseline


def _direct(model, inputs, ids, output, index, transform):
    """F as the model computes it, run here directly."""
    feed = {name: torch.from_numpy(value) for name, value in inputs.items()}
    feed["input_ids"] = torch.from_numpy(ids)
    with torch.no_grad():
        values = model(**feed)[output].float()
    values = {"softmax": lambda v: torch.softmax(v, -1), "sigmoid": torch.sigmoid}.get(transform, lambda v: v)(values)
    return float(values[0, index])


@pytest.fixture(scope="module")
def sentiment(trained_sentiment):
    model = AutoModelForSequenceClassification.from_pretrained(trained_sentiment).eval()
    return AutoTokenizer.from_pretrained(trained_sentiment), model


@pytest.mark.parametrize("transform", ["softmax", "sigmoid", "none"])
@pytest.mark.parametrize(
    "text",
    ["This restaurant was awful.", "What a brilliant trip!", "The concert was superb, but the parking was far away."],
)
def test_a_classifiers_attributions_add_up_to_its_output_change(sentiment, transform, text):
    tokenizer, model = sentiment
    inputs, baseline = _row(tokenizer, text)
    explainer = IntegratedGradients(model, ["input_ids", "attention_mask", "token_type_ids"], "cpu")
    for label in (0, 1):
        [found] = explainer.attribute(inputs, baseline, [Target("logits", label, transform)], 32, 256)
        output = _direct(model, inputs, inputs["input_ids"], "logits", label, transform)
        baseline_output = _direct(model, inputs, baseline, "logits", label, transform)
        assert found.output == pytest.approx(output, abs=1e-5)
        assert found.baseline_output == pytest.approx(baseline_output, abs=1e-5)
        assert found.converged
        assert abs(found.values.sum() - (output - baseline_output)) <= tolerance(output, baseline_output)
        special = baseline[0] == inputs["input_ids"][0]
        assert np.all(found.values[special] == 0)  # the baseline keeps them: nothing to attribute


def test_question_answering_attributions_add_up_to_the_start_and_end_logits():
    tokenizer = AutoTokenizer.from_pretrained(TRAINED_QA)
    model = AutoModelForQuestionAnswering.from_pretrained(TRAINED_QA).eval()
    inputs, baseline = _row(tokenizer, QUESTION, CONTEXT)
    explainer = IntegratedGradients(model, ["input_ids", "attention_mask"], "cpu")
    targets = [Target("start_logits", 12), Target("end_logits", 12)]
    for target, found in zip(targets, explainer.attribute(inputs, baseline, targets, 32, 256), strict=True):
        output = _direct(model, inputs, inputs["input_ids"], target.output, target.index, "none")
        baseline_output = _direct(model, inputs, baseline, target.output, target.index, "none")
        assert found.converged and found.values.shape == (inputs["input_ids"].shape[1],)
        assert abs(found.values.sum() - (output - baseline_output)) <= tolerance(output, baseline_output)


def test_steps_double_until_the_sum_converges_and_stop_at_the_maximum(sentiment):
    tokenizer, model = sentiment
    inputs, baseline = _row(tokenizer, "A dull, slow and boring evening.")
    explainer = IntegratedGradients(model, ["input_ids", "attention_mask", "token_type_ids"], "cpu")
    [doubled] = explainer.attribute(inputs, baseline, [Target("logits", 0, "softmax")], 2, 256)
    assert doubled.converged and doubled.steps > 2 and doubled.steps & (doubled.steps - 1) == 0  # 2 * 2^k
    [capped] = explainer.attribute(inputs, baseline, [Target("logits", 0, "softmax")], 2, 3)
    assert capped.steps == 2
    assert capped.converged == (abs(capped.delta) <= tolerance(capped.output, capped.baseline_output))
    assert capped.delta == pytest.approx(capped.values.sum() - (capped.output - capped.baseline_output))


def test_an_expired_deadline_abandons_the_work_and_a_short_one_allows_no_doubling(sentiment):
    tokenizer, model = sentiment
    inputs, baseline = _row(tokenizer, "This restaurant was awful.")
    explainer = IntegratedGradients(model, ["input_ids", "attention_mask", "token_type_ids"], "cpu")
    with deadline_after(-1.0), pytest.raises(DeadlineExceeded):
        explainer.attribute(inputs, baseline, [Target("logits", 0, "softmax")], 32, 256)
    with deadline_after(10.0):
        assert attribution._time_for(5.0) and not attribution._time_for(20.0)
    assert attribution._time_for(1e9)  # outside a deadline: no limit


def test_the_deadline_is_checked_in_each_layer_going_back_and_the_explainer_works_after(sentiment, monkeypatch):
    """A deadline passing during a backward pass stops it there, not at the next forward pass."""
    tokenizer, model = sentiment
    inputs, baseline = _row(tokenizer, "This restaurant was awful.")
    explainer = IntegratedGradients(model, ["input_ids", "attention_mask", "token_type_ids"], "cpu")
    checked_going_back = []

    def expired_going_back(gradient):
        checked_going_back.append(gradient.shape)
        raise DeadlineExceeded("past the deadline in a backward pass")

    with monkeypatch.context() as patched:
        patched.setattr(attribution, "_checked_gradient", expired_going_back)
        with pytest.raises(DeadlineExceeded, match="in a backward pass"):
            explainer.attribute(inputs, baseline, [Target("logits", 0, "softmax")], 4, 4)
    assert len(checked_going_back) == 1
    found = explainer.attribute(inputs, baseline, [Target("logits", 0, "softmax")], 32, 32)[0]
    assert abs(found.delta) <= tolerance(found.output, found.baseline_output) or found.steps == 32
