"""The optional parts of nginx's configuration, rendered from settings: API key, per-client rate limit, /metrics'
access, /docs' access, the access log's format, CORS (cors.py)."""

from __future__ import annotations

import hashlib
import os
import resource

from hf_serving.api_docs import site
from hf_serving.api_docs.assets import Pin
from hf_serving.error_catalogue import Protocol, nginx_return
from hf_serving.launcher.cors import cors_values
from hf_serving.settings import MetricsAccess, Settings

_UNAUTHORIZED = "missing or wrong API key: send X-Api-Key or Authorization: Bearer"


def api_key_check(settings: Settings, shape: Protocol = Protocol.SAGEMAKER) -> str:
    """The routes' check of SERVE_API_KEY: exact and in constant time (lua/api_key.lua), given the key's digest; the
    refusal in the route's shape (OpenAI's SDK shows its message only in OpenAI's)."""
    if settings.api_key is None:
        return ""
    digest = hashlib.sha1(settings.api_key.encode("ascii"), usedforsecurity=False).hexdigest()
    refusal = nginx_return(shape, "unauthorized", _UNAUTHORIZED)
    return (
        f'            set_by_lua_block $api_key_matches {{ return require("api_key").matches("{digest}") }}\n'
        f"            if ($api_key_matches = 0) {{\n                {refusal}\n            }}"
    )


def api_key_checks(settings: Settings) -> dict[Protocol, str]:
    return {shape: api_key_check(settings, shape) for shape in Protocol}


def rate_limit_zone(settings: Settings) -> str:
    if settings.rate_limit_rps is None:
        return ""
    return f"    limit_req_zone $binary_remote_addr zone=per_client:10m rate={settings.rate_limit_rps}r/s;"


def rate_limit(settings: Settings) -> str:
    if settings.rate_limit_rps is None:
        return ""
    burst = settings.rate_limit_burst if settings.rate_limit_burst is not None else settings.rate_limit_rps
    return f"            limit_req zone=per_client burst={burst} nodelay;\n            limit_req_status 429;"


def connection_limits(settings: Settings) -> tuple[int, int]:
    """nginx's worker_connections and the open files it asks for: a connection is a file, and a body over
    client_body_buffer_size another (its temporary file). Without root, nginx cannot raise its hard limit: then the
    connections fit in what it allows."""
    wanted_files = 2 * settings.max_connections + 64
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0 or hard == resource.RLIM_INFINITY or hard >= wanted_files:
        return settings.max_connections, wanted_files
    return max(64, (hard - 64) // 2), hard


def connections(settings: Settings) -> str:
    """Per client address, in the public server: a /ping (a health checker's) never counts, so a client flooding
    from the checker's address does not make the container look dead."""
    if settings.max_connections_per_address is None:
        return ""
    return f"        limit_conn per_address {settings.max_connections_per_address};\n        limit_conn_status 429;"


def describe_connections(settings: Settings) -> str:
    worker_connections, _ = connection_limits(settings)
    capped = (
        f" (SERVE_MAX_CONNECTIONS={settings.max_connections} capped by the open-file limit)"
        if worker_connections < settings.max_connections
        else ""
    )
    per_address = settings.max_connections_per_address or "no limit"
    return (
        f"connections: {worker_connections}{capped}, requests open per client address: {per_address}, "
        f"a request read within {settings.request_read_timeout_s} s"
    )


def metrics_access(settings: Settings) -> str:
    """/metrics' own check: none (SageMaker's scraper sends no key), the API key's, or the route is off."""
    if settings.metrics == MetricsAccess.OFF:
        return _not_found("metrics are off (SERVE_METRICS=off)")
    return api_key_check(settings) if settings.metrics == MetricsAccess.KEY else ""


def _not_found(message: str) -> str:
    return f"            {nginx_return(Protocol.SAGEMAKER, 'not_found', message)}"


def docs_access(settings: Settings, assets: Pin | None) -> str:
    """/docs' and its files' own check: none, off (SERVE_DOCS=off), or the Swagger UI files were never fetched."""
    if not settings.docs:
        return _not_found("docs are off (SERVE_DOCS=off)")
    return _not_found(site.missing_message()) if assets is None else ""


def spec_access(settings: Settings) -> str:
    """/openapi.json's and /openapi.yaml's: they are written at every start, so only SERVE_DOCS=off stops them."""
    return "" if settings.docs else _not_found("docs are off (SERVE_DOCS=off)")


def docs_values(settings: Settings, assets: Pin | None) -> dict[str, str | int]:
    """/docs, its files and the description: who may have them, and where nginx finds them."""
    return {
        "DOCS_ACCESS": docs_access(settings, assets),
        "SPEC_ACCESS": spec_access(settings),
        "DOCS_PAGE_DIR": str(site.PAGE_DIR),
        "DOCS_ASSETS_DIR": str(site.ASSETS_DIR),
    }


def edge_values(settings: Settings) -> dict[str, str | int]:
    worker_connections, open_files = connection_limits(settings)
    return {
        "API_KEY_CHECK": api_key_check(settings),
        "RATE_LIMIT_ZONE": rate_limit_zone(settings),
        "RATE_LIMIT": rate_limit(settings),
        "CLIENT_TIMEOUT_S": settings.client_timeout_s,
        "METRICS_ACCESS": metrics_access(settings),
        "METRICS_ENABLED": "false" if settings.metrics == MetricsAccess.OFF else "true",
        "ACCESS_LOG_FORMAT": settings.log_format,
        "LOG_PING": int(settings.log_ping),
        "WORKER_CONNECTIONS": worker_connections,
        "OPEN_FILES": open_files,
        "CONNECTIONS_PER_ADDRESS": connections(settings),
        "REQUEST_READ_TIMEOUT_S": settings.request_read_timeout_s,
        **cors_values(settings),
    }
