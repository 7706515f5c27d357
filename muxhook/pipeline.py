"""The one data flow of ``listen``: request in → record → verify → show → forward.

``Pipeline.handle`` takes a request as received and returns the answer for the
platform. The request is in the event log, committed, before it is shown,
forwarded or answered, so nothing received is lost whatever fails later. The
verdict is pure computation on the bytes in hand, so it is worked out while the
row waits for its commit and written in the same row: one write instead of two.
Lines are drawn just after the answer goes out, not before: showing an event is not
on the sender's clock (``benchmarks/listen.py`` measures the added latency).
Sending is a ``muxhook.sending.Sender``'s; what happens is told to any number of
``Subscriber`` objects (the terminal, JSON lines, ``--save``, the inspector).
``replay`` sends through the same kind of ``Sender`` and ``OrderedGate``.

Every event due to be forwarded is finished one way or another: delivered, failed, or,
when listen stops before it is, cut off, which is an attempt in the log like any other
(``CUT_OFF``), counted as failed, so ``muxhook log replay --failed`` finishes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import json
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from muxhook import fixtures, providers, signing
from muxhook.errors import MuxhookError, SignatureError
from muxhook.forward import OrderedGate, Route, choose_routes, forwardable_headers
from muxhook.records import (
    CUT_OFF,
    CUT_OFF_UNANSWERED,
    Attempt,
    Incoming,
    Resign,
    StoredEvent,
    Target,
)
from muxhook.secrets import fingerprint
from muxhook.store import EventLog, GroupCommit
from muxhook.subscribers import Subscriber

if typing.TYPE_CHECKING:
    from muxhook.sending import Sender

__all__ = [
    "Answer",
    "Delivered",
    "FixtureSaver",
    "ListenSettings",
    "Pipeline",
    "Received",
    "Stats",
    "Subscriber",
    "Trusted",
]

#: The error of the attempt that stands for a forward listen stopped before it finished.


@dataclasses.dataclass(frozen=True)
class ListenSettings:
    """Everything ``listen`` was told, resolved."""

    secrets: Mapping[str, str]  # provider → secret; a provider with none is not verified
    provider: str | None = None  # None: detect from the headers
    tolerance: float = signing.DEFAULT_TOLERANCE
    max_future: float = signing.DEFAULT_MAX_FUTURE
    routes: tuple[Route, ...] = ()
    forward_invalid: bool = False
    forward_secret: str | None = None
    forward_secret_source: str = "--forward-secret"  # noqa: S105 (where it came from)
    extra_headers: tuple[tuple[str, str], ...] = ()
    ack: str = "app"  # "app": answer with the app's status; "immediate": 200 once recorded
    retries: int = 5  # with ack=immediate: attempts after the first, backing off
    retry_base: float = 1.0  # seconds before the first retry; doubles each time
    forward_timeout: float = 30.0  # seconds an attempt may take
    shown_events: tuple[str, ...] = ()  # globs; empty: every event


class Answer(NamedTuple):
    """What the listener answers the platform."""

    status: int
    body: bytes


class Trusted(NamedTuple):
    """An event that came over a channel that proved its origin, not as a signed POST.

    The Mux API's event stream is read with the user's token, so its events carry no
    signature and need none: verdict ``valid``, or ``invalid`` with ``problem`` when the
    data is not a webhook event. ``repeat``: the same event came earlier on that channel
    (a reconnect sent it again); it is recorded, flagged a duplicate, not forwarded twice.
    """

    provider: str
    problem: str | None = None
    repeat: bool = False


class Received(NamedTuple):
    """An event as recorded and verified, for the renderer."""

    row: int
    incoming: Incoming
    provider: str | None
    described: providers.Described
    verdict: str  # valid | invalid | unverified
    reason: str | None
    duplicate: bool
    shown: bool  # false when --events filters it out
    will_forward: bool = False  # a forward follows, and its outcome completes the story
    signature_headers: int = 1  # how many of its provider's signature header it carried
    targets: tuple[Target, ...] = ()  # where it is to be forwarded

    def stored(self, attempts: Sequence[Attempt] = ()) -> StoredEvent:
        """The event as the log holds it once ``attempts`` are in (for its JSON form)."""
        delivered = None
        if self.will_forward:
            delivered = bool(attempts) and all(attempt.ok for attempt in attempts)
        return StoredEvent(
            self.row,
            self.incoming.received_at,
            self.incoming.method,
            self.incoming.path,
            self.incoming.headers,
            self.incoming.body,
            self.incoming.remote,
            self.provider,
            self.described.event_type,
            self.described.event_id,
            self.described.object_id,
            self.verdict,
            self.reason,
            self.duplicate,
            list(attempts),
            delivered,
            self.targets,
        )


class Delivered(NamedTuple):
    """A forward attempt's outcome, for the renderer."""

    received: Received
    attempt: Attempt
    number: int  # 1 for the first attempt, 2 for the first retry, …; 0 when cut off
    final: bool  # no further retry will follow


@dataclasses.dataclass
class Stats:
    """Counts for the summary printed when listen stops."""

    received: int = 0
    valid: int = 0
    invalid: int = 0
    unverified: int = 0
    duplicates: int = 0
    forwarded: int = 0
    failed: int = 0  # forwards that ended without a 2xx, cut-off ones included
    cut_off: int = 0  # forwards that listen stopped before they finished
    rejected: int = 0
    #: Log ids of the events with a forward that failed, and of those among them with a
    #: forward cut off (dicts as ordered sets).
    left: dict[int, None] = dataclasses.field(default_factory=dict)
    left_cut_off: dict[int, None] = dataclasses.field(default_factory=dict)


class _Due:
    """An event's forwards that have not finished yet: one target per route."""

    __slots__ = ("received", "targets")

    def __init__(self, received: Received, targets: list[str]) -> None:
        self.received = received
        self.targets = targets


class Pipeline:
    """Handles every request the listener receives."""

    def __init__(
        self,
        settings: ListenSettings,
        log: EventLog,
        sender: Sender | None,
        subscribers: Sequence[Subscriber] = (),
        *,
        concurrency: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.log = log
        self.sender = sender  # None: nothing is forwarded
        self.subscribers = list(subscribers)
        self.clock = clock
        self.gate = OrderedGate(concurrency)
        self.stats = Stats()
        self.writes = GroupCommit(
            log,
            on_error=lambda error: self._tell(lambda s: s.log_failed(error)),
            on_notice=lambda notice: self._tell(lambda s: s.log_replaced(notice)),
        )
        self._background: set[asyncio.Task[None]] = set()
        self._in_hand = 0  # requests between arrival and answer
        self._due: dict[int, _Due] = {}  # row → forwards not finished yet
        self._resign = self._resign_record()
        self._targets: dict[tuple[tuple[Route, ...], bool], tuple[Target, ...]] = {}
        self._routes: dict[str | None, list[Route]] = {}  # event type → its routes

    # -- the flow --------------------------------------------------------------

    async def handle(self, incoming: Incoming, trailers: tuple[str, ...] = ()) -> Answer:
        """Record, verify, show and forward one request; return the answer for the platform.

        ``trailers``: the names of its chunked trailers, which never count as headers.
        """
        self._in_hand += 1
        try:
            return await self._handle(incoming, trailers)
        finally:
            self._in_hand -= 1

    async def handle_trusted(self, incoming: Incoming, trusted: Trusted) -> Answer:
        """The same flow for an event that did not come as a signed POST (see ``Trusted``)."""
        self._in_hand += 1
        try:
            return await self._handle(incoming, (), trusted)
        finally:
            self._in_hand -= 1

    async def _handle(
        self, incoming: Incoming, trailers: tuple[str, ...], trusted: Trusted | None = None
    ) -> Answer:
        headers = as_node_sees(incoming.headers)
        name = trusted.provider if trusted else self.settings.provider or providers.detect(headers)
        try:
            described = _describe(name, incoming, headers)
            if trusted is None:
                verdict, reason = self._check(incoming.body, headers, name)
            else:
                verdict, reason = (
                    ("invalid", trusted.problem) if trusted.problem else ("valid", None)
                )
        except Exception as error:
            described = providers.Described()
            verdict, reason = "invalid", f"could not be read: {type(error).__name__}: {error}"
        if trailers and verdict == "invalid":
            reason = _with_trailer_note(reason, trailers)
        shown = not self.settings.shown_events or any(
            fnmatch.fnmatchcase(described.event_type or "", glob)
            for glob in self.settings.shown_events
        )
        refused = verdict == "invalid" and not self.settings.forward_invalid
        routes = self._routes_of(described.event_type)
        forwarding = not refused and shown and bool(routes) and self.sender is not None
        if trusted is not None and trusted.repeat:
            forwarding = False  # the first copy was forwarded (or failed, and is in the log)
        targets = self._targets_of(routes, bool(name)) if forwarding else ()
        try:
            row, duplicate = await self.writes.record(  # 1. durable before anything else
                incoming,
                provider=name,
                event_type=described.event_type,
                event_key=described.event_id,
                object_id=described.object_id,
                verdict=verdict,  # 2.
                reason=reason,
                forwarding=forwarding,
                # Where it goes, in the same row: `log replay --failed` needs no flags.
                targets=targets,
                alone=self._in_hand == 1,
            )
        except MuxhookError as error:
            # Not stored, so not accepted: the platform keeps it and tries again later.
            problem = str(error)
            self._tell(lambda s: s.unrecorded(incoming, problem))
            return Answer(503, f"muxhook could not record this request: {problem}\n".encode())
        received = Received(
            row,
            incoming,
            name,
            described,
            verdict,
            reason,
            duplicate,
            shown,
            forwarding,
            _count_named(incoming.headers, providers.get(name).HEADER) if name else 1,
            targets,
        )
        self._count(received)
        if forwarding:
            self._due[row] = _Due(received, [route.url for route in routes])
        self._tell_later(lambda s: s.received(received))  # 3.
        if refused:
            return Answer(401, f"invalid signature: {received.reason}\n".encode())
        if not forwarding:
            return Answer(200, b'{"recorded":true}')
        if self.settings.ack == "immediate":
            task = asyncio.create_task(self._deliver_with_retries(received, routes))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return Answer(200, b'{"recorded":true}')
        attempts = await self.deliver(received, routes)  # 4.
        return _answer_from(attempts)

    async def reject(self, incoming: Incoming, status: int, reason: str) -> None:
        """Record a request that is refused before the flow (over the limit, wrong method)."""
        try:  # the verdict in the same row: it is in the log before the answer goes out
            row, _ = await self.writes.record(
                incoming, verdict="rejected", reason=f"{status}: {reason}"
            )
        except MuxhookError as error:
            problem = str(error)
            self._tell(lambda s: s.unrecorded(incoming, problem))
            return
        self.stats.rejected += 1
        self._tell(lambda s: s.rejected(row, incoming, status, reason))

    async def deliver(self, received: Received, routes: list[Route]) -> list[Attempt]:
        """Forward one recorded event to every route, in its object's turn."""
        headers = self._outgoing_headers(received)
        async with self.gate.turn(_order_key(received)):
            if len(routes) == 1:  # the usual case: no task per route
                return [await self._post(received, routes[0].url, headers, number=1, last=True)]
            return list(
                await asyncio.gather(
                    *(self._post(received, r.url, headers, number=1, last=True) for r in routes)
                )
            )

    def stopping(self, seconds: float) -> None:
        """listen is stopping: say what it waits for, if anything."""
        forwards = sum(len(due.targets) for due in self._due.values())
        if forwards:
            self._tell(lambda s: s.draining(forwards, seconds))

    async def drain(self, timeout: float, forced: asyncio.Event | None = None) -> int:
        """Wait up to ``timeout`` s (or until ``forced`` is set) for background deliveries,
        cut off every forward still unfinished, then commit every queued write.

        Returns how many forwards were cut off; each has an attempt in the log saying so.
        """
        if self._background:
            waits: list[asyncio.Future[object]] = [
                asyncio.ensure_future(asyncio.wait(set(self._background)))
            ]
            if forced is not None:
                waits.append(asyncio.ensure_future(forced.wait()))
            await asyncio.wait(
                waits, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED
            )
            for waiting in waits:
                waiting.cancel()
            still = list(self._background)
            for task in still:
                task.cancel()  # a forward in flight records its cut-off as it ends
            await asyncio.gather(*still, return_exceptions=True)
        cut = self._cut_off()
        await self.writes.drain()  # commits every queued write
        await asyncio.sleep(0)  # and every line still to show is drawn
        return cut

    # -- steps -----------------------------------------------------------------

    def _resign_record(self) -> Resign | None:
        """How forwards are re-signed, as the log keeps it: never the secret itself."""
        if not self.settings.forward_secret:
            return None
        return Resign(
            self.settings.forward_secret_source, fingerprint(self.settings.forward_secret)
        )

    def _routes_of(self, event_type: str | None) -> list[Route]:
        """Where an event of this type goes (``forward.choose_routes``), worked out once
        per type."""
        found = self._routes.get(event_type)
        if found is None:
            if len(self._routes) > 1024:  # types come from the bodies: keep it bounded
                self._routes.clear()
            found = self._routes[event_type] = choose_routes(self.settings.routes, event_type)
        return found

    def _targets_of(self, routes: list[Route], signed: bool) -> tuple[Target, ...]:
        """The targets stored with an event: its routes, with the ``-H`` headers and, when
        it is re-signed (a provider is known), how. Built once per set of routes."""
        key = (tuple(routes), signed)
        found = self._targets.get(key)
        if found is None:
            resign = self._resign if signed else None
            extra = tuple(self.settings.extra_headers)
            found = self._targets[key] = tuple(Target(r.url, extra, resign) for r in routes)
        return found

    def _check(
        self, body: bytes, headers: Mapping[str, str], name: str | None
    ) -> tuple[str, str | None]:
        """The verdict on a request's signature, and why it failed."""
        secret = self.settings.secrets.get(name) if name else None
        if secret:
            try:
                signing.verify(
                    body,
                    headers,
                    secret=secret,
                    provider=name,
                    now=self.clock(),
                    tolerance=self.settings.tolerance,
                    max_future=self.settings.max_future,
                )
            except SignatureError as error:
                return "invalid", str(error)
            return "valid", None
        if name is None and self.settings.secrets:
            expected = ", ".join(providers.get(n).HEADER for n in providers.NAMES)
            return "invalid", f"no signature header (looked for {expected})"
        return "unverified", None

    def _outgoing_headers(self, received: Received) -> list[tuple[str, str]]:
        extra = list(self.settings.extra_headers)
        if self.settings.forward_secret and received.provider:
            # Re-sign for an app that uses another secret: the signature headers are replaced.
            resigned = signing.sign(
                received.incoming.body,
                secret=self.settings.forward_secret,
                provider=received.provider,
                timestamp=int(self.clock()),
            )
            extra = [(k, v) for k, v in resigned.items() if k.lower() != "content-type"] + extra
        return forwardable_headers(received.incoming.headers, extra)

    async def _deliver_with_retries(self, received: Received, routes: list[Route]) -> None:
        """Deliver in the background, retrying with back-off. The object's turn is kept
        until every route has its final answer, so a later event about the same object
        never overtakes this one; a concurrency slot is taken per attempt only."""
        headers = self._outgoing_headers(received)
        async with self.gate.hold(_order_key(received)):
            if len(routes) == 1:
                await self._retry(received, routes[0].url, headers)
            else:
                await asyncio.gather(*(self._retry(received, r.url, headers) for r in routes))

    async def _retry(self, received: Received, url: str, headers: list[tuple[str, str]]) -> None:
        attempts = self.settings.retries + 1
        for number in range(1, attempts + 1):
            async with self.gate.slot():
                attempt = await self._post(
                    received, url, headers, number=number, last=number == attempts
                )
            if attempt.status is not None and 200 <= attempt.status < 300:
                return
            if number < attempts:
                await asyncio.sleep(self.settings.retry_base * 2 ** (number - 1))

    async def _post(
        self,
        received: Received,
        url: str,
        headers: list[tuple[str, str]],
        *,
        number: int,
        last: bool,
    ) -> Attempt:
        """One attempt, finished (recorded, counted, shown) even when it is cut off."""
        assert self.sender is not None
        try:
            attempt = await self.sender.send(
                url, received.incoming.body, headers, timeout=self.settings.forward_timeout
            )
        except asyncio.CancelledError:
            cut = Attempt(self.clock(), url, None, None, b"", CUT_OFF_UNANSWERED)
            self._finish(received, cut, number=0, final=True)
            raise
        ok = attempt.status is not None and 200 <= attempt.status < 300
        self._finish(received, attempt, number=number, final=ok or last)
        return attempt

    def _cut_off(self) -> int:
        """Finish every forward still due as cut off before it was sent."""
        cut = 0
        for due in list(self._due.values()):
            for url in list(due.targets):
                attempt = Attempt(
                    self.clock(), url, None, None, b"", f"{CUT_OFF} before sending it"
                )
                self._finish(due.received, attempt, number=0, final=True)
                cut += 1
        return cut

    def _finish(self, received: Received, attempt: Attempt, *, number: int, final: bool) -> None:
        due = self._due.get(received.row)
        if due is None or attempt.target not in due.targets:
            return  # already finished: cut off at stop, then its task ended
        if final:
            due.targets.remove(attempt.target)
            if not due.targets:
                del self._due[received.row]
        self.writes.add_attempt(received.row, attempt)
        ok = attempt.status is not None and 200 <= attempt.status < 300
        if ok:
            self.stats.forwarded += 1
        elif final:
            self.stats.failed += 1
            self.stats.left[received.row] = None
            if number == 0:
                self.stats.cut_off += 1
                self.stats.left_cut_off[received.row] = None
        delivered = Delivered(received, attempt, number, final)
        self._tell_later(lambda s: s.delivered(delivered))
        limit = providers.get(received.provider).ATTEMPT_TIMEOUT if received.provider else None
        if limit and attempt.latency_ms is not None and attempt.latency_ms > limit * 1000:
            self._tell_later(lambda s: s.slow(delivered, limit, received.provider or ""))

    def _tell(self, news: Callable[[Subscriber], None]) -> None:
        """Tell every subscriber, now; one whose own write fails (a ``--save`` copy) is
        told to all as a failed write, and the rest are still told."""
        for subscriber in self.subscribers:
            try:
                news(subscriber)
            except MuxhookError as error:
                for other in self.subscribers:
                    other.log_failed(error)

    def _tell_later(self, news: Callable[[Subscriber], None]) -> None:
        """Tell every subscriber once the current request's answer is written: the loop's
        next turn, in the order told."""
        asyncio.get_running_loop().call_soon(self._tell, news)

    def _count(self, received: Received) -> None:
        self.stats.received += 1
        if received.verdict == "valid":
            self.stats.valid += 1
        elif received.verdict == "invalid":
            self.stats.invalid += 1
        else:
            self.stats.unverified += 1
        if received.duplicate:
            self.stats.duplicates += 1


class FixtureSaver(Subscriber):
    """``--save DIR``: each event whose signature was valid and whose body is a fixture
    (``fixtures.replayable``), as a file that ``replay`` takes as it is; with
    ``everything`` (``--save-all``) every request, the rest marked (see ``fixtures.save``)."""

    def __init__(self, folder: Path, *, everything: bool = False) -> None:
        self.folder = folder
        self.everything = everything

    def received(self, event: Received) -> None:
        """Write its copy (the request itself is in the log whatever happens here)."""
        if not self.everything and not (
            event.verdict == "valid" and fixtures.replayable(event.provider, event.incoming.body)
        ):
            return
        fixtures.save(
            self.folder,
            provider=event.provider,
            event_type=event.described.event_type,
            number=event.row,
            at=event.incoming.received_at,
            body=event.incoming.body,
            verdict=event.verdict,
        )


def _describe(
    name: str | None, incoming: Incoming, headers: Mapping[str, str]
) -> providers.Described:
    """What a body says about itself; without a signature header, judged by its shape."""
    return providers.get(name or providers.guess(incoming.body)).describe(incoming.body, headers)


#: Headers of which Node's http keeps the first and drops the rest when repeated; every
#: other repeated header it joins with ", " (``message.headers``, Node's documentation).
_NODE_KEEPS_FIRST = frozenset(
    {
        "age",
        "authorization",
        "content-length",
        "content-type",
        "etag",
        "expires",
        "from",
        "host",
        "if-modified-since",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "proxy-authorization",
        "referer",
        "retry-after",
        "server",
        "user-agent",
    }
)


def as_node_sees(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The headers as Node's http hands them to an app, and so to the official SDKs: a
    repeated header joined with ", " (two ``Mux-Signature`` headers are verified as one
    value, as the SDK would), or its first value for the few Node keeps one of."""
    seen: dict[str, str] = {}  # lower-cased name → the name as first written
    joined: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        first = seen.get(lowered)
        if first is None:
            seen[lowered] = name
            joined[name] = value
        elif lowered not in _NODE_KEEPS_FIRST:
            joined[first] += ", " + value
    return joined


def _count_named(headers: list[tuple[str, str]], wanted: str) -> int:
    wanted = wanted.lower()
    return sum(1 for name, _ in headers if name.lower() == wanted)


def _with_trailer_note(reason: str | None, trailers: tuple[str, ...]) -> str | None:
    """Say so when a signature header came only as a chunked trailer, which never counts."""
    sent = {name.lower() for name in trailers}
    for name in providers.NAMES:
        header = providers.get(name).HEADER
        if header.lower() in sent:
            note = f"{header} came as a chunked trailer, which does not count: send it as a header"
            return f"{reason}; {note}" if reason else note
    return reason


def _order_key(received: Received) -> str | None:
    object_id = received.described.object_id
    return f"{received.provider}:{object_id}" if object_id else None


def _answer_from(attempts: list[Attempt]) -> Answer:
    """The app's answer as production would see it: 502 when down, 504 on a timeout."""
    for attempt in attempts:
        if attempt.status is None:
            code = 504 if attempt.error and "timed out" in attempt.error else 502
            return Answer(code, json.dumps({"error": attempt.error}).encode())
        if not 200 <= attempt.status < 300:
            return Answer(attempt.status, attempt.response_start)
    first = attempts[0]
    return Answer(first.status or 200, first.response_start)
