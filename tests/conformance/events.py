"""Signed events for the matrix, and what the event log says about them."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import NamedTuple

from muxhook import signing
from muxhook.records import StoredEvent
from muxhook.store import EventLog

SECRET = "conformance-matrix-secret"
#: Seconds any one exchange may take before the case counts as hung.
BOUND = 15.0


class Event(NamedTuple):
    """One signed Mux-style event: its exact bytes and the headers a platform sends."""

    event_type: str
    event_id: str
    body: bytes
    headers: dict[str, str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def make_event(event_type: str, *, size: int = 1500) -> Event:
    """A signed event of ``event_type`` with a unique id and about ``size`` bytes of body,
    some of them outside ASCII (exact bytes, not text, must reach the app)."""
    event_id = str(uuid.uuid4())
    note = ("crème brûlée · 视频 · 🎬 " * (size // 40 + 1))[: size // 2]
    document = {
        "type": event_type,
        "object": {"type": "asset", "id": uuid.uuid4().hex},
        "id": event_id,
        "environment": {"name": "Conformance", "id": "matrix"},
        "data": {"status": "ready", "note": note},
        "created_at": "2026-12-01T12:00:00.000000Z",
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    headers = signing.sign(body, secret=SECRET, provider="mux")
    return Event(event_type, event_id, body, headers)


def logged(db: Path, event: Event, *, attempts: int = 1, timeout: float = BOUND) -> StoredEvent:
    """The event's row in the log at ``db`` once it has ``attempts`` attempts (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = _rows(db, event)
        if len(rows) > 1:
            raise AssertionError(f"{len(rows)} rows for one event {event.event_id}")
        if rows and len(rows[0].attempts) >= attempts:
            # An event and its attempts are read by two statements: the first read may
            # catch the row just before the commit that added the attempt, which sets
            # ``delivered`` in the same transaction. Read again, after it.
            (row,) = _rows(db, event)
            return row
        if time.monotonic() > deadline:
            got = f"{len(rows[0].attempts)} attempts" if rows else "no row"
            raise AssertionError(f"event {event.event_type} is not in the log as expected: {got}")
        time.sleep(0.02)


def _rows(db: Path, event: Event) -> list[StoredEvent]:
    with EventLog(db, read_only=True) as log:
        return [
            row
            for row in log.list(type_glob=event.event_type, limit=None)
            if row.event_id == event.event_id
        ]
