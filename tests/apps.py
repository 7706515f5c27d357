"""Real local HTTP apps for the tests: each listens on 127.0.0.1, port 0, in a thread."""

from __future__ import annotations

import dataclasses
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@dataclasses.dataclass
class Received:
    """One request as the app saw it: exact body bytes and headers."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        """A header's value, looked up without regard to case, as HTTP does."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


#: A handler decides the answer: (request) -> (status, body).
Responder = Callable[[Received], tuple[int, bytes]]


def ok(_: Received) -> tuple[int, bytes]:
    return 200, b'{"received":true}'


class RecordingApp:
    """A webhook receiver that records every request and answers through ``responder``."""

    def __init__(self, responder: Responder = ok, delay: float = 0.0) -> None:
        self.responder = responder
        self.delay = delay
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.url = ""
        self.port = 0

    def handle(self, request: Received) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        return self.responder(request)


def _handler_for(app: RecordingApp) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm and
            # the client's delayed ACK hold the second for 40 ms on a kept-alive connection.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = Received(
                self.command, self.path, dict(self.headers.items()), body, time.monotonic()
            )
            status, answer = app.handle(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(app: RecordingApp, port: int = 0) -> Iterator[RecordingApp]:
    """Run ``app`` on 127.0.0.1 (an ephemeral port unless given) until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler_for(app))
    server.daemon_threads = True
    app.port = server.server_address[1]
    app.url = f"http://127.0.0.1:{app.port}/webhooks/mux"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A port nothing listens on (bound then released), for connection-refused cases."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
