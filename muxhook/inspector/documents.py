"""The JSON the inspector's API answers: an event, its attempts, an object's timeline.

Every event is ``muxhook.records.event_json``, the one JSON form that ``log list --json``
and ``log show --json`` print, so a script reading the API and one reading the CLI see the
same fields. The inspector adds what only it needs: the
provider's label, when the body says the event happened, and the app's answers.
Secrets never appear here: the signature header is shown, the secret is not.
"""

from __future__ import annotations

import base64
import typing
from collections.abc import Sequence

from muxhook import providers
from muxhook.records import event_json

if typing.TYPE_CHECKING:
    from muxhook.records import Attempt, StoredEvent

__all__ = ["answer", "detail", "event_targets", "summary", "timeline"]

Document = dict[str, typing.Any]

#: At most this many events in one object's timeline (the newest are kept).
TIMELINE_LIMIT = 1000


def event_targets(row: StoredEvent) -> list[str]:
    """Where an event goes on a Replay: its own targets, as the log keeps them (a v1 log
    keeps none: then where it was forwarded); none for an event never forwarded (Replay
    then asks for a URL)."""
    if row.targets:
        return [target.url for target in row.targets]
    return list(dict.fromkeys(attempt.target for attempt in row.attempts))


def summary(row: StoredEvent) -> Document:
    """One line of the live list: the event's JSON form without headers or body."""
    return event_json(row)


def detail(row: StoredEvent) -> Document:
    """Everything about one event: headers, body, attempts with the app's answers."""
    document = event_json(row, body=True)
    provider = _provider(row)
    described = provider.describe(row.body, dict(row.headers)) if provider else None
    document["label"] = provider.LABEL if provider else None
    document["occurred_at"] = described.occurred_at if described else None
    document["replay_to"] = event_targets(row)
    document["size"] = len(row.body)
    for attempt_document, attempt in zip(document["attempts"], row.attempts, strict=True):
        attempt_document.update(answer(attempt))
    return document


def timeline(rows: Sequence[StoredEvent]) -> Document:
    """Every event about one object in the order received, the states it passed through,
    and what looks wrong: a state without its object's creation, a duplicate, an event
    that happened before one received earlier, a failed forward.
    """
    ordered = sorted(rows, key=lambda row: row.id)[-TIMELINE_LIMIT:]
    entries: list[Document] = []
    seen_types: set[str] = set()
    seen_keys: dict[str, int] = {}
    latest: tuple[float, int] | None = None  # the latest body time so far, and its event
    missing_birth: set[str] = set()  # creation events already flagged as missing
    for row in ordered:
        provider = _provider(row)
        described = provider.describe(row.body, dict(row.headers)) if provider else None
        occurred = described.occurred_at if described else None
        flags: list[Document] = []
        event_type = row.event_type or ""
        created = provider.creation_event(event_type) if provider and event_type else None
        if created and created not in seen_types and created not in missing_birth:
            missing_birth.add(created)
            state = event_type.rpartition(".")[2]
            flags.append(
                _flag("no_created", f"{state} without created: no {created} was received before it")
            )
        if row.event_id and row.event_id in seen_keys:
            flags.append(
                _flag("duplicate", f"duplicate of #{seen_keys[row.event_id]} (same event id)")
            )
        elif row.duplicate:
            flags.append(_flag("duplicate", "duplicate of an earlier event (same event id)"))
        if occurred is not None and latest is not None and occurred < latest[0]:
            flags.append(
                _flag(
                    "out_of_order",
                    f"out of order: it happened before #{latest[1]}, which arrived earlier",
                )
            )
        if row.attempts and not row.attempts[-1].ok:
            flags.append(_flag("forward_failed", _failure(row.attempts[-1])))
        if event_type:
            seen_types.add(event_type)
        if row.event_id:
            seen_keys.setdefault(row.event_id, row.id)
        if occurred is not None and (latest is None or occurred > latest[0]):
            latest = (occurred, row.id)
        entry = summary(row)
        entry["occurred_at"] = occurred
        entry["state"] = event_type.rpartition(".")[2] if event_type else None
        entry["flags"] = flags
        entries.append(entry)
    states: list[str] = []
    for entry in entries:
        duplicate = any(flag["kind"] == "duplicate" for flag in entry["flags"])
        if entry["state"] and not duplicate and (not states or states[-1] != entry["state"]):
            states.append(entry["state"])
    first = ordered[0] if ordered else None
    return {
        "provider": first.provider if first else None,
        "object_id": first.object_id if first else None,
        "states": states,
        "flagged": sum(1 for entry in entries if entry["flags"]),
        "events": entries,
    }


def _flag(kind: str, text: str) -> Document:
    return {"kind": kind, "text": text}


def _failure(attempt: Attempt) -> str:
    if attempt.status is None:
        return f"forward failed: {attempt.error or 'no answer'}"
    return f"forward failed: the app answered {attempt.status}"


def answer(attempt: Attempt) -> Document:
    """The app's answer as the log keeps it: the start of its body, text or base64."""
    start = bytes(attempt.response_start)
    try:
        return {"response": start.decode("utf-8"), "response_size": len(start)}
    except UnicodeDecodeError:
        encoded = base64.b64encode(start).decode("ascii")
        return {"response_base64": encoded, "response_size": len(start)}


def _provider(row: StoredEvent) -> providers.Provider | None:
    name = row.provider
    if name is None or name not in providers.REGISTRY:
        return None
    return providers.get(name)
