"""The models of a multi-model endpoint and the state each is in, behind one lock.

loading -> ready -> unloading -> (gone). Only one operation runs on a model at a time: a second POST for a name that
is loading or loaded is a 409, a DELETE of a model still loading is a 409 too, an invocation of a model that is not
in this table is a 404 (nginx checks the model's serving mark, hf_serving/loading/model_store.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hf_serving.loading.model_store import StoreEntry

LOADING, READY, UNLOADING = "loading", "ready", "unloading"


@dataclass(frozen=True)
class ModelRecord:
    entry: StoreEntry
    state: str
    task: str
    estimate_bytes: int
    load_s: float | None = None
    loaded: str | None = None  # what the workers report they serve (task, engine, dtype)
    given_url: str = ""  # the url as POST /models sent it (GET /models shows it, not the resolved path)
    ready_at: int = 0  # the Unix time it became ready: OpenAI's model list shows it as `created`

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def url(self) -> Path:
        return self.entry.url

    @property
    def shown_url(self) -> str:
        """What GET /models shows: the url as sent, never the path it resolved to."""
        return self.given_url or str(self.url)


class Conflict(Exception):
    """The model is already loaded, or an operation on it is under way."""


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, ModelRecord] = {}

    def begin_load(self, record: ModelRecord, check_fits: Callable[[int], None]) -> None:
        """Record the load, once `check_fits` (given the bytes that loads under way will take) has not raised:
        under the lock, so that two loads at once cannot both take the last free memory."""
        with self._lock:
            current = self._models.get(record.name)
            if current is not None:
                state = "loaded" if current.state == READY else current.state
                raise Conflict(f"model {record.name!r} is already {state}")
            check_fits(sum(r.estimate_bytes for r in self._models.values() if r.state == LOADING))
            self._models[record.name] = record

    def mark_ready(self, name: str, load_s: float, loaded: str) -> None:
        with self._lock:
            self._models[name] = replace(
                self._models[name], state=READY, load_s=load_s, loaded=loaded, ready_at=int(time.time())
            )

    def begin_unload(self, name: str) -> ModelRecord | None:
        """The record, now unloading; None when no such model is loaded."""
        with self._lock:
            current = self._models.get(name)
            if current is None or current.state == UNLOADING:
                return None
            if current.state == LOADING:
                raise Conflict(f"model {name!r} is still loading; unload it once POST /models has answered")
            self._models[name] = replace(current, state=UNLOADING)
            return current

    def forget(self, name: str) -> None:
        with self._lock:
            self._models.pop(name, None)

    def get(self, name: str) -> ModelRecord | None:
        with self._lock:
            return self._models.get(name)

    def all(self) -> list[ModelRecord]:
        with self._lock:
            return sorted(self._models.values(), key=lambda record: record.name)
