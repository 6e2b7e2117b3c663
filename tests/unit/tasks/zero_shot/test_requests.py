"""Zero-shot requests: the pipeline's parameters, each refusal a 400 naming what is wrong."""

from __future__ import annotations

import pytest

from hf_serving.errors import BadRequest
from hf_serving.tasks.zero_shot.requests import (
    DEFAULT_TEMPLATE,
    MAX_CANDIDATE_LABELS,
    ZeroShotItem,
    parse_zero_shot_request,
)


def test_one_text_with_a_list_of_labels_and_the_defaults():
    request = parse_zero_shot_request({"inputs": "hi", "parameters": {"candidate_labels": ["a b", " c"]}})
    assert request.items == [ZeroShotItem("hi", ("a b", " c"), DEFAULT_TEMPLATE, False)]  # a list is kept as given
    assert request.parameters is None and request.is_batch is False


def test_a_comma_separated_string_is_split_as_the_pipeline_splits_it():
    request = parse_zero_shot_request(
        {
            "inputs": ["x", "y"],
            "parameters": {
                "candidate_labels": " sports, politics ,,cooking ",
                "hypothesis_template": "About {}.",
                "multi_label": True,
            },
        }
    )
    assert request.items == [
        ZeroShotItem(text, ("sports", "politics", "cooking"), "About {}.", True) for text in ("x", "y")
    ]
    assert request.is_batch is True


def test_candidate_labels_may_stand_beside_inputs_as_a_csv_row_gives_them():
    request = parse_zero_shot_request({"text": "x", "candidate_labels": "a,b"})
    assert request.items == [ZeroShotItem("x", ("a", "b"))]


@pytest.mark.parametrize(
    ("payload", "fragments"),
    [
        ({"inputs": "x"}, ["parameters.candidate_labels is missing"]),
        ({"inputs": "x", "parameters": {"multi_label": True}}, ["parameters.candidate_labels is missing"]),
        (
            {"inputs": "x", "parameters": {"candidate_labels": []}},
            ["parameters.candidate_labels must be a list of 1 to"],
        ),
        ({"inputs": "x", "parameters": {"candidate_labels": " , ,"}}, ["parameters.candidate_labels"]),
        ({"inputs": "x", "parameters": {"candidate_labels": ["a", ""]}}, ["parameters.candidate_labels"]),
        ({"inputs": "x", "parameters": {"candidate_labels": ["a", 3]}}, ["parameters.candidate_labels"]),
        ({"inputs": "x", "parameters": {"candidate_labels": {"a": 1}}}, ["parameters.candidate_labels"]),
        (
            {"inputs": "x", "parameters": {"candidate_labels": [f"l{i}" for i in range(MAX_CANDIDATE_LABELS + 1)]}},
            ["parameters.candidate_labels", f"1 to {MAX_CANDIDATE_LABELS}"],
        ),
        (
            {
                "inputs": "x",
                "parameters": {"candidate_labels": ",".join(f"l{i}" for i in range(MAX_CANDIDATE_LABELS + 1))},
            },
            ["parameters.candidate_labels", f"1 to {MAX_CANDIDATE_LABELS}"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "hypothesis_template": "This example is a label."}},
            ["parameters.hypothesis_template must contain {}"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "hypothesis_template": "{} or {}?"}},
            ["parameters.hypothesis_template must contain {} once"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "hypothesis_template": "It is {label}."}},
            ["parameters.hypothesis_template must contain {}"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "hypothesis_template": "{{}} escaped"}},
            ["parameters.hypothesis_template must contain {}"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "hypothesis_template": ""}},
            ["parameters.hypothesis_template"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "multi_label": "yes"}},
            ["parameters.multi_label must be true or false"],
        ),
        (
            {"inputs": "x", "parameters": {"candidate_labels": "a", "top_k": 2}},
            ["unknown parameters: top_k", "candidate_labels, hypothesis_template, multi_label"],
        ),
        (
            {"inputs": "x", "candidate_labels": "a", "parameters": {"candidate_labels": "b"}},
            ["candidate_labels given both"],
        ),
        (
            {"inputs": "x", "multi_label": True, "parameters": {"candidate_labels": "b"}},
            ["unknown field(s) multi_label"],
        ),
        ({"inputs": "", "parameters": {"candidate_labels": "a"}}, ["inputs must not be empty"]),
        ({"inputs": ["ok", 5], "parameters": {"candidate_labels": "a"}}, ["inputs[1] must be a string"]),
    ],
)
def test_bad_requests_are_refused_naming_the_field(payload, fragments):
    with pytest.raises(BadRequest) as caught:
        parse_zero_shot_request(payload)
    assert all(fragment in str(caught.value) for fragment in fragments), str(caught.value)


def test_a_template_with_a_format_spec_or_an_index_is_accepted_as_str_format_fills_it():
    for template in ("This is {0}.", "This is {!s}.", "{{literal}} {}"):
        request = parse_zero_shot_request(
            {"inputs": "x", "parameters": {"candidate_labels": "a", "hypothesis_template": template}}
        )
        assert request.items[0].template == template
