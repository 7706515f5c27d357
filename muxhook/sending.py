"""The one way muxhook sends a webhook to an app: a ``Sender``.

``listen`` forwards, ``replay`` and ``log replay`` resend, ``trigger`` sends one, and
the inspector's Replay sends again: all through ``Sender.send``, which returns the
outcome as an ``Attempt`` (the app's status and the start of its answer, or why there
was none) and never raises for a failed request. ``HttpSender`` is the real one, over
muxhook's keep-alive HTTP/1.1 client; ``muxhook.testing.MemorySender`` answers from a
function, for tests, as httpx's ``MockTransport`` does.
"""

from __future__ import annotations

import asyncio
import time
import typing
from collections.abc import Sequence
from urllib.parse import urlsplit

from muxhook.errors import UsageError
from muxhook.records import RESPONSE_KEEP, Attempt

__all__ = ["HttpSender", "Sender", "check_url", "unreachable_hint"]

Headers = Sequence[tuple[str, str]]


class Sender(typing.Protocol):
    """Sends one POST and says what came of it."""

    async def send(self, url: str, body: bytes, headers: Headers, *, timeout: float) -> Attempt:
        """POST ``body`` with ``headers`` to ``url``; the outcome, never an exception."""
        ...


class HttpSender:
    """Sends over pooled keep-alive connections (``muxhook.httpclient``); use it with
    ``async with``. Redirects are never followed: a webhook is not redirected."""

    def __init__(self, *, insecure: bool = False, connections: int = 16) -> None:
        from muxhook.httpclient import Http1Pool

        self._pool = Http1Pool(keep=RESPONSE_KEEP, insecure=insecure, per_origin=connections)

    async def __aenter__(self) -> HttpSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections."""
        await self._pool.close()

    async def send(self, url: str, body: bytes, headers: Headers, *, timeout: float) -> Attempt:
        """One attempt; the outcome is returned, never raised."""
        from muxhook.httpclient import ConnectionFailed

        started_wall = time.time()
        started = time.perf_counter()
        try:
            answer = await self._pool.post(url, body, list(headers), timeout=timeout)
        except (asyncio.TimeoutError, TimeoutError):
            latency = (time.perf_counter() - started) * 1000
            return Attempt(started_wall, url, None, latency, b"", f"timed out after {timeout:g} s")
        except ConnectionFailed as failure:
            latency = (time.perf_counter() - started) * 1000
            return Attempt(started_wall, url, None, latency, b"", unreachable_hint(url, failure))
        latency = (time.perf_counter() - started) * 1000
        return Attempt(started_wall, url, answer.status, latency, answer.body, None, answer.headers)


def check_url(url: str, option: str = "--to", *, given: str | None = None, form: str = "") -> str:
    """``url`` when it is an http(s) URL with a host and a port from 1 to 65535 (or none);
    one UsageError line otherwise, quoting ``given`` (the text as typed, ``url`` when not
    set) and, when the scheme is wrong, ``form`` after "give an http:// or https:// URL"."""
    shown = url if given is None else given
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{option} {shown!r}: give an http:// or https:// URL{form}")
    try:
        port = parts.port
    except ValueError:  # not a number, or out of 0-65535
        port = 0
    if port == 0:
        raise UsageError(f"{option} {shown!r} has an invalid port: give one from 1 to 65535")
    return url


def unreachable_hint(url: str, error: BaseException) -> str:
    """Turn a connection failure into what a person should check."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if "tls" in lowered or "ssl" in lowered or "certificate" in lowered:
        return f"{text}; for a local self-signed certificate use --insecure"
    if "refused" in lowered:
        return f"connection refused; is your app running on port {port}?"
    if "name" in lowered and "resolv" in lowered:
        return f"cannot resolve host {parts.hostname!r}"
    return text
