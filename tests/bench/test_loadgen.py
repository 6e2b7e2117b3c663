"""The benchmark's closed-loop client, in one process and spread over several, against a local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.loadgen import run_closed_loop, run_closed_loop_processes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.connections: set[tuple[str, int]] = set()
        self.requests = 0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client expects

    def do_POST(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        self.rfile.read(int(self.headers["Content-Length"]))
        with server.lock:
            server.connections.add(self.client_address)
            server.requests += 1
        body = json.dumps({"answer": "Berlin"}).encode()
        self.send_response(server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(request):
    running = _Server(getattr(request, "param", 200))
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()
    running.server_close()


def valid(payload: object) -> bool:
    return payload == {"answer": "Berlin"}


def test_spread_over_processes_every_connection_answers_and_is_counted(server):
    result = run_closed_loop_processes(
        "127.0.0.1", server.server_address[1], "/invocations", b"{}", 6, 1.0, valid, processes=3
    )
    assert result.concurrency == 6 and result.errors == 0 and result.invalid == 0
    assert result.requests == server.requests > 6
    assert len(server.connections) == 6  # one keep-alive connection per closed-loop slot, whichever process
    assert 0.9 < result.seconds < 3.0
    assert result.rps == pytest.approx(result.requests / result.seconds)
    assert result.client_cpu_s > 0


@pytest.mark.parametrize("server", [500], indirect=True)
def test_errors_are_counted_with_samples_and_no_latency(server):
    result = run_closed_loop_processes(
        "127.0.0.1", server.server_address[1], "/invocations", b"{}", 4, 0.5, valid, processes=2
    )
    assert result.requests == 0 and result.errors > 0
    assert result.error_samples and result.error_samples[0].startswith("HTTP 500")


def test_one_process_is_the_plain_closed_loop(server):
    result = run_closed_loop_processes(
        "127.0.0.1", server.server_address[1], "/invocations", b"{}", 2, 0.5, valid, processes=1
    )
    plain = run_closed_loop("127.0.0.1", server.server_address[1], "/invocations", b"{}", 2, 0.5, valid)
    assert result.errors == plain.errors == 0 and result.requests > 0 and plain.requests > 0
    assert len(server.connections) == 4
