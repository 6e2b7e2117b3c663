"""The container's log lines: text for a person, or LOG_FORMAT=json, one JSON object per line for a machine.

Every process logs to its stdout: the launcher's is the container's; a worker's goes through multi-model-server,
whose log4j configuration (launcher/mms.py) passes a worker's JSON lines through untouched and writes its own as
JSON too. nginx's access lines have the same keys where they mean the same (docker/nginx.conf): time, level,
logger, message, request_id, model. A request's line carries its id, model, status, each stage's time, the batch
size and its tokens (serving/batch_handler.py); an error's line its request id and the traceback, in one field.
"""

from __future__ import annotations

import logging
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

JSON_FORMAT = "json"


def configure(stream: TextIO, log_format: str, level: str, text_pattern: str) -> None:
    handler = logging.StreamHandler(stream)
    if log_format == JSON_FORMAT:
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                timestamp="time",
                rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(text_pattern))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
