"""Testing a FastAPI receiver with muxhook's pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from examples.receivers.fastapi_app import app, handled, webhook_secret
from muxhook.testing import WebhookFactory


@pytest.fixture
def client(muxhook_secret: str) -> Iterator[TestClient]:
    app.dependency_overrides[webhook_secret] = lambda: muxhook_secret
    yield TestClient(app)
    app.dependency_overrides.clear()


def test_signed_event_is_handled(client: TestClient, muxhook_webhook: WebhookFactory) -> None:
    event = muxhook_webhook("video.asset.ready", data__passthrough="order-42")
    response = client.post("/webhooks/mux", content=event.body, headers=event.headers)
    assert response.status_code == 200
    assert handled[-1] == "video.asset.ready"


def test_forged_event_is_refused(client: TestClient, muxhook_webhook: WebhookFactory) -> None:
    event = muxhook_webhook.tampered("video.asset.ready")
    response = client.post("/webhooks/mux", content=event.body, headers=event.headers)
    assert response.status_code == 400
