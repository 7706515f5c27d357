"""Forgeries are wrong in exactly one way: a JSON body stays valid JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from muxhook import forgery, providers, signing
from muxhook.errors import SignatureError
from tests.apps import Received, RecordingApp, serve
from tests.conftest import CLI, FIXTURES

SECRETS = {
    "mux": "forgery-test-secret",
    "fastpix": "ZGVtby1zZWNyZXQ=",
    "millicast": "bWlsbGljYXN0LWRlbW8tc2VjcmV0",
    "cloudflare": "85011ed3a913c6ad5f9cf6c5573cc0a7",
}
BUNDLED = sorted(p for name in providers.NAMES for p in (FIXTURES / name).iterdir())


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_forgery_of_every_fixture_fails_verification_and_only_that(path: Path) -> None:
    provider, body = path.parent.name, path.read_bytes()
    secret = SECRETS[provider]
    forged = forgery.forgeries(body, provider=provider, secret=secret, now=1_735_000_000)
    kinds = [f.kind for f in forged]
    expected = ["secret", "body", "unsigned"]
    assert kinds == [*expected, "stale"] if providers.get(provider).SIGNS_TIMESTAMP else expected
    for case in forged:
        with pytest.raises(SignatureError):
            signing.verify(case.body, case.headers, secret=secret, now=1_735_000_000)
        if case.kind != "body":
            assert case.body == body
    changed = next(f.body for f in forged if f.kind == "body")
    assert changed != body
    if path.suffix == ".json":
        assert isinstance(json.loads(changed), dict)  # still a JSON object


def test_an_app_that_only_rejects_bad_json_fails_the_tamper_run(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It never checks signatures: every forgery must get through it, and the job fails."""

    def json_only(request: Received) -> tuple[int, bytes]:
        try:
            json.loads(request.body)
        except ValueError:
            return 400, b"bad json"
        return 200, b"ok"

    monkeypatch.setenv("MUX_WEBHOOK_SECRET", SECRETS["mux"])
    with serve(RecordingApp(json_only)) as app:
        result = cli("replay", "video.asset.ready", "--to", app.url, "--tamper")
    assert result.code == 1
    assert result.stdout.count("✗ 200") == 4, result.stdout
