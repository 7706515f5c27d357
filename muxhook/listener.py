"""The local HTTP listener: HTTP/1.1 on asyncio (uvloop) with httptools' parser.

POST on any path goes through the pipeline; GET and HEAD on ``/`` answer a short
health reply, so tunnels and people can check it. Anything else is recorded and
refused with the right status, and so are requests that do not parse: every byte
that arrives is in the log before anything is answered.

Why not uvicorn: an ASGI server builds a scope, message dictionaries and a task per
request, and answers malformed requests itself, before the app sees them. That layer
cost more per request than the rest of the answer (``benchmarks/listen.py``), and what
it refused could not be recorded. This module
does only what a webhook receiver needs: keep-alive, pipelining (answered in
order), chunked bodies, ``Expect: 100-continue``, a body limit decided from the
declared length, a deadline for each request's bytes and one for idle connections.
An offer to upgrade (``curl --http2`` offers h2c on http://) is declined by serving the
request as HTTP/1.1, body included, as Node, gunicorn and h11 do; chunked trailers are
kept apart from the headers; an absolute-form target is recorded as its path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import gc
import os
import signal
import socket
import sys
import time
import typing
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http import HTTPStatus

import httptools

from muxhook.errors import EnvironmentProblem
from muxhook.records import Incoming

if typing.TYPE_CHECKING:
    from muxhook.pipeline import Pipeline

__all__ = ["Listener", "bind"]

HEALTH = b"muxhook is listening; POST webhooks to any path\n"
#: A request's head (request line and headers) may not be larger than this.
MAX_HEAD = 1024 * 1024
#: Seconds from a request's first byte to its last; a sender slower than this is cut off.
REQUEST_TIMEOUT = 60.0
#: Seconds an idle kept-alive connection stays open (nginx's default).
IDLE_TIMEOUT = 75.0
#: How long a connection ended by an answer is read (and what comes dropped) before it is
#: closed, unless the sender closes first (see ``_Connection._linger``).
LINGER = 5.0
#: Complete requests queued on one connection before it is read no further.
MAX_QUEUED = 8
#: The signals that stop ``serve`` gracefully: Ctrl-C, a service manager, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if sys.platform != "win32" else ()


@contextlib.contextmanager
def _tuned_collector() -> Iterator[None]:
    """The cyclic garbage collector set for serving, and set back when serving ends.

    What was built before serving (the pipeline, the sender, the views, the inspector)
    lives as long as the listener: frozen, the collector no longer walks it. Young objects
    are collected less often, so that a burst of requests is not paused by collections
    (``benchmarks/listen.py`` measures the effect; the figures are in the README).
    """
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@dataclasses.dataclass
class _Request:
    """One request as it arrives; ``problem`` set means it is refused with that status."""

    received_at: float
    remote: str
    method: str = ""
    target: bytearray = dataclasses.field(default_factory=bytearray)
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    chunks: list[bytes] = dataclasses.field(default_factory=list)
    size: int = 0  # body bytes so far
    head_done: bool = False
    declared: int | None = None  # Content-Length
    expects_continue: bool = False
    offers_upgrade: bool = False  # an Upgrade header: its body may come after httptools stops
    # The framing of a body httptools skipped at an upgrade offer (see _decline_upgrade).
    framing_after_upgrade: str | None = None
    trailers: list[str] = dataclasses.field(default_factory=list)  # names, never merged
    keep_alive: bool = True
    problem: tuple[int, str] | None = None
    answered_early: bool = False  # refused before its body ended (the rest is dropped)

    def incoming(self) -> Incoming:
        target = self.target.decode("latin-1")
        body = b"".join(self.chunks)
        return Incoming(self.received_at, self.method, target, self.headers, body, self.remote)


@dataclasses.dataclass(eq=False)
class Listener:
    """Routes each request: health check, refusals, and webhooks into the pipeline."""

    pipeline: Pipeline
    _: dataclasses.KW_ONLY
    max_body: int
    clock: Callable[[], float] = time.time
    request_timeout: float = REQUEST_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    connections: set[_Connection] = dataclasses.field(default_factory=set, init=False)
    #: Tasks answering some connection's queue.
    workers: set[asyncio.Task[None]] = dataclasses.field(default_factory=set, init=False)

    async def answer(self, request: _Request) -> tuple[int, bytes, str]:
        """Record and handle one request; its status, body and content type."""
        method, target = request.method, request.target
        if method in ("GET", "HEAD") and request.problem is None:
            if target == b"/" or target.startswith(b"/?"):
                return 200, HEALTH, "text/plain; charset=utf-8"
            return 404, b"not found: POST webhooks; GET / is the health check\n", ""
        incoming = request.incoming()
        problem = request.problem
        if problem is None and method != "POST":
            problem = 405, f"method {method} not allowed: webhooks are POSTed"
        if problem is not None:
            status, reason = problem
            await self.pipeline.reject(incoming, status, reason)
            return status, (reason + "\n").encode(), ""
        answer = await self.pipeline.handle(incoming, trailers=tuple(request.trailers))
        return answer.status, answer.body, ""

    async def serve(
        self,
        sock: socket.socket,
        *,
        on_started: Callable[[], None],
        grace: float,
        stop: asyncio.Event | None = None,
        signals: bool = True,
        on_signal: Callable[[int], None] | None = None,
    ) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP (or ``stop``), then finish: the requests
        in hand and the pipeline's forwards get ``grace`` seconds in all.

        SIGHUP is a closed terminal: it stops listen as gracefully as Ctrl-C. A second
        signal stops waiting; what is cut off is in the log (``Pipeline.drain``).
        ``signals=False`` leaves the signals alone (a loop outside the main thread cannot
        handle them). ``on_signal`` hears each stop signal's number as it arrives.
        """
        signals = signals and sys.platform != "win32"
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        forced = asyncio.Event()

        def signalled(number: int) -> None:
            if on_signal is not None:
                on_signal(number)
            request_stop()

        def request_stop() -> None:
            if stopping.is_set():
                forced.set()
            stopping.set()

        with _tuned_collector():
            server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=2048)
            sweeper = loop.create_task(self._sweep())
            if signals:
                for sig in STOP_SIGNALS:
                    loop.add_signal_handler(sig, signalled, sig)

            def stop_set(task: asyncio.Task[bool]) -> None:
                if not task.cancelled():  # cancelled on the way out: not a second stop
                    request_stop()

            watcher = None
            if stop is not None:
                watcher = loop.create_task(stop.wait())
                watcher.add_done_callback(stop_set)
            try:
                on_started()
                await stopping.wait()
            finally:
                deadline = loop.time() + grace
                if watcher is not None:
                    watcher.cancel()
                sweeper.cancel()
                server.close()  # no new connections
                self.pipeline.stopping(grace)  # says what it waits for
                for connection in list(self.connections):
                    connection.close_when_idle()
                await self._finish(grace, forced)
                for connection in list(self.connections):
                    connection.abort()  # a request cut off here is recorded as such (499)
                await asyncio.sleep(0)
                await self._finish(grace, forced)  # recording those: none forwards
                # Background forwards (--ack immediate) get what is left of the grace; the
                # signals stay handled meanwhile, so a second one cuts them off too.
                await self.pipeline.drain(deadline - loop.time(), forced)
                if signals:
                    for sig in STOP_SIGNALS:
                        loop.remove_signal_handler(sig)

    async def _sweep(self) -> None:
        """Cut off connections past their deadline: a request too slow, or idle too long."""
        every = min(1.0, self.request_timeout / 4, self.idle_timeout / 4)
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for connection in list(self.connections):
                connection.expire(now)

    async def _finish(self, grace: float, forced: asyncio.Event) -> None:
        """Wait up to ``grace`` seconds for the requests in hand; a forced stop, or the end
        of the grace, cancels what is left (it is in the log already, its forward counted
        as failed until ``log replay --failed`` finishes it)."""
        if self.workers and not forced.is_set():
            everyone = asyncio.ensure_future(asyncio.wait(set(self.workers)))
            force = asyncio.ensure_future(forced.wait())
            await asyncio.wait(
                [everyone, force], timeout=grace, return_when=asyncio.FIRST_COMPLETED
            )
            everyone.cancel()  # stops waiting; the requests themselves go on
            force.cancel()
        if self.workers:
            await asyncio.sleep(0)  # a worker's first step queues its record: let it run
        for task in list(self.workers):
            task.cancel()


class _Connection(asyncio.Protocol):
    """One client connection: parse requests, queue them, answer them in order."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.remote = ""
        self.current: _Request | None = None  # being received
        self.queue: collections.deque[_Request] = collections.deque()
        self.worker: asyncio.Task[None] | None = None  # answering the queue
        self.deadline = 0.0  # monotonic time past which it is cut off (Listener._sweep)
        self.closing = False  # answer what is queued, then close
        self.paused = False
        self.broken = False  # the parser failed: nothing more is read
        self.lingering = False  # answered and half-closed: reading to drop, until LINGER
        self.head_bytes = 0  # read since the current head began
        self.stand_in = False  # parsing a stand-in head (see _decline_upgrade)

    # -- asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.remote = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""
        self.listener.connections.add(self)
        self._wait(self.listener.idle_timeout)

    def data_received(self, data: bytes) -> None:
        if self.broken:
            return
        if self.current is None or not self.current.head_done:
            # httptools holds a header in memory until it ends: bound the head here.
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD:
                request = self._current()
                request.problem = 431, f"the request's head is over {MAX_HEAD} bytes"
                self._give_up(request)
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self.parser.get_method() == b"CONNECT":  # a tunnel is not served
                self.broken = self.closing = True
                return
            self._decline_upgrade(data[upgrade.args[0] :])
        except httptools.HttpParserError as error:
            request = self._current()
            request.problem = 400, _not_http(data, error)
            self._give_up(request, unparsed=data)

    def _decline_upgrade(self, rest: bytes) -> None:
        """Serve a request that offered an upgrade (h2c, websocket) as HTTP/1.1.

        httptools ends such a request at its head, skipping its body, and stops. A new
        parser reads on; when a body is due, it is first given a stand-in head that
        declares the same framing, so the body that follows is read by httptools, not by
        hand, into the request held for it.
        """
        self.parser = httptools.HttpRequestParser(self)
        held = self.current
        if held is not None and held.framing_after_upgrade is not None:
            framing, held.framing_after_upgrade = held.framing_after_upgrade, None
            self.stand_in = True
            self.parser.feed_data(f"POST / HTTP/1.1\r\n{framing}\r\n\r\n".encode())
            self.stand_in = False
        if rest:
            self.data_received(rest)

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.connections.discard(self)
        request = self.current
        if request is not None and request.head_done and not request.answered_early:
            # Headers arrived, the rest never will: record what did, answer nobody.
            self.current = None
            request.problem = 499, f"the sender disconnected after {request.size} bytes"
            self._enqueue(request, answer=False)

    # -- httptools callbacks ------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.stand_in:
            return
        self.current = _Request(self.listener.clock(), self.remote)
        self._wait(self.listener.request_timeout)

    def on_url(self, url: bytes) -> None:
        if not self.stand_in:
            self._current().target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self._current()
        if request.head_done:
            # A chunked trailer (or the stand-in head's framing): never one of the request's
            # headers (RFC 9110 §6.5.1), so a signature sent only as a trailer counts for
            # nothing. Its name is kept for the diagnosis.
            if not self.stand_in:
                request.trailers.append(name.decode("latin-1"))
            return
        request.headers.append((name.decode("latin-1"), value.decode("latin-1")))
        if len(name) == 14 and name.lower() == b"content-length" and value.isdigit():
            request.declared = int(value)
        elif len(name) == 6 and name.lower() == b"expect":
            request.expects_continue = value.lower() == b"100-continue"
        elif len(name) == 7 and name.lower() == b"upgrade":
            request.offers_upgrade = True

    def on_headers_complete(self) -> None:
        if self.stand_in:
            return
        request = self._current()
        request.head_done = True
        self.head_bytes = 0
        request.method = self.parser.get_method().decode("latin-1")
        request.keep_alive = self.parser.should_keep_alive()
        if request.target[:1] != b"/":
            _to_origin_form(request)
        if request.offers_upgrade and self.parser.should_upgrade():
            chunked = any(
                name.lower() == "transfer-encoding" and "chunked" in value.lower()
                for name, value in request.headers
            )
            if chunked:
                request.framing_after_upgrade = "Transfer-Encoding: chunked"
            elif request.declared:
                request.framing_after_upgrade = f"Content-Length: {request.declared}"
        limit = self.listener.max_body
        if request.declared is not None and request.declared > limit:
            request.problem = 413, _too_large(request.declared, limit)
            # Refused from the head alone: answered at once, the body is read and dropped.
            self._refuse_early(request)
        elif request.expects_continue and not self.queue and self.worker is None:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        request = self._current()
        if request.answered_early:
            return
        request.size += len(body)
        if request.size > self.listener.max_body:
            request.problem = 413, _too_large(request.size, self.listener.max_body)
            self._refuse_early(request)
            return
        request.chunks.append(body)

    def on_message_complete(self) -> None:
        request = self._current()
        if request.framing_after_upgrade is not None:
            return  # httptools skipped its body: it is read once the upgrade is declined
        self.current = None
        self._wait(self.listener.idle_timeout)
        if not request.keep_alive:
            self.closing = True
        if not request.answered_early:
            self._enqueue(request)
        else:
            self._close_if_done()

    # -- answering, in order --------------------------------------------------------

    def _enqueue(self, request: _Request, *, answer: bool = True) -> None:
        if not answer:
            request.keep_alive = False
        self.queue.append(request)
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self._work())
            self.listener.workers.add(self.worker)
            self.worker.add_done_callback(self.listener.workers.discard)
        transport = self.transport
        if len(self.queue) >= MAX_QUEUED and not self.paused and transport is not None:
            if not transport.is_closing():
                self.paused = True
                transport.pause_reading()  # a pipelining flood waits in the kernel

    async def _work(self) -> None:
        """Answer queued requests one at a time, in the order they arrived."""
        try:
            while self.queue:
                request = self.queue.popleft()
                if self.paused and len(self.queue) < MAX_QUEUED // 2:
                    self.paused = False
                    if self.transport is not None and not self.transport.is_closing():
                        self.transport.resume_reading()
                try:
                    status, body, content_type = await self.listener.answer(request)
                except Exception as error:  # a bug of muxhook's: the sender will retry
                    status, content_type = 500, ""
                    body = f"muxhook failed on this request: {type(error).__name__}\n".encode()
                if request.problem is not None and request.problem[0] == 499:
                    continue  # the sender has gone
                if request.method == "HEAD":  # its length, never its body (RFC 9110 §9.3.2)
                    length, body = len(body), b""
                else:
                    length = len(body)
                self._write(status, body, content_type, length, close=not request.keep_alive)
        finally:
            self.worker = None
        if self.current is None and not self.lingering:  # else the deadline set stands
            self._wait(self.listener.idle_timeout)
        self._close_if_done()

    def _refuse_early(self, request: _Request) -> None:
        request.answered_early = True
        request.chunks = []  # the body is not kept: its size is in the reason
        self._enqueue(request)

    def _give_up(self, request: _Request, *, unparsed: bytes = b"") -> None:
        """Refuse a request that cannot be read further (``problem`` set), then close.

        ``unparsed``, bytes that did not parse as a head, are kept as its body as they came.
        """
        self.broken = self.closing = True
        self.current = None
        if request.answered_early:
            self._close_if_done()
            return
        if not request.head_done:
            request.chunks = [unparsed[: self.listener.max_body]]
            request.size = len(request.chunks[0])
            if request.target:  # the request line parsed: its method is known
                request.method = self.parser.get_method().decode("latin-1")
        request.keep_alive = False
        self._enqueue(request)

    def _write(
        self, status: int, body: bytes, content_type: str, length: int, *, close: bool
    ) -> None:
        if self.transport is None or self.transport.is_closing() or self.lingering:
            return  # a request queued behind one that closed the connection: recorded only
        if status in (204, 304):
            # No content, so no content headers (RFC 9110 §8.6, §15.4.5): an app's 204 is
            # relayed as one.
            head = f"HTTP/1.1 {status} {_phrase(status)}\r\ndate: {_http_date()}\r\n"
            body = b""
        else:
            if not content_type:
                json_like = body.startswith((b"{", b"["))
                content_type = "application/json" if json_like else "text/plain; charset=utf-8"
            head = (
                f"HTTP/1.1 {status} {_phrase(status)}\r\ncontent-type: {content_type}\r\n"
                f"content-length: {length}\r\ndate: {_http_date()}\r\n"
            )
        if close:
            head += "connection: close\r\n"
        self.transport.write(head.encode("latin-1") + b"\r\n" + body)
        if _give_way is not None and len(self.listener.workers) == 1:
            # Nothing else in hand: the sender this answer woke may be queued for this very
            # core, and what the loop does next (the attempt's commit, the event's line) is
            # bookkeeping. Stepping aside shortens each answer at a steady rate
            # (benchmarks/listen.py); in a burst, with other requests in hand, it is not done.
            _give_way()
        if close:
            # Nothing after it is read (HTTP/1.1 §9.6); what is queued is still recorded.
            self.broken = self.closing = True
            self._linger()

    # -- the connection's life --------------------------------------------------------

    def close_when_idle(self) -> None:
        """On shutdown: close now if nothing is in hand, else once it is answered."""
        self.closing = True
        self.lingering = False  # shutting down: no more waiting for the sender to close
        self._close_if_done()

    def _close_if_done(self) -> None:
        if self.closing and self.worker is None and self.current is None and not self.lingering:
            self._close()

    def _linger(self) -> None:
        """End the connection after its last answer without destroying that answer.

        Closing a socket with input still unread makes the kernel reset the connection,
        and a reset can discard the answer before the sender has read it: a sender still
        writing a head over the limit would get a reset instead of its 431. So the answer
        is followed by the end of output, what arrives is read and dropped, and the socket
        is closed when the sender closes its side, or after ``LINGER`` seconds.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.lingering = True
        self.deadline = time.monotonic() + LINGER
        if self.paused:
            self.paused = False
            transport.resume_reading()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _wait(self, seconds: float) -> None:
        # A deadline swept once in a while, not a timer per request: arming and cancelling
        # timers twice a request cost more than the sweep.
        self.deadline = time.monotonic() + seconds

    def expire(self, now: float) -> None:
        """Cut the connection off if its deadline has passed while nothing was answered."""
        if now < self.deadline or self.worker is not None:
            return  # answering: the deadline is set again when the queue is done
        request = self.current
        if request is None:
            self._close()  # idle for too long
            return
        seconds = self.listener.request_timeout
        request.problem = 408, f"the request was not complete after {seconds:g} s"
        self._give_up(request)

    def _current(self) -> _Request:
        if self.current is None:  # a callback outside a message: start one
            self.current = _Request(self.listener.clock(), self.remote)
        return self.current


def _to_origin_form(request: _Request) -> None:
    """An absolute-form target (``POST http://host/path?q``, RFC 9112 §3.2.2) becomes its
    path and query, as recorded and routed; other targets stay as they came."""
    target = bytes(request.target)
    if not target.lower().startswith((b"http://", b"https://")):
        return
    try:
        url = httptools.parse_url(target)
    except httptools.HttpParserInvalidURLError:
        return
    path = url.path or b"/"
    request.target = bytearray(path + (b"?" + url.query if url.query else b""))


def _too_large(size: int, limit: int) -> str:
    return f"body of {size} bytes is over the {limit}-byte limit (raise it with --max-body)"


def _not_http(data: bytes, error: Exception) -> str:
    """Why bytes are refused, in words that point at the usual cause."""
    if data[:2] == b"\x16\x03":
        return "not HTTP: a TLS handshake (post to http://, or end TLS in your tunnel)"
    if data.startswith(b"PRI * HTTP/2.0"):
        return "not HTTP/1.1: an HTTP/2 preface (muxhook speaks HTTP/1.1)"
    detail = str(error).strip() or type(error).__name__
    return f"not valid HTTP/1.1 ({detail})"


_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_give_way = getattr(os, "sched_yield", None)  # POSIX only


def _phrase(status: int) -> str:
    return _PHRASES.get(status, "Unknown")


_dates: dict[int, str] = {}


def _http_date() -> str:
    """The Date header's value, made once a second."""
    now = int(time.time())
    date = _dates.get(now)
    if date is None:
        _dates.clear()
        date = _dates[now] = formatdate(now, usegmt=True)
    return date


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
