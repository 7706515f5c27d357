"""One-shot HTTP delivery through httpx, for ``trigger`` and other single sends.

A connection failure becomes a DeliveryError whose one line says what to check;
an HTTP answer of any status is returned, not raised: the caller decides.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from muxhook.errors import DeliveryError, UsageError

if typing.TYPE_CHECKING:
    import httpx

__all__ = ["Answer", "post", "unreachable_hint"]

BODY_KEEP = 2048  # bytes of the answer kept: enough to show and record, never a whole page


class Answer(NamedTuple):
    """What the app answered."""

    status: int
    reason: str
    body: bytes
    headers: dict[str, str]
    elapsed: float  # seconds from sending the request to the end of the kept answer


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = 10.0,
    verify_tls: bool = True,
    client: httpx.Client | None = None,
) -> Answer:
    """POST ``body`` to ``url``; redirects are not followed (a webhook is never redirected)."""
    import httpx

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http:// or https:// URL")
    own = client is None
    session = client or httpx.Client(timeout=timeout, verify=verify_tls, follow_redirects=False)
    started = time.perf_counter()
    try:
        with session.stream("POST", url, content=body, headers=dict(headers)) as response:
            kept = b""
            for chunk in response.iter_bytes():
                kept += chunk
                if len(kept) >= BODY_KEEP:
                    break
            return Answer(
                response.status_code,
                response.reason_phrase,
                kept[:BODY_KEEP],
                dict(response.headers),
                time.perf_counter() - started,
            )
    except httpx.TimeoutException:
        raise DeliveryError(f"{url} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise DeliveryError(f"could not reach {url}: {unreachable_hint(url, error)}") from None
    finally:
        if own:
            session.close()


def unreachable_hint(url: str, error: BaseException) -> str:
    """Turn a connection failure into what a person should check."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if "tls" in lowered or "ssl" in lowered or "certificate" in lowered:
        return f"{text}; for a local self-signed certificate use --insecure"
    if "refused" in lowered or "connecterror" in type(error).__name__.lower():
        return f"connection refused; is your app running on port {port}?"
    if "name" in lowered and "resolv" in lowered:
        return f"cannot resolve host {parts.hostname!r}"
    return text
