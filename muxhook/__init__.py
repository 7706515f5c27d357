"""muxhook: sign, verify, trigger, listen to and replay video-platform webhooks.

The library API (imported lazily, so the CLI starts fast)::

    import muxhook

    headers = muxhook.sign(body, secret="…")                  # Mux by default
    verdict = muxhook.verify(body, request_headers, secret="…")  # raises SignatureError
    event = muxhook.parse_event(body, request_headers)        # typed pydantic model
"""

from __future__ import annotations

import typing

__version__ = "0.1.0"

__all__ = [
    "SignatureError",
    "Verdict",
    "__version__",
    "parse_event",
    "sign",
    "verify",
]

if typing.TYPE_CHECKING:
    from muxhook.errors import SignatureError
    from muxhook.models import parse_event
    from muxhook.providers import Verdict
    from muxhook.signing import sign, verify

_LAZY = {
    "sign": "muxhook.signing",
    "verify": "muxhook.signing",
    "parse_event": "muxhook.models",
    "SignatureError": "muxhook.errors",
    "Verdict": "muxhook.providers",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'muxhook' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
