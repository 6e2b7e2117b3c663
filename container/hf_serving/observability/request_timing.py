"""One request's time by stage, as Server-Timing and for the stage histograms.

The stages (docs/operating/observability.md): `queue` from the moment nginx read the request (its X-Request-Start
header) until a worker starts it; `tokenise`, input_fn and the tokenizer; `inference`, the model passes and what turns
their outputs into answers; `encode`, output_fn. A request answered in a shared model pass counts that whole pass:
it waited for all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hf_serving.monitoring.outcomes import ItemOutcome

REQUEST_START = "X-Request-Start"  # "t=<seconds since the epoch>", set by nginx (docker/nginx.conf)
SERVER_TIMING = "Server-Timing"
_MAX_QUEUE_S = 3600.0  # a start further back, or in the future, is a clock that cannot be trusted: no queue stage


@dataclass
class RequestTiming:
    queue_s: float | None = None
    tokenise_s: float = 0.0
    inference_s: float = 0.0
    encode_s: float = 0.0
    tokens: int | None = None
    cached: list[bool] = field(default_factory=list)  # its items' response-cache lookups: found or not
    outcomes: list[ItemOutcome] = field(default_factory=list)  # what its items predicted, for monitoring

    def stages(self) -> dict[str, float]:
        stages = {"tokenise": self.tokenise_s, "inference": max(self.inference_s, 0.0), "encode": self.encode_s}
        return stages if self.queue_s is None else {"queue": self.queue_s, **stages}

    def server_timing(self) -> str:
        """The header's value, in milliseconds; nginx appends `total` (docker/nginx.conf)."""
        return ", ".join(f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in self.stages().items())


def queue_seconds(request_start: str | None, now: float) -> float | None:
    """Seconds since nginx read the request, from its `t=<epoch seconds>` header; None when absent or implausible."""
    if not request_start or not request_start.startswith("t="):
        return None
    try:
        waited = now - float(request_start[2:])
    except ValueError:
        return None
    return waited if 0.0 <= waited <= _MAX_QUEUE_S else None
