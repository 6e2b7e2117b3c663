"""TEI's routes' adapters (protocols/tei.py) on models loaded in-process: each route's body turned into the served
model's own request, its answer into TEI's; TEI's limits and errors; /embed_all against sentence-transformers'
token embeddings, /tokenize against TEI's offsets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hf_serving.error_catalogue import Protocol, error_document
from hf_serving.errors import BadRequest, EmptyInput, PayloadTooLarge, WrongModelType
from hf_serving.loading.loader import load_served_model
from hf_serving.protocols import tei
from hf_serving.protocols.exchange import Call, Direct, Native, Served, Usage
from hf_serving.settings import Settings
from hf_serving.tools.demo_reranker import build_reranker
from tests.support.paths import minilm

TEXTS = ["A man is eating food.", "Café, 東京 and 😀."]


def _load(model_dir) -> object:
    return load_served_model(model_dir, Settings(model_dir=model_dir, dtype="float32", engine="torch"))


@pytest.fixture(scope="module")
def embedder() -> Served:
    model = _load(minilm())
    return Served("model", model.task.value, model, "sentence-transformers/all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def reranker(tmp_path_factory) -> Served:
    model = _load(build_reranker(tmp_path_factory.mktemp("tei") / "cross-encoder", size="tiny", seed=7))
    return Served("model", model.task.value, model, "cross-encoder")


@pytest.fixture(scope="module")
def encoder():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu")


def _call(route: str, body: object) -> Call:
    return Call(route, {}, json.dumps(body).encode(), "application/json", "request-1")


def _answer(exchange: tei.TEIExchange, served: Served, body: object) -> object:
    """The route's answer as the worker makes it: the native request through the served model, JSON round-tripped."""
    native = exchange.to_native(_call("tei", body), served)
    if isinstance(native, Direct):
        return json.loads(json.dumps(native.document))
    assert isinstance(native, Native)
    answer = json.loads(json.dumps(served.model.predict(native.payload)))
    return exchange.from_native(answer, native, _call("tei", body), served, Usage(None)).document


def test_embed_answers_encode_s_vectors_for_one_text_or_many(embedder, encoder):
    expected = encoder.encode(TEXTS)
    many = np.array(_answer(tei.Embed(), embedder, {"inputs": TEXTS}))
    one = np.array(_answer(tei.Embed(), embedder, {"inputs": TEXTS[0]}))
    assert many.shape == (2, 384) and one.shape == (1, 384)
    np.testing.assert_allclose(many, expected, atol=1e-5)
    np.testing.assert_allclose(one[0], expected[0], atol=1e-5)


def test_embed_passes_tei_s_parameters_and_normalises_by_default(embedder):
    native = tei.Embed().to_native(
        _call(
            "tei.embed",
            {
                "inputs": "x",
                "truncate": None,
                "truncation_direction": "Left",
                "dimensions": 8,
                "prompt_name": None,
                "model": "ignored, as TEI ignores fields it does not read",
            },
        ),
        embedder,
    )
    assert isinstance(native, Native)
    assert native.payload == {
        "inputs": ["x"],
        "parameters": {"truncation_direction": "Left", "dimensions": 8, "normalize": True},
    }
    cut = np.array(_answer(tei.Embed(), embedder, {"inputs": "x", "dimensions": 8}))
    assert cut.shape == (1, 8) and abs(np.linalg.norm(cut[0]) - 1) < 1e-5
    raw = np.array(_answer(tei.Embed(), embedder, {"inputs": "x", "normalize": False}))
    assert abs(np.linalg.norm(raw[0]) - 1) > 1e-3


def test_embed_takes_token_ids_as_the_text_they_stand_for(embedder):
    """The same vectors as the texts' (for texts without unknown characters: [UNK] is a special token, dropped)."""
    plain = [TEXTS[0], "The girl is carrying a baby."]
    ids = embedder.tokenizer(plain)["input_ids"]
    texts = np.array(_answer(tei.Embed(), embedder, {"inputs": plain}))
    np.testing.assert_allclose(np.array(_answer(tei.Embed(), embedder, {"inputs": ids})), texts, atol=1e-6)
    np.testing.assert_allclose(np.array(_answer(tei.Embed(), embedder, {"inputs": ids[0]})), texts[:1], atol=1e-6)
    mixed = np.array(_answer(tei.Embed(), embedder, {"inputs": [plain[0], ids[1]]}))
    np.testing.assert_allclose(mixed, texts, atol=1e-6)


def test_embed_all_answers_every_token_s_vector_as_encode_s_token_embeddings(embedder, encoder):
    answer = _answer(tei.EmbedAll(), embedder, {"inputs": TEXTS})
    expected = encoder.encode(TEXTS, output_value="token_embeddings")
    assert len(answer) == 2
    for states, reference in zip(answer, expected, strict=True):
        states = np.array(states)
        assert states.shape == tuple(reference.shape)  # [CLS] ... [SEP], no padding
        np.testing.assert_allclose(states, reference.numpy(), atol=1e-4)
    assert np.array(_answer(tei.EmbedAll(), embedder, {"inputs": "hello"})).shape == (1, 3, 384)


def test_rerank_answers_tei_s_ranks_best_first(reranker):
    body = {
        "query": "What is Deep Learning?",
        "texts": ["Deep Learning is ...", "Cheese.", "Trains."],
        "return_text": True,
        "raw_scores": False,
        "truncate": None,
    }
    ranks = _answer(tei.Rerank(), reranker, body)
    assert sorted(rank["index"] for rank in ranks) == [0, 1, 2]
    assert [rank["score"] for rank in ranks] == sorted((rank["score"] for rank in ranks), reverse=True)
    assert all(rank["text"] == body["texts"][rank["index"]] and 0 <= rank["score"] <= 1 for rank in ranks)
    assert "text" not in _answer(tei.Rerank(), reranker, {"query": "q", "texts": ["t"]})[0]


def test_similarity_answers_the_cosines_of_encode_s_vectors(embedder, encoder):
    from sentence_transformers.util import cos_sim

    body = {
        "inputs": {"source_sentence": TEXTS[0], "sentences": ["A man eats.", TEXTS[1]]},
        "parameters": {"truncate": True, "prompt_name": None},
    }
    answer = _answer(tei.Similarity(), embedder, body)
    expected = cos_sim(encoder.encode([TEXTS[0]]), encoder.encode(["A man eats.", TEXTS[1]]))[0].tolist()
    np.testing.assert_allclose(answer, expected, atol=1e-5)
    # A field of inputs the route does not read is ignored, as TEI ignores it.
    with_more = {**body, "inputs": {**body["inputs"], "source_sentences": ["x"]}}
    assert _answer(tei.Similarity(), embedder, with_more) == answer


def test_tokenize_lists_tei_s_tokens_with_byte_offsets(embedder):
    [tokens] = _answer(tei.Tokenize(), embedder, {"inputs": "Café 東京"})
    assert tokens[0] == {"id": 101, "text": "[CLS]", "special": True, "start": None, "stop": None}
    assert tokens[-1]["text"] == "[SEP]" and tokens[-1]["special"]
    words = [(token["text"], token["start"], token["stop"]) for token in tokens[1:-1]]
    # The text as written (not the lower-cased, accent-stripped token), offsets in UTF-8 bytes as TEI's are.
    assert words == [("Café", 0, 5), ("東", 6, 9), ("京", 9, 12)]
    [plain] = _answer(tei.Tokenize(), embedder, {"inputs": ["Café 東京"], "add_special_tokens": False})[:1]
    assert [token["text"] for token in plain] == ["Café", "東", "京"]


def test_decode_answers_one_text_per_id_list(embedder):
    ids = embedder.tokenizer("hello world")["input_ids"]
    assert _answer(tei.Decode(), embedder, {"ids": ids}) == ["hello world"]
    assert _answer(tei.Decode(), embedder, {"ids": [ids, ids[1:2]], "skip_special_tokens": False}) == [
        "[CLS] hello world [SEP]",
        "hello",
    ]


def test_info_says_what_the_model_is_in_tei_s_shape(embedder, reranker):
    info = _answer(tei.Info(), embedder, None)
    assert info["model_id"] == "sentence-transformers/all-MiniLM-L6-v2" and info["model_sha"] is None
    assert info["model_type"] == {"embedding": {"pooling": "mean"}} and info["model_dtype"] == "float32"
    assert info["max_input_length"] == 256  # MiniLM's max_seq_length
    assert info["max_client_batch_size"] == tei.MAX_CLIENT_BATCH_SIZE and info["auto_truncate"] is True
    for name in ("max_concurrent_requests", "max_batch_tokens", "max_batch_requests", "tokenization_workers"):
        assert isinstance(info[name], int) and info[name] > 0, name
    assert isinstance(info["version"], str)
    ranked = _answer(tei.Info(), reranker, None)
    assert set(ranked["model_type"]) == {"reranker"} and len(ranked["model_type"]["reranker"]["id2label"]) == 1


@pytest.mark.parametrize(
    ("exchange", "body", "error", "fragment"),
    [
        (tei.Embed(), {"inputs": []}, EmptyInput, "`inputs` cannot be empty"),
        (
            tei.Embed(),
            {"inputs": ["t"] * (tei.MAX_CLIENT_BATCH_SIZE + 1)},
            PayloadTooLarge,
            f"batch size 1001 > maximum allowed batch size {tei.MAX_CLIENT_BATCH_SIZE}",
        ),
        (tei.Embed(), {"inputs": [101, 102]}, BadRequest, "inputs holds only special tokens"),
        (
            tei.Embed(),
            {"inputs": ["t", [7592, 10**6]]},
            BadRequest,
            "inputs[1][1] is token id 1000000, outside this model's vocabulary of 30,522 (0 to 30521)",
        ),
        (tei.Embed(), {"inputs": ["t", []]}, EmptyInput, "`inputs[1]` cannot be empty"),
        (tei.Embed(), {}, BadRequest, "inputs is missing"),
        (tei.Embed(), {"inputs": "x", "normalize": "no"}, None, "normalize must be true or false"),
        (tei.Embed(), ["t"], BadRequest, "must be a JSON object"),
        (tei.EmbedAll(), {"inputs": []}, EmptyInput, "`inputs` cannot be empty"),
        (
            tei.Similarity(),
            {"inputs": {"source_sentence": "s", "sentences": []}},
            EmptyInput,
            "`inputs.sentences` cannot be empty",
        ),
        (
            tei.Similarity(),
            {"inputs": {"source_sentence": "s", "sentences": ["t"] * tei.MAX_CLIENT_BATCH_SIZE}},
            PayloadTooLarge,
            "batch size 1001",
        ),  # the source sentence counts, as in TEI
        (tei.Similarity(), {"inputs": "a text"}, BadRequest, 'inputs must be an object {"source_sentence"'),
        (tei.Similarity(), {"inputs": ["a", "b"]}, BadRequest, "not array"),
        (tei.Tokenize(), {"inputs": []}, EmptyInput, "`inputs` cannot be empty"),
        (tei.Tokenize(), {"inputs": 7}, BadRequest, "a string or a list of strings"),
        (tei.Tokenize(), {"inputs": "t", "prompt_name": "query"}, BadRequest, "not one of this model's prompts"),
        (tei.Decode(), {"ids": []}, EmptyInput, "`ids` cannot be empty"),
        (tei.Decode(), {"ids": [10**9]}, BadRequest, "not a token id"),
        (tei.Decode(), {"ids": [[-1]]}, BadRequest, "ids holds -1, not a token id"),
        (tei.Decode(), {"ids": "1 2"}, BadRequest, "a list of token ids"),
        (tei.Rerank(), {"query": "q", "texts": []}, WrongModelType, "model is not a re-ranker model"),
    ],
)
def test_tei_s_limits_and_errors(embedder, exchange, body, error, fragment):
    with pytest.raises(error or BadRequest) as raised:  # None: the served model's own parser refuses it
        native = exchange.to_native(_call("tei", body), embedder)
        embedder.model.predict(native.payload)
    assert type(raised.value) is (error or BadRequest) and fragment in raised.value.message


def test_the_served_model_s_own_checks_still_apply(embedder):
    native = tei.Embed().to_native(_call("tei.embed", {"inputs": "word " * 400, "truncate": False}), embedder)
    with pytest.raises(PayloadTooLarge, match="over this model's 256"):
        embedder.model.predict(native.payload)


def test_a_route_the_model_does_not_serve_is_tei_s_424(reranker):
    for exchange in (tei.Embed(), tei.EmbedAll(), tei.Similarity()):
        with pytest.raises(WrongModelType, match="Model is not an embedding model"):
            exchange.to_native(_call("tei", {"inputs": "x"}), reranker)
    with pytest.raises(EmptyInput):  # a reranker checks its texts after it knows it is one
        tei.Rerank().to_native(_call("tei.rerank", {"query": "q", "texts": []}), reranker)


@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        ("empty_input", None, "Empty"),
        ("bad_request", None, "Validation"),
        ("payload_too_large", None, "Validation"),
        ("unprocessable", None, "Validation"),
        ("wrong_model_type", None, "Backend"),
        ("rate_limited", None, "Overloaded"),
        ("overloaded", None, "Overloaded"),
        ("not_ready", None, "Unhealthy"),
        ("internal_error", None, "Backend"),
        ("timeout", None, "Backend"),
    ],
)
def test_errors_carry_tei_s_error_type(code, status, error_type):
    document = error_document(Protocol.TEI, code, "why", "request-1", status=status)
    assert document["error"] == "why" and document["error_type"] == error_type
    assert WrongModelType("x").status == 424
