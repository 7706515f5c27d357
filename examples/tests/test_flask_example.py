"""Testing a Flask receiver with muxhook's pytest plugin."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from examples.receivers.flask_app import app, handled
from muxhook.testing import WebhookFactory


@pytest.fixture
def client(muxhook_secret: str) -> FlaskClient:
    app.config.update(TESTING=True, MUX_WEBHOOK_SECRET=muxhook_secret)
    return app.test_client()


def test_signed_event_is_handled(client: FlaskClient, muxhook_webhook: WebhookFactory) -> None:
    event = muxhook_webhook("video.asset.ready", data__passthrough="order-42")
    response = client.post("/webhooks/mux", data=event.body, headers=event.headers)
    assert response.status_code == 200
    assert handled[-1] == "video.asset.ready"


def test_forged_event_is_refused(client: FlaskClient, muxhook_webhook: WebhookFactory) -> None:
    event = muxhook_webhook.tampered("video.asset.ready")
    response = client.post("/webhooks/mux", data=event.body, headers=event.headers)
    assert response.status_code == 400
