"""muxhook's pytest plugin: signed webhooks as fixtures.

Registered through the ``pytest11`` entry point, so installing muxhook is enough::

    def test_asset_ready(client, muxhook_webhook):
        event = muxhook_webhook("video.asset.ready", data__passthrough="order-42")
        response = client.post("/webhooks/mux", content=event.body, headers=event.headers)
        assert response.status_code == 200

Fixtures:

- ``muxhook_secret``: the signing secret: ``MUX_WEBHOOK_SECRET`` when it is set,
  else ``"muxhook-test-secret"``. Override it in your ``conftest.py`` to return the
  secret your app is configured with in tests.
- ``muxhook_webhook``: a ``muxhook.testing.WebhookFactory`` for Mux bound to
  ``muxhook_secret``; ``muxhook_webhook.tampered(...)`` makes a forgery.

This module is imported when pytest starts, so it imports only pytest; muxhook's
own modules load when a test first asks for a fixture.
"""

from __future__ import annotations

import os
import typing

import pytest

if typing.TYPE_CHECKING:
    from muxhook.testing import WebhookFactory

__all__ = ["DEFAULT_SECRET", "muxhook_secret", "muxhook_webhook"]

#: The secret tests sign with when ``MUX_WEBHOOK_SECRET`` is not set.
DEFAULT_SECRET = "muxhook-test-secret"  # noqa: S105  (a public test value)


@pytest.fixture
def muxhook_secret() -> str:
    """The Mux signing secret: ``MUX_WEBHOOK_SECRET``, else ``"muxhook-test-secret"``."""
    return os.environ.get("MUX_WEBHOOK_SECRET") or DEFAULT_SECRET


@pytest.fixture
def muxhook_webhook(muxhook_secret: str) -> WebhookFactory:
    """Signed Mux webhooks: ``muxhook_webhook("video.asset.ready", data__passthrough="x")``."""
    from muxhook.testing import WebhookFactory

    return WebhookFactory(secret=muxhook_secret)
