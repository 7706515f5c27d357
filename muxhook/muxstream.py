"""The Mux API's webhook event stream: Server-Sent Events, read with httpx-sse.

``GET {base}/system/v1/webhook-events/stream`` with Basic auth, as the official Mux CLI
(``mux webhooks listen``) reads it. The SSE event ``connected`` resets the back-off;
every other event's ``data`` is one webhook event, JSON. The body handed on is that
``data`` field as the stream carried it (SSE is UTF-8 text by definition), never parsed
and written again.

Any drop reconnects, after 1 s, doubling to 30 s; a stream from which not a byte
(heartbeats included) arrives for ``silence`` seconds counts as dropped: that is httpx's
read timeout, so no timer of our own is needed. The watcher hears one line's worth at
each drop, failed attempt and recovery, with how long events could not arrive: the
stream does not replay what was sent meanwhile. An event id seen before in this session
is marked ``repeat``, so the caller records it without forwarding it twice.

A refused token (401, 403, or 404, which Mux answers for a route a token may not see)
ends the stream with one ``UsageError``: no retry fixes it. 429 waits as long as
``Retry-After`` says (else the back-off), and 5xx or a connection failure retries.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import time
import typing
from collections.abc import Callable
from typing import NamedTuple

from muxhook.muxapi import (
    STREAM_PATH,
    Credentials,
    Whoami,
    api_error,
    retry_after_seconds,
)

if typing.TYPE_CHECKING:
    import httpx

__all__ = ["EventStream", "StreamEvent", "StreamWatcher"]

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 30.0
#: Seconds without a byte before a stream counts as dropped (``--stream-silence``).
DEFAULT_SILENCE = 90.0
#: Event ids remembered to flag repeats (a bounded memory: oldest forgotten first).
REMEMBERED_IDS = 100_000


class StreamEvent(NamedTuple):
    """One webhook event as the stream gave it."""

    received_at: float  # unix seconds
    body: bytes  # the SSE data field, UTF-8, exactly as it came
    event_id: str | None  # the webhook event's own id, when the data says one
    problem: str | None  # why the data is not a webhook event (not a JSON object)
    repeat: bool  # an event with this id already came during this session


class StreamWatcher(typing.Protocol):
    """Who hears about the connection (the CLI draws one line for each)."""

    def opened(self, *, first: bool, gap: float | None) -> None:
        """The stream is open; ``gap``: seconds during which events could not arrive."""

    def dropped(self, reason: str, retry_in: float) -> None:
        """An open stream ended; a reconnect follows in ``retry_in`` seconds."""

    def retrying(self, reason: str, retry_in: float) -> None:
        """An attempt to open the stream failed; another follows in ``retry_in`` seconds."""


@dataclasses.dataclass(eq=False)
class EventStream:
    """Reads the event stream until cancelled, reconnecting as described above.

    Args:
        credentials: the access token.
        base: the API's base URL.
        silence: seconds without a byte after which the stream counts as dropped.
        whoami: the token's known permissions, named if the stream is refused.
        transport: an httpx transport, for tests without a server.
    """

    credentials: Credentials
    base: str
    _: dataclasses.KW_ONLY
    silence: float = DEFAULT_SILENCE
    whoami: Whoami | None = None
    initial_backoff: float = INITIAL_BACKOFF
    max_backoff: float = MAX_BACKOFF
    clock: Callable[[], float] = time.time
    transport: httpx.AsyncBaseTransport | None = None
    _seen: collections.OrderedDict[str, None] = dataclasses.field(
        default_factory=collections.OrderedDict, init=False
    )
    #: The monotonic time events stopped arriving.
    _down_since: float | None = dataclasses.field(default=None, init=False)
    _opened_once: bool = dataclasses.field(default=False, init=False)

    @property
    def url(self) -> str:
        """The event stream's address."""
        return self.base.rstrip("/") + STREAM_PATH

    async def run(self, on_event: Callable[[StreamEvent], None], watcher: StreamWatcher) -> None:
        """Hand every event to ``on_event`` (in stream order) until cancelled.

        Raises:
            UsageError: the API refused the token (401, 403, 404); one line.
        """
        import httpx

        from muxhook import __version__

        timeout = httpx.Timeout(10.0, read=self.silence)
        async with httpx.AsyncClient(
            auth=(self.credentials.token_id, self.credentials.token_secret),
            timeout=timeout,
            follow_redirects=False,
            transport=self.transport,
            headers={"user-agent": f"muxhook/{__version__}"},
        ) as client:
            backoff = self.initial_backoff
            while True:
                state = _Connection()
                try:
                    await self._read(client, state, on_event, watcher)
                    reason = "the Mux API closed the stream"
                except httpx.ReadTimeout:
                    reason = f"not a byte for {self.silence:g} s, not even a heartbeat"
                    state.silent = True
                except httpx.TimeoutException:
                    reason = "timed out connecting"
                except httpx.HTTPError as error:
                    reason = _reason(error)
                except _Refused as refused:
                    reason, state.wait = refused.reason, refused.wait
                if state.connected:
                    backoff = self.initial_backoff
                wait = state.wait if state.wait is not None else backoff
                now = time.monotonic()
                if state.opened:
                    # A silent stream stopped carrying events when its last byte came.
                    self._down_since = now - self.silence if state.silent else now
                    watcher.dropped(reason, wait)
                else:
                    if self._down_since is None:
                        self._down_since = now
                    watcher.retrying(reason, wait)
                await asyncio.sleep(wait)
                backoff = min(backoff * 2, self.max_backoff)

    async def _read(
        self,
        client: httpx.AsyncClient,
        state: _Connection,
        on_event: Callable[[StreamEvent], None],
        watcher: StreamWatcher,
    ) -> None:
        from httpx_sse import EventSource

        headers = {"accept": "text/event-stream", "cache-control": "no-store"}
        async with client.stream("GET", self.url, headers=headers) as response:
            status = response.status_code
            if status in (401, 403, 404):
                await response.aread()
                raise api_error(
                    status,
                    response.content,
                    action="read the webhook event stream",
                    credentials=self.credentials,
                    needs="system:read",
                    whoami=self.whoami,
                )
            if status == 429:
                raise _Refused(
                    "the Mux API is rate-limiting the stream (429)",
                    retry_after_seconds(response.headers, 0)
                    if response.headers.get("retry-after")
                    else None,
                )
            if not response.is_success:
                raise _Refused(f"the Mux API answered {status}", None)
            kind = response.headers.get("content-type", "").partition(";")[0].strip()
            if kind != "text/event-stream":
                raise _Refused(f"the Mux API answered {kind or 'no content type'}, not a stream")
            # Open: the recovery is said before any event the new stream brings.
            state.opened = True
            gap = None if self._down_since is None else time.monotonic() - self._down_since
            watcher.opened(first=not self._opened_once, gap=gap)
            self._opened_once = True
            self._down_since = None
            response.encoding = "utf-8"  # SSE is always UTF-8, whatever a charset says
            async for sse in EventSource(response).aiter_sse():
                if sse.event == "connected":
                    state.connected = True
                    continue
                if not sse.data:
                    continue  # a keep-alive with no data
                on_event(self._event(sse.data))

    def _event(self, data: str) -> StreamEvent:
        body = data.encode("utf-8")
        event_id: str | None = None
        problem: str | None = None
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            raw = parsed.get("id")
            event_id = raw if isinstance(raw, str) and raw else None
        else:
            problem = "the stream sent data that is not a JSON webhook event"
        repeat = False
        if event_id is not None:
            repeat = event_id in self._seen
            self._seen[event_id] = None
            self._seen.move_to_end(event_id)
            if len(self._seen) > REMEMBERED_IDS:
                self._seen.popitem(last=False)
        return StreamEvent(self.clock(), body, event_id, problem, repeat)


class _Connection:
    """What one connection attempt got to."""

    __slots__ = ("connected", "opened", "silent", "wait")

    def __init__(self) -> None:
        self.opened = False  # the API answered with a stream
        self.connected = False  # and said ``connected``
        self.silent = False  # and then fell silent
        self.wait: float | None = None  # how long the API asked us to wait (429)


class _Refused(Exception):
    """The API answered, but not with a stream: retried after ``wait`` (or the back-off)."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "peer closed" in lowered or "incomplete" in lowered or "reset" in lowered:
        return "the connection was cut"
    return " ".join(text.split())[:200]
