"""What multi-model-server starts as "python" on a multi-model endpoint: it has the zygote fork the process instead.

Run as `python -S zygote_client.py <mms's model_service_worker.py> <its arguments>` (the launcher writes a wrapper
that MMS takes for its Python, launcher/zygote.py), with the standard library only, so that it starts in
milliseconds. It sends the zygote its arguments, working directory, environment and standard streams, then stands
in for the forked process: Java's signals go to it, and its exit status becomes this process's. When this process
dies, even by SIGKILL, the forked process sees its connection close and ends itself (zygote.py).
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import sys
import time

CONNECT_DEADLINE_S = 120.0  # the zygote imports torch and transformers once, at the container's start


def _connect(path: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_DEADLINE_S
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> int:
    # Set by the launcher's wrapper (zygote.wrapper_script), not by a user: plumbing, read without settings.py, which
    # this process, on the standard library alone, does not import. Its whole environment goes to the zygote.
    path = os.environ["HF_SERVING_ZYGOTE_SOCKET"]
    sock = _connect(path)
    request = json.dumps(
        {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ), "client_pid": os.getpid()}
    ).encode()
    streams = array.array("i", [0, 1, 2])
    sock.sendmsg([struct.pack("!I", len(request)), request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, streams)])
    replies = sock.makefile("r")
    first = replies.readline().split()
    if len(first) != 2 or first[0] != "pid":
        print("the zygote did not start the model server's worker", file=sys.stderr)
        return 1
    child = int(first[1])

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    last = replies.readline().split()
    if len(last) == 2 and last[0] == "exit":
        code = int(last[1])
        return code if code >= 0 else 128 - code
    forward(signal.SIGKILL, None)  # the zygote is gone: so is whoever would have reported on the process
    return 1


if __name__ == "__main__":
    sys.exit(main())
