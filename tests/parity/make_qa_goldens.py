"""Write tests/fixtures/qa_goldens.json: what transformers 5.2.0's question-answering pipeline answered.

transformers >= 5.3 has no question-answering pipeline; hf_serving.tasks.question_answering.answerer reproduces it,
and tests/unit/test_question_answering.py compares its answers with these. Run this in a side venv
that has the last transformers with the pipeline (never in the project's venv), from the repo root:

    python3.11 -m venv /tmp/tf52-venv
    /tmp/tf52-venv/bin/pip install transformers==5.2.0 torch==2.13.0 numpy==2.4.6
    /tmp/tf52-venv/bin/python tests/parity/make_qa_goldens.py

The model is the committed random-weight fixture tests/fixtures/tiny-qa (float32, cpu), rebuilt if
needed with hf_serving.tools.demo_models.build_model(Path("tests/fixtures/tiny-qa"), Task.QUESTION_ANSWERING,
size="tiny", seed=0). Each case holds its inputs, the pipeline parameters, the tokenizer's padding
side, and either the answers (one list per input, best first) or the error the pipeline raised.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "tests" / "fixtures" / "tiny-qa"
GOLDENS = ROOT / "tests" / "fixtures" / "qa_goldens.json"

BERLIN = "My name is Wolfgang and I live in Berlin."
PARIS = (
    "Paris is the capital and most populous city of France. With an estimated population of "
    "2,102,650 residents in January 2023 in an area of more than 105 km2, Paris is the fourth-most "
    "populous city in the European Union and the 30th most densely populated city in the world."
)
HISTORY = (
    "The Amazon rainforest covers much of the Amazon basin of South America. The basin encompasses "
    "seven million square kilometres, of which five and a half million are covered by the rainforest. "
    "This region includes territory belonging to nine nations and 3,344 formally acknowledged "
    "indigenous territories. The majority of the forest, 60%, is in Brazil, followed by Peru with 13%, "
    "Colombia with 10%, and with minor amounts in Bolivia, Ecuador, French Guiana, Guyana, Suriname, "
    "and Venezuela. Four nations have Amazonas as the name of one of their first-level administrative "
    "regions, and France uses the name Guiana Amazonian Park for its rainforest protected area. "
)
# Over 900 tokens: several windows at the default max_seq_len=384 / doc_stride=128.
LONG = " ".join(f"Chapter {number}. {HISTORY}" for number in range(1, 8))
# The same short sentence again and again: overlapping windows find identical answers to merge.
REPEATED = " ".join(["The treasure is hidden in Lisbon."] * 12)
ACCENTS = "Le café de Zoë est à São Paulo, près de l'église; naïve Ångström résumé façade Müller."
CJK = "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다. Tokyo has 14 million people."
EMOJI = "I love 🍕 pizza and 🎉 parties 👩‍👩‍👧 with my family 🇫🇷 in Paris 😀!"
WHITESPACE = "  \tThe\tkey is\nunder the\u00a0mat,  next to\u2003the  door.\r\n  "
LONG_QUESTION = (
    "What is the name of the city, the one that is the capital of France, that has more than "
    "two million residents and is the most populous of all the cities of France?"
)
HUGE_QUESTION = " ".join(["why"] * 70)


def case(name: str, pairs: list[tuple[str, str]], padding_side: str = "right", **parameters: Any) -> dict[str, Any]:
    return {
        "name": name,
        "padding_side": padding_side,
        "parameters": parameters,
        "inputs": [{"question": question, "context": context} for question, context in pairs],
    }


CASES = [
    case("short", [("Where do I live?", BERLIN)]),
    case("short_top3", [("Where do I live?", BERLIN)], top_k=3),
    case("short_top20", [("What is Paris?", PARIS)], top_k=20),
    case("tiny_context_top20", [("Which city?", "Paris.")], top_k=20),
    case("tiny_context_top3", [("Which city?", "Rome is nice")], top_k=3),
    case("max_answer_len_3", [("What is Paris?", PARIS)], top_k=5, max_answer_len=3),
    case("max_answer_len_1", [("What is Paris?", PARIS)], top_k=3, max_answer_len=1),
    case("impossible", [("Where do I live?", BERLIN)], handle_impossible_answer=True),
    case("impossible_top5", [("What is Paris?", PARIS)], top_k=5, handle_impossible_answer=True),
    case("impossible_long", [("Which nations?", LONG)], top_k=3, handle_impossible_answer=True),
    case(
        "impossible_windows",
        [("What is Paris?", PARIS)],
        top_k=20,
        max_seq_len=40,
        doc_stride=10,
        handle_impossible_answer=True,
    ),
    case("long_default_windows", [("Which nations share the forest?", LONG)]),
    case("long_top20", [("Which nations share the forest?", LONG)], top_k=20),
    case("repeated_merged", [("Where is the treasure?", REPEATED)], top_k=5, max_seq_len=48, doc_stride=24),
    case("case_insensitive_merge", [("Which city?", "Berlin berlin BERLIN Berlin. berlin")], top_k=5),
    case("small_windows", [("What is Paris?", PARIS)], top_k=3, max_seq_len=64, doc_stride=16),
    case("max_seq_len_only", [("Which nations?", LONG)], top_k=2, max_seq_len=100),
    case("accents", [("Où est le café?", ACCENTS)], top_k=3),
    case("cjk", [("首都は?", CJK)], top_k=3),
    case("emoji", [("What do I love? 🍕", EMOJI)], top_k=3),
    case("odd_whitespace", [(" Where\tis the key? ", WHITESPACE)], top_k=3),
    case("whitespace_only_context", [("Anything?", " \t\n ")]),
    case("whitespace_only_context_impossible", [("Anything?", "   ")], top_k=3, handle_impossible_answer=True),
    case("question_over_max_question_len", [(LONG_QUESTION, PARIS)], top_k=2, max_question_len=4),
    case("long_question_small_windows", [(LONG_QUESTION, PARIS)], max_seq_len=64, doc_stride=16),
    case("huge_question_short_context_fits", [(" ".join(["why"] * 50), "Rome is nice")], max_seq_len=64, doc_stride=16),
    case("question_leaves_no_room", [(HUGE_QUESTION, PARIS)], max_seq_len=64, doc_stride=16),
    case("question_leaves_one_token", [(" ".join(["why"] * 60), PARIS)], max_seq_len=64, doc_stride=16),
    case("question_leaves_room_below_stride", [(" ".join(["why"] * 46), PARIS)], max_seq_len=64, doc_stride=16),
    case(
        "batch",
        [
            ("Where do I live?", BERLIN),
            ("What is Paris?", PARIS),
            ("Which nations?", LONG),
            ("首都は?", CJK),
            ("Where is the treasure?", REPEATED),
        ],
        top_k=2,
        max_seq_len=64,
        doc_stride=16,
    ),
    case("batch_defaults", [("Where do I live?", BERLIN), ("Which nations?", LONG), ("Who?", ACCENTS)]),
    case("left_padding_short", [("Where do I live?", BERLIN)], padding_side="left", top_k=3),
    # A literal [CLS] is unmasked wherever it is, even in the question: it can start an answer.
    case("special_tokens_in_text", [("Where [CLS] is it?", "Berlin [CLS] is here, [SEP] and [PAD] there")], top_k=5),
    case(
        "left_padding_pad_token_in_text",
        [("Where [PAD] do I live?", "I live [PAD] in Berlin [CLS] now")],
        padding_side="left",
        top_k=5,
    ),
    case(
        "left_padding_windows",
        [("What is Paris?", PARIS)],
        padding_side="left",
        top_k=5,
        max_seq_len=64,
        doc_stride=16,
        handle_impossible_answer=True,
    ),
]


def per_input_answers(result: Any, count: int) -> list[list[dict[str, Any]]]:
    """The pipeline returns a dict, a list of dicts, or (for several inputs) a list of those."""
    results = [result] if count == 1 else list(result)
    return [[answers] if isinstance(answers, dict) else list(answers) for answers in results]


def run_case(pipelines: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    questions = [item["question"] for item in spec["inputs"]]
    contexts = [item["context"] for item in spec["inputs"]]
    qa = pipelines[spec["padding_side"]]
    try:
        result = qa(question=questions, context=contexts, **spec["parameters"])
    except BaseException as error:  # the tokenizer's Rust panic is a BaseException
        if isinstance(error, KeyboardInterrupt):
            raise
        return {**spec, "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
    return {**spec, "outputs": per_input_answers(result, len(questions))}


def main() -> int:
    import numpy
    import tokenizers
    import torch
    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers import pipeline as make_pipeline

    # Any: type checkers may see a newer transformers, whose pipeline() has no "question-answering".
    pipeline: Any = make_pipeline

    if transformers.__version__ != "5.2.0":
        print(f"needs transformers 5.2.0, found {transformers.__version__}", file=sys.stderr)
        return 1
    transformers.logging.disable_progress_bar()
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()
    pipelines = {}
    for side in ("right", "left"):
        tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
        tokenizer.padding_side = side
        assert tokenizer.is_fast
        pipelines[side] = pipeline("question-answering", model=model, tokenizer=tokenizer, device="cpu")
    goldens = {
        "made_by": "tests/parity/make_qa_goldens.py",
        "versions": {
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "model": "tests/fixtures/tiny-qa",
        "cases": [run_case(pipelines, spec) for spec in CASES],
    }
    GOLDENS.write_text(json.dumps(goldens, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {GOLDENS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
