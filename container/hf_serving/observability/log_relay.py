"""LOG_FORMAT=json for what the children print themselves: nginx's error log, the JVM's own warnings, a line
multi-model-server prints without log4j. The launcher reads each child's output and passes JSON lines through as they
are; any other line becomes an object with the container's keys (observability/logs.py), so every line of the
container's output parses."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from typing import IO, BinaryIO

# nginx's "[error]", the JVM's "WARNING:", Python's "ERROR ..." at a line's start.
_LEVEL = re.compile(rb"\[(emerg|alert|crit|error|warn|notice|info|debug)\]|^(WARNING|ERROR|SEVERE|CRITICAL)\b")
_LEVELS = {
    b"emerg": "CRITICAL",
    b"alert": "CRITICAL",
    b"crit": "CRITICAL",
    b"error": "ERROR",
    b"warn": "WARNING",
    b"notice": "INFO",
    b"info": "INFO",
    b"debug": "DEBUG",
    b"WARNING": "WARNING",
    b"ERROR": "ERROR",
    b"SEVERE": "ERROR",
    b"CRITICAL": "CRITICAL",
}


def as_json_line(line: bytes, logger: str) -> bytes:
    """The line itself when it already is a JSON object, else one that holds it."""
    line = line.rstrip(b"\r\n")
    if line.startswith(b"{") and line.endswith(b"}"):
        return line + b"\n"
    found = _LEVEL.search(line)
    level = _LEVELS[found.group(1) or found.group(2)] if found else "INFO"
    record = {
        "time": datetime.now(UTC).isoformat(),
        "level": level,
        "logger": logger,
        "message": line.decode("utf-8", errors="replace"),
    }
    return json.dumps(record).encode() + b"\n"


def start(stream: IO[bytes], logger: str, out: BinaryIO) -> threading.Thread:
    """Relay the stream's lines to out until the child (and every process sharing its output) has closed it."""

    def relay() -> None:
        with stream:
            for line in iter(stream.readline, b""):
                out.write(as_json_line(line, logger))
                out.flush()

    thread = threading.Thread(target=relay, name=f"log-relay-{logger}", daemon=True)
    thread.start()
    return thread
