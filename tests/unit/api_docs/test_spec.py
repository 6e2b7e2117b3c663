"""The description /openapi.json and /openapi.yaml serve: docs/openapi.yaml, same-origin, the served task's examples
first, the API key's schemes only when there is a key."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from hf_serving.api_docs import spec
from hf_serving.routes import ROUTES, Answerer
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import parameter_schemas
from tests.support.paths import ROOT

SOURCE = spec.load()


def invocation_examples(document: dict) -> dict:
    """The examples of POST /invocations and /predict: one request body, shared through components."""
    for path in ("/invocations", "/predict"):
        assert document["paths"][path]["post"]["requestBody"] == {"$ref": "#/components/requestBodies/Invocation"}
    return document["components"]["requestBodies"]["Invocation"]["content"]["application/json"]["examples"]


def operations(document: dict) -> list[dict]:
    return [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]


def test_the_packaged_description_is_docs_openapi_yaml():
    assert spec.SOURCE.read_bytes() == (ROOT / "docs" / "openapi.yaml").read_bytes()


def test_every_task_the_image_serves_has_a_request_example():
    tasks = {example.get("x-task") for example in invocation_examples(SOURCE).values()}
    assert tasks == {task.value for task in Task}


@pytest.mark.parametrize("task", [task.value for task in Task])
def test_the_served_tasks_examples_come_first_the_others_keep_their_order(task):
    served = invocation_examples(spec.tailored(SOURCE, task, api_key=False))
    source = invocation_examples(SOURCE)
    own = [name for name, example in source.items() if example["x-task"] == task]
    others = [name for name in source if name not in own]
    assert list(served) == own + others
    assert served == source  # the same examples, only reordered


def test_a_multi_model_endpoint_keeps_the_order():
    assert list(invocation_examples(spec.tailored(SOURCE, None, api_key=False))) == list(invocation_examples(SOURCE))


def test_try_it_out_calls_the_origin_the_document_came_from():
    assert SOURCE["servers"][0]["url"] == "http://localhost:8080"  # what a reader of the file is told
    served = spec.tailored(SOURCE, "question-answering", api_key=False)
    assert [server["url"] for server in served["servers"]] == ["."]


def test_without_a_key_there_is_no_authorize_button_and_no_security_anywhere():
    served = spec.tailored(SOURCE, "question-answering", api_key=False)
    assert "security" not in served and "securitySchemes" not in served["components"]
    assert all("security" not in operation for operation in operations(served))


def test_with_a_key_every_operation_but_the_open_ones_needs_it():
    served = spec.tailored(SOURCE, "question-answering", api_key=True)
    assert set(served["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    assert served["security"] == [{"ApiKey": []}, {"Bearer": []}]  # no {} alternative: the key is required
    open_operations = {
        (path, method)
        for path, item in served["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security") == []
    }
    # nginx's own answers (KServe v2's health and server metadata) are open too: probes carry no key.
    edge = {(route.path, "get") for route in ROUTES if route.answerer is Answerer.EDGE}
    assert edge == {
        ("/v2/health/live", "get"),
        ("/v2/health/ready", "get"),
        ("/v2", "get"),
        ("/v2/models/{name}/ready", "get"),
    }
    assert open_operations == {
        ("/ping", "get"),
        ("/docs", "get"),
        ("/openapi.json", "get"),
        ("/openapi.yaml", "get"),
        ("/metrics", "get"),
        *edge,
    }  # /metrics: SERVE_METRICS=key asks for the key


def test_the_source_document_is_left_as_it_was():
    before = copy.deepcopy(SOURCE)
    spec.tailored(SOURCE, "text-classification", api_key=False)
    spec.tailored(SOURCE, "sentence-embeddings", api_key=True)
    assert SOURCE == before


def test_the_json_and_the_yaml_written_are_the_same_document_readable_by_nginx(tmp_path):
    as_json, as_yaml = spec.write(tmp_path, "text-classification", api_key=True)
    document = json.loads(as_json.read_text(encoding="utf-8"))
    assert yaml.safe_load(as_yaml.read_text(encoding="utf-8")) == document
    assert document == spec.tailored(SOURCE, "text-classification", api_key=True)
    assert next(iter(invocation_examples(document))) == "classification"
    assert {as_json.stat().st_mode & 0o777, as_yaml.stat().st_mode & 0o777} == {0o644}
    # Multi-line descriptions stay literal blocks, as in docs/openapi.yaml.
    assert "  description: |\n    The HTTP API of the hf-serving container" in as_yaml.read_text(encoding="utf-8")


def schema_of(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


def test_every_task_a_schema_narrows_to_is_a_task_and_every_schema_it_names_exists():
    for name, schema in SOURCE["components"]["schemas"].items():
        by_task = schema.get("x-by-task", {})
        assert set(by_task) <= {task.value for task in Task}, name
        for ref in re.findall(r"#/components/schemas/(\w+)", json.dumps(by_task)):
            assert ref in SOURCE["components"]["schemas"], (name, ref)


def test_a_served_task_describes_its_own_request_shapes_only():
    served = spec.tailored(SOURCE, "question-answering", api_key=False)
    refs = [json.dumps(choice) for choice in schema_of(served, "InvocationRequest")["anyOf"]]
    assert ['"#/components/schemas/QARequest"' in refs[0], "QAEnvelope" in refs[1], "QAList" in refs[2]] == [True] * 3
    assert len(refs) == 3 and "ExplainedQAInputs" in refs[1]  # an explain request: at most 8 pairs
    assert schema_of(served, "KServeV1Instance") == {
        "description": schema_of(SOURCE, "KServeV1Instance")["description"],
        "allOf": [{"$ref": "#/components/schemas/QAInput"}],
    }
    assert all("x-by-task" not in schema for schema in served["components"]["schemas"].values())


@pytest.mark.parametrize("task", [None, "fill-mask"])  # a multi-model endpoint; a task the source does not narrow
def test_without_a_narrowing_every_shape_stays(task):
    served = spec.tailored(SOURCE, task, api_key=False)
    assert schema_of(served, "InvocationRequest")["anyOf"] == schema_of(SOURCE, "InvocationRequest")["anyOf"]


def test_a_route_only_another_task_answers_keeps_its_errors_only():
    on_embeddings = spec.tailored(SOURCE, "sentence-embeddings", api_key=False)["paths"]["/rerank"]["post"]
    assert not [status for status in on_embeddings["responses"] if status.startswith("2")]
    assert "424" in on_embeddings["responses"]
    assert on_embeddings["description"].startswith("**Not answered by this container**")
    on_a_reranker = spec.tailored(SOURCE, "text-ranking", api_key=False)["paths"]["/rerank"]["post"]
    assert on_a_reranker == SOURCE["paths"]["/rerank"]["post"]


def prompt_name_schemas(document: dict) -> list[dict]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict) and "prompt_name" in node["properties"]:
                found.append(node["properties"]["prompt_name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


def test_prompt_name_takes_the_models_prompts_only():
    served = spec.tailored(
        SOURCE, "sentence-embeddings", api_key=False, schemas=parameter_schemas(), prompt_names=("document", "query")
    )
    found = prompt_name_schemas(served)
    assert len(found) >= 8  # /invocations' envelopes and parameters, TEI's four requests
    for schema in found:
        assert schema["enum"] in (["document", "query"], ["document", "query", None])
        assert (None in schema["enum"]) == bool(schema.get("nullable"))


def test_a_model_without_prompts_takes_no_prompt_name():
    served = spec.tailored(SOURCE, "sentence-embeddings", api_key=False, schemas=parameter_schemas(), prompt_names=())
    for schema in prompt_name_schemas(served):
        assert schema.get("not") == {} or schema["enum"] == [None]  # absent, or TEI's null (its default)


def test_token_ids_are_bounded_by_the_vocabulary():
    assert "maximum" not in schema_of(spec.tailored(SOURCE, "sentence-embeddings", api_key=False), "TokenId")
    served = spec.tailored(SOURCE, "sentence-embeddings", api_key=False, vocabulary=30522)
    assert schema_of(served, "TokenId")["minimum"] == 0 and schema_of(served, "TokenId")["maximum"] == 30521
    # Every token id of the description is that one schema: OpenAI's input, TEI's inputs and /decode's ids.
    assert '"type": "integer", "minimum": 0}' not in json.dumps(
        {name: schema_of(SOURCE, name) for name in ("OpenAIEmbeddingsRequest", "TEITokenIds", "TEIDecodeRequest")}
    )


def test_dimensions_are_at_most_the_models_width():
    served = spec.tailored(SOURCE, "sentence-embeddings", api_key=False, schemas=parameter_schemas(), width=384)
    schemas = served["components"]["schemas"]
    for name in ("OpenAIEmbeddingsRequest", "EmbeddingsEnvelope", "EmbeddingsParameters", "TEIEmbedRequest"):
        assert schemas[name]["properties"]["dimensions"]["maximum"] == 384, name


def test_explain_label_takes_the_models_labels_only():
    general = spec.tailored(SOURCE, "text-classification", api_key=False, schemas=parameter_schemas())
    served = spec.tailored(
        SOURCE, "text-classification", api_key=False, schemas=parameter_schemas(), labels=("NEGATIVE", "POSITIVE")
    )
    assert "enum" not in schema_of(general, "ClassificationParameters")["properties"]["explain_label"]
    explain_label = schema_of(served, "ClassificationParameters")["properties"]["explain_label"]
    assert explain_label["enum"] == ["NEGATIVE", "POSITIVE"] and explain_label["type"] == "string"


def test_a_text_classification_container_describes_texts_and_pairs_only():
    served = spec.tailored(SOURCE, "text-classification", api_key=False)
    refs = set(re.findall(r"#/components/schemas/(\w+)", json.dumps(schema_of(served, "InvocationRequest"))))
    assert refs == {"ClassificationEnvelope", "ClassificationPairAtTheTop", "ClassificationInputs"} | {
        "ExplainAsked",
        "ExplainedTexts",
    }
    assert "TextPair" in json.dumps(schema_of(served, "KServeV1Instance"))
    assert "QAInput" not in json.dumps(schema_of(served, "KServeV1Instance"))
