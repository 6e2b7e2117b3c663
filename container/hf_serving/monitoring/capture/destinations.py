"""Where records go: the destination DATA_CAPTURE_DESTINATION names, and SageMaker's capture layout
`<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` that the directory and S3 share.

A destination writes one batch of exchanges and says how many it wrote; whatever it raises counts the batch as
"write_failed" (the writer catches it): it never reaches a request.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from hf_serving.monitoring.capture.exchange import Exchange
from hf_serving.monitoring.capture.record import json_line


class WriteFailed(Exception):
    """Part of a batch was written (`written` records) when the rest failed; the cause is chained."""

    def __init__(self, written: int, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.written = written


class Destination(Protocol):
    def write(self, exchanges: Sequence[Exchange]) -> int:
        """Write the batch; the number of records written (the rest counted as failed)."""
        ...


@dataclass(frozen=True)
class Layout:
    """SageMaker's key layout under a root: the hour is the record's (its inferenceTime's, UTC)."""

    endpoint: str
    variant: str

    def hour_prefix(self, seconds: float) -> str:
        return f"{self.endpoint}/{self.variant}/" + time.strftime("%Y/%m/%d/%H", time.gmtime(seconds))

    def by_hour(self, exchanges: Sequence[Exchange]) -> dict[str, list[bytes]]:
        """A batch as JSON Lines, by hour directory (a flush around the hour writes two files)."""
        lines: dict[str, list[bytes]] = defaultdict(list)
        for exchange in exchanges:
            lines[self.hour_prefix(exchange.inference_time)].append(json_line(exchange))
        return lines


def file_name(now: float | None = None) -> str:
    """SageMaker's own form (minute-second-millisecond-uuid.jsonl): unique across workers and flushes."""
    now = time.time() if now is None else now
    return time.strftime("%M-%S-", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}-{uuid.uuid4()}.jsonl"


def describe(destination: str) -> str:
    """The destination as it may be logged: no user, password, query or fragment (a sink's URL may carry a token)."""
    parts = urlsplit(destination)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (or a Windows drive letter)
        return destination
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def kind_of(destination: str) -> str:
    scheme = urlsplit(destination).scheme.lower()
    if scheme == "s3":
        return "s3"
    if scheme in ("http", "https"):
        return "cloudevents"
    return "directory"
