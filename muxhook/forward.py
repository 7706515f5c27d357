"""Where an event goes and in what order: routes, the headers that go with it, and the
gate that keeps events about one object in order while others go on.

The sending itself is a ``muxhook.sending.Sender``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import NamedTuple

__all__ = [
    "HOP_BY_HOP",
    "OrderedGate",
    "Route",
    "choose_routes",
    "forwardable_headers",
    "parse_route",
    "parse_routes",
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
    """One target of a route: every event (the fallback), or those whose type matches
    ``pattern``. The ``Route`` values with the same pattern are one route's targets."""

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
    from muxhook.sending import check_url

    check_url(
        url,
        "--forward-to",
        given=text,
        form=", optionally after an event glob: 'video.asset.*=http://localhost:3000/hooks'",
    )
    return Route(pattern or None, url)


#: A comma that starts another URL: ``GLOB=http://a,http://b`` is one route, two targets.
_NEXT_URL = re.compile(r",\s*(?=https?://)")


def parse_routes(texts: Iterable[str]) -> tuple[Route, ...]:
    """Every ``--forward-to``, in order: ``[GLOB=]URL[,URL…]``, one ``Route`` per URL."""
    routes: list[Route] = []
    for text in texts:
        pattern, sep, urls = text.partition("=")
        if not sep or "://" in pattern or "/" in pattern:
            pattern, sep, urls = "", "", text
        for url in _NEXT_URL.split(urls):
            routes.append(parse_route(f"{pattern}={url}" if pattern else url))
    return tuple(routes)


def choose_routes(routes: Sequence[Route], event_type: str | None) -> list[Route]:
    """Where one event goes: the targets of the first pattern that matches its type (every
    ``Route`` with that pattern), else the fallback's (the plain URLs); each URL once."""
    chosen = None
    for route in routes:
        if route.pattern is not None and route.matches(event_type):
            chosen = route.pattern
            break
    picked: dict[str, Route] = {}
    for route in routes:
        if route.pattern == chosen and route.url not in picked:
            picked[route.url] = route
    return list(picked.values())


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
