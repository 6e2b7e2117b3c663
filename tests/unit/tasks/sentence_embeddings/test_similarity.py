"""Sentence similarity on the real all-MiniLM-L6-v2: equal to sentence_transformers.util.cos_sim of
SentenceTransformer.encode(), every text in one model run, requests of a server-side batch together, and its errors."""

from __future__ import annotations

import pytest

from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.formats.media import JSONLINES
from hf_serving.formats.records import RecordBatch
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from hf_serving.tasks.sentence_embeddings.requests import (
    MAX_SENTENCES,
    SimilarityParameters,
    SimilarityQuery,
    parse_embeddings_request,
)
from tests.support.paths import minilm

SOURCE = "A man is eating food."
SENTENCES = [
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Ein Mann isst Brot. Café, 東京, 😀",
    "A man is riding a horse.",
    "A long meal. " + "word " * 400 + "A horse.",
]  # cut at max_seq_length


@pytest.fixture(scope="module")
def model():
    # HF_TASK=sentence-similarity names the sentence-embeddings task, which answers both request shapes.
    settings = Settings(model_dir=minilm(), dtype="float32", engine="torch", task="sentence-similarity")
    return load_served_model(minilm(), settings)


@pytest.fixture(scope="module")
def encoder():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu")


def cos_sim(encoder, source: str, sentences: list[str]) -> list[float]:
    """The reference: sentence-transformers' own cosine of encode()'s vectors."""
    from sentence_transformers.util import cos_sim

    return cos_sim(encoder.encode([source]), encoder.encode(sentences))[0].tolist()


def similarity(source: str, sentences: list[str], **parameters) -> dict:
    return {"inputs": {"source_sentence": source, "sentences": sentences}, **parameters}


def count_passes(model):
    """A list that each model pass appends its rows to, the engine's own run (to put back), and the counting run."""
    calls: list[int] = []
    original = model.engine.run
    return calls, original, lambda feed: calls.append(feed["input_ids"].shape[0]) or original(feed)


def test_similarities_equal_cos_sim_of_encode_as_a_bare_list(model, encoder):
    assert model.task is Task.SENTENCE_EMBEDDINGS
    answer = model.predict(similarity(SOURCE, SENTENCES))
    assert isinstance(answer, list) and all(isinstance(value, float) for value in answer)
    assert answer == pytest.approx(cos_sim(encoder, SOURCE, SENTENCES), abs=1e-5)
    assert model.predict({"text": similarity(SOURCE, SENTENCES)["inputs"]}) == answer  # "text" stands for "inputs"
    [alone] = model.predict(similarity(SOURCE, SENTENCES[:1]))
    assert alone == pytest.approx(answer[0], abs=1e-6)


def test_the_source_and_every_sentence_go_through_the_model_in_one_run(model):
    calls, original, run = count_passes(model)
    model.engine.run = run
    try:
        model.predict(similarity(SOURCE, SENTENCES))
    finally:
        model.engine.run = original
    assert calls == [1 + len(SENTENCES)]


def test_similarity_requests_of_a_server_side_batch_share_one_run_and_a_bad_one_keeps_its_own_error(model, encoder):
    records = [
        similarity(SOURCE, SENTENCES[:2]),
        {"inputs": {"source_sentence": SOURCE, "sentences": []}},
        similarity(SENTENCES[3], SENTENCES[2:4]),
        {"inputs": ["an embedding request", "beside them"]},
    ]
    calls, original, run = count_passes(model)
    model.engine.run = run
    try:
        results = model.predict_records(RecordBatch(JSONLINES, records)).results
    finally:
        model.engine.run = original
    assert calls == [6, 2]  # both similarity records' 3 texts each in one run; the vectors request in its own
    first, error, second, vectors = results
    assert first == pytest.approx(cos_sim(encoder, SOURCE, SENTENCES[:2]), abs=1e-5)
    assert second == pytest.approx(cos_sim(encoder, SENTENCES[3], SENTENCES[2:4]), abs=1e-5)
    assert isinstance(error, BadRequest) and error.message == "inputs.sentences must not be an empty list"
    assert len(vectors) == 2 and len(vectors[0]) == 384


def test_parameters_at_the_top_level_or_inside(model):
    right = model.predict(similarity(SOURCE, SENTENCES))
    assert model.predict(similarity(SOURCE, SENTENCES, parameters={})) == right  # InferenceClient sends {}
    assert model.predict(similarity(SOURCE, SENTENCES, truncate=True)) == right
    left = model.predict(similarity(SOURCE, SENTENCES, parameters={"truncation_direction": "Left"}))
    assert left[:4] == pytest.approx(right[:4], abs=1e-6)  # the short sentences are whole either way
    assert abs(left[4] - right[4]) > 1e-3  # the long one keeps its other end


def test_an_over_long_sentence_with_truncate_false_is_a_413_naming_it(model):
    with pytest.raises(PayloadTooLarge, match=r"inputs\.sentences\[4\] is \d+ tokens long, over this model's 256"):
        model.predict(similarity(SOURCE, SENTENCES, truncate=False))


def test_queries_are_frozen_so_that_the_cache_and_the_batcher_can_key_them():
    request = parse_embeddings_request(similarity("s", ["a", "b"], parameters={"truncation_direction": "LEFT"}))
    assert request.items == [SimilarityQuery("s", ("a", "b"))] and not request.is_batch
    assert request.parameters == SimilarityParameters(truncation_direction="left")
    assert hash(request.items[0]) == hash(SimilarityQuery("s", ("a", "b")))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": {"source_sentence": "s", "sentences": []}}, "inputs.sentences must not be an empty list"),
        ({"inputs": {"sentences": ["a"]}}, "inputs.source_sentence is missing: a similarity request is"),
        ({"inputs": {"source_sentence": "s"}}, "inputs.sentences is missing"),
        ({"inputs": {"source_sentence": " ", "sentences": ["a"]}}, "inputs.source_sentence must not be empty"),
        (
            {"inputs": {"source_sentence": "s", "sentences": "a"}},
            "inputs.sentences must be a list of strings, not string",
        ),
        (
            {"inputs": {"source_sentence": "s", "sentences": ["a", 3]}},
            "inputs.sentences[1] must be a string, not number",
        ),
        (
            {"inputs": {"source_sentence": "s", "sentences": ["a"] * (MAX_SENTENCES + 1)}},
            f"inputs.sentences holds {MAX_SENTENCES + 1:,} sentences, over the {MAX_SENTENCES:,} a request may compare",
        ),
        ({"inputs": {"source_sentence": "s", "sentences": ["a"], "top_k": 2}}, "unknown field(s) top_k in inputs"),
        ({"text": {"sentences": ["a"]}}, "text.source_sentence is missing"),
        ({"inputs": {"source_sentence": "s", "sentences": ["a"]}, "normalize": True}, "unknown field(s) normalize"),
        (
            {"inputs": {"source_sentence": "s", "sentences": ["a"]}, "parameters": {"dimensions": 8}},
            "unknown parameters: dimensions (accepted: truncate, truncation_direction, prompt_name)",
        ),
        (
            {"inputs": {"source_sentence": "s", "sentences": ["a"]}, "parameters": {"truncate": "no"}},
            "parameters.truncate must be true or false",
        ),
        ({"inputs": [{"source_sentence": "s", "sentences": ["a"]}]}, "inputs[0] must be a string, not object"),
    ],
)
def test_bad_similarity_requests_are_400s_naming_the_field(payload, message):
    with pytest.raises(BadRequest) as caught:
        parse_embeddings_request(payload)
    assert message in caught.value.message


def test_an_unknown_prompt_name_is_a_400(model):
    with pytest.raises(BadRequest, match=r"parameters\.prompt_name 'query' is not one of this model's prompts"):
        model.predict(similarity(SOURCE, SENTENCES[:1], prompt_name="query"))


def test_a_repeated_similarity_request_comes_from_the_response_cache(model):
    from hf_serving.caching.response_cache import ResponseCache
    from hf_serving.caching.stores import MemoryStore
    from hf_serving.observability.worker_metrics import WorkerMetrics

    first = model.predict(similarity(SOURCE, SENTENCES[:3]))
    model.use_cache(
        ResponseCache(
            MemoryStore(1 << 20, 60),
            "identity",
            WorkerMetrics("model", "sentence-embeddings", enabled=False),
            model.encode_result,
            model.decode_result,
        )
    )
    calls, original, run = count_passes(model)
    model.engine.run = run
    try:
        assert model.predict(similarity(SOURCE, SENTENCES[:3])) == first  # a miss: computed, stored
        assert model.predict(similarity(SOURCE, SENTENCES[:3])) == first  # a hit: the model is not run
        assert model.predict(similarity(SOURCE, SENTENCES[:2])) != first  # another query: its own key
    finally:
        model.engine.run = original
        model.cache = None
    assert calls == [4, 3]


def test_a_querys_tokens_are_those_of_its_source_and_every_sentence(model):
    model.take_usage()
    model.predict(similarity(SOURCE, SENTENCES))
    usage = model.take_usage()
    lengths = [
        len(ids) for ids in model.embedder.tokenizer([SOURCE, *SENTENCES], truncation=True, max_length=256)["input_ids"]
    ]
    assert usage is not None and usage.tokens == sum(lengths)


def test_a_query_over_a_records_text_is_a_413_before_any_model_pass():
    from hf_serving.tasks.base import RECORD_CHARS

    sentence = "x" * (RECORD_CHARS // 4)
    with pytest.raises(PayloadTooLarge, match=r"inputs holds [\d,]+ characters of text, over the"):
        parse_embeddings_request(similarity("s", [sentence] * 5))
