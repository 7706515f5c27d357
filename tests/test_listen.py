"""``muxhook listen`` end to end: real listener process, real apps, real HTTP, loopback only."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

from muxhook import signing
from tests.apps import Received, RecordingApp, free_port, serve
from tests.conftest import FIXTURES
from tests.listening import json_lines, listen_locally, listening, muxhook_env, run_muxhook
from tests.mux_judge import Judge

SECRET = "listen-test-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
ASSET_READY = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return signing.sign(body, secret=secret)


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=30)


def muxhook(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_muxhook(home, *args, env=ENV)


def mux_event(object_id: str, n: int, kind: str = "video.asset.updated") -> bytes:
    document = {
        "type": kind,
        "id": f"evt-{object_id}-{n}",
        "object": {"type": "asset", "id": object_id},
        "data": {"id": object_id, "sequence": n},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def test_signed_event_reaches_the_app_byte_for_byte(
    tmp_path: Path, app: RecordingApp, sdk: Judge
) -> None:
    db = tmp_path / "events.db"
    with listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener:
        headers = signed(ASSET_READY)
        answer = post(listener.url, ASSET_READY, headers)
        lines = listener.wait_for_stdout(1)
    assert answer.status_code == 200 and answer.json() == {"received": True}
    arrived = app.requests[0]
    assert arrived.body == ASSET_READY
    assert arrived.header("Mux-Signature") == headers["Mux-Signature"]
    assert arrived.path == "/webhooks/mux"
    verdict = sdk.verify(arrived.body, arrived.header("Mux-Signature") or "", SECRET, time.time())
    assert verdict["ok"] is True and verdict["type"] == "video.asset.ready"
    assert "video.asset.ready" in lines[0] and "✓ valid" in lines[0] and "→ 200" in lines[0]
    assert listener.code == 0
    assert any(line.startswith("received 1 · valid 1") for line in listener.stderr)


def test_invalid_signature_is_recorded_shown_refused_and_not_forwarded(
    tmp_path: Path, app: RecordingApp
) -> None:
    db = tmp_path / "events.db"
    with listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener:
        answer = post(listener.url, ASSET_READY, signed(ASSET_READY, "another-secret-xyz"))
        lines = listener.wait_for_stdout(2)
    assert answer.status_code == 401 and "invalid signature" in answer.text
    assert app.requests == []
    assert "✗ invalid" in lines[0] and "not forwarded (401)" in lines[0]
    assert "does not match" in lines[1]
    listed = json_lines(muxhook(tmp_path, "log", "list", "--db", str(db), "--json").stdout)
    assert [row["verdict"] for row in listed] == ["invalid"]
    assert listed[0]["reason"].startswith("Mux-Signature does not match")


def test_app_down_gives_502_then_replay_failed_delivers(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    port = free_port()
    target = f"http://127.0.0.1:{port}/hooks"
    with listen_locally(tmp_path, db, "-f", target, env=ENV) as listener:
        answer = post(listener.url, ASSET_READY, signed(ASSET_READY))
        listener.wait_for_stdout(1)
    assert answer.status_code == 502
    assert f"is your app running on port {port}?" in answer.text
    assert any("nothing answers at 127.0.0.1" in line for line in listener.stderr)
    failed = json_lines(
        muxhook(tmp_path, "log", "list", "--db", str(db), "--status", "failed", "--json").stdout
    )
    assert len(failed) == 1 and failed[0]["attempts"][0]["error"]
    with serve(RecordingApp(), port=port) as late_app:
        replay = muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db))
    assert replay.returncode == 0, replay.stderr
    assert late_app.requests[0].body == ASSET_READY
    signing.verify(late_app.requests[0].body, late_app.requests[0].headers, secret=SECRET)
    still = muxhook(tmp_path, "log", "list", "--db", str(db), "--status", "failed", "--json")
    assert json_lines(still.stdout) == []


def test_order_per_object_holds_under_concurrency(tmp_path: Path) -> None:
    rng = random.Random(7)

    def jittery(_: Received) -> tuple[int, bytes]:
        time.sleep(rng.uniform(0, 0.02))
        return 200, b"{}"

    objects = [f"asset-{n}" for n in range(4)]
    per_object = 12
    with (
        serve(RecordingApp(jittery)) as app,
        listen_locally(
            tmp_path,
            tmp_path / "e.db",
            "-f",
            app.url,
            "--ack",
            "immediate",
            "--concurrency",
            "8",
            env=ENV,
        ) as listener,
    ):

        def send(object_id: str) -> None:
            with httpx.Client(timeout=30) as client:
                for n in range(per_object):
                    body = mux_event(object_id, n)
                    client.post(listener.url, content=body, headers=signed(body))

        senders = [threading.Thread(target=send, args=(o,)) for o in objects]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(60)
        listener.wait_for_stdout(len(objects) * per_object)
    seen: dict[str, list[int]] = defaultdict(list)
    for request in app.requests:
        data = json.loads(request.body)["data"]
        seen[data["id"]].append(data["sequence"])
    assert dict(seen) == {o: list(range(per_object)) for o in objects}


def test_a_slow_app_does_not_hold_back_other_objects(tmp_path: Path) -> None:
    def slow_for_one(request: Received) -> tuple[int, bytes]:
        if b'"slow-asset"' in request.body:
            time.sleep(2)
        return 200, b"{}"

    finished: dict[str, float] = {}
    with (
        serve(RecordingApp(slow_for_one)) as app,
        listen_locally(tmp_path, tmp_path / "e.db", "-f", app.url, env=ENV) as listener,
    ):

        def send(object_id: str) -> None:
            body = mux_event(object_id, 0)
            post(listener.url, body, signed(body))
            finished[object_id] = time.monotonic()

        slow = threading.Thread(target=send, args=("slow-asset",))
        slow.start()
        time.sleep(0.2)  # the slow one is in the app when the others arrive
        fast = [threading.Thread(target=send, args=(f"fast-{n}",)) for n in range(5)]
        for thread in fast:
            thread.start()
        for thread in [slow, *fast]:
            thread.join(30)
    assert all(finished[f"fast-{n}"] < finished["slow-asset"] for n in range(5))


def test_listen_with_no_flags_says_what_is_missing(tmp_path: Path) -> None:
    with listening("--port", "0", home=tmp_path) as listener:
        pass
    said = "\n".join(listener.stderr)
    assert "warning: no signing secret: events are recorded and forwarded unverified" in said
    assert "not forwarding (no --forward-to)" in said
    assert "local only: ngrok has no authtoken configured" in said
    assert "Ready: listening on http://127.0.0.1:" in said
    assert listener.code == 0


def test_json_lines_have_the_documented_schema(tmp_path: Path, app: RecordingApp) -> None:
    with listen_locally(tmp_path, tmp_path / "e.db", "-f", app.url, "--json", env=ENV) as listener:
        post(listener.url, ASSET_READY, signed(ASSET_READY))
        lines = listener.wait_for_stdout(1)
    document = json.loads(lines[0])
    assert set(document) == {
        "schema",
        "id",
        "received_at",
        "method",
        "path",
        "provider",
        "type",
        "event_id",
        "object_id",
        "verdict",
        "reason",
        "duplicate",
        "status",
        "targets",
        "attempts",
    }
    assert (document["schema"], document["type"], document["verdict"]) == (
        2,
        "video.asset.ready",
        "valid",
    )
    assert document["attempts"][0]["status"] == 200
    assert document["status"] == "ok" and document["targets"][0]["url"] == app.url
    # the same form as the log's own
    logged = run_muxhook(tmp_path, "log", "list", "--db", str(tmp_path / "e.db"), "--json")
    assert json_lines(logged.stdout)[0] == {**document, "received_at": document["received_at"]}
    assert any(line.startswith("Ready:") for line in listener.stderr)


def test_events_filter_and_routes(tmp_path: Path) -> None:
    with (
        serve(RecordingApp()) as assets,
        serve(RecordingApp()) as uploads,
        listening(
            "--port",
            "0",
            "--no-tunnel",
            "--db",
            str(tmp_path / "e.db"),
            "-f",
            f"video.asset.*={assets.url}",
            "-f",
            f"video.upload.*={uploads.url}",
            "--events",
            "video.asset.*,video.upload.*",
            home=tmp_path,
            env=ENV,
        ) as listener,
    ):
        for name in ("video.asset.ready", "video.upload.created", "video.live_stream.active"):
            body = (FIXTURES / "mux" / f"{name}.json").read_bytes()
            assert post(listener.url, body, signed(body)).status_code == 200
        lines = listener.wait_for_stdout(2)
    assert [json.loads(r.body)["type"] for r in assets.requests] == ["video.asset.ready"]
    assert [json.loads(r.body)["type"] for r in uploads.requests] == ["video.upload.created"]
    assert len(lines) == 2 and not any("live_stream" in line for line in lines)


def test_ack_immediate_retries_until_the_app_recovers(tmp_path: Path) -> None:
    answers = iter([500, 500])

    def flaky(_: Received) -> tuple[int, bytes]:
        return next(answers, 200), b"{}"

    with (
        serve(RecordingApp(flaky)) as app,
        listen_locally(
            tmp_path, tmp_path / "e.db", "-f", app.url, "--ack", "immediate", env=ENV
        ) as listener,
    ):
        answer = post(listener.url, ASSET_READY, signed(ASSET_READY))
        lines = listener.wait_for_stdout(3, timeout=30)
    assert answer.status_code == 200
    assert len(app.requests) == 3
    # The event's line ends with its first attempt; each retry has a line of its own under it.
    assert re.search(
        r"  #1 +mux +video\.asset\.ready +\S+ +✓ valid +→ 500 +[\d.]+ ms  \{\}  \(retrying\)$",
        lines[0],
    )
    assert re.fullmatch(r"    ↳ #1 attempt 2 → 500 [\d.]+ ms  \{\}  \(retrying\)", lines[1])
    assert re.fullmatch(r"    ↳ #1 attempt 3 → 200 [\d.]+ ms", lines[2])
    assert all(line.count("→") == 1 for line in lines)


def test_bad_requests_get_the_right_status_and_are_recorded(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    with listen_locally(tmp_path, db, "--max-body", "1k", env=ENV) as listener:
        base = listener.url.rsplit("/webhooks", 1)[0]
        assert httpx.get(base + "/").status_code == 200
        assert httpx.get(base + "/nope").status_code == 404
        assert httpx.put(listener.url, content=b"{}").status_code == 405
        assert post(listener.url, b"x" * 2048, {}).status_code == 413
        assert post(listener.url, b"not json", {}).status_code == 401  # a secret is set
        assert httpx.get(base + "/").status_code == 200  # still serving
    rows = json_lines(muxhook(tmp_path, "log", "list", "--db", str(db), "--json").stdout)
    assert sorted(row["verdict"] for row in rows) == ["invalid", "rejected", "rejected"]


def test_save_writes_replayable_fixtures(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    with listen_locally(tmp_path, tmp_path / "e.db", "--save", str(saved), env=ENV) as listener:
        post(listener.url, ASSET_READY, signed(ASSET_READY))
        listener.wait_for_stdout(1)
    files = list((saved / "mux").glob("*.json"))
    assert len(files) == 1 and files[0].read_bytes() == ASSET_READY
    assert files[0].name.endswith("-000001-video.asset.ready.json")
    assert files[0].stat().st_mode & 0o777 == 0o600
    signed_again = muxhook(tmp_path, "sign", str(files[0]), "--format", "json")
    assert json.loads(signed_again.stdout)["event_type"] == "video.asset.ready"


def test_save_keeps_valid_events_and_save_all_keeps_the_rest_marked(tmp_path: Path) -> None:
    not_json = b"hello, not json"
    unsigned = fixture("video.asset.created")
    sent = [
        (ASSET_READY, signed(ASSET_READY)),  # valid: a fixture
        (ASSET_READY, signed(ASSET_READY, "whsec_not-this-endpoints-secret")),  # invalid
        (unsigned, {}),  # no signature where a secret is set: invalid
        (not_json, signed(not_json)),  # valid signature, but not an event replay can sign
    ]
    for flags, folder in ((("--save",), "kept"), (("--save", "--save-all"), "all")):
        saved = tmp_path / folder
        db = tmp_path / f"{folder}.db"
        flags_ = [flag if flag != "--save" else f"--save={saved}" for flag in flags]
        with listen_locally(tmp_path, db, *flags_, env=ENV) as listener:
            for body, headers in sent:
                post(listener.url, body, headers)
            listener.wait_for_stdout(len(sent))
        names = sorted(path.name.split("-", 2)[2] for path in saved.rglob("*") if path.is_file())
        if folder == "kept":
            assert names == ["video.asset.ready.json"]
        else:
            assert names == [
                "unknown.json.body",
                "video.asset.created.json.invalid",
                "video.asset.ready.json",
                "video.asset.ready.json.invalid",
            ]
        replayed = muxhook(tmp_path, "replay", str(saved), "--to", "http://127.0.0.1:9/x")
        assert "1 events" in replayed.stdout + replayed.stderr  # the marked files are not sent


def test_a_busy_port_is_one_line_and_exit_4(tmp_path: Path, app: RecordingApp) -> None:
    result = muxhook(tmp_path, "listen", "--no-tunnel", "--port", str(app.port))
    assert result.returncode == 4
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: port {app.port} on 127.0.0.1 is in use (another muxhook listen?); pass --port"
    )
    assert "Traceback" not in result.stderr


# -- the tunnel, end to end: real pyngrok driving the fake agent in tests/fake_ngrok.py ---------


def _fake_agent(home: Path) -> Path:
    """tests/fake_ngrok.py as an executable ``ngrok``, run by this interpreter."""
    source = (Path(__file__).parent / "fake_ngrok.py").read_text(encoding="utf-8")
    agent = home / "bin" / "ngrok"
    agent.parent.mkdir(parents=True, exist_ok=True)
    agent.write_text(source.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
    agent.chmod(0o755)
    return agent


def test_webhooks_reach_the_app_through_the_tunnel(
    tmp_path: Path, app: RecordingApp, sdk: Judge
) -> None:
    agent = _fake_agent(tmp_path)
    record = tmp_path / "agent-calls.jsonl"
    env = {**ENV, "NGROK_AUTHTOKEN": "test-token", "FAKE_NGROK_RECORD": str(record)}
    with listening(
        "--port",
        "0",
        "--db",
        str(tmp_path / "e.db"),
        "-f",
        app.url,
        "--ngrok-path",
        str(agent),
        home=tmp_path,
        env=env,
    ) as listener:
        assert listener.public_url is not None, "\n".join(listener.stderr)
        assert listener.public_url.endswith("/webhooks/mux")
        headers = signed(ASSET_READY)
        answer = post(listener.public_url + "?source=mux", ASSET_READY, headers)
        listener.wait_for_stdout(1)
    assert answer.status_code == 200
    arrived = app.requests[0]
    assert arrived.body == ASSET_READY
    assert arrived.path == "/webhooks/mux"  # --forward-to's own path: the incoming one is logged
    logged = json.loads(
        muxhook(tmp_path, "log", "show", "1", "--json", "--db", str(tmp_path / "e.db")).stdout
    )
    assert logged["path"] == "/webhooks/mux?source=mux"
    assert sdk.verify(arrived.body, arrived.header("Mux-Signature") or "", SECRET, time.time())[
        "ok"
    ]
    said = "\n".join(listener.stderr)
    assert "starting an ngrok tunnel" in said
    assert "paste it into Mux: Dashboard › Settings › Webhooks" in said
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert not any("test-token" in json.dumps(call) for call in calls)  # never on argv
    assert listener.code == 0


def test_a_missing_authtoken_is_one_line_and_exit_4(tmp_path: Path) -> None:
    agent = _fake_agent(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "muxhook",
            "listen",
            "--port",
            "0",
            "--tunnel",
            "ngrok",
            "--ngrok-path",
            str(agent),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=muxhook_env(tmp_path, {"FAKE_NGROK_FAIL": "4018"}),
    )
    assert result.returncode == 4, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "authtoken" in last
    assert "Traceback" not in result.stderr


def test_no_agent_installed_says_how_to_get_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "muxhook", "listen", "--port", "0", "--tunnel", "ngrok"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=muxhook_env(tmp_path, {"PATH": "/usr/bin:/bin"}),
    )
    assert result.returncode == 4
    assert "muxhook ngrok install" in result.stderr.strip().splitlines()[-1]


def test_your_own_tunnel_url_is_printed_and_nothing_started(tmp_path: Path) -> None:
    with listening(
        "--port", "0", "--public-url", "https://hooks.example.test/", home=tmp_path, env=ENV
    ) as listener:
        pass
    said = "\n".join(listener.stderr)
    assert "public URL: https://hooks.example.test/webhooks/mux" in said
    assert "nothing is started" in said


# -- forwarding options: TLS to a local https app, extra headers, re-signing --------------------


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made with the openssl command."""
    import shutil

    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed to test forwarding to an https app"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_insecure_forwards_to_a_local_https_app(tmp_path: Path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    import http.server

    from tests.apps import _handler_for

    app = RecordingApp()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(app))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = f"https://127.0.0.1:{port}/hooks"
        for flags, expected in ((["--insecure"], 200), ([], 502)):
            with listening(
                "--port",
                "0",
                "--no-tunnel",
                "--db",
                str(tmp_path / "e.db"),
                "-f",
                target,
                *flags,
                home=tmp_path,
                env=ENV,
            ) as listener:
                answer = post(listener.url, ASSET_READY, signed(ASSET_READY))
                listener.wait_for_stdout(1)
            assert answer.status_code == expected, answer.text
        assert "TLS failed" in answer.text and "--insecure" in answer.text
    finally:
        server.shutdown()
        server.server_close()
    assert [r.body for r in app.requests] == [ASSET_READY]


def test_extra_headers_and_forward_secret(tmp_path: Path, app: RecordingApp, sdk: Judge) -> None:
    with listen_locally(
        tmp_path,
        tmp_path / "e.db",
        "-f",
        app.url,
        "-H",
        "X-Env: staging",
        "--forward-secret",
        "the-apps-own-secret-0001",
        env=ENV,
    ) as listener:
        answer = post(listener.url, ASSET_READY, signed(ASSET_READY))
        listener.wait_for_stdout(1)
    assert answer.status_code == 200
    arrived = app.requests[0]
    assert arrived.header("X-Env") == "staging" and arrived.body == ASSET_READY
    header = arrived.header("Mux-Signature") or ""
    assert sdk.verify(arrived.body, header, "the-apps-own-secret-0001", time.time())["ok"]
    assert not sdk.verify(arrived.body, header, SECRET, time.time())["ok"]


# -- what the app said, routes, columns (issue 12) ----------------------------------------------


def fixture(name: str) -> bytes:
    return (FIXTURES / "mux" / f"{name}.json").read_bytes()


def test_a_non_2xx_answer_shows_what_the_app_said_and_v_shows_the_answer(tmp_path: Path) -> None:
    first_answer = b"KeyError: 'passthrough' in handle_webhook\nmore detail on the next line\n"
    answers = iter(
        [
            (500, first_answer),
            (500, b"\x1b[31mboom " + b"x" * 300),
        ]
    )
    db = tmp_path / "e.db"
    with (
        serve(RecordingApp(lambda _: next(answers))) as app,
        listen_locally(tmp_path, db, "-f", app.url, "-v", env=ENV) as listener,
    ):
        for body in (ASSET_READY, fixture("video.asset.created")):
            assert post(listener.url, body, signed(body)).status_code == 500
        listener.wait_for_line("| \\x1b[31mboom")
    out = listener.stdout
    first = next(line for line in out if "#1" in line and "video.asset.ready" in line)
    assert re.search(r"→ 500 +[\d.]+ ms  KeyError: 'passthrough' in handle_webhook$", first)
    answer = out.index(f"    your app's answer ({app.url}): 500")
    shown_answer = out[answer + 1 : answer + 7]  # http.server adds Server and Date first
    assert "      Content-Type: application/json" in shown_answer
    assert f"      Content-Length: {len(first_answer)}" in shown_answer
    body_at = shown_answer.index("      | KeyError: 'passthrough' in handle_webhook")
    assert shown_answer[body_at + 1] == "      | more detail on the next line"
    assert all(line.startswith("      ") and ": " in line for line in shown_answer[:body_at])
    second = next(line for line in out if "#2" in line and "video.asset.created" in line)
    assert "\x1b" not in "\n".join(out)  # the app's escape sequence is shown, not obeyed
    assert second.endswith("→ 500" + second.split("→ 500")[1])
    said = second.split(" ms  ", 1)[1]
    assert said.startswith("\\x1b[31mboom xxx") and said.endswith("…") and len(said) == 80
    assert max(len(line) for line in out) < 200
    shown = muxhook(tmp_path, "log", "show", "1", "--db", str(db)).stdout
    assert "      Content-Type: application/json" in shown
    as_json = json.loads(muxhook(tmp_path, "log", "show", "1", "--json", "--db", str(db)).stdout)
    assert ["Content-Type", "application/json"] in as_json["attempts"][0]["response_headers"]


def test_an_app_refusing_a_valid_signature_gets_one_hint(tmp_path: Path) -> None:
    def refuses(_: Received) -> tuple[int, bytes]:
        return 401, b'{"error":"invalid signature"}'

    with (
        serve(RecordingApp(refuses)) as app,
        listen_locally(tmp_path, tmp_path / "e.db", "-f", app.url, env=ENV) as listener,
    ):
        for _ in range(2):
            assert post(listener.url, ASSET_READY, signed(ASSET_READY)).status_code == 401
        listener.wait_for_stdout(3)
    hints = [line for line in listener.stdout if "hint:" in line]
    assert hints == [
        "    hint: your app answered 401 to an event whose Mux signature is valid: does it "
        "verify the raw body as received (not JSON parsed and serialised again), and is its "
        "secret this endpoint's signing secret?"
    ]
    assert listener.stdout.index(hints[0]) == 1  # under the first event's line
    assert "→ 401" in listener.stdout[0] and '{"error":"invalid signature"}' in listener.stdout[0]


def test_an_event_goes_to_its_first_matching_route_and_fans_out_only_when_asked(
    tmp_path: Path,
) -> None:
    with (
        serve(RecordingApp()) as live,
        serve(RecordingApp()) as main,
        serve(RecordingApp()) as uploads,
        listen_locally(
            tmp_path,
            tmp_path / "e.db",
            "-f",
            main.url,
            "-f",
            f"video.live_stream.*={live.url}",
            "-f",
            f"video.upload.*={uploads.url},{main.url}",
            "-f",
            f"video.*={live.url}",  # never reached by the types above: an earlier one matches
            env=ENV,
        ) as listener,
    ):
        names = ("video.live_stream.active", "video.asset.ready", "video.upload.created")
        for name in names:
            body = fixture(name)
            assert post(listener.url, body, signed(body)).status_code == 200
        listener.wait_for_stdout(3)
        listener.wait_for_line("↳ #3 forward to")

    def types(app: RecordingApp) -> list[str]:
        return [json.loads(r.body)["type"] for r in app.requests]

    assert types(live) == ["video.live_stream.active", "video.asset.ready"]
    assert types(main) == ["video.upload.created"]
    assert types(uploads) == ["video.upload.created"]
    said = "\n".join(listener.stderr)
    assert f"  forwarding to {main.url} (every other event)" in said
    assert f"  forwarding to {live.url} (events video.live_stream.*)" in said
    lines = listener.stdout
    assert not any(f"to {live.url}" in line for line in lines)  # one target: not named
    upload = next(line for line in lines if "video.upload.created" in line)
    other = next(line for line in lines if "↳ #3 forward to" in line)
    named = {upload.rsplit("  to ", 1)[1], other.split(" forward to ", 1)[1].split(" → ")[0]}
    assert named == {uploads.url, main.url}


def test_ack_immediate_says_the_platform_gets_200_once_recorded(tmp_path: Path) -> None:
    port = free_port()
    with listen_locally(
        tmp_path,
        tmp_path / "e.db",
        "-f",
        f"http://127.0.0.1:{port}/hooks",
        "--ack",
        "immediate",
        "--retries",
        "0",
        env=ENV,
    ) as listener:
        assert post(listener.url, ASSET_READY, signed(ASSET_READY)).status_code == 200
        listener.wait_for_stdout(1)
    said = "\n".join(listener.stderr)
    assert "the platform gets 200 once an event is recorded (--ack immediate)" in said
    assert "502" not in said
    assert f"is your app running on port {port}?); events are recorded and answered 200" in said


def test_lines_of_listen_and_log_list_line_up_in_columns(tmp_path: Path, app: RecordingApp) -> None:
    names = (
        "video.asset.ready",
        "video.upload.asset_created",
        "video.asset.static_renditions.preparing",  # longer than the type column
        "video.live_stream.active",
    )
    db = tmp_path / "e.db"
    with listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener:
        for name in names:
            body = fixture(name)
            post(listener.url, body, signed(body))
        lines = listener.wait_for_stdout(len(names))
    listed = muxhook(tmp_path, "log", "list", "--db", str(db)).stdout.splitlines()
    for shown in (lines, listed):
        assert len(shown) == len(names)
        for mark in ("#", "mux", "✓ valid", "→ 200"):
            assert len({line.index(mark) for line in shown}) == 1, (mark, shown)
        assert len({line.index(" ms") for line in shown}) == 1, shown
        assert any("video.asset.static_renditions.p…  " in line for line in shown)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d  #1     mux         video\.asset\.ready +\S+ +✓ valid +→ 200 +"
        r"[\d.]+ ms",
        lines[0],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  #4     mux  .*", listed[0])


def test_what_an_app_said_is_its_first_line_a_tracebacks_exception_or_a_pages_title() -> None:
    from muxhook.render import app_said

    assert app_said(b"\n\n  bad request: no type  \nsecond") == "bad request: no type"
    traceback = b"Traceback (most recent call last):\n  File \"app.py\"\nKeyError: 'passthrough'\n"
    assert app_said(traceback) == "KeyError: 'passthrough'"
    page = b"<!DOCTYPE html>\n<html><head><title>KeyError at /hooks &amp; more</title>"
    assert app_said(page) == "KeyError at /hooks & more"
    assert app_said(b"") == ""
    assert app_said(b"a\tb\x07c" + b"d" * 100, 10) == "a b\\x07cd…"  # the … counted
