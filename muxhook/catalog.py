"""Look up event types across the providers' catalogs.

A bare name belongs to the default provider (Mux); ``fastpix:video.media.ready``
and ``millicast:media.completed`` name another provider's event.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator

from muxhook import providers
from muxhook.errors import UnknownEventError
from muxhook.providers import EventType

__all__ = ["find", "iter_events", "lookup", "qualified", "split_name"]


def split_name(ref: str, default_provider: str | None = None) -> tuple[str, str]:
    """``"fastpix:video.media.ready"`` → ``("fastpix", "video.media.ready")``."""
    prefix, sep, rest = ref.partition(":")
    if sep and prefix in providers.NAMES:
        return prefix, rest
    return default_provider or providers.DEFAULT, ref


def qualified(provider: str, name: str) -> str:
    """The name as a user types it: bare for the default provider, ``provider:name``
    otherwise."""
    return name if provider == providers.DEFAULT else f"{provider}:{name}"


def iter_events(provider: str | None = None) -> Iterator[tuple[str, EventType]]:
    """Every ``(provider, event type)``, in catalog order, optionally for one provider."""
    for name in (provider,) if provider else providers.NAMES:
        events: dict[str, EventType] = providers.get(name).EVENTS
        for event in events.values():
            yield name, event


def find(pattern: str | None = None, provider: str | None = None) -> list[tuple[str, EventType]]:
    """Events whose name matches a glob (``video.asset.*``) or contains ``pattern``."""
    if not pattern:
        return list(iter_events(provider))
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    return [
        (name, event)
        for name, event in iter_events(provider)
        if fnmatch.fnmatchcase(event.name, glob)
        or fnmatch.fnmatchcase(qualified(name, event.name), glob)
    ]


def lookup(ref: str, default_provider: str | None = None) -> tuple[str, EventType]:
    """The catalog entry ``ref`` names; UnknownEventError with suggestions if none."""
    provider, name = split_name(ref, default_provider)
    events: dict[str, EventType] = providers.get(provider).EVENTS
    if name in events:
        return provider, events[name]
    raise UnknownEventError(name, providers.get(provider).LABEL, suggest(provider, name))


def suggest(provider: str, name: str, limit: int = 3) -> list[str]:
    """Close names: first in ``provider``'s catalog, then exact names elsewhere."""
    own = list(providers.get(provider).EVENTS)
    close = difflib.get_close_matches(name, own, n=limit, cutoff=0.6)
    suggestions = [qualified(provider, match) for match in close]
    for other in providers.NAMES:
        if other != provider and name in providers.get(other).EVENTS:
            suggestions.insert(0, qualified(other, name))
    return suggestions[:limit]
