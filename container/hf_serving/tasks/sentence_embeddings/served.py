"""The served sentence-embeddings model: a list of vectors, one per input text; or, for a sentence-similarity
request, a bare list of cosines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, ModelFacts, TaskSpec
from hf_serving.tasks.sentence_embeddings import similarity
from hf_serving.tasks.sentence_embeddings.embedder import SentenceEmbedder
from hf_serving.tasks.sentence_embeddings.layout import SentenceTransformerLayout, is_sentence_transformers_dir
from hf_serving.tasks.sentence_embeddings.requests import (
    EmbeddingParameters,
    EmbeddingsItem,
    EmbeddingsRequest,
    SimilarityParameters,
    SimilarityQuery,
)

# A text's vector; with output_value token_embeddings, its tokens' vectors.
EmbeddingsResult = list[float] | list[list[float]]


class SentenceEmbeddingsModel(
    BatchedModel[EmbeddingsItem, EmbeddingParameters | SimilarityParameters, EmbeddingsResult]
):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        layout = (
            SentenceTransformerLayout.read(parts.model_dir)
            if is_sentence_transformers_dir(parts.model_dir)
            else SentenceTransformerLayout.plain(parts.model_dir)
        )
        self.embedder = SentenceEmbedder(parts.engine, parts.tokenizer, parts.config, layout)

    def numbers_per_item(self, parameters: EmbeddingParameters | SimilarityParameters) -> int:
        if isinstance(parameters, SimilarityParameters):
            return 1  # at least one sentence's cosine
        width = self.embedder.dimension or 0
        if parameters.tokens:  # one token's vector at least (the hidden size; pooled widths may be a multiple)
            return width // len(self.embedder.layout.pooling.modes)
        for cut in (self.embedder.layout.truncate_dim, parameters.dimensions):
            if cut is not None and width:
                width = min(width, cut)
        return width

    def answer(
        self, items: list[EmbeddingsItem], parameters: EmbeddingParameters | SimilarityParameters
    ) -> list[ItemAnswer[EmbeddingsResult]]:
        """Texts' vectors; or, with similarity parameters (whose requests hold only queries), each query's cosines,
        every text of every query through the model together."""
        if isinstance(parameters, SimilarityParameters):
            queries = [item for item in items if isinstance(item, SimilarityQuery)]
            vectors, tokens = self.embedder.embed(
                similarity.texts(queries),
                parameters.embedding(),
                similarity.names(queries) if len(queries) == 1 else None,
            )
            return [
                ItemAnswer(cosines, count)
                for cosines, count in zip(
                    similarity.cosines(np.asarray(vectors, dtype=np.float32), queries),
                    similarity.per_query(tokens, queries),
                    strict=True,
                )
            ]
        texts = [item for item in items if isinstance(item, str)]
        if parameters.tokens:
            width = self.numbers_per_item(parameters)

            def refuse_over(tokens: int) -> None:  # the answer's size is known once the texts are tokenised
                self._refuse_numbers_over_the_limit(
                    tokens * width, f"the answer holds the vectors of at least {tokens:,} tokens,"
                )

            states, counts = self.embedder.token_states(texts, parameters, refuse_over)
            return [ItemAnswer(state, count) for state, count in zip(states, counts, strict=True)]
        vectors, tokens = self.embedder.embed(texts, parameters)
        return [ItemAnswer(vector, count) for vector, count in zip(vectors, tokens, strict=True)]

    def format(self, request: EmbeddingsRequest, results: list[EmbeddingsResult]) -> object:
        if isinstance(request.parameters, SimilarityParameters):
            return results[0]  # the similarities themselves, a bare list, as the Inference API and TEI answer
        return results  # always a list of vectors (of token vectors), as text-embeddings-inference answers

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}


def layout_facts(model_dir: Path) -> ModelFacts:
    """The names of the model's prompts and its vectors' width, as the layout reads them."""
    if is_sentence_transformers_dir(model_dir):
        layout = SentenceTransformerLayout.read(model_dir)
        return ModelFacts(prompt_names=tuple(sorted(layout.prompts)), width=layout.pooling.output_dimension())
    return ModelFacts(prompt_names=())  # a plain encoder: no prompts, and a width only its loaded weights say
