"""A multi-model endpoint's model processes, forked from one Python that has already imported torch and
transformers (`python -m hf_serving zygote <socket>`, started by the launcher beside the model server).

multi-model-server starts each model's worker listener as a new Python, which then imports torch, transformers and
tokenizers: ~180 MB of private memory and ~5 s on a small CPU, for every model. Forked from the zygote instead, a
model's process shares those pages with the zygote and with every other model (copy-on-write; gc.freeze() keeps
the garbage collector from writing to them), and starts at once. MMS is none the wiser: the Python it runs is a
wrapper around zygote_client.py, which has the zygote fork the listener, passes it its streams, and stands in for
it (signals forwarded, exit status returned).

The zygote is one thread, so that forking it is safe. Each forked process watches its client's connection and ends
itself when the client dies (Java kills the client to kill a worker). The zygote records which process stands for
which client (a file per client, `<directory>/<client pid>` holding the forked pid), so that the launcher can find
a model's processes (launcher/model_server_models.py).
"""

from __future__ import annotations

import array
import gc
import importlib
import json
import logging
import os
import runpy
import select
import signal
import socket
import struct
import sys
import threading
from pathlib import Path

log = logging.getLogger("hf_serving.zygote")

CLIENT_SCRIPT = Path(__file__).with_name("zygote_client.py")
# What every model process needs, imported once here. Architectures' modules are imported lazily by transformers:
# the common encoders' are imported here too.
PRELOAD = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors.torch",
    "transformers.models.distilbert.modeling_distilbert",
    "transformers.models.bert.modeling_bert",
    "transformers.models.roberta.modeling_roberta",
    "transformers.models.xlm_roberta.modeling_xlm_roberta",
    "transformers.models.mpnet.modeling_mpnet",
    "transformers.models.deberta_v2.modeling_deberta_v2",
    "hf_serving.serving.handler_service",
    "hf_serving.serving.default_hooks",
    "hf_serving.loading.loader",
    "hf_serving.tasks.registry",
    "hf_serving.engines.torch_engine",
    "mms.service",
    "mms.model_loader",
    "mms.arg_parser",
    "mms.protocol.otf_message_handler",
    "mms.context",
)
MAX_REQUEST_BYTES = 4 * 1024 * 1024
POLL_S = 0.2


def wrapper_script(runtime_dir: Path, socket_path: Path) -> Path:
    """The executable MMS is given as its Python (`--python`): it runs the client with the same interpreter."""
    path = runtime_dir / "python-from-zygote"
    path.write_text(
        f"#!/bin/sh\nHF_SERVING_ZYGOTE_SOCKET='{socket_path}' exec '{sys.executable}' -S '{CLIENT_SCRIPT}' \"$@\"\n"
    )
    path.chmod(0o755)
    return path


def preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a missing optional module only costs its import later
            log.info("zygote: %s not preloaded (%s)", name, type(exc).__name__)


def serve(socket_path: Path, children_dir: Path) -> None:
    preload()
    children_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    listener.listen(64)
    gc.freeze()  # everything imported so far is never collected: its pages stay shared with the children
    log.info("zygote ready on %s (pid %d)", socket_path, os.getpid())
    clients: dict[int, tuple[socket.socket, int]] = {}  # forked pid -> (its client's connection, the client's pid)
    while True:
        readable, _, _ = select.select([listener], [], [], POLL_S)
        if readable:
            _fork_one(listener, clients, children_dir)
        _reap(clients, children_dir)


def _fork_one(listener: socket.socket, clients: dict[int, tuple[socket.socket, int]], children_dir: Path) -> None:
    conn, _ = listener.accept()
    try:
        request, streams = _receive(conn)
    except (OSError, ValueError) as exc:
        log.warning("zygote: a bad request (%s)", exc)
        conn.close()
        return
    pid = os.fork()
    if pid == 0:
        _become(request, streams, conn, listener, [c for c, _ in clients.values()])
    for fd in streams:
        os.close(fd)
    client_pid = int(request.get("client_pid", 0))
    (children_dir / str(client_pid)).write_text(str(pid))
    clients[pid] = (conn, client_pid)
    try:
        conn.sendall(f"pid {pid}\n".encode())
    except OSError:
        os.kill(pid, signal.SIGKILL)  # its client is already gone


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    fds = array.array("i")
    header, ancillary, _, _ = conn.recvmsg(4, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    if len(header) != 4 or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("expected a length and three descriptors")
    (length,) = struct.unpack("!I", header)
    if length > MAX_REQUEST_BYTES:
        raise ValueError(f"a request of {length} bytes")
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise ValueError("the request ended early")
        body += chunk
    return json.loads(body), list(fds)


def _reap(clients: dict[int, tuple[socket.socket, int]], children_dir: Path) -> None:
    while clients:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn, client_pid = clients.pop(pid, (None, 0))
        (children_dir / str(client_pid)).unlink(missing_ok=True)
        if conn is not None:
            try:
                conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
            conn.close()


def _become(
    request: dict, streams: list[int], conn: socket.socket, listener: socket.socket, others: list[socket.socket]
) -> None:
    """In the forked process: become the program the client was asked to run, as `python <argv>` would."""
    code = 1
    try:
        listener.close()
        for other in others:
            other.close()
        for target, fd in enumerate(streams):
            os.dup2(fd, target)
            os.close(fd)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        # A fresh interpreter's logging: MMS's scripts configure their own, and Java reads their lines.
        logging.root.handlers.clear()
        logging.root.setLevel(logging.WARNING)
        os.chdir(request["cwd"])
        # The forked process takes on its client's environment whole, as the process MMS meant to start would have
        # had it (the launcher's, passed through MMS): not configuration read here, so not settings.py's.
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop("HF_SERVING_ZYGOTE_SOCKET", None)
        script, *arguments = request["argv"]
        sys.argv = [script, *arguments]
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.path[:0] = [str(Path(script).resolve().parent), *extra]
        threading.Thread(target=_end_with_client, args=(conn,), name="client-watch", daemon=True).start()
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # the forked process must never return into the zygote's loop
        logging.getLogger("hf_serving.zygote").exception("the forked process failed")
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _end_with_client(conn: socket.socket) -> None:
    """The client never writes after its request: a read returns only when it died."""
    try:
        conn.recv(1)
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    socket_path, children_dir = Path(argv[0]), Path(argv[1])
    serve(socket_path, children_dir)
    return 0
