"""Forwarding to the developer's app: the exact bytes, in order per object, bounded.

aiohttp's client is used on this hot path: on this kind of machine it forwards 3-8
times faster than httpx's default async transport (specs/performance.md, and
``benchmarks/listen.py``). httpx stays the client of the one-shot paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
import typing
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from muxhook.delivery import BODY_KEEP, unreachable_hint
from muxhook.errors import UsageError
from muxhook.store import Attempt

if typing.TYPE_CHECKING:
    import aiohttp

__all__ = [
    "HOP_BY_HOP",
    "Forwarder",
    "OrderedGate",
    "Route",
    "forwardable_headers",
    "parse_header_option",
    "parse_route",
]

#: Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the ones the
#: client recomputes for the new connection.
HOP_BY_HOP = frozenset(
    {
        "connection",
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


def parse_header_option(text: str) -> tuple[str, str]:
    """``-H 'Name: value'`` → ``("Name", "value")``."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or " " in name.strip():
        raise UsageError(f"-H {text!r}: write 'Name: value'")
    return name.strip(), value.strip()


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
    without yielding, so the order in which requests reach ``turn`` is the order in
    which their forwards start. Different objects do not wait for each other.
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
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._slots:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @property
    def waiting_objects(self) -> int:
        """How many objects have a forward running or queued (for tests and the summary)."""
        return len(self._locks)


class Forwarder:
    """POSTs bodies to the app over one pooled aiohttp session."""

    def __init__(self, *, timeout: float, concurrency: int, insecure: bool = False) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self.insecure = insecure
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Forwarder:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self.concurrency * 2, ssl=False if self.insecure else True
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # The app sees what the platform sent: no client-chosen headers are added.
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes, headers: list[tuple[str, str]]) -> Attempt:
        """One attempt; the outcome is returned, never raised."""
        import aiohttp

        assert self._session is not None, "use the Forwarder as an async context manager"
        started_wall = time.time()
        started = time.perf_counter()
        try:
            async with self._session.post(
                url,
                data=body,
                headers=_multidict(headers),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                kept = await response.content.read(BODY_KEEP)
                latency = (time.perf_counter() - started) * 1000
                return Attempt(started_wall, url, response.status, latency, kept, None)
        except (asyncio.TimeoutError, TimeoutError):
            latency = (time.perf_counter() - started) * 1000
            error = f"timed out after {self.timeout:g} s"
            return Attempt(started_wall, url, None, latency, b"", error)
        except (aiohttp.ClientError, OSError) as failure:
            latency = (time.perf_counter() - started) * 1000
            return Attempt(started_wall, url, None, latency, b"", unreachable_hint(url, failure))


def _multidict(headers: list[tuple[str, str]]) -> Mapping[str, str]:
    from multidict import CIMultiDict

    return CIMultiDict(headers)
