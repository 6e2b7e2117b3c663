"""KServe v1's instances as each task's /invocations items: one prediction per instance, the task's own answer.

    task                      an instance                                         its prediction
    sentence-embeddings       "text" or {"text"}                                  the vector
    feature-extraction        "text" or {"text"}                                  [1][tokens][hidden]
    text-classification       "text", {"text"} or {"text", "text_pair"}          {"label", "score"} (a list with
                                                                                  parameters.top_k)
    question-answering        {"question", "context"}                             {"answer", "score", "start", "end"}
    token-classification      "text" or {"text"}                                  the entities
    fill-mask                 "text" or {"text"}                                  the proposals
    zero-shot-classification  "text" or {"text", "candidate_labels"?}            {"sequence", "labels", "scores"}
    text-ranking              {"query", "texts"}: one instance a request          [{"index", "score"}], best first
"parameters" are the task's own, for every instance. Zero-shot's labels may stand in parameters or in each instance
(the same for all: one request is one set of labels).
"""

from __future__ import annotations

from typing import Any

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name

_TEXT_TASKS = ("sentence-embeddings", "feature-extraction", "token-classification", "fill-mask")


def native_request(task: str, instances: list[Any], parameters: dict[str, Any] | None) -> object:
    """The /invocations request for these instances (already a non-empty list)."""
    parameters = dict(parameters or {})
    if task in _TEXT_TASKS:
        items: list[Any] = [_text(instance, f"instances[{index}]", ()) for index, instance in enumerate(instances)]
    elif task == "text-classification":
        items = [_classified(instance, f"instances[{index}]") for index, instance in enumerate(instances)]
    elif task == "question-answering":
        items = [
            _fields(instance, f"instances[{index}]", ("question", "context"), ("question", "context"))
            for index, instance in enumerate(instances)
        ]
    elif task == "zero-shot-classification":
        items = [
            _text(instance, f"instances[{index}]", ("candidate_labels",)) for index, instance in enumerate(instances)
        ]
        parameters = _zero_shot_labels(instances, parameters)
    elif task == "text-ranking":
        return _ranking(instances, parameters)
    else:
        raise AssertionError(f"no v1 mapping for {task}")  # the caller answers 422 first
    return {"inputs": items, "parameters": parameters} if parameters else {"inputs": items}


def predictions(task: str, answer: Any, instances: int) -> list[Any]:
    """One prediction per instance: the task's answer to each item. A reranking request is one instance, and
    fill-mask answers a list of one text as that text (the pipeline's shape)."""
    if task == "text-ranking" or (task == "fill-mask" and instances == 1):
        return [answer]
    return list(answer)


def _text(instance: object, where: str, extra: tuple[str, ...]) -> str:
    if isinstance(instance, dict):
        return str(_fields(instance, where, ("text",), ("text", *extra))["text"])
    return _string(instance, where)


def _classified(instance: object, where: str) -> object:
    if isinstance(instance, dict):
        pair = _fields(instance, where, ("text",), ("text", "text_pair"))
        return pair if "text_pair" in pair else pair["text"]
    return _string(instance, where)


def _fields(instance: object, where: str, required: tuple[str, ...], allowed: tuple[str, ...]) -> dict[str, str]:
    """The instance's text fields, checked; errors name the instance ("instances[2].context")."""
    if not isinstance(instance, dict):
        raise BadRequest(f"{where} must be an object with {', '.join(required)}, not {json_type_name(instance)}")
    unknown = sorted(str(name) for name in instance if name not in allowed)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)} in {where}: expected {', '.join(allowed)}")
    for name in required:
        if name not in instance:
            raise BadRequest(f"{where}.{name} is missing")
    return {
        name: _string(value, f"{where}.{name}")
        for name, value in instance.items()
        if name in required or name in ("text_pair",)
    }


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string, not {json_type_name(value)}")
    if not value.strip():
        raise BadRequest(f"{where} must not be empty")
    return value


def _zero_shot_labels(instances: list[Any], parameters: dict[str, Any]) -> dict[str, Any]:
    given = {
        index: instance["candidate_labels"]
        for index, instance in enumerate(instances)
        if isinstance(instance, dict) and "candidate_labels" in instance
    }
    if not given:
        return parameters
    if "candidate_labels" in parameters:
        raise BadRequest("candidate_labels given both in parameters and in instances: send one")
    first_index, first = next(iter(given.items()))
    for index, labels in given.items():
        if labels != first:
            raise BadRequest(
                f"instances[{index}].candidate_labels differ from instances[{first_index}]'s: one "
                "request is one set of labels (send the others in another request)"
            )
    if len(given) != len(instances):
        missing = next(index for index in range(len(instances)) if index not in given)
        raise BadRequest(
            f"instances[{missing}] has no candidate_labels while instances[{first_index}] has: give "
            "them to every instance, or once in parameters"
        )
    return {**parameters, "candidate_labels": first}


def _ranking(instances: list[Any], parameters: dict[str, Any]) -> object:
    if len(instances) != 1:
        raise BadRequest(
            f"instances holds {len(instances)} instances: a text-ranking request is one "
            '{"query", "texts"} instance (send one request per query)'
        )
    (instance,) = instances
    if not isinstance(instance, dict):
        raise BadRequest(f"instances[0] must be an object with query and texts, not {json_type_name(instance)}")
    unknown = sorted(str(name) for name in instance if name not in ("query", "texts"))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)} in instances[0]: expected query, texts")
    for name in ("query", "texts"):
        if name not in instance:
            raise BadRequest(f"instances[0].{name} is missing")
    inputs = {"query": instance["query"], "texts": instance["texts"]}
    return {"inputs": inputs, "parameters": parameters} if parameters else {"inputs": inputs}
