"""Each task's parameters are declared once (tasks/parameters.py): the served description shows that declaration, and
every value the description rules out is refused by the task's own request parser with a 400 naming the parameter.

The refused values are derived from the served schema itself (a wrong type, one past a bound, a word not in the
enum), so a parameter that the description and the validator see differently fails here, whatever the task.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hf_serving.api_docs import spec
from hf_serving.errors import BadRequest
from hf_serving.tasks.registry import TASKS, parameter_schemas

SOURCE = spec.load()
SERVED = spec.tailored(SOURCE, None, api_key=False, schemas=parameter_schemas())
DECLARED = [task_spec for task_spec in TASKS.values() if task_spec.parameters is not None]


def example_request(task: str) -> dict:
    """The task's first /docs example in the {"inputs": ..., "parameters": ...} shape."""
    examples = SERVED["components"]["requestBodies"]["Invocation"]["content"]["application/json"]["examples"]
    for example in examples.values():
        if example.get("x-task") == task and isinstance(example["value"], dict) and "inputs" in example["value"]:
            return copy.deepcopy(example["value"])
    raise AssertionError(f"no /docs example of {task} with inputs")


def a_valid_value(schema: dict[str, Any]) -> Any:
    if "default" in schema:
        return schema["default"]
    if "oneOf" in schema:
        return ["first", "second"]
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": schema.get("minimum", 1), "number": schema.get("minimum", 0.5), "boolean": True,
            "string": "a word"}[schema["type"]]


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
    found = []
    for task_spec in DECLARED:
        assert task_spec.parameters is not None
        properties = SERVED["components"]["schemas"][task_spec.parameters.schema_name]["properties"]
        for name, schema in properties.items():
            found += [(task_spec.task.value, name, value) for value in refused_values(schema)]
    return found


def parse(task: str, parameters: dict[str, Any]) -> None:
    task_spec = next(task_spec for task_spec in DECLARED if task_spec.task.value == task)
    request = example_request(task)
    for name in task_spec.parameters.top_level if task_spec.parameters is not None else ():
        request.pop(name, None)  # TEI's top-level parameters (the embeddings example's normalize) would be given twice
    request["parameters"] = parameters
    task_spec.parse_request(request)


def required_values(task: str) -> dict[str, Any]:
    task_spec = next(task_spec for task_spec in DECLARED if task_spec.task.value == task)
    assert task_spec.parameters is not None
    schema = SERVED["components"]["schemas"][task_spec.parameters.schema_name]
    return {name: a_valid_value(schema["properties"][name]) for name in schema.get("required", [])}


def test_the_served_description_shows_each_declaration_and_the_file_points_to_it():
    assert DECLARED, "no task declares its parameters"
    for task_spec in DECLARED:
        assert task_spec.parameters is not None
        name = task_spec.parameters.schema_name
        assert SERVED["components"]["schemas"][name] == task_spec.parameters.schema()
        assert "x-declared-in" in SOURCE["components"]["schemas"][name], f"docs/openapi.yaml writes {name} by hand"


@pytest.mark.parametrize(("task", "name", "value"), cases())
def test_every_value_the_description_rules_out_is_a_400_naming_the_parameter(task, name, value):
    with pytest.raises(BadRequest) as refused:
        parse(task, {**required_values(task), name: value})
    assert f"parameters.{name}" in refused.value.message


@pytest.mark.parametrize("task", [task_spec.task.value for task_spec in DECLARED])
def test_an_unknown_parameter_is_a_400_listing_exactly_the_described_ones(task):
    task_spec = next(task_spec for task_spec in DECLARED if task_spec.task.value == task)
    assert task_spec.parameters is not None
    described = list(SERVED["components"]["schemas"][task_spec.parameters.schema_name]["properties"])
    with pytest.raises(BadRequest) as refused:
        parse(task, {**required_values(task), "no_such_parameter": 1})
    assert refused.value.message == (f"unknown parameters: no_such_parameter (accepted: {', '.join(described)})")


@pytest.mark.parametrize("task", [task_spec.task.value for task_spec in DECLARED])
def test_each_default_the_description_shows_is_accepted(task):
    task_spec = next(task_spec for task_spec in DECLARED if task_spec.task.value == task)
    assert task_spec.parameters is not None
    properties = SERVED["components"]["schemas"][task_spec.parameters.schema_name]["properties"]
    defaults = {name: schema["default"] for name, schema in properties.items()
                if "default" in schema and name != "explain_steps"}  # explain_steps needs explain: true
    parse(task, {**required_values(task), **defaults})
