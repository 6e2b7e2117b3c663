"""One captured request and its answer as the request path hands it over: references to the bodies already in
memory, nothing encoded. Encoding (base64, JSON) is the writing thread's work, off the request path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Body:
    """A body as it travelled, and its length before a cut (0 when whole)."""

    data: bytes | bytearray  # MMS's request bodies are bytearrays: kept as they are, not copied
    content_type: str
    cut_from: int = 0

    @property
    def cut(self) -> bool:
        return self.cut_from > 0


@dataclass(frozen=True)
class Exchange:
    """A request and the answer it got. event_id is the request id the handler logs and returns (X-Request-Id), so a
    record, its log line and its response link; inference_id is the caller's own id (SageMaker's InferenceId), if
    sent; model is a multi-model endpoint's target model (None on a single-model endpoint)."""

    event_id: str
    inference_time: float  # seconds since the epoch
    request: Body
    response: Body
    inference_id: str | None = None
    model: str | None = None

    @property
    def cut(self) -> bool:
        return self.request.cut or self.response.cut

    @property
    def size(self) -> int:
        return len(self.request.data) + len(self.response.data)


def body(data: bytes | bytearray | str, content_type: str | None) -> Body:
    return Body(data.encode("utf-8") if isinstance(data, str) else data, content_type or "")


def cut_to(exchange: Exchange, limit: int) -> Exchange:
    """The exchange with its bodies cut to `limit` bytes together (the metadata always kept): each body keeps at least
    half of the limit, and the other half goes to whichever needs it. Only slices are copied, never a whole body."""
    request, response = exchange.request, exchange.response
    if len(request.data) + len(response.data) <= limit:
        return exchange
    half = limit // 2
    request_room = max(half, limit - len(response.data))
    response_room = limit - min(len(request.data), request_room)
    return Exchange(
        exchange.event_id,
        exchange.inference_time,
        _cut(request, request_room),
        _cut(response, response_room),
        exchange.inference_id,
        exchange.model,
    )


def _cut(whole: Body, room: int) -> Body:
    if len(whole.data) <= room:
        return whole
    return Body(whole.data[:room], whole.content_type, len(whole.data))
