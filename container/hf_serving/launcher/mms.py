"""multi-model-server, started and configured by this project rather than by sagemaker-inference.

sagemaker_inference.model_server cannot be used as it is: it imports pkg_resources (gone from
setuptools >= 81), writes /etc/sagemaker-mms.properties, binds both APIs to 0.0.0.0, reads the timeout
as minutes, ignores SAGEMAKER_SAFE_PORT_RANGE, and starts MMS through a CLI that daemonises Java and
keeps a global pid file. Here Java runs in the foreground as our child, with a configuration written
to our runtime directory, both APIs on 127.0.0.1, and the model registered through the management API
so that batch size, batch delay and worker count are ours to set (startup models get batch size 1).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from hf_serving.launcher import host_tools, mms_fix
from hf_serving.loading import model_store
from hf_serving.serving import handler_service

MODEL_NAME = model_store.SINGLE_MODEL_NAME
# MMS imports the handler by this name in each worker.
HANDLER = f"{handler_service.__name__}:{handler_service.handle.__name__}"

# multi-model-server logs to stdout only: the platform collects the container's output. A Java exception's stack trace
# is one line (its line breaks escaped), not dozens: a worker that keeps dying prints one per retry.
LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration>
  <Appenders>
{appenders}
  </Appenders>
  <Loggers>
    <Logger name="ACCESS_LOG" level="off"/>
    <Logger name="MODEL_METRICS" level="off"/>
    <Logger name="MMS_METRICS" level="off"/>
    <Logger name="io.netty" level="error"/>
    <Logger name="org.apache" level="off"/>
    <Logger name="MODEL_LOG" level="info"/>
    <Logger name="com.amazonaws.ml.mms" level="{level}"/>
    <Root level="warn">
{appender_refs}
    </Root>
  </Loggers>
</Configuration>
"""
_TEXT_APPENDERS = """    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout alwaysWriteExceptions="false">
        <Pattern>%d{ISO8601} [%-5p] %c{1} - %m%notEmpty{ %enc{%replace{%throwable}{^\\s+|\\s+$}{}}{CRLF}}%n</Pattern>
      </PatternLayout>
    </Console>"""
_TEXT_REFS = '      <AppenderRef ref="STDOUT"/>'
# LOG_FORMAT=json: a worker's lines are JSON already (observability/logs.py) and pass through as they are; every other
# line becomes an object with the keys the Python side uses.
_JSON_APPENDERS = """    <Console name="RAW" target="SYSTEM_OUT">
      <PatternLayout pattern="%m%n" alwaysWriteExceptions="false"/>
    </Console>
    <Console name="JSON" target="SYSTEM_OUT">
      <PatternLayout alwaysWriteExceptions="false">
        <Pattern>{"time": "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX}", "level": "%p", "logger": "%c", \
"message": "%enc{%m}{JSON}"%notEmpty{, "exception": "%enc{%replace{%throwable}{^\\s+|\\s+$}{}}{JSON}"}}%n</Pattern>
      </PatternLayout>
    </Console>"""
_JSON_LINE = r"^\{.*\}$"
_JSON_REFS = (
    f'      <AppenderRef ref="RAW"><RegexFilter regex="{_JSON_LINE}" useRawMsg="true" onMatch="ACCEPT" '
    'onMismatch="DENY"/></AppenderRef>\n'
    f'      <AppenderRef ref="JSON"><RegexFilter regex="{_JSON_LINE}" useRawMsg="true" onMatch="DENY" '
    'onMismatch="ACCEPT"/></AppenderRef>'
)


def log4j2_xml(level: str, log_format: str) -> str:
    json_lines = log_format == "json"
    return (
        LOG4J2_XML.replace("{level}", level)
        .replace("{appenders}", _JSON_APPENDERS if json_lines else _TEXT_APPENDERS)
        .replace("{appender_refs}", _JSON_REFS if json_lines else _TEXT_REFS)
    )


@dataclass(frozen=True)
class MmsConfig:
    inference_port: int
    management_port: int
    workers: int
    batch_size: int
    max_batch_delay_ms: int
    response_timeout_s: int
    max_request_bytes: int
    max_response_bytes: int
    job_queue_size: int
    jvm_args: str
    log_level: str
    log_format: str = "text"


MIB = 1024 * 1024
# The JVM's heap when SAGEMAKER_MODEL_SERVER_VMARGS leaves it to us: at least 1 GB, and room for every answer the
# workers can send at once (each worker's batch), twice: Java holds an answer in a byte array, then in the HTTP
# response, while Netty's direct memory, limited to the heap's size, holds the frame being read and the response
# being written. Measured with answers of 16 MB (the default limit): one worker's batches of 32 held in 1 GB, two
# workers' did not (OutOfMemoryError, the workers killed), and did in this formula's 2.4 GB.
MIN_HEAP_MB = 1024
HEAP_BASE_MB = 256


def default_jvm_args(answers_at_once: int, max_response_bytes: int) -> str:
    heap_mb = max(MIN_HEAP_MB, HEAP_BASE_MB + 2 * answers_at_once * -(-max_response_bytes // MIB))
    return f"-Xms64m -Xmx{heap_mb}m -XX:+UseSerialGC -XX:-UseContainerSupport"


def explanation_config(config: MmsConfig) -> MmsConfig:
    """The explanation worker's registration: one worker taking one request at a time, never a batch."""
    return replace(config, workers=1, batch_size=1, max_batch_delay_ms=0)


def model_store_dir(runtime_dir: Path) -> Path:
    return runtime_dir / "model-store"


def write_runtime_files(
    runtime_dir: Path, config: MmsConfig, single_model: bool = True, explanation_worker: bool = False
) -> Path:
    """config.properties, log4j2.xml and a model store: one entry pointing at our handler on a single-model
    endpoint (and one for its explanation worker), none yet on a multi-model one (POST /models adds them)."""
    model_store_path = model_store_dir(runtime_dir)
    model_store_path.mkdir(parents=True, exist_ok=True)
    if single_model:
        model_store.write_manifest(model_store_path, MODEL_NAME, HANDLER)
    if explanation_worker:
        model_store.write_explanation_entry(model_store_path, HANDLER)
    mms_level = "info" if config.log_level in ("DEBUG", "INFO") else "warn"
    (runtime_dir / "log4j2.xml").write_text(log4j2_xml(mms_level, config.log_format))
    properties = {
        "inference_address": f"http://127.0.0.1:{config.inference_port}",
        "management_address": f"http://127.0.0.1:{config.management_port}",
        "model_store": str(model_store_path),
        "default_workers_per_model": str(config.workers),
        # MMS reads these as seconds; past it MMS kills the worker, so it is kept well above nginx's
        # invocation timeout, which answers the client with a 504 first.
        "default_response_timeout": str(config.response_timeout_s),
        "unregister_model_timeout": str(config.response_timeout_s),
        "max_request_size": str(config.max_request_bytes),
        # Each field of a worker's answer is checked against this; past it MMS kills the worker. The worker never
        # sends an answer over SERVE_MAX_RESPONSE_MB (serving/answer_size.py), 1 MiB under this.
        "max_response_size": str(config.max_response_bytes),
        "job_queue_size": str(config.job_queue_size),
        "decode_input_request": "false",
        "async_logging": "true",
        "enable_envvars_config": "false",
        "preload_model": "false",
    }
    (runtime_dir / "config.properties").write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    return model_store_path


def java_executable() -> str:
    return host_tools.java_path() or "java"  # serve checked that there is one before starting anything


def mms_home() -> Path:
    import mms

    return Path(mms.__file__).resolve().parent.parent


def model_server_jar() -> Path:
    return mms_home() / "mms" / "frontend" / "model-server.jar"


def build_fixed_decoder() -> Path:
    """The fixed decoder that installs and images ship, compiled once (python -m hf_serving mms-fix)."""
    return mms_fix.compile_into(mms_fix.PREBUILT, java_executable(), model_server_jar())


def java_command(runtime_dir: Path, jvm_args: str, python: str = sys.executable) -> list[str]:
    """`python`: what MMS runs its worker listeners with (a multi-model endpoint's: the zygote's wrapper)."""
    java, jar = java_executable(), model_server_jar()
    # First on the class path, so that it replaces MMS's decoder of worker responses (mms_fix.py says why).
    fixed = mms_fix.class_dir_for(runtime_dir, java, jar)
    return [
        java,
        f"-Dmodel_server_home={mms_home()}",
        f"-Dlog4j.configurationFile=file://{runtime_dir / 'log4j2.xml'}",
        f"-Djava.io.tmpdir={runtime_dir}",
        *jvm_args.split(),
        "-cp",
        f"{fixed}:.:{jar.parent / '*'}",
        "com.amazonaws.ml.mms.ModelServer",
        "--python",
        python,
        "-f",
        str(runtime_dir / "config.properties"),
        "-s",
        str(runtime_dir / "model-store"),
    ]


class ManagementClient:
    """The few calls of MMS's management API the launcher needs, on loopback."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def is_up(self) -> bool:
        try:
            self._request("GET", "/models", timeout=1.0)
        except (OSError, urllib.error.URLError):
            return False
        return True

    def register(self, config: MmsConfig, timeout_s: float, name: str = MODEL_NAME, synchronous: bool = True) -> None:
        """Register the store entry `name` and start its workers; when synchronous, returns once every worker has
        loaded the model (a multi-model endpoint registers without waiting and watches its workers' own reports:
        MMS retries a worker whose load fails forever)."""
        query = urllib.parse.urlencode(
            {
                "url": name,
                "model_name": name,
                "handler": HANDLER,
                "runtime": "python",
                "batch_size": config.batch_size,
                "max_batch_delay": config.max_batch_delay_ms,
                "initial_workers": config.workers,
                "synchronous": "true" if synchronous else "false",
                # MMS reads a model's own response_timeout as minutes (RegisterModelRequest): in seconds it would be
                # hours. Rounded up, never below the configured default (seconds) that the workers must outlast.
                "response_timeout": max(1, -(-config.response_timeout_s // 60)),
            }
        )
        self._request("POST", f"/models?{query}", timeout=timeout_s)

    def unregister(self, name: str, timeout_s: float) -> None:
        """Stop the model's workers and forget it (404 from MMS: it was not registered)."""
        self._request("DELETE", f"/models/{urllib.parse.quote(name)}", timeout=timeout_s)

    def _request(self, method: str, path: str, timeout: float) -> bytes:
        request = urllib.request.Request(self.base + path, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())
