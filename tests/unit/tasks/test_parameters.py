"""The declarative parameters: one declaration gives the validator (errors naming the field) and the OpenAPI schema."""

from __future__ import annotations

import jsonschema
import pytest

from hf_serving.errors import BadRequest
from hf_serving.tasks.parameters import Boolean, Choice, Integer, Number, ParameterSpec, Text, Texts

SPEC = ParameterSpec(
    "ExampleParameters",
    (
        Integer("top_k", default=5, minimum=1, maximum=100, description="Answers per text."),
        Integer("stride", minimum=0, nullable=True, null_means="for no overlap"),
        Number("threshold", default=0.5, minimum=0.0, maximum=1.0),
        Boolean("multi_label", default=False),
        Choice("aggregation_strategy", ("none", "simple", "first"), default="none"),
        Text(
            "hypothesis_template",
            default="This example is {}.",
            check=lambda text: None if "{}" in text else "must contain {} where the label goes",
        ),
        Texts("candidate_labels", comma_separated=True, max_items=3, required=True),
    ),
    description="An example.",
)


def test_absent_parameters_take_their_defaults_and_given_tells_them_apart():
    values = SPEC.parse({"candidate_labels": "a, b"})
    assert dict(values) == {
        "top_k": 5,
        "stride": None,
        "threshold": 0.5,
        "multi_label": False,
        "aggregation_strategy": "none",
        "hypothesis_template": "This example is {}.",
        "candidate_labels": ("a", "b"),
    }
    assert values.given("candidate_labels") and not values.given("top_k")


def test_given_values_are_read_as_the_task_reads_them():
    values = SPEC.parse(
        {
            "top_k": 100,
            "stride": None,
            "threshold": 1,
            "multi_label": True,
            "aggregation_strategy": "SIMPLE",
            "candidate_labels": ["x", "y z"],
        }
    )
    assert (values["top_k"], values["stride"], values["threshold"], values["aggregation_strategy"]) == (
        100,
        None,
        1.0,
        "simple",
    )
    assert values["candidate_labels"] == ("x", "y z") and values.given("stride")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"top_k": 0}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": True}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": 2.0}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": None}, "parameters.top_k must be an integer from 1 to 100"),
        ({"stride": -1}, "parameters.stride must be an integer >= 0, or null for no overlap"),
        ({"threshold": 1.5}, "parameters.threshold must be a number from 0 to 1"),
        ({"threshold": float("nan")}, "parameters.threshold must be a number from 0 to 1"),
        ({"multi_label": "true"}, "parameters.multi_label must be true or false, not string"),
        ({"aggregation_strategy": "mean"}, "parameters.aggregation_strategy must be one of none, simple, first"),
        ({"hypothesis_template": "no slot"}, "parameters.hypothesis_template must contain {} where the label goes"),
        ({"hypothesis_template": " "}, "parameters.hypothesis_template must be a non-empty string"),
        ({"candidate_labels": []}, "parameters.candidate_labels must be a list of 1 to 3 non-empty strings"),
        ({"candidate_labels": ["a", "b", "c", "d"]}, "parameters.candidate_labels must be a list of 1 to 3"),
        ({"candidate_labels": ["a", ""]}, "parameters.candidate_labels must be a list"),
        ({"candidate_labels": " , "}, "parameters.candidate_labels must be a list"),
    ],
)
def test_each_bad_value_is_a_400_naming_its_parameter_and_what_it_must_be(parameters, message):
    with pytest.raises(BadRequest) as refused:
        SPEC.parse({"candidate_labels": "a", **parameters})
    assert refused.value.message == message or refused.value.message.startswith(message)


def test_unknown_missing_and_non_object_parameters_are_400s():
    with pytest.raises(BadRequest) as unknown:
        SPEC.parse({"candidate_labels": "a", "topk": 1, "aggregation": "simple"})
    assert unknown.value.message == (
        "unknown parameters: aggregation, topk (accepted: top_k, stride, threshold, "
        "multi_label, aggregation_strategy, hypothesis_template, candidate_labels)"
    )
    with pytest.raises(BadRequest, match=r"parameters\.candidate_labels is missing"):
        SPEC.parse(None)
    with pytest.raises(BadRequest, match="parameters must be a JSON object, not array"):
        SPEC.parse([1])


def test_the_schema_says_what_the_validator_accepts():
    schema = SPEC.schema()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["description"] == "An example." and schema["required"] == ["candidate_labels"]
    properties = schema["properties"]
    assert list(properties) == list(SPEC.names)
    assert properties["top_k"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 5,
        "description": "Answers per text.",
    }
    assert properties["stride"] == {"type": "integer", "minimum": 0, "nullable": True}
    assert properties["threshold"] == {"type": "number", "minimum": 0.0, "maximum": 1.0, "default": 0.5}
    assert properties["multi_label"] == {"type": "boolean", "default": False}
    assert properties["aggregation_strategy"] == {
        "type": "string",
        "enum": ["none", "simple", "first"],
        "default": "none",
    }
    assert properties["candidate_labels"]["oneOf"][0] == {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "minItems": 1,
        "maxItems": 3,
    }


def test_explain_asked_of_a_task_without_explanations_says_so():
    with pytest.raises(BadRequest) as refused:
        SPEC.parse({"candidate_labels": "a", "explain": True})
    assert refused.value.message.startswith("parameters.explain: this task's answers have no explanations")
    with pytest.raises(BadRequest, match="unknown parameters: explain "):
        SPEC.parse({"candidate_labels": "a", "explain": False})


@pytest.mark.parametrize("blank", [["a", " \x1e"], " , ,"])
def test_blank_labels_are_refused_and_the_schema_rules_them_out(blank):
    with pytest.raises(BadRequest, match=r"parameters\.candidate_labels must be"):
        SPEC.parse({"candidate_labels": blank})
    assert not jsonschema.Draft4Validator(SPEC.schema()["properties"]["candidate_labels"]).is_valid(blank)
