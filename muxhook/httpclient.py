"""A small keep-alive HTTP/1.1 client for the forwarding hot path.

Why not a general client: forwarding is one POST of known bytes per event, and the
per-request cost of aiohttp's client, and more so of httpx's async transport, was most
of what the listener spent per event. This client writes the request in one call and
parses the answer with httptools, the listener's own parser, at a fraction of that cost
(``benchmarks/listen.py`` measures the whole path). It pools connections per origin,
speaks TLS when the URL is https, and never follows redirects.

What makes it right is tested against real app servers (``tests/conformance``): interim
answers (``100 Continue``, ``103 Early Hints``) are read past, and the final answer is
the one returned; a connection goes back to the pool only once that final answer has
been read to its end; a body that ends before its declared end is no answer.
"""

from __future__ import annotations

import asyncio
import select
import typing
from collections import defaultdict, deque
from urllib.parse import urlsplit

import httptools

__all__ = ["HEADERS_KEEP", "HEADER_VALUE_KEEP", "ConnectionFailed", "Http1Pool", "Response"]


class ConnectionFailed(Exception):
    """No HTTP answer: the connection was refused, reset or closed early."""


class Response(typing.NamedTuple):
    """The status, the first ``keep`` bytes of the body, and the headers (at most
    ``HEADERS_KEEP`` of them, each value cut to ``HEADER_VALUE_KEEP`` characters)."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


#: Headers of the app's answer kept: enough to show what it said, never a page of cookies.
HEADERS_KEEP = 32
HEADER_VALUE_KEEP = 256


class _Origin(typing.NamedTuple):
    scheme: str
    host: str
    port: int


class _Connection(asyncio.Protocol):
    """One connection; one request at a time (no pipelining)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[Response] | None = None
        self.chunks: list[bytes] = []
        self.kept = 0
        self.headers: list[tuple[str, str]] = []  # of the answer being read
        self.reusable = True
        self.headers_done = False  # of the final answer
        self.closed = False
        # The answer being read: an interim one (1xx), and how its body ends.
        self.interim = False
        self.declared: int | None = None  # its Content-Length
        self.chunked = False
        self.size = 0  # body bytes read

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # 101 Switching Protocols, to a POST that offered no upgrade.
            self._give_up("your app answered 101 Switching Protocols to a plain POST")
        except httptools.HttpParserError as error:
            self._give_up(f"the app sent a malformed HTTP answer ({error})")

    def _give_up(self, reason: str) -> None:
        self._fail(ConnectionFailed(reason))
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self.headers_done and self.answer is not None and not self.answer.done():
            if self.declared is None and not self.chunked:
                # An answer with neither a length nor chunks ends with the connection.
                status = self.parser.get_status_code()
                self.answer.set_result(Response(status, b"".join(self.chunks), tuple(self.headers)))
                return
            # It said where its body ends, and the connection closed before that.
            if self.chunked:
                where = f"in the middle of its chunked body ({self.size} bytes)"
            else:
                where = f"after {self.size} of {self.declared} body bytes"
            self._fail(
                ConnectionFailed(f"incomplete answer from your app: the connection closed {where}")
            )
            return
        reason = str(exc) if exc else "the app closed the connection without answering"
        self._fail(ConnectionFailed(reason))

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.answer is None or self.answer.done():
            self.reusable = False  # an answer nobody asked for: the connection is out of step
        self.interim = self.chunked = False
        self.declared = None
        self.size = 0
        self.headers = []  # an interim answer's headers are not the final one's

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) < HEADERS_KEEP:
            text = value[:HEADER_VALUE_KEEP].decode("latin-1")
            self.headers.append((name.decode("latin-1"), text))
        # How the body ends; should_keep_alive() reads Connection: close.
        if len(name) == 14 and name.lower() == b"content-length" and value.isdigit():
            self.declared = int(value)
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            self.chunked = b"chunked" in value.lower()

    def on_headers_complete(self) -> None:
        if self.parser.get_status_code() < 200:
            # 100 Continue, 103 Early Hints: an interim answer, the final one follows. (101
            # stops the parser: data_received refuses it.)
            self.interim = True
        else:
            self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.kept < self.keep:
            piece = body[: self.keep - self.kept]
            self.chunks.append(piece)
            self.kept += len(piece)

    def on_message_complete(self) -> None:
        if self.interim:
            return  # read past it: the answer is still to come
        if not self.parser.should_keep_alive():
            self.reusable = False
        if self.answer is not None and not self.answer.done():
            # Resolved only now, once the final answer has been read to its end: the pool
            # takes the connection back from here on.
            status = self.parser.get_status_code()
            self.answer.set_result(Response(status, b"".join(self.chunks), tuple(self.headers)))

    # requests
    async def send(self, payload: bytes, deadline: float | None) -> Response:
        """Write one request and wait for its answer until ``deadline`` (loop time)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.answer = loop.create_future()
        self.chunks, self.kept, self.headers_done = [], 0, False
        self.parser = httptools.HttpResponseParser(self)
        self.transport.write(payload)
        # A timer rather than asyncio.wait_for, which costs a task per request.
        timer = None if deadline is None else loop.call_at(deadline, self._expire)
        try:
            return await self.answer
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(self) -> None:
        self._fail(TimeoutError())
        self.reusable = False  # its answer may still arrive: the connection is spent

    def usable(self) -> bool:
        """Open, and with nothing to read: an idle connection that has turned readable was
        closed by the app (or got bytes nobody asked for), even if the loop has not seen it
        yet. One poll of the socket, not a turn of the loop."""
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        sock = self.transport.get_extra_info("socket")
        return sock is None or not _readable(sock.fileno())

    def _fail(self, error: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


class Http1Pool:
    """Pooled HTTP/1.1 connections per origin (scheme, host, port)."""

    def __init__(self, *, keep: int = 2048, insecure: bool = False, per_origin: int = 64) -> None:
        self.keep = keep
        self.per_origin = per_origin
        self._idle: defaultdict[_Origin, deque[_Connection]] = defaultdict(deque)
        self._tls: typing.Any = None  # an ssl.SSLContext, made on the first https request
        self._places: dict[str, tuple[_Origin, str, str]] = {}  # url → where it points
        self.insecure = insecure

    def _context(self) -> typing.Any:
        import ssl  # slow to import: only for https

        if self._tls is None:
            context = ssl.create_default_context()
            if self.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    async def post(
        self,
        url: str,
        body: bytes,
        headers: list[tuple[str, str]],
        *,
        timeout: float | None = None,
    ) -> Response:
        """POST ``body``; raises ConnectionFailed when there is no HTTP answer, and
        TimeoutError when none came within ``timeout`` seconds (connecting included)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        place = self._places.get(url)
        if place is None:
            if len(self._places) >= 256:  # a handful of targets in practice; never unbounded
                self._places.clear()
            place = self._places[url] = _place(url)
        origin, target, host = place
        payload = _request(target, host, headers, body)
        idle = self._idle[origin]
        while idle:
            connection = idle.pop()
            # A stale connection is never used: once a request is written it is never sent
            # again here, as the app may have read it, and a silent second copy would be a
            # duplicate delivery that the log does not show. A failure is an attempt of its own.
            if connection.usable():
                return await self._finish(origin, connection, payload, deadline)
            connection.close()
        connection = await self._open(origin, deadline)
        return await self._finish(origin, connection, payload, deadline)

    async def _open(self, origin: _Origin, deadline: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(
            lambda: _Connection(self.keep),
            origin.host,
            origin.port,
            ssl=self._context() if origin.scheme == "https" else None,
        )
        try:
            if deadline is None:
                _, connection = await connecting
            else:  # new connections only: the task asyncio.wait_for costs is paid rarely
                _, connection = await asyncio.wait_for(connecting, deadline - loop.time())
        except OSError as error:
            if type(error).__name__.startswith("SSL"):
                reason = getattr(error, "reason", None) or error
                raise ConnectionFailed(f"TLS failed ({reason})") from None
            raise ConnectionFailed(error.strerror or str(error)) from None
        return connection

    async def _finish(
        self, origin: _Origin, connection: _Connection, payload: bytes, deadline: float | None
    ) -> Response:
        try:
            response = await connection.send(payload, deadline)
        except BaseException:
            connection.close()
            raise
        idle = self._idle[origin]
        if connection.reusable and not connection.closed and len(idle) < self.per_origin:
            idle.append(connection)
        else:
            connection.close()
        return response

    async def close(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        await asyncio.sleep(0)  # let the transports finish closing


def _place(url: str) -> tuple[_Origin, str, str]:
    """Where a URL points: its origin, request target and Host header."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    origin = _Origin(
        parts.scheme, parts.hostname or "localhost", parts.port or (443 if secure else 80)
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return origin, target, parts.netloc.rsplit("@", 1)[-1]


def _readable(fd: int) -> bool:
    """Whether reading ``fd`` would not block right now (data, or the peer's close)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # Windows: no poll(), and no fd limit
    return bool(readable)


def _request(target: str, host: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1", "replace") + body
