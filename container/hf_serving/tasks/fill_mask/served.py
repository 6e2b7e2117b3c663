"""The served fill-mask model: the pipeline's answers, each text checked for its mask token before any model pass."""

from __future__ import annotations

import dataclasses

from hf_serving.errors import BadRequest, ResponseTooLarge
from hf_serving.monitoring.outcomes import Prediction
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.envelope import input_field
from hf_serving.tasks.fill_mask.filler import MaskFiller
from hf_serving.tasks.fill_mask.requests import FillMaskParameters, FillMaskRequest

# Each proposal is at least a score and a token id, in a JSON object at least this long:
_NUMBERS_PER_PROPOSAL = 2
_PROPOSAL_BYTES = len('{"score":0,"token":0,"token_str":"","sequence":""}')


class FillMaskModel(BatchedModel[str, FillMaskParameters, list]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.filler = MaskFiller(parts.engine, parts.tokenizer, parts.config)
        self.parse = self._parse_for_this_model

    def _parse_for_this_model(self, payload: object) -> FillMaskRequest:
        """The request's shape, then what only this model's tokenizer can tell: each text's mask token, the
        targets' ids, top_k within the vocabulary. A 400 naming the text or the parameter, before any model pass
        (and for one record of a batch, its own error)."""
        request: FillMaskRequest = self.spec.parse_request(payload)
        field = (input_field(payload) if isinstance(payload, dict) else None) or "inputs"  # as the client wrote it
        for index, text in enumerate(request.items):
            problem = self.filler.problem(text)
            if problem is not None:
                raise BadRequest(f"{f'{field}[{index}]' if request.is_batch else field} {problem}")
        parameters = request.parameters
        if parameters.targets is not None:
            parameters = dataclasses.replace(parameters, target_ids=self.filler.target_ids(parameters.targets))
        elif parameters.top_k > self.filler.vocabulary_size:
            raise BadRequest(
                f"parameters.top_k must be at most {self.filler.vocabulary_size:,}, this model's vocabulary"
            )
        return dataclasses.replace(request, parameters=parameters)

    def numbers_per_item(self, parameters: FillMaskParameters) -> int:
        """A text has one mask or more, each answered with top_k proposals (fewer where fewer targets)."""
        proposals = (
            parameters.top_k if parameters.target_ids is None else min(parameters.top_k, len(parameters.target_ids))
        )
        return proposals * _NUMBERS_PER_PROPOSAL

    def answer(self, items: list[str], parameters: FillMaskParameters) -> list[ItemAnswer[list]]:
        rows = self.filler.rows(items)
        self._refuse_proposals_over_the_limit(rows, parameters)
        return [
            ItemAnswer(filled.result, filled.tokens)
            for filled in self.filler.fill(rows, parameters.top_k, parameters.target_ids)
        ]

    def _refuse_proposals_over_the_limit(self, rows: list[dict], parameters: FillMaskParameters) -> None:
        """Once the masks are counted, before the model pass: a text's every mask gets its own top_k proposals, so
        a slice of texts full of masks (500 masks, top_k 100: 50,000 proposals a text) is refused here, not after
        building millions of them. Each proposal is a JSON object of at least _PROPOSAL_BYTES."""
        if self.answer_limit_bytes is None:
            return
        proposals = sum(self.filler.masks(row) for row in rows) * self.filler.proposals_per_mask(
            parameters.top_k, parameters.target_ids
        )
        if proposals * _PROPOSAL_BYTES > self.answer_limit_bytes:
            raise ResponseTooLarge.over(
                f"the answer holds {proposals:,} proposals, at least {proposals * _PROPOSAL_BYTES:,} bytes",
                self.answer_limit_bytes,
            )

    def predictions(self, result: list, request: FillMaskRequest) -> tuple[Prediction, ...]:
        """Each mask's best proposal's score, without its token: a vocabulary of tens of thousands of tokens is no
        class to count. One mask answers a list of proposals, several a list of such lists."""
        masks = result if result and isinstance(result[0], list) else [result]
        return tuple(
            Prediction(None, max(float(proposal["score"]) for proposal in proposals))
            for proposals in masks
            if proposals
        )

    def format(self, request: FillMaskRequest, results: list[list]) -> object:
        """The pipeline's shapes: a list of texts answers a list, except a list of one, which answers as its text."""
        return results if request.is_batch and len(results) > 1 else results[0]

    def warmup_payload(self) -> object:
        mask = self.filler.mask_token
        return {"inputs": [f"The container {mask}.", f"Warming up the {mask} before /ping says ready."]}
