"""Mux: ``Mux-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``.

The key is the endpoint's signing secret, as UTF-8 bytes. Several ``v1`` entries
may appear (any match passes); other schemes are ignored. muxhook is stricter than
the official Node SDK in two places, both listed in the README: ``t`` must be an
integer (the SDK signs ``"NaN."`` for ``t=abc`` and accepts it), and a timestamp
too far in the future is refused (the SDK has no such check).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from muxhook.errors import SignatureError
from muxhook.providers import (
    Described,
    SignedHeader,
    Verdict,
    any_matches,
    header_value,
    load_object,
    text_or_none,
    utf8_secret_key,
)
from muxhook.providers._mux_events import EVENTS

__all__ = [
    "EVENTS",
    "HEADER",
    "LABEL",
    "MODEL",
    "NAME",
    "SECRET_ENV",
    "describe",
    "event_type",
    "parse_header",
    "secret_key",
    "sign",
    "signature",
    "verify",
]

NAME = "mux"
LABEL = "Mux"
HEADER = "Mux-Signature"
SECRET_ENV = "MUX_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)
MODEL = "MuxEvent"
DEFAULT_TOLERANCE = 300.0

_INTEGER = re.compile(r"[0-9]{1,15}")


def secret_key(secret: str) -> bytes:
    """Mux keys the HMAC with the secret exactly as shown in the dashboard."""
    return utf8_secret_key(secret, LABEL)


def signature(body: bytes, key: bytes, timestamp: str | None) -> str:
    """The ``v1`` value: lowercase hex HMAC-SHA256 of ``"<t>." + body``."""
    message = (timestamp or "").encode("ascii", "replace") + b"." + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The headers that sign ``body`` at ``timestamp`` (unix seconds)."""
    if not 0 <= int(timestamp) < 10**15:
        from muxhook.errors import UsageError

        raise UsageError(f"timestamp {timestamp} is not unix seconds (0 to 10^15)")
    t = str(int(timestamp))
    return {
        HEADER: f"t={t},v1={signature(body, secret_key(secret), t)}",
        "Content-Type": "application/json",
    }


def parse_header(value: str) -> SignedHeader:
    """Split ``t=…,v1=…[,v1=…]``; keys are taken as written, split on the first ``=``.

    Raises SignatureError when there is no usable ``t`` or no ``v1`` entry.
    """
    timestamp: str | None = None
    signatures: list[str] = []
    spaced = False
    # Whitespace around the whole value is not part of it (HTTP's optional whitespace,
    # which the SDK's Headers object trims too); inside it, keys are read as written.
    for item in value.strip().split(","):
        key, sep, val = item.partition("=")
        spaced |= key != key.strip()
        if not sep:
            continue
        if key == "t":
            timestamp = val  # the last one wins, as in the official SDK
        elif key == "v1":
            signatures.append(val)
    if timestamp is None:
        raise SignatureError(
            "malformed_header",
            f"{HEADER} has no t= timestamp (expected t=<unix seconds>,v1=<hex>; "
            f"got {_preview(value)})",
            provider=NAME,
        )
    if not _INTEGER.fullmatch(timestamp):
        raise SignatureError(
            "malformed_header",
            f"{HEADER} timestamp t={_preview(timestamp)} is not a whole number of seconds",
            provider=NAME,
        )
    if not signatures:
        # Like the official SDK, keys are read exactly as written: " v1" is not v1.
        where = "; it has spaces around its keys, which Mux never sends" if spaced else ""
        raise SignatureError(
            "no_signature",
            f"{HEADER} has no v1= signature (schemes other than v1 are ignored){where}",
            provider=NAME,
        )
    return SignedHeader(timestamp, tuple(signatures))


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
    max_future: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Check ``body`` against its ``Mux-Signature``; raise SignatureError if it fails.

    The signature is checked before the age, as the official SDK does, so a forged
    and old request reports the mismatch.
    """
    key = secret_key(secret)  # an empty secret is refused before anything else
    value = header_value(headers, HEADER)
    if value is None:
        raise SignatureError("missing_header", f"no {HEADER} header", provider=NAME)
    parsed = parse_header(value)
    assert parsed.timestamp is not None  # parse_header guarantees it
    expected = signature(body, key, parsed.timestamp)
    if not any_matches(expected, parsed.signatures):
        raise SignatureError(
            "mismatch",
            f"{HEADER} does not match the body and secret",
            provider=NAME,
        )
    t = int(parsed.timestamp)
    age = now - t
    if age > tolerance:
        raise SignatureError(
            "stale",
            f"the timestamp is {age:.0f} s old, over the {tolerance:.0f} s tolerance "
            "(re-sign it, or pass --now/--tolerance to check an old capture)",
            provider=NAME,
        )
    if -age > max_future:
        hint = " (it looks like milliseconds: t must be in seconds)" if t > 10**11 else ""
        raise SignatureError(
            "future",
            f"the timestamp is {-age:.0f} s in the future, over the {max_future:.0f} s "
            f"allowed for clock skew{hint}",
            provider=NAME,
        )
    return Verdict(NAME, HEADER, timestamp=t, age=age)


def describe(body: bytes, headers: Mapping[str, str] | None = None) -> Described:
    """``type``, ``id`` and ``object.id`` of the envelope."""
    parsed = load_object(body)
    if parsed is None:
        return Described()
    target = parsed.get("object")
    object_id = text_or_none(target.get("id")) if isinstance(target, dict) else None
    return Described(text_or_none(parsed.get("type")), text_or_none(parsed.get("id")), object_id)


def event_type(body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The ``type`` field of the envelope, or None when it has none."""
    return describe(body, headers).event_type


def _preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
