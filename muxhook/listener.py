"""The local HTTP listener: a small ASGI app on uvicorn (uvloop, httptools).

POST on any path goes through the pipeline; GET and HEAD on ``/`` answer a short
health reply, so tunnels and people can check it. Anything else is recorded when a
body arrived, and refused with the right status.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
import typing
from collections.abc import Awaitable, Callable, Iterator, MutableMapping

from muxhook.errors import EnvironmentProblem
from muxhook.store import Incoming

if typing.TYPE_CHECKING:
    from muxhook.pipeline import Pipeline

__all__ = ["WebhookApp", "bind", "run_server"]

Scope = MutableMapping[str, typing.Any]
Message = MutableMapping[str, typing.Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEALTH = b"muxhook is listening; POST webhooks to any path\n"


class WebhookApp:
    """The ASGI application: read the body (bounded), hand it to the pipeline, answer."""

    def __init__(
        self, pipeline: Pipeline, *, max_body: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.pipeline = pipeline
        self.max_body = max_body
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        method = scope["method"]
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        if method in ("GET", "HEAD"):
            if scope["path"] == "/":
                await _respond(send, 200, b"" if method == "HEAD" else HEALTH, "text/plain")
            else:
                await _respond(send, 404, b"not found: POST webhooks; GET / is the health check\n")
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        client = scope.get("client") or ("", 0)
        body, problem = await self._read_body(receive, headers)
        incoming = Incoming(self.clock(), method, path, headers, body, f"{client[0]}:{client[1]}")
        if problem is None and method != "POST":
            problem = 405, f"method {method} not allowed: webhooks are POSTed"
        if problem is not None:
            status, reason = problem
            await self.pipeline.reject(incoming, status, reason)
            if status != 499:
                await _respond(send, status, (reason + "\n").encode())
            return
        answer = await self.pipeline.handle(incoming)
        await _respond(send, answer.status, answer.body)

    async def _read_body(
        self, receive: Receive, headers: list[tuple[str, str]]
    ) -> tuple[bytes, tuple[int, str] | None]:
        declared = next((v for k, v in headers if k.lower() == "content-length"), None)
        if declared and declared.isdigit() and int(declared) > self.max_body:
            return b"", (413, _too_large(int(declared), self.max_body))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), (499, f"the sender disconnected after {size} bytes")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"".join(chunks), (413, _too_large(size, self.max_body))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None


def _too_large(size: int, limit: int) -> str:
    return f"body of {size} bytes is over the {limit}-byte limit (raise it with --max-body)"


async def _respond(
    send: Send, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    if not body.startswith((b"{", b"[")) and content_type == "application/json":
        content_type = "text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so a busy port is one clear line, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise EnvironmentProblem(
                f"port {port} on {host} is in use (another muxhook listen?); pass --port"
            ) from None
        raise EnvironmentProblem(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def run_server(
    app: WebhookApp,
    sock: socket.socket,
    *,
    on_started: Callable[[], None],
    grace: float,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or ``stop``); in-flight requests get ``grace`` seconds."""
    import uvicorn

    config = uvicorn.Config(
        app,
        lifespan="off",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,  # no proxy in front: the client address is the peer's
        timeout_graceful_shutdown=int(grace) + 1,
        timeout_keep_alive=30,
    )

    class Server(uvicorn.Server):
        # muxhook handles SIGINT/SIGTERM itself, to drain and summarise before exiting;
        # uvicorn's own handlers would re-raise the signal once it stops.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        def install_signal_handlers(self) -> None:  # uvicorn before 0.29
            pass

    server = Server(config)
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        if server.should_exit:
            server.force_exit = True  # a second Ctrl-C: stop waiting for in-flight requests
        server.should_exit = True

    if sys.platform != "win32":
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop)

    async def started_then_watch() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        on_started()
        if stop is not None:
            await stop.wait()
            request_stop()

    watcher = asyncio.create_task(started_then_watch())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        if sys.platform != "win32":
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
