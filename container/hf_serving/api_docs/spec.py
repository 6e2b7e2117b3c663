"""The OpenAPI description GET /openapi.json and /openapi.yaml serve: docs/openapi.yaml, tailored to this start.

Written by the launcher into its runtime directory, beside nginx's configuration, once per start:
- `servers` is "." (the origin, and path prefix, the document was fetched from), so that "Try it out" on /docs
  calls the container the page came from, whatever host and port a client reached it by;
- the request examples of the task this container serves come first, so that the example /docs fills in is one the
  served model answers (each example names its task with `x-task`); a multi-model endpoint keeps the order;
- the API key's security schemes (the Authorize button) are there only when SERVE_API_KEY is set, and then every
  operation that is not open says it needs one;
- each task's parameters schema (components.schemas.QAParameters, ...) is the one its declaration produces
  (tasks/parameters.py, handed in by the launcher), so /docs shows what the validator accepts; docs/openapi.yaml
  holds a pointer to the declaration in its place.
- a schema that holds `x-by-task` (the request shapes of /invocations, KServe v1's instances) becomes the served
  task's own there, so that /docs and a client's generated code take what this model takes; an operation marked
  `x-answered-by` tasks other than the served one (TEI's /rerank on an embeddings model) keeps only its errors.
- what the model's files say beyond its task (tasks/registry.py read_model_facts, called by the launcher):
  `prompt_name` takes its prompts' names only, a token id (components.schemas.TokenId) is bounded by its tokenizer's
  vocabulary, `dimensions` by its vectors' width, and `explain_label` takes its labels.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from hf_serving import error_catalogue

# Package data: in git a link to docs/openapi.yaml (where readers look for it), in a wheel the file itself.
SOURCE = Path(str(files("hf_serving.api_docs") / "openapi.yaml"))
JSON_NAME = "openapi.json"
YAML_NAME = "openapi.yaml"
# The line of the description that the error catalogue's table replaces (error_catalogue.markdown_table).
ERROR_CODES_MARK = (
    "ERROR_CODES_TABLE (every code with its status, written here at start from hf_serving/error_catalogue.py)"
)
SAME_ORIGIN = [{"url": ".", "description": "this container: the origin (and path prefix) that served this document"}]


def load(source: Path = SOURCE) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it: ~10x faster
    document = yaml.load(source.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(document, dict) or "paths" not in document:
        raise ValueError(f"{source} is not an OpenAPI description")
    return document


def tailored(
    document: dict[str, Any],
    task: str | None,
    api_key: bool,
    schemas: dict[str, dict[str, Any]] | None = None,
    *,
    prompt_names: tuple[str, ...] | None = None,
    vocabulary: int | None = None,
    width: int | None = None,
    labels: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """`document` for this container: `task` is the served task's name (None on a multi-model endpoint), `api_key`
    whether SERVE_API_KEY is set, `schemas` the tasks' declared parameter schemas by name; `prompt_names` the
    model's prompts, `vocabulary` its tokenizer's size, `width` its vectors' and `labels` its classes, where known
    (None: the description stays general)."""
    served = copy.deepcopy(document)
    served["servers"] = copy.deepcopy(SAME_ORIGIN)
    info = served.setdefault("info", {})
    info["description"] = str(info.get("description", "")).replace(ERROR_CODES_MARK, error_catalogue.markdown_table())
    served.setdefault("components", {}).setdefault("schemas", {}).update(copy.deepcopy(schemas or {}))
    if task is not None:
        bodies = [operation.get("requestBody") or {} for operation in _operations(served)]
        bodies += served.get("components", {}).get("requestBodies", {}).values()  # shared by /invocations, /predict
        for body in bodies:
            for content in body.get("content", {}).values():
                if isinstance(content.get("examples"), dict):
                    content["examples"] = _task_first(content["examples"], task)
        _narrow_to_task(served, task)
    if prompt_names is not None:
        _prompt_names_only(served, prompt_names)
    if vocabulary is not None:
        token_id = served.get("components", {}).get("schemas", {}).get("TokenId")
        if isinstance(token_id, dict):
            token_id["maximum"] = vocabulary - 1
            token_id["description"] = f"A token id of this model's tokenizer: 0 to {vocabulary - 1:,}."
    if width is not None:
        _dimensions_up_to(served, width)
    if labels is not None:
        _explain_label_of(served, labels)
    if api_key:
        # The key is required then: the alternative "no security" ({}) would let Swagger UI send requests without it.
        schemes = list(served.get("components", {}).get("securitySchemes", {}))
        served["security"] = [{name: []} for name in schemes]
    else:
        served.pop("security", None)
        served.get("components", {}).pop("securitySchemes", None)
        for operation in _operations(served):
            operation.pop("security", None)
    return served


def _narrow_to_task(served: dict[str, Any], task: str) -> None:
    schemas = served.get("components", {}).get("schemas", {})
    for name, schema in list(schemas.items()):
        by_task = schema.pop("x-by-task", None) if isinstance(schema, dict) else None
        if isinstance(by_task, dict) and task in by_task:
            own = copy.deepcopy(by_task[task])
            # A $ref's sibling keywords are ignored (OpenAPI 3.0): beside a description, the $ref goes in an allOf.
            narrowed = {"allOf": [own]} if "$ref" in own else own
            schemas[name] = {"description": schema["description"], **narrowed} if "description" in schema else narrowed
    for operation in _operations(served):
        answered_by = operation.get("x-answered-by")
        if isinstance(answered_by, list) and task not in answered_by:
            responses = operation.get("responses", {})
            for status in [status for status in responses if str(status).startswith("2")]:
                del responses[status]
            operation["description"] = (
                f"**Not answered by this container**: its model's task is {task}, and only "
                f"{' or '.join(answered_by)} answers this route; it answers an error here.\n\n"
                + str(operation.get("description", ""))
            )


def _holders_of(node: object, name: str) -> Iterator[dict[str, Any]]:
    """Every `properties` object of the document that declares the property `name` (as a schema object)."""
    if isinstance(node, list):
        for item in node:
            yield from _holders_of(item, name)
    elif isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get(name), dict):
            yield properties
        for value in node.values():
            yield from _holders_of(value, name)


def _prompt_names_only(node: object, names: tuple[str, ...]) -> None:
    """Every `prompt_name` property takes one of `names` (or null where it did): none at all for a model without
    prompts."""
    for properties in list(_holders_of(node, "prompt_name")):
        nullable = bool(properties["prompt_name"].get("nullable"))
        if names or nullable:
            own = {"type": "string", "enum": [*names, *([None] if nullable else [])]}
            properties["prompt_name"] = {**own, "nullable": True} if nullable else own
        else:
            properties["prompt_name"] = {"not": {}}  # no value is one of no prompts
        properties["prompt_name"]["description"] = (
            f"One of this model's prompts ({', '.join(names)}), put in front of every text."
            if names
            else "This model has no prompts (config_sentence_transformers.json): a prompt_name is a 400."
        )


def _dimensions_up_to(node: object, width: int) -> None:
    """Every integer `dimensions` property (the Matryoshka cut) is at most the model's width."""
    for properties in list(_holders_of(node, "dimensions")):
        if properties["dimensions"].get("type") == "integer":
            properties["dimensions"]["maximum"] = width


def _explain_label_of(document: dict[str, Any], labels: tuple[str, ...]) -> None:
    """The task's `explain_label` parameter takes one of the model's labels (another is a 400)."""
    for schema in document.get("components", {}).get("schemas", {}).values():
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict) and isinstance(properties.get("explain_label"), dict):
            properties["explain_label"] = {
                "type": "string",
                "enum": list(labels),
                "description": f"One of this model's labels ({', '.join(labels)}), explained beside the predicted "
                "one (with explain: true).",
            }


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    return [item[method] for item in document.get("paths", {}).values() for method in methods if method in item]


def _task_first(examples: dict[str, Any], task: str) -> dict[str, Any]:
    def of_task(example: Any) -> bool:
        return isinstance(example, dict) and example.get("x-task") == task

    first = {name: example for name, example in examples.items() if of_task(example)}
    return {**first, **{name: example for name, example in examples.items() if name not in first}}


class _Dumper(yaml.SafeDumper):
    """Multi-line texts (the descriptions) as literal blocks, as docs/openapi.yaml writes them, not folded quotes."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _text)


def write(
    runtime_dir: Path,
    task: str | None,
    api_key: bool,
    schemas: dict[str, dict[str, Any]] | None = None,
    source: Path = SOURCE,
    *,
    prompt_names: tuple[str, ...] | None = None,
    vocabulary: int | None = None,
    width: int | None = None,
    labels: tuple[str, ...] | None = None,
) -> tuple[Path, Path]:
    """openapi.json and openapi.yaml in `runtime_dir`, the same document; readable by nginx's workers."""
    document = tailored(
        load(source),
        task,
        api_key,
        schemas,
        prompt_names=prompt_names,
        vocabulary=vocabulary,
        width=width,
        labels=labels,
    )
    as_json = runtime_dir / JSON_NAME
    as_yaml = runtime_dir / YAML_NAME
    as_json.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    as_yaml.write_text(
        yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8"
    )
    for path in (as_json, as_yaml):
        path.chmod(0o644)
    return as_json, as_yaml
