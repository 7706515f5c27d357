"""Testing a Django receiver with muxhook's pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from examples.receivers.django_app.app import handled
from muxhook.testing import WebhookFactory


@pytest.fixture
def client(muxhook_secret: str) -> Iterator[Client]:
    with override_settings(MUX_WEBHOOK_SECRET=muxhook_secret):
        yield Client()


def test_signed_event_is_handled(client: Client, muxhook_webhook: WebhookFactory) -> None:
    event = muxhook_webhook("video.asset.ready", data__passthrough="order-42")
    response = client.post(
        "/webhooks/mux", event.body, content_type=event.content_type, headers=event.headers
    )
    assert response.status_code == 200
    assert handled[-1] == "video.asset.ready"


def test_forged_event_is_refused(client: Client, muxhook_webhook: WebhookFactory) -> None:
    event = muxhook_webhook.tampered("video.asset.ready")
    response = client.post(
        "/webhooks/mux", event.body, content_type=event.content_type, headers=event.headers
    )
    assert response.status_code == 400
