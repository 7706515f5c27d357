"""FastPix: ``FastPix-Signature: <base64 HMAC-SHA256 of the raw body>``.

The key is the dashboard's signing secret, base64-decoded. Nothing else is signed:
there is no timestamp, so there is no replay window to check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from muxhook.errors import SignatureError
from muxhook.providers import (
    Described,
    SignedHeader,
    Verdict,
    base64_secret_key,
    load_object,
    text_or_none,
    verify_body_signature,
)
from muxhook.providers._fastpix_events import EVENTS

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

NAME = "fastpix"
LABEL = "FastPix"
HEADER = "FastPix-Signature"
SECRET_ENV = "FASTPIX_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)
MODEL = "FastPixEvent"


def secret_key(secret: str) -> bytes:
    """FastPix keys the HMAC with the base64-decoded secret."""
    return base64_secret_key(secret, LABEL)


def signature(body: bytes, key: bytes, timestamp: str | None = None) -> str:
    """Standard base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def sign(body: bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign ``body``; ``timestamp`` is accepted and unused."""
    return {HEADER: signature(body, secret_key(secret)), "Content-Type": "application/json"}


def parse_header(value: str) -> SignedHeader:
    """The header is one base64 value, with no timestamp."""
    value = value.strip()
    if not value:
        raise SignatureError("malformed_header", f"{HEADER} is empty", provider=NAME)
    return SignedHeader(None, (value,))


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    now: float | None = None,
    tolerance: float | None = None,
    max_future: float | None = None,
) -> Verdict:
    """Check ``body`` against its ``FastPix-Signature``; raise SignatureError if it fails.

    ``now``, ``tolerance`` and ``max_future`` are accepted for a uniform interface;
    FastPix signs no timestamp.
    """
    return verify_body_signature(
        body,
        headers,
        name=NAME,
        header=HEADER,
        parse=parse_header,
        expected=signature(body, secret_key(secret)),
    )


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
