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
from typing import Any

from muxhook.errors import SignatureError
from muxhook.providers import (
    Described,
    Provider,
    SignedHeader,
    header_value,
    parse_time,
    text_or_none,
)
from muxhook.providers._millicast_events import EVENTS

__all__ = ["EVENTS", "PROVIDER", "THUMBNAIL", "Millicast"]

THUMBNAIL = "thumbnail"
_PREFIX = "sha1="
_JPEG = b"\xff\xd8"
# The field that names what a hook is about, by hook type, most specific first.
_OBJECT_KEYS = ("mediaAssetId", "recordFileId", "feedId", "transcoderId", "streamId")


class Millicast(Provider):
    """Dolby OptiView Real-time Streaming (Millicast) media hooks."""

    NAME = "millicast"
    LABEL = "Millicast"
    HEADER = "X-Millicast-Signature"
    SIGNATURE_SHAPE = "sha1=…"
    SECRET_ENV = "MILLICAST_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)
    SECRET_IS_BASE64 = True
    DASHBOARD = "Streaming Dashboard › Webhooks › Create"
    ENVELOPE = "MillicastEvent"
    EVENTS = EVENTS
    OCCURRED_AT = "timestamp"  # unix milliseconds

    def signature(self, body: bytes, key: bytes, timestamp: str | None = None) -> str:
        """``sha1=`` and the lowercase hex HMAC-SHA1 over the raw body."""
        return _PREFIX + hmac.new(key, body, hashlib.sha1).hexdigest()

    def sign(self, body: bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
        """The headers that sign ``body``; a JPEG body gets the thumbnail headers too."""
        headers = {self.HEADER: self.signature(body, self.secret_key(secret))}
        if body.startswith(_JPEG):
            headers["Content-Type"] = "image/jpeg"
            if timestamp is not None:
                headers["X-Millicast-Timestamp"] = str(int(timestamp) * 1000)
        else:
            headers["Content-Type"] = "application/json"
        return headers

    def parse_header(self, value: str) -> SignedHeader:
        """The header is ``sha1=<hex>``; the prefix is required, as the platform's sample checks."""
        value = value.strip()
        if not value.startswith(_PREFIX):
            raise SignatureError(
                "malformed_header",
                f"{self.HEADER} must start with 'sha1=' (got {value[:12]!r}…)",
                provider=self.NAME,
            )
        return SignedHeader(None, (value,))

    def describe(self, body: bytes, headers: Mapping[str, str] | None = None) -> Described:
        """``<type>.<event>`` and the object the hook is about; Millicast sends no event id."""
        content_type = header_value(headers or {}, "Content-Type") or ""
        if body.startswith(_JPEG) or content_type.startswith("image/"):
            stream = header_value(headers or {}, "X-Millicast-Stream-Id")
            sent = parse_time(header_value(headers or {}, "X-Millicast-Timestamp"))
            return Described(THUMBNAIL, None, stream, sent)
        return super().describe(body, headers)

    def names(self, payload: Mapping[str, object]) -> tuple[str | None, str | None, str | None]:
        """``<type>.<event>``, no event id, and the most specific id in ``data``."""
        kind, event = text_or_none(payload.get("type")), text_or_none(payload.get("event"))
        name = f"{kind}.{event}" if kind and event else None
        data = payload.get("data")
        object_id = None
        if isinstance(data, dict):
            for key in _OBJECT_KEYS:
                object_id = text_or_none(data.get(key))
                if object_id:
                    break
        return name, None, object_id

    def claims(self, body: bytes, payload: Mapping[str, object] | None) -> bool:
        """A JPEG (the thumbnail hook), or an envelope of ``event`` and ``timestamp``."""
        if body.startswith(_JPEG):
            return True
        return payload is not None and "event" in payload and "timestamp" in payload

    def fixture_name(self, event: str) -> str:
        """The thumbnail hook's fixture is a JPEG."""
        return f"{event}.jpg" if event == THUMBNAIL else f"{event}.json"

    def looks_like(self, value: str) -> bool:
        """``sha1=<hex>``."""
        return value.strip().startswith(_PREFIX)


PROVIDER = Millicast()


def __getattr__(name: str) -> Any:
    # ``mux.sign``, ``mux.HEADER``…: the module stands for its provider.
    return PROVIDER.module_attribute(name)
