"""multi-model-server's entry point in each Python worker: `handle(data, context)` (the model store's manifests name
it: launcher/mms.py's HANDLER).

MMS calls handle(None, context) once when the worker starts, and handle(batch, context) for every batch of requests.
The first call makes the worker's one HandlerService (batch_handler.py) for the worker it is (worker_place.py): it
loads the model, then one warm-up inference, and only then may /ping say ready. A single-model endpoint's
explanation worker (loading/explainer.py) runs on idle CPU time (idle_priority.py) and loads its model, float32 on
torch, at its first request instead: until someone asks for an explanation it costs a Python process and nothing
more. The worker tells the launcher how its load went (worker_reports.py). Nothing raised while answering a batch
escapes to MMS, which would answer 503 for the whole batch, or kill the worker; a load failure does, after it is
logged and reported.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hf_serving.serving import frontend_reads, idle_priority, worker_logging
from hf_serving.serving.batch_handler import HandlerService
from hf_serving.serving.worker_place import worker_place
from hf_serving.serving.worker_reports import (
    report_load_failure,
    report_worker_ready,
    report_worker_started,
    served_before,
)

log = logging.getLogger("hf_serving.requests")

_service: HandlerService | None = None  # the worker's one service, made at MMS's first call


def handle(data: list[dict] | None, context: Any) -> list[bytes | str] | None:
    global _service
    if _service is None:
        worker_logging.configure_logging()
        frontend_reads.install()
        place = worker_place(context)
        settings, reports, model_name = place.settings, place.reports, place.model_name
        if place.explains:
            idle_priority.run_when_idle()
            _service = HandlerService(settings, model_name)
            _service.defer(context)
            return None if data is None else _service.handle_batch(data, context)
        if reports is not None and model_name is not None:
            report_worker_started(reports)  # a multi-model load counts the workers that die without a word
        restarted = reports is not None and served_before(reports)
        _service = HandlerService(settings, model_name)
        try:
            _service.initialize(context, restarted)
        except BaseException as exc:
            # Logged here with its cause, and told to the launcher: MMS alone would retry the worker forever while
            # its /ping said healthy. A single-model container exits non-zero; a multi-model one answers the load.
            log.critical("model failed to load from %s", Path(settings.model_dir), exc_info=True)
            if reports is not None:
                report_load_failure(reports, exc)
            _service = None
            raise
        if reports is not None:
            report_worker_ready(reports, _service.loaded_description())
    if data is None:
        return None
    return _service.handle_batch(data, context)
