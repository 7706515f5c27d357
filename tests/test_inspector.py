"""The web inspector without a browser: what providers tell it, the log's filters, the JSON
API on a real server (port 0), its security checks, and its place in ``listen``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from muxhook import providers, signing
from muxhook.inspector import documents
from muxhook.records import StoredEvent
from muxhook.store import EventLog
from tests.apps import RecordingApp
from tests.conftest import FIXTURES
from tests.inspecting import (
    attempt,
    base,
    inspecting,
    inspector_in_thread,
    printed_inspector,
    record,
)
from tests.listening import listen_locally, listening, run_muxhook

SECRET = "inspector-test-secret-01"


def mux_body(kind: str, object_id: str, event_id: str, at: str | None = None) -> bytes:
    document: dict[str, object] = {
        "type": kind,
        "id": event_id,
        "object": {"type": kind.split(".")[1], "id": object_id},
        "data": {"id": object_id},
    }
    if at is not None:
        document["created_at"] = at
    return json.dumps(document, separators=(",", ":")).encode()


# -- what providers say ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "fixture", "expected"),
    [
        ("mux", "video.asset.ready.json", "2026-11-20T10:40:46.521238+00:00"),
        ("fastpix", "video.media.created.json", "2025-01-17T05:50:02.114035+00:00"),
        ("millicast", "media.completed.json", "2024-09-02T06:59:03.575000+00:00"),
        ("cloudflare", "video.ready.json", "2025-01-17T06:05:34.318522+00:00"),
    ],
)
def test_each_provider_says_when_its_event_happened(
    provider: str, fixture: str, expected: str
) -> None:
    import datetime

    body = (FIXTURES / provider / fixture).read_bytes()
    occurred = providers.get(provider).describe(body).occurred_at
    assert occurred is not None
    when = datetime.datetime.fromtimestamp(occurred, datetime.timezone.utc)
    assert when.isoformat() == expected


def test_times_in_seconds_milliseconds_and_iso_text() -> None:
    assert providers.parse_time(1_700_000_000) == 1_700_000_000
    assert providers.parse_time(1_700_000_000_500) == 1_700_000_000.5
    assert providers.parse_time("2023-11-14T22:13:20Z") == 1_700_000_000
    assert providers.parse_time("2023-11-14T22:13:20.123456789Z") == pytest.approx(
        1_700_000_000.123456
    )
    nothings: tuple[object, ...] = (None, "", "yesterday", True, [], {})
    for nothing in nothings:
        assert providers.parse_time(nothing) is None


def test_the_creation_event_comes_from_each_catalog() -> None:
    mux, fastpix = providers.get("mux"), providers.get("fastpix")
    assert mux.creation_event("video.asset.ready") == "video.asset.created"
    assert mux.creation_event("video.live_stream.active") == "video.live_stream.created"
    assert mux.creation_event("video.asset.created") is None  # itself
    assert fastpix.creation_event("video.media.ready") == "video.media.created"
    # Families whose catalog has no creation event have no birth to miss.
    assert providers.get("cloudflare").creation_event("video.ready") is None
    assert providers.get("millicast").creation_event("media.completed") is None


# -- the log's filters --------------------------------------------------------------------------


def test_the_log_filters_by_provider_verdict_object_text_and_pages_by_id(tmp_path: Path) -> None:
    with EventLog(tmp_path / "e.db") as log:
        first = record(log, mux_body("video.asset.created", "A1", "e1"), secret=SECRET)
        second = record(log, mux_body("video.asset.ready", "A1", "e2"), verdict="invalid")
        body = (FIXTURES / "fastpix" / "video.media.ready.json").read_bytes()
        third = record(log, body, provider="fastpix")

        def ids(rows: list[StoredEvent]) -> list[int]:
            return [row.id for row in rows]

        assert ids(log.list(provider="mux")) == [second, first]
        assert ids(log.list(verdict="invalid")) == [second]
        assert ids(log.list(object_id="A1")) == [second, first]
        assert ids(log.list(text="muxhook-demo")) == [third]  # in FastPix's metadata
        assert ids(log.list(text='"e2"')) == [second]
        assert ids(log.list(before=third, limit=1)) == [second]
        assert ids(log.list(after=first)) == [third, second]
        assert log.marks() == (third, 0)
        log.add_attempt(first, attempt("http://127.0.0.1:9/x"))
        assert log.marks() == (third, 1)
        assert log.attempted_after(0) == [first]
        assert log.attempted_after(1) == []
        with pytest.raises(Exception, match="unknown verdict"):
            log.list(verdict="fine")


# -- the timeline -------------------------------------------------------------------------------


def test_the_timeline_keeps_the_order_received_and_flags_what_looks_wrong(tmp_path: Path) -> None:
    app = "http://127.0.0.1:9/hooks"
    with EventLog(tmp_path / "e.db") as log:
        ready = mux_body("video.asset.ready", "A1", "e-ready", "2026-01-01T00:00:10Z")
        record(log, ready, attempt=attempt(app))
        record(
            log,
            mux_body("video.asset.created", "A1", "e-created", "2026-01-01T00:00:05Z"),
            attempt=attempt(app),
        )
        record(log, ready, attempt=attempt(app))  # sent again
        record(
            log,
            mux_body("video.asset.updated", "A1", "e-updated", "2026-01-01T00:00:20Z"),
            attempt=attempt(app, 500),
        )
        record(
            log,
            mux_body("video.asset.deleted", "A1", "e-deleted", "2026-01-01T00:00:30Z"),
            attempt=attempt(app),
        )
        record(log, mux_body("video.asset.ready", "OTHER", "e-other"))
        line = documents.timeline(log.list(object_id="A1", limit=None))
    events = line["events"]
    assert [e["type"] for e in events] == [
        "video.asset.ready",
        "video.asset.created",
        "video.asset.ready",
        "video.asset.updated",
        "video.asset.deleted",
    ]
    kinds = [[flag["kind"] for flag in e["flags"]] for e in events]
    assert kinds == [["no_created"], ["out_of_order"], ["duplicate"], ["forward_failed"], []]
    texts = [flag["text"] for e in events for flag in e["flags"]]
    assert texts[0] == "ready without created: no video.asset.created was received before it"
    assert texts[1] == "out of order: it happened before #1, which arrived earlier"
    assert texts[2] == "duplicate of #1 (same event id)"
    assert texts[3] == "forward failed: the app answered 500"
    assert line["states"] == ["ready", "created", "updated", "deleted"]
    assert line["flagged"] == 4


def test_a_created_first_timeline_has_no_flags(tmp_path: Path) -> None:
    with EventLog(tmp_path / "e.db") as log:
        for n, kind in enumerate(("created", "ready", "deleted")):
            at = f"2026-01-01T00:00:0{n}Z"
            record(log, mux_body(f"video.asset.{kind}", "A1", f"e{n}", at))
        line = documents.timeline(log.list(object_id="A1", limit=None))
    assert line["flagged"] == 0 and line["states"] == ["created", "ready", "deleted"]


# -- the API on a real server ---------------------------------------------------------------------


@pytest.fixture
def log_with_events(tmp_path: Path) -> Path:
    db = tmp_path / "events.db"
    with EventLog(db) as log:
        for n in range(120):
            record(log, mux_body("video.asset.ready", f"A{n}", f"e{n}"), secret=SECRET)
    return db


def test_the_api_lists_pages_and_filters(log_with_events: Path) -> None:
    with inspector_in_thread(log_with_events) as server, httpx.Client() as client:
        root = base(server.url)
        first = client.get(f"{root}/api/events").json()
        assert [e["id"] for e in first["events"]] == list(range(120, 70, -1))
        assert first["next"] == 71
        second = client.get(f"{root}/api/events", params={"before": 71, "limit": 200}).json()
        assert [e["id"] for e in second["events"]] == list(range(70, 0, -1))
        assert second["next"] is None
        one = client.get(f"{root}/api/events", params={"object": "A7"}).json()["events"]
        assert [e["id"] for e in one] == [8]
        assert (
            client.get(f"{root}/api/events", params={"q": '"e12"'}).json()["events"][0]["id"] == 13
        )
        bad = client.get(f"{root}/api/events", params={"status": "sideways"})
        assert bad.status_code == 400 and "unknown status" in bad.json()["error"]
        assert client.get(f"{root}/api/events", params={"before": "x"}).status_code == 400
        for limit in ("-1", "0", "x"):
            bad = client.get(f"{root}/api/events", params={"limit": limit})
            assert bad.status_code == 400
            assert bad.json()["error"] == f"limit must be a positive whole number, not {limit!r}"


def test_an_event_in_detail_matches_log_show_and_holds_no_secret(
    log_with_events: Path, tmp_path: Path
) -> None:
    with inspector_in_thread(log_with_events, {"mux": SECRET}) as server, httpx.Client() as client:
        detail = client.get(f"{base(server.url)}/api/events/5").json()
        status = client.get(f"{base(server.url)}/api/status").json()
        missing = client.get(f"{base(server.url)}/api/events/999")
    shown = run_muxhook(tmp_path, "log", "show", "5", "--json", "--db", str(log_with_events))
    as_cli = json.loads(shown.stdout)
    assert {key: detail[key] for key in as_cli} == as_cli  # the same JSON form, and more
    assert detail["label"] == "Mux" and detail["occurred_at"] is None
    assert any(name == "Mux-Signature" for name, _ in detail["headers"])
    assert status["can_sign"]["mux"] is True
    everything = json.dumps([detail, status])
    assert SECRET not in everything and SECRET[4:] not in everything
    assert missing.status_code == 404 and missing.json() == {"error": "no event #999 in the log"}


def test_every_answer_carries_the_content_security_policy(log_with_events: Path) -> None:
    with inspector_in_thread(log_with_events) as server, httpx.Client() as client:
        for path in ("/", "/static/app.js", "/api/events", "/api/status"):
            answer = client.get(base(server.url) + path)
            assert answer.status_code == 200, path
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
        page = client.get(base(server.url) + "/").text
    assert "<script" in page and "<script>" not in page  # modules from files, nothing inline


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "127.0.0.1:1", "localhost", "attacker.127.0.0.1.nip.io:{port}", ""],
)
def test_a_foreign_host_is_refused(log_with_events: Path, host: str) -> None:
    with inspector_in_thread(log_with_events) as server, httpx.Client() as client:
        answer = client.get(
            f"{base(server.url)}/api/events", headers={"host": host.format(port=server.port)}
        )
        for own in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
            assert (
                client.get(f"{base(server.url)}/api/status", headers={"host": own}).status_code
                == 200
            )
    assert answer.status_code == 421
    assert "events" not in answer.json()


def test_actions_need_the_token_json_and_the_same_origin(
    log_with_events: Path, app: RecordingApp
) -> None:
    with inspector_in_thread(log_with_events, {"mux": SECRET}) as server, httpx.Client() as client:
        replay = f"{base(server.url)}/api/events/3/replay"
        options = {"url": app.url}
        no_token = client.post(replay, json=options)
        wrong = client.post(replay, json=options, headers={"x-muxhook-token": "guess"})
        form = client.post(  # what a cross-site <form> can send: no custom header, no JSON
            replay,
            data={"url": app.url},
            headers={"origin": "http://evil.example"},
        )
        foreign = client.post(
            replay,
            json=options,
            headers={"x-muxhook-token": server.token, "origin": "http://evil.example"},
        )
        as_text = client.post(
            replay,
            content=json.dumps(options),
            headers={"x-muxhook-token": server.token, "content-type": "text/plain"},
        )
        assert not app.requests  # nothing was sent
        good = client.post(replay, json=options, headers={"x-muxhook-token": server.token})
    assert [r.status_code for r in (no_token, wrong, form, foreign)] == [403, 403, 403, 403]
    assert as_text.status_code == 415
    assert good.status_code == 200, good.text
    assert len(app.requests) == 1


def test_replay_resigns_the_exact_bytes_and_records_the_attempt(
    log_with_events: Path, app: RecordingApp
) -> None:
    with inspector_in_thread(log_with_events, {"mux": SECRET}) as server, httpx.Client() as client:
        result = client.post(
            f"{base(server.url)}/api/events/3/replay",
            json={"url": app.url},
            headers={"x-muxhook-token": server.token},
        ).json()
        attempts = client.get(f"{base(server.url)}/api/events/3/attempts").json()["attempts"]
    sent = app.requests[0]
    with EventLog(log_with_events, read_only=True) as log:
        original = log.get(3)
    assert original is not None
    assert sent.body == original.body
    signing.verify(sent.body, sent.headers, secret=SECRET)  # a fresh, valid signature
    assert result["signed"] is True and result["recorded"] is None
    assert result["attempt"]["status"] == 200
    assert result["attempt"]["response"] == '{"received":true}'
    assert [a["target"] for a in attempts] == [app.url]


def test_edit_and_replay_signs_the_new_body_and_is_not_recorded(
    log_with_events: Path, app: RecordingApp
) -> None:
    edited = mux_body("video.asset.errored", "A2", "e-edited")
    with inspector_in_thread(log_with_events, {"mux": SECRET}) as server, httpx.Client() as client:
        result = client.post(
            f"{base(server.url)}/api/events/3/replay",
            json={"url": app.url, "body": edited.decode()},
            headers={"x-muxhook-token": server.token},
        ).json()
    assert app.requests[0].body == edited
    signing.verify(edited, app.requests[0].headers, secret=SECRET)
    assert result["recorded"] == "an edited body is not the event's: not recorded"
    with EventLog(log_with_events, read_only=True) as log:
        row = log.get(3)
    assert row is not None and row.attempts == []


def test_edit_and_replay_without_a_secret_says_how_to_give_one(
    log_with_events: Path, app: RecordingApp
) -> None:
    with inspector_in_thread(log_with_events) as server, httpx.Client() as client:
        answer = client.post(
            f"{base(server.url)}/api/events/3/replay",
            json={"url": app.url, "body": "{}"},
            headers={"x-muxhook-token": server.token},
        )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("no Mux signing secret to sign the edited body")
    assert not app.requests


def test_copy_as_curl_is_freshly_signed_and_runs(log_with_events: Path, app: RecordingApp) -> None:
    import shlex
    import subprocess

    with inspector_in_thread(log_with_events, {"mux": SECRET}) as server, httpx.Client() as client:
        result = client.post(
            f"{base(server.url)}/api/events/4/curl",
            json={"url": app.url},
            headers={"x-muxhook-token": server.token},
        ).json()
        unsigned = client.post(f"{base(server.url)}/api/events/4/curl", json={"url": app.url})
    assert unsigned.status_code == 403
    assert result["signed"] is True and result["command"].startswith("curl ")
    assert SECRET not in result["command"]
    done = subprocess.run(shlex.split(result["command"]), capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    signing.verify(app.requests[0].body, app.requests[0].headers, secret=SECRET)


def test_save_as_fixture_downloads_the_exact_body_or_writes_to_the_save_folder(
    log_with_events: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "saved"
    with inspector_in_thread(log_with_events, save_dir=folder) as server, httpx.Client() as client:
        download = client.get(f"{base(server.url)}/api/events/6/fixture")
        saved = client.post(
            f"{base(server.url)}/api/events/6/fixture",
            json={},
            headers={"x-muxhook-token": server.token},
        ).json()
    with EventLog(log_with_events, read_only=True) as log:
        row = log.get(6)
    assert row is not None
    assert download.content == row.body
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    assert download.headers["content-disposition"].endswith('-000006-video.asset.ready.json"')
    assert Path(saved["path"]).read_bytes() == row.body
    assert Path(saved["path"]).parent == folder / "mux"


def test_the_live_stream_sends_new_events_and_changes(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with EventLog(db) as log:
        first = record(log, mux_body("video.asset.created", "A1", "e1"))
    with inspector_in_thread(db) as server, httpx.Client(timeout=20) as client:
        url = f"{base(server.url)}/api/stream"
        with client.stream("GET", url, params={"provider": "mux"}) as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: hello"
            with EventLog(db) as log:  # another process's connection, as listen's would be
                record(log, (FIXTURES / "cloudflare" / "video.ready.json").read_bytes(),
                       provider="cloudflare")  # fmt: skip
                second = record(log, mux_body("video.asset.ready", "A1", "e2"))
                log.add_attempt(first, attempt("http://127.0.0.1:9/x", 500))
            seen: dict[str, list[int]] = {}
            event = "hello"  # its data line is next
            for line in lines:
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event != "hello":
                    ids = [e["id"] for e in json.loads(line.removeprefix("data: "))["events"]]
                    seen.setdefault(event, []).extend(ids)
                if "events" in seen and "changed" in seen:
                    break
    assert seen["events"] == [second]  # the Cloudflare one does not match the filter
    assert seen["changed"] == [first]


# -- the inspect command ----------------------------------------------------------------------


def test_inspect_serves_a_log_with_no_listener(log_with_events: Path, tmp_path: Path) -> None:
    with inspecting(tmp_path, "--db", str(log_with_events)) as (url, process, lines):
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        events = httpx.get(f"{base(url)}/api/events", params={"limit": 1}).json()["events"]
        assert events[0]["id"] == 120
        assert any("showing the event log at" in line for line in lines)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--db", "missing.db"), "no event log at missing.db yet"),
        (("--host", "0.0.0.0"), "--host 0.0.0.0: the inspector shows every payload"),  # noqa: S104
        (("--port", "70000"), "--port 70000: give a port from 0 to 65535"),
    ],
)
def test_inspect_refuses_bad_input_in_one_line(
    log_with_events: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    extra = () if "--db" in args else ("--db", str(log_with_events))
    done = run_muxhook(tmp_path, "inspect", *args, *extra)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {message}"), done.stderr
    assert "Traceback" not in done.stderr


def test_inspect_on_a_busy_port_is_exit_4(log_with_events: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_muxhook(tmp_path, "inspect", "--db", str(log_with_events), "--port", str(port))
    assert done.returncode == 4
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr


# -- listen ---------------------------------------------------------------------------------


def test_listen_prints_the_inspector_and_it_sees_events_live(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    with listen_locally(tmp_path, db, "--inspect-port", "0", env=env) as listener:
        url = printed_inspector(listener)
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        assert base(url) != base(listener.url)
        with httpx.Client(timeout=20) as client:
            with client.stream("GET", f"{base(url)}/api/stream") as stream:
                lines = stream.iter_lines()
                assert next(line for line in lines if line.startswith("event:")) == "event: hello"
                body = mux_body("video.asset.ready", "A1", "e1")
                posted = client.post(
                    listener.url, content=body, headers=signing.sign(body, secret=SECRET)
                )
                assert posted.status_code == 200
                data = next(line for line in lines if line.startswith('data: {"events"'))
            # The webhook port knows nothing of the inspector, and the reverse.
            assert client.get(listener.url.rsplit("/", 2)[0] + "/api/events").status_code == 404
            assert client.post(f"{base(url)}/webhooks/mux", content=body).status_code == 404
    with EventLog(db, read_only=True) as log:
        assert [row.id for row in log.list()] == [1]  # the post to the inspector is no event
    event = json.loads(data.removeprefix("data: "))["events"][0]
    assert event["type"] == "video.asset.ready" and event["verdict"] == "valid"


def test_no_inspect_serves_no_inspector(tmp_path: Path) -> None:
    with listen_locally(tmp_path, tmp_path / "e.db", "--no-inspect") as listener:
        time.sleep(0.3)
        assert not any(line.startswith("inspector:") for line in listener.stderr)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_the_inspector_stays_on_loopback_when_listen_does_not(tmp_path: Path) -> None:
    from tests.test_exposure import _listening_addresses

    db = str(tmp_path / "e.db")
    with listening(
        "--no-tunnel", "--port", "0", "--host", "0.0.0.0", "--db", db, "--inspect-port", "0",  # noqa: S104
        home=tmp_path,
    ) as listener:  # fmt: skip
        port = int(base(printed_inspector(listener)).rsplit(":", 1)[1])
        assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1 only


def test_a_busy_default_port_gives_way_and_says_so(tmp_path: Path) -> None:
    import socket

    from muxhook.inspector.server import DEFAULT_PORT

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", DEFAULT_PORT))
        except OSError:
            pass  # something else holds it already: the same case
        taken.listen()
        db = str(tmp_path / "e.db")  # listen_locally would ask for a free inspector port
        args = ("--port", "0", "--no-tunnel", "--db", db)
        with listening(*args, home=tmp_path) as listener:
            line = next(
                line
                for line in _wait_lines(listener.stderr, "inspector:")
                if line.startswith("inspector:")
            )
    assert f"(port {DEFAULT_PORT} was busy)" in line
    assert f":{DEFAULT_PORT}/" not in line


def _wait_lines(lines: list[str], start: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(line.startswith(start) for line in lines):
        time.sleep(0.02)
    return list(lines)


def test_a_burst_reaches_an_open_stream_as_the_newest_page(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with EventLog(db) as log:
        record(log, mux_body("video.asset.created", "A0", "e0"))
    with inspector_in_thread(db) as server, httpx.Client(timeout=20) as client:
        with client.stream("GET", f"{base(server.url)}/api/stream") as stream:
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: hello"
            with EventLog(db) as log, log.transaction():  # 60 at once: more than a page
                for n in range(1, 61):
                    record(log, mux_body("video.asset.ready", f"A{n}", f"e{n}"))
            event = next(
                line for line in lines if line.startswith("event: ") and "hello" not in line
            )
            data = json.loads(next(lines).removeprefix("data: "))
    assert event == "event: reset"
    assert [e["id"] for e in data["events"]] == list(range(61, 11, -1))
    assert data["next"] == 12


def test_the_wheel_ships_the_page_and_its_files(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parent.parent
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("muxhook-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    static = root / "muxhook" / "inspector" / "static"
    expected = {f"muxhook/inspector/static/{path.name}" for path in static.iterdir()}
    assert expected >= {"muxhook/inspector/static/index.html", "muxhook/inspector/static/app.js"}
    assert expected <= names


def test_a_busy_inspect_port_asked_for_is_one_line_and_exit_4(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_muxhook(
            tmp_path, "listen", "--no-tunnel", "--port", "0", "--db", str(tmp_path / "e.db"),
            "--inspect-port", str(port),
        )  # fmt: skip
    assert done.returncode == 4
    assert done.stderr.strip().endswith(
        f"error: the inspector's port {port} on 127.0.0.1 is in use; pass --inspect-port "
        "(0 for any free port)"
    ), done.stderr
    assert "Traceback" not in done.stderr
