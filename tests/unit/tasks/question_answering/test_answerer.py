"""hf_serving.tasks.question_answering.answerer against the answers of transformers 5.2.0's question-answering pipeline.

The goldens (tests/fixtures/qa_goldens.json) were written by tests/parity/make_qa_goldens.py with the
pipeline and the same random-weight fixture model; here the model is loaded with the project's
transformers, which no longer has the pipeline.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from hf_serving.errors import BadRequest
from hf_serving.tasks.question_answering import decoding as qa_decoding
from hf_serving.tasks.question_answering.answerer import Answer, QAInput, QAParameters, QuestionAnswerer
from tests.support.engines import torch_engine
from tests.support.paths import QA_GOLDENS
from tests.support.paths import TINY_QA as MODEL_DIR

GOLDENS = json.loads(QA_GOLDENS.read_text(encoding="utf-8"))["cases"]
QA_OUTPUTS = ("start_logits", "end_logits")
ANSWERED = [case for case in GOLDENS if "outputs" in case]
FAILED = [case for case in GOLDENS if "error" in case]
SCORE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model() -> Any:
    return AutoModelForQuestionAnswering.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()


def make_answerer(model: Any, padding_side: str = "right", max_batch_size: int = 32) -> QuestionAnswerer:
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    tokenizer.padding_side = padding_side
    return QuestionAnswerer(
        torch_engine(model, tokenizer, QA_OUTPUTS, max_batch_size=max_batch_size), tokenizer, model.config
    )


@pytest.fixture(scope="module")
def answerers(model: Any) -> dict[str, QuestionAnswerer]:
    return {side: make_answerer(model, side) for side in ("right", "left")}


def inputs_of(case: dict[str, Any]) -> list[QAInput]:
    return [QAInput(item["question"], item["context"]) for item in case["inputs"]]


def assert_same_answers(
    found: list[list[Answer]], expected: list[list[dict[str, Any]]], tolerance: float = SCORE_TOLERANCE
) -> None:
    assert len(found) == len(expected)
    for index, (answers, wanted) in enumerate(zip(found, expected, strict=True)):
        assert [(a.answer, a.start, a.end) for a in answers] == [(w["answer"], w["start"], w["end"]) for w in wanted], (
            f"input {index}"
        )
        for answer, want in zip(answers, wanted, strict=True):
            assert answer.score == pytest.approx(want["score"], abs=tolerance, rel=1e-3), f"input {index}"


@pytest.mark.parametrize("case", ANSWERED, ids=[case["name"] for case in ANSWERED])
def test_answers_match_the_5_2_pipeline(answerers: dict[str, QuestionAnswerer], case: dict[str, Any]) -> None:
    found = answerers[case["padding_side"]](inputs_of(case), QAParameters(**case["parameters"]))
    assert_same_answers(found, case["outputs"])


@pytest.mark.parametrize("case", FAILED, ids=[case["name"] for case in FAILED])
def test_questions_the_pipeline_failed_on_are_bad_requests(
    answerers: dict[str, QuestionAnswerer], case: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest, match=r"inputs\[0\]\.question is \d+ tokens long") as raised:
        answerers[case["padding_side"]](inputs_of(case), QAParameters(**case["parameters"]))
    assert raised.value.status == 400


def test_goldens_cover_what_they_claim() -> None:
    by_name = {case["name"]: case for case in GOLDENS}
    assert len(by_name["long_top20"]["outputs"][0]) == 20
    assert by_name["impossible"]["outputs"][0][0]["answer"] == ""
    assert any(answer["score"] == 0.0 for answer in by_name["tiny_context_top20"]["outputs"][0])
    assert len(by_name["batch"]["inputs"]) == 5
    # Spans that end before they start: the pipeline's quirk with question tokens when padding left.
    assert any(answer["start"] > answer["end"] for answer in by_name["left_padding_short"]["outputs"][0])


def test_identical_answers_are_merged_across_windows(
    answerers: dict[str, QuestionAnswerer], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = next(case for case in GOLDENS if case["name"] == "repeated_merged")
    params = QAParameters(**case["parameters"])

    def never_merge(answers: dict, text: str, score: float, start: int, end: int) -> None:
        answers[str(len(answers))] = qa_decoding.RawAnswer(text, score, start, end)

    monkeypatch.setattr(qa_decoding, "merge_answer", never_merge)
    unmerged = answerers["right"](inputs_of(case), params)[0]
    merged_best = case["outputs"][0][0]
    # The pipeline's best answer adds up spans from several windows: no single span scores that high.
    assert merged_best["score"] > max(answer.score for answer in unmerged) + SCORE_TOLERANCE
    assert (unmerged[0].answer, unmerged[0].start) != (merged_best["answer"], merged_best["start"])


def test_one_call_for_all_inputs_equals_one_call_per_input(model: Any) -> None:
    inputs = [item for case in ANSWERED if case["padding_side"] == "right" for item in inputs_of(case)]
    batched = make_answerer(model, max_batch_size=7)  # several chunks, each padded
    alone = make_answerer(model, max_batch_size=1)  # one window per forward: never padded
    for params in (QAParameters(top_k=3), QAParameters(top_k=2, max_seq_len=64, doc_stride=16)):
        together = batched(inputs, params)
        one_by_one = [alone([item], params)[0] for item in inputs]
        expected = [[answer.to_dict() for answer in answers] for answers in one_by_one]
        assert_same_answers(together, expected, tolerance=1e-6)


def test_chunks_are_padded_to_their_longest_window(model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answerer = make_answerer(model, max_batch_size=2)
    shapes: list[tuple[int, ...]] = []
    forward = model.forward

    def recording_forward(**kwargs: Any) -> Any:
        shapes.append(tuple(kwargs["input_ids"].shape))
        return forward(**kwargs)

    monkeypatch.setattr(model, "forward", recording_forward)
    short, long = QAInput("Where?", "In Rome."), QAInput("Which city?", " ".join(["Rome is old."] * 40))
    answerer([short, short, long], QAParameters(max_seq_len=64, doc_stride=16))
    tokenizer = answerer.tokenizer
    short_length = len(tokenizer(short.question, short.context)["input_ids"])
    long_windows = len(
        tokenizer(
            long.question,
            long.context,
            truncation="only_second",
            max_length=64,
            stride=16,
            return_overflowing_tokens=True,
        )["input_ids"]
    )
    assert long_windows > 2
    assert shapes[0] == (2, short_length) and short_length < 64  # the two short inputs: not padded to 64
    assert shapes[1] == (2, 64)
    assert sum(rows for rows, _ in shapes) == 2 + long_windows
    assert len(shapes) == -(-(2 + long_windows) // 2)


def test_padding_does_not_change_answers(model: Any) -> None:
    answerer = make_answerer(model)
    short = QAInput("Where do I live?", "My name is Wolfgang and I live in Berlin.")
    long = QAInput("Which city?", " ".join(["Paris is the capital of France."] * 30))
    params = QAParameters(top_k=5)
    alone = answerer([short], params)[0]
    padded = answerer([short, long], params)[0]  # the short window is padded to the long one's length
    assert [(a.answer, a.start, a.end) for a in padded] == [(a.answer, a.start, a.end) for a in alone]
    assert [a.score for a in padded] == pytest.approx([a.score for a in alone], rel=1e-6)


def test_bfloat16_models_give_float_scores(model: Any) -> None:
    bf16_model = copy.deepcopy(model).to(torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    answerer = QuestionAnswerer(
        torch_engine(bf16_model, tokenizer, QA_OUTPUTS, "bfloat16"), tokenizer, bf16_model.config
    )
    answers = answerer([QAInput("Where do I live?", "I live in Berlin.")], QAParameters(top_k=2))[0]
    assert len(answers) == 2
    assert all(isinstance(answer.score, float) and 0 < answer.score <= 1 for answer in answers)


def test_answer_to_dict_has_the_pipeline_keys() -> None:
    answer = Answer(answer="Berlin", score=0.5, start=34, end=40)
    assert answer.to_dict() == {"score": 0.5, "start": 34, "end": 40, "answer": "Berlin"}
    assert list(answer.to_dict()) == ["score", "start", "end", "answer"]


def test_no_inputs_no_answers(answerers: dict[str, QuestionAnswerer]) -> None:
    assert answerers["right"]([], QAParameters()) == []


@pytest.mark.parametrize("field", ["question", "context"])
def test_empty_strings_are_bad_requests(answerers: dict[str, QuestionAnswerer], field: str) -> None:
    item = {"question": "Where?", "context": "Here.", field: ""}
    with pytest.raises(BadRequest, match=rf"inputs\[1\]\.{field} cannot be empty"):
        answerers["right"]([QAInput("Where?", "Here."), QAInput(**item)], QAParameters())


@pytest.mark.parametrize(
    ("params", "named"),
    [
        (QAParameters(max_seq_len=513), "parameters.max_seq_len"),
        (QAParameters(doc_stride=384), "parameters.doc_stride"),  # default max_seq_len is 384
        (QAParameters(max_seq_len=64, doc_stride=64), "parameters.doc_stride"),
    ],
)
def test_window_sizes_beyond_the_model_are_bad_requests(
    answerers: dict[str, QuestionAnswerer], params: QAParameters, named: str
) -> None:
    with pytest.raises(BadRequest, match=named):
        answerers["right"]([QAInput("Where?", "Here.")], params)


def test_max_question_len_has_no_effect_like_the_pipeline(answerers: dict[str, QuestionAnswerer]) -> None:
    item = QAInput("What is the name of the capital city of the country of France?", "Paris is big. Rome is.")
    capped = answerers["right"]([item], QAParameters(top_k=3, max_question_len=2))
    assert capped == answerers["right"]([item], QAParameters(top_k=3))


def test_parameters_default_when_absent() -> None:
    assert QAParameters.from_request(None) == QAParameters()
    assert QAParameters.from_request({}) == QAParameters()


def test_parameters_from_request_keep_valid_values() -> None:
    parameters: dict[str, Any] = {
        "top_k": 3,
        "max_answer_len": 5,
        "max_seq_len": 64,
        "doc_stride": 16,
        "max_question_len": 8,
        "handle_impossible_answer": True,
    }
    assert QAParameters.from_request(parameters) == QAParameters(**parameters)
    assert QAParameters.from_request({"max_seq_len": None, "doc_stride": None}) == QAParameters()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"top_k": 0}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": True}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": "3"}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": 2.0}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": None}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": 101}, "parameters.top_k must be an integer from 1 to 100"),
        ({"top_k": 20000}, "parameters.top_k must be an integer from 1 to 100"),
        ({"max_answer_len": 0}, "parameters.max_answer_len must be an integer from 1 to 512"),
        ({"max_answer_len": 513}, "parameters.max_answer_len must be an integer from 1 to 512"),
        ({"max_seq_len": 31}, "parameters.max_seq_len must be an integer >= 32"),
        ({"max_seq_len": False}, "parameters.max_seq_len must be an integer >= 32"),
        ({"doc_stride": 0}, "parameters.doc_stride must be an integer >= 1"),
        ({"max_question_len": -1}, "parameters.max_question_len must be an integer >= 1"),
        ({"handle_impossible_answer": 1}, "parameters.handle_impossible_answer must be true or false"),
        ({"handle_impossible_answer": "true"}, "parameters.handle_impossible_answer must be true or false"),
        ({"max_seq_len": 64, "doc_stride": 64}, "parameters.doc_stride (64) must be < parameters.max_seq_len"),
    ],
)
def test_bad_parameters_are_named(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        QAParameters.from_request(parameters)
    assert raised.value.message.startswith(message)
    assert (raised.value.status, raised.value.code) == (400, "bad_request")


def test_unknown_parameters_are_named() -> None:
    with pytest.raises(BadRequest, match=r"unknown parameters: align_to_words, topk") as raised:
        QAParameters.from_request({"topk": 3, "top_k": 1, "align_to_words": False})
    assert raised.value.status == 400


@pytest.mark.parametrize("parameters", [[], "top_k=3", 3])
def test_parameters_must_be_an_object(parameters: object) -> None:
    with pytest.raises(BadRequest, match="parameters must be a JSON object"):
        QAParameters.from_request(parameters)


def test_windows_that_barely_move_along_the_context_are_a_400_naming_the_least_move(
    answerers: dict[str, QuestionAnswerer],
) -> None:
    # max_seq_len 64 leaves 64 - question - 3 specials per window: a doc_stride just under that made one window (a
    # model pass) per context token.
    item = QAInput("Which port?", "The container listens on port 8080. " * 200)
    question = len(answerers["right"].tokenizer("Which port?", add_special_tokens=False)["input_ids"])
    room = 64 - question - 3
    with pytest.raises(BadRequest) as raised:
        answerers["right"]([item], QAParameters(max_seq_len=64, doc_stride=room - 3))
    assert raised.value.message == (
        f"inputs[0]: with max_seq_len=64, doc_stride={room - 3} and a question of {question} tokens, "
        f"each window moves 3 token(s) along the context; it must move at least 4 (max_seq_len / 16): lower "
        f"doc_stride or shorten the question"
    )
    assert answerers["right"]([item], QAParameters(max_seq_len=64, doc_stride=room - 4))[0][0].answer
