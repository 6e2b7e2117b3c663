"""huggingface_hub's InferenceClient against one of the container's URLs (/invocations, or TEI's /embed and
/similarity, where LangChain's HuggingFaceEndpointEmbeddings points it), as its users call it; run in the clients' own
venv (.venv-clients). Prints one JSON line: each call's answer, or its error's status and text.

    hf_inference_client.py MODEL_URL CALL [CALL...]    CALL is one of CALLS' names
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError

CALLS: dict[str, Any] = {
    "feature_extraction": lambda c: c.feature_extraction("A man is eating food.").tolist(),
    "feature_extraction_batch": lambda c: c.feature_extraction(["A man is eating food.", "A girl."]).tolist(),
    "feature_extraction_parameters": lambda c: c.feature_extraction(
        "A man is eating food.", normalize=False, truncate=True, truncation_direction="Left", dimensions=8
    ).tolist(),
    "sentence_similarity": lambda c: c.sentence_similarity(
        "A man is eating food.", ["A man is eating a piece of bread.", "The girl is carrying a baby."]
    ),
    "text_classification": lambda c: c.text_classification("I love this, it is wonderful!"),
    "text_classification_top_k": lambda c: c.text_classification(
        "I love this, it is wonderful!", top_k=2, function_to_apply="softmax"
    ),
    "token_classification": lambda c: c.token_classification("My name is Wolfgang and I live in Berlin."),
    "token_classification_simple": lambda c: c.token_classification(
        "My name is Wolfgang and I live in Berlin.", aggregation_strategy="simple"
    ),
    "token_classification_parameters": lambda c: c.token_classification(
        "My name is Wolfgang and I live in Berlin.",
        aggregation_strategy="first",
        ignore_labels=["O", "B-LOC"],
        stride=0,
    ),
    "fill_mask": lambda c: c.fill_mask("The capital of France is [MASK]."),
    "fill_mask_targets": lambda c: c.fill_mask("The capital of France is [MASK].", targets=["rome", "paris"]),
    "fill_mask_top_k": lambda c: c.fill_mask("The capital of France is [MASK].", top_k=2),
    "question_answering": lambda c: c.question_answering(
        question="Where does Wolfgang live?", context="My name is Wolfgang and I live in Berlin."
    ),
    "question_answering_top_k": lambda c: c.question_answering(
        question="Where does Wolfgang live?", context="My name is Wolfgang and I live in Berlin.", top_k=2
    ),
    "question_answering_parameters": lambda c: c.question_answering(
        question="Where does Wolfgang live?",
        context="My name is Wolfgang and I live in Berlin.",
        align_to_words=True,
        doc_stride=16,
        handle_impossible_answer=True,
        max_answer_len=10,
        max_question_len=32,
        max_seq_len=64,
    ),
    "zero_shot_classification": lambda c: c.zero_shot_classification(
        "I have a problem with my iphone that needs to be resolved asap!", ["urgent", "not urgent", "phone"]
    ),
    "zero_shot_classification_multi": lambda c: c.zero_shot_classification(
        "I have a problem with my iphone that needs to be resolved asap!", ["urgent", "phone"], multi_label=True
    ),
}


def plain(value: Any) -> Any:
    """The client's dataclasses as JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__, **{key: plain(item) for key, item in vars(value).items()}}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def main() -> None:
    client = InferenceClient(model=sys.argv[1])
    results: dict[str, Any] = {}
    for name in sys.argv[2:]:
        try:
            results[name] = {"ok": plain(CALLS[name](client))}
        except HfHubHTTPError as exc:
            results[name] = {"status": exc.response.status_code, "text": exc.response.text}
        except ValueError as exc:  # the client could not parse the answer: the test shows why
            results[name] = {"exception": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
