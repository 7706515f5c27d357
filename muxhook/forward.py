"""Forwarding to the developer's app: the exact bytes, in order per object, bounded.

The hot path uses muxhook's own keep-alive HTTP/1.1 client (``muxhook.httpclient``),
chosen by measurement; httpx stays the client of the one-shot paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
from collections.abc import AsyncIterator, Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from muxhook.delivery import BODY_KEEP, unreachable_hint
from muxhook.errors import UsageError
from muxhook.httpclient import ConnectionFailed, Http1Pool
from muxhook.store import Attempt

__all__ = [
    "HOP_BY_HOP",
    "Forwarder",
    "OrderedGate",
    "Route",
    "check_url",
    "forwardable_headers",
    "parse_route",
]

#: Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the ones the
#: client recomputes for the new connection, and ``Expect``: listen has answered the
#: sender's ``100 Continue`` itself, and sends the app the whole body at once.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class Route(NamedTuple):
    """Where events go: every event, or those whose type matches ``pattern``."""

    pattern: str | None
    url: str

    def matches(self, event_type: str | None) -> bool:
        """True when this route takes an event of ``event_type``."""
        if self.pattern is None:
            return True
        return event_type is not None and any(
            fnmatch.fnmatchcase(event_type, part.strip()) for part in self.pattern.split(",")
        )


def check_url(url: str, option: str = "--to") -> str:
    """``url`` when it is an http(s) URL with a host; one UsageError line otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{option} {url!r}: give an http:// or https:// URL")
    return url


def parse_route(text: str) -> Route:
    """``http://…`` or ``'video.live_stream.*=http://…'`` (a glob, or several joined by commas)."""
    pattern, sep, url = text.partition("=")
    if not sep or "://" in pattern or "/" in pattern:
        pattern, url = "", text
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"--forward-to {text!r}: give an http:// or https:// URL, optionally after an "
            "event glob: 'video.asset.*=http://localhost:3000/hooks'"
        )
    return Route(pattern or None, url)


def forwardable_headers(
    headers: Iterable[tuple[str, str]], extra: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """The original headers minus hop-by-hop ones and Host, then the user's ``-H`` headers."""
    named = {name.lower() for name, _ in extra}
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP and name.lower() not in named
    ]
    return kept + list(extra)


class OrderedGate:
    """At most ``limit`` forwards at once; those about one object go one at a time, in order.

    ``asyncio.Lock`` wakes waiters first-in first-out, and an uncontended lock is taken
    without yielding, so the order in which requests reach ``turn`` (or ``hold``) is the
    order in which their forwards start. Different objects do not wait for each other.
    """

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: str | None) -> AsyncIterator[None]:
        """Wait for this key's turn and a free slot."""
        if key is None:
            async with self._slots:
                yield
            return
        lock = self._join(key)
        try:
            async with lock, self._slots:
                yield
        finally:
            self._leave(key)

    @contextlib.asynccontextmanager
    async def hold(self, key: str | None) -> AsyncIterator[None]:
        """Wait for this key's turn and keep it, without a slot: a delivery that retries
        keeps its object's turn through its back-off, and takes a ``slot`` per attempt."""
        if key is None:
            yield
            return
        lock = self._join(key)
        try:
            async with lock:
                yield
        finally:
            self._leave(key)

    def slot(self) -> asyncio.Semaphore:
        """One of the ``limit`` forwards at once: ``async with gate.slot():``."""
        return self._slots

    def _join(self, key: str) -> asyncio.Lock:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)  # a lock only when new
        self._locks[key] = (lock, users + 1)
        return lock

    def _leave(self, key: str) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)


class Forwarder:
    """POSTs bodies to the app over pooled keep-alive connections (``muxhook.httpclient``)."""

    def __init__(self, *, timeout: float, concurrency: int, insecure: bool = False) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self.insecure = insecure
        self._pool: Http1Pool | None = None

    async def __aenter__(self) -> Forwarder:
        self._pool = Http1Pool(
            keep=BODY_KEEP, insecure=self.insecure, per_origin=self.concurrency * 2
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def post(self, url: str, body: bytes, headers: list[tuple[str, str]]) -> Attempt:
        """One attempt; the outcome is returned, never raised."""
        assert self._pool is not None, "use the Forwarder as an async context manager"
        started_wall = time.time()
        started = time.perf_counter()
        try:
            answer = await self._pool.post(url, body, headers, timeout=self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            latency = (time.perf_counter() - started) * 1000
            return Attempt(
                started_wall, url, None, latency, b"", f"timed out after {self.timeout:g} s"
            )
        except ConnectionFailed as failure:
            latency = (time.perf_counter() - started) * 1000
            return Attempt(started_wall, url, None, latency, b"", unreachable_hint(url, failure))
        latency = (time.perf_counter() - started) * 1000
        return Attempt(started_wall, url, answer.status, latency, answer.body, None)
