"""What every task shares: the Task names, what model_fn returns, and the batching written once for all tasks.

A task is a request parser, one call that answers many items in one model pass, and a formatter. The stage that
serves a model-server batch or a Batch Transform file (parse each record on its own, group the records that
share parameters, flatten their items into one model call, split the results back in order, give each bad record
its own error) is `BatchedModel.predict_records`, here, for every task.
"""

from __future__ import annotations

import dataclasses
import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from hf_serving.deadline import DeadlineExceeded
from hf_serving.engines.base import Engine
from hf_serving.errors import PayloadTooLarge, ResponseTooLarge, ServingError
from hf_serving.formats.media import CSV
from hf_serving.formats.records import RecordBatch, RecordResults, csv_row_payload
from hf_serving.monitoring.failures import failed as monitoring_failed
from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from hf_serving.tasks.explaining import NO_EXPLAINER, AttributorSource
from hf_serving.tasks.parameters import ParameterSpec


class AnswerCache(Protocol):
    """The response cache as a model sees it (caching/response_cache.py): per item (its result, the tokens the model
    read for it, whether the store had it), from the store where it can, the rest from compute's (result, tokens)."""

    def answer(
        self, items: Sequence[Any], parameters: Any, compute: Callable[[list[Any], Any], list[tuple[Any, int]]]
    ) -> list[tuple[Any, int, bool]]: ...


class Task(enum.Enum):
    QUESTION_ANSWERING = "question-answering"
    TEXT_CLASSIFICATION = "text-classification"
    SENTENCE_EMBEDDINGS = "sentence-embeddings"
    FEATURE_EXTRACTION = "feature-extraction"
    FILL_MASK = "fill-mask"
    ZERO_SHOT_CLASSIFICATION = "zero-shot-classification"
    TOKEN_CLASSIFICATION = "token-classification"
    TEXT_RANKING = "text-ranking"


class ServedModel(Protocol):
    """What the default model_fn returns and the default predict_fn calls."""

    task: Task
    engine: Engine

    def predict(self, payload: object) -> object:
        """Validate one decoded JSON payload (BadRequest naming the field) and answer it."""
        ...

    def take_usage(self) -> Counted | None:
        """What the last predict() cost (its tokens, the response cache's hits), once; None if nothing since."""
        ...

    def predict_records(self, batch: RecordBatch) -> RecordResults:
        """Answer many records at once; each bad record gets its own error, in place."""
        ...

    def warmup_payload(self) -> object:
        """A valid request payload, run once at start before /ping reports ready."""
        ...

    def describe(self) -> str:
        """What was loaded, for the log: task, engine, device, dtype."""
        ...


@dataclass(frozen=True)
class LoadedParts:
    """What the loader hands a task: the engine running the model, and what the task code reads beside it."""

    engine: Engine
    tokenizer: Any  # a transformers fast tokenizer
    config: Any  # the transformers config (labels, position limit); no torch in it
    model_dir: Path  # the directory served, for task files beside the weights (sentence-transformers' modules)
    # Explanations: the float32 torch model's attributor, loaded at its first use (loading/explainer.py), or why not.
    attributor: AttributorSource = NO_EXPLAINER
    # SERVE_MAX_RESPONSE_MB in bytes: a request whose answer is surely larger is refused before computing (None: never)
    answer_limit_bytes: int | None = None


# Text per model call: a call's memory grows with its text (the tokenizer's windows: ~840 MB over the loaded model
# for one 6 MB context, measured in-process), so a request's items are answered in slices of about this much. 1 MB
# of text is ~250k tokens, hundreds of model passes: nothing is lost to the split.
SLICE_CHARS = 1_000_000
# A record's own text, at most: a Batch Transform request may hold 100 MB (SAGEMAKER_MAX_PAYLOAD_IN_MB), but what one
# record costs is bounded by a real-time request's limit.
RECORD_CHARS = 6 * 1024 * 1024
# The fewest bytes a number takes in a JSON list, its separator included ("0.0,"): an answer of N numbers is at least
# N times this, whatever the numbers are.
MIN_NUMBER_BYTES = 4

Item = TypeVar("Item")
Parameters = TypeVar("Parameters", bound=Hashable)
Result = TypeVar("Result")


@dataclass(frozen=True)
class ItemAnswer(Generic[Result]):
    """answer()'s result for one item: what the response shows of it, and the tokens the model read for it (all its
    windows, all its pairs), which the metrics and Server-Timing count."""

    result: Result
    tokens: int


@dataclass(frozen=True)
class Answered(Generic[Result]):
    """One item as the batch stage sees it: answer()'s result and tokens, and whether the response cache had it
    (then the model read no tokens for it)."""

    result: Result
    tokens: int
    cached: bool


@dataclass(frozen=True)
class Counted:
    """One request's formatted answer, with what its items cost and what they predicted: the metrics, X-Cache and
    the prediction monitor read it."""

    result: object
    tokens: int
    cached: list[bool]  # per item, in order; empty without a response cache
    outcomes: list[ItemOutcome] = field(default_factory=list)  # per item, in order (monitoring/outcomes.py)


@dataclass(frozen=True)
class ParsedRequest(Generic[Item, Parameters]):
    items: list[Item]
    parameters: Parameters
    is_batch: bool  # a list came in, so a list goes out even for one item


def _same_directory(model_dir: Path) -> Path:
    return model_dir


def _never(model_dir: Path) -> bool:
    return False


def _fits(config: dict[str, Any]) -> str | None:
    return None


@dataclass(frozen=True)
class ModelFacts:
    """What the served description tells of a model beyond its task (registry.read_model_facts); None: unknown."""

    prompt_names: tuple[str, ...] | None = None  # the values prompt_name takes
    vocabulary: int | None = None  # its tokenizer's size: token ids are 0 to vocabulary - 1
    width: int | None = None  # its vectors' size: the most `dimensions` asks
    labels: tuple[str, ...] | None = None  # the classes it answers: the values explain_label takes


@dataclass(frozen=True)
class TaskSpec:
    """One task's row of the registry (tasks/registry.py): everything the loader and the launcher need to know."""

    task: Task
    names: tuple[str, ...]  # HF_TASK spellings, from the Hugging Face toolkit and pipelines
    architecture_suffixes: tuple[str, ...]  # config.json architectures it serves ("...ForQuestionAnswering")
    auto_model: str  # the transformers AutoModel class that loads the weights
    output_names: tuple[str, ...]  # what the task code reads from a forward pass, in the model's order
    csv_columns: tuple[str, ...]  # a Batch Transform CSV row's columns
    parse_request: Callable[[object], ParsedRequest]
    served_model: Callable[[TaskSpec, LoadedParts], ServedModel]
    weights_dir: Callable[[Path], Path] = _same_directory  # where the transformer's files are in a model dir
    owns_directory: Callable[[Path], bool] = _never  # a layout that names the task (sentence-transformers')
    explainable: bool = False  # answers "explain": true (tasks/explaining.py): gets an explanation worker
    # Its request parameters, declared once (tasks/parameters.py): the validator, and the served OpenAPI schema
    parameters: ParameterSpec | None = None
    # A second request shape's parameters, where the task has one (sentence similarity beside embeddings)
    more_parameters: tuple[ParameterSpec, ...] = ()
    # Why a model's config.json does not fit this task (None: it fits): a model card's pipeline_tag is ignored then
    misfit: Callable[[dict[str, Any]], str | None] = _fits
    # What a model dir's layout says of its requests, for the served description (registry.read_model_facts)
    layout_facts: Callable[[Path], ModelFacts] | None = None
    # Reads a masked LM's logits at its mask tokens alone: the engine may run the head on those rows alone, when the
    # model answers the same so (engines/masked_lm.py), and the logits are then [1, masks, vocabulary]
    reads_masks_only: bool = False


class BatchedModel(ABC, Generic[Item, Parameters, Result]):
    """A served model of one task, in named stages as LitServe's LitAPI has them: the registry row's parser decodes
    a request into items and parameters; `answer` computes one result per item from as few model passes as the
    engine's batch size allows; `format` shapes one request's response from its items' results. Between them this
    class batches (records sharing parameters answered together, each bad record its own error), slices the text,
    consults the response cache, and checks that every stage gave one result per item."""

    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        self.spec = spec
        self.task = spec.task
        self.parse = spec.parse_request
        self.csv_columns = spec.csv_columns
        self.engine = parts.engine
        # What protocol routes tell of the model and do with its tokenizer (TEI's /info and /tokenize, token ids in
        # OpenAI's input and TEI's; exchange.Served)
        self.config = parts.config
        self.tokenizer = parts.tokenizer
        self.answer_limit_bytes = parts.answer_limit_bytes
        self.cache: AnswerCache | None = None  # RESPONSE_CACHE (caching/response_cache.py attaches it)
        # The last predict()'s answer and cost, until the handler takes it for /metrics and X-Cache: a user's
        # predict_fn calls predict() with no way to hand the cost back itself.
        self._last: Counted | None = None

    def use_cache(self, cache: AnswerCache) -> None:
        self.cache = cache

    def encode_result(self, result: Result) -> object:
        """One answer() result as JSON, for the response cache (the tasks whose results are JSON already: as is)."""
        return result

    def decode_result(self, stored: object) -> Result:
        return cast(Result, stored)  # what encode_result stored: a JSON result is its own stored form

    @abstractmethod
    def answer(self, items: list[Item], parameters: Parameters) -> list[ItemAnswer[Result]]:
        """One result per item, in order, from as few model passes as the engine's batch size allows."""

    @abstractmethod
    def format(self, request: ParsedRequest[Item, Parameters], results: list[Result]) -> object:
        """The response body's shape for this request (one result, or a list)."""

    @abstractmethod
    def warmup_payload(self) -> object: ...

    def describe(self) -> str:
        return f"{self.task.value} on {self.engine.description}, device {self.engine.device}, dtype {self.engine.dtype}"

    def predictions(self, result: Result, request: ParsedRequest[Item, Parameters]) -> tuple[Prediction, ...]:
        """What one item's result predicted, for the prediction metrics and the drift windows: its class and that
        class's confidence where the score is a probability. None by default: an embedding predicts nothing."""
        return ()

    def class_names(self) -> tuple[str, ...] | None:
        """The classes predictions() may name, in the model's own order (its config's id2label): /metrics keeps the
        first MONITOR_MAX_LABELS of them by name. None where the requests name them (zero-shot's candidates)."""
        return ()

    def numbers_per_item(self, parameters: Parameters) -> int:
        """The fewest JSON numbers one item's result holds (a vector's width), where the task knows it; else 0."""
        return 0

    def predict(self, payload: object) -> object:
        self._last = None
        request = self.parse(payload)
        self._refuse_a_surely_too_large_answer([request])
        self._last = self._counted(request, self._answer_in_slices(request.items, request.parameters))
        return self._last.result

    def take_usage(self) -> Counted | None:
        last, self._last = self._last, None
        return last

    def _counted(self, request: ParsedRequest, answered: list[Answered[Result]]) -> Counted:
        return Counted(
            self.format(request, [item.result for item in answered]),
            sum(item.tokens for item in answered),
            [item.cached for item in answered] if self.cache is not None else [],
            self._outcomes(request, answered),
        )

    def _outcomes(self, request: ParsedRequest, answered: list[Answered[Result]]) -> list[ItemOutcome]:
        """Each item's outcome. A response-cache hit read no tokens (None), but what it predicted counts: the
        client was answered it. Never fails the answer: a failure is counted and logged, and the request reports no
        outcome."""
        try:
            return [
                ItemOutcome(self.predictions(item.result, request), None if item.cached else item.tokens)
                for item in answered
            ]
        except Exception:  # noqa: BLE001 - monitoring never changes an answer
            monitoring_failed("outcome")
            return []

    def _refuse_a_surely_too_large_answer(self, requests: Sequence[object]) -> None:
        """Before any model pass: a 413 when the numbers alone of the answer are over the limit (1,000,000 texts
        of 384 numbers each would be 1.5 GB at the very least, and ~10 GB of Python floats while it is encoded)."""
        items = numbers = 0
        for request in requests:
            if isinstance(request, ParsedRequest):
                items += len(request.items)
                numbers += len(request.items) * self.numbers_per_item(request.parameters)
        self._refuse_numbers_over_the_limit(numbers, f"the answer to {items:,} texts holds")

    def _refuse_numbers_over_the_limit(self, numbers: int, what: str) -> None:
        """A 413 when `numbers` JSON numbers alone are over the answer limit; `what` says whose they are."""
        if self.answer_limit_bytes is not None and numbers * MIN_NUMBER_BYTES > self.answer_limit_bytes:
            raise ResponseTooLarge.over(
                f"{what} {numbers:,} numbers, at least {numbers * MIN_NUMBER_BYTES:,} bytes", self.answer_limit_bytes
            )

    def _answer_in_slices(self, items: list[Item], parameters: Parameters) -> list[Answered[Result]]:
        """answer() on consecutive slices of about SLICE_CHARS of text each (at least one item), results in order."""
        answered: list[Answered[Result]] = []
        start = 0
        while start < len(items):
            end, size = start + 1, item_chars(items[start])
            while end < len(items) and size + item_chars(items[end]) <= SLICE_CHARS:
                size += item_chars(items[end])
                end += 1
            if self.cache is not None:
                answered.extend(
                    Answered(result, tokens, hit)
                    for result, tokens, hit in self.cache.answer(items[start:end], parameters, self._computed)
                )
            else:
                answered.extend(
                    Answered(result, tokens, False) for result, tokens in self._computed(items[start:end], parameters)
                )
            start = end
        return answered

    def _computed(self, items: list[Item], parameters: Parameters) -> list[tuple[Result, int]]:
        """answer()'s results and tokens, checked to be one per item: a task that lost one is a bug to report, not
        an answer shifted onto the next item."""
        found = self.answer(items, parameters)
        if len(found) != len(items):
            raise RuntimeError(f"{self.task.value} answered {len(found)} results for {len(items)} items")
        return [(item.result, item.tokens) for item in found]

    def predict_records(self, batch: RecordBatch) -> RecordResults:
        requests = [self._parse_record(record, batch.format) for record in batch.records]
        if batch.format == CSV:
            strict_csv(requests)
        self._refuse_a_surely_too_large_answer(requests)
        outcomes: list[Counted | ServingError | None] = [
            request if isinstance(request, ServingError) else None for request in requests
        ]
        groups: dict[Hashable, list[tuple[int, ParsedRequest]]] = {}
        for index, request in enumerate(requests):
            if not isinstance(request, ParsedRequest):
                continue
            largest = max((item_chars(item) for item in request.items), default=0)
            if largest > RECORD_CHARS:
                outcomes[index] = PayloadTooLarge(
                    f"a record's text is {largest:,} characters, over the {RECORD_CHARS:,} one record may hold"
                )
            else:
                groups.setdefault(request.parameters, []).append((index, request))
        for parameters, group in groups.items():
            for index, outcome in self._answer_together(group, parameters):
                outcomes[index] = outcome
        results: list[object] = [outcome.result if isinstance(outcome, Counted) else outcome for outcome in outcomes]
        if batch.format == CSV:
            strict_csv(results)
        return RecordResults(
            batch.format,
            results,
            [outcome.tokens if isinstance(outcome, Counted) else None for outcome in outcomes],
            [outcome.cached if isinstance(outcome, Counted) else [] for outcome in outcomes]
            if self.cache is not None
            else None,
            [outcome.outcomes if isinstance(outcome, Counted) else [] for outcome in outcomes],
        )

    def _answer_together(
        self, group: list[tuple[int, ParsedRequest]], parameters: Any
    ) -> list[tuple[int, Counted | ServingError]]:
        """One model pass for every record that shares these parameters; one by one if one of them fails. Returns
        each record's outcome: its answer with its own items' tokens and cache hits, or its error."""
        try:
            flat = self._answer_in_slices([item for _, request in group for item in request.items], parameters)
        except DeadlineExceeded as exc:  # out of time for all of them: trying each again would only be later
            return [(index, exc) for index, _ in group]
        except ServingError:  # one record's items failed the model (QA: a question too long): find which
            outcomes: list[tuple[int, Counted | ServingError]] = []
            for index, request in group:
                try:
                    outcomes.append((index, self._counted(request, self._answer_in_slices(request.items, parameters))))
                except ServingError as exc:
                    outcomes.append((index, exc))
            return outcomes
        together: list[tuple[int, Counted | ServingError]] = []
        offset = 0
        for index, request in group:
            together.append((index, self._counted(request, flat[offset : offset + len(request.items)])))
            offset += len(request.items)
        return together

    def _parse_record(self, record: object, record_format: str) -> ParsedRequest | ServingError:
        if isinstance(record, ServingError):
            return record
        try:
            return self.parse(csv_row_payload(record, self.csv_columns) if record_format == CSV else record)
        except ServingError as exc:
            return exc


def item_chars(item: object) -> int:
    """The text an item holds: a string's length, or the sum of a dataclass item's string fields and of its fields
    that are tuples of strings (QA's question and context, a similarity query's sentences, zero-shot's labels)."""
    if isinstance(item, str):
        return len(item)
    if dataclasses.is_dataclass(item):
        values = [getattr(item, field.name) for field in dataclasses.fields(item)]
        return sum(len(value) for value in values if isinstance(value, str)) + sum(
            len(text) for value in values if isinstance(value, tuple) for text in value if isinstance(text, str)
        )
    return 0


def strict_csv(results: Sequence[object]) -> None:
    """CSV has no room for an error object: a bad row fails the request, naming the row."""
    for number, result in enumerate(results, start=1):
        if isinstance(result, ServingError):
            raise type(result)(f"row {number}: {result.message}")
