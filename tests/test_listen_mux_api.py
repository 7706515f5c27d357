"""``muxhook listen --from mux-api`` and ``listen --register``, as real processes.

The Mux API is ``tests/mux_api_stub.py`` on 127.0.0.1; the app is a recording app and the
official SDK's receiver (``tests/node/receiver.mjs``), which verifies every forward as a
real handler would. Each wait is bounded.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from muxhook import signing
from muxhook.records import StoredEvent
from muxhook.secrets import read_dotenv
from muxhook.store import EventLog
from tests.apps import RecordingApp, free_port
from tests.listening import Listener, listening, run_muxhook
from tests.mux_api_stub import STREAM, TOKEN_ID, TOKEN_SECRET, MuxApiStub
from tests.mux_api_stub import serve as serve_stub
from tests.mux_judge import Judge, sdk_receiver
from tests.test_listen import _fake_agent

SECRET = "stream-app-secret-0123456789"  # the app's MUX_WEBHOOK_SECRET
DROPPED = "warning: the Mux event stream dropped ("


@pytest.fixture
def stub() -> Iterator[MuxApiStub]:
    with serve_stub(MuxApiStub(heartbeat=0.2)) as running:
        yield running


def token_env(stub: MuxApiStub, **extra: str) -> dict[str, str]:
    """What a new user has: a token, and (here) the stub as the API."""
    return {
        "MUX_BASE_URL": stub.url,
        "MUX_TOKEN_ID": TOKEN_ID,
        "MUX_TOKEN_SECRET": TOKEN_SECRET,
        **extra,
    }


def event(key: str, object_id: str | None = None, kind: str = "video.asset.ready") -> bytes:
    """A Mux event, pretty-printed with non-ASCII text and a 1.50: re-serialising shows."""
    obj = object_id or f"asset-{key}"
    return (
        f'{{\n  "type": "{kind}",\n  "id": "{key}",\n  "object": {{"type": "asset", "id": '
        f'"{obj}"}},\n  "data": {{"title": "Café ☕", "duration": 1.50}}\n}}'
    ).encode()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def lines_with(lines: list[str], text: str) -> list[str]:
    return [line for line in list(lines) if text in line]


def logged(db: Path) -> list[StoredEvent]:
    with EventLog(db) as log:
        return sorted(log.list(limit=None), key=lambda row: row.id)


def from_stream(
    home: Path, stub: MuxApiStub, *options: str, env: dict[str, str] | None = None
) -> AbstractContextManager[Listener]:
    """``listen --from mux-api`` on a free port, its log in ``home``."""
    return listening(
        "--from",
        "mux-api",
        "--port",
        "0",
        "--db",
        str(home / "events.db"),
        *options,
        home=home,
        env=env if env is not None else token_env(stub, MUX_WEBHOOK_SECRET=SECRET),
    )


def registered(
    home: Path, db: Path, *options: str, env: dict[str, str]
) -> AbstractContextManager[Listener]:
    """``listen`` on a free port with ``options`` (--register and a tunnel), its log at ``db``."""
    return listening("--port", "0", "--db", str(db), *options, home=home, env=env)


# -- the stream, end to end ---------------------------------------------------------------------


def test_stream_events_reach_the_app_byte_for_byte_and_the_sdk_verifies_them(
    tmp_path: Path, stub: MuxApiStub, app: RecordingApp
) -> None:
    bodies = [event("ev-1", "asset-a"), event("ev-2", "asset-b"), event("ev-3", "asset-a")]
    with (
        sdk_receiver(SECRET) as judged,
        from_stream(tmp_path, stub, "-f", app.url, "-f", judged, "--json") as listener,
    ):
        stub.wait_for_streams(1)
        assert wait_until(lambda: bool(lines_with(listener.stderr, "connected to the Mux")))
        for body in bodies:
            assert stub.publish(body) == 1
        # The local port keeps working beside the stream: a trigger-like signed POST.
        local = event("ev-local", "asset-c")
        posted = httpx.post(listener.url, content=local, headers=signing.sign(local, secret=SECRET))
        assert posted.status_code == 200
        lines = listener.wait_for_stdout(4)  # one line per event, its attempts to both apps
    shown = [json.loads(line) for line in lines]
    ids = ["ev-1", "ev-2", "ev-3", "ev-local"]
    assert sorted(d["event_id"] for d in shown) == ids
    assert all(d["verdict"] == "valid" for d in shown)
    # 200 from the recording app, and from the official SDK's receiver, which verified it.
    assert all([f["status"] for f in d["attempts"]] == [200, 200] for d in shown), shown
    got = {request.body for request in app.requests}
    assert got == {*bodies, local}  # the exact bytes: pretty JSON, "Café ☕", 1.50 all kept
    for request in app.requests:
        assert request.header("content-type") == "application/json"
        assert request.header(
            "mux-signature",
        ).startswith("t=")  # type: ignore[union-attr]
    rows = logged(tmp_path / "events.db")
    streamed = [row for row in rows if row.method == "SSE"]
    assert [row.body for row in streamed] == bodies  # recorded as the stream gave them
    assert {row.path for row in streamed} == {STREAM}
    assert not lines_with(listener.stderr, "Traceback") and listener.code == 0


def test_a_dropped_stream_reconnects_and_a_repeat_is_not_forwarded_twice(
    tmp_path: Path, stub: MuxApiStub, app: RecordingApp
) -> None:
    with from_stream(tmp_path, stub, "-f", app.url) as listener:
        stub.wait_for_streams(1)
        stub.publish(event("ev-1"))
        assert wait_until(lambda: len(app.requests) == 1)
        stub.drop()
        stub.wait_for_streams(2)  # back after the 1 s back-off
        assert wait_until(lambda: bool(lines_with(listener.stderr, "reconnected to the Mux")))
        stub.publish(event("ev-1"))  # the API sends it again after the reconnect
        stub.publish(event("ev-2"))
        listener.wait_for_stdout(3)
    assert [json.loads(r.body)["id"] for r in app.requests] == ["ev-1", "ev-2"]
    assert lines_with(
        listener.stderr, DROPPED + "the Mux API closed the stream); reconnecting in 1 s"
    )
    back = lines_with(
        listener.stderr, "reconnected to the Mux event stream: events could not arrive for "
    )
    assert len(back) == 1 and back[0].endswith(
        " s (the stream does not resend what Mux sent meanwhile)"
    )
    repeat = listener.stdout[1]
    assert re.search(r"  asset-ev-1 +✓ valid +recorded  \(duplicate\)$", repeat)
    rows = logged(tmp_path / "events.db")
    assert [(r.event_id, r.duplicate, r.delivered) for r in rows] == [
        ("ev-1", False, True),
        ("ev-1", True, None),  # recorded, flagged, never to be forwarded: not "failed"
        ("ev-2", False, True),
    ]
    assert "received 3 · valid 3" in listener.stderr[-1]


def test_a_silent_stream_counts_as_dropped(
    tmp_path: Path, stub: MuxApiStub, app: RecordingApp
) -> None:
    with from_stream(tmp_path, stub, "-f", app.url, "--stream-silence", "1") as listener:
        stub.wait_for_streams(1)
        stub.silence()  # the connection stays open, and nothing comes
        stub.wait_for_streams(2)  # 1 s of silence, then 1 s of back-off
        stub.publish(event("ev-after"))
        assert wait_until(lambda: len(app.requests) == 1)
    assert lines_with(
        listener.stderr, DROPPED + "not a byte for 1 s, not even a heartbeat); reconnecting in 1 s"
    )
    back = lines_with(
        listener.stderr, "reconnected to the Mux event stream: events could not arrive"
    )
    assert len(back) == 1
    gap = float(back[0].split("arrive for ")[1].split(" s")[0])
    assert gap >= 1.9  # the silent second counts: events could not arrive during it either
    assert json.loads(app.requests[0].body)["id"] == "ev-after"


def test_data_that_is_not_json_is_recorded_and_not_forwarded(
    tmp_path: Path, stub: MuxApiStub, app: RecordingApp
) -> None:
    with from_stream(tmp_path, stub, "-f", app.url) as listener:
        stub.wait_for_streams(1)
        stub.publish_raw("data: not json {\n\n")
        stub.publish(event("ev-ok"))
        assert wait_until(lambda: len(app.requests) == 1)
        listener.wait_for_stdout(3)
    assert re.search(r"  \(no type\) +- +✗ invalid +not forwarded$", listener.stdout[0])
    assert listener.stdout[1].strip() == "the stream sent data that is not a JSON webhook event"
    rows = logged(tmp_path / "events.db")
    assert (rows[0].body, rows[0].verdict) == (b"not json {", "invalid")
    assert json.loads(app.requests[0].body)["id"] == "ev-ok"


def test_nothing_from_the_stream_is_lost_while_the_app_is_down(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    port = free_port()
    down = f"http://127.0.0.1:{port}/webhooks/mux"
    with from_stream(tmp_path, stub, "-f", down) as listener:
        stub.wait_for_streams(1)
        stub.publish(event("ev-1"))
        stub.publish(event("ev-2"))
        listener.wait_for_stdout(2)
    assert all("→ failed" in line and "connection refused" in line for line in listener.stdout)
    summary = next(line for line in listener.stderr if line.startswith("received "))
    assert "failed 2" in summary
    assert listener.stderr[-1] == (
        "2 events not delivered: #1, #2; 'muxhook log replay --failed' sends them again"
    )
    with sdk_receiver(SECRET, port=port):  # the app is back where it was
        replayed = run_muxhook(
            tmp_path,
            "log",
            "replay",
            "--failed",
            "--db",
            str(tmp_path / "events.db"),
            env={"MUX_WEBHOOK_SECRET": SECRET},
        )
    assert replayed.returncode == 0, replayed.stderr
    assert len(replayed.stdout.splitlines()) == 2 and "→ 200" in replayed.stdout
    assert [row.status for row in logged(tmp_path / "events.db")] == ["ok", "ok"]


def test_without_a_secret_one_is_generated_0600_and_the_sdk_verifies_with_it(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    env = token_env(stub)
    with from_stream(tmp_path, stub, env=env) as first:
        pass
    kept = tmp_path / ".local" / "share" / "muxhook" / "stream-secret-stubenv1"
    assert lines_with(first.stderr, f"generated a signing secret for your app: {kept} (0600)")
    assert lines_with(first.stderr, f'echo "MUX_WEBHOOK_SECRET=$(cat {kept})" >> .env')
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    secret = kept.read_text().strip()
    assert len(secret) == 32 and not any(secret in line for line in first.stderr + first.stdout)
    with (
        sdk_receiver(secret) as judged,
        from_stream(tmp_path, stub, "-f", judged, env=env) as second,
    ):
        assert wait_until(lambda: bool(lines_with(second.stderr, "connected to the Mux")))
        stub.publish(event("ev-generated"))
        second.wait_for_stdout(1)
    assert lines_with(
        second.stderr, f"signing forwards with the local secret {secret[:4]}… (32 chars)"
    )
    assert not lines_with(second.stderr, "generated")  # said once
    assert re.search(r"✓ valid +→ 200 ", second.stdout[0])  # the official SDK accepted it


def test_log_replay_failed_signs_with_the_generated_secret_with_no_flags(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    """The README's Limits: an app that is down loses nothing, and ``log replay --failed``
    delivers it, here with no secret set anywhere: listen generated one and kept it in a
    file, and log replay reads it from there (the log's fingerprint says it is the one)."""
    port = free_port()
    down = f"http://127.0.0.1:{port}/webhooks/mux"
    db = tmp_path / "events.db"
    with from_stream(tmp_path, stub, "-f", down, env=token_env(stub)) as listener:
        stub.wait_for_streams(1)
        stub.publish(event("ev-1"))
        stub.publish(event("ev-2"))
        listener.wait_for_stdout(2)
    assert all("→ failed" in line for line in listener.stdout)
    kept = tmp_path / ".local" / "share" / "muxhook" / "stream-secret-stubenv1"
    secret = kept.read_text().strip()
    aside = kept.with_name("moved-away")

    def replay_failed(**env: str) -> subprocess.CompletedProcess[str]:
        return run_muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db), env=env)

    with sdk_receiver(secret, port=port):  # the app is back, verifying with that secret
        kept.rename(aside)  # the file gone: one line each, saying what works instead
        gone = replay_failed()
        assert gone.returncode == 2, gone.stderr
        assert "Traceback" not in gone.stderr
        said = f"listen signed it with the secret it generated in {kept}, which is gone; set "
        said += "MUX_WEBHOOK_SECRET to the secret your app verifies with, or pass --forward-secret"
        assert len(lines_with(gone.stdout.splitlines(), said)) == 2, gone.stdout
        assert [row.status for row in logged(db)] == ["failed", "failed"]
        # What the line says works: MUX_WEBHOOK_SECRET set to the app's secret.
        first = run_muxhook(
            tmp_path, "log", "replay", "1", "--db", str(db), env={"MUX_WEBHOOK_SECRET": secret}
        )
        assert first.returncode == 0 and "→ 200" in first.stdout, first.stdout + first.stderr
        kept.write_text("another-secret-made-since\n")  # a new file: not the one used
        other = replay_failed()
        assert other.returncode == 2, other.stdout + other.stderr
        assert f"the secret in {kept} is not the one listen signed it with (the file was made " in (
            other.stdout
        )
        aside.replace(kept)
        replayed = replay_failed()  # no flags, no MUX_WEBHOOK_SECRET: the file's secret
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    # 200 from the official SDK's receiver: it was signed verifiably with the secret.
    assert replayed.stdout.startswith("#2 ") and "→ 200" in replayed.stdout, replayed.stdout
    assert len(replayed.stdout.splitlines()) == 1, replayed.stdout
    assert [row.status for row in logged(db)] == ["ok", "ok"]
    assert secret not in replayed.stdout + replayed.stderr


# -- what stops it, in one line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env_change", "line"),
    [
        (
            (),
            {"MUX_TOKEN_SECRET": "wrong"},
            "error: Mux refused the API token stub… (24 chars) from MUX_TOKEN_ID and "
            "MUX_TOKEN_SECRET (401) when asked to check the API token; check MUX_TOKEN_ID and "
            "MUX_TOKEN_SECRET (Dashboard › Settings › Access Tokens)",
        ),
        (
            (),
            {"MUX_TOKEN_ID": ""},
            "error: no Mux API token: set MUX_TOKEN_ID (an access token from Dashboard › "
            "Settings › Access Tokens), add them to .env, or pass --token-id and --token-secret",
        ),
        (
            ("--register",),
            {},
            "error: --from mux-api needs no tunnel and no endpoint: drop --register, "
            "--public-url, --domain and --tunnel ngrok (or drop --from mux-api)",
        ),
        (
            ("--provider", "fastpix"),
            {},
            "error: --from mux-api is for Mux events: drop --provider fastpix",
        ),
        (("--stream-silence", "0"), {}, "error: --stream-silence must be > 0 seconds"),
    ],
)
def test_bad_input_to_listen_from_the_stream_is_one_line_and_exit_2(
    tmp_path: Path,
    stub: MuxApiStub,
    args: tuple[str, ...],
    env_change: dict[str, str],
    line: str,
) -> None:
    result = run_muxhook(
        tmp_path,
        "listen",
        "--from",
        "mux-api",
        "--port",
        "0",
        *args,
        env=token_env(stub, **env_change),
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    errors = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert errors == [line] and "Traceback" not in result.stderr
    assert TOKEN_SECRET not in result.stderr + result.stdout


def test_other_bad_listen_options_are_one_line(tmp_path: Path, stub: MuxApiStub) -> None:
    cases = [
        (("--from", "nope"), "error: --from 'nope': choose tunnel or mux-api"),
        (
            ("--register", "--no-tunnel"),
            "error: --register needs a public URL for Mux to send to: ngrok (with an "
            "authtoken) or --public-url URL; drop --no-tunnel",
        ),
        (("--keep-endpoint",), "error: --keep-endpoint goes with --register"),
    ]
    for args, line in cases:
        result = run_muxhook(tmp_path, "listen", "--port", "0", *args, env=token_env(stub))
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines()[-1] == line


def test_a_stream_refused_after_start_stops_listen_with_one_line(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    stub.permissions = ("video:read",)  # whoami answers any token; the stream does not
    result = run_muxhook(
        tmp_path, "listen", "--from", "mux-api", "--port", "0", env=token_env(stub), timeout=30
    )
    assert result.returncode == 2, result.stderr
    errors = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert errors == [
        "error: the Mux API token 'muxhook tests' may not read the webhook event stream (403): "
        "it lacks system:read (it has: video:read); give a token System read access in "
        "Dashboard › Settings › Access Tokens"
    ]
    assert "received 0" in result.stderr and "Traceback" not in result.stderr


def test_a_rate_limited_or_failing_stream_is_retried(
    tmp_path: Path, stub: MuxApiStub, app: RecordingApp
) -> None:
    stub.fail(STREAM, 429, times=1, retry_after="0.5")
    with from_stream(tmp_path, stub, "-f", app.url) as listener:
        stub.wait_for_streams(1)
        stub.publish(event("ev-late"))
        assert wait_until(lambda: len(app.requests) == 1)
        stub.fail(STREAM, 500, times=1)
        stub.drop()
        stub.wait_for_streams(2, timeout=20)
    assert lines_with(
        listener.stderr,
        "warning: could not open the Mux event stream (the Mux API is rate-limiting the stream "
        "(429)); retrying in 0.5 s",
    )
    assert lines_with(listener.stderr, "connected to the Mux event stream after ")
    assert lines_with(
        listener.stderr,
        "warning: could not open the Mux event stream (the Mux API answered 500); retrying in 2 s",
    )


# -- --register ------------------------------------------------------------------------------


def test_register_creates_the_endpoint_verifies_with_its_secret_and_deletes_it(
    tmp_path: Path, stub: MuxApiStub, app: RecordingApp, sdk: Judge
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MUX_WEBHOOK_SECRET=the-old-one\n")
    public = "https://hooks.example.com"
    with registered(
        tmp_path,
        tmp_path / "events.db",
        "--register",
        "--public-url",
        public,
        "-f",
        app.url,
        env=token_env(stub),
    ) as listener:
        [endpoint] = stub.endpoints.values()
        assert endpoint["address"] == public + "/webhooks/mux"
        secret = endpoint["signing_secret"]
        assert f"MUX_WEBHOOK_SECRET={secret}\n" in env_file.read_text()
        assert "# muxhook kept: MUX_WEBHOOK_SECRET=the-old-one" in env_file.read_text()
        app_secret = read_dotenv(env_file)["MUX_WEBHOOK_SECRET"]  # what the app reads
        body = event("ev-registered")
        sent_at = time.time()
        good = httpx.post(listener.url, content=body, headers=signing.sign(body, secret=secret))
        assert good.status_code == 200  # verified with the endpoint's secret, forwarded
        stale = httpx.post(listener.url, content=body, headers=signing.sign(body, secret="x" * 20))
        assert stale.status_code == 401
    assert not any(secret in line for line in listener.stderr + listener.stdout)
    assert lines_with(listener.stderr, f"  registered Mux endpoint {endpoint['id']} → {public}")
    assert lines_with(listener.stderr, "Mux sends to it already (endpoint ")
    assert lines_with(listener.stderr, f"deleted Mux endpoint {endpoint['id']}: Mux stops sending")
    assert stub.endpoints == {}
    assert env_file.read_text() == "MUX_WEBHOOK_SECRET=the-old-one\n"  # put back
    [forwarded] = app.requests
    header = forwarded.header("mux-signature") or ""
    # The official SDK accepts the forward with the secret the app found in .env.
    assert sdk.verify(forwarded.body, header, app_secret, sent_at)["ok"] is True


def test_keep_endpoint_keeps_it_and_the_next_run_reuses_it(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    args = ("--register", "--keep-endpoint", "--public-url", "https://hooks.example.com")
    with registered(tmp_path, tmp_path / "a.db", *args, env=token_env(stub)) as first:
        pass
    [endpoint] = stub.endpoints.values()
    assert lines_with(first.stderr, f"kept Mux endpoint {endpoint['id']} → ")
    with registered(tmp_path, tmp_path / "b.db", *args, env=token_env(stub)) as second:
        pass
    assert lines_with(second.stderr, f"  reusing Mux endpoint {endpoint['id']} → ")
    assert list(stub.endpoints) == [endpoint["id"]]


def test_register_without_system_write_stops_before_any_tunnel(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    stub.permissions = ("system:read",)
    result = run_muxhook(
        tmp_path,
        "listen",
        "--port",
        "0",
        "--register",
        "--public-url",
        "https://hooks.example.com",
        env=token_env(stub),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "error: the Mux API token 'muxhook tests' may not create a webhook endpoint "
        "(--register) (403): it lacks system:write (it has: system:read); give a token System "
        "write access in Dashboard › Settings › Access Tokens"
    )


def test_a_refused_public_url_is_one_line_and_nothing_is_left(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    result = run_muxhook(
        tmp_path,
        "listen",
        "--port",
        "0",
        "--register",
        "--public-url",
        "https://tunnel.invalid",
        env=token_env(stub),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "error: Mux refused to create a webhook endpoint for https://tunnel.invalid/webhooks/mux "
        "(400): Mux says 'address must be publicly reachable'"
    )
    assert stub.endpoints == {} and not (tmp_path / ".env").exists()


def test_a_tunnel_that_comes_back_with_another_url_moves_the_endpoint(
    tmp_path: Path, stub: MuxApiStub
) -> None:
    agent = _fake_agent(tmp_path)
    env = token_env(
        stub, NGROK_AUTHTOKEN="test-token", FAKE_NGROK_DIE_AFTER="2", FAKE_NGROK_MAX_LIFETIME="60"
    )
    with listening(
        "--port",
        "0",
        "--db",
        str(tmp_path / "events.db"),
        "--register",
        "--tunnel",
        "ngrok",
        "--ngrok-path",
        str(agent),
        home=tmp_path,
        env=env,
    ) as listener:
        [endpoint] = stub.endpoints.values()
        first = endpoint["address"]
        assert first == f"{listener.public_url}"
        moved = "  the tunnel's URL changed: Mux endpoint "
        assert wait_until(lambda: bool(lines_with(listener.stderr, moved)), 20)
        [endpoint] = stub.endpoints.values()
        assert endpoint["address"] != first and endpoint["address"].endswith("/webhooks/mux")
        assert lines_with(listener.stderr, moved)[0].endswith(
            f"now points at {endpoint['address']}"
        )
    assert stub.endpoints == {}
    assert lines_with(listener.stderr, "warning: the tunnel agent stopped; starting it again")
    assert not lines_with(listener.stderr, "Traceback")
