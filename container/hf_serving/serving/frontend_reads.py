"""How a worker reads multi-model-server's messages from its frontend: in a few large reads, not one per field.

MMS 1.1.11's worker parses each message from the socket field by field (mms/protocol/otf_message_handler.py): every
integer and every string is its own `recv`, so a request with a dozen headers costs about fifty system calls, each of
which also lets go of the GIL and takes it back. At a thousand requests a second that was about a fifth of the
worker's time (py-spy's samples of a worker serving a tiny model at concurrency 16), spent before the model sees
anything; bench/results/host-cost-zen5.md measures the worker's CPU per request before and after. The frontend writes
a whole message at once and waits for the answer, so reading whatever has arrived into a buffer, and handing each
field out of it, reads the same bytes in one or two calls.

`install()` replaces the module's one reading function, `_retrieve_buffer(conn, length)`, through which every other
reader of that module goes (the command byte, integers, strings, load and inference messages alike). It is done only
on the version it was written against and when that function is the one it knows; otherwise MMS reads as it always
did. A connection's bytes are kept per socket object (weakly: a closed connection's buffer goes with it), and only
this process reads its socket, so nothing read ahead is lost: the next field is taken from the buffer first.
"""

from __future__ import annotations

import logging
import socket
import weakref
from typing import Any

MMS_VERSION = "1.1.11"  # the reader below was written against this version's framing
READ_SIZE = 64 * 1024  # what one recv asks for at least: a whole message of headers and a modest body

log = logging.getLogger(__name__)

_buffers: weakref.WeakKeyDictionary[socket.socket, bytearray] = weakref.WeakKeyDictionary()
_last: list = [None, None]  # the connection read last and its buffer: a worker reads one connection (weakly held)


def read_exactly(conn: socket.socket, length: int) -> bytearray:
    """`length` bytes of the connection, from what was read before and then from the socket, as MMS's own reader
    returns them (a bytearray); the frontend closing the connection raises ValueError, as there."""
    last, buffer = _last
    if last is None or last() is not conn:
        buffer = _buffers.get(conn)
        if buffer is None:
            buffer = _buffers[conn] = bytearray()
        _last[:] = [weakref.ref(conn), buffer]
    while len(buffer) < length:
        chunk = conn.recv(max(READ_SIZE, length - len(buffer)))
        if not chunk:
            logging.info("Frontend disconnected.")
            raise ValueError("Frontend disconnected")
        buffer += chunk
    data = buffer[:length]
    del buffer[:length]
    return data


def install(module: Any = None) -> bool:
    """Make MMS's message parser read through `read_exactly`; False (and MMS left as it is) where this is not the
    MMS version, or not the function, it was written for. `module`: MMS's message module (a test gives a copy)."""
    if module is None:
        try:
            import mms
            from mms.protocol import otf_message_handler
        except ImportError:  # not in an MMS worker (a test driving the handler alone)
            return False
        if getattr(mms, "__version__", None) != MMS_VERSION:
            log.warning("multi-model-server %s: its own socket reads are kept", getattr(mms, "__version__", "?"))
            return False
        module = otf_message_handler
    current = getattr(module, "_retrieve_buffer", None)
    if current is read_exactly:
        return True
    code = getattr(current, "__code__", None)
    if code is None or code.co_varnames[:2] != ("conn", "length") or "recv" not in code.co_names:
        log.warning("multi-model-server's socket reader is not the one expected: its own reads are kept")
        return False
    module._retrieve_buffer = read_exactly
    return True
