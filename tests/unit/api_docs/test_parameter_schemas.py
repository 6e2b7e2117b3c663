"""Each task's parameters are declared once (tasks/parameters.py): the served description shows that declaration, and
every value the description rules out is refused by the task's own request parser with a 400 naming the parameter.

A task may declare a second request shape's parameters (sentence similarity beside embeddings): its /docs example
says which (`x-parameters`). The refused values are derived from the served schema itself (a wrong type, one past a
bound, a word not in the enum), so a parameter that the description and the validator see differently fails here,
whatever the task.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from hf_serving.api_docs import spec
from hf_serving.errors import BadRequest
from hf_serving.tasks.base import TaskSpec
from hf_serving.tasks.parameters import ParameterSpec
from hf_serving.tasks.registry import TASKS, parameter_schemas

SOURCE = spec.load()
SERVED = spec.tailored(SOURCE, None, api_key=False, schemas=parameter_schemas())
# Every declaration, with its task: (task row, parameters)
DECLARED: list[tuple[TaskSpec, ParameterSpec]] = [
    (task_spec, parameters)
    for task_spec in TASKS.values()
    for parameters in ([task_spec.parameters] if task_spec.parameters is not None else [])
    + list(task_spec.more_parameters)
]
NAMES = [parameters.schema_name for _, parameters in DECLARED]


def declared(schema_name: str) -> tuple[TaskSpec, ParameterSpec]:
    return next(pair for pair in DECLARED if pair[1].schema_name == schema_name)


def example_request(schema_name: str) -> dict:
    """The first /docs example of the declaration's task in the {"inputs": ..., "parameters": ...} shape whose
    parameters it declares (`x-parameters`, or none for a task's main declaration)."""
    task_spec, parameters = declared(schema_name)
    main = task_spec.parameters is parameters
    examples = SERVED["components"]["requestBodies"]["Invocation"]["content"]["application/json"]["examples"]
    for example in examples.values():
        if (
            example.get("x-task") == task_spec.task.value
            and isinstance(example["value"], dict)
            and "inputs" in example["value"]
            and example.get("x-parameters", None if main else "") == (None if main else schema_name)
        ):
            return copy.deepcopy(example["value"])
    raise AssertionError(f"no /docs example of {task_spec.task.value} with inputs for {schema_name}")


def properties_of(schema_name: str) -> dict[str, Any]:
    return SERVED["components"]["schemas"][schema_name]["properties"]


def a_valid_value(schema: dict[str, Any]) -> Any:
    if "default" in schema:
        return schema["default"]
    if "oneOf" in schema:
        return ["first", "second"]
    if "enum" in schema:
        return schema["enum"][0]
    return {
        "integer": schema.get("minimum", 1),
        "number": schema.get("minimum", 0.5),
        "boolean": True,
        "string": "a word",
    }[schema["type"]]


def refused_values(schema: dict[str, Any]) -> list[Any]:
    """Values the schema rules out."""
    refused: list[Any] = [{"an": "object"}]
    if not schema.get("nullable"):
        refused.append(None)
    if "oneOf" in schema:  # a list of strings, or one string
        array = next(option for option in schema["oneOf"] if option["type"] == "array")
        refused += [3, [3], [""]]
        if array.get("minItems", 0) > 0:
            refused.append([])
        if "maxItems" in array:
            refused.append([f"label {n}" for n in range(array["maxItems"] + 1)])
        return refused
    kind = schema["type"]
    if kind in ("integer", "number"):
        refused += ["3", True]
        if kind == "integer":
            refused.append(2.5)
        if "minimum" in schema:
            refused.append(schema["minimum"] - 1)
        if "maximum" in schema:
            refused.append(schema["maximum"] + 1)
    elif kind == "boolean":
        refused += ["true", 1]
    elif kind == "string":
        refused.append(3)
        if "enum" in schema:
            refused.append("not-one-of-them")
        if schema.get("minLength", 0) > 0:
            refused.append("")
        if "maxLength" in schema:
            refused.append("x" * (schema["maxLength"] + 1))
    return refused


def cases() -> list[tuple[str, str, Any]]:
    return [
        (schema_name, name, value)
        for schema_name in NAMES
        for name, schema in properties_of(schema_name).items()
        for value in refused_values(schema)
    ]


def parse(schema_name: str, parameters: dict[str, Any]) -> None:
    task_spec, declaration = declared(schema_name)
    request = example_request(schema_name)
    for name in declaration.top_level:
        request.pop(name, None)  # TEI's top-level parameters (the embeddings example's normalize) would be given twice
    request["parameters"] = parameters
    task_spec.parse_request(request)


def required_values(schema_name: str) -> dict[str, Any]:
    schema = SERVED["components"]["schemas"][schema_name]
    return {name: a_valid_value(schema["properties"][name]) for name in schema.get("required", [])}


def test_the_served_description_shows_each_declaration_and_the_file_points_to_it():
    assert DECLARED, "no task declares its parameters"
    for _, declaration in DECLARED:
        name = declaration.schema_name
        assert SERVED["components"]["schemas"][name] == declaration.schema()
        assert "x-declared-in" in SOURCE["components"]["schemas"][name], f"docs/openapi.yaml writes {name} by hand"


@pytest.mark.parametrize(("schema_name", "name", "value"), cases())
def test_every_value_the_description_rules_out_is_a_400_naming_the_parameter(schema_name, name, value):
    with pytest.raises(BadRequest) as refused:
        parse(schema_name, {**required_values(schema_name), name: value})
    assert f"parameters.{name}" in refused.value.message


@pytest.mark.parametrize("schema_name", NAMES)
def test_an_unknown_parameter_is_a_400_listing_exactly_the_described_ones(schema_name):
    described = list(properties_of(schema_name))
    with pytest.raises(BadRequest) as refused:
        parse(schema_name, {**required_values(schema_name), "no_such_parameter": 1})
    assert refused.value.message == (f"unknown parameters: no_such_parameter (accepted: {', '.join(described)})")


@pytest.mark.parametrize("schema_name", NAMES)
def test_each_default_the_description_shows_is_accepted(schema_name):
    defaults = {
        name: schema["default"]
        for name, schema in properties_of(schema_name).items()
        if "default" in schema and name != "explain_steps"
    }  # explain_steps needs explain: true
    parse(schema_name, {**required_values(schema_name), **defaults})


def test_a_combination_the_description_rules_out_is_a_400_and_each_part_alone_is_accepted():
    schema = SERVED["components"]["schemas"]["EmbeddingsParameters"]
    both = {"dimensions": 4, "output_value": "token_embeddings"}
    assert not jsonschema.Draft4Validator(schema).is_valid(both)
    with pytest.raises(BadRequest) as refused:
        parse("EmbeddingsParameters", both)
    assert "parameters.dimensions" in refused.value.message
    for name, value in both.items():
        assert jsonschema.Draft4Validator(schema).is_valid({name: value})
        parse("EmbeddingsParameters", {name: value})
    parse("EmbeddingsParameters", {"dimensions": None, "output_value": "token_embeddings"})  # null: no cut
    (rule,) = schema["allOf"]
    assert jsonschema.Draft4Validator(rule).is_valid({"dimensions": None, "output_value": "token_embeddings"})


@pytest.mark.parametrize(
    ("refused", "named"),
    [
        ({"raw_scores": True, "function_to_apply": "softmax"}, "parameters.raw_scores"),
        ({"raw_scores": True, "function_to_apply": "sigmoid"}, "parameters.raw_scores"),
        ({"explain_label": "POSITIVE"}, "parameters.explain_label"),
        ({"explain_label": "POSITIVE", "explain": False}, "parameters.explain_label"),
    ],
)
def test_a_classification_combination_the_description_rules_out_is_a_400(refused, named):
    schema = SERVED["components"]["schemas"]["ClassificationParameters"]
    assert not jsonschema.Draft4Validator(schema).is_valid(refused)
    with pytest.raises(BadRequest) as answered:
        parse("ClassificationParameters", refused)
    assert named in answered.value.message


@pytest.mark.parametrize(
    "accepted",
    [
        {"raw_scores": True},
        {"raw_scores": True, "function_to_apply": "none"},
        {"raw_scores": False, "function_to_apply": "softmax"},
        {"function_to_apply": "sigmoid"},
        {"explain_label": "POSITIVE", "explain": True},
    ],
)
def test_each_classification_combination_the_description_allows_is_accepted(accepted):
    assert jsonschema.Draft4Validator(SERVED["components"]["schemas"]["ClassificationParameters"]).is_valid(accepted)
    parse("ClassificationParameters", accepted)
