"""Internal loopback ports: free ones, inside SAGEMAKER_SAFE_PORT_RANGE when the platform sets it."""

from __future__ import annotations

import random
import socket

from hf_serving.errors import ConfigurationError
from hf_serving.settings import PortRange

# multi-model-server refuses ports >= 32767 (its Connector), so Linux's ephemeral range is out.
DEFAULT_RANGE = PortRange(20000, 32766)


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(count: int, safe_range: PortRange | None, exclude: set[int]) -> list[int]:
    """`count` distinct free ports in the range, never one in `exclude` (the public port).

    The scan starts at a random place so that stacks started side by side rarely race for a port.
    """
    span = safe_range or DEFAULT_RANGE
    size = span.high - span.low + 1
    start = random.randrange(size)
    chosen: list[int] = []
    for offset in range(size):
        port = span.low + (start + offset) % size
        if port > DEFAULT_RANGE.high:
            continue
        if port not in exclude and is_free(port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise ConfigurationError(
        f"no {count} free ports below 32767 in {span.low}-{span.high} for the internal "
        f"servers (SAGEMAKER_SAFE_PORT_RANGE sets the range)"
    )
