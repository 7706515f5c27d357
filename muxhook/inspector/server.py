"""``InspectorServer``: the inspector on its own loopback port, on a running asyncio loop.

uvicorn serves the application; its socket is bound here first, so a busy port is one
clear line. ``start`` runs uvicorn's start-up and its tick loop as a task on the loop
already running (``listen``'s), without uvicorn's signal handling, which belongs to
the listener; ``stop`` ends every open stream and shuts the server down. ``notify``
is how ``listen`` says an event was recorded or forwarded: it costs nothing while no
page is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
import typing
from pathlib import Path

from muxhook.errors import EnvironmentProblem, UsageError

if typing.TYPE_CHECKING:
    from muxhook.inspector.actions import Actions

__all__ = ["DEFAULT_PORT", "LOOPBACK", "InspectorServer", "bind", "check_host"]

#: listen's inspector port when none is given: beside listen's own 8700, and in no common
#: tool's way (ngrok 4040, dev servers 3000/5000/8000/8080, wrangler 8787).
DEFAULT_PORT = 8701
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Seconds a stop waits for open pages' connections before it closes them.
STOP_GRACE = 2


def check_host(host: str, *, allow_remote: bool) -> bool:
    """Whether ``host`` is loopback; a UsageError for another unless ``allow_remote``."""
    if host in LOOPBACK:
        return True
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return True
    if not allow_remote:
        raise UsageError(
            f"--host {host}: the inspector shows every payload and can send events; it "
            "listens on loopback only unless you also pass --allow-remote"
        )
    return False


def bind(host: str, port: int, *, fallback: bool = False, option: str = "--port") -> socket.socket:
    """Bind the inspector's socket; with ``fallback``, a busy port gives way to a free one.
    A busy port asked for is one line naming ``option``."""
    from muxhook.listener import bind as bind_socket

    try:
        return bind_socket(host, port)
    except EnvironmentProblem as problem:
        if fallback and port != 0:
            return bind_socket(host, 0)
        if "in use" in str(problem):
            raise EnvironmentProblem(
                f"the inspector's port {port} on {host} is in use; pass {option} "
                "(0 for any free port)"
            ) from None
        raise


def _quiet_server() -> type[typing.Any]:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn's server without its signal handlers: the process's signals belong to
        ``listen`` (or to ``inspect``'s own loop), which stops the inspector itself."""

        @contextlib.contextmanager
        def capture_signals(self) -> typing.Iterator[None]:
            yield

    return QuietServer


class InspectorServer:
    """The inspector, served by uvicorn on the running loop.

    Args:
        log_path: the event log to show.
        actions: what sends and saves (Replay, Edit & replay, curl, fixtures).
        sock: a bound socket (``bind``); the server serves on it.
        mode: ``listen`` or ``inspect``, as the page says.
    """

    def __init__(
        self, log_path: Path, actions: Actions, sock: socket.socket, *, mode: str = "inspect"
    ) -> None:
        from muxhook.inspector.app import LiveFeed

        self.log_path = log_path
        self.actions = actions
        self.sock = sock
        self.mode = mode
        self.token = secrets.token_urlsafe(24)
        self.host, self.port = sock.getsockname()[:2]
        self.feed = LiveFeed()
        self._server: typing.Any = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The page's address with the per-run token, as printed at start."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def hosts(self) -> frozenset[str]:
        """The ``Host`` header values the server answers: loopback names with its port, and
        the address it was told to listen on."""
        names = {"127.0.0.1", "localhost", "[::1]"}
        if self.host not in ("0.0.0.0", "::"):  # noqa: S104
            names.add(f"[{self.host}]" if ":" in self.host else self.host)
        return frozenset(f"{name}:{self.port}" for name in names)

    async def start(self) -> str:
        """Start serving on the running loop; returns the URL to open."""
        import uvicorn

        from muxhook.inspector.app import Settings, build_app

        quiet_server = _quiet_server()
        settings = Settings(self.log_path, self.actions, self.token, self.mode, self.hosts())
        config = uvicorn.Config(
            build_app(settings, self.feed),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            http="h11",  # a page's few requests: the pure-Python parser is plenty
            timeout_graceful_shutdown=STOP_GRACE,
            server_header=False,
            proxy_headers=False,  # nothing sits in front of it: the peer is the peer
        )
        self._server = quiet_server(config)
        self._serving = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[self.sock])
        )
        while not self._server.started:  # bounded: start-up either finishes or fails
            if self._serving.done():
                self._serving.result()  # raises what stopped it
                raise EnvironmentProblem("the inspector stopped while starting")
            await asyncio.sleep(0.005)
        return self.url

    def notify(self, event_id: int | None = None) -> None:
        """An event was recorded or changed: open pages look at the log now."""
        self.feed.notify()

    async def stop(self) -> None:
        """End every open stream and stop serving; calling it again does nothing."""
        if self._server is None:
            return
        server, self._server = self._server, None
        self.feed.stop()
        server.should_exit = True
        if self._serving is not None:
            await self._serving

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set (``muxhook inspect``)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
