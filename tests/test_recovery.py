"""Recovery with one command, end to end: real listeners stopped the hard way, real apps.

After ``kill -9``, a closed terminal (SIGHUP), a second Ctrl-C, or Ctrl-C then ``kill -9``
while listen drains, ``muxhook log replay --failed`` with no flags sends every event where
it was going: each route's app, the ``-H`` headers, re-signed with the forward secret as
listen did. What cannot be sent is said on its line and the rest still go. A log deleted
or replaced under a running listener is noticed before the next answer.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from muxhook import signing
from muxhook.errors import SignatureError
from tests.apps import free_port
from tests.listening import Listener, json_lines, listen_locally, listening, run_muxhook
from tests.test_faults import event, event_id, wait_until
from tests.test_listen import _fake_agent

SECRET = "recovery-platform-secret-01"
FORWARD = "recovery-forward-secret-0002"
ENV = {"MUX_WEBHOOK_SECRET": SECRET, "MUXHOOK_FORWARD_SECRET": FORWARD}
ASSETS = "video.asset.*"


def post(url: str, body: bytes, timeout: float = 30.0) -> httpx.Response:
    return httpx.post(url, content=body, headers=signing.sign(body, secret=SECRET), timeout=timeout)


def resigned_with(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        signing.verify(body, headers, secret=secret)
    except SignatureError:
        return False
    return True


def header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


class App:
    """A webhook app on 127.0.0.1 that keeps every request (body and headers) and answers
    each as ``script(n)`` says for the n-th: a status, or "hold" (never answer; the
    connection is closed when the app stops, as a crashed handler would leave it)."""

    def __init__(self, script: Callable[[int], int | str], port: int = 0) -> None:
        self.script = script
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.held: list[bytes] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhooks/mux"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with app.lock:
                    app.requests.append((body, dict(self.headers.items())))
                    what = app.script(len(app.requests))
                    if what == "hold":
                        app.held.append(body)
                if what == "hold":
                    app.stopping.wait(60)
                    self.close_connection = True
                    return
                answer = b'{"received":true}'
                self.send_response(int(what))
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def ids(self) -> list[str]:
        return sorted(event_id(body) for body, _ in self.requests)

    def __enter__(self) -> App:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def answers(*steps: int | str, then: int | str = 200) -> Callable[[int], int | str]:
    """The n-th request gets ``steps[n - 1]``, and ``then`` after those."""
    return lambda n: steps[n - 1] if n <= len(steps) else then


# -- the crash, four ways --------------------------------------------------------------------


def crash(listener: Listener, how: str) -> None:
    pid = listener.process.pid
    if how == "kill -9":
        os.kill(pid, signal.SIGKILL)
    elif how == "ctrl-c then kill -9":  # the drain is waiting on the apps: kill it there
        os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        assert listener.process.poll() is None, "listen stopped before the kill -9"
        os.kill(pid, signal.SIGKILL)
    elif how == "ctrl-c twice":
        os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        os.kill(pid, signal.SIGINT)
    else:  # a closed terminal
        os.kill(pid, signal.SIGHUP)
    listener.process.wait(60)


CRASHES = ["kill -9", "ctrl-c then kill -9", "ctrl-c twice", "sighup"]


@contextlib.contextmanager
def two_apps(port_a: int, port_b: int, hold_after: tuple[int, int]) -> Iterator[tuple[App, App]]:
    """App A takes every event, app B the asset events; each answers ``hold_after``
    requests, then holds every request it gets without an answer."""
    a = App(answers(*[200] * hold_after[0], then="hold"), port=port_a)
    b = App(answers(*[200] * hold_after[1], then="hold"), port=port_b)
    with a, b:
        yield a, b


@pytest.mark.parametrize("how", CRASHES)
def test_after_a_crash_log_replay_failed_with_no_flags_sends_everything_where_it_was_going(
    tmp_path: Path, how: str
) -> None:
    """The issue's Done-when: listen through a tunnel with routes to two apps, a crash,
    then ``muxhook log replay --failed`` and nothing else."""
    port_a, port_b = free_port(), free_port()
    url_a = f"http://127.0.0.1:{port_a}/webhooks/mux"
    url_b = f"http://127.0.0.1:{port_b}/assets"
    delivered = [
        event("evt-1", "asset-1", "video.asset.ready"),
        event("evt-2", "upload-2", "video.upload.created"),
    ]
    cut = [
        event("evt-3", "asset-3", "video.asset.ready"),
        event("evt-4", "upload-4", "video.upload.created"),
        event("evt-5", "asset-5", "video.asset.created"),
    ]
    agent = _fake_agent(tmp_path)
    env = {**ENV, "NGROK_AUTHTOKEN": "test-token"}
    outcomes: list[str] = []
    with two_apps(port_a, port_b, hold_after=(2, 1)) as (app_a, app_b):
        with listening(
            "--port", "0", "--tunnel", "ngrok", "--ngrok-path", str(agent),
            "-f", url_a, "-f", f"{ASSETS}={url_a},{url_b}", "-H", "X-Env: dev",
            "--forward-timeout", "5",
            home=tmp_path, env=env,
        ) as listener:  # fmt: skip
            assert listener.public_url is not None, "\n".join(listener.stderr)
            assert [post(listener.public_url, body).status_code for body in delivered] == [200, 200]

            def send(body: bytes) -> None:
                try:
                    outcomes.append(str(post(listener.public_url or "", body).status_code))
                except httpx.HTTPError as error:
                    outcomes.append(type(error).__name__)

            senders = [threading.Thread(target=send, args=(body,)) for body in cut]
            for thread in senders:
                thread.start()
            assert wait_until(lambda: len(app_a.held) == 3 and len(app_b.held) == 2, 20)
            crash(listener, how)
            for thread in senders:
                thread.join(30)
    assert not any(outcome.startswith("2") for outcome in outcomes), outcomes
    assert app_a.ids() == ["evt-1", "evt-2", "evt-3", "evt-4", "evt-5"]
    assert app_b.ids() == ["evt-1", "evt-3", "evt-5"]

    with two_apps(port_a, port_b, hold_after=(99, 99)) as (after_a, after_b):
        replay = run_muxhook(tmp_path, "log", "replay", "--failed", env=ENV)
        again = run_muxhook(tmp_path, "log", "replay", "--failed", env=ENV)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    # Each cut-short event reached each app it was routed to, once; nothing delivered
    # before the crash was sent again.
    assert after_a.ids() == ["evt-3", "evt-4", "evt-5"]
    assert after_b.ids() == ["evt-3", "evt-5"]
    for body, headers in after_a.requests + after_b.requests:
        assert body in cut
        assert resigned_with(body, headers, FORWARD) and not resigned_with(body, headers, SECRET)
        assert header(headers, "X-Env") == "dev"
    lines = replay.stdout.splitlines()
    assert len(lines) == 5 and all("→ 200" in line for line in lines), replay.stdout
    listed = json_lines(run_muxhook(tmp_path, "log", "list", "--json", env=ENV).stdout)
    number = {row["event_id"]: f"#{row['id']}" for row in listed}
    routed = ["evt-3", "evt-3", "evt-4", "evt-5", "evt-5"]  # asset events fanned out to both
    assert sorted(line.split("  ")[0] for line in lines) == sorted(number[e] for e in routed)
    if "kill -9" in how:  # no attempt of the first send is in the log: say so
        assert all("possibly delivered before" in line for line in lines), replay.stdout
    assert again.returncode == 0 and again.stderr.strip() == "nothing to replay"
    assert {row["status"] for row in listed} == {"ok"}
    assert "Traceback" not in replay.stderr


# -- one event that cannot be sent; the rest still go ------------------------------------------


def test_an_event_whose_forward_secret_is_missing_or_wrong_is_said_and_the_rest_go(
    tmp_path: Path,
) -> None:
    db = tmp_path / "events.db"
    port = free_port()
    down = f"http://127.0.0.1:{port}/webhooks/mux"
    with listen_locally(tmp_path, db, "-f", down, env=ENV) as listener:  # re-signs
        assert post(listener.url, event("evt-resigned")).status_code == 502
    assert any(
        "re-signing forwards (secret reco… (28 chars) from MUXHOOK_FORWARD_SECRET)" in line
        for line in listener.stderr
    )
    plain = {"MUX_WEBHOOK_SECRET": SECRET}
    with listen_locally(tmp_path, db, "-f", down, env=plain) as listener:  # does not
        assert post(listener.url, event("evt-plain")).status_code == 502
    db_args = ("--db", str(db))
    with App(answers(), port=port) as app:
        missing = run_muxhook(tmp_path, "log", "replay", "--failed", *db_args, env=plain)
        wrong = run_muxhook(
            tmp_path, "log", "replay", "--failed", *db_args,
            env={**plain, "MUXHOOK_FORWARD_SECRET": "not-the-one-listen-used"},
        )  # fmt: skip
        right = run_muxhook(
            tmp_path, "log", "replay", "--failed", *db_args, "--forward-secret", FORWARD, env=plain
        )
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert missing.stdout.splitlines()[0] == (
        f"#1  video.asset.updated  not sent to {down}: listen re-signed it with a forward "
        "secret (from MUXHOOK_FORWARD_SECRET); pass --forward-secret or set "
        "MUXHOOK_FORWARD_SECRET"
    )
    assert missing.stdout.splitlines()[1].startswith("#2  video.asset.updated  ")
    assert "→ 200" in missing.stdout.splitlines()[1]
    assert wrong.returncode == 2
    assert wrong.stdout.splitlines() == [
        f"#1  video.asset.updated  not sent to {down}: the forward secret from "
        "MUXHOOK_FORWARD_SECRET is not the one listen re-signed it with (from "
        "MUXHOOK_FORWARD_SECRET); pass that one with --forward-secret or MUXHOOK_FORWARD_SECRET"
    ]  # #2 was delivered by the first run: no longer failed
    assert right.returncode == 0, right.stdout + right.stderr
    assert [event_id(body) for body, _ in app.requests] == ["evt-plain", "evt-resigned"]
    (plain_body, plain_headers), (resigned_body, resigned_headers) = app.requests
    assert resigned_with(plain_body, plain_headers, SECRET)
    assert resigned_with(resigned_body, resigned_headers, FORWARD)
    for run in (missing, wrong, right):
        assert "Traceback" not in run.stderr and FORWARD not in run.stdout + run.stderr


def test_replay_to_another_url_changes_nothing_about_where_failed_sends(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/mux"
    typo = f"http://127.0.0.1:{free_port()}/webhoks/mux"
    db_args = ("--db", str(db))
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    with App(answers(200, 500), port=port) as app:
        with listen_locally(tmp_path, db, "-f", url, env=env) as listener:
            assert post(listener.url, event("evt-taken")).status_code == 200
            assert post(listener.url, event("evt-refused")).status_code == 500
        to_typo = run_muxhook(tmp_path, "log", "replay", "1", "--to", typo, *db_args, env=env)
        statuses = {
            row["id"]: row["status"]
            for row in json_lines(run_muxhook(tmp_path, "log", "list", "--json", *db_args).stdout)
        }
        listed = run_muxhook(tmp_path, "log", "list", *db_args).stdout.splitlines()
        also_typo = run_muxhook(tmp_path, "log", "replay", "2", "--to", typo, *db_args, env=env)
        finish = run_muxhook(tmp_path, "log", "replay", "--failed", *db_args, env=env)
    assert to_typo.returncode == 3 and "connection refused" in to_typo.stdout
    assert statuses == {1: "ok", 2: "failed"}  # the app took #1; a typo does not undo that
    assert re.search(r"  #1  .* → 200 +[\d.]+ ms$", listed[-1])  # not the typo's
    assert also_typo.returncode == 3
    assert finish.returncode == 0, finish.stdout + finish.stderr
    assert [line.split("  ")[0] for line in finish.stdout.splitlines()] == ["#2"]
    assert f"{url}  → 200" in finish.stdout  # where it was going, not where --to sent it
    assert [event_id(body) for body, _ in app.requests] == [
        "evt-taken",
        "evt-refused",
        "evt-refused",
    ]
    shown = json.loads(run_muxhook(tmp_path, "log", "show", "2", "--json", *db_args).stdout)
    assert [t["url"] for t in shown["targets"]] == [url]
    assert [a["target"] for a in shown["attempts"]] == [url, typo, url]


def test_replay_exit_codes_one_app_failing_and_one_unreachable(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    port, gone = free_port(), free_port()
    url = f"http://127.0.0.1:{port}/webhooks/mux"
    dead = f"http://127.0.0.1:{gone}/webhooks/mux"
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    with listen_locally(tmp_path, db, "-f", url, "-f", dead, env=env) as listener:
        assert post(listener.url, event("evt-x")).status_code == 502
    with App(answers(500), port=port) as app:
        failing = run_muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db), env=env)
        unreachable = run_muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db), env=env)
    assert failing.returncode == 3  # one app answered 500, the other could not be reached
    assert [line.split("  → ")[1][:3] for line in failing.stdout.splitlines()] == ["500", "fai"]
    assert unreachable.returncode == 3
    assert len(app.requests) == 2


# -- the log is always where it says -------------------------------------------------------------


def test_a_log_deleted_under_a_running_listener_is_made_again_before_the_next_answer(
    tmp_path: Path,
) -> None:
    db = tmp_path / "events.db"
    with App(answers()) as app, listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener:
        assert post(listener.url, event("evt-before")).status_code == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        after = post(listener.url, event("evt-after"))
        assert db.exists()
        listener.wait_for_stdout(2)
    assert after.status_code == 200
    warnings = [line for line in listener.stderr if "deleted, moved or replaced" in line]
    assert warnings == [
        f"warning: the event log at {db} was deleted, moved or replaced while in use; "
        f"recording to a new event log at {db} from now on"
    ]
    listed = json_lines(run_muxhook(tmp_path, "log", "list", "--json", "--db", str(db)).stdout)
    assert [(row["event_id"], row["status"]) for row in listed] == [("evt-after", "ok")]
    assert [event_id(body) for body, _ in app.requests] == ["evt-before", "evt-after"]
    assert listener.code == 0 and not [line for line in listener.stderr if "Traceback" in line]


def test_a_log_path_that_cannot_be_written_is_503_until_it_can(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with App(answers()) as app, listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener:
        assert post(listener.url, event("evt-1")).status_code == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        db.mkdir()  # something else took the path
        refused = [post(listener.url, event("evt-2")) for _ in range(2)]
        db.rmdir()
        accepted = post(listener.url, event("evt-2"))
        listener.wait_for_stdout(2)
    assert [r.status_code for r in refused] == [503, 503]
    assert all(r.text.startswith("muxhook could not record this request: ") for r in refused)
    assert accepted.status_code == 200
    listed = json_lines(run_muxhook(tmp_path, "log", "list", "--json", "--db", str(db)).stdout)
    assert [row["event_id"] for row in listed] == ["evt-2"]
    assert [event_id(body) for body, _ in app.requests] == [
        "evt-1",
        "evt-2",
    ]  # never a 2xx unrecorded
    errors = [line for line in listener.stderr if line.startswith("error: could not record")]
    assert len(errors) == 2
    assert [line for line in listener.stderr if "recording to a new event log" in line]


def test_a_log_from_before_targets_replays_where_it_went_last_or_asks_for_to(
    tmp_path: Path,
) -> None:
    """A v1 log (no targets): an event goes where its last attempt went; one that was cut
    short before any attempt cannot be placed, and its line asks for --to."""
    from tests.test_store import V1_SCHEMA

    db = tmp_path / "events.db"
    with App(answers()) as app:
        raw = sqlite3.connect(db)
        raw.executescript(V1_SCHEMA)
        row = (
            "INSERT INTO events VALUES (?, 1.0, 'POST', '/webhooks/mux', '[]', ?, '127.0.0.1:1',"
            " 'mux', 'video.asset.updated', ?, NULL, 'valid', NULL, 0, 0)"
        )
        raw.execute(row, (1, event("evt-went-before"), "evt-went-before"))
        raw.execute(row, (2, event("evt-cut-short"), "evt-cut-short"))
        raw.execute(
            "INSERT INTO attempts (event_id, attempted_at, target, status, latency_ms,"
            " response_start, error) VALUES (1, 1.0, ?, NULL, NULL, x'', 'connection refused')",
            (app.url,),
        )
        raw.commit()
        raw.close()
        replay = run_muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db), env=ENV)
    assert replay.returncode == 2, replay.stdout + replay.stderr
    first, second = replay.stdout.splitlines()
    assert first.startswith("#1  video.asset.updated  ") and f"{app.url}  → 200" in first
    assert second == (
        "#2  video.asset.updated  not sent: the log does not say where it was going "
        "(recorded by an older muxhook, or never forwarded): pass --to URL  (possibly "
        "delivered before: muxhook stopped before it knew)"
    )
    assert app.ids() == ["evt-went-before"]
