"""Millicast (Dolby OptiView Real-time Streaming): ``X-Millicast-Signature: sha1=<hex>``.

The value is lowercase hex HMAC-SHA1 over the raw body, keyed with the
base64-decoded webhook secret. Thumbnail hooks carry a binary JPEG body, signed
the same way. No timestamp is signed. Event names are ``<type>.<event>``
(``media.completed``, ``feeds.started``), and ``thumbnail`` for the JPEG hooks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from muxhook.errors import SignatureError
from muxhook.providers import (
    Described,
    SignedHeader,
    Verdict,
    base64_secret_key,
    header_value,
    load_object,
    text_or_none,
    verify_body_signature,
)
from muxhook.providers._millicast_events import EVENTS

__all__ = [
    "EVENTS",
    "HEADER",
    "LABEL",
    "MODEL",
    "NAME",
    "SECRET_ENV",
    "THUMBNAIL",
    "describe",
    "event_type",
    "parse_header",
    "secret_key",
    "sign",
    "signature",
    "verify",
]

NAME = "millicast"
LABEL = "Millicast"
HEADER = "X-Millicast-Signature"
SECRET_ENV = "MILLICAST_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)
MODEL = "MillicastEvent"
THUMBNAIL = "thumbnail"
_PREFIX = "sha1="
# The field that names what a hook is about, by hook type, most specific first.
_OBJECT_KEYS = ("mediaAssetId", "recordFileId", "feedId", "transcoderId", "streamId")


def secret_key(secret: str) -> bytes:
    """Millicast keys the HMAC with the base64-decoded secret."""
    return base64_secret_key(secret, LABEL)


def signature(body: bytes, key: bytes, timestamp: str | None = None) -> str:
    """``sha1=`` and the lowercase hex HMAC-SHA1 over the raw body."""
    return _PREFIX + hmac.new(key, body, hashlib.sha1).hexdigest()


def sign(body: bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign ``body``; a JPEG body gets the thumbnail headers too."""
    headers = {HEADER: signature(body, secret_key(secret))}
    if body.startswith(b"\xff\xd8"):
        headers["Content-Type"] = "image/jpeg"
        if timestamp is not None:
            headers["X-Millicast-Timestamp"] = str(int(timestamp) * 1000)
    else:
        headers["Content-Type"] = "application/json"
    return headers


def parse_header(value: str) -> SignedHeader:
    """The header is ``sha1=<hex>``; the prefix is required, as the platform's sample checks."""
    value = value.strip()
    if not value.startswith(_PREFIX):
        raise SignatureError(
            "malformed_header",
            f"{HEADER} must start with 'sha1=' (got {value[:12]!r}…)",
            provider=NAME,
        )
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
    """Check ``body`` against its ``X-Millicast-Signature``; raise SignatureError if it fails.

    ``now``, ``tolerance`` and ``max_future`` are accepted for a uniform interface;
    Millicast signs no timestamp.
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
    """``<type>.<event>`` and the object the hook is about; Millicast sends no event id."""
    content_type = header_value(headers or {}, "Content-Type") or ""
    if body.startswith(b"\xff\xd8") or content_type.startswith("image/"):
        stream = header_value(headers or {}, "X-Millicast-Stream-Id")
        return Described(THUMBNAIL, None, stream)
    parsed = load_object(body)
    if parsed is None:
        return Described()
    kind, event = text_or_none(parsed.get("type")), text_or_none(parsed.get("event"))
    name = f"{kind}.{event}" if kind and event else None
    data = parsed.get("data")
    object_id = None
    if isinstance(data, dict):
        for key in _OBJECT_KEYS:
            object_id = text_or_none(data.get(key))
            if object_id:
                break
    return Described(name, None, object_id)


def event_type(body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """``<type>.<event>`` from a JSON body, or ``thumbnail`` for a JPEG body."""
    return describe(body, headers).event_type
