"""A flood of clients with no back-off: N keep-alive connections, each sending its next request the moment the last
answer arrived, whatever its status (a retrying load balancer, a client bug). One process, one event loop.

    python -m reliability.flood --port 8080 --body-file q.json --connections 296 --seconds 30 --start-at <unix time> \
        --out flood.json

It waits until --start-at, so that the caller can first move it into a CPU-limited cgroup (reliability/overload.py
says why). Writes counts and latencies by status to --out.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import time
from pathlib import Path


def request_bytes(port: int, body: bytes) -> bytes:
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    def __init__(self, port: int, request: bytes) -> None:
        self.port, self.request = port, request
        self.socket: socket.socket | None = None
        self.buffer = b""
        self.sent_at = 0.0

    def open(self) -> socket.socket:
        self.socket = socket.create_connection(("127.0.0.1", self.port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.setblocking(False)
        return self.socket

    def send(self) -> None:
        assert self.socket is not None
        self.buffer = b""
        self.sent_at = time.perf_counter()
        self.socket.sendall(self.request)  # small: fits the socket buffer

    def complete_response(self) -> tuple[int, bool] | None:
        """(status, keep-alive) once a whole response is buffered, else None."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buffer[:end].decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n")[1:]:
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if len(self.buffer) < end + 4 + length:
            return None
        return int(head.split(" ", 2)[1]), "connection: close" not in head


def run(port: int, body: bytes, connections: int, seconds: float, start_at: float) -> dict:
    request = request_bytes(port, body)
    while time.time() < start_at:
        time.sleep(min(0.01, start_at - time.time()))
    selector = selectors.DefaultSelector()
    latencies: dict[int, list[float]] = {}
    finished: dict[int, list[float]] = {}  # when each answer arrived, seconds from the start
    reconnects = 0
    begin = time.perf_counter()
    deadline = begin + seconds
    pool = [Connection(port, request) for _ in range(connections)]
    for connection in pool:
        selector.register(connection.open(), selectors.EVENT_READ, connection)
        connection.send()
    while pool:
        for key, _ in selector.select(timeout=1.0):
            connection = key.data
            try:
                chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
            except OSError:
                chunk = b""
            done = None
            if chunk:
                connection.buffer += chunk
                done = connection.complete_response()
                if done is None:
                    continue
                status, now = done[0], time.perf_counter()
                latencies.setdefault(status, []).append(now - connection.sent_at)
                finished.setdefault(status, []).append(now - begin)
            if not chunk or not done or not done[1]:  # closed by the server: reconnect, as a client would
                selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]
                if not chunk:
                    latencies.setdefault(-1, []).append(time.perf_counter() - connection.sent_at)
                reconnects += 1
                if time.perf_counter() < deadline:
                    selector.register(connection.open(), selectors.EVENT_READ, connection)
                else:
                    pool.remove(connection)
                    continue
            if time.perf_counter() < deadline:
                connection.send()
            else:
                selector.unregister(connection.socket)
                connection.socket.close()  # type: ignore[union-attr]
                pool.remove(connection)
    return {
        "seconds": seconds,
        "connections": connections,
        "reconnects": reconnects,
        "latencies_s": {str(status): values for status, values in latencies.items()},
        "finished_s": {str(status): values for status, values in finished.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=296)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    outcome = run(args.port, args.body_file.read_bytes(), args.connections, args.seconds, args.start_at)
    args.out.write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
