"""Extractive question answering with the answers transformers 5.2.0's QuestionAnsweringPipeline gave.

transformers >= 5.3 has no question-answering pipeline, so this module does its work for fast
tokenizers: split each context into windows of max_seq_len tokens overlapping by doc_stride, run the
model, decode spans per window (hf_serving.tasks.question_answering.decoding), map tokens back to whole words of the
context, and merge identical answers across windows. Differences from the pipeline are in speed only:
all windows of all inputs of a call are tokenized in one batch call and run through the model in
chunks padded to their longest window; decoding always looks at each window unpadded, as the
pipeline saw it. With `explain`, each input's best answer also carries the attributions of the question's and the
window's tokens to its start and end logits (tasks/explaining.py).

    answerer = QuestionAnswerer(engine, tokenizer, config)
    answerer([QAInput("Where do I live?", "I live in Berlin")], QAParameters(top_k=2))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hf_serving.engines.base import Engine, Target
from hf_serving.errors import BadRequest
from hf_serving.observability import stage_clock
from hf_serving.tasks import explaining, text_batches
from hf_serving.tasks.explaining import AttributorSource, Explained, ExplainRequest, TokenSpan
from hf_serving.tasks.parameters import Boolean, Integer, ParameterSpec
from hf_serving.tasks.question_answering.decoding import WindowLogits, decode_answers

# The pipeline's defaults: max_seq_len = min(model_max_length, 384), doc_stride = min(max_seq_len // 2, 128).
_DEFAULT_MAX_SEQ_LEN = 384
_DEFAULT_MAX_DOC_STRIDE = 128
# Bounds on what multiplies a request's work (the pipeline had none): top_k draws 2 top_k + 10 candidate spans per
# window, each merged with the answers found so far (20,000 held a worker for minutes); max_answer_len widens the
# band of spans scored per window. max_seq_len is bounded by the model, doc_stride by MIN_WINDOW_ADVANCE_FRACTION.
MAX_TOP_K = 100
MAX_ANSWER_LEN = 512  # tokens: the longest window of the common encoders
# Each window moves on by at least this fraction of max_seq_len, so that each context token is read in at most 16
# windows (about 1.5 with the defaults): a doc_stride just under the room a question leaves made one window per
# context token, a whole model pass each.
MIN_WINDOW_ADVANCE_FRACTION = 16

PARAMETERS = ParameterSpec(
    "QAParameters",
    (
        Integer(
            "top_k",
            default=1,
            minimum=1,
            maximum=MAX_TOP_K,
            description="Answers per input; above 1 each result is a list, best first.",
        ),
        Integer(
            "max_answer_len",
            default=15,
            minimum=1,
            maximum=MAX_ANSWER_LEN,
            description="The longest answer, in tokens.",
        ),
        Integer(
            "max_seq_len",
            minimum=32,
            nullable=True,
            description=(
                "Tokens per window (question, context and special tokens); at most the model's maximum. Default "
                f"min({_DEFAULT_MAX_SEQ_LEN}, the model's maximum)."
            ),
        ),
        Integer(
            "doc_stride",
            minimum=1,
            nullable=True,
            description=(
                "Overlap between a context's windows, in tokens; must be less than max_seq_len, and leave each "
                f"window moving at least max_seq_len / {MIN_WINDOW_ADVANCE_FRACTION} tokens along the context past "
                f"the question (a 400 names the numbers). Default min(max_seq_len / 2, {_DEFAULT_MAX_DOC_STRIDE})."
            ),
        ),
        Integer(
            "max_question_len",
            default=64,
            minimum=1,
            description=(
                "Accepted for compatibility; as with the pipeline's fast tokenizers, questions are never truncated."
            ),
        ),
        Boolean(
            "handle_impossible_answer",
            default=False,
            description="Let the empty answer (no answer in the context) compete with the spans.",
        ),
        *explaining.PARAMETERS,
    ),
    description="The defaults of transformers' question-answering pipeline.",
)


@dataclass(frozen=True)
class QAParameters:
    """The pipeline's parameters. max_question_len is accepted and, as in the pipeline with a fast
    tokenizer, has no effect: questions are never truncated (only the slow-tokenizer path used it)."""

    top_k: int = 1
    max_answer_len: int = 15
    max_seq_len: int | None = None  # None: min(tokenizer.model_max_length, 384)
    doc_stride: int | None = None  # None: min(max_seq_len // 2, 128)
    max_question_len: int = 64
    handle_impossible_answer: bool = False
    explain: ExplainRequest = field(default_factory=ExplainRequest)

    @classmethod
    def from_request(cls, parameters: object) -> QAParameters:
        """Validate a request's "parameters" value (None or a JSON object); errors name the parameter."""
        values = PARAMETERS.parse(parameters)
        max_seq_len, doc_stride = values["max_seq_len"], values["doc_stride"]
        if max_seq_len is not None and doc_stride is not None and doc_stride >= max_seq_len:
            raise BadRequest(f"parameters.doc_stride ({doc_stride}) must be < parameters.max_seq_len ({max_seq_len})")
        return cls(
            **{name: values[name] for name in values if name not in explaining.NAMES},
            explain=explaining.explain_from(values),
        )


@dataclass(frozen=True)
class QAInput:
    question: str
    context: str


@dataclass(frozen=True)
class Answer:
    answer: str
    score: float
    start: int  # character offsets into the context
    end: int
    explanation: dict | None = None  # with `explain`, on an input's best answer

    def to_dict(self) -> dict:
        found = {"score": self.score, "start": self.start, "end": self.end, "answer": self.answer}
        return found if self.explanation is None else {**found, "explanation": self.explanation}


@dataclass(frozen=True)
class _Window:
    """One model input: a window of one input's context, unpadded, with what decoding needs."""

    input_index: int
    model_inputs: dict[str, list[int]]
    p_mask: np.ndarray  # 1 where a token cannot be part of an answer
    encoding: Any  # tokenizers.Encoding: maps tokens to words and characters
    pad_offset: int  # the pipeline's left-padding shift (see _window)


class QuestionAnswerer:
    """Answers (question, context) pairs with an engine running a *ForQuestionAnswering model (outputs
    start_logits and end_logits), its fast tokenizer and its config."""

    def __init__(
        self, engine: Engine, tokenizer: Any, config: Any, attributor: AttributorSource = explaining.NO_EXPLAINER
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("QuestionAnswerer needs a fast (tokenizers-backed) tokenizer")
        self.engine = engine
        self.attributor = attributor
        self.tokenizer = tokenizer
        self.config = config
        # The pipeline read answers from the context's side of the pair, which depends on padding_side.
        self._question_first = tokenizer.padding_side == "right"
        self._max_length = text_batches.max_length(tokenizer, config)  # the tokenizer's and the positions' limit

    def __call__(self, inputs: Sequence[QAInput], params: QAParameters) -> list[list[Answer]]:
        """Up to params.top_k answers per input, best first, in input order."""
        return [answers for answers, _ in self.answer_items(inputs, params)]

    def answer_items(self, inputs: Sequence[QAInput], params: QAParameters) -> list[tuple[list[Answer], int]]:
        """Per input: its answers, and the tokens of all its windows (what the model read for it)."""
        if not inputs:
            return []
        max_seq_len, doc_stride = self._window_sizes(params)
        _check_not_empty(inputs)
        self._check_questions_leave_room(inputs, max_seq_len, doc_stride)
        windows = self._windows(inputs, max_seq_len, doc_stride)
        per_input: list[list[WindowLogits]] = [[] for _ in inputs]
        tokens = [0] * len(inputs)
        for window, (start, end) in zip(windows, self._logits(windows), strict=True):
            per_input[window.input_index].append(
                WindowLogits(start, end, window.p_mask, window.encoding, window.pad_offset)
            )
            tokens[window.input_index] += len(start)
        answers = [
            self._answers(item.context, item_windows, params)
            for item, item_windows in zip(inputs, per_input, strict=True)
        ]
        if params.explain.enabled:
            for item, found in zip(inputs, answers, strict=True):
                found[0] = replace(
                    found[0], explanation=self._explain(item, found[0], max_seq_len, doc_stride, params.explain)
                )
        return list(zip(answers, tokens, strict=True))

    def _explain(
        self, item: QAInput, answer: Answer, max_seq_len: int, doc_stride: int, explain: ExplainRequest
    ) -> dict:
        """The attributions of the question's and the context's tokens, in the window that holds the answer best, to
        the logits of the answer's first token being its start and of its last token being its end."""
        attributor = self.attributor()
        encoded = self._encode_windows([item.question], [item.context], max_seq_len, doc_stride)
        row, start, end = self._answer_window(encoded, answer)
        names = [name for name in self.tokenizer.model_input_names if name in encoded]
        inputs = {name: np.array([encoded[name][row]], dtype=np.int64) for name in names}
        sides = encoded.sequence_ids(row)
        context_side = 1 if self._question_first else 0
        offsets = encoded.encodings[row].offsets
        spans = [
            TokenSpan(position, first, last, "context" if side == context_side else "question")
            for position, (side, (first, last)) in enumerate(zip(sides, offsets, strict=True))
            if side is not None and last > first
        ]
        return explaining.explain_row(
            attributor,
            self.tokenizer,
            inputs,
            np.array([[side is None for side in sides]]),
            [
                Explained(Target("start_logits", start), "start", "start logit"),
                Explained(Target("end_logits", end), "end", "end logit"),
            ],
            spans,
            {"question": item.question, "context": item.context},
            explain.steps,
        )

    def _answer_window(self, encoded: Any, answer: Answer) -> tuple[int, int, int]:
        """(window, start token, end token) of the answer: the window with the most context around it. The empty
        answer (handle_impossible_answer) is the [CLS] token of the first window."""
        context_side = 1 if self._question_first else 0
        best: tuple[int, int, int, int] | None = None  # (room around the answer, window, start, end)
        for row in range(len(encoded["input_ids"])):
            offsets = encoded.encodings[row].offsets
            tokens = [i for i, side in enumerate(encoded.sequence_ids(row)) if side == context_side]
            starts = [i for i in tokens if offsets[i][0] <= answer.start < offsets[i][1]]
            ends = [i for i in tokens if offsets[i][0] < answer.end <= offsets[i][1]]
            if answer.answer and starts and ends:
                room = min(starts[0] - tokens[0], tokens[-1] - ends[-1])
                if best is None or room > best[0]:
                    best = (room, row, starts[0], ends[-1])
        if best is None:  # the empty answer: where the pipeline scored "no answer"
            cls = self.tokenizer.cls_token_id
            ids = list(encoded["input_ids"][0])
            position = ids.index(cls) if cls in ids else 0
            return 0, position, position
        return best[1], best[2], best[3]

    def _answers(self, context: str, windows: list[WindowLogits], params: QAParameters) -> list[Answer]:
        sequence_index = 1 if self._question_first else 0  # the side of the pair that holds the context
        ranked = decode_answers(
            context, windows, params.top_k, params.max_answer_len, params.handle_impossible_answer, sequence_index
        )
        return [Answer(found.answer, found.score, found.start, found.end) for found in ranked]

    def _window_sizes(self, params: QAParameters) -> tuple[int, int]:
        limit = self._max_length
        max_seq_len = params.max_seq_len
        if max_seq_len is None:
            max_seq_len = min(self.tokenizer.model_max_length, _DEFAULT_MAX_SEQ_LEN, limit)
        elif max_seq_len > limit:
            raise BadRequest(f"parameters.max_seq_len must be <= {limit}, this model's maximum")
        doc_stride = params.doc_stride
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, _DEFAULT_MAX_DOC_STRIDE)
        # The pipeline raised ValueError for doc_stride > max_seq_len; equal fails in the tokenizer.
        if doc_stride >= max_seq_len:
            raise BadRequest(f"parameters.doc_stride ({doc_stride}) must be < max_seq_len ({max_seq_len})")
        return max_seq_len, doc_stride

    def _check_questions_leave_room(self, inputs: Sequence[QAInput], max_seq_len: int, doc_stride: int) -> None:
        """Reject, by index, the inputs on which the pipeline's tokenizer call failed, or whose windows would
        barely move.

        Questions are never truncated. When a context must be cut, each window keeps
        max_seq_len - question - special tokens of it and moves on by that less doc_stride: the tokenizer fails (an
        error, or a Rust panic that would abort the whole batch) unless that is more than 0, and under
        max_seq_len / MIN_WINDOW_ADVANCE_FRACTION tokens the windows multiply the work on the context.
        """
        specials = self.tokenizer.num_special_tokens_to_add(pair=True)
        least_advance = max(1, max_seq_len // MIN_WINDOW_ADVANCE_FRACTION)
        question_lengths = self._token_counts([item.question for item in inputs])
        at_risk = [
            index
            for index, length in enumerate(question_lengths)
            if max_seq_len - length - specials - doc_stride < least_advance
        ]
        if not at_risk:
            return
        context_lengths = self._token_counts([inputs[index].context for index in at_risk])
        for index, context_length in zip(at_risk, context_lengths, strict=True):
            question_length = question_lengths[index]
            if question_length + context_length + specials <= max_seq_len:
                continue  # one window holds it all
            room = max(max_seq_len - question_length - specials, 0)
            if room <= doc_stride:
                raise BadRequest(
                    f"inputs[{index}].question is {question_length} tokens long: with "
                    f"max_seq_len={max_seq_len} it leaves {room} tokens per window for the context, "
                    f"which must be more than doc_stride={doc_stride}; shorten the question, raise "
                    f"max_seq_len or lower doc_stride"
                )
            raise BadRequest(
                f"inputs[{index}]: with max_seq_len={max_seq_len}, doc_stride={doc_stride} and a question of "
                f"{question_length} tokens, each window moves {room - doc_stride} token(s) along the context; it "
                f"must move at least {least_advance} (max_seq_len / {MIN_WINDOW_ADVANCE_FRACTION}): lower "
                f"doc_stride or shorten the question"
            )

    def _token_counts(self, texts: list[str]) -> list[int]:
        with stage_clock.tokenising():
            return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def _windows(self, inputs: Sequence[QAInput], max_seq_len: int, doc_stride: int) -> list[_Window]:
        questions = [item.question for item in inputs]
        contexts = [item.context for item in inputs]
        # No padding here: windows are padded per model chunk, and decoded unpadded like the pipeline's.
        # Only what the model takes is asked for: transformers turns each output into Python lists, which was
        # the largest host-side cost of a batch on a GPU host. Offsets are read from the Encoding objects.
        with stage_clock.tokenising():
            encoded = self._encode_windows(questions, contexts, max_seq_len, doc_stride)
        names = [name for name in self.tokenizer.model_input_names if name in encoded]
        return [self._window(encoded, row, names) for row in range(len(encoded["input_ids"]))]

    def _encode_windows(self, questions: list[str], contexts: list[str], max_seq_len: int, doc_stride: int) -> Any:
        return self.tokenizer(
            text=questions if self._question_first else contexts,
            text_pair=contexts if self._question_first else questions,
            padding=False,
            truncation="only_second" if self._question_first else "only_first",
            max_length=max_seq_len,
            stride=doc_stride,
            return_token_type_ids="token_type_ids" in self.tokenizer.model_input_names,
            return_overflowing_tokens=True,
            return_offsets_mapping=False,
        )

    def _window(self, encoded: Any, row: int, names: list[str]) -> _Window:
        input_ids = np.asarray(encoded["input_ids"][row])
        if self._question_first:
            p_mask = np.array([sequence != 1 for sequence in encoded.sequence_ids(row)], dtype=np.int64)
        else:
            # The pipeline masked nothing when the context comes first: question tokens may be answers.
            p_mask = np.zeros(len(input_ids), dtype=np.int64)
        # Kept unmasked, wherever a [CLS] id occurs: its probability is the "no answer" score.
        if self.tokenizer.cls_token_id is not None:
            p_mask[input_ids == self.tokenizer.cls_token_id] = 0
        # The pipeline shifted token indices by the pad ids in an unpadded window (left padding only):
        # zero unless the text itself contains the pad token.
        pad_id = self.tokenizer.pad_token_id
        left = self.tokenizer.padding_side == "left" and pad_id is not None
        pad_offset = int((input_ids == pad_id).sum()) if left else 0
        return _Window(
            input_index=encoded["overflow_to_sample_mapping"][row],
            model_inputs={name: encoded[name][row] for name in names},
            p_mask=p_mask,
            encoding=encoded.encodings[row],
            pad_offset=pad_offset,
        )

    def _logits(self, windows: list[_Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Float32 (start, end) logits of each window, unpadded, in order.

        The windows go through the shared length-sorted chunking (tasks/text_batches.py), each chunk right-padded to
        its longest window. The pipeline ran each window alone, unpadded; the attention mask hides the pads, so the
        logits of real tokens do not change.
        """
        if not windows:
            return []
        return text_batches.run_sorted(
            self.engine, self.tokenizer, [window.model_inputs for window in windows], _start_and_end
        )


def _start_and_end(outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(
        zip(
            text_batches.unpadded(outputs, feed, "start_logits"),
            text_batches.unpadded(outputs, feed, "end_logits"),
            strict=True,
        )
    )


def _check_not_empty(inputs: Sequence[QAInput]) -> None:
    # The pipeline rejected empty strings (not whitespace-only ones) with ValueError.
    for index, item in enumerate(inputs):
        for name in ("question", "context"):
            if getattr(item, name) == "":
                raise BadRequest(f"inputs[{index}].{name} cannot be empty")
