"""Every environment variable the container reads, named once and read once into a frozen object.

A bad value fails at start with a message naming the variable and what it accepts; a choice is a StrEnum. Nothing
else in the package reads configuration from os.environ: the launcher and the model server's worker each call
`Settings.from_environ()` once (the worker inherits the launcher's environment through the Java model server).
What stays outside says why: the launcher passes its environment through to its children (launcher/plan.py), looks
nginx and Java up on PATH and JAVA_HOME (launcher/host_tools.py), and the zygote's plumbing (launcher/zygote*.py).
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hf_serving.errors import ConfigurationError


# The choices: StrEnums, so that a value prints, formats and compares as the string it was read from
# (settings.dtype == "float32", f"{settings.engine}") and JSON-encodes as that string. Compare with ==, never `is`:
# a Settings made in code (a test's Settings(metrics="off")) may hold the plain string.
class Dtype(enum.StrEnum):
    AUTO = "auto"
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"
    INT8 = "int8"


class Engine(enum.StrEnum):
    AUTO = "auto"
    TORCH = "torch"
    OPENVINO = "openvino"


class BatchStrategy(enum.StrEnum):
    """Batch Transform's SAGEMAKER_BATCH_STRATEGY: one record per request, or many."""

    SINGLE_RECORD = "SINGLE_RECORD"
    MULTI_RECORD = "MULTI_RECORD"


class MetricsAccess(enum.StrEnum):
    """/metrics: open (SageMaker's scraper sends no key), behind the API key, or a 404."""

    PUBLIC = "public"
    KEY = "key"
    OFF = "off"


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"  # one object per line


class LogLevel(enum.StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class ResponseCacheKind(enum.StrEnum):
    OFF = "off"
    MEMORY = "memory"  # an LRU per worker
    REDIS = "redis"  # shared, at RESPONSE_CACHE's URL


class _OnOff(enum.StrEnum):
    ON = "on"
    OFF = "off"


_Choice = TypeVar("_Choice", bound=enum.StrEnum)
LOG_LEVELS = {
    "10": LogLevel.DEBUG,
    "20": LogLevel.INFO,
    "30": LogLevel.WARNING,
    "40": LogLevel.ERROR,
    "50": LogLevel.CRITICAL,
}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high


@dataclass(frozen=True)
class Settings:
    """The container's configuration; docs/reference/configuration.md says what each variable does."""

    # Where the model comes from.
    model_dir: Path = Path("/opt/ml/model")
    model_id: str | None = None
    model_revision: str | None = None
    hub_token: str | None = field(default=None, repr=False)
    task: str | None = None
    trust_remote_code: bool = False
    user_program: str = "inference.py"
    install_code_requirements: bool = False
    # How it runs.
    dtype: Dtype = Dtype.AUTO
    engine: Engine = Engine.AUTO
    workers: int | None = None
    threads: int | None = None
    batch_size: int | None = None  # None: by the hardware (concurrency.effective_batch_size)
    max_batch_delay_ms: int = 1
    max_batch_tokens: int | None = None  # padded tokens per model pass; None: by device (engines/base.py)
    # The HTTP edge.
    port: int = 8080
    safe_port_range: PortRange | None = None
    invocation_timeout_s: int = 60
    max_payload_mb: int = 6
    # The largest answer the handler sends (serving/answer_size.py): one over it is a 413 naming the limit.
    max_response_mb: int = 16
    default_accept: str | None = None  # None: answer in the request's own format
    # Outside SageMaker (e.g. Kubernetes): optional API key and per-client rate limit, checked by nginx.
    api_key: str | None = field(default=None, repr=False)
    rate_limit_rps: int | None = None
    rate_limit_burst: int | None = None
    client_timeout_s: int = 20
    # The edge's size, for clients that reach it directly (docker/nginx.conf; docs/operating/reliability.md): its
    # connections (clients' and the model server's), how many requests one client address may have open at once
    # (None: no limit, for a proxy in front that sends everyone's requests from one address), and the longest a
    # request may take to arrive, its body included.
    max_connections: int = 4096
    max_connections_per_address: int | None = 512
    request_read_timeout_s: int = 60
    # Admission control (launcher/admission.py): the longest a request may wait at the edge for the model to start it.
    queue_timeout_s: float = 5.0
    # Multi-model endpoints (SAGEMAKER_MULTI_MODEL, hf_serving/multi_model): models loaded by POST /models.
    multi_model: bool = False
    memory_limit_mb: int | None = None  # None: the container's memory limit, else the host's memory
    memory_headroom_mb: int | None = None  # None: multi_model.memory_budget.default_headroom
    # Batch Transform.
    batch_mode: bool = False
    batch_strategy: BatchStrategy = BatchStrategy.MULTI_RECORD
    max_concurrent_transforms: int | None = None
    # Observability (docs/operating/observability.md): /metrics public (SageMaker's scraper sends no key), behind
    # the API key, or off.
    metrics: MetricsAccess = MetricsAccess.PUBLIC
    log_format: LogFormat = LogFormat.TEXT
    # The single-model endpoint's model as the protocols name it (KServe's /v2/models/{name}, OpenAI's model list).
    served_model_name: str = "model"
    log_ping: bool = False  # /ping's access lines (a health checker's every few seconds)
    # Explanations (`"explain": true`, tasks/explaining.py): on, with a worker of their own on a single-model endpoint.
    explain: bool = True
    # Not read from the environment: set in a single-model endpoint's batching workers (serving/worker_place.py),
    # whose explain requests are the explanation worker's: explain work never runs in a batch, whatever reached it.
    explain_elsewhere: bool = False
    # GET /docs (Swagger UI) and /openapi.json, /openapi.yaml (hf_serving/api_docs); SERVE_DOCS=off makes them 404s.
    docs: bool = True
    # CORS (launcher/cors.py): the browser origins allowed to call the endpoint from another page, exact and in lower
    # case (https://app.example.com), or ("*",) for any origin; () (the default): off, no CORS header at all.
    cors_origins: tuple[str, ...] = ()
    # The response cache (caching/): off, "memory" (an LRU per worker) or a redis:// or rediss:// URL (shared).
    response_cache: ResponseCacheKind = ResponseCacheKind.OFF
    response_cache_url: str | None = field(default=None, repr=False)  # its password may be in it: never shown
    response_cache_password: str | None = field(default=None, repr=False)
    response_cache_ttl_s: int = 3600
    response_cache_max_mb: int = 256
    response_cache_timeout_ms: int = 50
    response_cache_user_hooks: bool = False  # cache answers of a user predict_fn/transform_fn too (opt in)
    # Prediction monitoring (hf_serving/monitoring): data capture of what the model saw and answered, the predicted
    # classes, confidences and input lengths in /metrics, and drift against a baseline profile.
    data_capture_percent: float = 0.0  # 0: off
    data_capture_destination: str | None = None  # an absolute directory, an s3:// prefix or an http(s):// sink
    data_capture_endpoint: str = "model"  # <endpoint>/<variant>/ in the capture layout; default SERVE_MODEL_NAME
    data_capture_variant: str = "AllTraffic"
    data_capture_max_record_kb: int = 256  # a body over this is cut; the record keeps its metadata and says so
    data_capture_buffer_records: int = 10_000  # per worker; past it a record is dropped and counted
    data_capture_flush_s: float = 30.0  # the longest a captured record waits in memory
    monitor_max_labels: int = 20  # predicted-class label values per model in /metrics; the rest are "other"
    drift_baseline: Path | None = None  # a baseline profile (drift-baseline's OUT.json): drift gauges on
    drift_window: int = 1000  # items in the sliding window each drift gauge compares with the baseline
    # Plumbing.
    log_level: LogLevel = LogLevel.INFO
    jvm_args: str | None = None
    runtime_dir: Path | None = None
    code_dir_override: Path | None = None
    bind_address: str = "0.0.0.0"
    # Libraries' own variables, which the launcher sets for its children unless the caller did (launcher/plan.py):
    # the tokenizer's threads (None: by the hardware), and libgomp's spinning on a multi-model endpoint (None: the
    # launcher's default; OMP_WAIT_POLICY set: the caller chose libgomp's waiting, the launcher sets nothing).
    tokenizers_parallelism: str | None = None
    gomp_spincount: str | None = None
    omp_wait_policy: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(os.environ if environ is None else environ)
        batch_mode = env.flag("SAGEMAKER_BATCH", False)
        # Batch Transform allows up to an hour per request (the platform enforces the job's own limit).
        invocation_timeout_s = env.integer("SAGEMAKER_MODEL_SERVER_TIMEOUT", 3600 if batch_mode else 60, low=1) or 60
        return cls(
            model_dir=Path(env.text("HF_MODEL_DIR") or "/opt/ml/model"),
            model_id=env.text("HF_MODEL_ID"),
            model_revision=env.text("HF_MODEL_REVISION"),
            hub_token=env.text("HF_TOKEN") or env.text("HF_API_TOKEN"),
            task=env.text("HF_TASK"),
            trust_remote_code=env.flag("HF_TRUST_REMOTE_CODE", False),
            user_program=env.text("SAGEMAKER_PROGRAM") or "inference.py",
            install_code_requirements=env.flag("INSTALL_CODE_REQUIREMENTS", False),
            dtype=env.choice("MODEL_DTYPE", Dtype, Dtype.AUTO),
            engine=env.choice("MODEL_ENGINE", Engine, Engine.AUTO),
            workers=env.integer("SAGEMAKER_MODEL_SERVER_WORKERS", None, low=1),
            threads=env.integer("MODEL_SERVER_THREADS", None, low=1),
            # Real-time endpoints batch by default (concurrency.effective_batch_size: 8 on CPU, 32 on a GPU), the
            # first request waiting at most 1 ms for company (chosen with `make bench` variants: 2 ms cost ~2 ms
            # at concurrency 1 for no more throughput). Within 1 ms MMS drains what is queued.
            # Batch Transform requests already carry many records each: one request per pass there.
            batch_size=env.integer("MODEL_SERVER_BATCH_SIZE", 1 if batch_mode else None, low=1),
            max_batch_delay_ms=env.integer("MODEL_SERVER_MAX_BATCH_DELAY_MS", 1, low=0) or 0,
            max_batch_tokens=env.integer("MAX_BATCH_TOKENS", None, low=512, high=1_048_576),
            port=env.integer("SAGEMAKER_BIND_TO_PORT", 8080, low=1, high=65535) or 8080,
            safe_port_range=env.port_range("SAGEMAKER_SAFE_PORT_RANGE"),
            invocation_timeout_s=invocation_timeout_s,
            max_payload_mb=env.integer("SAGEMAKER_MAX_PAYLOAD_IN_MB", 6, low=1, high=100) or 6,
            # 16 MB holds the vectors of 2,000 texts of a 384-dimension embeddings model (~8 KB each in JSON) or
            # ~170k JSON Lines error records, and 16 of them in flight fit the model server's 1 GB heap
            # (docs/operating/reliability.md, answer sizes).
            max_response_mb=env.integer("SERVE_MAX_RESPONSE_MB", 16, low=1, high=1024) or 16,
            default_accept=env.text("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"),
            api_key=env.api_key("SERVE_API_KEY"),
            rate_limit_rps=env.integer("SERVE_RATE_LIMIT_RPS", None, low=1),
            rate_limit_burst=env.integer("SERVE_RATE_LIMIT_BURST", None, low=0),
            client_timeout_s=env.integer("SERVE_CLIENT_TIMEOUT_S", 20, low=1, high=3600) or 20,
            max_connections=env.integer("SERVE_MAX_CONNECTIONS", 4096, low=64, high=1_000_000) or 4096,
            max_connections_per_address=env.integer("SERVE_MAX_CONNECTIONS_PER_ADDRESS", 512, low=0) or None,
            # A Batch Transform request may be 100 MB (SAGEMAKER_MAX_PAYLOAD_IN_MB): 60 s would ask for 13 Mbit/s.
            request_read_timeout_s=env.integer(
                "SERVE_REQUEST_READ_TIMEOUT_S", 600 if batch_mode else 60, low=1, high=3600
            )
            or 60,
            # Real-time callers want a fast answer or a fast refusal; a Batch Transform job sends only as many
            # requests as it was told (MaxConcurrentTransforms) and needs every one answered: they wait as long as
            # the invocation timeout allows.
            queue_timeout_s=env.number(
                "SERVE_QUEUE_TIMEOUT_S", float(invocation_timeout_s) if batch_mode else 5.0, low=0.0, high=3600.0
            ),
            multi_model=env.flag("SAGEMAKER_MULTI_MODEL", False),
            memory_limit_mb=env.integer("SERVE_MEMORY_LIMIT_MB", None, low=64),
            memory_headroom_mb=env.integer("SERVE_MEMORY_HEADROOM_MB", None, low=0),
            batch_mode=batch_mode,
            batch_strategy=env.choice("SAGEMAKER_BATCH_STRATEGY", BatchStrategy, BatchStrategy.MULTI_RECORD),
            max_concurrent_transforms=env.integer("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", None, low=1),
            metrics=_metrics_access(env),
            log_format=env.choice("LOG_FORMAT", LogFormat, LogFormat.TEXT),
            served_model_name=env.model_name("SERVE_MODEL_NAME"),
            log_ping=env.flag("SERVE_LOG_PING", False),
            explain=env.on_off("SERVE_EXPLAIN", True),
            docs=env.on_off("SERVE_DOCS", True),
            cors_origins=_cors_origins(env.text("SERVE_CORS_ORIGINS")),
            **_response_cache(env),
            **_monitoring(env),
            log_level=env.log_level("SAGEMAKER_CONTAINER_LOG_LEVEL"),
            jvm_args=env.text("SAGEMAKER_MODEL_SERVER_VMARGS"),
            runtime_dir=Path(p) if (p := env.text("SERVE_RUNTIME_DIR")) else None,
            code_dir_override=Path(p) if (p := env.text("SERVE_CODE_DIR")) else None,
            bind_address=env.text("SERVE_BIND_ADDRESS") or "0.0.0.0",
            tokenizers_parallelism=env.text("TOKENIZERS_PARALLELISM"),
            gomp_spincount=env.text("GOMP_SPINCOUNT"),
            omp_wait_policy=env.text("OMP_WAIT_POLICY"),
        )

    @property
    def max_response_bytes(self) -> int:
        return self.max_response_mb * 1024 * 1024

    @property
    def code_dir(self) -> Path:
        """code/ of the model archive; the launcher passes it on when the weights come from the Hub."""
        return self.code_dir_override or self.model_dir / "code"


class _Env:
    """Typed reads of one environment mapping; every failure names the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None:
            return default
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigurationError(f"{name}={raw!r} is not a boolean: use true or false")

    def on_off(self, name: str, default: bool) -> bool:
        return self.choice(name, _OnOff, _OnOff.ON if default else _OnOff.OFF) is _OnOff.ON

    def choice(self, name: str, choices: type[_Choice], default: _Choice) -> _Choice:
        raw = self.text(name)
        if raw is None:
            return default
        for choice in choices:
            if raw.lower() == choice.lower():
                return choice
        raise ConfigurationError(f"{name}={raw!r} is not one of: {', '.join(choices)}")

    def integer(self, name: str, default: int | None, low: int | None = None, high: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            raise ConfigurationError(f"{name}={value} is outside {bounds}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"{name}={raw!r} is not a number") from None
        if not low <= value <= high:  # also refuses nan
            raise ConfigurationError(f"{name}={value} is outside {low:g}..{high:g}")
        return value

    def port_range(self, name: str) -> PortRange | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            low_text, high_text = raw.replace(" ", "").split("-")
            low, high = int(low_text), int(high_text)
        except ValueError:
            raise ConfigurationError(f"{name}={raw!r} is not a range like 20000-20999") from None
        if not 1 <= low < high <= 65535:
            raise ConfigurationError(f"{name}={raw!r} is not a range of ports with low < high")
        return PortRange(low, high)

    def api_key(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        if len(raw) < 16 or not all(c.isascii() and (c.isalnum() or c in "-_.~") for c in raw):
            # The value is never echoed: it is a secret.
            raise ConfigurationError(f"{name} must be at least 16 characters of A-Z, a-z, 0-9, '-', '_', '.', '~'")
        return raw

    def model_name(self, name: str) -> str:
        """A name that goes into a URL path and nginx's configuration as is: letters, digits, '.', '_' and '-'."""
        value = self.text(name) or "model"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", value):
            raise ConfigurationError(f"{name}={value!r}: use letters, digits, '.', '_' and '-' (at most 128)")
        return value

    def log_level(self, name: str) -> LogLevel:
        raw = self.text(name)
        if raw is None:
            return LogLevel.INFO
        level = LOG_LEVELS.get(raw) or next((level for level in LogLevel if level == raw.upper()), None)
        if level is None:
            raise ConfigurationError(f"{name}={raw!r} is not a log level (10-50 or DEBUG..CRITICAL)")
        return level


def early_log_format(environ: Mapping[str, str] | None = None) -> LogFormat:
    """LOG_FORMAT before the settings are read, for the lines that say why they could not be (a bad value: text,
    until Settings.from_environ names it)."""
    raw = (os.environ if environ is None else environ).get("LOG_FORMAT", "").strip().lower()
    return LogFormat.JSON if raw == LogFormat.JSON else LogFormat.TEXT


_current: Settings | None = None


def _metrics_access(env: _Env) -> MetricsAccess:
    # A multi-model endpoint's /metrics names every model it holds, which GET /models shows only to key holders: with
    # a key, /metrics asks for it too unless SERVE_METRICS=public says otherwise. A single-model endpoint's /metrics
    # names no model ("model"): public, as SageMaker's scraper needs it.
    keyed_models = env.flag("SAGEMAKER_MULTI_MODEL", False) and env.api_key("SERVE_API_KEY") is not None
    access = env.choice("SERVE_METRICS", MetricsAccess, MetricsAccess.KEY if keyed_models else MetricsAccess.PUBLIC)
    if access == MetricsAccess.KEY and env.api_key("SERVE_API_KEY") is None:
        raise ConfigurationError("SERVE_METRICS=key needs SERVE_API_KEY: there is no key to ask for")
    return access


# scheme://host[:port], as a browser sends it in Origin: no path, no trailing slash, the host a name or a bracketed IPv6
# address. Nothing else: each origin becomes a quoted key in nginx's configuration.
_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _cors_origins(raw: str | None) -> tuple[str, ...]:
    """SERVE_CORS_ORIGINS: a comma-separated list of origins, or "*" alone. Lower-cased (a browser sends the scheme
    and host in lower case); an origin's default port, a path or "null" (a sandboxed or file:// page's origin, which
    any page can take on) is refused, since no browser would ever send it as written."""
    entries = [entry.strip() for entry in (raw or "").split(",") if entry.strip()]
    if entries == ["*"]:
        return ("*",)
    if "*" in entries:
        raise ConfigurationError("SERVE_CORS_ORIGINS: '*' (any origin) goes alone, not in a list of origins")
    origins: list[str] = []
    for entry in entries:
        origin = entry.lower()
        match = _ORIGIN.fullmatch(origin)
        if match is None:
            raise ConfigurationError(
                f"SERVE_CORS_ORIGINS: {entry!r} is not an origin like https://app.example.com "
                "(scheme://host[:port], no path nor trailing slash)"
            )
        port = match["port"]
        if port is not None and (_DEFAULT_PORTS.get(match["scheme"]) == port or not 1 <= int(port) <= 65535):
            raise ConfigurationError(
                f"SERVE_CORS_ORIGINS: {entry!r}: a browser never sends port {port} in its "
                "Origin (leave a default port out)"
            )
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _response_cache(env: _Env) -> dict[str, Any]:
    raw = env.text("RESPONSE_CACHE")
    kind, url = ResponseCacheKind.OFF, None
    if raw is not None and raw.lower() not in (ResponseCacheKind.OFF, ResponseCacheKind.MEMORY):
        if not raw.lower().startswith(("redis://", "rediss://", "unix://")):
            # The value is not echoed: a URL may carry a password.
            raise ConfigurationError("RESPONSE_CACHE must be off, memory, or a redis://, rediss:// or unix:// URL")
        kind, url = ResponseCacheKind.REDIS, raw
    elif raw is not None:
        kind = ResponseCacheKind(raw.lower())
    return {
        "response_cache": kind,
        "response_cache_url": url,
        "response_cache_password": env.text("RESPONSE_CACHE_PASSWORD"),
        "response_cache_ttl_s": env.integer("RESPONSE_CACHE_TTL_S", 3600, low=1) or 3600,
        "response_cache_max_mb": env.integer("RESPONSE_CACHE_MAX_MB", 256, low=1) or 256,
        "response_cache_timeout_ms": env.integer("RESPONSE_CACHE_TIMEOUT_MS", 50, low=1, high=10_000) or 50,
        "response_cache_user_hooks": env.flag("RESPONSE_CACHE_USER_HOOKS", False),
    }


def _monitoring(env: _Env) -> dict[str, Any]:
    percent = env.number("DATA_CAPTURE_PERCENT", 0.0, low=0.0, high=100.0)
    destination = env.text("DATA_CAPTURE_DESTINATION")
    if percent > 0 and destination is None:
        raise ConfigurationError(
            "DATA_CAPTURE_PERCENT > 0 needs DATA_CAPTURE_DESTINATION: a directory, an s3:// prefix or an http(s):// URL"
        )
    if destination is not None:
        _check_capture_destination(destination)
    baseline = env.text("DRIFT_BASELINE")
    return {
        "data_capture_percent": percent,
        "data_capture_destination": destination,
        "data_capture_endpoint": env.model_name("DATA_CAPTURE_ENDPOINT_NAME")
        if env.text("DATA_CAPTURE_ENDPOINT_NAME")
        else env.model_name("SERVE_MODEL_NAME"),
        "data_capture_variant": env.model_name("DATA_CAPTURE_VARIANT_NAME")
        if env.text("DATA_CAPTURE_VARIANT_NAME")
        else "AllTraffic",
        "data_capture_max_record_kb": env.integer("DATA_CAPTURE_MAX_RECORD_KB", 256, low=1, high=102_400) or 256,
        "data_capture_buffer_records": env.integer("DATA_CAPTURE_BUFFER_RECORDS", 10_000, low=1) or 10_000,
        "data_capture_flush_s": env.number("DATA_CAPTURE_FLUSH_S", 30.0, low=0.1, high=60.0),
        "monitor_max_labels": env.integer("MONITOR_MAX_LABELS", 20, low=1, high=1000) or 20,
        "drift_baseline": Path(baseline) if baseline else None,
        "drift_window": env.integer("DRIFT_WINDOW", 1000, low=100, high=1_000_000) or 1000,
    }


def _check_capture_destination(destination: str) -> None:
    """At start, not in the writing thread where it would only count every record dropped. A directory must be
    absolute: each worker resolves a relative one against its own working directory."""
    scheme, _, rest = destination.partition("://")
    accepted = "an absolute directory, s3://bucket/prefix or an http(s):// URL"
    if not rest:
        if not destination.startswith("/"):
            raise ConfigurationError(f"DATA_CAPTURE_DESTINATION={destination!r}: use {accepted}")
    elif scheme.lower() not in ("s3", "http", "https") or not rest.split("/", 1)[0]:
        # The value is not echoed: a sink's URL may carry credentials.
        raise ConfigurationError(
            f"DATA_CAPTURE_DESTINATION: a {scheme}:// URL without a bucket or host, or of "
            f"another scheme; use {accepted}"
        )


def use_settings(settings: Settings) -> None:
    """Make `settings` the process's own: a multi-model worker's, whose model directory is its model's."""
    global _current
    _current = settings


@contextlib.contextmanager
def settings_in_use(settings: Settings) -> Iterator[Settings]:
    """`settings` as the process's own within the block, and whatever was before it afterwards: code run in-process
    (tests, tools) that must see other settings than the environment's."""
    global _current
    previous = _current
    _current = settings
    try:
        yield settings
    finally:
        _current = previous


def current_settings() -> Settings:
    """The process's settings, read from its environment on first use and never again."""
    global _current
    if _current is None:
        _current = Settings.from_environ()
    return _current
