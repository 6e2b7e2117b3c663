"""A worker's log lines: the container's format (LOG_FORMAT, LOG_LEVEL) on stdout, which MMS relays."""

from __future__ import annotations

import logging
import sys

from hf_serving.observability import logs
from hf_serving.settings import current_settings


def configure_logging() -> None:
    settings = current_settings()
    # multi-model-server stamps each text line with its time.
    logs.configure(sys.stdout, settings.log_format, settings.log_level, "%(levelname)s %(name)s: %(message)s")
    # Its INFO lines are a per-request "[METRICS]" line each: /metrics has those figures (observability/).
    logging.getLogger("mms.service").setLevel(logging.WARNING)
    # A worker logs a line per request, and neither format prints where a line was logged from, nor its thread or
    # process: the logging HOWTO's "Optimization" settings spare each record finding them (its caller's frame above
    # all: about a tenth of a line's cost in py-spy's samples of a worker).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
