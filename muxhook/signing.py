"""Sign and verify for any provider, with a diagnosis when a signature fails.

``sign`` is the first step of every outgoing path (``sign``, ``trigger``,
``replay``); ``verify`` is the check step of ``listen`` and the ``verify`` command.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from muxhook import providers
from muxhook.diagnose import explain_header_shape, explain_mismatch, explain_missing
from muxhook.errors import SignatureError, UsageError
from muxhook.providers import Verdict

__all__ = ["DEFAULT_MAX_FUTURE", "DEFAULT_TOLERANCE", "sign", "verify"]

DEFAULT_TOLERANCE = 300.0
DEFAULT_MAX_FUTURE = 300.0


def sign(
    body: bytes, *, secret: str, provider: str = providers.DEFAULT, timestamp: int | None = None
) -> dict[str, str]:
    """Return the headers that sign ``body`` for ``provider``.

    ``timestamp`` (unix seconds) defaults to now; only Mux signs it.
    """
    if not secret:
        raise UsageError(f"no secret to sign with for {provider}")
    module = providers.get(provider)
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    headers: dict[str, str] = module.sign(body, secret=secret, timestamp=stamp)
    return headers


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    provider: str | None = None,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    max_future: float = DEFAULT_MAX_FUTURE,
) -> Verdict:
    """Verify ``body`` against its signature header; raise SignatureError if it fails.

    The provider is ``provider`` or detected from the headers. A mismatch carries a
    ``hint`` naming the usual mistake that explains it, when one does.
    """
    name = provider or providers.detect(headers)
    if name is None:
        expected = ", ".join(p.HEADER for p in providers.all_providers())
        raise SignatureError(
            "missing_header",
            f"no signature header (looked for {expected})",
            hint=explain_missing("", headers),
        )
    module = providers.get(name)
    clock = time.time() if now is None else now
    try:
        verdict: Verdict = module.verify(
            body, headers, secret=secret, now=clock, tolerance=tolerance, max_future=max_future
        )
    except SignatureError as error:
        error.provider = name
        if error.reason == "missing_header":
            error.hint = explain_missing(name, headers)
        elif error.reason == "mismatch":
            error.hint = explain_mismatch(name, body, headers, secret)
        elif error.reason in ("malformed_header", "no_signature"):
            value = providers.header_value(headers, module.HEADER) or ""
            error.hint = explain_header_shape(name, value)
        raise
    return verdict
