"""How ``muxhook listen`` stops, orders retries and outlives its reader: real listener
processes, real signals, real apps and a real pipe, loopback only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from muxhook import signing
from tests.apps import Received, RecordingApp, serve
from tests.listening import Listener, json_lines, listen_locally, muxhook_env, run_muxhook

SECRET = "shutdown-test-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
LOCAL = ("--port", "0", "--no-tunnel")


def mux_event(object_id: str, n: int) -> bytes:
    document = {
        "type": "video.asset.updated",
        "id": f"evt-{object_id}-{n}",
        "object": {"type": "asset", "id": object_id},
        "data": {"id": object_id, "sequence": n},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def post(url: str, body: bytes) -> int | str:
    """The status the sender saw, or the name of the error when there was no answer."""
    try:
        headers = signing.sign(body, secret=SECRET)
        return httpx.post(url, content=body, headers=headers, timeout=30).status_code
    except httpx.HTTPError as error:
        return type(error).__name__


def post_in_background(
    url: str, bodies: list[bytes]
) -> tuple[list[threading.Thread], list[int | str]]:
    """Each body from a thread of its own (the app may hold them); what each sender saw."""
    seen: list[int | str] = []
    threads = [threading.Thread(target=lambda b=body: seen.append(post(url, b))) for body in bodies]
    for thread in threads:
        thread.start()
    return threads, seen


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Held:
    """An app's answer that waits until the test releases it (bounded), then 200."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, _: Received) -> tuple[int, bytes]:
        self.release.wait(30)
        return 200, b'{"received":true}'


@pytest.fixture
def held() -> Iterator[tuple[Held, RecordingApp]]:
    answer = Held()
    with serve(RecordingApp(answer)) as app:
        try:
            yield answer, app
        finally:
            answer.release.set()


def ended(listener: Listener) -> int:
    """Wait for the listener to end by itself (bounded); its exit code."""
    try:
        return listener.process.wait(timeout=30)
    finally:
        listener.stop()  # it has ended: this only collects what it printed


def summary(listener: Listener) -> list[str]:
    start = next(n for n, line in enumerate(listener.stderr) if line.startswith("received "))
    return listener.stderr[start:]


def failed_rows(home: Path, db: Path) -> list[dict[str, Any]]:
    listed = run_muxhook(home, "log", "list", "--db", str(db), "--status", "failed", "--json")
    rows: list[dict[str, Any]] = json_lines(listed.stdout)
    return rows


# -- stopping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_one_signal_finishes_the_forwards_in_flight_then_prints_the_summary(
    tmp_path: Path, held: tuple[Held, RecordingApp], sig: signal.Signals
) -> None:
    """Ctrl-C, a service manager's SIGTERM and a closed terminal's SIGHUP all stop listen
    the same way: it says what it waits for, the app's answers still reach the senders,
    every event is counted, and the exit code is 0."""
    answer, app = held
    db = tmp_path / "events.db"
    with listen_locally(tmp_path, db, "-f", app.url, env=ENV) as listener:
        bodies = [mux_event(f"asset-{n}", 0) for n in range(3)]
        senders, seen = post_in_background(listener.url, bodies)
        assert wait_until(lambda: len(app.requests) == 3)
        listener.process.send_signal(sig)
        draining = listener.wait_for_stderr("finishing")
        answer.release.set()
        code = ended(listener)
        for sender in senders:
            sender.join(10)
    assert draining == "finishing 3 forwards, up to 30 s; Ctrl-C again to stop now"
    assert code == 0, listener.stderr
    assert seen == [200, 200, 200]
    assert summary(listener) == [
        "received 3 · valid 3 · invalid 0 · unverified 0 · forwarded 3 · failed 0"
    ]
    assert sum("→ 200" in line for line in listener.stdout) == 3
    assert failed_rows(tmp_path, db) == []


def _event_then_second_signal_ack_app(listener: Listener, app: RecordingApp) -> list[int | str]:
    _, seen = post_in_background(listener.url, [mux_event("asset-slow", 0)])
    assert wait_until(lambda: len(app.requests) == 1)  # the app holds it
    listener.process.send_signal(signal.SIGINT)
    assert listener.wait_for_stderr("finishing 1 forward, up to 30 s")
    listener.process.send_signal(signal.SIGINT)
    return seen


def _event_then_second_signal_retrying(listener: Listener, app: RecordingApp) -> list[int | str]:
    seen = [post(listener.url, mux_event("asset-slow", 0))]
    # Its second attempt failed too: 2 s of back-off before the third, room for the stop.
    assert listener.wait_for_line("#1 attempt 2 ")
    listener.process.send_signal(signal.SIGINT)
    assert listener.wait_for_stderr("finishing 1 forward, up to 30 s")
    listener.process.send_signal(signal.SIGINT)
    return seen


def _event_then_grace_runs_out(listener: Listener, app: RecordingApp) -> list[int | str]:
    seen = [post(listener.url, mux_event("asset-slow", 0))]
    assert listener.wait_for_line("#1 attempt 2 ")  # 2 s to the third attempt
    listener.process.send_signal(signal.SIGINT)  # one signal: the 1 s grace runs out first
    assert listener.wait_for_stderr("finishing 1 forward, up to 1 s")
    return seen


def always_500(_: Received) -> tuple[int, bytes]:
    return 500, b'{"error":"not yet"}'


class CutOff(NamedTuple):
    options: list[str]
    stop: Callable[[Listener, RecordingApp], list[int | str]]  # posts, then stops listen
    sender_saw: list[int | str]
    error: str  # of the attempt that stands for the cut-off forward
    tries: int  # attempts before it


CUT_OFF_CASES = {
    "second Ctrl-C, --ack app, app slow": CutOff(
        [],
        _event_then_second_signal_ack_app,
        ["RemoteProtocolError"],  # no answer: the platform sends it again
        "cut off: muxhook stopped before your app answered",
        0,
    ),
    "second Ctrl-C, --ack immediate, backing off": CutOff(
        ["--ack", "immediate"],
        _event_then_second_signal_retrying,
        [200],
        "cut off: muxhook stopped before sending it",
        2,
    ),
    "the grace runs out, --ack immediate": CutOff(
        ["--ack", "immediate", "--forward-timeout", "1"],
        _event_then_grace_runs_out,
        [200],
        "cut off: muxhook stopped before sending it",
        2,
    ),
}


@pytest.mark.parametrize("case", list(CUT_OFF_CASES))
def test_a_forward_cut_off_at_stop_is_counted_failed_named_and_in_the_log(
    tmp_path: Path, held: tuple[Held, RecordingApp], case: str
) -> None:
    """A second Ctrl-C (or the end of the grace) cuts the forward off: it is counted as
    failed, the summary names it and the command that finishes it, the log has an
    attempt saying so (so 'log replay --failed' takes it), and the exit code is still 0."""
    options, stop, sender_saw, cut_off, tries = CUT_OFF_CASES[case]
    db = tmp_path / "events.db"
    answer, app = held
    if options:  # --ack immediate: an app that keeps failing, so the event is retried
        app.responder = always_500
    with listen_locally(tmp_path, db, "-f", app.url, *options, env=ENV) as listener:
        seen = stop(listener, app)
        code = ended(listener)
        answer.release.set()
        assert wait_until(lambda: len(seen) == len(sender_saw), 10)
    assert code == 0, listener.stderr
    assert seen == sender_saw
    assert summary(listener) == [
        "received 1 · valid 1 · invalid 0 · unverified 0 · forwarded 0 · failed 1 (1 cut off)",
        "1 event not delivered: #1 (cut off when muxhook stopped); "
        "'muxhook log replay --failed' sends it again",
    ]
    assert any("→ failed" in line and line.endswith(cut_off) for line in listener.stdout)
    (row,) = failed_rows(tmp_path, db)
    attempts = row["attempts"]
    assert isinstance(attempts, list)
    *earlier, last = attempts
    assert (last["error"], last["status"], last["target"]) == (cut_off, None, app.url)
    assert all(attempt["status"] == 500 for attempt in earlier)
    assert len(earlier) == tries
    # Sent before it was cut off, the app may have it: replaying it again says so.
    app.responder = lambda _: (200, b"ok")
    replayed = run_muxhook(tmp_path, "log", "replay", "--failed", "--db", str(db), env=ENV)
    assert replayed.returncode == 0, replayed.stderr
    marked = "(possibly delivered before: muxhook stopped before it knew)" in replayed.stdout
    assert marked == cut_off.endswith("before your app answered"), replayed.stdout


# -- stdout going away -------------------------------------------------------------------------


def test_listen_piped_into_head_keeps_recording_and_forwarding(tmp_path: Path) -> None:
    """``muxhook listen … | head -1``: once head has gone, listen says so once on stderr,
    with no traceback, and keeps recording and forwarding every event."""
    db = tmp_path / "events.db"
    read_end, write_end = os.pipe()
    with serve(RecordingApp()) as app:
        process = subprocess.Popen(
            [sys.executable, "-m", "muxhook", "listen", *LOCAL, "--db", str(db), "-f", app.url],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=muxhook_env(tmp_path, ENV),
            cwd=tmp_path,
        )
        head = subprocess.Popen(["head", "-1"], stdin=read_end, stdout=subprocess.PIPE, text=True)
        os.close(read_end)
        os.close(write_end)
        listener = Listener(process)
        try:
            listener.wait_ready()
            statuses = [post(listener.url, mux_event("asset-0", 0))]
            printed, _ = head.communicate(timeout=20)  # head has its line, and is gone
            statuses += [post(listener.url, mux_event("asset-0", n)) for n in range(1, 5)]
            assert wait_until(lambda: len(app.requests) == 5)
            code = listener.stop()
        finally:
            listener.stop()
            head.kill()
            head.wait()
    assert statuses == [200] * 5
    assert [json.loads(r.body)["data"]["sequence"] for r in app.requests] == [0, 1, 2, 3, 4]
    assert "#1" in printed and "→ 200" in printed and printed.count("\n") == 1
    assert not any("Traceback" in line or "Exception" in line for line in listener.stderr)
    closed = [line for line in listener.stderr if "stdout" in line]
    assert closed == [
        "cannot write to stdout (Broken pipe): muxhook stopped printing events; it keeps "
        "recording and forwarding them ('muxhook log list' shows them)"
    ]
    assert summary(listener)[0].startswith("received 5 · valid 5 ·")
    assert "forwarded 5 · failed 0" in summary(listener)[0]
    assert code == 0
    listed = run_muxhook(tmp_path, "log", "list", "--db", str(db), "--json")
    assert [row["status"] for row in json_lines(listed.stdout)] == ["ok"] * 5


# -- order through retries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "retries", ["5", "1"], ids=["delivered on its third try", "retries used up"]
)
def test_a_later_event_about_the_same_object_waits_for_the_earlier_ones_retries(
    tmp_path: Path, retries: str
) -> None:
    """--ack immediate, one forward at a time: A (about asset x) fails and is retried; B,
    also about x, waits until A is delivered or has used up its retries; C, about another
    asset, is not held up, and takes the one slot during A's back-off."""
    a, b, c = mux_event("asset-x", 1), mux_event("asset-x", 2), mux_event("asset-y", 1)
    names = {a: "A", b: "B", c: "C"}
    tries: list[int] = []

    def fails_a_twice(request: Received) -> tuple[int, bytes]:
        if request.body == a:
            tries.append(1)
            if retries == "1" or len(tries) <= 2:
                return 500, b'{"error":"not yet"}'
        return 200, b"{}"

    options = ["--ack", "immediate", "--concurrency", "1", "--retries", retries]
    with (
        serve(RecordingApp(fails_a_twice)) as app,
        listen_locally(tmp_path, tmp_path / "e.db", "-f", app.url, *options, env=ENV) as listener,
    ):
        assert [post(listener.url, body) for body in (a, b, c)] == [200, 200, 200]
        assert wait_until(lambda: any(r.body == b for r in app.requests), 30)
        listener.wait_for_stdout(5 if retries == "5" else 4)
    arrived = [names[r.body] for r in app.requests]
    expected = ["A", "C", "A", "A", "B"] if retries == "5" else ["A", "C", "A", "B"]
    assert arrived == expected
    lines = listener.stdout
    line_of = {
        f"#{n}": next(i for i, line in enumerate(lines) if f"  #{n}  " in line) for n in (2, 3)
    }
    a_last = max(i for i, line in enumerate(lines) if "↳ #1 attempt" in line)
    assert line_of["#3"] < a_last < line_of["#2"]  # C, then A's last try, then B
    assert ("→ 200" if retries == "5" else "→ 500") in lines[a_last]
