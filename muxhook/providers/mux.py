"""Mux: ``Mux-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``.

The key is the endpoint's signing secret, as UTF-8 bytes. Several ``v1`` entries
may appear (any match passes); other schemes are ignored. muxhook is stricter than
the official Node SDK in two places, both listed in the README: ``t`` must be an
integer (the SDK signs ``"NaN."`` for ``t=abc`` and accepts it), and a timestamp
too far in the future is refused (the SDK has no such check).
"""

from __future__ import annotations

import re
from typing import Any

from muxhook.errors import SignatureError
from muxhook.providers import Provider, SignedHeader, is_whole_number, timestamped_hmac
from muxhook.providers._mux_events import EVENTS

__all__ = ["EVENTS", "PROVIDER", "Mux"]


class Mux(Provider):
    """Mux Video and Data webhooks."""

    NAME = "mux"
    LABEL = "Mux"
    HEADER = "Mux-Signature"
    SIGNATURE_SHAPE = "t=…,v1=…"
    SECRET_ENV = "MUX_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)
    SIGNS_TIMESTAMP = True
    ATTEMPT_TIMEOUT = 5.0  # Mux counts an attempt failed after 5 s
    DASHBOARD = "Dashboard › Settings › Webhooks › URL to notify"
    ENVELOPE = "MuxEvent"
    EVENTS = EVENTS

    def signature(self, body: bytes, key: bytes, timestamp: str | None) -> str:
        """The ``v1`` value: lowercase hex HMAC-SHA256 of ``"<t>." + body``."""
        return timestamped_hmac(body, key, timestamp)

    def header_value(self, signature: str, timestamp: str | None) -> str:
        """``t=<timestamp>,v1=<signature>``."""
        return f"t={timestamp},v1={signature}"

    def parse_header(self, value: str) -> SignedHeader:
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
                f"{self.HEADER} has no t= timestamp (expected t=<unix seconds>,v1=<hex>; "
                f"got {_preview(value)})",
                provider=self.NAME,
            )
        if not is_whole_number(timestamp):
            raise SignatureError(
                "malformed_header",
                f"{self.HEADER} timestamp t={_preview(timestamp)} is not a whole number of seconds",
                provider=self.NAME,
            )
        if not signatures:
            # Like the official SDK, keys are read exactly as written: " v1" is not v1.
            where = "; it has spaces around its keys, which Mux never sends" if spaced else ""
            raise SignatureError(
                "no_signature",
                f"{self.HEADER} has no v1= signature (schemes other than v1 are ignored){where}",
                provider=self.NAME,
            )
        return SignedHeader(timestamp, tuple(signatures))

    def looks_like(self, value: str) -> bool:
        """``t=<digits>,…``."""
        return re.match(r"t=\d+,", value.strip()) is not None

    def header_hint(self, parsed: SignedHeader) -> str | None:
        """Mux writes lowercase hex: uppercase means the header was altered on the way."""
        if any(s != s.lower() for s in parsed.signatures):
            return (
                "the v1 signature has uppercase hex; Mux sends lowercase, so the header was altered"
            )
        return None


def _preview(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


PROVIDER = Mux()


def __getattr__(name: str) -> Any:
    # ``mux.sign``, ``mux.HEADER``…: the module stands for its provider.
    return PROVIDER.module_attribute(name)
