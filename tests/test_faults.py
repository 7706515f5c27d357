"""Faults, end to end: real ``muxhook listen`` processes, real apps, loopback only.

Each scenario breaks one thing the listener depends on and checks what the platform
(the sender), the app and the event log each see:

1. the app down, slow, resetting connections, answering 500 then 200, with ``--ack app``
   (the sender sees the app's status) and ``--ack immediate`` (retries deliver once);
2. the listener killed with SIGKILL in the middle of a burst;
3. the event log locked by another process, briefly and for longer than its 5 s timeout;
4. the disk full (a small tmpfs; ``RLIMIT_FSIZE`` where mounting is refused);
5. the tunnel agent dying mid-session (and a new one that cannot start at first).

The apps are raw sockets in threads (``ScriptedApp``), so a fault is exactly what the
test says: a reset is a RST, a slow answer is a sleep, a held request is never answered.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from muxhook import signing
from muxhook.records import StoredEvent
from muxhook.store import EventLog
from tests.apps import free_port
from tests.listening import Listener, json_lines, listen_locally, listening, run_muxhook
from tests.test_listen import _fake_agent

SECRET = "faults-test-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
LOCK_TIMEOUT = 5.0  # EventLog's default busy timeout, which listen uses


# -- helpers -----------------------------------------------------------------------------------


def event(key: str, object_id: str | None = None, kind: str = "video.asset.updated") -> bytes:
    """A compact Mux event with its own event id (``key``) and object id."""
    obj = object_id or f"asset-{key}"
    document = {
        "type": kind,
        "id": key,
        "object": {"type": "asset", "id": obj},
        "data": {"id": obj},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def event_id(body: bytes) -> str:
    value: str = json.loads(body)["id"]
    return value


def post(url: str, body: bytes, timeout: float = 15.0) -> httpx.Response:
    """What a platform does: POST the body, freshly signed."""
    return httpx.post(url, content=body, headers=signing.sign(body, secret=SECRET), timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def lines_with(lines: Iterable[str], text: str) -> list[str]:
    return [line for line in lines if text in line]


def logged(db: Path) -> list[StoredEvent]:
    """Every event in the log, oldest first."""
    with EventLog(db) as log:
        return sorted(log.list(limit=None), key=lambda row: row.id)


def muxhook(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_muxhook(home, *args, env=ENV)


def summary(listener: Listener) -> str:
    return next((line for line in listener.stderr if line.startswith("received ")), "")


# -- a raw-socket app whose every answer is scripted ------------------------------------------


def _reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends a RST instead of a FIN."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _read_request(conn: socket.socket) -> bytes | None:
    """The body of one HTTP/1.1 request (Content-Length framed), None on EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return body


def _answer(status: int, *, close: bool) -> bytes:
    body = b'{"received":true}' if status < 300 else b'{"error":"the app failed"}'
    reason = {200: b"OK", 500: b"Internal Server Error"}[status]
    connection = b"close" if close else b"keep-alive"
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: %s\r\n\r\n%s" % (status, reason, len(body), connection, body)
    )


class ScriptedApp:
    """A webhook app on 127.0.0.1 whose every answer is scripted.

    ``script()`` is asked once per request, when its first bytes arrive (a bare connect,
    such as listen's start-up probe, asks nothing): "200", "500", "slow" (200 after
    ``slow`` seconds), "reset" (close at once with SO_LINGER 0, the request unread: a
    RST), "crash" (read the request, then reset without answering) or "hold" (read the
    request, never answer; reset when the app stops). Answers say ``Connection: close``
    unless ``keep_alive``.
    """

    def __init__(
        self,
        script: Callable[[], str],
        *,
        port: int = 0,
        slow: float = 1.5,
        keep_alive: bool = False,
    ) -> None:
        self.script = script
        self.slow = slow
        self.keep_alive = keep_alive
        self.lock = threading.Lock()
        self.seen: list[tuple[str, bytes]] = []  # (what was done, body) per request read
        self.answered: list[bytes] = []  # bodies answered 2xx in time: the deliveries
        self.held: list[bytes] = []
        self.resets = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(256)
        self._server.settimeout(0.05)
        self.port: int = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/webhooks/mux"
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ScriptedApp:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._acceptor.join(5)
        self._server.close()
        for thread in list(self._threads):
            thread.join(5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            with contextlib.suppress(OSError):
                while self._one(conn) and self.keep_alive:
                    pass

    def _readable(self, conn: socket.socket) -> bool:
        """Wait for the next request's first bytes (or EOF) until the app stops."""
        while not self._stopping.is_set():
            ready, _, _ = select.select([conn], [], [], 0.05)
            if ready:
                return bool(conn.recv(1, socket.MSG_PEEK))
        return False

    def _one(self, conn: socket.socket) -> bool:
        """Serve one request; True when the connection can take another."""
        if not self._readable(conn):
            return False  # EOF: a probe, or the client closed an idle connection
        what = self.script()
        if what == "reset":
            with self.lock:
                self.resets += 1
            _reset(conn)
            return False
        body = _read_request(conn)
        if body is None:
            return False
        with self.lock:
            self.seen.append((what, body))
            if what == "hold":
                self.held.append(body)
        if what in ("hold", "crash"):
            if what == "hold":
                self._stopping.wait(60)
            _reset(conn)
            return False
        if what == "slow":
            self._stopping.wait(self.slow)
        conn.sendall(_answer(500 if what == "500" else 200, close=not self.keep_alive))
        if what == "200":
            with self.lock:
                self.answered.append(body)
        return True


def scripted(*steps: str, then: str = "200") -> Callable[[], str]:
    """A script: ``steps`` in order, then ``then`` for ever."""
    remaining = list(steps)
    lock = threading.Lock()

    def next_step() -> str:
        with lock:
            return remaining.pop(0) if remaining else then

    return next_step


# -- 1. the app down, slow, resetting, failing --------------------------------------------------

FAULTS = ("down", "slow", "reset", "500")


@pytest.mark.parametrize("fault", FAULTS)
def test_ack_app_gives_the_sender_the_apps_status(tmp_path: Path, fault: str) -> None:
    """--ack app: 502 down, 504 slow, 502 reset, 500 then 200 on a fresh send; all logged."""
    db = tmp_path / "events.db"
    body = event(f"evt-app-{fault}")
    with contextlib.ExitStack() as stack:
        if fault == "down":
            port = free_port()
            target = f"http://127.0.0.1:{port}/webhooks/mux"
            app = None
        else:
            first = {"slow": "slow", "reset": "reset", "500": "500"}[fault]
            app = stack.enter_context(ScriptedApp(scripted(first)))
            target = app.url
        listener = stack.enter_context(
            listen_locally(tmp_path, db, "-f", target, "--forward-timeout", "1", env=ENV)
        )
        started = time.monotonic()
        answer = post(listener.url, body)
        elapsed = time.monotonic() - started
        again = post(listener.url, body) if fault == "500" else None  # the platform's retry
        listener.wait_for_stdout(2 if again is not None else 1)
    assert listener.code == 0
    rows = logged(db)
    if fault == "down":
        assert answer.status_code == 502
        assert f"is your app running on port {port}?" in answer.json()["error"]
    elif fault == "slow":
        assert answer.status_code == 504
        assert answer.json() == {"error": "timed out after 1 s"}
        assert 0.9 < elapsed < 1.45, elapsed  # the timeout, not the app's 1.5 s
    elif fault == "reset":
        assert answer.status_code == 502
        assert app is not None and app.resets == 1 and app.seen == []
    else:
        assert answer.status_code == 500 and answer.json() == {"error": "the app failed"}
        assert again is not None and again.status_code == 200
        assert again.json() == {"received": True}
        assert app is not None and app.answered == [body]
    # Nothing is lost: each send is a row with its attempt.
    assert [row.event_id for row in rows] == [event_id(body)] * (2 if fault == "500" else 1)
    first_row = rows[0]
    assert first_row.body == body and len(first_row.attempts) == 1
    attempt = first_row.attempts[0]
    assert attempt.target == target and not attempt.ok
    if fault == "500":
        assert attempt.status == 500 and attempt.error is None
        assert [a.status for a in rows[1].attempts] == [200] and rows[1].duplicate
        assert [row.status for row in rows] == ["failed", "ok"]
    else:
        assert attempt.status is None and attempt.error
        assert first_row.status == "failed"
    if fault == "slow":
        assert attempt.error == "timed out after 1 s"


@pytest.mark.parametrize("fault", FAULTS)
def test_ack_immediate_retries_deliver_exactly_once(tmp_path: Path, fault: str) -> None:
    """--ack immediate: 200 at once, then retries until the app recovers, delivered once."""
    db = tmp_path / "events.db"
    body = event(f"evt-immediate-{fault}")
    port = free_port()
    target = f"http://127.0.0.1:{port}/webhooks/mux"
    first = {"down": "200", "slow": "slow", "reset": "reset", "500": "500"}[fault]
    with contextlib.ExitStack() as stack:
        app = (
            None
            if fault == "down"
            else stack.enter_context(ScriptedApp(scripted(first), port=port))
        )
        listener = stack.enter_context(
            listen_locally(
                tmp_path,
                db,
                "-f",
                target,
                "--ack",
                "immediate",
                "--retries",
                "2",
                "--forward-timeout",
                "1",
                env=ENV,
            )
        )
        started = time.monotonic()
        answer = post(listener.url, body)
        acked = time.monotonic() - started
        assert wait_until(lambda: bool(lines_with(listener.stdout, "(retrying)")), 5)
        if app is None:  # the app comes up between the first attempt and the retry (at 1 s)
            app = stack.enter_context(ScriptedApp(scripted(), port=port))
        lines = listener.wait_for_stdout(2, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"recorded": True}
    assert acked < 0.5, acked  # recorded and answered, not waiting for the app
    # The app: exactly one delivery, after it recovered; nothing after it.
    assert app.answered == [body]
    expected_seen = {
        "down": [("200", body)],
        "slow": [("slow", body), ("200", body)],  # the late copy is the app's, not a retry's
        "reset": [("200", body)],
        "500": [("500", body), ("200", body)],
    }[fault]
    assert app.seen == expected_seen
    assert app.resets == (1 if fault == "reset" else 0)
    # The log: one row, every attempt, the last one the delivery.
    [row] = logged(db)
    assert row.body == body and row.status == "ok"
    assert [a.ok for a in row.attempts] == [False, True]
    failure = row.attempts[0]
    if fault == "500":
        assert failure.status == 500
    else:
        assert failure.status is None and failure.error
    if fault == "slow":
        assert failure.error == "timed out after 1 s"
    if fault == "down":
        assert "connection refused" in (failure.error or "")
    assert row.attempts[1].attempted_at - failure.attempted_at >= 0.95  # the 1 s backoff
    # What the developer saw: the event's line with the failed first try, then the retry's.
    assert len(lines) == 2 and lines[0].endswith("(retrying)")
    assert "↳ #1 attempt 2 → 200" in lines[1]
    assert "forwarded 1 · failed 0" in summary(listener) and listener.code == 0


def test_an_app_crashing_mid_request_on_a_kept_alive_connection_is_in_the_log(
    tmp_path: Path,
) -> None:
    """Every request the app read is an attempt in the log (a resend is one more)."""
    db = tmp_path / "events.db"
    with (
        ScriptedApp(scripted("200", "crash"), keep_alive=True) as app,
        listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener,
    ):
        assert post(listener.url, event("evt-kept-1")).status_code == 200
        post(listener.url, event("evt-kept-2"))  # the app reads it, then dies mid-handler
    read_by_app = sorted(event_id(body) for _, body in app.seen)
    attempts = sorted(row.event_id or "" for row in logged(db) for _ in row.attempts)
    assert read_by_app == attempts


# -- 2. SIGKILL in the middle of a burst ---------------------------------------------------------

BURST = 300
SENDERS = 8  # as many as listen's default --concurrency: each sender ends up held in the app
ANSWER_FIRST = 100  # the app answers this many, then holds every request it gets


class Burst:
    """What a burst cut short by ``kill -9`` left behind."""

    def __init__(self, home: Path, db: Path) -> None:
        self.home = home
        self.db = db
        self.outcomes: dict[str, str] = {}  # event id → "200", another status, or an error
        self.answered_at_app: set[str] = set()
        self.held_at_app: set[str] = set()
        self.after_restart: httpx.Response | None = None
        self.restart_code: int | None = None
        self.app_port = 0  # where the events were going

    def answered_2xx(self) -> set[str]:
        return {key for key, outcome in self.outcomes.items() if outcome.startswith("2")}


@pytest.fixture(scope="module")
def burst(tmp_path_factory: pytest.TempPathFactory) -> Burst:
    """300 signed events from 8 threads; the listener killed with SIGKILL after 100 answers.

    The app answers the first 100 requests and then holds every request without an
    answer, so at the kill each sender waits on an event that is recorded and in flight
    to the app: the state a crash leaves behind, made certain rather than likely.
    """
    home = tmp_path_factory.mktemp("burst")
    result = Burst(home, home / "events.db")
    answered = 0
    lock = threading.Lock()

    def script() -> str:
        nonlocal answered
        with lock:
            answered += 1
            return "200" if answered <= ANSWER_FIRST else "hold"

    killed = threading.Event()
    with (
        ScriptedApp(script) as app,
        listen_locally(home, result.db, "-f", app.url, env=ENV) as listener,
    ):
        result.app_port = app.port

        def send(share: list[int]) -> None:
            with httpx.Client(timeout=30) as client:
                for n in share:
                    key = f"evt-burst-{n:03d}"
                    if killed.is_set():
                        result.outcomes[key] = "not sent"
                        continue
                    body = event(key)
                    try:
                        response = client.post(
                            listener.url, content=body, headers=signing.sign(body, secret=SECRET)
                        )
                        result.outcomes[key] = str(response.status_code)
                    except httpx.HTTPError as error:
                        result.outcomes[key] = type(error).__name__

        shares = [list(range(i, BURST, SENDERS)) for i in range(SENDERS)]
        senders = [threading.Thread(target=send, args=(share,)) for share in shares]
        for thread in senders:
            thread.start()
        all_held = wait_until(lambda: len(app.held) == SENDERS, 30)
        os.kill(listener.process.pid, signal.SIGKILL)
        killed.set()
        listener.process.wait(10)
        for thread in senders:
            thread.join(30)
        assert all_held, f"only {len(app.held)} requests reached the app after the first 100"
        assert not any(thread.is_alive() for thread in senders)
        with app.lock:
            result.answered_at_app = {event_id(body) for body in app.answered}
            result.held_at_app = {event_id(body) for body in app.held}
    assert listener.code == -signal.SIGKILL
    # A new listener on the same log starts, and records.
    with (
        ScriptedApp(scripted()) as app,
        listen_locally(home, result.db, "-f", app.url, env=ENV) as listener,
    ):
        result.after_restart = post(listener.url, event("evt-after-restart"))
    result.restart_code = listener.code
    return result


def _copy_log(source: Path, folder: Path) -> Path:
    """A private copy of a closed log (with its -wal and -shm, if any)."""
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(source) + suffix)
        if part.exists():
            shutil.copy(part, folder / (source.name + suffix))
    return folder / source.name


def test_sigkill_mid_burst_loses_no_answered_event(burst: Burst) -> None:
    """Every event the sender got a 2xx for is in the log; the log is intact and reusable."""
    ok = burst.answered_2xx()
    assert len(ok) == ANSWER_FIRST and ok == burst.answered_at_app
    assert len(burst.held_at_app) == SENDERS
    # The held requests' senders saw the connection drop, the rest could not connect.
    assert all(not burst.outcomes[key].startswith("2") for key in burst.held_at_app)
    assert burst.after_restart is not None and burst.after_restart.status_code == 200
    assert burst.restart_code == 0
    with sqlite3.connect(burst.db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = logged(burst.db)
    by_key = {row.event_id: row for row in rows}
    assert len(by_key) == len(rows)  # no event recorded twice
    assert ok <= set(by_key)  # every 2xx answer was recorded …
    assert all(by_key[key].status == "ok" for key in ok)  # … with its delivery
    # The events in flight at the kill: recorded (the answer waits for the commit), with
    # no attempt, since their forward never completed. Nothing else was recorded.
    assert all(by_key[key].attempts == [] for key in burst.held_at_app)
    assert set(by_key) == ok | burst.held_at_app | {"evt-after-restart"}
    assert by_key["evt-after-restart"].id == max(row.id for row in rows)
    # A forward cut short counts as failed: exactly those are what --failed will resend.
    with EventLog(burst.db) as log:
        assert {row.event_id for row in log.failed()} == burst.held_at_app


def test_sigkill_mid_burst_replay_failed_finishes_the_job(burst: Burst, tmp_path: Path) -> None:
    """What listen's own hint promises: 'muxhook log replay --failed' delivers what is left.

    "Finishes the job" means: afterwards every recorded event has a 2xx attempt in the
    log and reached the app, the ones the listener delivered before the kill are not
    sent again, and each cut-short one is sent once. (An event whose 2xx answer came
    back but whose attempt was not yet committed when the kill landed, a window of one
    turn of the event loop, would be sent again: delivery is at least once.)
    """
    db = _copy_log(burst.db, tmp_path)
    with ScriptedApp(scripted(), port=burst.app_port) as app:  # the app, back where it was
        replay = muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db))
    assert replay.returncode == 0, replay.stderr
    assert sorted(event_id(body) for body in app.answered) == sorted(burst.held_at_app)
    lines = replay.stdout.splitlines()  # the kill left no attempt of theirs: said
    assert len(lines) == SENDERS and all("possibly delivered before" in line for line in lines)
    rows = logged(db)
    assert [row.event_id for row in rows if not any(a.ok for a in row.attempts)] == []
    with EventLog(db) as log:
        assert log.failed() == []
    assert {row.event_id for row in rows} == (
        burst.answered_2xx() | burst.held_at_app | {"evt-after-restart"}
    )


def test_sigkill_mid_burst_log_list_status_agrees_with_its_filter(
    burst: Burst, tmp_path: Path
) -> None:
    db = _copy_log(burst.db, tmp_path)
    listed = muxhook(tmp_path, "log", "list", "--status", "failed", "--json", "--db", str(db))
    rows = json_lines(listed.stdout)
    assert {row["event_id"] for row in rows} == burst.held_at_app
    assert {row["status"] for row in rows} == {"failed"}


# -- 3. the event log locked by another process ----------------------------------------------


def test_a_locked_log_is_waited_for_then_refused_with_503(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with listen_locally(tmp_path, db, env=ENV) as listener:
        assert post(listener.url, event("evt-lock-1")).status_code == 200
        locker = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            # Held for 1.5 s, well inside the 5 s busy timeout: the request waits, then is
            # recorded and answered 200.
            locker.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            answers: list[httpx.Response] = []
            sender = threading.Thread(
                target=lambda: answers.append(post(listener.url, event("evt-lock-2")))
            )
            sender.start()
            time.sleep(1.5)
            locker.execute("COMMIT")
            sender.join(10)
            waited = time.monotonic() - started
            assert [a.status_code for a in answers] == [200], [a.text for a in answers]
            assert 1.4 < waited < LOCK_TIMEOUT, waited
            # Held for 7 s, past the timeout: 503 after 5 s, and one clear line.
            locker.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            refused = post(listener.url, event("evt-lock-3"))
            waited = time.monotonic() - started
            time.sleep(max(0.0, 7.0 - waited))
            locker.execute("COMMIT")
        finally:
            locker.close()
        assert refused.status_code == 503
        assert LOCK_TIMEOUT - 0.2 < waited < LOCK_TIMEOUT + 1.5, waited
        reason = (
            f"the event log at {db} stayed locked by another process for over 5 s; "
            "stop the other muxhook or pass --db PATH"
        )
        assert refused.text == f"muxhook could not record this request: {reason}\n"
        # Then it keeps working: the platform's retry is recorded.
        assert post(listener.url, event("evt-lock-3")).status_code == 200
        assert httpx.get(listener.url.rsplit("/webhooks", 1)[0] + "/").status_code == 200
    errors = [line for line in listener.stderr if line.startswith("error:")]
    assert errors == [
        f"error: could not record POST /webhooks/mux ({reason}); answered 503, "
        "so the platform will send it again"
    ]
    assert not lines_with(listener.stderr, "Traceback") and listener.code == 0
    rows = logged(db)
    assert [row.event_id for row in rows] == ["evt-lock-1", "evt-lock-2", "evt-lock-3"]
    assert not any(row.duplicate for row in rows)  # the refused copy was never stored


def test_a_locked_log_does_not_stall_the_health_check(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with listen_locally(tmp_path, db, env=ENV) as listener:
        assert post(listener.url, event("evt-stall-1")).status_code == 200
        locker = sqlite3.connect(db, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            release = threading.Timer(1.5, lambda: locker.execute("COMMIT"))
            release.start()
            answers: list[httpx.Response] = []
            sender = threading.Thread(
                target=lambda: answers.append(post(listener.url, event("evt-stall-2")))
            )
            sender.start()
            time.sleep(0.3)  # the listener now waits for the lock
            started = time.monotonic()
            health = httpx.get(listener.url.rsplit("/webhooks", 1)[0] + "/", timeout=10)
            took = time.monotonic() - started
            release.join(5)
            sender.join(10)
        finally:
            locker.close()
    assert [a.status_code for a in answers] == [200]
    assert health.status_code == 200
    assert took < 0.5, f"the health check took {took:.2f} s while the log was locked"


# -- 4. the disk full ----------------------------------------------------------------------------


class SmallDisk:
    """Where the log lives, and how to fill that place and free it again.

    A 256 KiB tmpfs when mounting is allowed (root, as in CI); otherwise the listener's
    RLIMIT_FSIZE, lowered and raised again from outside with prlimit (a file that would
    grow past it fails with EFBIG, which SQLite reports as an I/O error, not a full disk).
    """

    def __init__(self, folder: Path, mounted: bool) -> None:
        self.folder = folder
        self.mounted = mounted
        self.filler = folder / "filler"
        self.pid = 0

    def fill(self) -> None:
        if not self.mounted:
            resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            return
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with contextlib.suppress(OSError):  # ENOSPC: full
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        assert shutil.disk_usage(self.folder).free == 0

    def free(self) -> None:
        if not self.mounted:
            limits = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(self.pid, resource.RLIMIT_FSIZE, limits)
            return
        self.filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    folder = tmp_path / "small"
    folder.mkdir()
    mount = shutil.which("mount")
    tried = subprocess.run(
        [mount or "mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    disk = SmallDisk(folder, mounted=tried.returncode == 0)
    try:
        yield disk
    finally:
        if disk.mounted:
            unmounted = subprocess.run(
                ["umount", str(folder)], capture_output=True, timeout=30, check=False
            )
            if unmounted.returncode != 0:
                subprocess.run(["umount", "-l", str(folder)], timeout=30, check=False)


def test_a_full_disk_is_503_and_one_line_then_it_serves_again(
    tmp_path: Path, small_disk: SmallDisk
) -> None:
    db = small_disk.folder / "events.db"
    big = b"x" * 4096  # each event adds a few pages to the WAL
    with (
        ScriptedApp(scripted()) as app,
        listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener,
    ):
        small_disk.pid = listener.process.pid
        assert post(listener.url, event("evt-disk-1")).status_code == 200
        # The 200 can reach the sender a loop turn before its attempt is committed.
        assert wait_until(lambda: [r.status for r in logged(db)] == ["ok"], 5)
        small_disk.fill()
        full = [post(listener.url, event("evt-disk-2", kind="video.asset.ready") + big)]
        full.append(post(listener.url, event("evt-disk-2", kind="video.asset.ready") + big))
        base = listener.url.rsplit("/webhooks", 1)[0]
        assert httpx.get(base + "/").status_code == 200  # still serving
        assert listener.process.poll() is None
        small_disk.free()
        after = [post(listener.url, event(f"evt-disk-{n}")) for n in (2, 3)]
        listener.wait_for_stdout(3)
    assert [a.status_code for a in full] == [503, 503]
    assert all(a.text.startswith("muxhook could not record this request: ") for a in full)
    if small_disk.mounted:
        reason = (
            f"cannot write the event log at {db}: the disk is full; "
            "free some space or pass --db PATH"
        )
        assert full[0].text == f"muxhook could not record this request: {reason}\n"
    errors = [line for line in listener.stderr if line.startswith("error:")]
    assert len(errors) == 2  # one line per refused request, and nothing else
    assert all(line.startswith("error: could not record POST /webhooks/mux (") for line in errors)
    assert all(line.endswith("answered 503, so the platform will send it again") for line in errors)
    assert not lines_with(listener.stderr, "Traceback") and listener.code == 0
    assert [a.status_code for a in after] == [200, 200]
    assert [event_id(body) for body in app.answered] == ["evt-disk-1", "evt-disk-2", "evt-disk-3"]
    assert [row.event_id for row in logged(db)] == ["evt-disk-1", "evt-disk-2", "evt-disk-3"]
    assert all(row.status == "ok" for row in logged(db))


# -- 5. the tunnel agent dying mid-session ----------------------------------------------------


def test_the_tunnel_agent_dying_is_one_warning_then_a_new_agent_and_local_serving_goes_on(
    tmp_path: Path,
) -> None:
    agent = _fake_agent(tmp_path)
    record = tmp_path / "agent-calls.jsonl"
    env = {
        **ENV,
        "NGROK_AUTHTOKEN": "test-token",
        "FAKE_NGROK_DIE_AFTER": "3",
        "FAKE_NGROK_FAULTS_ONCE": str(tmp_path / "died-once"),  # the next agent lives
        "FAKE_NGROK_RECORD": str(record),
        "MUXHOOK_TUNNEL_TIMING": "tick=0.2,every=0.5,answer=1.5,restart=4,retry=1",
    }
    # The agent logs that its session closed, then exits: a probe in between finds the
    # session lost, one after finds the process gone. Either way the line gives its words.
    down = "warning: the tunnel is down: the ngrok agent "
    why = (
        " (session closed, agent exiting: FAKE_NGROK_DIE_AFTER elapsed); webhooks sent to the "
        "public URL are not reaching muxhook (the local listener still works); restarting the "
        "agent "
    )
    refused = (
        f"warning: could not restart the tunnel agent: cannot run the ngrok agent at {agent}: "
        "not executable (chmod +x it); trying again in 1 s, then less and less often (every 5 "
        "min at most)"
    )

    def public_urls() -> list[str]:
        return [line.split(": ", 1)[1] for line in lines_with(listener.stderr, "  public URL: ")]

    with (
        ScriptedApp(scripted()) as app,
        listening(
            "--port",
            "0",
            "--db",
            str(tmp_path / "events.db"),
            "-f",
            app.url,
            "--tunnel",
            "ngrok",
            "--ngrok-path",
            str(agent),
            home=tmp_path,
            env=env,
        ) as listener,
    ):
        ready = time.monotonic()
        assert listener.public_url is not None, "\n".join(listener.stderr)
        assert post(listener.public_url, event("evt-tunnel-1")).status_code == 200
        agent.chmod(0o644)  # the agent cannot be run again for now (being updated, say)
        assert wait_until(lambda: bool(lines_with(listener.stderr, down)), 8)
        noticed = time.monotonic() - ready
        assert wait_until(lambda: bool(lines_with(listener.stderr, refused)), 5)
        with pytest.raises(httpx.ConnectError):
            post(listener.public_url, event("evt-tunnel-2"))  # the agent is gone
        assert post(listener.url, event("evt-tunnel-2")).status_code == 200
        agent.chmod(0o755)
        assert wait_until(lambda: len(public_urls()) == 2, 15), "\n".join(listener.stderr)
        assert post(public_urls()[1], event("evt-tunnel-3")).status_code == 200
        assert listener.process.poll() is None
        listener.wait_for_stdout(3)
    assert noticed < 6.0, noticed  # the agent died 3 s after start; probes are 0.5 s apart
    assert listener.code == 0
    [line] = lines_with(listener.stderr, down)  # one line, however long it was down
    assert why in line
    assert lines_with(listener.stderr, "could not restart") == [refused]  # once per reason
    assert public_urls()[1] != public_urls()[0]
    assert lines_with(listener.stderr, "warning: the public URL changed: paste it into Mux")
    assert not lines_with(listener.stderr, "Traceback")
    assert "received 3 · valid 3" in summary(listener)
    starts = [
        line for line in record.read_text().splitlines() if json.loads(line)["kind"] == "argv"
    ]
    assert len(starts) == 2  # the agent that died, and the one that replaced it
    assert [event_id(body) for body in app.answered] == [f"evt-tunnel-{n}" for n in (1, 2, 3)]
