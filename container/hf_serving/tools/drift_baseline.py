"""python -m hf_serving drift-baseline SOURCE OUT.json --model DIR [--name NAME]: a model's baseline profile for
drift monitoring (DRIFT_BASELINE; monitoring/drift/).

SOURCE is a file or a directory of JSON Lines files (*.jsonl, read recursively, in name order), either
- SageMaker data-capture records (this container's DATA_CAPTURE_* or SageMaker's own): the classes and confidences
  are read from each recorded answer, as it was sent, by the task's own outcome extraction (the one the server feeds
  the drift windows with); the token lengths are counted by the model's tokenizer on the recorded inputs, as the
  server counts them (truncated to the model's maximum). JSON and JSON Lines bodies are read, as text or BASE64;
  CSV bodies and records cut for size (eventMetadata.truncated) are skipped and counted. On a multi-model endpoint's
  capture, only the records of --name's model (eventMetadata.targetModel) are read;
- or texts: each line a JSON string (a text to classify, sent 32 to a request) or an object (one request payload
  as /invocations takes it), run through the model in this process as the server runs it.

The profile is written under --name ("model" by default, a single-model endpoint's name) into OUT.json; an existing
baseline there keeps its other models' profiles, so one file can hold every model of a multi-model endpoint.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hf_serving.formats import media
from hf_serving.monitoring.drift import profile as profiles
from hf_serving.monitoring.drift.observer import model_identity
from hf_serving.monitoring.drift.profile import BaselineError, Histogram, ModelProfile, ProfileBuilder
from hf_serving.monitoring.outcomes import ItemOutcome
from hf_serving.settings import Settings

TEXTS_PER_REQUEST = 32
DEFAULT_NAME = "model"  # what a single-model endpoint's worker calls its model (observability/worker_metrics.py)


class SourceError(Exception):
    """SOURCE cannot be read as capture records or texts; the message says where."""


def lines(source: Path) -> Iterator[tuple[str, object]]:
    """(where, decoded JSON) for every non-empty line of SOURCE's files."""
    files = sorted(source.rglob("*.jsonl")) if source.is_dir() else [source]
    if not files:
        raise SourceError(f"{source} holds no *.jsonl file")
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield f"{path}:{number}", json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise SourceError(f"{path}:{number} is not JSON: {exc}") from None


def is_capture(record: object) -> bool:
    return isinstance(record, dict) and isinstance(record.get("captureData"), dict)


class Reader:
    """Turns SOURCE into item outcomes through the served model, counting what it had to skip."""

    def __init__(self, served: Any, name: str) -> None:
        self.served, self.name = served, name
        self.records = 0  # capture records or text lines read
        self.skipped: dict[str, int] = {}

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    # -- texts ---------------------------------------------------------------------------------------------------

    def texts(self, found: Iterator[tuple[str, object]]) -> Iterator[ItemOutcome]:
        pending: list[str] = []
        for where, line in found:
            self.records += 1
            if isinstance(line, str):
                pending.append(line)
                if len(pending) == TEXTS_PER_REQUEST:
                    yield from self._run({"inputs": pending}, where)
                    pending = []
            elif isinstance(line, dict) and not is_capture(line):
                yield from self._run(line, where)
            else:
                raise SourceError(f"{where}: a texts file holds JSON strings or request objects, one a line")
        if pending:
            yield from self._run({"inputs": pending}, "the last texts")

    def _run(self, payload: object, where: str) -> list[ItemOutcome]:
        try:
            self.served.predict(payload)
        except Exception as exc:  # noqa: BLE001 - one bad request is named and skipped, as the server would refuse it
            logging.getLogger(__name__).warning("%s: not answered (%s: %s); skipped", where, type(exc).__name__, exc)
            self.skip("requests the model refused")
            return []
        usage = self.served.take_usage()
        return list(usage.outcomes) if usage is not None else []

    # -- capture records -----------------------------------------------------------------------------------------

    def captures(self, found: Iterator[tuple[str, object]]) -> Iterator[ItemOutcome]:
        for where, record in found:
            if not is_capture(record):
                raise SourceError(f"{where} is not a data-capture record (no captureData) among capture records")
            assert isinstance(record, dict)
            metadata = record.get("eventMetadata") or {}
            target = metadata.get("targetModel")
            if target is not None and target != self.name:
                self.skip("records of other models")
                continue
            self.records += 1
            if metadata.get("truncated"):
                self.skip("records cut for size")
                continue
            try:
                yield from self._captured(record["captureData"])
            except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
                self.skip(f"unreadable records ({type(exc).__name__})")
            except _Unread as exc:
                self.skip(str(exc))

    def _captured(self, capture: dict[str, Any]) -> list[ItemOutcome]:
        requests = _bodies(capture["endpointInput"])
        answers = _bodies(capture["endpointOutput"])
        if len(requests) != len(answers):
            raise _Unread("records whose input and output hold different numbers of records")
        outcomes = []
        for payload, answer in zip(requests, answers, strict=True):
            if isinstance(answer, dict) and "error" in answer:
                continue  # a JSON Lines record the server refused: the client got no prediction for it
            request = self.served.parse(payload)
            results = answer if request.is_batch else [answer]
            if not isinstance(results, list) or len(results) != len(request.items):
                raise _Unread("answers that do not hold one result per item")
            for item, result in zip(request.items, results, strict=True):
                predictions = self.served.predictions(self.served.decode_result(result), request)
                outcomes.append(ItemOutcome(predictions, self._tokens(item)))
        return outcomes

    def _tokens(self, item: object) -> int | None:
        """The tokens the server reads of an item: its text (or pair) truncated to the model's maximum."""
        tokenizer = self.served.tokenizer
        if isinstance(item, str):
            return len(tokenizer(item, truncation=True)["input_ids"])
        text, pair = getattr(item, "text", None), getattr(item, "text_pair", None)
        if isinstance(text, str):
            return len(tokenizer(text, pair, truncation=True)["input_ids"])
        return None  # a task whose item is no text (QA's question and context windows): not counted


class _Unread(Exception):
    """A capture record this reader cannot take apart; its message is the reason counted."""


def _bodies(part: dict[str, Any]) -> list[object]:
    """A captured body's payloads: one for JSON, one per line for JSON Lines."""
    data = part["data"]
    text = base64.b64decode(data).decode("utf-8") if part.get("encoding") == "BASE64" else data
    kind = media.parse_media_type(part.get("observedContentType")).essence
    if kind == media.JSON:
        return [json.loads(text)]
    if kind == media.JSONLINES:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    raise _Unread(f"{kind or 'untyped'} records")


def build(source: Path, model_dir: Path, name: str, served: Any = None) -> ModelProfile:
    found = lines(source)
    first = next(found, None)  # before the model's load: a wrong SOURCE is said at once
    if first is None:
        raise SourceError(f"{source} holds no record")
    if served is None:
        from hf_serving.loading.loader import load_served_model

        served = load_served_model(model_dir, Settings(model_dir=model_dir))
    task, labels = model_identity(served)
    builder, reader = ProfileBuilder(task, labels), Reader(served, name)
    capture = is_capture(first[1])
    builder.add((reader.captures if capture else reader.texts)(_chain(first, found)))
    if not builder.items:
        raise SourceError(f"no answered item in {source}: {reader.skipped or 'nothing read'}")
    kind = "data capture" if capture else "texts"
    return builder.profile(
        {
            "kind": kind,
            "path": str(source),
            "records": reader.records,
            "skipped": reader.skipped,
            "model_dir": str(model_dir),
        }
    )


def _chain(first: tuple[str, object], rest: Iterator[tuple[str, object]]) -> Iterator[tuple[str, object]]:
    yield first
    yield from rest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m hf_serving drift-baseline", description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="data-capture JSON Lines (a file or a directory), or texts")
    parser.add_argument("out", type=Path, help="the baseline file to write (DRIFT_BASELINE); other models kept")
    parser.add_argument("--model", type=Path, required=True, help="the model directory the endpoint serves")
    parser.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help="the model's name on a multi-model endpoint (default: model, a single-model endpoint)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        kept = profiles.read(args.out) if args.out.exists() else {}
        profile = build(args.source, args.model, args.name)
    except (SourceError, BaselineError, OSError) as exc:
        print(f"drift-baseline: {exc}", file=sys.stderr)
        return 2
    profiles.write(args.out, {**kept, args.name: profile})
    print(summary(args.name, profile, args.out, sorted(kept.keys() - {args.name})))
    return 0


def summary(name: str, profile: ModelProfile, out: Path, others: list[str]) -> str:
    source = profile.source
    read = "lines of texts" if source["kind"] == "texts" else "data-capture records"
    shares = ", ".join(f"{label} {share:.1%}" for label, share in profile.class_shares().items()) or "none"
    skipped = ", ".join(f"{count} {why}" for why, count in source.get("skipped", {}).items()) or "none"
    return "\n".join(
        [
            f"model {name} ({profile.task}): {profile.items} items from {source['records']} {read} in {source['path']}"
            f" (skipped: {skipped})",
            f"  classes: {shares}",
            f"  confidence: {_filled(profile.confidence)}",
            f"  tokens: {_filled(profile.tokens)}",
            f"wrote {out}" + (f" (kept the profiles of {', '.join(others)})" if others else ""),
        ]
    )


def _filled(histogram: Histogram) -> str:
    """The bins that hold something, as "low-high: count" ("low+" for the last)."""
    edges = [f"{edge:g}" for edge in histogram.bins]
    found = [
        f"{low}-{high}: {count}" for low, high, count in zip(edges, edges[1:], histogram.counts, strict=False) if count
    ]
    if histogram.counts and histogram.counts[-1]:
        found.append(f"{edges[-1]}+: {histogram.counts[-1]}")
    return ", ".join(found) or "none"
