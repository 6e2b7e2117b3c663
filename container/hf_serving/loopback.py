"""The launcher's internal HTTP servers (the models API, the workers' metrics): threaded, on 127.0.0.1 only, behind
nginx, which alone listens publicly. One thread per request: a slow one (a model load) holds up no other."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self.name = name
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name=self.name, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
