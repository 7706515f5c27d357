"""muxhook.testing: signed events for users' own test suites, checked with muxhook.verify."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from muxhook import fixtures, replay, signing
from muxhook.errors import SignatureError, UnknownEventError, UsageError
from muxhook.forward import Route
from muxhook.pipeline import Answer, ListenSettings, Pipeline
from muxhook.records import Attempt, Incoming
from muxhook.store import EventLog
from muxhook.testing import (
    MemorySender,
    SentRequest,
    SignedWebhook,
    Tamper,
    WebhookFactory,
    signed_event,
)

MUX_SECRET = "muxhook-test-secret"
B64_SECRET = base64.b64encode(b"a 32-byte key for fastpix tests!").decode()

EVENTS = [
    ("video.asset.ready", "mux", MUX_SECRET, "Mux-Signature"),
    ("fastpix:video.media.ready", "fastpix", B64_SECRET, "FastPix-Signature"),
    ("millicast:media.completed", "millicast", B64_SECRET, "X-Millicast-Signature"),
]


@pytest.mark.parametrize(("name", "provider", "secret", "header"), EVENTS)
def test_signed_event_verifies_for_every_provider(
    name: str, provider: str, secret: str, header: str
) -> None:
    headers, body = signed_event(name, secret)
    assert set(headers) == {header, "Content-Type"}
    assert headers["Content-Type"] == "application/json"
    verdict = signing.verify(body, headers, secret=secret)
    assert verdict.provider == provider


@pytest.mark.parametrize(("name", "provider", "secret", "header"), EVENTS)
def test_without_overrides_the_body_is_the_fixture_bytes(
    name: str, provider: str, secret: str, header: str
) -> None:
    _, body = signed_event(name, secret)
    assert body == fixtures.load(name).body


def test_a_bare_name_takes_the_given_provider() -> None:
    headers, body = signed_event("video.media.ready", B64_SECRET, provider="fastpix")
    assert "FastPix-Signature" in headers
    assert body == fixtures.load("fastpix:video.media.ready").body


def test_a_fixture_file_is_signed_as_it_is(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_bytes(b'{"type": "video.asset.ready", "id": "1", "data": {}}\n')
    headers, body = signed_event(str(mine), MUX_SECRET)
    assert body == b'{"type": "video.asset.ready", "id": "1", "data": {}}\n'
    signing.verify(body, headers, secret=MUX_SECRET)


def test_the_timestamp_is_signed_and_defaults_to_now() -> None:
    headers, body = signed_event("video.asset.ready", MUX_SECRET, timestamp=1_700_000_000)
    assert headers["Mux-Signature"].startswith("t=1700000000,v1=")
    signing.verify(body, headers, secret=MUX_SECRET, now=1_700_000_000)
    with pytest.raises(SignatureError) as caught:
        signing.verify(body, headers, secret=MUX_SECRET)
    assert caught.value.reason == "stale"
    headers, _ = signed_event("video.asset.ready", MUX_SECRET)
    stamp = int(headers["Mux-Signature"].split(",")[0].removeprefix("t="))
    assert abs(stamp - time.time()) < 60


def test_overrides_keep_their_json_types() -> None:
    headers, body = signed_event(
        "video.asset.ready",
        MUX_SECRET,
        data__passthrough="order-42",
        data__duration=12.5,
        data__tracks__0__max_width=1920,
        data__meta=None,
        data__test=True,
        data__digits="123",
        data__labels=["a", 1],
        data__extra={"nested": {"n": 0}},
    )
    signing.verify(body, headers, secret=MUX_SECRET)
    data = json.loads(body)["data"]
    assert data["passthrough"] == "order-42"
    assert data["duration"] == 12.5
    assert data["tracks"][0]["max_width"] == 1920
    assert isinstance(data["tracks"][0]["max_width"], int)
    assert data["meta"] is None
    assert data["test"] is True
    assert data["digits"] == "123"  # a string that looks like a number stays a string
    assert data["labels"] == ["a", 1]
    assert data["extra"] == {"nested": {"n": 0}}
    assert b'"meta":null' in body
    assert b", " not in body  # compact, as the platforms send it


def test_json_looking_strings_stay_strings() -> None:
    _, body = signed_event(
        "video.asset.ready", MUX_SECRET, data__passthrough='{"a":1}', data__id="null"
    )
    data = json.loads(body)["data"]
    assert data["passthrough"] == '{"a":1}'
    assert data["id"] == "null"


def test_set_mapping_takes_paths_that_are_not_python_names() -> None:
    _, body = signed_event(
        "robots.job.summarize.completed",
        MUX_SECRET,
        set={"data.robots.job.summarize.completed.status": "errored", "data.my-key": 1},
    )
    data = json.loads(body)["data"]
    assert data["robots.job.summarize.completed"]["status"] == "errored"
    assert data["my-key"] == 1


def test_set_mapping_wins_over_a_keyword_for_the_same_path() -> None:
    _, body = signed_event(
        "video.asset.ready", MUX_SECRET, data__passthrough="kw", set={"data.passthrough": "map"}
    )
    assert json.loads(body)["data"]["passthrough"] == "map"


def test_unset_removes_fields() -> None:
    headers, body = signed_event(
        "video.asset.ready", MUX_SECRET, unset=["data.passthrough", "data.tracks.1"]
    )
    signing.verify(body, headers, secret=MUX_SECRET)
    data = json.loads(body)["data"]
    assert "passthrough" not in data
    assert len(data["tracks"]) == 1


def test_unset_must_be_a_list_not_a_string() -> None:
    with pytest.raises(UsageError, match="list of paths"):
        signed_event("video.asset.ready", MUX_SECRET, unset="data.passthrough")


def test_bad_overrides_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="not a list index"):
        signed_event("video.asset.ready", MUX_SECRET, data__tracks__first__id="x")
    with pytest.raises(UsageError, match="cannot be written as JSON"):
        signed_event("video.asset.ready", MUX_SECRET, data__when=object())
    with pytest.raises(UsageError, match="cannot be written as JSON"):
        signed_event("video.asset.ready", MUX_SECRET, data__duration=float("nan"))


def test_unknown_event_raises_with_suggestions() -> None:
    with pytest.raises(UnknownEventError) as caught:
        signed_event("video.asset.redy", MUX_SECRET)
    assert "video.asset.ready" in caught.value.suggestions
    assert isinstance(caught.value, UsageError)


def test_factory_returns_a_signed_webhook() -> None:
    factory = WebhookFactory(secret=MUX_SECRET)
    event = factory("video.asset.ready", data__passthrough="x")
    assert isinstance(event, SignedWebhook)
    assert (event.event_type, event.provider) == ("video.asset.ready", "mux")
    assert event.json()["data"]["passthrough"] == "x"
    assert event.content_type == "application/json"
    signing.verify(event.body, event.headers, secret=MUX_SECRET)
    headers, body, _, _ = event
    assert (headers, body) == (event.headers, event.body)
    assert MUX_SECRET not in repr(factory)


def test_factory_event_type_follows_a_type_override() -> None:
    event = WebhookFactory(secret=MUX_SECRET)("video.asset.ready", type="video.asset.errored")
    assert event.event_type == "video.asset.errored"


def test_factory_accepts_other_providers_by_prefix_and_by_default() -> None:
    event = WebhookFactory(secret=B64_SECRET)("millicast:thumbnail")
    assert (event.provider, event.event_type, event.content_type) == (
        "millicast",
        "thumbnail",
        "image/jpeg",
    )
    signing.verify(event.body, event.headers, secret=B64_SECRET)
    event = WebhookFactory(secret=B64_SECRET, provider="fastpix")("video.media.ready")
    assert event.provider == "fastpix"
    signing.verify(event.body, event.headers, secret=B64_SECRET)


def test_factory_refuses_an_unknown_provider() -> None:
    with pytest.raises(UsageError, match="unknown provider"):
        WebhookFactory(secret=MUX_SECRET, provider="vimeo")


@pytest.mark.parametrize(("name", "provider", "secret", "header"), EVENTS)
@pytest.mark.parametrize("how", ["secret", "body"])
def test_tampered_events_fail_verification(
    name: str, provider: str, secret: str, header: str, how: Tamper
) -> None:
    factory = WebhookFactory(secret=secret)
    genuine = factory(name, data__passthrough="x") if provider == "mux" else factory(name)
    forged = (
        factory.tampered(name, how=how, data__passthrough="x")
        if provider == "mux"
        else factory.tampered(name, how=how)
    )
    assert set(forged.headers) == set(genuine.headers)
    assert (forged.event_type, forged.provider) == (genuine.event_type, provider)
    if how == "secret":
        assert forged.body == genuine.body
    else:
        assert forged.body != genuine.body and len(forged.body) == len(genuine.body)
    with pytest.raises(SignatureError) as caught:
        signing.verify(forged.body, forged.headers, secret=secret)
    assert caught.value.reason == "mismatch"


def test_tampered_thumbnail_fails_verification() -> None:
    factory = WebhookFactory(secret=B64_SECRET, provider="millicast")
    hows: tuple[Tamper, ...] = ("secret", "body")
    for how in hows:
        forged = factory.tampered("thumbnail", how=how)
        with pytest.raises(SignatureError):
            signing.verify(forged.body, forged.headers, secret=B64_SECRET)


def test_tampered_refuses_an_unknown_way() -> None:
    with pytest.raises(UsageError, match="choose 'secret' or 'body'"):
        factory = WebhookFactory(secret=MUX_SECRET)
        factory.tampered("video.asset.ready", how="header")  # type: ignore[arg-type]


def test_plugin_fixtures_sign_with_the_test_secret(
    muxhook_secret: str, muxhook_webhook: WebhookFactory
) -> None:
    # tests/conftest.py clears MUX_WEBHOOK_SECRET, so the plugin's default applies
    assert muxhook_secret == "muxhook-test-secret"
    event = muxhook_webhook("video.asset.ready")
    signing.verify(event.body, event.headers, secret=muxhook_secret)


def test_plugin_secret_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("MUX_WEBHOOK_SECRET", "from-env")
    assert request.getfixturevalue("muxhook_secret") == "from-env"
    factory = request.getfixturevalue("muxhook_webhook")
    assert isinstance(factory, WebhookFactory)
    assert (factory.secret, factory.provider) == ("from-env", "mux")


def test_plugin_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import muxhook.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('muxhook')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "['muxhook', 'muxhook.pytest_plugin']"


# -- MemorySender: muxhook's Sender without a network ----------------------------------------

APP = "http://app.test/webhooks/mux"


def _verifying_app(secret: str) -> Callable[[SentRequest], tuple[int, bytes]]:
    """An app as a function: 200 for a body its signature proves, 400 otherwise."""

    def answer(request: SentRequest) -> tuple[int, bytes]:
        try:
            signing.verify(request.body, dict(request.headers), secret=secret)
        except SignatureError as error:
            return 400, str(error).encode()
        return 200, b'{"ok":true}'

    return answer


def test_replay_sends_a_fixture_through_a_memory_sender() -> None:
    deliveries = replay.plan(["video.asset.ready"])
    sender = MemorySender(_verifying_app(MUX_SECRET))
    options = replay.SendOptions(to=APP, secrets={"mux": MUX_SECRET})
    seen: list[replay.Result] = []
    results = asyncio.run(replay.run(deliveries, options, on_result=seen.append, sender=sender))
    assert results == seen and len(results) == 1
    (result,) = results
    assert result.ok and result.attempt.status == 200
    assert result.attempt.response_start == b'{"ok":true}'
    assert result.attempt.target == APP and result.attempt.error is None
    (request,) = sender.requests
    assert request.url == APP and request.timeout == 30.0
    assert request.body == fixtures.load("video.asset.ready").body  # the fixture's exact bytes
    assert request.header("mux-signature") is not None
    assert request.json()["type"] == "video.asset.ready"


def test_a_memory_sender_app_that_refuses_fails_the_replay() -> None:
    deliveries = replay.plan(["video.asset.ready"])
    sender = MemorySender(_verifying_app("not-the-secret"))
    options = replay.SendOptions(to=APP, secrets={"mux": MUX_SECRET})
    (result,) = asyncio.run(
        replay.run(deliveries, options, on_result=lambda _: None, sender=sender)
    )
    assert not result.ok and result.reached and result.attempt.status == 400
    assert b"does not match" in result.attempt.response_start


def test_a_memory_sender_says_what_went_wrong_instead_of_raising() -> None:
    def refused(request: SentRequest) -> int:
        raise ConnectionRefusedError("connection refused")

    async def slow(request: SentRequest) -> int:
        await asyncio.sleep(5)
        return 200

    async def send(sender: MemorySender) -> Attempt:
        return await sender.send(APP, b"{}", [("Content-Type", "application/json")], timeout=0.05)

    refusal = asyncio.run(send(MemorySender(refused)))
    assert (refusal.status, refusal.error, refusal.ok) == (None, "connection refused", False)
    started = time.monotonic()
    late = asyncio.run(send(MemorySender(slow)))
    assert (late.status, late.error) == (None, "timed out after 0.05 s")
    assert time.monotonic() - started < 2
    bare = asyncio.run(send(MemorySender(lambda request: 204)))
    assert (bare.status, bare.response_start, bare.ok) == (204, b"", True)


def test_the_listen_pipeline_forwards_through_a_memory_sender(tmp_path: Path) -> None:
    """A signed POST into listen's pipeline reaches the app function byte for byte; the
    platform gets the app's answer, and the log keeps the attempt."""
    headers, body = signed_event("video.asset.ready", MUX_SECRET)
    sender = MemorySender(lambda request: (202, b"queued"))
    settings = ListenSettings(secrets={"mux": MUX_SECRET}, routes=(Route(None, APP),))
    incoming = Incoming(time.time(), "POST", "/webhooks/mux", list(headers.items()), body, "-")

    async def main(log: EventLog) -> Answer:
        flow = Pipeline(settings, log, sender)
        answer = await flow.handle(incoming)
        assert await flow.drain(5.0) == 0
        return answer

    with EventLog(tmp_path / "events.db") as log:
        answer = asyncio.run(main(log))
        row = log.get(1)
    assert answer.status == 202
    (request,) = sender.requests
    assert request.url == APP and request.body == body
    assert request.header("Mux-Signature") == headers["Mux-Signature"]
    assert row is not None and row.verdict == "valid" and row.status == "ok"
    assert [(a.target, a.status, a.response_start) for a in row.attempts] == [(APP, 202, b"queued")]
