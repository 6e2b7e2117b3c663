"""Each task's tensors on KServe's Open Inference Protocol (v2): the BYTES inputs it reads, named for the task's own
fields, the container's /invocations request made of them, and the typed output tensors made of its answer.

    task                      inputs (BYTES)                 outputs
    sentence-embeddings       text [N]                       embedding FP32 [N, D]
    feature-extraction        text [N]                       hidden_states FP32 [N, T, H] (zero-padded to the
                                                             longest text's T tokens), token_count INT64 [N]
    text-classification       text [N], text_pair [N]?       label BYTES [N], score FP32 [N]; with parameters.top_k
                                                             (null: every label) label and score are [N, K]
    question-answering        question [N], context [N]      answer BYTES, score FP32, start INT64, end INT64: [N];
                                                             [N, K] with parameters.top_k > 1
    token-classification      text [N]                       entities BYTES [N]: each text's entities as JSON
    fill-mask                 text [N], one mask each        token_str BYTES, sequence BYTES, token INT64,
                                                             score FP32: [N, K] (K = parameters.top_k, 5)
    zero-shot-classification  text [N], candidate_labels [L] labels BYTES [N, L], scores FP32 [N, L], best first
                              (or parameters.candidate_labels)
    text-ranking              query [1], texts [M]           scores FP32 [M], in the order of texts

A row shorter than the others (fewer answers than top_k) is padded: "" for BYTES, 0.0 for scores, -1 for offsets.
The request's other parameters are the task's own, as /invocations takes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_serving.errors import BadRequest
from hf_serving.protocols.kserve_tensors import OutputTensor

Texts = Mapping[str, tuple[str, ...]]  # each input's elements, by the input's name
Parameters = dict[str, Any]


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]  # -1: any size

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    required: tuple[str, ...]  # the inputs a request must give; the others are optional
    to_native: Callable[[Texts, Parameters], object]
    from_native: Callable[[Any, Texts, Parameters], list[OutputTensor]]
    paired: tuple[str, ...] = ()  # inputs that must hold as many elements as each other

    def output_names(self) -> tuple[str, ...]:
        return tuple(output.name for output in self.outputs)


def _bytes(name: str, *shape: int) -> TensorSpec:
    return TensorSpec(name, "BYTES", shape or (-1,))


def _payload(texts: list[Any], parameters: Parameters) -> dict[str, Any]:
    return {"inputs": texts, "parameters": parameters} if parameters else {"inputs": texts}


def _padded(rows: list[list[Any]], fill: Any) -> tuple[list[Any], int]:
    """Rows of unequal length made rectangular with `fill`, flattened; and their width."""
    width = max((len(row) for row in rows), default=0)
    return [value for row in rows for value in [*row, *[fill] * (width - len(row))]], width


def _rows_of(answer: Any) -> list[list[dict]]:
    return [item if isinstance(item, list) else [item] for item in answer]


# The tasks that read texts alone take them as /invocations' inputs.
def _texts_to_native(texts: Texts, parameters: Parameters) -> object:
    return _payload(list(texts["text"]), parameters)


# Sentence embeddings.
def _embeddings_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    vectors = np.asarray(answer, dtype=np.float32)
    return [OutputTensor("embedding", "FP32", vectors.shape, vectors.reshape(-1))]


# Per-token hidden states (the transformers pipeline's feature-extraction).
def _hidden_states_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    states = [np.asarray(item[0], dtype=np.float32) for item in answer]  # each text's [1][tokens][hidden]
    longest = max(len(state) for state in states)
    hidden = states[0].shape[1]
    padded = np.zeros((len(states), longest, hidden), dtype=np.float32)
    for index, state in enumerate(states):
        padded[index, : len(state)] = state
    return [
        OutputTensor("hidden_states", "FP32", padded.shape, padded.reshape(-1)),
        OutputTensor("token_count", "INT64", (len(states),), [len(state) for state in states]),
    ]


# Text classification.
def _classification_to_native(texts: Texts, parameters: Parameters) -> object:
    pairs = texts.get("text_pair")
    items: list[Any] = (
        list(texts["text"])
        if pairs is None
        else [{"text": text, "text_pair": pair} for text, pair in zip(texts["text"], pairs, strict=True)]
    )
    return _payload(items, parameters)


def _classification_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    ranked = any(isinstance(item, list) for item in answer)  # top_k given: each text's labels, best first
    rows = _rows_of(answer)
    return _table(rows, (("label", "BYTES", ""), ("score", "FP32", 0.0)), ranked)


def _table(rows: list[list[dict]], fields: tuple[tuple[str, str, Any], ...], ranked: bool) -> list[OutputTensor]:
    """Columns of answer objects: [N] with each row's first answer, or [N, K] with each row's K answers."""
    outputs = []
    for field, datatype, fill in fields:
        if ranked:
            flat, width = _padded([[answer[field] for answer in row] for row in rows], fill)
            outputs.append(OutputTensor(field, datatype, (len(rows), width), flat))
        else:
            outputs.append(
                OutputTensor(field, datatype, (len(rows),), [row[0][field] if row else fill for row in rows])
            )
    return outputs


# Question answering.
def _qa_to_native(texts: Texts, parameters: Parameters) -> object:
    return _payload(
        [
            {"question": question, "context": context}
            for question, context in zip(texts["question"], texts["context"], strict=True)
        ],
        parameters,
    )


def _qa_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    top_k = parameters.get("top_k", 1)
    return _table(
        _rows_of(answer),
        (("answer", "BYTES", ""), ("score", "FP32", 0.0), ("start", "INT64", -1), ("end", "INT64", -1)),
        ranked=top_k not in (None, 1),
    )


# Token classification: a text's entities are a variable list of objects, so each is one JSON text.
def _entities_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    return [
        OutputTensor(
            "entities",
            "BYTES",
            (len(answer),),
            [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in answer],
        )
    ]


# Fill-mask: one mask per text, so that each text's proposals are one row.
def _one_mask_each(mask_token: str | None) -> Callable[[Texts, Parameters], object]:
    def to_native(texts: Texts, parameters: Parameters) -> object:
        for index, text in enumerate(texts["text"]):
            if mask_token and text.count(mask_token) > 1:
                _several_masks(index, text.count(mask_token))
        return _payload(list(texts["text"]), parameters)

    return to_native


def _several_masks(index: int, count: int) -> None:
    raise BadRequest(
        f"input text's element {index} holds {count} mask tokens: a v2 request takes one per text "
        "(KServe v1's :predict and /invocations take several)"
    )


def _fill_mask_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    if len(texts["text"]) == 1:  # the pipeline's shape: a list of one text answers as that text
        answer = [answer]
    for index, proposals in enumerate(answer):
        if proposals and isinstance(proposals[0], list):  # masks the tokenizer found that the text did not show
            _several_masks(index, len(proposals))
    return _table(
        list(answer),
        (("token_str", "BYTES", ""), ("sequence", "BYTES", ""), ("token", "INT64", -1), ("score", "FP32", 0.0)),
        ranked=True,
    )


# Zero-shot classification: the labels as an input tensor, or as the pipeline's parameter.
def _zero_shot_to_native(texts: Texts, parameters: Parameters) -> object:
    labels = texts.get("candidate_labels")
    if labels is not None:
        if "candidate_labels" in parameters:
            raise BadRequest("candidate_labels given both as an input and in parameters: send one")
        parameters = {**parameters, "candidate_labels": list(labels)}
    elif "candidate_labels" not in parameters:
        raise BadRequest(
            "input candidate_labels is missing: send the labels to choose from as a BYTES input "
            "(or as parameters.candidate_labels)"
        )
    return _payload(list(texts["text"]), parameters)


def _zero_shot_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    labels, width = _padded([item["labels"] for item in answer], "")
    scores, _ = _padded([item["scores"] for item in answer], 0.0)
    return [
        OutputTensor("labels", "BYTES", (len(answer), width), labels),
        OutputTensor("scores", "FP32", (len(answer), width), scores),
    ]


# Reranking: one query, its texts' scores in their order (the native answer is sorted by score).
_RANKING_ONLY_ON_INVOCATIONS = ("top_n", "return_text")


def _ranking_to_native(texts: Texts, parameters: Parameters) -> object:
    if len(texts["query"]) != 1:
        raise BadRequest(f"input query must hold one element, not {len(texts['query'])}: send one request per query")
    for name in _RANKING_ONLY_ON_INVOCATIONS:
        if name in parameters:
            raise BadRequest(f"parameters.{name} does not apply on v2: scores is every text's, in their order")
    native: dict[str, Any] = {"query": texts["query"][0], "texts": list(texts["texts"])}
    return {**native, "parameters": parameters} if parameters else native


def _ranking_from_native(answer: Any, texts: Texts, parameters: Parameters) -> list[OutputTensor]:
    scores = [0.0] * len(texts["texts"])
    for entry in answer:
        scores[entry["index"]] = entry["score"]
    return [OutputTensor("scores", "FP32", (len(scores),), scores)]


def signature(task: str, served_model: Any) -> Signature | None:
    """The task's tensors; None for a task without a mapping (a user's own model)."""
    if task == "sentence-embeddings":
        width = _width(served_model, "numbers_per_item")
        return Signature(
            (_bytes("text"),),
            (TensorSpec("embedding", "FP32", (-1, width)),),
            ("text",),
            _texts_to_native,
            _embeddings_from_native,
        )
    if task == "feature-extraction":
        hidden = getattr(served_model, "hidden_size", 0) or -1
        return Signature(
            (_bytes("text"),),
            (TensorSpec("hidden_states", "FP32", (-1, -1, hidden)), TensorSpec("token_count", "INT64", (-1,))),
            ("text",),
            _texts_to_native,
            _hidden_states_from_native,
        )
    if task == "text-classification":
        return Signature(
            (_bytes("text"), _bytes("text_pair")),
            (_bytes("label"), TensorSpec("score", "FP32", (-1,))),
            ("text",),
            _classification_to_native,
            _classification_from_native,
            paired=("text", "text_pair"),
        )
    if task == "question-answering":
        return Signature(
            (_bytes("question"), _bytes("context")),
            (
                _bytes("answer"),
                TensorSpec("score", "FP32", (-1,)),
                TensorSpec("start", "INT64", (-1,)),
                TensorSpec("end", "INT64", (-1,)),
            ),
            ("question", "context"),
            _qa_to_native,
            _qa_from_native,
            paired=("question", "context"),
        )
    if task == "token-classification":
        return Signature((_bytes("text"),), (_bytes("entities"),), ("text",), _texts_to_native, _entities_from_native)
    if task == "fill-mask":
        return Signature(
            (_bytes("text"),),
            (
                _bytes("token_str", -1, -1),
                _bytes("sequence", -1, -1),
                TensorSpec("token", "INT64", (-1, -1)),
                TensorSpec("score", "FP32", (-1, -1)),
            ),
            ("text",),
            _one_mask_each(getattr(getattr(served_model, "filler", None), "mask_token", None)),
            _fill_mask_from_native,
        )
    if task == "zero-shot-classification":
        return Signature(
            (_bytes("text"), _bytes("candidate_labels")),
            (_bytes("labels", -1, -1), TensorSpec("scores", "FP32", (-1, -1))),
            ("text",),
            _zero_shot_to_native,
            _zero_shot_from_native,
        )
    if task == "text-ranking":
        return Signature(
            (_bytes("query", 1), _bytes("texts")),
            (TensorSpec("scores", "FP32", (-1,)),),
            ("query", "texts"),
            _ranking_to_native,
            _ranking_from_native,
        )
    return None


def _width(served_model: Any, method: str) -> int:
    """An embedding's size as the served model reports it; -1 when it cannot say."""
    from hf_serving.tasks.sentence_embeddings.requests import EmbeddingParameters

    try:
        return int(getattr(served_model, method)(EmbeddingParameters())) or -1
    except (AttributeError, TypeError, ValueError):
        return -1
