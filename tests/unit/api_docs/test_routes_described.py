"""docs/openapi.yaml describes exactly the route table (hf_serving/routes.py): every route is a path with each of its
methods, every path is a route, each protocol's operations carry its tag, and every error a route answers is
described in that route's protocol's error shape."""

from __future__ import annotations

import jsonschema
import pytest

from hf_serving.api_docs import spec
from hf_serving.error_catalogue import Protocol
from hf_serving.routes import ROUTES, Route

SOURCE = spec.load()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The table's rows that the description writes under other paths: /openapi is served as two files, and POST /predict
# is /invocations under the tutorial services' name (counted as /invocations in /metrics: launcher/route_locations.py).
DESCRIBED_AS = {"/openapi": ("/openapi.json", "/openapi.yaml")}
ALIASES = {"/predict": "/invocations"}
# /hf-inference answers in TEI's error shape, the Inference API's.
TAGS = {Protocol.OPENAI: {"openai"}, Protocol.TEI: {"tei", "hf-inference"}, Protocol.KSERVE: {"kserve-v1", "kserve-v2"}}
ERROR_SCHEMAS = {
    Protocol.SAGEMAKER: "Error",
    Protocol.OPENAI: "OpenAIError",
    Protocol.TEI: "TEIError",
    Protocol.KSERVE: "KServeError",
}


def described_paths(route: Route) -> tuple[str, ...]:
    return DESCRIBED_AS.get(route.path, (route.path,))


def answering_methods(path: str) -> set[str]:
    """The methods the description says a path answers: those with a 2xx (an operation that only documents the 405
    a method gets, such as GET /invocations, answers nothing)."""
    item = SOURCE["paths"][path]
    return {
        method.upper()
        for method in METHODS
        if method in item and any(str(status).startswith("2") for status in item[method]["responses"])
    }


def resolved(node: dict, kind: str) -> dict:
    ref = node.get("$ref")
    if ref is None:
        return node
    prefix = f"#/components/{kind}/"
    assert ref.startswith(prefix), ref
    return SOURCE["components"][kind][ref[len(prefix) :]]


def route_of(path: str) -> Route:
    path = ALIASES.get(path, path)
    return next(route for route in ROUTES if path in described_paths(route))


@pytest.mark.parametrize("route", ROUTES, ids=[route.path for route in ROUTES])
def test_every_route_is_described_with_each_of_its_methods(route):
    # HEAD is GET without the body (nginx answers it wherever GET is): the description lists GET.
    wanted = {method for method in route.methods if method != "HEAD"}
    for path in described_paths(route):
        assert path in SOURCE["paths"], f"{route.name}: {path} is not in docs/openapi.yaml"
        assert answering_methods(path) == wanted, f"{path}: described {answering_methods(path)}, routed {wanted}"


def test_every_described_path_is_a_route():
    routed = {path for route in ROUTES for path in described_paths(route)} | set(ALIASES)
    assert set(SOURCE["paths"]) - routed == set()


def test_a_method_the_description_does_not_answer_is_described_as_the_405_it_gets():
    for path, item in SOURCE["paths"].items():
        for method in METHODS:
            if method in item and method.upper() not in answering_methods(path):
                assert "405" in item[method]["responses"], f"{method.upper()} {path}"


@pytest.mark.parametrize(
    "route", [route for route in ROUTES if route.protocol is not Protocol.SAGEMAKER], ids=lambda route: route.path
)
def test_a_protocol_routes_operations_carry_its_tag(route):
    for path in described_paths(route):
        for method in METHODS:
            if method in SOURCE["paths"][path]:
                assert set(SOURCE["paths"][path][method]["tags"]) & TAGS[route.protocol], f"{method} {path}"


def test_every_tag_used_is_declared_and_each_protocols_has_a_description():
    declared = {tag["name"]: tag for tag in SOURCE["tags"]}
    used = {
        tag
        for item in SOURCE["paths"].values()
        for method in METHODS
        if method in item
        for tag in item[method].get("tags", [])
    }
    assert used <= set(declared)
    for tag in set().union(*TAGS.values()):
        assert declared[tag].get("description"), tag


@pytest.mark.parametrize("path", list(SOURCE["paths"]))
def test_every_error_a_route_answers_is_described_in_its_protocols_shape(path):
    shape = ERROR_SCHEMAS[route_of(path).protocol]
    item = SOURCE["paths"][path]
    for method in METHODS:
        if method not in item:
            continue
        for status, response in item[method]["responses"].items():
            if int(status) < 400:
                continue
            for media, content in resolved(response, "responses")["content"].items():
                assert media == "application/json", f"{method} {path} {status}"
                assert content["schema"] == {"$ref": f"#/components/schemas/{shape}"}, f"{method} {path} {status}"


def _json_schema(node: object) -> object:
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable` as a "null" type (the rest is the same here)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True and "type" in node:
        converted["type"] = [node["type"], "null"]
    return converted


COMPONENTS = _json_schema(SOURCE["components"])


def examples_of(content: dict) -> list[tuple[str, object]]:
    named = [(name, example["value"]) for name, example in (content.get("examples") or {}).items()]
    return named + ([("example", content["example"])] if "example" in content else [])


def documented_examples() -> list[tuple[str, dict, object]]:
    """(where, schema, example) for every JSON example of a request or response of every operation."""
    found = []
    for path, item in SOURCE["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            bodies = (
                [("request", resolved(operation["requestBody"], "requestBodies"))] if "requestBody" in operation else []
            )
            bodies += [(status, resolved(response, "responses")) for status, response in operation["responses"].items()]
            for where, body in bodies:
                for media, content in body.get("content", {}).items():
                    if media == "application/json" and "schema" in content:
                        for name, example in examples_of(content):
                            found.append((f"{method.upper()} {path} {where} {name}", content["schema"], example))
    return found


@pytest.mark.parametrize(
    ("where", "schema", "example"), documented_examples(), ids=[where for where, _, _ in documented_examples()]
)
def test_every_example_is_valid_by_its_schema(where, schema, example):
    jsonschema.validate(example, {**_json_schema(schema), "components": COMPONENTS})
