"""A model call's items answered from the cache where it has them; only the misses go through the model.

BatchedModel (tasks/base.py) calls `answer` instead of its own answer() when a cache is attached: one lookup for
every item of the call (MGET on Redis), one model call for the distinct misses, their answers stored (successes
only: an error raises before anything is stored), every answer back in the items' order. Each item's hit or miss
goes to the batch's clock, so the handler can say per request `X-Cache: hit | miss | partial`.

Which models are cached (`for_model`): the container's own served models. A user predict_fn or transform_fn may not
be deterministic, so a model with one is cached only with RESPONSE_CACHE_USER_HOOKS=true.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from hf_serving.caching.keys import item_key, model_identity
from hf_serving.caching.stores import MemoryStore, RedisStore, Store, redact
from hf_serving.observability.worker_metrics import WorkerMetrics
from hf_serving.settings import ResponseCacheKind, Settings

log = logging.getLogger("hf_serving.cache")

X_CACHE = "X-Cache"
USER_HOOKS = ("predict_fn", "transform_fn")


class ResponseCache:
    def __init__(
        self,
        store: Store,
        identity: str,
        metrics: WorkerMetrics,
        encode: Callable[[object], object],
        decode: Callable[[object], object],
    ) -> None:
        self.store, self.identity, self.metrics = store, identity, metrics
        self.encode, self.decode = encode, decode

    def answer(
        self, items: Sequence[Any], parameters: Any, compute: Callable[[list[Any], Any], list[tuple[Any, int]]]
    ) -> list[tuple[Any, int, bool]]:
        """Per item (its result, the tokens the model read for it, found in the store): a hit, and a repeat of an
        item computed in this call, read no tokens."""
        keys = [item_key(self.identity, item, parameters) for item in items]
        distinct = list(dict.fromkeys(keys))
        found: dict[str, object] = {}
        for key, value in zip(distinct, self.store.get_many(distinct), strict=True):
            if value is not None:
                try:
                    found[key] = self.decode(json.loads(value))
                except (ValueError, TypeError, KeyError):  # written by another version, or damaged: a miss
                    pass
        hits = [key in found for key in keys]
        missing = [key for key in distinct if key not in found]
        tokens: dict[str, int] = {}
        if missing:
            first: dict[str, Any] = {}
            for key, item in zip(keys, items, strict=True):
                first.setdefault(key, item)
            fresh = dict(zip(missing, compute([first[key] for key in missing], parameters), strict=True))
            self.store.set_many(
                {
                    key: json.dumps(self.encode(result), separators=(",", ":")).encode()
                    for key, (result, _) in fresh.items()
                }
            )
            found.update((key, result) for key, (result, _) in fresh.items())
            tokens = {key: count for key, (_, count) in fresh.items()}
        self.metrics.cache_lookups(sum(hits), len(hits) - sum(hits))
        return [(found[key], 0 if hit else tokens.pop(key, 0), hit) for key, hit in zip(keys, hits, strict=True)]


def describe(settings: Settings) -> str:
    """The banner's line (the URL's password never shown)."""
    return f"response cache: {_store_description(settings)}"


def _store_description(settings: Settings) -> str:
    if settings.response_cache == ResponseCacheKind.MEMORY:
        return (
            f"memory (an LRU of {settings.response_cache_max_mb} MB per worker, TTL {settings.response_cache_ttl_s} s)"
        )
    if settings.response_cache == ResponseCacheKind.REDIS and settings.response_cache_url is not None:
        return (
            f"redis {redact(settings.response_cache_url)} (TTL {settings.response_cache_ttl_s} s, "
            f"timeout {settings.response_cache_timeout_ms} ms)"
        )
    return "off"


def for_model(
    settings: Settings, model: Any, overridden_hooks: set[str], metrics: WorkerMetrics
) -> ResponseCache | None:
    """The cache for this worker's model, or None: off, a model this container did not load, or user hooks that
    did not opt in (each said once in the log)."""
    if settings.response_cache == ResponseCacheKind.OFF:
        return None
    if not hasattr(model, "use_cache"):
        log.info("response cache: off for this model (a user model_fn's own model)")
        return None
    user = sorted(set(USER_HOOKS) & overridden_hooks)
    if user and not settings.response_cache_user_hooks:
        log.info(
            "response cache: off for this model: its %s may not be deterministic "
            "(RESPONSE_CACHE_USER_HOOKS=true caches it anyway)",
            " and ".join(user),
        )
        return None
    store: Store
    if settings.response_cache == ResponseCacheKind.MEMORY:
        store = MemoryStore(settings.response_cache_max_mb * 1024 * 1024, settings.response_cache_ttl_s)
    else:
        assert settings.response_cache_url is not None
        store = RedisStore(
            settings.response_cache_url,
            settings.response_cache_password,
            settings.response_cache_ttl_s,
            settings.response_cache_timeout_ms / 1000,
            on_error=metrics.cache_error,
        )
    engine = model.engine
    identity = model_identity(settings.model_dir, model.task.value, str(engine.description), str(engine.dtype))
    cache = ResponseCache(store, identity, metrics, model.encode_result, model.decode_result)
    model.use_cache(cache)
    log.info("%s, model identity %s", describe(settings), identity[:16])
    return cache


def x_cache(cached: list[bool]) -> str:
    """One request's X-Cache from its items' lookups: none looked up (an error before the model) is a miss."""
    if cached and all(cached):
        return "hit"
    return "partial" if any(cached) else "miss"
