"""The served sentence-embeddings model: a list of vectors, one per input text."""

from __future__ import annotations

from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.sentence_embeddings.embedder import SentenceEmbedder
from hf_serving.tasks.sentence_embeddings.layout import SentenceTransformerLayout, is_sentence_transformers_dir
from hf_serving.tasks.sentence_embeddings.requests import EmbeddingParameters, EmbeddingsRequest


class SentenceEmbeddingsModel(BatchedModel[str, EmbeddingParameters, list[float]]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        layout = (SentenceTransformerLayout.read(parts.model_dir) if is_sentence_transformers_dir(parts.model_dir)
                  else SentenceTransformerLayout.plain(parts.model_dir))
        self.embedder = SentenceEmbedder(parts.engine, parts.tokenizer, parts.config, layout)

    def numbers_per_item(self, parameters: EmbeddingParameters) -> int:
        width = self.embedder.dimension or 0
        for cut in (self.embedder.layout.truncate_dim, parameters.dimensions):
            if cut is not None and width:
                width = min(width, cut)
        return width

    def answer(self, items: list[str], parameters: EmbeddingParameters) -> list[ItemAnswer[list[float]]]:
        vectors, tokens = self.embedder.embed(items, parameters)
        return [ItemAnswer(vector, count) for vector, count in zip(vectors, tokens, strict=True)]

    def format(self, request: EmbeddingsRequest, results: list[list[float]]) -> object:
        return results  # always a list of vectors, as text-embeddings-inference answers

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}
