"""Sentence similarity: the cosine of a source sentence's vector with each other sentence's, as
sentence_transformers.util.cos_sim computes it on SentenceTransformer.encode()'s vectors.

The texts of every query given at once (a request's, or a server-side batch's) go through the embedder together:
one length-sorted run for all of them, then each query's cosines from its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hf_serving.tasks.sentence_embeddings.requests import SimilarityQuery

# torch.nn.functional.normalize's floor on a norm (cos_sim normalises with it): a zero vector gives 0, not NaN.
_EPSILON = 1e-12


def texts(queries: Sequence[SimilarityQuery]) -> list[str]:
    """Every query's source sentence, then its sentences, query after query: what cosines() reads back."""
    return [text for query in queries for text in (query.source_sentence, *query.sentences)]


def names(queries: Sequence[SimilarityQuery]) -> list[str]:
    """How a request names each of texts(): for one query, its field ("inputs.sentences[2]")."""
    return [
        name
        for query in queries
        for name in ("inputs.source_sentence", *(f"inputs.sentences[{index}]" for index in range(len(query.sentences))))
    ]


def cosines(vectors: np.ndarray, queries: Sequence[SimilarityQuery]) -> list[list[float]]:
    """One list per query: the cosine of its source sentence's vector with each of its sentences', in order."""
    unit = vectors.astype(np.float64)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), _EPSILON)
    results, row = [], 0
    for query in queries:
        source, others = unit[row], unit[row + 1 : row + 1 + len(query.sentences)]
        results.append((others @ source).tolist())
        row += 1 + len(query.sentences)
    return results


def per_query(tokens: Sequence[int], queries: Sequence[SimilarityQuery]) -> list[int]:
    """Each query's tokens: the sum over its texts (in texts()' order) of what the model read."""
    sums, row = [], 0
    for query in queries:
        sums.append(sum(tokens[row : row + 1 + len(query.sentences)]))
        row += 1 + len(query.sentences)
    return sums
