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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from hf_serving.deadline import DeadlineExceeded
from hf_serving.engines.base import Engine
from hf_serving.errors import BadRequest, PayloadTooLarge, ResponseTooLarge, ServingError
from hf_serving.formats.media import CSV
from hf_serving.formats.records import RecordBatch, RecordResults
from hf_serving.observability import stage_clock
from hf_serving.tasks.explaining import NO_EXPLAINER, AttributorSource
from hf_serving.tasks.parameters import ParameterSpec


class AnswerCache(Protocol):
    """The response cache as a model sees it (caching/response_cache.py): answers from the store, the rest from
    compute."""

    def answer(self, items: Sequence[Any], parameters: Any,
               compute: Callable[[list[Any], Any], list[object]]) -> list[object]: ...


class Task(enum.Enum):
    QUESTION_ANSWERING = "question-answering"
    TEXT_CLASSIFICATION = "text-classification"
    SENTENCE_EMBEDDINGS = "sentence-embeddings"
    FEATURE_EXTRACTION = "feature-extraction"
    TEXT_RANKING = "text-ranking"


class ServedModel(Protocol):
    """What the default model_fn returns and the default predict_fn calls."""

    task: Task
    engine: Engine

    def predict(self, payload: object) -> object:
        """Validate one decoded JSON payload (BadRequest naming the field) and answer it."""
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
class ParsedRequest(Generic[Item, Parameters]):
    items: list[Item]
    parameters: Parameters
    is_batch: bool  # a list came in, so a list goes out even for one item


def _same_directory(model_dir: Path) -> Path:
    return model_dir


def _never(model_dir: Path) -> bool:
    return False


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


class BatchedModel(ABC, Generic[Item, Parameters]):
    """A served model of one task. Subclasses give `answer` (one model pass for many items), `format` and
    `warmup_payload`; the registry's row gives the task, its request parser and its CSV columns."""

    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        self.spec = spec
        self.task = spec.task
        self.parse = spec.parse_request
        self.csv_columns = spec.csv_columns
        self.engine = parts.engine
        self.answer_limit_bytes = parts.answer_limit_bytes
        self.cache: AnswerCache | None = None  # RESPONSE_CACHE (caching/response_cache.py attaches it)

    def use_cache(self, cache: AnswerCache) -> None:
        self.cache = cache

    def encode_result(self, result: object) -> object:
        """One answer() result as JSON, for the response cache (the tasks whose results are JSON already: as is)."""
        return result

    def decode_result(self, stored: object) -> object:
        return stored

    @abstractmethod
    def answer(self, items: list[Item], parameters: Parameters) -> list[object]:
        """One result per item, in order, from as few model passes as the engine's batch size allows."""

    @abstractmethod
    def format(self, request: ParsedRequest[Item, Parameters], results: list[object]) -> object:
        """The response body's shape for this request (one result, or a list)."""

    @abstractmethod
    def warmup_payload(self) -> object: ...

    def describe(self) -> str:
        return (f"{self.task.value} on {self.engine.description}, device {self.engine.device}, "
                f"dtype {self.engine.dtype}")

    def numbers_per_item(self, parameters: Parameters) -> int:
        """The fewest JSON numbers one item's result holds (a vector's width), where the task knows it; else 0."""
        return 0

    def predict(self, payload: object) -> object:
        request = self.parse(payload)
        self._refuse_a_surely_too_large_answer([request])
        return self.format(request, self._answer_in_slices(request.items, request.parameters))

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
            raise ResponseTooLarge.over(f"{what} {numbers:,} numbers, at least {numbers * MIN_NUMBER_BYTES:,} bytes",
                                        self.answer_limit_bytes)

    def _answer_in_slices(self, items: list[Item], parameters: Parameters) -> list[object]:
        """answer() on consecutive slices of about SLICE_CHARS of text each (at least one item), results in order."""
        results: list[object] = []
        start = 0
        while start < len(items):
            end, size = start + 1, item_chars(items[start])
            while end < len(items) and size + item_chars(items[end]) <= SLICE_CHARS:
                size += item_chars(items[end])
                end += 1
            if self.cache is not None:
                results.extend(self.cache.answer(items[start:end], parameters, self.answer))
            else:
                results.extend(self.answer(items[start:end], parameters))
            start = end
        return results

    def predict_records(self, batch: RecordBatch) -> RecordResults:
        requests = [self._parse_record(record, batch.format) for record in batch.records]
        if batch.format == CSV:
            strict_csv(requests)
        self._refuse_a_surely_too_large_answer(requests)
        results: list[object] = list(requests)  # errors stay in place; requests are replaced by answers
        tokens: list[int | None] = [None] * len(requests)
        cached: list[list[bool]] = [[] for _ in requests]
        groups: dict[Hashable, list[tuple[int, ParsedRequest]]] = {}
        for index, request in enumerate(requests):
            if not isinstance(request, ParsedRequest):
                continue
            largest = max((item_chars(item) for item in request.items), default=0)
            if largest > RECORD_CHARS:
                results[index] = PayloadTooLarge(f"a record's text is {largest:,} characters, over the "
                                                 f"{RECORD_CHARS:,} one record may hold")
            else:
                groups.setdefault(request.parameters, []).append((index, request))
        for parameters, group in groups.items():
            self._answer_together(group, parameters, results, tokens, cached)
        if batch.format == CSV:
            strict_csv(results)
        return RecordResults(batch.format, results, tokens, cached if self.cache is not None else None)

    def _answer_together(self, group: list[tuple[int, ParsedRequest]], parameters: Any,
                         results: list[object], tokens: list[int | None], cached: list[list[bool]]) -> None:
        """One model pass for every record that shares these parameters; one by one if one of them fails. Each
        record's tokens are its own items' counts, which the task reports in item order (tasks/text_batches.py),
        and so are its items' response-cache lookups."""
        counted, looked_up = stage_clock.mark(), stage_clock.cache_mark()
        try:
            flat = self._answer_in_slices([item for _, request in group for item in request.items], parameters)
        except DeadlineExceeded as exc:  # out of time for all of them: trying each again would only be later
            for index, _ in group:
                results[index] = exc
            return
        except ServingError:  # one record's items failed the model (QA: a question too long): find which
            for index, request in group:
                counted, looked_up = stage_clock.mark(), stage_clock.cache_mark()
                try:
                    results[index] = self.format(request, self._answer_in_slices(request.items, parameters))
                    tokens[index] = sum(stage_clock.tokens_since(counted))
                except ServingError as exc:
                    results[index] = exc
                cached[index] = stage_clock.cached_since(looked_up)
            return
        per_item, per_item_cached = stage_clock.tokens_since(counted), stage_clock.cached_since(looked_up)
        offset = 0
        for index, request in group:
            results[index] = self.format(request, flat[offset:offset + len(request.items)])
            if len(per_item) == len(flat):  # else the task did not report every item: unknown, not guessed
                tokens[index] = sum(per_item[offset:offset + len(request.items)])
            if len(per_item_cached) == len(flat):
                cached[index] = per_item_cached[offset:offset + len(request.items)]
            offset += len(request.items)

    def _parse_record(self, record: object, record_format: str) -> ParsedRequest | ServingError:
        if isinstance(record, ServingError):
            return record
        try:
            return self.parse(self._csv_payload(record) if record_format == CSV else record)
        except ServingError as exc:
            return exc

    def _csv_payload(self, row: object) -> object:
        """A CSV row as the JSON payload it stands for: one column is the text, several are named fields."""
        columns = self.csv_columns
        if not isinstance(row, list) or len(row) != len(columns):
            quote = " (quote it if it holds commas)" if len(columns) == 1 else ""
            raise BadRequest(f"a row must have {len(columns)} column{'s' if len(columns) > 1 else ''}: "
                             f"{','.join(columns)}{quote}")
        return row[0] if len(columns) == 1 else dict(zip(columns, row, strict=True))


def item_chars(item: object) -> int:
    """The text an item holds: a string's length, or the sum of a dataclass item's string fields (QA's question and
    context)."""
    if isinstance(item, str):
        return len(item)
    if dataclasses.is_dataclass(item):
        return sum(len(value) for value in (getattr(item, field.name) for field in dataclasses.fields(item))
                   if isinstance(value, str))
    return 0


def strict_csv(results: Sequence[object]) -> None:
    """CSV has no room for an error object: a bad row fails the request, naming the row."""
    for number, result in enumerate(results, start=1):
        if isinstance(result, ServingError):
            raise type(result)(f"row {number}: {result.message}")
