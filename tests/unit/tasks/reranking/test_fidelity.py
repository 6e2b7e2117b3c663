"""The fidelity gate (MODEL_DTYPE) for reranking: bfloat16 and int8 on OpenVINO score as float32 does, on the tiny
cross-encoder built for these tests.

Its weights are random, so many of its scores are near ties that any rounding may swap; the gate asks what a
reranker's user relies on: every score within 0.1 of float32's, and every two texts that float32 tells apart by
more than 0.1 in the same order.
"""

from __future__ import annotations

import numpy as np
import pytest

from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings

QUERIES = [
    "What is deep learning?",
    "Where is Paris?",
    "How is cheese made?",
    "When does the train leave?",
    "Who wrote Hamlet?",
    "Why is the sky blue?",
    "How do rerankers work?",
    "Which port does it listen on?",
]
TEXTS = [
    "Deep learning is a subset of machine learning.",
    "Paris is the capital of France.",
    "Cheese is made from milk.",
    "The train leaves at noon.",
    "Hamlet is a tragedy by Shakespeare.",
    "Rayleigh scattering makes the sky blue.",
    "A cross-encoder reads query and passage together.",
    "The container listens on port 8080.",
    "Café, naïve, 東京 and 😀.",
    "A long passage " * 50,
]
SCORE_TOLERANCE = 0.1


def _scores(model) -> np.ndarray:
    return np.array(
        [
            [
                entry["score"]
                for entry in sorted(model.predict({"query": query, "texts": TEXTS}), key=lambda entry: entry["index"])
            ]
            for query in QUERIES
        ]
    )


@pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt")
@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_reduced_precision_passes_the_fidelity_gate(cross_encoder_dir, served, dtype):
    exact = _scores(served)
    reduced_model = load_served_model(cross_encoder_dir, Settings(model_dir=cross_encoder_dir, dtype=dtype))
    assert reduced_model.engine.description.startswith("OpenVINO") and reduced_model.engine.dtype == dtype
    reduced = _scores(reduced_model)
    assert np.abs(reduced - exact).max() <= SCORE_TOLERANCE
    separated = exact[:, :, None] - exact[:, None, :] > SCORE_TOLERANCE  # [query, i, j]: float32 puts i well above j
    assert separated.sum() >= 100  # the gate has pairs to judge
    kept = reduced[:, :, None] > reduced[:, None, :]
    assert kept[separated].all()
