"""The HTTP listener in-process, where its deadlines can be short: a real ``Listener`` with a
real ``Pipeline`` and SQLite log, served on 127.0.0.1 port 0 in a thread of its own, and
talked to over raw sockets. (``test_hostile.py`` holds the listener process to the rest.)"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from muxhook.forward import Route
from muxhook.listener import MAX_HEAD, Listener, bind
from muxhook.pipeline import Answer, ListenSettings, Pipeline, Stats
from muxhook.records import Incoming, StoredEvent
from muxhook.store import EventLog
from muxhook.subscribers import Subscriber
from muxhook.testing import MemorySender, SentRequest

TIMEOUT = 5.0


class Reported(Subscriber):
    """A subscriber that keeps what it is told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def received(self, event: object) -> None:
        self.lines.append("received")

    def delivered(self, event: object) -> None:
        self.lines.append("delivered")

    def slow(self, event: object, limit: float, provider: str) -> None:
        self.lines.append("slow")

    def rejected(self, row: int, incoming: object, status: int, reason: str) -> None:
        self.lines.append(f"rejected {status}")

    def unrecorded(self, incoming: object, reason: str) -> None:
        self.lines.append("unrecorded")

    def log_failed(self, error: Exception) -> None:
        self.lines.append("log failed")

    def draining(self, forwards: int, seconds: float) -> None:
        self.lines.append(f"draining {forwards}")

    def log_replaced(self, notice: str) -> None:
        self.lines.append("log replaced")


class Served:
    def __init__(self, port: int, db: Path, reported: Reported) -> None:
        self.port = port
        self.db = db
        self.reported = reported

    def rows(self, count: int) -> list[StoredEvent]:
        """The log's rows once there are ``count`` (or the deadline passed)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            with EventLog(self.db) as log:
                found = sorted(log.list(limit=None), key=lambda row: row.id)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A listener with a 0.5 s request deadline and a 0.5 s idle timeout, no secret."""
    db = tmp_path / "events.db"
    reported = Reported()
    sock = bind("127.0.0.1", 0)
    started = threading.Event()
    stop: list[asyncio.Event] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        stop.append(asyncio.Event())
        with EventLog(db) as log:
            flow = Pipeline(ListenSettings(secrets={}), log, None, [reported])
            server = Listener(flow, max_body=4096, request_timeout=0.5, idle_timeout=0.5)
            await server.serve(sock, on_started=started.set, grace=1.0, stop=stop[0], signals=False)
            await flow.drain(1.0)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(TIMEOUT)
    try:
        yield Served(sock.getsockname()[1], db, reported)
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        loop.close()


def read_all(conn: socket.socket) -> bytes:
    """Everything until the listener closes the connection."""
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def test_a_request_that_stops_half_way_through_its_head_is_cut_off(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"POST /webhooks/mux HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert answer.endswith(b"the request was not complete after 0.5 s\n")
    assert 0.4 < time.monotonic() - started < TIMEOUT
    (row,) = served.rows(1)
    assert (row.method, row.path, row.verdict) == ("POST", "/webhooks/mux", "rejected")
    assert row.reason == "408: the request was not complete after 0.5 s"


def test_a_body_that_stops_coming_is_cut_off_and_what_came_is_kept(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b'POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"a"')
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    (row,) = served.rows(1)
    assert (row.path, row.body, row.verdict) == ("/hook", b'{"a"', "rejected")


def test_an_idle_kept_alive_connection_is_closed(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        answer = read_all(conn)  # the answer, then the close once idle for 0.5 s
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    assert b"connection: close" not in answer
    (row,) = served.rows(1)
    assert row.verdict == "unverified"


def test_a_connection_that_sends_nothing_is_closed_and_leaves_no_trace(served: Served) -> None:
    with served.connect() as conn:
        assert read_all(conn) == b""
    assert served.rows(0) == [] and served.reported.lines == []


def test_a_head_over_the_limit_is_refused_431_without_holding_it(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"POST /hook HTTP/1.1\r\nX-Huge: ")
        try:
            for _ in range(MAX_HEAD // 65536 + 2):
                conn.sendall(b"a" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed once the limit passed: the rest is never read
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:80]
    (row,) = served.rows(1)
    assert row.reason == f"431: the request's head is over {MAX_HEAD} bytes"
    assert row.body == b""


def test_many_pipelined_requests_are_answered_in_order(served: Served) -> None:
    """More than the queue holds: reading pauses, nothing is dropped, the order holds."""
    count = 40
    requests = b"".join(
        b"POST /hook/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
        % (n, len(str(n)), str(n).encode())
        for n in range(count)
    )
    with served.connect() as conn:
        conn.sendall(requests + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = read_all(conn)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == count + 1
    assert answers.endswith(b"muxhook is listening; POST webhooks to any path\n")
    rows = served.rows(count)
    assert [row.path for row in rows] == [f"/hook/{n}" for n in range(count)]
    assert [row.body for row in rows] == [str(n).encode() for n in range(count)]


def test_head_gets_the_length_but_no_body_and_the_connection_goes_on(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = read_all(conn)
    health = b"muxhook is listening; POST webhooks to any path\n"
    first, second, third = answers.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK\r\n") and first.endswith(b"\r\n\r\n")
    assert f"content-length: {len(health)}\r\n".encode() in first
    assert second.startswith(b"404 Not Found\r\n") and second.endswith(b"\r\n\r\n")
    assert third.startswith(b"200 OK\r\n") and third.endswith(health)


def test_an_upgrade_is_answered_and_the_connection_closed(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        )
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer


def test_expect_100_continue_is_answered_before_the_body(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(
            b"POST /hook HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n"
        )
        assert conn.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"{}")
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    assert [row.body for row in served.rows(1)] == [b"{}"]


Handler = Callable[[Callable[[Incoming], Awaitable[Answer]], Incoming], Awaitable[Answer]]


def serve_one_post(
    db: Path, handle: Handler, *, grace: float, stop: asyncio.Event | None, signals: bool
) -> tuple[list[bytes], float]:
    """Serve one POST of ``{}`` whose handling ``handle`` wraps (it gets the real handler),
    until stopped; what the sender read, and how long serving took."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    answers: list[bytes] = []

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
            conn.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            answers.append(read_all(conn))

    async def main() -> float:
        with EventLog(db) as log:
            flow = Pipeline(ListenSettings(secrets={}), log, None, [Reported()])
            original = flow.handle

            async def wrapped(incoming: Incoming, trailers: tuple[str, ...] = ()) -> Answer:
                return await handle(original, incoming)

            flow.handle = wrapped  # type: ignore[method-assign]
            sender = threading.Thread(target=client)
            started = time.monotonic()
            await Listener(flow, max_body=4096).serve(
                sock, on_started=sender.start, grace=grace, stop=stop, signals=signals
            )
            took = time.monotonic() - started
            await flow.drain(1.0)
            await asyncio.to_thread(sender.join, TIMEOUT)
            return took

    return answers, asyncio.run(main())


def logged_bodies(db: Path) -> list[bytes]:
    with EventLog(db) as log:
        return [row.body for row in log.list(limit=None)]


@pytest.mark.parametrize("how", ["stop event", "SIGTERM"])
def test_stopping_waits_for_a_request_in_hand(tmp_path: Path, how: str) -> None:
    """A request that is being answered when the stop comes is still recorded and answered,
    whether the stop is the caller's event or a signal (one signal is not a forced stop)."""
    stop = asyncio.Event()

    async def slow(handle: Callable[[Incoming], Awaitable[Answer]], incoming: Incoming) -> Answer:
        if how == "SIGTERM":  # the stop arrives while this request is in hand
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            stop.set()
        await asyncio.sleep(0.2)
        return await handle(incoming)

    answers, _ = serve_one_post(
        tmp_path / "events.db", slow, grace=2.0, stop=stop, signals=how == "SIGTERM"
    )
    assert answers and answers[0].startswith(b"HTTP/1.1 200 OK\r\n"), answers
    assert logged_bodies(tmp_path / "events.db") == [b"{}"]


def test_a_second_signal_stops_without_waiting_for_the_grace(tmp_path: Path) -> None:
    """Two SIGTERMs: the request in hand (its app is slow) is cut off at once, not after the
    10 s grace; it was recorded before it was cut off."""

    async def stuck(handle: Callable[[Incoming], Awaitable[Answer]], incoming: Incoming) -> Answer:
        answer = await handle(incoming)  # recorded
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(30)  # an app that never answers
        return answer

    answers, took = serve_one_post(
        tmp_path / "events.db", stuck, grace=10.0, stop=None, signals=True
    )
    assert took < 3, took
    assert answers == [b""]  # cut off: no answer, so the platform sends it again
    assert logged_bodies(tmp_path / "events.db") == [b"{}"]


def test_a_stop_event_cuts_off_a_background_forward_when_the_grace_ends(tmp_path: Path) -> None:
    """The caller's stop event, --ack immediate, an app that holds the forward past the
    0.5 s grace: listen says it waits for one forward, then cuts it off, and the cut-off
    is an attempt in the log and a failure in the counts."""
    db = tmp_path / "events.db"
    reported = Reported()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    answers: list[bytes] = []

    async def held(_: SentRequest) -> tuple[int, bytes]:
        await asyncio.sleep(TIMEOUT)
        return 200, b"{}"

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
            conn.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            answers.append(conn.recv(65536))

    async def main(url: str) -> Stats:
        stop = asyncio.Event()
        settings = ListenSettings(
            secrets={}, routes=(Route(None, url),), ack="immediate", forward_timeout=TIMEOUT
        )
        with EventLog(db) as log:
            async with MemorySender(held) as forwarder:
                flow = Pipeline(settings, log, forwarder, [reported])
                original = flow.handle

                async def handle(incoming: Incoming, trailers: tuple[str, ...] = ()) -> Answer:
                    answer = await original(incoming, trailers)
                    asyncio.get_running_loop().call_later(0.1, stop.set)
                    return answer

                flow.handle = handle  # type: ignore[method-assign]
                sender = threading.Thread(target=client)
                await Listener(flow, max_body=4096).serve(
                    sock, on_started=sender.start, grace=0.5, stop=stop, signals=False
                )
                await asyncio.to_thread(sender.join, TIMEOUT)
                return flow.stats

    stats = asyncio.run(main("http://app.test/h"))
    assert answers and answers[0].startswith(b"HTTP/1.1 200 OK\r\n")  # recorded: 200 at once
    assert "draining 1" in reported.lines
    assert (stats.forwarded, stats.failed, stats.cut_off, list(stats.left)) == (0, 1, 1, [1])
    with EventLog(db) as log:
        row = log.get(1)
    assert row is not None and row.status == "failed"
    assert [(a.status, a.error) for a in row.attempts] == [
        (None, "cut off: muxhook stopped before your app answered")
    ]
