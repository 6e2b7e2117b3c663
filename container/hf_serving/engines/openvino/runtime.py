"""Importing OpenVINO, always without its telemetry: every module of ours that uses OpenVINO imports it here.

OpenVINO's model conversion sends usage telemetry to Google Analytics unless a consent file in $HOME says no,
forking a process per event (seen here: 30 forks of the worker while one model converted, each briefly
doubling its resident memory). A server must not phone home. `import openvino` itself imports
openvino_telemetry, so the block must come before the first import of openvino anywhere in the process: a
bare `import openvino` elsewhere (seen: a version string read before any model loaded) would let it in.
"""

from __future__ import annotations

import sys
from types import ModuleType


def block_telemetry() -> None:
    """Make openvino_telemetry unimportable in this process, so that OpenVINO takes its own no-op stub
    (openvino.tools.ovc.telemetry_stub). Too late if it is already imported; load() is the only way in."""
    if "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # import raises ImportError


def load() -> ModuleType:
    """The openvino package, its telemetry blocked. Raises ImportError where it is not installed."""
    block_telemetry()
    import openvino

    return openvino


def available() -> bool:
    try:
        load()
    except ImportError:
        return False
    return True


def installed() -> bool:
    """Whether the package is there, without importing it (the launcher stays light)."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None
