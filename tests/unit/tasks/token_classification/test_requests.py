"""The task's requests: its parameters (each error a 400 naming the field), the pipeline's refusals, detection."""

from __future__ import annotations

import json

import pytest

from hf_serving.errors import BadRequest
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import TASKS, detect_task
from hf_serving.tasks.token_classification.requests import (
    SPEC,
    TokenClassificationParameters,
    parse_token_classification_request,
)


def test_defaults_are_the_pipelines():
    request = parse_token_classification_request("Ada lives in London.")
    assert request.items == ["Ada lives in London."] and not request.is_batch
    assert request.parameters == TokenClassificationParameters("none", ("O",), None)


def test_every_parameter_is_read_case_and_shapes_as_documented():
    request = parse_token_classification_request(
        {
            "inputs": ["a", "b"],
            "parameters": {"aggregation_strategy": "MAX", "ignore_labels": ["O", "B-MISC"], "stride": 16},
        }
    )
    assert request.is_batch and request.items == ["a", "b"]
    assert request.parameters == TokenClassificationParameters("max", ("O", "B-MISC"), 16)
    assert (
        parse_token_classification_request(
            {"inputs": "a", "parameters": {"ignore_labels": []}}
        ).parameters.ignore_labels
        == ()
    )
    assert parse_token_classification_request(
        {"text": "a", "parameters": {"ignore_labels": "O"}}
    ).parameters.ignore_labels == ("O",)
    hash(request.parameters)  # records that share parameters are answered together: they must be a dict key


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"aggregation_strategy": "longest"},
            "parameters.aggregation_strategy must be one of none, simple, first, average, max",
        ),
        ({"aggregation_strategy": 1}, "parameters.aggregation_strategy must be one of"),
        ({"ignore_labels": [1]}, "parameters.ignore_labels must be a list of"),
        ({"ignore_labels": {"O": True}}, "parameters.ignore_labels must be a list of"),
        ({"stride": -1}, "parameters.stride must be an integer >= 0"),
        ({"stride": True}, "parameters.stride must be an integer >= 0"),
        ({"stride": 2.5}, "parameters.stride must be an integer >= 0"),
        ({"stride": 8, "aggregation_strategy": "none"}, "parameters.stride needs parameters.aggregation_strategy"),
        ({"top_k": 3}, "unknown parameters: top_k (accepted: aggregation_strategy, ignore_labels, stride)"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(parameters, message):
    with pytest.raises(BadRequest) as caught:
        parse_token_classification_request({"inputs": "Ada lives in London.", "parameters": parameters})
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": ["fine", ""]}, "inputs[1] must not be empty"),
        ({"inputs": []}, "inputs must not be an empty list"),
        ({"inputs": 3}, "inputs must be a string, not number"),
        ({"inputs": "x", "parameters": []}, "parameters must be a JSON object, not array"),
    ],
)
def test_bad_inputs_are_400_naming_the_item(payload, message):
    with pytest.raises(BadRequest) as caught:
        parse_token_classification_request(payload)
    assert message in caught.value.message


def test_stride_with_none_only_implied_is_accepted_as_the_pipeline_accepts_it():
    assert parse_token_classification_request({"inputs": "a", "parameters": {"stride": 8}}).parameters.stride == 8


def test_a_stride_the_tokenizer_cannot_window_is_a_400_not_a_panic(served_short):
    """A window holds 24 - 2 tokens here: a stride of 22 would make the Rust tokenizer panic."""
    with pytest.raises(BadRequest, match=r"parameters.stride must be less than 22 \(this model's 24 tokens"):
        served_short.predict({"inputs": "a", "parameters": {"aggregation_strategy": "simple", "stride": 22}})
    assert (
        served_short.predict({"inputs": "a", "parameters": {"aggregation_strategy": "simple", "stride": 21}})
        is not None
    )


def test_the_openapi_schema_comes_from_the_same_declaration():
    schema = SPEC.schema()
    assert set(schema["properties"]) == {"aggregation_strategy", "ignore_labels", "stride"}
    assert schema["properties"]["aggregation_strategy"]["enum"] == ["none", "simple", "first", "average", "max"]
    assert schema["properties"]["ignore_labels"]["default"] == ["O"]
    assert TASKS[Task.TOKEN_CLASSIFICATION].parameters is SPEC


@pytest.mark.parametrize(
    ("architectures", "forced"),
    [
        (["DistilBertForTokenClassification"], None),
        (["BertForTokenClassification"], None),
        (["DistilBertForQuestionAnswering"], "ner"),
        ([], "token-classification"),
        ([], "NER"),
    ],
)
def test_detected_from_architectures_or_hf_task(tmp_path, architectures, forced):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": architectures}))
    spec = detect_task(tmp_path, forced)
    assert spec.task is Task.TOKEN_CLASSIFICATION and spec.task.value == "token-classification"
    assert spec.auto_model == "AutoModelForTokenClassification" and spec.output_names == ("logits",)
    assert spec.csv_columns == ("text",)
