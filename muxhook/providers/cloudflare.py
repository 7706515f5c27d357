"""Cloudflare Stream: ``Webhook-Signature: time=<unix seconds>,sig1=<hex HMAC-SHA256>``.

The signature is lowercase hex HMAC-SHA256 of ``"<time>." + body``, keyed with the
webhook's signing secret as shown (the ``secret`` the account's webhook subscription
returns). The body is the video object as the Stream API returns it; it has no
``type`` field, so the event is named from ``status.state``: ``video.ready`` when the
video finished processing, ``video.error`` when it failed.

Not to be confused with Standard Webhooks, which uses the same header name (in lower
case) for ``v1,<base64>``: only a value with ``time=`` and ``sig1=`` is Cloudflare's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from muxhook.errors import SignatureError
from muxhook.providers import (
    Provider,
    SignedHeader,
    catalog,
    header_value,
    is_whole_number,
    text_or_none,
    timestamped_hmac,
)

__all__ = ["EVENTS", "PROVIDER", "CloudflareStream"]

EVENTS = catalog(
    [
        (
            "video.ready",
            "A video finished processing and can be streamed (status.state is ready, "
            "readyToStream is true).",
        ),
        (
            "video.error",
            "A video could not be processed (status.state is error); errorReasonCode and "
            "errorReasonText say why.",
        ),
    ]
)

_SHAPE = re.compile(r"time=\d+,sig1=")


class CloudflareStream(Provider):
    """Cloudflare Stream's video notifications."""

    NAME = "cloudflare"
    LABEL = "Cloudflare Stream"
    HEADER = "Webhook-Signature"
    SIGNATURE_SHAPE = "time=…,sig1=…"
    SECRET_ENV = "CLOUDFLARE_STREAM_WEBHOOK_SECRET"  # noqa: S105  (a variable name)
    SIGNS_TIMESTAMP = True
    TIMESTAMP_NAME = "time"
    DASHBOARD = (
        "your account's Stream webhook, as notificationUrl "
        "(PUT /client/v4/accounts/<account id>/stream/webhook)"
    )
    ENVELOPE = "CloudflareVideo"
    EVENTS = EVENTS
    OCCURRED_AT = "modified"  # the video object's last change: what the notification reports

    def signature(self, body: bytes, key: bytes, timestamp: str | None) -> str:
        """Lowercase hex HMAC-SHA256 of ``"<time>." + body``."""
        return timestamped_hmac(body, key, timestamp)

    def header_value(self, signature: str, timestamp: str | None) -> str:
        """``time=<timestamp>,sig1=<signature>``."""
        return f"time={timestamp},sig1={signature}"

    def recognises(self, headers: Mapping[str, str]) -> bool:
        """A ``Webhook-Signature`` with ``time=`` and ``sig1=`` (not Standard Webhooks')."""
        value = header_value(headers, self.HEADER)
        return value is not None and "sig1=" in value and "time=" in value

    def parse_header(self, value: str) -> SignedHeader:
        """Split on ``,``, then each part on its first ``=``: ``time`` and ``sig1`` entries."""
        timestamp: str | None = None
        signatures: list[str] = []
        for item in value.strip().split(","):
            key, sep, val = item.strip().partition("=")
            if not sep:
                continue
            if key == "time":
                timestamp = val
            elif key == "sig1":
                signatures.append(val)
        if value.strip().startswith("v1,"):
            raise SignatureError(
                "malformed_header",
                f"{self.HEADER} holds a Standard Webhooks signature (v1,<base64>), not "
                "Cloudflare Stream's (time=…,sig1=…)",
                provider=self.NAME,
            )
        if timestamp is None or not is_whole_number(timestamp):
            raise SignatureError(
                "malformed_header",
                f"{self.HEADER} has no time=<unix seconds> (expected time=…,sig1=<hex>)",
                provider=self.NAME,
            )
        if not signatures:
            raise SignatureError(
                "no_signature", f"{self.HEADER} has no sig1= signature", provider=self.NAME
            )
        return SignedHeader(timestamp, tuple(signatures))

    def names(self, payload: Mapping[str, object]) -> tuple[str | None, str | None, str | None]:
        """``video.<status.state>`` and the video's ``uid``; Stream sends no event id."""
        status = payload.get("status")
        state = text_or_none(status.get("state")) if isinstance(status, dict) else None
        if state is None and payload.get("readyToStream") is True:
            state = "ready"
        return f"video.{state}" if state else None, None, text_or_none(payload.get("uid"))

    def claims(self, body: bytes, payload: Mapping[str, object] | None) -> bool:
        """A video object: a ``uid`` with ``readyToStream`` or a ``status`` object."""
        return (
            payload is not None
            and "uid" in payload
            and ("readyToStream" in payload or isinstance(payload.get("status"), dict))
        )

    def looks_like(self, value: str) -> bool:
        """``time=<digits>,sig1=…``."""
        return _SHAPE.match(value.strip()) is not None


PROVIDER = CloudflareStream()
