"""The served reranker: text-embeddings-inference's /rerank answer, [{"index", "score", "text"?}], best first."""

from __future__ import annotations

import numpy as np

from hf_serving.tasks.base import BatchedModel, LoadedParts, TaskSpec
from hf_serving.tasks.reranking.layout import CrossEncoderLayout
from hf_serving.tasks.reranking.requests import Pair, RerankRequest, Scoring
from hf_serving.tasks.reranking.scorer import PairScorer, activate


class RerankingModel(BatchedModel[Pair, Scoring]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.layout = CrossEncoderLayout.read(parts.model_dir)
        self.scorer = PairScorer(parts.engine, parts.tokenizer, parts.config, self.layout)

    def numbers_per_item(self, parameters: Scoring) -> int:
        return 2  # its index and its score

    def answer(self, items: list[Pair], parameters: Scoring) -> list[object]:
        return [scored.logit for scored in self.scorer(items, parameters)]

    def format(self, request: RerankRequest, results: list[object]) -> object:  # type: ignore[override]
        """Each text's score (the model's activation unless raw_scores), highest first as CrossEncoder.rank sorts
        them (ties in the texts' order), cut at top_n."""
        ranking = request.ranking
        logits = np.array(results, dtype=np.float32)
        scores = (logits if ranking.raw_scores else activate(logits, self.layout.activation)).tolist()
        entries: list[dict[str, object]] = []
        for index, (pair, score) in enumerate(zip(request.items, scores, strict=True)):
            entries.append({"index": index, "score": score, **({"text": pair.text} if ranking.return_text else {})})
        entries.sort(key=lambda entry: entry["score"], reverse=True)  # type: ignore[arg-type,return-value]
        return entries if ranking.top_n is None else entries[:ranking.top_n]

    def warmup_payload(self) -> object:
        return {"query": "Is the container ready?",
                "texts": ["The container started.", "Warming up the model before /ping says ready."]}
