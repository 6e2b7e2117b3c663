"""DataCapture: the worker's one capture object, made from settings in HandlerService.initialize.

off (DATA_CAPTURE_PERCENT=0) there is none: the handler checks for None and does nothing else. On, a request costs a
random draw and, when sampled, a list append (bodies over the size limit are sliced first); everything else happens
in the writing thread.

The last records are written when the worker ends. multi-model-server's Python worker is a multiprocessing child that
leaves through os._exit, where atexit handlers never run; its exit runs multiprocessing's finalizers instead (and so
does a forked zygote process, through the same multiprocessing child). Both are registered. The launcher's graceful
drain lets the workers end on their own, once the model server has closed their connections, before it kills what is
left (launcher/supervisor.py).
"""

from __future__ import annotations

import atexit
import logging
import time
from multiprocessing import util as multiprocessing_util

from hf_serving.monitoring.capture.counts import CaptureCounts
from hf_serving.monitoring.capture.destinations import Destination, Layout, describe, kind_of
from hf_serving.monitoring.capture.exchange import Exchange, body, cut_to
from hf_serving.monitoring.capture.sampler import Sampler
from hf_serving.monitoring.capture.writer import CaptureWriter
from hf_serving.settings import Settings

log = logging.getLogger("hf_serving.capture")

# The caller's own id for an inference (SageMaker's InvokeEndpoint InferenceId), as it reaches the container.
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"
EXIT_FLUSH_S = 10.0  # the most the worker's exit waits for the last write (a destination that hangs)


class DataCapture:
    def __init__(self, sampler: Sampler, writer: CaptureWriter, max_record_bytes: int, model: str | None) -> None:
        self.sampler = sampler
        self.writer = writer
        self.max_record_bytes = max_record_bytes
        self.model = model

    def offer(
        self,
        event_id: str,
        request: bytes | bytearray | str,
        request_type: str | None,
        response: bytes | str,
        response_type: str | None,
        inference_id: str | None = None,
    ) -> bool:
        """Capture this exchange if it is sampled; never raises, never waits for the destination."""
        if not self.sampler.take():
            return False
        try:
            exchange = Exchange(
                event_id,
                time.time(),
                body(request, request_type),
                body(response, response_type),
                inference_id,
                self.model,
            )
            return self.writer.offer(cut_to(exchange, self.max_record_bytes))
        except Exception:  # a capture fault must never become the request's
            log.warning("data capture failed to take a record; the answer is unchanged", exc_info=True)
            return False

    def close(self) -> None:
        self.writer.close(EXIT_FLUSH_S)


def from_settings(
    settings: Settings, model_label: str, model: str | None, metrics_enabled: bool = True, source: str = ""
) -> DataCapture | None:
    """The worker's capture, or None where DATA_CAPTURE_PERCENT is 0. `model_label` labels /metrics; `model` is a
    multi-model endpoint's model name for the records (None on a single-model endpoint)."""
    destination = settings.data_capture_destination
    if settings.data_capture_percent <= 0 or not destination:
        return None
    layout = Layout(settings.data_capture_endpoint, settings.data_capture_variant)
    counts = CaptureCounts(model_label, describe(destination), enabled=metrics_enabled)
    origin = source or f"hf-serving/{settings.data_capture_endpoint}"

    def opened() -> Destination:
        return open_destination(destination, layout, origin)

    writer = CaptureWriter(opened, counts, settings.data_capture_buffer_records, settings.data_capture_flush_s)
    capture = DataCapture(
        Sampler(settings.data_capture_percent), writer, settings.data_capture_max_record_kb * 1024, model
    )
    atexit.register(capture.close)
    multiprocessing_util.Finalize(None, capture.close, exitpriority=100)
    log.info(
        "data capture: %g%% of answered requests to %s, as %s/%s",
        settings.data_capture_percent,
        describe(destination),
        layout.endpoint,
        layout.variant,
    )
    return capture


def open_destination(destination: str, layout: Layout, source: str) -> Destination:
    """The destination DATA_CAPTURE_DESTINATION names. Its client (boto3's, for s3://) is imported here, in the writing
    thread's first use, never on the request path nor where capture is off."""
    kind = kind_of(destination)
    if kind == "s3":
        from hf_serving.monitoring.capture.s3 import S3Destination

        return S3Destination(destination, layout)
    if kind == "cloudevents":
        from hf_serving.monitoring.capture.cloudevents import CloudEventsSink

        return CloudEventsSink(destination, layout, source)
    from hf_serving.monitoring.capture.directory import DirectoryDestination

    return DirectoryDestination(destination, layout)
