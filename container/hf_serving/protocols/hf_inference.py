"""The Hugging Face Inference API's answer shapes, for `huggingface_hub.InferenceClient(model=URL + "/hf-inference")`.

/invocations answers transformers' pipeline's shapes (those of AWS's toolkit, which this container keeps), and for
most tasks they are the ones the client parses. For two they are not, for the very same request body, so no
/invocations request can tell which answer is wanted:
- text classification: the client takes the first element of the answer, expecting the Inference API's
  [[{label, score}, ...]] for one text; the pipeline answers [{label, score}, ...] (its best label alone without
  top_k), so the client would return one label, not a list.
- zero-shot classification: the client reads [{label, score}, ...]; the pipeline answers {sequence, labels, scores}.
This route takes the same bodies as /invocations and reshapes those two answers; every other task's answer is
/invocations' own. Errors are the Inference API's {"error": "..."}, which is TEI's shape (with its error_type).
"""

from __future__ import annotations

from typing import Any

from hf_serving.error_catalogue import Protocol
from hf_serving.protocols.exchange import Answer, Call, Direct, Exchange, Native, Served, Usage
from hf_serving.tasks.envelope import input_field

CLASSIFICATION, ZERO_SHOT = "text-classification", "zero-shot-classification"


class InferenceApi(Exchange):
    protocol = Protocol.TEI

    def to_native(self, call: Call, served: Served) -> Native | Direct:
        body = call.json_body()
        lone = isinstance(body, dict) and isinstance(body.get(input_field(body) or "inputs"), str)
        if served.task == CLASSIFICATION and isinstance(body, dict) and lone:
            parameters = body.get("parameters")
            if (parameters is None or isinstance(parameters, dict)) and "top_k" not in (parameters or {}):
                # The Inference API answers every label, best first; without top_k the pipeline answers the best.
                body = {**body, "parameters": {**(parameters or {}), "top_k": None}}
        return Native(body, keep=lone)

    def from_native(self, answer: Any, native: Native, call: Call, served: Served, usage: Usage) -> Answer:
        if served.task == CLASSIFICATION and native.keep:
            return Answer(document=[answer])  # one text: a list of its labels, in a list
        if served.task == ZERO_SHOT:
            return Answer(document=[_labels(item) for item in answer] if isinstance(answer, list) else _labels(answer))
        return Answer(document=answer)


def _labels(answer: Any) -> Any:
    """The pipeline's {sequence, labels, scores} as the Inference API's [{label, score}, ...], best first."""
    if not isinstance(answer, dict) or "labels" not in answer:
        return answer  # a user's own output_fn: as it answered
    return [{"label": label, "score": score} for label, score in zip(answer["labels"], answer["scores"], strict=True)]
