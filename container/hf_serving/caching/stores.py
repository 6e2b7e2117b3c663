"""Where cached answers are kept: this worker's memory (an LRU bounded in bytes) or a Redis shared by every replica.

A store never fails a request. Redis unreachable, slow (past RESPONSE_CACHE_TIMEOUT_MS) or restarted: the call
returns nothing (every item a miss) or skips the write, the error is counted, logged at most once a minute, and for
a second after it the store is not asked at all, so a dead Redis costs each request nothing, not a timeout each.
redis-py reconnects by itself on the first call after that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("hf_serving.cache")

LOG_EVERY_S = 60.0  # a failing store says so at most this often
RETRY_AFTER_S = 1.0  # after a failure, the store is left alone this long


class Store(Protocol):
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The value of each key, None for a miss (or for all of them when the store cannot be reached)."""
        ...

    def set_many(self, values: dict[str, bytes]) -> None:
        """Keep these values for the TTL; a failure is counted and swallowed."""
        ...


class MemoryStore:
    """An LRU of at most max_bytes of values (keys counted too), each kept at most ttl_s."""

    def __init__(self, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes, self.ttl_s, self.clock = max_bytes, ttl_s, clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.bytes = 0
        self._lock = threading.Lock()  # a worker answers one batch at a time; the lock costs nothing then

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self.clock()
        found: list[bytes | None] = []
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    found.append(None)
                elif entry[0] <= now:
                    self._drop(key)
                    found.append(None)
                else:
                    self._entries.move_to_end(key)
                    found.append(entry[1])
        return found

    def set_many(self, values: dict[str, bytes]) -> None:
        expires = self.clock() + self.ttl_s
        with self._lock:
            for key, value in values.items():
                size = len(key) + len(value)
                if size > self.max_bytes:
                    continue  # one answer larger than the whole cache: not kept
                if key in self._entries:
                    self._drop(key)
                self._entries[key] = (expires, value)
                self.bytes += size
                while self.bytes > self.max_bytes:
                    self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= len(key) + len(value)


class RedisStore:
    """Redis through redis-py: MGET for a batch's lookups, one pipelined SET EX per write, no retries."""

    def __init__(
        self,
        url: str,
        password: str | None,
        ttl_s: int,
        timeout_s: float,
        on_error: Callable[[str], None] = lambda operation: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options: dict[str, object] = {
            "socket_timeout": timeout_s,
            "socket_connect_timeout": timeout_s,
            "retry": Retry(NoBackoff(), 0),
            "retry_on_timeout": False,
        }
        if password is not None:
            options["password"] = password
        self.client = redis.Redis.from_url(url, **options)
        self.errors = (redis.RedisError, OSError)
        self.ttl_s, self.on_error, self.clock = ttl_s, on_error, clock
        self.where = redact(url)  # for the log: never the password
        self._resting_until = 0.0
        self._logged_at = -LOG_EVERY_S

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys or self._resting():
            return [None] * len(keys)
        try:
            values = self.client.mget(list(keys))
        except self.errors as exc:
            self._failed("get", exc)
            return [None] * len(keys)
        return [value if isinstance(value, bytes) else None for value in values]

    def set_many(self, values: dict[str, bytes]) -> None:
        if not values or self._resting():
            return
        try:
            pipeline = self.client.pipeline(transaction=False)
            for key, value in values.items():
                pipeline.set(key, value, ex=self.ttl_s)
            pipeline.execute()
        except self.errors as exc:
            self._failed("set", exc)

    def _resting(self) -> bool:
        return self.clock() < self._resting_until

    def _failed(self, operation: str, exc: BaseException) -> None:
        now = self.clock()
        self._resting_until = now + RETRY_AFTER_S
        self.on_error(operation)
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning(
                "response cache redis %s: %s failed (%s: %s); answering without the cache (said at most once a "
                "minute; counted in hf_serving_response_cache_errors_total)",
                self.where,
                operation,
                type(exc).__name__,
                exc,
            )


def redact(url: str) -> str:
    """The URL without its password (for the banner and the logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))
