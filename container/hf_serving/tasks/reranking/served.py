"""The served reranker: text-embeddings-inference's /rerank answer, [{"index", "score", "text"?}], best first."""

from __future__ import annotations

import numpy as np

from hf_serving.monitoring.outcomes import Prediction
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, ParsedRequest, TaskSpec
from hf_serving.tasks.reranking.layout import CrossEncoderLayout
from hf_serving.tasks.reranking.requests import Pair, Ranking, RerankRequest, Scoring
from hf_serving.tasks.reranking.scorer import PairScorer, activate


class RerankingModel(BatchedModel[Pair, Scoring, float]):
    """answer() gives each pair's logit (what the response cache keeps); format() applies each request's activation,
    sorting and cut."""

    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.layout = CrossEncoderLayout.read(parts.model_dir)
        self.scorer = PairScorer(parts.engine, parts.tokenizer, parts.config, self.layout)

    def numbers_per_item(self, parameters: Scoring) -> int:
        return 2  # its index and its score

    def answer(self, items: list[Pair], parameters: Scoring) -> list[ItemAnswer[float]]:
        return [ItemAnswer(scored.logit, scored.tokens) for scored in self.scorer(items, parameters)]

    def predictions(self, result: float, request: ParsedRequest[Pair, Scoring]) -> tuple[Prediction, ...]:
        """A pair's relevance where it is a probability (the sigmoid a cross-encoder applies); a logit or a tanh
        score is no confidence (raw_scores, other activations): nothing then."""
        ranking = request.ranking if isinstance(request, RerankRequest) else Ranking()
        if ranking.raw_scores or self.layout.activation != "sigmoid":
            return ()
        return (Prediction(None, float(activate(np.array([result]), "sigmoid")[0])),)

    def format(self, request: ParsedRequest[Pair, Scoring], results: list[float]) -> object:
        """Each text's score (the model's activation unless raw_scores), highest first as CrossEncoder.rank sorts
        them (a stable sort: ties keep the texts' order), cut at top_n."""
        ranking = request.ranking if isinstance(request, RerankRequest) else Ranking()
        logits = np.array(results, dtype=np.float32)
        scores: list[float] = (logits if ranking.raw_scores else activate(logits, self.layout.activation)).tolist()
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[: ranking.top_n]
        return [
            {
                "index": index,
                "score": scores[index],
                **({"text": request.items[index].text} if ranking.return_text else {}),
            }
            for index in order
        ]

    def warmup_payload(self) -> object:
        return {
            "query": "Is the container ready?",
            "texts": ["The container started.", "Warming up the model before /ping says ready."],
        }
