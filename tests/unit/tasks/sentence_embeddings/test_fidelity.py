"""The real all-MiniLM-L6-v2 served as sentence embeddings: sentence-transformers' encode() is the reference.

float32 on torch must give encode()'s vectors (cosine >= 0.99999, the same truncation at 256 tokens); bfloat16
and int8 on OpenVINO go through the fidelity gate: cosine >= 0.99 to float32 and the same nearest neighbours on a
held-out set, and paraphrases closer than unrelated sentences. sentence-transformers is a test dependency only.
"""

from __future__ import annotations

import numpy as np
import pytest

from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from tests.support.paths import minilm

LONG = " ".join(["The harbour bridge carries rail, road and foot traffic across the water."] * 40)  # ~600 tokens
VARIED = [
    "A man is eating food.",
    "Ein Mann isst Brot. Café, naïve, 東京, 😀 emoji.",
    "hi",
    LONG,
    "  leading and trailing spaces  ",
    "Tabs\tand\nnew lines.",
    "UPPER case Words",
]
# Held out: pairs of paraphrases, each unrelated to the other pairs.
PARAPHRASES = [
    ("How do I reset my password?", "What are the steps to change a forgotten password?"),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
    ("Stock markets fell sharply today.", "Share prices dropped steeply this afternoon."),
    ("She is learning to play the violin.", "She takes violin lessons."),
    ("Heavy rain is expected tomorrow.", "The forecast says it will pour tomorrow."),
    ("The train to Paris was delayed.", "Our Paris train left late."),
    ("He fixed the bicycle's flat tyre.", "He repaired the punctured bike tire."),
    ("Photosynthesis turns light into chemical energy.", "Plants convert sunlight into chemical energy."),
]


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm()), device="cpu")


def _served(dtype: str, engine: str = "auto"):
    return load_served_model(minilm(), Settings(model_dir=minilm(), dtype=dtype, engine=engine))


@pytest.fixture(scope="module")
def float32():
    return _served("float32", "torch")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_float32_equals_encode_on_varied_texts_one_at_a_time_and_as_a_batch(float32, reference):
    expected = reference.encode(VARIED, convert_to_numpy=True)
    batch = np.array(float32.predict({"inputs": VARIED}))
    alone = np.array([float32.predict({"inputs": text})[0] for text in VARIED])
    assert batch.shape == expected.shape == (len(VARIED), 384)
    assert _cosines(batch, expected).min() >= 0.99999
    assert _cosines(alone, expected).min() >= 0.99999
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)  # its Normalize module


def test_over_long_texts_are_cut_at_max_seq_length_as_encode_cuts_them(float32, reference):
    assert len(reference.tokenizer(LONG)["input_ids"]) > 256 == reference.max_seq_length
    cut = reference.tokenizer.decode(reference.tokenizer(LONG, truncation=True, max_length=256)["input_ids"][1:-1])
    vectors = np.array(float32.predict({"inputs": [LONG, cut]}))
    assert _cosines(vectors[:1], vectors[1:])[0] >= 0.99999  # only the first 256 tokens count


def test_normalize_false_gives_the_pooled_vector_before_the_normalize_module(float32, reference):
    raw = np.array(float32.predict({"inputs": VARIED[:3], "normalize": False}))
    pooled = reference.encode(
        VARIED[:3], output_value="sentence_embedding", convert_to_numpy=True, normalize_embeddings=False
    )
    norms = np.linalg.norm(raw, axis=1)
    assert not np.allclose(norms, 1.0, atol=1e-3)
    assert _cosines(raw, pooled).min() >= 0.99999


@pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt")
@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_reduced_precision_passes_the_fidelity_gate(float32, dtype):
    texts = [text for pair in PARAPHRASES for text in pair]
    exact = np.array(float32.predict({"inputs": texts}))
    served = _served(dtype)
    assert served.engine.description.startswith("OpenVINO") and served.engine.dtype == dtype
    reduced = np.array(served.predict({"inputs": texts}))
    assert _cosines(reduced, exact).min() >= 0.99
    for vectors in (exact, reduced):
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -1)
        nearest = similarity.argmax(axis=1)
        partner = np.arange(len(texts)) ^ 1  # 0<->1, 2<->3, ...: each text's paraphrase
        assert (nearest == partner).all(), nearest
    exact_similarity, reduced_similarity = exact @ exact.T, reduced @ reduced.T
    np.fill_diagonal(exact_similarity, -1)
    np.fill_diagonal(reduced_similarity, -1)
    assert (exact_similarity.argmax(axis=1) == reduced_similarity.argmax(axis=1)).all()
