"""Cloudflare Stream, the fourth provider, end to end.

Signatures are computed here independently of muxhook's signer: by Node's own crypto
module (another implementation of HMAC-SHA256) over the exact bytes, as Cloudflare's
docs describe the scheme (``time=<t>,sig1=<hex of HMAC-SHA256("<t>." + body)>``).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from muxhook import models, providers, signing, testing
from muxhook.errors import SignatureError
from tests.apps import RecordingApp, serve
from tests.conftest import CLI, FIXTURES, ROOT
from tests.listening import listen_locally, run_muxhook

SECRET = "85011ed3a913c6ad5f9cf6c5573cc0a7"  # the shape of the secret the API returns
READY = (FIXTURES / "cloudflare" / "video.ready.json").read_bytes()
ERROR = (FIXTURES / "cloudflare" / "video.error.json").read_bytes()
T = 1_735_000_000

# A pretty-printed body with a trailing newline and non-ASCII text: the signature covers
# every byte as sent, so nothing may be normalised on the way.
PRETTY = (json.dumps(json.loads(READY), indent=2, ensure_ascii=False) + "\n").encode()
VECTORS = [READY, ERROR, PRETTY, b"{}", '{"uid":"é→✓"}'.encode()]

_NODE_SIGNER = """
const crypto = require('node:crypto');
const [secret, time, ...files] = process.argv.slice(1);
const fs = require('node:fs');
for (const file of files) {
  const body = fs.readFileSync(file);
  const mac = crypto.createHmac('sha256', secret);
  mac.update(Buffer.concat([Buffer.from(time + '.'), body]));
  console.log(`time=${time},sig1=${mac.digest('hex')}`);
}
"""


@pytest.fixture(scope="module")
def node_signatures(tmp_path_factory: pytest.TempPathFactory) -> dict[bytes, str]:
    """``Webhook-Signature`` values for every vector, signed by Node's crypto."""
    folder = tmp_path_factory.mktemp("cloudflare")
    files = []
    for number, body in enumerate(VECTORS):
        path = folder / f"{number}.json"
        path.write_bytes(body)
        files.append(str(path))
    run = subprocess.run(
        ["node", "-e", _NODE_SIGNER, SECRET, str(T), *files],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(zip(VECTORS, run.stdout.splitlines(), strict=True))


@pytest.mark.parametrize("number", range(len(VECTORS)))
def test_a_signature_node_made_verifies_and_ours_is_the_same(
    number: int, node_signatures: dict[bytes, str]
) -> None:
    body = VECTORS[number]
    header = node_signatures[body]
    verdict = signing.verify(body, {"Webhook-Signature": header}, secret=SECRET, now=T + 5)
    assert (verdict.provider, verdict.timestamp, verdict.age) == ("cloudflare", T, 5)
    ours = signing.sign(body, secret=SECRET, provider="cloudflare", timestamp=T)
    assert ours["Webhook-Signature"] == header


def test_any_sig1_may_match_and_a_changed_byte_never_does(
    node_signatures: dict[bytes, str],
) -> None:
    good = node_signatures[READY]
    many = f"time={T},sig1={'0' * 64},{good.split(',')[1]}"
    signing.verify(READY, {"webhook-signature": many}, secret=SECRET, now=T)
    with pytest.raises(SignatureError) as caught:
        signing.verify(READY[:-1] + b" ", {"Webhook-Signature": good}, secret=SECRET, now=T)
    assert caught.value.reason == "mismatch"


def test_an_old_or_future_time_is_refused(node_signatures: dict[bytes, str]) -> None:
    header = {"Webhook-Signature": node_signatures[READY]}
    with pytest.raises(SignatureError) as stale:
        signing.verify(READY, header, secret=SECRET, now=T + 301)
    assert stale.value.reason == "stale"
    with pytest.raises(SignatureError) as future:
        signing.verify(READY, header, secret=SECRET, now=T - 301)
    assert future.value.reason == "future"


def test_a_pretty_printed_copy_is_diagnosed_as_re_serialised(
    node_signatures: dict[bytes, str],
) -> None:
    """The app verified what its framework re-serialised, not the bytes Stream sent."""
    header = {"Webhook-Signature": node_signatures[READY]}
    with pytest.raises(SignatureError) as caught:
        signing.verify(PRETTY, header, secret=SECRET, now=T)
    assert caught.value.reason == "mismatch"
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("the body was re-serialised: it was pretty-printed")


def test_recognised_by_its_header_shape_not_by_its_name() -> None:
    cloudflare = {"Webhook-Signature": f"time={T},sig1=abc"}
    standard = {"webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}
    assert providers.detect(cloudflare) == "cloudflare"
    assert providers.detect(standard) is None
    with pytest.raises(SignatureError) as caught:
        signing.verify(READY, standard, secret=SECRET)
    assert caught.value.reason == "missing_header"
    assert "Standard Webhooks" in str(caught.value)
    with pytest.raises(SignatureError) as forced:
        signing.verify(READY, standard, secret=SECRET, provider="cloudflare")
    assert forced.value.reason == "malformed_header"
    assert "Standard Webhooks" in str(forced.value)


def test_events_are_named_from_the_state_and_keyed_by_uid() -> None:
    platform = providers.get("cloudflare")
    ready, error = platform.describe(READY), platform.describe(ERROR)
    assert (ready.event_type, ready.event_id) == ("video.ready", None)
    assert ready.object_id == json.loads(READY)["uid"]
    assert error.event_type == "video.error"
    older = b'{"uid":"u1","readyToStream":false,"status":{"state":"error",'
    older += b'"errReasonCode":"ERR_DURATION_EXCEED_CONSTRAINT","errReasonText":"too long"}}'
    video = models.parse_event(older, provider="cloudflare")
    assert isinstance(video, models.CloudflareVideo)
    assert video.type == "video.error"
    assert video.status is not None
    assert (video.status.reason_code, video.status.reason_text) == (
        "ERR_DURATION_EXCEED_CONSTRAINT",
        "too long",
    )
    assert video.dump() == json.loads(older)
    assert providers.guess(READY) == "cloudflare"


def test_sign_verify_and_events_from_the_command_line(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLOUDFLARE_STREAM_WEBHOOK_SECRET", SECRET)
    listed = cli("events", "--provider", "cloudflare")
    assert "cloudflare:video.ready" in listed.stdout and listed.code == 0
    signed = cli("sign", "cloudflare:video.ready", "--timestamp", str(int(time.time())))
    assert signed.code == 0, signed.stderr
    name, _, value = signed.stdout.strip().partition(": ")
    assert name == "Webhook-Signature" and value.startswith("time=")
    (tmp_path / "body.json").write_bytes(READY)
    checked = cli("verify", "body.json", "-H", signed.stdout.strip())
    assert checked.code == 0, checked.stderr
    assert "Cloudflare Stream" in checked.stdout + checked.stderr


def test_trigger_and_replay_reach_an_app_that_checks_independently(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import hmac

    def check(body: bytes, header: str | None) -> bool:
        pairs = (item.partition("=") for item in (header or "").split(","))
        fields = {key: value for key, _, value in pairs}
        message = fields.get("time", "").encode() + b"." + body
        expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
        fresh = fields.get("time", "").isdigit() and abs(time.time() - int(fields["time"])) < 300
        return fresh and hmac.compare_digest(expected, fields.get("sig1", ""))

    monkeypatch.setenv("CLOUDFLARE_STREAM_WEBHOOK_SECRET", SECRET)
    app = RecordingApp(
        lambda r: (200, b"ok") if check(r.body, r.header("Webhook-Signature")) else (400, b"no")
    )
    with serve(app):
        sent = cli("trigger", "cloudflare:video.error", "--to", app.url)
        replayed = cli("replay", "cloudflare:video.ready", "--to", app.url, "--tamper")
    assert sent.code == 0, sent.stdout + sent.stderr
    assert replayed.code == 0, replayed.stdout + replayed.stderr
    sent_video, fixture = json.loads(app.requests[0].body), json.loads(ERROR)
    assert sent_video["uid"] != fixture["uid"]  # trigger sends a fresh video uid each time
    assert {**sent_video, "uid": fixture["uid"]} == fixture
    # video.ready, then four forgeries (another secret, a changed body, none, a day old)
    assert len(app.requests) == 1 + 5


def test_the_testing_api_signs_it() -> None:
    headers, body = testing.signed_event("cloudflare:video.ready", SECRET, meta__name="x.mp4")
    assert json.loads(body)["meta"]["name"] == "x.mp4"
    verdict = signing.verify(body, headers, secret=SECRET)
    assert verdict.provider == "cloudflare"


def test_listen_verifies_describes_and_forwards_it(tmp_path: Path) -> None:
    app = RecordingApp()
    env = {"CLOUDFLARE_STREAM_WEBHOOK_SECRET": SECRET}
    with (
        serve(app),
        listen_locally(
            tmp_path, tmp_path / "log.db", "--forward-to", app.url, "--json", env=env
        ) as listener,
    ):
        headers = signing.sign(READY, secret=SECRET, provider="cloudflare")
        answer = httpx.post(listener.url, content=READY, headers=headers, timeout=30)
        forged = httpx.post(
            listener.url,
            content=READY,
            headers={"Webhook-Signature": f"time={int(time.time())},sig1={'0' * 64}"},
            timeout=30,
        )
        lines = listener.wait_for_stdout(2)
    assert (answer.status_code, forged.status_code) == (200, 401)
    assert [r.body for r in app.requests] == [READY]
    first = json.loads(lines[0])
    assert (first["provider"], first["type"], first["verdict"]) == (
        "cloudflare",
        "video.ready",
        "valid",
    )
    assert first["object_id"] == json.loads(READY)["uid"]
    shown = run_muxhook(tmp_path, "log", "list", "--db", str(tmp_path / "log.db"))
    assert "cloudflare" in shown.stdout and "video.ready" in shown.stdout


def test_adding_it_took_one_module_its_fixtures_and_one_registry_line() -> None:
    """No provider's name is branched on outside muxhook/providers/."""
    import re

    names = "|".join(providers.NAMES)
    pattern = re.compile(rf"""[=!]=\s*["']({names})["']|["']({names})["']\s*[=!]=""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "muxhook").rglob("*.py"))
        if "providers" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
