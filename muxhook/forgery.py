"""Forged webhooks: requests an app must refuse, made one way for ``replay --tamper`` and
``muxhook.testing``.

Each forgery is wrong in exactly one way, the way an attacker or a tampering proxy
would be, and is otherwise a well-formed request: the body of a JSON webhook stays
valid JSON, so an app that never checks signatures cannot pass by rejecting bad JSON.
Standard library only.
"""

from __future__ import annotations

import json
import typing
from typing import Literal, NamedTuple

from muxhook import providers, signing

__all__ = ["KINDS", "Forgery", "Kind", "changed_body", "forge", "forgeries"]

#: The ways a request can be forged: signed with another secret, its body changed after
#: signing, its signature header removed, or signed a day ago (platforms that sign a time).
Kind = Literal["secret", "body", "unsigned", "stale"]
KINDS: tuple[Kind, ...] = ("secret", "body", "unsigned", "stale")
LABELS: dict[Kind, str] = {
    "secret": "signed with another secret",
    "body": "body changed after signing",
    "unsigned": "no signature header",
    "stale": "timestamp a day old",
}
_DAY = 86_400


class Forgery(NamedTuple):
    """A forged request: how it was forged, its headers and its body."""

    kind: Kind
    headers: dict[str, str]
    body: bytes

    @property
    def label(self) -> str:
        """What is wrong with it, in words."""
        return LABELS[self.kind]


def forge(kind: Kind, body: bytes, *, provider: str, secret: str, now: int) -> Forgery:
    """One forgery of ``body`` as ``provider`` signs it at ``now`` with ``secret``."""
    platform = providers.get(provider)
    if kind == "secret":
        other = platform.other_secret(secret)
        return Forgery(
            kind, signing.sign(body, secret=other, provider=provider, timestamp=now), body
        )
    if kind == "body":
        genuine = signing.sign(body, secret=secret, provider=provider, timestamp=now)
        return Forgery(kind, genuine, changed_body(body))
    if kind == "unsigned":
        genuine = signing.sign(body, secret=secret, provider=provider, timestamp=now)
        header = platform.HEADER.lower()
        return Forgery(kind, {k: v for k, v in genuine.items() if k.lower() != header}, body)
    if not platform.SIGNS_TIMESTAMP:
        raise ValueError(f"{platform.LABEL} signs no timestamp: it has no stale forgery")
    stale = signing.sign(body, secret=secret, provider=provider, timestamp=now - _DAY)
    return Forgery(kind, stale, body)


def forgeries(body: bytes, *, provider: str, secret: str, now: int) -> list[Forgery]:
    """Every forgery that applies to ``provider`` (a stale one only when it signs a time)."""
    timed = providers.get(provider).SIGNS_TIMESTAMP
    return [
        forge(kind, body, provider=provider, secret=secret, now=now)
        for kind in KINDS
        if kind != "stale" or timed
    ]


def changed_body(body: bytes) -> bytes:
    """``body`` with one value changed: still valid JSON when it was, else one byte flipped.

    The last string (or else number) in the document changes, as a proxy rewriting a
    field would; the result is compact JSON.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _flipped(body)
    if not _change_last_leaf(document):
        return _flipped(body)
    changed = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return changed if changed != body else _flipped(body)


def _change_last_leaf(node: typing.Any) -> bool:
    """Change the last string or number under ``node`` in place; False when it has none."""
    items: list[tuple[typing.Any, typing.Any]]
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return False
    for key, value in reversed(items):
        if isinstance(value, str):
            node[key] = _changed_text(value)
            return True
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[key] = value + 1
            return True
        if _change_last_leaf(value):
            return True
    return False


def _changed_text(text: str) -> str:
    for position in range(len(text) - 1, -1, -1):
        char = text[position]
        if char.isascii() and char.isalnum():
            swapped = {"9": "8", "z": "y", "Z": "Y"}.get(char, chr(ord(char) + 1))
            return text[:position] + swapped + text[position + 1 :]
    return text + "x"


def _flipped(body: bytes) -> bytes:
    """One ASCII letter or digit changed, from the end; the last byte when there is none."""
    if not body:
        return b" "
    for position in range(len(body) - 1, -1, -1):
        byte = body[position]
        if 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A:
            flipped = byte + 1 if byte not in (0x39, 0x5A, 0x7A) else byte - 1
            return body[:position] + bytes([flipped]) + body[position + 1 :]
    return body[:-1] + bytes([body[-1] ^ 0x01])
