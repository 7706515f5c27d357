"""Hostile input, for real: raw bytes against ``muxhook listen``, bad input to every command.

Part A talks to a real listener process over raw sockets, because an HTTP client refuses to
send most of these requests. What answers each one was found by sending it: httptools (llhttp)
parses the bytes, and the listener records every request, even one that does not parse,
before it answers. After every case the same listener must still take a signed POST, answer
200 and forward it byte for byte.

Part B runs the commands as processes with bad input and holds each to the README's
contract: one ``error:`` line on stderr that names the problem, no traceback, and the
documented exit code (1 failed check, 2 bad input, 3 unreachable, 4 environment).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import typing
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from muxhook import signing
from muxhook.records import Incoming, StoredEvent
from muxhook.store import EventLog
from tests.apps import RecordingApp, free_port, serve
from tests.conftest import FIXTURES
from tests.listening import (
    Listener,
    json_lines,
    listen_locally,
    listening,
    muxhook_env,
    run_muxhook,
)

SECRET = "hostile-test-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
MAX_BODY = 4096  # the listener below runs with --max-body 4k
TIMEOUT = 5.0  # every socket operation; no case may hang
ASSET_READY = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
NO_SIGNATURE = (
    "no signature header (looked for Mux-Signature, FastPix-Signature, X-Millicast-Signature, "
    "Webhook-Signature)"
)
UNSIGNED_ANSWER = f"invalid signature: {NO_SIGNATURE}\n".encode()
POSIX = os.name == "posix"


def too_large(size: int) -> str:
    return f"body of {size} bytes is over the {MAX_BODY}-byte limit (raise it with --max-body)"


def event(kind: str = "video.asset.updated") -> bytes:
    """A small Mux event with an id of its own, so it can be found in the app and the log."""
    object_id = f"asset-{uuid.uuid4().hex[:12]}"
    document = {
        "type": kind,
        "id": f"evt-{uuid.uuid4()}",
        "object": {"type": "asset", "id": object_id},
        "data": {"id": object_id},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def event_id(body: bytes) -> str:
    found: str = json.loads(body)["id"]
    return found


def request(
    body: bytes = b"",
    *,
    method: str = "POST",
    target: bytes = b"/webhooks/mux",
    headers: Sequence[tuple[str, str]] = (),
    signed: bool = False,
    version: str = "HTTP/1.1",
    host: bool = True,
    length: bool = True,
    close: bool = True,
) -> bytes:
    """One HTTP/1.1 request as bytes, exactly as given (header values are latin-1)."""
    lines = [method.encode() + b" " + target + b" " + version.encode()]
    if host:
        lines.append(b"Host: 127.0.0.1")
    every = list(headers)
    if signed:
        every += list(signing.sign(body, secret=SECRET).items())
    if length:
        every.append(("Content-Length", str(len(body))))
    if close:
        every.append(("Connection", "close"))
    lines += [f"{name}: {value}".encode("latin-1") for name, value in every]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(
    body: bytes, sizes: Sequence[int], *, signed: bool = False, close: bool = True
) -> bytes:
    """``body`` sent chunked, cut into chunks of ``sizes`` (and the rest, last)."""
    head = request(b"", signed=False, length=False, close=close)[:-2]
    if signed:
        head += b"".join(
            f"{k}: {v}\r\n".encode() for k, v in signing.sign(body, secret=SECRET).items()
        )
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    pieces, rest = [], body
    for size in sizes:
        pieces.append(rest[:size])
        rest = rest[size:]
    pieces.append(rest)
    return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"


# -- a raw HTTP/1.1 connection ----------------------------------------------------------------


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Raw:
    """One TCP connection to the listener; answers are read by hand, with a timeout."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def answer(self) -> Answer:
        """The next answer on this connection (status line, headers, Content-Length body)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise AssertionError(f"the connection closed without an answer: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise AssertionError(f"the answer's body was cut short: {self.buffer!r}")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(int(status_line.split(" ")[1]), headers, body)

    def closed_by_listener(self, wait: float) -> bool:
        """True when the listener closes the connection within ``wait`` seconds."""
        self.sock.settimeout(wait)
        try:
            while self._fill():
                pass
            return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(TIMEOUT)


# -- one listener for part A ------------------------------------------------------------------


@dataclasses.dataclass
class Live:
    listener: Listener
    app: RecordingApp
    db: Path
    port: int


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    home = tmp_path_factory.mktemp("hostile")
    db = home / "events.db"
    with (
        serve(RecordingApp()) as app,
        listen_locally(home, db, "--max-body", "4k", "-f", app.url, env=ENV) as listener,
    ):
        port = int(listener.url.split(":")[2].split("/")[0])
        yield Live(listener, app, db, port)
    assert listener.code == 0, "\n".join(listener.stderr)
    assert not any("Traceback" in line for line in listener.stderr), "\n".join(listener.stderr)


def rows(live: Live) -> list[StoredEvent]:
    """Every row of the log, oldest first (read beside the running listener, as a second
    muxhook process would: each request is committed before it is answered)."""
    with EventLog(live.db) as log:
        return sorted(log.list(limit=None), key=lambda row: row.id)


def last_id(live: Live) -> int:
    return max((row.id for row in rows(live)), default=0)


def rows_after(live: Live, since: int, count: int) -> list[StoredEvent]:
    """The rows newer than ``since`` once there are ``count`` of them and each valid one has
    its forward attempt (written just after the answer, with the next group commit)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = [row for row in rows(live) if row.id > since]
        settled = all(row.attempts for row in found if row.verdict == "valid")
        if (len(found) >= count and settled) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def still_serves(live: Live) -> bytes:
    """A valid signed POST on a new connection is answered 200 and reaches the app as sent."""
    body = event()
    before = len(live.app.requests)
    with Raw(live.port) as conn:
        conn.send(request(body, signed=True))
        answer = conn.answer()
    assert (answer.status, answer.body) == (200, b'{"received":true}')
    assert [r.body for r in live.app.requests[before:]] == [body]
    assert not any("Traceback" in line for line in live.listener.stderr)
    return body


# -- A. one request, one write: what the listener answers and records ---------------------------


@dataclasses.dataclass(frozen=True)
class Logged:
    """What the log must hold for a case."""

    verdict: str
    reason: str | None  # exact, or a regular expression when it starts with "^"
    body: bytes | None  # None: not checked
    method: str = "POST"
    path: str = "/webhooks/mux"
    header: tuple[str, str] | None = None  # one header that must be recorded as it came
    headers_at_least: int = 0


@dataclasses.dataclass(frozen=True)
class Case:
    request: bytes
    status: int
    answer: bytes | None = None  # the answer's exact body (None: not checked)
    closes: bool = True  # the listener closes the connection after answering
    forwarded: bytes | None = None  # the exact body the app receives; None: not forwarded
    logged: Logged | None = None  # None: nothing reaches the log


def not_http(
    name: str,
    data: bytes,
    detail: str | None,
    *,
    reason: str | None = None,
    body: bytes | None = None,
    method: str = "POST",
    path: str = "/webhooks/mux",
) -> typing.Any:
    """A case that does not parse as HTTP/1.1: answered 400 with the parser's reason, the
    connection closed, and logged as rejected; with the bytes as they came as its body, unless
    its head parsed."""
    reason = reason or f"not valid HTTP/1.1 ({detail})"
    logged = Logged("rejected", f"400: {reason}", data if body is None else body, method, path)
    return pytest.param(Case(data, 400, f"{reason}\n".encode(), logged=logged), id=name)


def posted_at(target: bytes, name: str) -> typing.Any:
    """A signed POST to ``target``: answered 200, forwarded as sent, and logged with its path
    exactly as sent (the raw target, never decoded)."""
    sent = request(ASSET_READY, target=target, signed=True)
    logged = dataclasses.replace(SIGNED_OK, path=target.decode("latin-1"))
    return pytest.param(Case(sent, 200, forwarded=ASSET_READY, logged=logged), id=name)


NOT_JSON = b'{"type":"video.asset.ready","data":{"id":'
NON_UTF8 = b'{"type":"video.asset.ready","id":"evt-bin","data":{"passthrough":"\xff\xfe\xc3\x28"}}'
MANY_HEADERS = [(f"X-Flood-{n}", "v") for n in range(5000)]
BIG_VALUE = "a" * 65536
OVER = b"x" * (MAX_BODY + 904)
SIGNED_OK = Logged("valid", None, ASSET_READY)

CASES = [
    # A signature covers bytes, not JSON: a correctly signed body that is not JSON is the
    # platform's exact delivery, so it is recorded as valid and forwarded for the app to judge.
    pytest.param(
        Case(
            request(NOT_JSON, signed=True),
            200,
            forwarded=NOT_JSON,
            logged=Logged("valid", None, NOT_JSON),
        ),
        id="invalid-json-signed",
    ),
    # Unsigned, it is refused 401 (a secret is set) but still kept, for `muxhook log show`.
    pytest.param(
        Case(
            request(NOT_JSON),
            401,
            UNSIGNED_ANSWER,
            logged=Logged("invalid", NO_SIGNATURE, NOT_JSON),
        ),
        id="invalid-json-unsigned",
    ),
    # Bytes that are not UTF-8 are stored and forwarded unchanged: muxhook never decodes a body.
    pytest.param(
        Case(
            request(NON_UTF8, signed=True),
            200,
            forwarded=NON_UTF8,
            logged=Logged("valid", None, NON_UTF8),
        ),
        id="non-utf8-body",
    ),
    # Header values are bytes on the wire; muxhook keeps them, and the names, as sent:
    # latin-1, one character per byte, so nothing is lost or replaced.
    pytest.param(
        Case(
            request(b"{}", headers=[("X-Binary", "\xff\xfe\x80")]),
            401,
            UNSIGNED_ANSWER,
            logged=Logged("invalid", NO_SIGNATURE, b"{}", header=("X-Binary", "\xff\xfe\x80")),
        ),
        id="non-utf8-header-value",
    ),
    # An empty body signs and verifies like any other: valid, forwarded as zero bytes.
    pytest.param(
        Case(request(b"", signed=True), 200, forwarded=b"", logged=Logged("valid", None, b"")),
        id="empty-body-signed",
    ),
    pytest.param(
        Case(request(b""), 401, UNSIGNED_ANSWER, logged=Logged("invalid", NO_SIGNATURE, b"")),
        id="empty-body-unsigned",
    ),
    # Content-Length over --max-body: 413 at once, from the declared length, before a byte of
    # the body is read; the refusal is logged (without the oversized body).
    pytest.param(
        Case(
            request(OVER),
            413,
            (too_large(len(OVER)) + "\n").encode(),
            logged=Logged("rejected", f"413: {too_large(len(OVER))}", b""),
        ),
        id="over-max-body-content-length",
    ),
    # Chunked, there is no length to check up front: the listener counts as it reads and
    # answers 413 once the count passes the limit (what had arrived by then is the count).
    pytest.param(
        Case(
            chunked(OVER, [1024] * 4),
            413,
            logged=Logged("rejected", r"^413: body of \d+ bytes is over the 4096-byte limit", None),
        ),
        id="over-max-body-chunked",
    ),
    # A declared length of 100 GB with nothing sent: answered 413 at once, not after waiting
    # for the body; the connection stays open (RFC 9110 §15.5.14 lets the server either close
    # or keep it; the listener reads and drops what follows without buffering it).
    pytest.param(
        Case(
            request(b"", headers=[("Content-Length", "100000000000")], length=False, close=False),
            413,
            closes=False,
            logged=Logged("rejected", f"413: {too_large(100_000_000_000)}", b""),
        ),
        id="declared-100GB-nothing-sent",
    ),
    # Expect: 100-continue with a length over the limit: the first answer is the 413 itself,
    # with no "100 Continue" before it, so a polite client never sends the body at all.
    pytest.param(
        Case(
            request(
                b"", headers=[("Expect", "100-continue"), ("Content-Length", "5000")], length=False
            ),
            413,
            logged=Logged("rejected", f"413: {too_large(5000)}", b""),
        ),
        id="expect-100-continue-over-limit",
    ),
    # 5,000 headers (~60 KB): well under the 1 MiB head limit (there is no count limit), so
    # the request is refused as unsigned and every header is recorded for inspection.
    pytest.param(
        Case(
            request(b"{}", headers=MANY_HEADERS),
            401,
            UNSIGNED_ANSWER,
            logged=Logged(
                "invalid", NO_SIGNATURE, b"{}", header=("X-Flood-4999", "v"), headers_at_least=5000
            ),
        ),
        id="5000-headers",
    ),
    # A 64 KiB header value: accepted for the same reason, recorded whole.
    pytest.param(
        Case(
            request(b"{}", headers=[("X-Big", BIG_VALUE)]),
            401,
            UNSIGNED_ANSWER,
            logged=Logged("invalid", NO_SIGNATURE, b"{}", header=("X-Big", BIG_VALUE)),
        ),
        id="64KiB-header-value",
    ),
    # A valid chunked body is reassembled: the app gets the same bytes, with a Content-Length.
    pytest.param(
        Case(
            chunked(ASSET_READY, [1, 100, 700], signed=True),
            200,
            forwarded=ASSET_READY,
            logged=SIGNED_OK,
        ),
        id="chunked-valid",
    ),
    # A chunk size that is not hex: llhttp stops (guessing would desynchronise the framing),
    # so the listener answers 400 and closes. The head had parsed: the request is logged with
    # its headers and the body bytes that were whole (none).
    not_http(
        "chunked-malformed",
        request(
            b"zz\r\nabc\r\n0\r\n\r\n", headers=[("Transfer-Encoding", "chunked")], length=False
        ),
        "Invalid character in chunk size",
        body=b"",
    ),
    # Content-Length and Transfer-Encoding together is the request-smuggling shape: refused 400,
    # the connection is closed, and the bytes are logged as they came.
    not_http(
        "content-length-and-chunked",
        request(
            b"0\r\n\r\n",
            headers=[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
            length=False,
        ),
        "Transfer-Encoding can't be present with Content-Length",
    ),
    not_http(
        "negative-content-length",
        request(b"", headers=[("Content-Length", "-1")], length=False),
        "Invalid character in Content-Length",
    ),
    # Webhooks are POSTed: other methods are answered 405 and logged (with their body).
    *(
        pytest.param(
            Case(
                request(b"{}", method=method),
                405,
                f"method {method} not allowed: webhooks are POSTed\n".encode(),
                logged=Logged(
                    "rejected",
                    f"405: method {method} not allowed: webhooks are POSTed",
                    b"{}",
                    method,
                ),
            ),
            id=f"method-{method}",
        )
        for method in ("PUT", "DELETE", "PATCH")
    ),
    pytest.param(
        Case(
            request(b"", method="OPTIONS", target=b"/"),
            405,
            b"method OPTIONS not allowed: webhooks are POSTed\n",
            logged=Logged(
                "rejected",
                "405: method OPTIONS not allowed: webhooks are POSTed",
                b"",
                "OPTIONS",
                "/",
            ),
        ),
        id="method-OPTIONS",
    ),
    # GET answers only the health check on "/"; other paths are 404 and not logged (a GET is
    # never a webhook).
    pytest.param(
        Case(request(b"", method="GET", target=b"/../x", length=False), 404),
        id="GET-dot-dot",
    ),
    # POST takes any path, kept exactly as sent: muxhook never maps a path onto files, and
    # forwards to --forward-to's own path, so "/../x" can traverse nothing.
    posted_at(b"/../x", "POST-dot-dot"),
    posted_at(b"/", "POST-root"),
    posted_at(b"/" + b"p" * 4095, "4KiB-path"),
    posted_at(b"/webhooks/mux?source=mux&a=%20b&a=2", "query-string"),
    # Percent-escapes that are not UTF-8 are logged as sent (the raw path), not decoded.
    posted_at(b"/webhooks/%ff%fe", "percent-escaped-non-utf8-path"),
    # Raw bytes over 0x7f in the request target are not HTTP (RFC 3986 targets are ASCII).
    not_http(
        "raw-non-ascii-path",
        request(b"{}", target=b"/webhooks/\xff\xfe"),
        "Invalid char in url path",
        method="",
        path="",
    ),
    # HTTP/1.0 without Host is still a request (Host is mandatory only in 1.1): it is handled,
    # and the connection is closed after the answer, as HTTP/1.0 has no keep-alive by default.
    pytest.param(
        Case(
            request(ASSET_READY, signed=True, version="HTTP/1.0", host=False, close=False),
            200,
            forwarded=ASSET_READY,
            logged=SIGNED_OK,
        ),
        id="HTTP-1.0-without-Host",
    ),
    # Not HTTP at all: answered 400, the connection closed, and the bytes logged as they came,
    # with a hint when they are a known protocol that is not HTTP/1.1.
    not_http(
        "garbage-tls-client-hello",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)),
        None,
        reason="not HTTP: a TLS handshake (post to http://, or end TLS in your tunnel)",
        method="",
        path="",
    ),
    not_http(
        "garbage-text",
        b"hello, is this thing on?\r\n\r\n",
        "Invalid method encountered",
        method="",
        path="",
    ),
    not_http(
        "garbage-http2-preface",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        None,
        reason="not HTTP/1.1: an HTTP/2 preface (muxhook speaks HTTP/1.1)",
        method="PRI",
        path="*",
    ),
    not_http(
        "header-without-colon",
        b"POST /webhooks/mux HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "Invalid header token",
    ),
    not_http(
        "bare-LF-line-ends",
        b"POST /webhooks/mux HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}",
        "Expected CRLF after version",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_request_is_answered_recorded_and_the_next_one_served(
    live: Live, case: Case
) -> None:
    since = last_id(live)
    forwarded_before = len(live.app.requests)
    with Raw(live.port) as conn:
        conn.send(case.request)
        answer = conn.answer()
        assert answer.status == case.status, answer
        if case.answer is not None:
            assert answer.body == case.answer
        assert conn.closed_by_listener(TIMEOUT if case.closes else 0.3) is case.closes
    forwarded = [r.body for r in live.app.requests[forwarded_before:]]
    assert forwarded == ([] if case.forwarded is None else [case.forwarded])

    next_body = still_serves(live)
    expected = 1 + (case.logged is not None)
    new = rows_after(live, since, expected)
    assert len(new) == expected, [(r.method, r.path, r.verdict, r.reason) for r in new]
    (follow_up,) = [r for r in new if r.event_id == event_id(next_body)]
    assert follow_up.verdict == "valid" and [a.status for a in follow_up.attempts] == [200]
    if case.logged is None:
        return
    (row,) = [r for r in new if r is not follow_up]
    want = case.logged
    assert (row.method, row.path, row.verdict) == (want.method, want.path, want.verdict)
    if want.reason is not None and want.reason.startswith("^"):
        assert row.reason is not None and re.match(want.reason, row.reason), row.reason
    else:
        assert row.reason == want.reason
    if want.body is not None:
        assert row.body == want.body
    if want.header is not None:
        assert want.header in row.headers
    assert len(row.headers) >= want.headers_at_least
    assert len(row.attempts) == (case.forwarded is not None)


# -- A. cases that take more than one write ---------------------------------------------------


def test_a_slow_sender_holds_only_its_own_connection(live: Live) -> None:
    """Slowloris-style: the head dribbled one byte every 50 ms (2.5 s), well inside the
    request deadline, so the slow request is served when complete; what matters is that it
    ties up one connection only: others are served meanwhile."""
    body = event()
    data = request(body, signed=True)
    answers: list[Answer] = []

    def dribble() -> None:
        with Raw(live.port) as conn:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for byte in data[:50]:
                conn.send(bytes([byte]))
                time.sleep(0.05)
            conn.send(data[50:])
            answers.append(conn.answer())

    slow = threading.Thread(target=dribble, daemon=True)
    slow.start()
    time.sleep(0.3)
    still_serves(live)
    assert slow.is_alive(), "the slow request finished early: the check proved nothing"
    slow.join(TIMEOUT)
    assert not slow.is_alive()
    assert answers and answers[0].status == 200
    assert live.app.requests[-1].body == body
    (row,) = [r for r in rows(live) if r.event_id == event_id(body)]
    assert row.verdict == "valid"


def test_a_sender_that_leaves_half_way_through_the_body_is_recorded(live: Live) -> None:
    """Headers and half the body, then the sender goes: nobody to answer, so nothing is sent
    back, but the partial request is logged as cut off (499, nginx's "client closed request")
    with the bytes that did arrive, and never forwarded."""
    body = event()
    data = request(body, signed=True)
    half = len(body) // 2
    forwarded_before = len(live.app.requests)
    with Raw(live.port) as conn:
        conn.send(data[: len(data) - (len(body) - half)])
        time.sleep(0.3)  # the listener has read the first half before the sender leaves
    reason = f"499: the sender disconnected after {half} bytes"
    deadline = time.monotonic() + TIMEOUT
    while not any(r.reason == reason for r in rows(live)) and time.monotonic() < deadline:
        time.sleep(0.02)
    (row,) = [r for r in rows(live) if r.reason == reason]
    assert (row.verdict, row.body) == ("rejected", body[:half])
    assert len(live.app.requests) == forwarded_before
    still_serves(live)


def test_a_connection_that_sends_nothing_leaves_no_trace(live: Live) -> None:
    since = last_id(live)
    with Raw(live.port):
        pass
    still_serves(live)
    assert len(rows_after(live, since, 1)) == 1


def test_pipelined_posts_in_one_write_are_answered_in_order(live: Live) -> None:
    first, second = event(), event()
    with Raw(live.port) as conn:
        conn.send(request(first, signed=True, close=False) + request(second, signed=True))
        answers = [conn.answer(), conn.answer()]
        assert conn.closed_by_listener(TIMEOUT)
    assert [a.status for a in answers] == [200, 200]
    assert [r.body for r in live.app.requests[-2:]] == [first, second]
    logged = {r.event_id: r for r in rows(live)}
    assert logged[event_id(first)].id < logged[event_id(second)].id
    still_serves(live)


@pytest.mark.parametrize("shape", ["content-length", "chunked"])
def test_after_a_413_the_same_connection_serves_the_next_request(live: Live, shape: str) -> None:
    """Refused early, the rest of the oversized body is read and dropped, and the framing
    holds: the next request on the same kept-alive connection is served normally."""
    oversized = (
        request(OVER, close=False)
        if shape == "content-length"
        else chunked(OVER, [1000] * 4, close=False)
    )
    body = event()
    with Raw(live.port) as conn:
        conn.send(oversized)
        assert conn.answer().status == 413
        conn.send(request(body, signed=True))
        answer = conn.answer()
    assert answer.status == 200
    assert live.app.requests[-1].body == body


def test_the_log_commands_read_what_hostile_requests_left(live: Live, tmp_path: Path) -> None:
    """`muxhook log list` and `log show` read rows left by a refused PUT, 5,000 headers, a 4 KiB
    path and a body that is not UTF-8, without failing."""
    for data in (
        request(b"{}", method="PUT"),
        request(b"{}", headers=MANY_HEADERS),
        request(NON_UTF8, target=b"/" + b"q" * 4095, signed=True),
    ):
        with Raw(live.port) as conn:
            conn.send(data)
            conn.answer()
    listed = muxhook(tmp_path, "log", "list", "--db", str(live.db), "--limit", "1000", "--json")
    assert listed.returncode == 0, listed.stderr
    everything = json_lines(listed.stdout)
    assert {"valid", "invalid", "rejected"} <= {row["verdict"] for row in everything}
    newest = everything[0]
    assert newest["path"] == "/" + "q" * 4095
    shown = muxhook(tmp_path, "log", "show", str(newest["id"]), "--db", str(live.db), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["body_base64"]  # not UTF-8: shown as base64, not mangled
    flooded = muxhook(
        tmp_path, "log", "show", str(newest["id"] - 1), "--db", str(live.db), "--json"
    )
    assert len(json.loads(flooded.stdout)["headers"]) >= 5000


def test_an_event_that_cannot_be_saved_is_still_answered_without_a_traceback(
    tmp_path: Path,
) -> None:
    """`--save DIR` that stops being writable mid-session (its provider folder replaced by a
    file): the event is recorded before the save, so it is still answered and shown, and the
    failed copy is one warning."""
    saved = tmp_path / "saved"
    with listen_locally(tmp_path, tmp_path / "e.db", "--save", str(saved), env=ENV) as listener:
        (saved / "mux").write_text("not a folder\n")  # where the copy would go
        port = int(listener.url.split(":")[2].split("/")[0])
        with Raw(port) as conn:
            conn.send(request(ASSET_READY, signed=True))
            answer = conn.answer()
        listener.wait_for_stdout(1, timeout=5)
    assert any("could not write" in line for line in listener.stderr), listener.stderr
    assert answer.status == 200, answer
    assert not any("Traceback" in line for line in listener.stderr), "\n".join(listener.stderr)
    assert any("video.asset.ready" in line for line in listener.stdout)


# -- B. the commands: one line, the documented exit code ---------------------------------------


def muxhook(
    home: Path, *args: str, as_ordinary_user: bool = False
) -> subprocess.CompletedProcess[str]:
    wrapper: list[str] = []
    if as_ordinary_user and hasattr(os, "geteuid") and os.geteuid() == 0:
        # As root (CI), file modes are not enforced: drop CAP_DAC_OVERRIDE, as test_store does.
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
        wrapper = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    return run_muxhook(home, *args, env=ENV, timeout=30, wrapper=wrapper)


def make_bad_inputs(folder: Path) -> Path:
    """A folder of things that are wrong in every way, as the commands will meet them."""
    (folder / "ok.json").write_bytes(ASSET_READY)
    (folder / "bad.json").write_text('{"type": "video.asset.ready", "data": {\n')
    (folder / "empty").mkdir()
    (folder / "notes").mkdir()
    (folder / "notes" / "README.txt").write_text("no fixtures here\n")
    (folder / "a-file").write_text("a regular file, not a folder\n")
    (folder / "locked.json").write_bytes(ASSET_READY)
    (folder / "locked.json").chmod(0o000)
    (folder / "headers.txt").write_text("Mux-Signature: t=1,v1=00\n")
    (folder / "headers.txt").chmod(0o000)
    EventLog(folder / "events.db").close()
    EventLog(folder / "locked.db").close()
    (folder / "locked.db").chmod(0o000)
    (folder / "not-a-db.db").write_bytes(b"these are my notes\n" * 100)
    return folder


@pytest.fixture
def bad_inputs(tmp_path: Path) -> Path:
    return make_bad_inputs(tmp_path)


@dataclasses.dataclass(frozen=True)
class Bad:
    command: str  # split like a shell would; {refused} and {busy} are ports
    code: int
    says: tuple[str, ...]  # each must be in the error line
    before: int  # progress lines printed before the error line (listen's start-up, …)
    ordinary_user: bool  # run without CAP_DAC_OVERRIDE, so that chmod 000 bites


def bad(
    name: str, command: str, code: int, *says: str, before: int = 0, ordinary_user: bool = False
) -> object:
    """One row of the table, as a ``pytest.param`` named ``name``."""
    marks = [pytest.mark.skipif(not POSIX, reason="POSIX modes")] if ordinary_user else []
    return pytest.param(Bad(command, code, says, before, ordinary_user), id=name, marks=marks)


TO = "--to http://127.0.0.1:{refused}/webhooks/mux"  # nothing listens there
LISTEN = "listen --no-tunnel --port 0"
SIGNATURE = "-H 'Mux-Signature: t=1,v1=00'"
DENIED = "cannot read it (Permission denied)"
NO_FIXTURES = "no fixtures (.json, .jpg) or scenarios (.toml) in it"
NEVER_EXPECT = "muxhook never forwards Expect"
NOPE = "unknown provider 'nope'; choose one of: mux, fastpix, millicast"

COMMAND_CASES = [
    bad("sign-missing", "sign missing.json", 2, "missing.json: no such file"),
    bad("sign-unreadable", "sign locked.json", 2, f"locked.json: {DENIED}", ordinary_user=True),
    bad("sign-directory", "sign notes", 2, "notes: is a directory; give one fixture file"),
    bad("sign-invalid-json-set", "sign bad.json --set data.x=1", 2, "bad.json", "need a JSON body"),
    bad("sign-set-in-a-string", "sign ok.json --set type.x=1", 2, "cannot set 'x' inside a str"),
    bad("sign-set-out-of-range", "sign ok.json --set data.tracks.9.id=1", 2, "index 9 is out of"),
    bad("sign-set-no-path", "sign ok.json --set =1", 2, "--set '=1': write PATH=VALUE"),
    bad("sign-unknown-provider", "sign ok.json --provider nope", 2, NOPE),
    bad("sign-unknown-event", "sign video.asset.redy", 2, "did you mean video.asset.ready"),
    bad("verify-missing", f"verify missing.json {SIGNATURE}", 2, "missing.json: cannot read it"),
    bad("verify-unreadable", f"verify locked.json {SIGNATURE}", 2, DENIED, ordinary_user=True),
    bad("verify-directory", f"verify empty {SIGNATURE}", 2, "empty: cannot read it (Is a dir"),
    bad("verify-headers-missing", "verify ok.json --headers-file no.txt", 2, "no.txt: cannot read"),
    bad(
        "verify-headers-unreadable",
        "verify ok.json --headers-file headers.txt",
        2,
        f"headers.txt: {DENIED}",
        ordinary_user=True,
    ),
    bad("verify-unknown-provider", f"verify ok.json {SIGNATURE} --provider nope", 2, NOPE),
    bad("verify-malformed-header", "verify ok.json -H 'no colon'", 2, "is not 'Name: value'"),
    bad("verify-no-header", "verify ok.json", 2, "no signature header: pass --header"),
    bad("trigger-missing", f"trigger missing.json {TO}", 2, "missing.json: no such file"),
    bad("trigger-unreadable", f"trigger locked.json {TO}", 2, DENIED, ordinary_user=True),
    bad("trigger-directory", f"trigger notes {TO}", 2, "notes: is a directory"),
    bad("trigger-invalid-json-set", f"trigger bad.json --set data.x=1 {TO}", 2, "need a JSON"),
    bad("trigger-bad-set-path", f"trigger ok.json --set type.x=1 {TO}", 2, "--set type.x: cannot"),
    bad("trigger-unknown-provider", f"trigger ok.json --provider nope {TO}", 2, NOPE),
    # The "→ POST …" line comes first (the input was good), then what went wrong.
    bad("trigger-unreachable", f"trigger ok.json {TO}", 3, "is your app running", before=1),
    bad("replay-missing", f"replay missing.json {TO}", 2, "missing.json: no such file"),
    bad("replay-unreadable", f"replay locked.json {TO}", 2, DENIED, ordinary_user=True),
    bad("replay-empty-directory", f"replay empty {TO}", 2, f"empty: {NO_FIXTURES}"),
    bad("replay-no-fixtures", f"replay notes {TO}", 2, f"notes: {NO_FIXTURES}"),
    bad("replay-invalid-json-set", f"replay bad.json --set data.x=1 {TO}", 2, "need a JSON body"),
    bad("replay-bad-set-path", f"replay ok.json --set type.x=1 {TO}", 2, "--set type.x: cannot"),
    bad("replay-unknown-provider", f"replay ok.json --provider nope {TO}", 2, NOPE),
    bad("replay-bad-url", "replay ok.json --to localhost:3000", 2, "'localhost:3000'", "http://"),
    bad("replay-expect", f"replay ok.json {TO} -H 'Expect: 100-continue'", 2, NEVER_EXPECT),
    bad("listen-expect", f"{LISTEN} -H 'Expect: 100-continue'", 2, NEVER_EXPECT),
    bad(
        "replay-log-under-a-file",
        f"replay --from-log --db a-file/events.db {TO}",
        2,
        "no event log at a-file/events.db",
    ),
    bad(
        "replay-log-unreadable",
        f"replay --from-log --db locked.db {TO}",
        4,
        "locked.db",
        "fix the permissions",
        ordinary_user=True,
    ),
    # The summary line comes first, then what went wrong.
    bad(
        "replay-unreachable",
        f"replay ok.json {TO}",
        3,
        "did not answer: connection refused",
        before=1,
    ),
    # listen says what it found (4 lines, or 2 before opening the log), then what went wrong.
    bad(
        "listen-port-in-use",
        "listen --no-tunnel --port {busy}",
        4,
        "port {busy} on 127.0.0.1 is in use (another muxhook listen?); pass --port",
        before=4,
    ),
    bad(
        "listen-db-under-a-file",
        f"{LISTEN} --db a-file/events.db",
        4,
        "cannot create the folder a-file for the event log",
        "pass --db PATH",
        before=2,
    ),
    bad(
        "listen-db-directory",
        f"{LISTEN} --db empty",
        4,
        "cannot write the event log at empty: is a directory",
        before=2,
    ),
    bad(
        "listen-db-unreadable",
        f"{LISTEN} --db locked.db",
        4,
        "locked.db",
        "fix the permissions",
        before=2,
        ordinary_user=True,
    ),
    bad(
        "listen-db-not-a-db",
        f"{LISTEN} --db not-a-db.db",
        4,
        "not-a-db.db is not a muxhook event log",
        before=2,
    ),
    bad("listen-unknown-provider", f"{LISTEN} --provider nope", 2, NOPE),
    *(
        bad(f"listen-port-{port}", f"listen --no-tunnel --port {port}", 2, f"--port {port}: give")
        for port in ("99999", "-1", "65536")
    ),
    bad("listen-inspect-port", f"{LISTEN} --inspect-port 65536", 2, "--inspect-port 65536: give"),
    bad("listen-bad-max-body", f"{LISTEN} --max-body lots", 2, "--max-body 'lots'", "512k"),
    bad("listen-bad-forward-to", f"{LISTEN} -f localhost:3000", 2, "'localhost:3000'", "http://"),
    # A missing log is no longer bad input for `log list` (exit 0, "no events yet": see
    # test_log_housekeeping); an event asked for by its id still is.
    bad("log-show-missing", "log show 3 --db missing.db", 2, "no event #3: there is no event log"),
    bad("log-list-under-a-file", "log list --db a-file/e.db", 2, "no event log at a-file/e.db"),
    bad("log-list-directory", "log list --db empty", 4, "empty: is a directory", "pass --db"),
    bad(
        "log-list-unreadable",
        "log list --db locked.db",
        4,
        "locked.db",
        "fix the permissions",
        ordinary_user=True,
    ),
    bad("log-list-not-a-db", "log list --db not-a-db.db", 4, "is not a muxhook event log"),
    bad("log-list-bad-status", "log list --db events.db --status no", 2, "--status 'no': choose"),
    bad("log-list-bad-since", "log list --db events.db --since yesterday", 2, "--since 'yester"),
    bad("log-list-stats-filtered", "log list --db events.db --stats --status ok", 2, "--stats"),
    bad("log-prune-no-before", "log prune --db events.db", 2, "say which events", "--before 30d"),
    bad("log-prune-bad-before", "log prune --db events.db --before soon", 2, "--before 'soon'"),
    bad("log-prune-not-a-db", "log prune --db not-a-db.db --before 1d", 4, "not a muxhook event"),
]


@dataclasses.dataclass
class Runs:
    results: dict[Bad, subprocess.CompletedProcess[str]]
    ports: dict[str, str]


@pytest.fixture(scope="module")
def command_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Every selected command case, run at once (each is a process that exits in < 1 s)."""
    wanted: set[Bad] = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("bad"), Bad):
            wanted.add(callspec.params["bad"])
    folder = make_bad_inputs(tmp_path_factory.mktemp("bad-inputs"))
    with socket.socket() as busy, ThreadPoolExecutor(max_workers=8) as pool:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        ports = {"refused": str(free_port()), "busy": str(busy.getsockname()[1])}

        def run(case: Bad) -> subprocess.CompletedProcess[str]:
            args = shlex.split(case.command.format(**ports))
            return muxhook(folder, *args, as_ordinary_user=case.ordinary_user)

        futures = {case: pool.submit(run, case) for case in wanted}
        return Runs({case: future.result() for case, future in futures.items()}, ports)


def _one_error_line(result: subprocess.CompletedProcess[str], before: int) -> str:
    """The run's stderr is ``before`` progress lines, then exactly one ``error:`` line."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == before + 1, result.stderr
    assert not any(line.startswith("error:") for line in lines[:-1]), result.stderr
    assert lines[-1].startswith("error: "), result.stderr
    return lines[-1]


@pytest.mark.parametrize("bad", COMMAND_CASES)
def test_bad_input_is_one_line_and_the_documented_exit_code(command_runs: Runs, bad: Bad) -> None:
    result = command_runs.results[bad]
    assert result.returncode == bad.code, result.stderr
    line = _one_error_line(result, bad.before)
    for fragment in bad.says:
        assert fragment.format(**command_runs.ports) in line, line


# -- B. bugs found: each shows the failing input; strict, so a fix makes them pass --------------


def test_replay_checks_the_junit_path_before_sending(bad_inputs: Path, app: RecordingApp) -> None:
    result = muxhook(
        bad_inputs, "replay", "ok.json", "--to", app.url, "--junit", "a-file/report.xml"
    )
    assert result.returncode == 2
    assert app.requests == []  # nothing sent
    assert "--junit a-file/report.xml" in _one_error_line(result, 0)


def test_trigger_checks_the_url_before_saying_it_sends(bad_inputs: Path) -> None:
    result = muxhook(bad_inputs, "trigger", "ok.json", "--to", "not-a-url")
    assert result.returncode == 2
    assert "--to 'not-a-url': give an http:// or https:// URL" in _one_error_line(result, 0)


@pytest.mark.parametrize(
    ("option", "command"),
    [
        ("--forward-to", "listen --no-tunnel --no-inspect --port 0 -f {url}"),
        ("--to", "trigger video.asset.ready --to {url}"),
        ("--to", "replay video.asset.ready --to {url}"),
        ("--to", "log replay 1 --db events.db --to {url}"),
    ],
    ids=["listen", "trigger", "replay", "log-replay"],
)
@pytest.mark.parametrize("port", ["99999", "65536", "0", "http"])
def test_a_url_with_an_invalid_port_is_one_line(
    bad_inputs: Path, option: str, command: str, port: str
) -> None:
    with EventLog(bad_inputs / "events.db") as log:  # event 1 is there to send
        log.record(Incoming(time.time(), "POST", "/webhooks/mux", [], ASSET_READY, ""))
    url = f"http://localhost:{port}/x"
    result = muxhook(bad_inputs, *shlex.split(command.format(url=url)))
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result, 0)
    assert line == f"error: {option} {url!r} has an invalid port: give one from 1 to 65535"


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_read_only_log_can_be_listed(bad_inputs: Path) -> None:
    (bad_inputs / "events.db").chmod(0o444)
    result = muxhook(
        bad_inputs, "log", "list", "--db", "events.db", "--json", as_ordinary_user=True
    )
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout) == []


def test_listen_checks_the_save_folder_at_start(bad_inputs: Path) -> None:
    with listening(
        "--port",
        "0",
        "--no-tunnel",
        "--db",
        str(bad_inputs / "events.db"),
        "--save",
        str(bad_inputs / "a-file" / "saved"),
        home=bad_inputs,
        env=ENV,
        ready=False,
    ) as listener:
        deadline = time.monotonic() + 20
        while listener.process.poll() is None and time.monotonic() < deadline:
            if any(line.startswith("Ready:") for line in listener.stderr):
                break
            time.sleep(0.02)
        code = listener.process.poll()
    assert code == 4, "\n".join(listener.stderr)
    assert "a-file" in listener.stderr[-1] and listener.stderr[-1].startswith("error: ")


# -- B. the README's exit-code table, row by row, against real runs ---------------------------

README = Path(__file__).resolve().parent.parent / "README.md"
#: The commands as the table names them ("`log` commands" is every log subcommand).
EVERY = {"sign", "verify", "trigger", "events", "listen", "inspect", "replay", "log",
         "log replay", "endpoints", "ngrok install"}  # fmt: skip


def exit_code_table() -> dict[int, set[str]]:
    """Each code of the README's table and the commands its last column names."""
    section = README.read_text(encoding="utf-8").split("\n## Exit codes\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows: dict[int, set[str]] = {}
    for line in section.splitlines():
        match = re.fullmatch(r"\| (\d+) \| .+ \| (.+) \|", line)
        if match is None:
            continue
        named = match.group(2)
        if named == "every command":
            commands = set(EVERY)
        elif named.startswith("every command but "):
            commands = EVERY - set(re.findall(r"`([^`]+)`", named))
        else:
            commands = set(re.findall(r"`([^`]+)`", named))
        rows[int(match.group(1))] = commands
    return rows


def fails(_: object) -> tuple[int, bytes]:
    return 500, b"KeyError: 'passthrough'"


REFUSED = "http://127.0.0.1:{refused}/webhooks/mux"
#: For each code, one real run per command the table names for it: (command, argv).
#: {app} answers 500; {refused} has nothing listening; {busy} is a port in use.
RUNS: dict[int, list[tuple[str, str]]] = {
    0: [
        ("sign", f"sign ok.json --secret {SECRET}"),
        ("verify", "verify signed.json --headers-file signed.headers"),
        ("trigger", "trigger ok.json --to {ok}"),
        ("events", "events video.asset.ready"),
        ("replay", "replay ok.json --to {ok}"),
        ("log", "log list --db new.db"),  # a new machine: no events yet
        ("log replay", "log replay --failed --db new.db"),
    ],
    1: [
        ("verify", f"verify ok.json {SIGNATURE} --secret {SECRET}"),
        ("trigger", "trigger ok.json --to {app}"),
        ("replay", "replay ok.json --to {app}"),
        ("log replay", "log replay 1 --to {app} --db one.db"),
    ],
    3: [
        ("trigger", f"trigger ok.json --to {REFUSED}"),
        ("replay", f"replay ok.json --to {REFUSED}"),
        ("log replay", f"log replay 1 --to {REFUSED} --db one.db"),
    ],
    2: [
        ("sign", "sign missing.json"),
        ("verify", "verify ok.json"),
        ("trigger", "trigger ok.json --to localhost:3000"),
        ("events", "events --provider nope"),
        ("listen", "listen --no-tunnel --provider nope"),
        ("inspect", "inspect --port 99999 --db events.db"),
        ("replay", "replay missing.json --to {ok}"),
        ("log", "log show 3 --db new.db"),
        ("log replay", "log replay --db one.db"),
        ("endpoints", "endpoints update some-id"),
        ("ngrok install", "ngrok install --no-such-option"),
    ],
    4: [
        ("listen", "listen --no-tunnel --port {busy}"),
        ("inspect", "inspect --db events.db --port {busy}"),
        ("replay", f"replay --from-log --db not-a-db.db --to {REFUSED}"),
        ("log", "log list --db not-a-db.db"),
        ("endpoints", "endpoints list"),
        ("ngrok install", "ngrok install --path a-file/ngrok"),
    ],
}
#: Runs this table leaves to the tests that set them up: a listener stopped by Ctrl-C
#: (test_listen), the inspector serving (test_inspector), the Mux API (test_muxapi), a
#: download (test_tunnel), and Ctrl-C for the rest of 130 (test_ctrl_c_is_exit_130 below).
ELSEWHERE = {0: {"listen", "inspect", "endpoints", "ngrok install"}}


@pytest.mark.parametrize("code", sorted(RUNS))
def test_each_row_of_the_exit_code_table_is_what_the_commands_return(
    bad_inputs: Path, code: int
) -> None:
    table = exit_code_table()
    assert set(table) == {0, 1, 2, 3, 4, 130}
    ran = {command for command, _ in RUNS[code]} | ELSEWHERE.get(code, set())
    assert ran == table[code], "the table names other commands than these runs"
    with EventLog(bad_inputs / "one.db") as log:
        log.record(Incoming(time.time(), "POST", "/webhooks/mux", [], ASSET_READY, ""))
    signed = signing.sign(ASSET_READY, secret=SECRET)
    (bad_inputs / "signed.json").write_bytes(ASSET_READY)
    (bad_inputs / "signed.headers").write_text(
        "".join(f"{name}: {value}\n" for name, value in signed.items())
    )
    env = {
        # The Mux API of `endpoints` at a port where nothing listens.
        "MUX_TOKEN_ID": "token-id",
        "MUX_TOKEN_SECRET": "token-secret",
        "MUX_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    with serve(RecordingApp(fails)) as app, serve(RecordingApp()) as ok, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        ports = {"app": app.url, "ok": ok.url, "refused": str(free_port())}
        ports["busy"] = str(busy.getsockname()[1])
        for command, line in RUNS[code]:
            args = shlex.split(line.format(**ports))
            result = run_muxhook(bad_inputs, *args, env={**ENV, **env}, timeout=30)
            assert "Traceback" not in result.stderr, result.stderr
            assert result.returncode == code, f"{command}: {result.stderr}"


@pytest.mark.skipif(not POSIX, reason="SIGINT as a terminal sends it")
@pytest.mark.parametrize("command", ["replay", "trigger"])
def test_ctrl_c_is_exit_130(bad_inputs: Path, command: str) -> None:
    """The table's 130: a command stopped by Ctrl-C while it waits."""
    assert command in exit_code_table()[130]
    with serve(RecordingApp(delay=20)) as slow:
        args = {
            "replay": ["replay", "ok.json", "--to", REFUSED.format(refused=free_port()),
                       "--wait-for-app", "30"],
            "trigger": ["trigger", "ok.json", "--to", slow.url, "--timeout", "30"],
        }[command]  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "muxhook", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=muxhook_env(bad_inputs, ENV),
            cwd=bad_inputs,
        )
        assert process.stderr is not None
        first = process.stderr.readline()  # it has started waiting
        assert first.startswith(("waiting up to 30 s for", "→ POST")), first
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
    assert process.returncode == 130, first + rest
    assert "Traceback" not in rest
