"""The one data flow of ``listen``: request in → record → verify → show → forward.

``Pipeline.handle`` takes a request as received and returns the answer for the
platform. The request is in the event log, committed, before it is shown,
forwarded or answered, so nothing received is lost whatever fails later. The
verdict is pure computation on the bytes in hand, so it is worked out while the
row waits for its commit and written in the same row: one write instead of two.
Lines are drawn just after the answer goes out, not before: showing an event is not
on the sender's clock (at 100 events/s, drawing first cost 0.09 ms per request).
``replay`` sends through the same ``Forwarder`` and ``OrderedGate``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import json
import time
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from muxhook import fixtures, providers, signing
from muxhook.errors import MuxhookError, SignatureError
from muxhook.forward import Forwarder, OrderedGate, Route, forwardable_headers
from muxhook.store import Attempt, EventLog, GroupCommit, Incoming

__all__ = ["Answer", "Delivered", "ListenSettings", "Pipeline", "Received", "Stats", "Trusted"]


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
    extra_headers: tuple[tuple[str, str], ...] = ()
    ack: str = "app"  # "app": answer with the app's status; "immediate": 200 once recorded
    retries: int = 5  # with ack=immediate: attempts after the first, backing off
    retry_base: float = 1.0  # seconds before the first retry; doubles each time
    shown_events: tuple[str, ...] = ()  # globs; empty: every event
    save_dir: Path | None = None


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


class Delivered(NamedTuple):
    """A forward attempt's outcome, for the renderer."""

    received: Received
    attempt: Attempt
    number: int  # 1 for the first attempt, 2 for the first retry, …
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
    failed: int = 0
    rejected: int = 0


class Reporter(typing.Protocol):
    """Where the pipeline's news goes: the renderer, or a list in tests."""

    def received(self, event: Received) -> None: ...
    def delivered(self, event: Delivered) -> None: ...
    def slow(self, event: Delivered, limit: float, provider: str) -> None: ...
    def rejected(self, incoming: Incoming, status: int, reason: str) -> None: ...
    def unrecorded(self, incoming: Incoming, reason: str) -> None: ...
    def log_failed(self, error: Exception) -> None: ...


class Pipeline:
    """Handles every request the listener receives."""

    def __init__(
        self,
        settings: ListenSettings,
        log: EventLog,
        forwarder: Forwarder | None,
        reporter: Reporter,
        *,
        concurrency: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.log = log
        self.forwarder = forwarder
        self.reporter = reporter
        self.clock = clock
        self.gate = OrderedGate(concurrency)
        self.stats = Stats()
        self.writes = GroupCommit(log, on_error=reporter.log_failed)
        self._background: set[asyncio.Task[None]] = set()
        self._in_hand = 0  # requests between arrival and answer

    # -- the flow --------------------------------------------------------------

    async def handle(self, incoming: Incoming) -> Answer:
        """Record, verify, show and forward one request; return the answer for the platform."""
        self._in_hand += 1
        try:
            return await self._handle(incoming)
        finally:
            self._in_hand -= 1

    async def handle_trusted(self, incoming: Incoming, trusted: Trusted) -> Answer:
        """The same flow for an event that did not come as a signed POST (see ``Trusted``)."""
        self._in_hand += 1
        try:
            return await self._handle(incoming, trusted)
        finally:
            self._in_hand -= 1

    async def _handle(self, incoming: Incoming, trusted: Trusted | None = None) -> Answer:
        headers = dict(incoming.headers)
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
        shown = not self.settings.shown_events or any(
            fnmatch.fnmatchcase(described.event_type or "", glob)
            for glob in self.settings.shown_events
        )
        refused = verdict == "invalid" and not self.settings.forward_invalid
        routes = [r for r in self.settings.routes if r.matches(described.event_type)]
        forwarding = not refused and shown and bool(routes) and self.forwarder is not None
        if trusted is not None and trusted.repeat:
            forwarding = False  # the first copy was forwarded (or failed, and is in the log)
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
                alone=self._in_hand == 1,
            )
        except MuxhookError as error:
            # Not stored, so not accepted: the platform keeps it and tries again later.
            self.reporter.unrecorded(incoming, str(error))
            return Answer(503, f"muxhook could not record this request: {error}\n".encode())
        received = Received(
            row, incoming, name, described, verdict, reason, duplicate, shown, forwarding
        )
        self._count(received)
        self._save(received)
        self._show(self.reporter.received, received)  # 3.
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
        try:
            row, _ = await self.writes.record(incoming)
        except MuxhookError as error:
            self.reporter.unrecorded(incoming, str(error))
            return
        self.writes.set_verdict(
            row,
            provider=None,
            event_type=None,
            event_key=None,
            object_id=None,
            verdict="rejected",
            reason=f"{status}: {reason}",
            duplicate=False,
        )
        self.stats.rejected += 1
        self.reporter.rejected(incoming, status, reason)

    async def deliver(self, received: Received, routes: list[Route]) -> list[Attempt]:
        """Forward one recorded event to every route, in its object's turn."""
        assert self.forwarder is not None
        headers = self._outgoing_headers(received)
        key = _order_key(received)
        body = received.incoming.body
        async with self.gate.turn(key):
            if len(routes) == 1:  # the usual case: no task per route
                attempts = [await self.forwarder.post(routes[0].url, body, headers)]
            else:
                attempts = await asyncio.gather(
                    *(self.forwarder.post(r.url, body, headers) for r in routes)
                )
        for attempt in attempts:
            self._finish(received, attempt, number=1, final=True)
        return list(attempts)

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for background deliveries, then commit every queued write.

        Returns how many deliveries were cut off (their attempts so far are in the log).
        """
        pending = set(self._background)
        still: set[asyncio.Task[None]] = set()
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
        await self.writes.drain()  # commits every queued write
        await asyncio.sleep(0)  # and every line still to show is drawn
        return len(still)

    # -- steps -----------------------------------------------------------------

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
        assert self.forwarder is not None
        headers = self._outgoing_headers(received)
        key = _order_key(received)
        for route in routes:
            for number in range(1, self.settings.retries + 2):
                async with self.gate.turn(key):
                    attempt = await self.forwarder.post(route.url, received.incoming.body, headers)
                ok = attempt.status is not None and 200 <= attempt.status < 300
                final = ok or number == self.settings.retries + 1
                self._finish(received, attempt, number=number, final=final)
                if final:
                    break
                await asyncio.sleep(self.settings.retry_base * 2 ** (number - 1))

    def _finish(self, received: Received, attempt: Attempt, *, number: int, final: bool) -> None:
        self.writes.add_attempt(received.row, attempt)
        ok = attempt.status is not None and 200 <= attempt.status < 300
        if ok:
            self.stats.forwarded += 1
        elif final:
            self.stats.failed += 1
        delivered = Delivered(received, attempt, number, final)
        self._show(self.reporter.delivered, delivered)
        limit = providers.get(received.provider).ATTEMPT_TIMEOUT if received.provider else None
        if limit and attempt.latency_ms is not None and attempt.latency_ms > limit * 1000:
            self._show(self.reporter.slow, delivered, limit, received.provider or "")

    @staticmethod
    def _show(report: Callable[..., None], *news: object) -> None:
        """Report once the current request's answer is written: the loop's next turn, in
        the order reported."""
        asyncio.get_running_loop().call_soon(report, *news)

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

    def _save(self, received: Received) -> None:
        """With --save DIR: the exact body as a fixture file, replayable as it is."""
        if self.settings.save_dir is None:
            return
        try:
            fixtures.save(
                self.settings.save_dir,
                provider=received.provider or providers.guess(received.incoming.body),
                event_type=received.described.event_type,
                number=received.row,
                at=received.incoming.received_at,
                body=received.incoming.body,
            )
        except MuxhookError as error:  # the request is recorded; only its copy failed
            self.reporter.log_failed(error)


def _describe(
    name: str | None, incoming: Incoming, headers: Mapping[str, str]
) -> providers.Described:
    """What a body says about itself; without a signature header, judged by its shape."""
    return providers.get(name or providers.guess(incoming.body)).describe(incoming.body, headers)


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
