"""What the event log holds, as values: a request as received, its forwarding targets and
attempts, and the stored event with its status; and the one JSON form of an event.

These are the types every part of muxhook passes around (the listener, the pipeline,
``replay``, the ``log`` commands, the inspector); ``muxhook.store`` keeps them in SQLite.
Standard library only.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "EVENT_SCHEMA",
    "RESPONSE_KEEP",
    "STATUSES",
    "VERDICTS",
    "Attempt",
    "Incoming",
    "Resign",
    "StoredEvent",
    "Target",
    "decode_targets",
    "encode_targets",
    "event_json",
]

#: Bytes of the app's answer kept per attempt: enough to show and record, never a page.
RESPONSE_KEEP = 2048
VERDICTS = ("valid", "invalid", "unverified", "rejected")
#: The error of an attempt that muxhook stopped (a second Ctrl-C, the end of the grace).
CUT_OFF = "cut off: muxhook stopped"
#: ... once the request was on its way: the app may have taken it.
CUT_OFF_UNANSWERED = f"{CUT_OFF} before your app answered"
STATUSES = ("ok", "invalid", "failed", "received")
#: The version of ``event_json``'s form; it changes only when a field changes meaning.
EVENT_SCHEMA = 2


class Incoming(NamedTuple):
    """One HTTP request as received, before anything looked at it."""

    received_at: float  # unix seconds, from the caller's clock
    method: str
    path: str  # path, plus "?query" if any
    headers: list[tuple[str, str]]  # in arrival order, duplicates kept
    body: bytes
    remote: str  # "127.0.0.1:53422"


class Attempt(NamedTuple):
    """One try at forwarding an event to the developer's app."""

    attempted_at: float
    target: str
    status: int | None  # the HTTP status, None when there was no answer
    latency_ms: float | None
    response_start: bytes  # the first RESPONSE_KEEP bytes of the answer at most
    error: str | None  # why there was no usable answer (refused, timed out)
    #: The headers of the app's answer, as it sent them (none kept by a v2 log).
    response_headers: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when the app answered 2xx and nothing went wrong."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class Resign(NamedTuple):
    """How listen re-signed an event for the app (``--forward-secret``), without the secret.

    ``source`` says where the secret came from (``--forward-secret``,
    ``MUXHOOK_FORWARD_SECRET``, ``.env (MUXHOOK_FORWARD_SECRET)``); ``fingerprint``
    (``muxhook.secrets.fingerprint``) tells whether a secret found later is the same.
    """

    source: str
    fingerprint: str


class Target(NamedTuple):
    """Where listen was to forward an event: one route's URL, with what it added."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()  # the -H headers, sent after the original ones
    resign: Resign | None = None  # None: sent with the platform's own signature


def encode_targets(targets: Sequence[Target]) -> str | None:
    """The ``targets`` column: ``[{"url", "headers"?, "resign"?: {"source", "fingerprint"}}]``;
    None for no targets."""
    if not targets:
        return None
    documents: list[dict[str, object]] = []
    for target in targets:
        document: dict[str, object] = {"url": target.url}
        if target.headers:
            document["headers"] = [list(pair) for pair in target.headers]
        if target.resign is not None:
            document["resign"] = target.resign._asdict()
        documents.append(document)
    return json.dumps(documents, separators=(",", ":"))


def decode_targets(text: str | None) -> list[Target]:
    """The targets stored in a ``targets`` column (``encode_targets`` read back)."""
    if not text:
        return []
    targets = []
    for document in json.loads(text):
        resign = document.get("resign")
        targets.append(
            Target(
                document["url"],
                tuple((name, value) for name, value in document.get("headers", ())),
                Resign(resign["source"], resign["fingerprint"]) if resign else None,
            )
        )
    return targets


class StoredEvent(NamedTuple):
    """A recorded request, what verification said about it, and its attempts."""

    id: int
    received_at: float
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    remote: str
    provider: str | None
    event_type: str | None
    event_id: str | None  # the platform's own event id
    object_id: str | None
    verdict: str | None  # one of VERDICTS, None before verification
    reason: str | None
    duplicate: bool
    attempts: list[Attempt]
    delivered: bool | None = None  # None: not to be forwarded; False: failed or not yet
    targets: tuple[Target, ...] = ()  # where listen was to forward it (schema v2)

    @property
    def status(self) -> str:
        """One word for ``log list``, one of STATUSES.

        ``invalid`` when the verdict is invalid or rejected, whatever happened next.
        An event with targets is ``ok`` when the latest attempt to each of its targets
        was 2xx, and ``failed`` otherwise (no attempt yet included); attempts to other
        URLs (``log replay --to``) do not count. An event without targets (not to be
        forwarded when it came, or recorded by a v1 log) goes by its latest attempt,
        whatever its URL: ``received`` when it has none and was never due.
        ``EventLog.list(status=...)`` filters by the same rule, kept in SQL by a trigger.
        """
        if self.verdict in ("invalid", "rejected"):
            return "invalid"
        if self.targets:
            return "ok" if not self.undelivered() else "failed"
        if not self.attempts:
            return "received" if self.delivered is None else "failed"
        return "ok" if self.attempts[-1].ok else "failed"

    def undelivered(self) -> list[Target]:
        """The targets whose latest attempt was not 2xx (or that have none), in order."""
        latest = {attempt.target: attempt for attempt in self.attempts}
        return [t for t in self.targets if t.url not in latest or not latest[t.url].ok]

    def unknown_outcome(self) -> list[Target]:
        """The targets the event may have reached without the log knowing: no attempt of
        theirs was committed (a crash), or the latest was cut off after it was sent (a
        second Ctrl-C), so a replay to them may be the app's second copy."""
        latest = {attempt.target: attempt for attempt in self.attempts}
        return [
            t
            for t in self.targets
            if t.url not in latest or (latest[t.url].error or "") == CUT_OFF_UNANSWERED
        ]

    def unattempted(self) -> list[Target]:
        """The targets no attempt of which is in the log. After a crash (``kill -9``) the
        event may still have reached them: the forward can have started, or even been
        answered, before its attempt was committed."""
        tried = {attempt.target for attempt in self.attempts}
        return [t for t in self.targets if t.url not in tried]


def event_json(event: StoredEvent, *, body: bool = False) -> dict[str, typing.Any]:
    """The one JSON form of an event: ``listen --json``, ``log list --json``, ``log show
    --json``, ``replay --from-log --json`` and the inspector's API all write this.

    ``body`` adds the request's headers and its body (as text, or ``body_base64`` when it
    is not UTF-8). The README's "JSON form of an event" documents every field.
    """
    document: dict[str, typing.Any] = {
        "schema": EVENT_SCHEMA,
        "id": event.id,
        "received_at": event.received_at,
        "method": event.method,
        "path": event.path,
        "provider": event.provider,
        "type": event.event_type,
        "event_id": event.event_id,
        "object_id": event.object_id,
        "verdict": event.verdict,
        "reason": event.reason,
        "duplicate": event.duplicate,
        "status": event.status,
        "targets": [
            {
                "url": target.url,
                "headers": [name for name, _ in target.headers],
                "resigned_from": target.resign.source if target.resign else None,
            }
            for target in event.targets
        ],
        "attempts": [
            {
                "attempted_at": attempt.attempted_at,
                "target": attempt.target,
                "status": attempt.status,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
                "response_headers": [list(pair) for pair in attempt.response_headers],
            }
            for attempt in event.attempts
        ],
    }
    if body:
        document["headers"] = [list(pair) for pair in event.headers]
        try:
            document["body"] = event.body.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            document["body_base64"] = base64.b64encode(event.body).decode("ascii")
    return document
