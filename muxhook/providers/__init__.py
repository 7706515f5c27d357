"""Webhook providers: one small module each, all of the same shape.

A provider module (``mux``, ``fastpix``, ``millicast``) defines:

- ``NAME``, ``LABEL`` (the name people write), ``HEADER`` (the signature header),
  ``SECRET_ENV`` (its environment variable);
- ``secret_key(secret) -> bytes``: how the dashboard secret becomes the HMAC key;
- ``parse_header(value) -> SignedHeader``: the header's timestamp and signatures;
- ``signature(body, key, timestamp) -> str``: one signature as it appears in the header;
- ``sign(body, *, secret, timestamp) -> dict``: the headers that sign ``body``;
- ``verify(body, headers, *, secret, now, tolerance, max_future) -> Verdict``;
- ``describe(body, headers) -> Described``: its event type, event id and object id;
- ``event_type(body, headers) -> str | None``: the event name a body carries;
- ``EVENTS``: its catalog of event types; ``MODEL``: the name of its envelope model
  in ``muxhook.models`` (imported only when a command parses events).

Everything here is standard library only, so ``sign`` and ``verify`` start fast.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import importlib
import json
import typing
from collections.abc import Iterable, Mapping
from typing import NamedTuple

if typing.TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "NAMES",
    "Described",
    "EventType",
    "SignedHeader",
    "Verdict",
    "any_matches",
    "base64_secret_key",
    "catalog",
    "detect",
    "get",
    "guess",
    "guess_from_fields",
    "header_value",
    "json_field",
    "json_fields",
    "lower_headers",
    "utf8_secret_key",
    "verify_body_signature",
]

#: Provider names in detection order; Mux is the default.
NAMES: tuple[str, ...] = ("mux", "fastpix", "millicast")
_loaded: dict[str, ModuleType] = {}  # by ``get``: the listener asks several times per request


class EventType(NamedTuple):
    """One entry of a provider's event catalog."""

    name: str
    description: str
    legacy: bool = False


class SignedHeader(NamedTuple):
    """What a signature header carries: an optional timestamp and the signatures."""

    timestamp: str | None
    signatures: tuple[str, ...]


class Described(NamedTuple):
    """What a body says about itself: its event type, event id and the object it is about."""

    event_type: str | None = None
    event_id: str | None = None
    object_id: str | None = None


def load_object(body: bytes) -> dict[str, typing.Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def text_or_none(value: object) -> str | None:
    """``value`` when it is a non-empty string or a number (as text), else None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


class Verdict(NamedTuple):
    """A signature that verified."""

    provider: str
    header: str
    timestamp: int | None = None
    age: float | None = None  # seconds between the timestamp and ``now``


def catalog(
    entries: Iterable[tuple[str, str]], legacy: Iterable[tuple[str, str]] = ()
) -> dict[str, EventType]:
    """Build an ordered catalog from ``(name, description)`` pairs."""
    events = {name: EventType(name, text) for name, text in entries}
    events.update({name: EventType(name, text, legacy=True) for name, text in legacy})
    return events


def get(name: str) -> ModuleType:
    """Return the provider module called ``name`` (``mux``, ``fastpix``, ``millicast``)."""
    if name not in NAMES:
        from muxhook.errors import UsageError

        raise UsageError(f"unknown provider {name!r}; choose one of: {', '.join(NAMES)}")
    module = _loaded.get(name)
    if module is None:  # imported on first use: ``sign`` for Mux never loads the others
        module = _loaded[name] = importlib.import_module(f"muxhook.providers.{name}")
    return module


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased, as HTTP treats them; a repeated name keeps its last value."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name.lower(): value for name, value in items}


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, looked up without regard to case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def detect(headers: Mapping[str, str]) -> str | None:
    """The provider whose signature header is present, or None."""
    names = {key.lower() for key in headers}
    for name in NAMES:
        if get(name).HEADER.lower() in names:
            return name
    return None


def guess_from_fields(payload: Mapping[str, object]) -> str:
    """The provider a JSON object's top-level fields suggest: Millicast, FastPix, else Mux."""
    if "event" in payload and "timestamp" in payload:
        return "millicast"
    if "workspace" in payload or "createdAt" in payload or "webhookId" in payload:
        return "fastpix"
    return "mux"


def guess(body: bytes) -> str:
    """The provider a body's shape suggests, when no header or folder says."""
    if body.startswith(b"\xff\xd8"):
        return "millicast"  # a JPEG: Millicast's thumbnail hook
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "mux"
    return guess_from_fields(parsed) if isinstance(parsed, dict) else "mux"


def any_matches(expected: str, signatures: Iterable[str]) -> bool:
    """True when any of ``signatures`` equals ``expected``, compared in constant time.

    Every candidate is compared, so the time taken does not say which one matched.
    """
    found = False
    for candidate in signatures:
        found |= hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
    return found


def utf8_secret_key(secret: str, provider: str) -> bytes:
    """A secret used as it is (Mux): its UTF-8 bytes, never empty.

    A secret from the environment that is not valid UTF-8 arrives as lone surrogates
    (``os.environ`` decodes with surrogateescape): encoding it back gives the bytes
    that were set, which is the key the sender used.
    """
    from muxhook.errors import UsageError

    if not secret:
        raise UsageError(f"the {provider} secret is empty: give the endpoint's signing secret")
    try:
        return secret.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise UsageError(f"the {provider} secret cannot be encoded as bytes") from None


def base64_secret_key(secret: str, provider: str) -> bytes:
    """Decode a secret that the platform shows base64-encoded (FastPix, Millicast)."""
    from muxhook.errors import UsageError

    text = secret.strip()
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        hint = "remove the quotes around it" if quoted else "copy it exactly from the dashboard"
        raise UsageError(
            f"the {provider} secret is not base64: {provider} shows its signing secret "
            f"base64-encoded; {hint}"
        ) from None
    if not key:
        raise UsageError(f"the {provider} secret is empty: give the endpoint's signing secret")
    return key


def json_fields(body: bytes, *names: str) -> tuple[object, ...]:
    """Top-level fields of a JSON object body; None for each when the body is not one."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        return tuple(None for _ in names)
    return tuple(parsed.get(name) for name in names)


def json_field(body: bytes, name: str) -> object:
    """One top-level field of a JSON object body, or None."""
    return json_fields(body, name)[0]


def verify_body_signature(
    body: bytes,
    headers: Mapping[str, str],
    *,
    name: str,
    header: str,
    parse: typing.Callable[[str], SignedHeader],
    expected: str,
) -> Verdict:
    """The check of a provider that signs the body alone (FastPix, Millicast).

    ``expected`` is the signature the secret gives for ``body``; any signature in the
    header may match it, compared in constant time.
    """
    from muxhook.errors import SignatureError

    value = header_value(headers, header)
    if value is None:
        raise SignatureError("missing_header", f"no {header} header", provider=name)
    if not any_matches(expected, parse(value).signatures):
        raise SignatureError(
            "mismatch", f"{header} does not match the body and secret", provider=name
        )
    return Verdict(name, header)
