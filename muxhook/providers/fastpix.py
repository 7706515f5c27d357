"""FastPix: ``FastPix-Signature: <base64 HMAC-SHA256 of the raw body>``.

The key is the dashboard's signing secret, base64-decoded. Nothing else is signed:
there is no timestamp, so there is no replay window to check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from muxhook.providers import Provider
from muxhook.providers._fastpix_events import EVENTS

__all__ = ["EVENTS", "PROVIDER", "FastPix"]


class FastPix(Provider):
    """FastPix video and live-stream webhooks."""

    NAME = "fastpix"
    LABEL = "FastPix"
    HEADER = "FastPix-Signature"
    SIGNATURE_SHAPE = "base64"
    SECRET_ENV = "FASTPIX_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)
    SECRET_IS_BASE64 = True
    DASHBOARD = "Dashboard › Org Settings › Webhooks › Create new webhook"
    ENVELOPE = "FastPixEvent"
    EVENTS = EVENTS
    OCCURRED_AT = "createdAt"

    def signature(self, body: bytes, key: bytes, timestamp: str | None = None) -> str:
        """Standard base64 of HMAC-SHA256 over the raw body."""
        return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")

    def looks_like(self, value: str) -> bool:
        """One standard-base64 SHA-256 digest."""
        return re.fullmatch(r"[A-Za-z0-9+/]{43}=", value.strip()) is not None

    def claims(self, body: bytes, payload: Mapping[str, object] | None) -> bool:
        """FastPix envelopes carry a workspace, camelCase times and a webhook id."""
        return payload is not None and any(
            key in payload for key in ("workspace", "createdAt", "webhookId")
        )


PROVIDER = FastPix()


def __getattr__(name: str) -> Any:
    # ``mux.sign``, ``mux.HEADER``…: the module stands for its provider.
    return PROVIDER.module_attribute(name)
