"""KServe's adapters (protocols/kserve.py) on served models: v2 tensors per task against the task's own
/invocations answer (and sentence-transformers' encode() on the real all-MiniLM-L6-v2), JSON and the binary tensor
data extension both ways, v1 predictions per task, and each bad request's 400 in KServe's {"error"} shape."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from hf_serving.error_catalogue import Protocol, error_document
from hf_serving.errors import BadRequest, ModelNotFound, ServingError, Unprocessable, UnsupportedMediaType
from hf_serving.protocols.exchange import Answer, Direct, Served
from hf_serving.protocols.kserve import V1Predict, V2Infer, V2Metadata
from hf_serving.protocols.kserve_tensors import HEADER_LENGTH
from tests.support.paths import minilm
from tests.unit.protocols.conftest import native_answer, run

TEXTS = ["A man is eating food.", "Ein Mann isst Brot. Café, naïve, 東京, 😀 emoji.", "hi"]


def bytes_input(name: str, values: list[str], shape: list[int] | None = None) -> dict:
    return {"name": name, "datatype": "BYTES", "shape": shape or [len(values)], "data": values}


def outputs_of(answer: Answer | Direct) -> dict[str, dict]:
    assert isinstance(answer, Answer) and answer.status == 200 and answer.document is not None
    return {output["name"]: output for output in answer.document["outputs"]}


def array(output: dict) -> np.ndarray:
    return np.asarray(output["data"]).reshape(output["shape"])


def binary_body(document: dict, tensors: dict[str, list[str]]) -> tuple[bytes, int]:
    """The binary tensor data extension's request, as tritonclient writes it: the JSON, then each tensor's bytes."""
    chunks = {
        name: b"".join(struct.pack("<I", len(text.encode())) + text.encode() for text in texts)
        for name, texts in tensors.items()
    }
    document = {
        **document,
        "inputs": [
            {
                "name": name,
                "datatype": "BYTES",
                "shape": [len(texts)],
                "parameters": {"binary_data_size": len(chunks[name])},
            }
            for name, texts in tensors.items()
        ],
    }
    header = json.dumps(document).encode()
    return header + b"".join(chunks.values()), len(header)


def read_binary(answer: Answer | Direct) -> dict[str, np.ndarray]:
    """A binary response's tensors, as tritonclient's InferResult reads them."""
    assert isinstance(answer, Answer) and answer.body is not None
    assert answer.content_type == "application/octet-stream"
    length = int(answer.headers[HEADER_LENGTH])
    document, rest = json.loads(answer.body[:length]), answer.body[length:]
    found = {}
    for output in document["outputs"]:
        if "data" in output:
            found[output["name"]] = np.asarray(output["data"]).reshape(output["shape"])
            continue
        size = output["parameters"]["binary_data_size"]
        chunk, rest = rest[:size], rest[size:]
        if output["datatype"] == "BYTES":
            texts, offset = [], 0
            while offset < len(chunk):
                (n,) = struct.unpack_from("<I", chunk, offset)
                texts.append(chunk[offset + 4 : offset + 4 + n].decode())
                offset += 4 + n
            found[output["name"]] = np.asarray(texts, dtype=object).reshape(output["shape"])
        else:
            dtype = {"FP32": "<f4", "INT64": "<i8"}[output["datatype"]]
            found[output["name"]] = np.frombuffer(chunk, dtype=dtype).reshape(output["shape"])
    assert rest == b""
    return found


@pytest.fixture(scope="module")
def encode():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu").encode


@pytest.fixture(scope="module")
def embedder(served_models) -> Served:
    return served_models("sentence-embeddings")


# Sentence embeddings: sentence-transformers' own vectors, JSON and binary.
def test_v2_embedding_is_encodes_vectors_as_json(embedder, encode):
    answer = run(V2Infer(), embedder, {"id": "mine", "inputs": [bytes_input("text", TEXTS)]})
    assert isinstance(answer, Answer) and answer.document["model_name"] == "model" and answer.document["id"] == "mine"
    embedding = outputs_of(answer)["embedding"]
    assert (embedding["datatype"], embedding["shape"]) == ("FP32", [3, 384])
    np.testing.assert_allclose(array(embedding), encode(TEXTS), atol=2e-6)


def test_v2_binary_request_and_binary_response(embedder, encode):
    body, length = binary_body(
        {"outputs": [{"name": "embedding", "parameters": {"binary_data": True}}]}, {"text": TEXTS}
    )
    answer = run(V2Infer(), embedder, body, content_type=None, headers={"inference-header-content-length": str(length)})
    np.testing.assert_allclose(read_binary(answer)["embedding"], encode(TEXTS), atol=2e-6)


def test_v2_binary_request_without_the_header_and_binary_data_output(embedder, encode):
    """Without Inference-Header-Content-Length, the JSON's own end is where the tensor bytes start."""
    body, _ = binary_body({"parameters": {"binary_data_output": True}}, {"text": TEXTS})
    answer = run(V2Infer(), embedder, body, content_type="application/octet-stream")
    np.testing.assert_allclose(read_binary(answer)["embedding"], encode(TEXTS), atol=2e-6)


def test_v2_nested_json_data_and_the_request_id_when_none_is_given(embedder, encode):
    body = json.dumps({"inputs": [bytes_input("text", [[TEXTS[0]], [TEXTS[2]]], [2, 1])]}).encode() + b"\n"
    answer = run(V2Infer(), embedder, body)
    assert answer.document["id"] == "request-1"
    np.testing.assert_allclose(array(outputs_of(answer)["embedding"]), encode([TEXTS[0], TEXTS[2]]), atol=2e-6)


def test_v2_embedding_parameters_are_the_tasks_own(embedder, encode):
    answer = run(V2Infer(), embedder, {"inputs": [bytes_input("text", TEXTS)], "parameters": {"dimensions": 8}})
    vectors = array(outputs_of(answer)["embedding"])
    expected = encode(TEXTS)[:, :8]
    np.testing.assert_allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=2e-6)


def test_v1_predictions_are_encodes_vectors(embedder, encode):
    answer = run(V1Predict(), embedder, {"instances": [TEXTS[0], {"text": TEXTS[1]}]})
    np.testing.assert_allclose(np.asarray(answer.document["predictions"]), encode(TEXTS[:2]), atol=2e-6)


# Metadata.
EXPECTED_SIGNATURES = {
    "sentence-embeddings": ({"text"}, {"embedding": ("FP32", [-1, 384])}),
    "feature-extraction": ({"text"}, {"hidden_states": ("FP32", [-1, -1, 384]), "token_count": ("INT64", [-1])}),
    "text-classification": ({"text", "text_pair"}, {"label": ("BYTES", [-1]), "score": ("FP32", [-1])}),
    "question-answering": (
        {"question", "context"},
        {"answer": ("BYTES", [-1]), "score": ("FP32", [-1]), "start": ("INT64", [-1]), "end": ("INT64", [-1])},
    ),
    "token-classification": ({"text"}, {"entities": ("BYTES", [-1])}),
    "fill-mask": (
        {"text"},
        {
            "token_str": ("BYTES", [-1, -1]),
            "sequence": ("BYTES", [-1, -1]),
            "token": ("INT64", [-1, -1]),
            "score": ("FP32", [-1, -1]),
        },
    ),
    "zero-shot-classification": (
        {"text", "candidate_labels"},
        {"labels": ("BYTES", [-1, -1]), "scores": ("FP32", [-1, -1])},
    ),
    "text-ranking": ({"query", "texts"}, {"scores": ("FP32", [-1])}),
}


@pytest.mark.parametrize("task", sorted(EXPECTED_SIGNATURES))
def test_v2_metadata_names_each_tasks_tensors(served_models, task):
    answer = run(V2Metadata(), served_models(task), b"")
    assert isinstance(answer, Direct) and answer.status == 200
    document = answer.document
    assert (document["name"], document["platform"]) == ("model", "hf-serving")
    inputs, outputs = EXPECTED_SIGNATURES[task]
    assert {tensor["name"] for tensor in document["inputs"]} == inputs
    assert all(tensor["datatype"] == "BYTES" for tensor in document["inputs"])
    assert {tensor["name"]: (tensor["datatype"], tensor["shape"]) for tensor in document["outputs"]} == outputs


# Every other task's mapping, against its own /invocations answer.
def test_v2_classification_best_label_and_every_label(served_models):
    served = served_models("text-classification")
    inputs = [bytes_input("text", ["good", "bad"]), bytes_input("text_pair", ["film", "food"])]
    best = outputs_of(run(V2Infer(), served, {"inputs": inputs}))
    native = native_answer(
        served, {"inputs": [{"text": "good", "text_pair": "film"}, {"text": "bad", "text_pair": "food"}]}
    )
    assert best["label"] == {
        "name": "label",
        "datatype": "BYTES",
        "shape": [2],
        "data": [item["label"] for item in native],
    }
    assert best["score"]["data"] == pytest.approx([item["score"] for item in native], rel=1e-6)
    every = outputs_of(run(V2Infer(), served, {"inputs": inputs[:1], "parameters": {"top_k": None}}))
    native = native_answer(served, {"inputs": ["good", "bad"], "parameters": {"top_k": None}})
    assert every["label"]["shape"] == [2, 2] and every["score"]["shape"] == [2, 2]
    assert array(every["label"]).tolist() == [[entry["label"] for entry in row] for row in native]
    np.testing.assert_allclose(array(every["score"]), [[entry["score"] for entry in row] for row in native], rtol=1e-6)


def test_v2_question_answering_one_answer_and_top_k(served_models):
    served = served_models("question-answering")
    questions, contexts = ["Who is here?", "Where?"], ["Bob is here.", "In Paris, near the river."]
    pairs = [{"question": q, "context": c} for q, c in zip(questions, contexts, strict=True)]
    inputs = [bytes_input("question", questions), bytes_input("context", contexts)]
    one = outputs_of(run(V2Infer(), served, {"inputs": inputs}))
    native = native_answer(served, {"inputs": pairs})
    for field in ("answer", "start", "end"):
        assert one[field]["shape"] == [2] and one[field]["data"] == [item[field] for item in native]
    assert (one["start"]["datatype"], one["answer"]["datatype"]) == ("INT64", "BYTES")
    assert one["score"]["data"] == pytest.approx([item["score"] for item in native], rel=1e-6)
    ranked = outputs_of(run(V2Infer(), served, {"inputs": inputs, "parameters": {"top_k": 3}}))
    native = native_answer(served, {"inputs": pairs, "parameters": {"top_k": 3}})
    assert ranked["answer"]["shape"] == [2, 3]
    assert array(ranked["answer"]).tolist() == [[entry["answer"] for entry in row] for row in native]


def test_v2_token_classification_entities_as_json_texts(served_models):
    served = served_models("token-classification")
    texts = ["Bob lives in Paris", "Alice works at Acme"]
    answer = outputs_of(
        run(
            V2Infer(),
            served,
            {"inputs": [bytes_input("text", texts)], "parameters": {"aggregation_strategy": "simple"}},
        )
    )
    native = native_answer(served, {"inputs": texts, "parameters": {"aggregation_strategy": "simple"}})
    assert answer["entities"]["shape"] == [2] and answer["entities"]["datatype"] == "BYTES"
    assert [json.loads(entities) for entities in answer["entities"]["data"]] == native


def test_v2_fill_mask_proposals_as_columns(served_models):
    served = served_models("fill-mask")
    texts = ["Paris is the [MASK] of France.", "I drink [MASK] every morning."]
    answer = outputs_of(run(V2Infer(), served, {"inputs": [bytes_input("text", texts)], "parameters": {"top_k": 3}}))
    native = native_answer(served, {"inputs": texts, "parameters": {"top_k": 3}})
    for field in ("token_str", "sequence", "token"):
        assert array(answer[field]).tolist() == [[entry[field] for entry in row] for row in native]
    np.testing.assert_allclose(array(answer["score"]), [[entry["score"] for entry in row] for row in native], rtol=1e-6)


def test_v2_zero_shot_labels_as_an_input_or_a_parameter(served_models):
    served = served_models("zero-shot-classification")
    texts, labels = ["I like football", "The vote is today"], ["sports", "politics", "food"]
    native = native_answer(served, {"inputs": texts, "parameters": {"candidate_labels": labels}})
    for body in (
        {"inputs": [bytes_input("text", texts), bytes_input("candidate_labels", labels)]},
        {"inputs": [bytes_input("text", texts)], "parameters": {"candidate_labels": labels}},
    ):
        answer = outputs_of(run(V2Infer(), served, body))
        assert array(answer["labels"]).tolist() == [item["labels"] for item in native]
        np.testing.assert_allclose(array(answer["scores"]), [item["scores"] for item in native], rtol=1e-6)


def test_v2_ranking_scores_in_the_order_of_texts(served_models):
    served = served_models("text-ranking")
    texts = ["Paris is in France.", "Bananas are yellow.", "The capital of France is Paris."]
    answer = outputs_of(
        run(V2Infer(), served, {"inputs": [bytes_input("query", ["capital of France?"]), bytes_input("texts", texts)]})
    )
    native = native_answer(served, {"query": "capital of France?", "texts": texts})
    by_index = {entry["index"]: entry["score"] for entry in native}
    assert answer["scores"]["shape"] == [3]
    assert answer["scores"]["data"] == pytest.approx([by_index[i] for i in range(3)], rel=1e-6)


def test_v2_feature_extraction_hidden_states_padded_with_their_token_counts(served_models):
    served = served_models("feature-extraction")
    texts = ["hi", "A longer sentence of several words."]
    answer = outputs_of(run(V2Infer(), served, {"inputs": [bytes_input("text", texts)]}))
    native = native_answer(served, {"inputs": texts})
    counts = answer["token_count"]["data"]
    assert counts == [len(item[0]) for item in native] and counts[0] < counts[1]
    states = array(answer["hidden_states"])
    assert states.shape == (2, counts[1], 384)
    np.testing.assert_allclose(states[0, : counts[0]], native[0][0], atol=1e-6)
    assert not states[0, counts[0] :].any()


def test_v2_only_the_requested_outputs_each_json_or_binary(served_models):
    served = served_models("question-answering")
    inputs = [bytes_input("question", ["Who is here?"]), bytes_input("context", ["Bob is here."])]
    answer = run(
        V2Infer(),
        served,
        {"inputs": inputs, "outputs": [{"name": "start", "parameters": {"binary_data": True}}, {"name": "answer"}]},
    )
    found = read_binary(answer)
    assert list(found) == ["start", "answer"]
    native = native_answer(served, {"inputs": [{"question": "Who is here?", "context": "Bob is here."}]})
    assert found["start"].tolist() == [native[0]["start"]] and found["answer"].tolist() == [native[0]["answer"]]


# KServe v1, per task: one prediction per instance, the task's own answer.
V1_CASES = {
    "text-classification": (
        [{"text": "good", "text_pair": "film"}, "bad"],
        None,
        {"inputs": [{"text": "good", "text_pair": "film"}, "bad"]},
    ),
    "question-answering": (
        [{"question": "Who?", "context": "Bob is here."}],
        {"top_k": 2},
        {"inputs": [{"question": "Who?", "context": "Bob is here."}], "parameters": {"top_k": 2}},
    ),
    "token-classification": (
        ["Bob lives in Paris", {"text": "Alice"}],
        None,
        {"inputs": ["Bob lives in Paris", "Alice"]},
    ),
    "fill-mask": (
        ["Paris is the [MASK] of France.", {"text": "a [MASK] b [MASK]"}],
        None,
        {"inputs": ["Paris is the [MASK] of France.", "a [MASK] b [MASK]"]},
    ),
    "zero-shot-classification": (
        [
            {"text": "I like football", "candidate_labels": ["sports", "food"]},
            {"text": "Pasta tonight", "candidate_labels": ["sports", "food"]},
        ],
        None,
        {"inputs": ["I like football", "Pasta tonight"], "parameters": {"candidate_labels": ["sports", "food"]}},
    ),
    "text-ranking": (
        [{"query": "capital?", "texts": ["Paris", "bananas"]}],
        {"raw_scores": True},
        {"query": "capital?", "texts": ["Paris", "bananas"], "raw_scores": True},
    ),
    "feature-extraction": (["hi"], None, {"inputs": ["hi"]}),
}


@pytest.mark.parametrize("task", sorted(V1_CASES))
def test_v1_predictions_per_task(served_models, task):
    instances, parameters, native_request = V1_CASES[task]
    served = served_models(task)
    body = {"instances": instances, **({"parameters": parameters} if parameters else {})}
    answer = run(V1Predict(), served, body)
    expected = native_answer(served, native_request)
    assert answer.document == {"predictions": [expected] if task == "text-ranking" else expected}


def test_v1_one_fill_mask_instance_is_one_prediction(served_models):
    served = served_models("fill-mask")
    answer = run(V1Predict(), served, {"instances": ["a [MASK] b [MASK]"]})
    assert answer.document == {"predictions": [native_answer(served, {"inputs": "a [MASK] b [MASK]"})]}


# Errors: KServe's 400s, each naming what is wrong.
def error_of(exchange, served: Served, body: object | bytes, **kwargs) -> ServingError:
    with pytest.raises(ServingError) as caught:
        run(exchange, served, body, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            {"inputs": [{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]}]},
            "input text must have datatype",
        ),
        ({"inputs": [bytes_input("text", ["a", "b"], [3])]}, "input text has shape [3]"),
        ({"inputs": [bytes_input("text", ["a", 2])]}, "input text's element 1 must be a string"),
        ({"inputs": [bytes_input("sentence", ["a"])]}, "unknown input sentence"),
        ({"inputs": [bytes_input("text", ["a"])], "outputs": [{"name": "vector"}]}, "unknown output vector"),
        ({"inputs": [bytes_input("text", ["a", " "])]}, "input text's element 1 is an empty text"),
        ({"inputs": [bytes_input("text", [], [0])]}, "input text holds no element"),
        ({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1]}]}, "input text has no data"),
        ({"inputs": [bytes_input("text", ["a"]), bytes_input("text", ["b"])]}, "input text is given twice"),
        ({"inputs": []}, "inputs must be a non-empty list"),
        ({"inputs": [bytes_input("text", ["a"])], "model": "x"}, "unknown field(s) model"),
        ({"inputs": [bytes_input("text", ["a"])], "parameters": {"normalize": "yes"}}, "normalize"),
        (b'{"inputs": [', "not valid JSON"),
    ],
)
def test_v2_bad_tensors_are_400s_naming_them(embedder, body, named):
    error = error_of(V2Infer(), embedder, body)
    assert isinstance(error, BadRequest) and named in error.message


def test_v2_missing_and_unpaired_inputs(served_models):
    served = served_models("question-answering")
    error = error_of(V2Infer(), served, {"inputs": [bytes_input("question", ["q"])]})
    assert "input context is missing" in error.message
    unpaired = [bytes_input("question", ["q"]), bytes_input("context", ["a", "b"])]
    error = error_of(V2Infer(), served, {"inputs": unpaired})
    assert "must hold as many elements each (question 1, context 2)" in error.message


def test_v2_binary_sizes_that_do_not_add_up(embedder):
    body, length = binary_body({}, {"text": ["hello"]})
    error = error_of(V2Infer(), embedder, body + b"extra", headers={HEADER_LENGTH: str(length)})
    assert "5 byte(s) of tensor data" in error.message
    error = error_of(V2Infer(), embedder, body[:-2], headers={HEADER_LENGTH: str(length)})
    assert "binary_data_size 9 is not within" in error.message
    error = error_of(V2Infer(), embedder, body, headers={HEADER_LENGTH: "x"})
    assert HEADER_LENGTH in error.message


def test_v2_task_specific_400s(served_models):
    fill = served_models("fill-mask")
    error = error_of(V2Infer(), fill, {"inputs": [bytes_input("text", ["a [MASK] b [MASK]"])]})
    assert "element 0 holds 2 mask tokens" in error.message
    one = outputs_of(run(V2Infer(), fill, {"inputs": [bytes_input("text", ["a [MASK] b"])]}))
    native = native_answer(fill, {"inputs": "a [MASK] b"})
    assert one["token_str"]["shape"] == [1, 5] and one["token_str"]["data"] == [entry["token_str"] for entry in native]
    ranking = served_models("text-ranking")
    error = error_of(V2Infer(), ranking, {"inputs": [bytes_input("query", ["a", "b"]), bytes_input("texts", ["c"])]})
    assert "input query must hold one element" in error.message
    error = error_of(
        V2Infer(),
        ranking,
        {"inputs": [bytes_input("query", ["a"]), bytes_input("texts", ["c"])], "parameters": {"top_n": 1}},
    )
    assert "parameters.top_n" in error.message
    zero_shot = served_models("zero-shot-classification")
    error = error_of(V2Infer(), zero_shot, {"inputs": [bytes_input("text", ["a"])]})
    assert "input candidate_labels is missing" in error.message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"instances": []}, "instances must be a non-empty list"),
        ({"inputs": ["a"]}, "unknown field(s) inputs"),
        ({"instances": ["a", 3]}, "instances[1] must be a string"),
        ({"instances": [{"text": "a", "text_pair": "b"}]}, "unknown field(s) text_pair in instances[0]"),
        ({"instances": ["a"], "parameters": [1]}, "parameters must be a JSON object"),
        ([1], "the body must be a JSON object"),
    ],
)
def test_v1_bad_requests_are_400s_naming_the_instance(embedder, body, named):
    error = error_of(V1Predict(), embedder, body)
    assert isinstance(error, BadRequest) and named in error.message


def test_v1_task_specific_400s(served_models):
    zero_shot = served_models("zero-shot-classification")
    error = error_of(
        V1Predict(),
        zero_shot,
        {"instances": [{"text": "a", "candidate_labels": ["x"]}, {"text": "b", "candidate_labels": ["y"]}]},
    )
    assert "instances[1].candidate_labels differ" in error.message
    ranking = served_models("text-ranking")
    error = error_of(V1Predict(), ranking, {"instances": [{"query": "a", "texts": ["b"]}] * 2})
    assert "one request per query" in error.message
    qa = served_models("question-answering")
    assert "instances[0].context is missing" in error_of(V1Predict(), qa, {"instances": [{"question": "q"}]}).message


@pytest.mark.parametrize("exchange", [V1Predict(), V2Metadata(), V2Infer()], ids=type)
def test_another_models_name_is_kserves_404(embedder, exchange):
    error = error_of(exchange, embedder, {"instances": ["a"]}, name="other")
    assert isinstance(error, ModelNotFound) and error.status == 404
    assert error_document(Protocol.KSERVE, error.code, error.message, "r") == {
        "error": "model other is not served here: this endpoint serves model",
        "code": "model_not_found",
        "request_id": "r",
    }


def test_the_served_name_is_the_one_clients_call(embedder):
    renamed = Served("minilm", embedder.task, embedder.model, embedder.model_id)
    answer = run(V2Infer(), renamed, {"inputs": [bytes_input("text", ["a"])]}, name="minilm")
    assert answer.document["model_name"] == "minilm"
    assert isinstance(error_of(V2Infer(), renamed, {"inputs": []}, name="model"), ModelNotFound)


def test_a_users_own_model_has_no_tensors(embedder):
    users = Served("model", None, object(), "code/inference.py")
    assert run(V2Metadata(), users, b"").document["inputs"] == []
    for exchange in (V1Predict(), V2Infer()):
        error = error_of(exchange, users, {"instances": ["a"]})
        assert isinstance(error, Unprocessable) and error.status == 422


def test_v2_reads_json_or_octet_stream_only(embedder):
    error = error_of(V2Infer(), embedder, b"text=a", content_type="application/x-www-form-urlencoded")
    assert isinstance(error, UnsupportedMediaType)
