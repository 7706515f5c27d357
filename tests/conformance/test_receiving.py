"""What listen does with the unusual requests real senders make, on raw sockets.

An h2c upgrade offer (what ``curl --http2`` sends on http://), chunked trailers, two
signature headers and an absolute-form request target.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from muxhook.providers.mux import PROVIDER as mux
from tests.conformance.conftest import Listens, Peers, event_type
from tests.conformance.events import BOUND, SECRET, Event, logged, make_event
from tests.conformance.kinds import answer_body
from tests.conformance.senders import _Shared, curl_expect
from tests.listening import Listener, listen_locally, run_muxhook
from tests.mux_judge import Judge, sdk_receiver

H2C = [
    ("Connection", "Upgrade, HTTP2-Settings"),
    ("Upgrade", "h2c"),
    ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
]


class Answer(NamedTuple):
    status: int
    body: bytes


def request(
    url: str,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    *,
    target: str | None = None,
    chunked: Sequence[bytes] | None = None,
    trailers: Sequence[tuple[str, str]] = (),
    method: str = "POST",
) -> bytes:
    """One request's bytes, written by hand: a body by length, or in ``chunked`` pieces
    followed by ``trailers``."""
    path = "/" + url.split("/", 3)[3]
    host = url.split("/")[2]
    lines = [f"{method} {target or path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if chunked is None:
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    lines.append("Transfer-Encoding: chunked")
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    for piece in chunked:
        payload += b"%x\r\n%s\r\n" % (len(piece), piece)
    tail = "".join(f"{name}: {value}\r\n" for name, value in trailers)
    return payload + b"0\r\n" + tail.encode("latin-1") + b"\r\n"


def exchange(url: str, payload: bytes, answers: int = 1) -> list[Answer]:
    """Write ``payload`` on one connection and read ``answers`` answers."""
    host, port = url.split("/")[2].split(":")
    with (
        socket.create_connection((host, int(port)), timeout=BOUND) as sock,
        sock.makefile("rb") as reader,  # the socket is closed only once this is
    ):
        sock.sendall(payload)
        found = []
        for _ in range(answers):
            response = http.client.HTTPResponse(_Shared(reader))  # type: ignore[arg-type]
            response.begin()
            found.append(Answer(response.status, response.read()))
        return found


def halves(event: Event) -> list[bytes]:
    middle = len(event.body) // 2
    return [event.body[:middle], event.body[middle:]]


def signed(event: Event) -> list[tuple[str, str]]:
    return list(event.headers.items())


# -- h2c --------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_h2c_upgrade_offer_is_served_as_http11(
    framing: str, peers: Peers, listens: Listens
) -> None:
    """The offer is ignored (RFC 9110 §7.8), the whole body read, and the next request on
    the connection served too."""
    url = listens.app.url
    first, second = (make_event(event_type("node", "length")) for _ in range(2))
    pieces = halves(first) if framing == "chunked" else None
    payload = request(url, first.body, [*H2C, *signed(first)], chunked=pieces)
    payload += request(url, second.body, signed(second))

    answers = exchange(url, payload, answers=2)

    assert answers == [Answer(200, answer_body("node", "length"))] * 2
    for event in (first, second):
        row = logged(listens.app.db, event)
        assert row.body == event.body
        assert row.verdict == "valid"
        assert len(peers.apps["node"].received(event.sha256)) == 1


def test_websocket_upgrade_offer_gets_the_health_answer(listens: Listens) -> None:
    base = listens.app.url.rsplit("/", 2)[0]
    offer = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
    payload = request(base + "/", b"", offer, method="GET")
    payload += request(base + "/", b"", [], method="GET")

    answers = exchange(base + "/", payload, answers=2)

    assert [a.status for a in answers] == [200, 200]


# -- trailers ----------------------------------------------------------------------------


def test_signature_only_in_a_trailer_does_not_count(listens: Listens, peers: Peers) -> None:
    event = make_event(event_type("node", "length"))
    headers = [(k, v) for k, v in event.headers.items() if k != "Mux-Signature"]
    trailer = [("Mux-Signature", event.headers["Mux-Signature"])]
    payload = request(listens.app.url, event.body, headers, chunked=halves(event), trailers=trailer)

    (answer,) = exchange(listens.app.url, payload)

    assert answer.status == 401
    row = logged(listens.app.db, event, attempts=0)
    assert row.verdict == "invalid"
    assert row.reason is not None
    assert "Mux-Signature came as a chunked trailer" in row.reason, row.reason
    assert "Mux-Signature" not in {name for name, _ in row.headers}
    assert row.body == event.body
    assert not peers.apps["node"].received(event.sha256, timeout=0.2)


def test_trailers_are_never_merged_into_headers(listens: Listens, peers: Peers) -> None:
    event = make_event(event_type("node", "length"))
    forged = [("Mux-Signature", "t=1,v1=" + "0" * 64), ("X-Trailer-Note", "late")]
    payload = request(
        listens.app.url, event.body, signed(event), chunked=halves(event), trailers=forged
    )

    (answer,) = exchange(listens.app.url, payload)

    assert answer == Answer(200, answer_body("node", "length"))
    row = logged(listens.app.db, event)
    assert row.verdict == "valid"
    assert [v for k, v in row.headers if k == "Mux-Signature"] == [event.headers["Mux-Signature"]]
    assert "X-Trailer-Note" not in {name for name, _ in row.headers}
    (record,) = peers.apps["node"].received(event.sha256)
    assert record["signature"] == event.headers["Mux-Signature"]


# -- absolute-form -----------------------------------------------------------------------


def test_absolute_form_target_is_recorded_as_its_path(listens: Listens, peers: Peers) -> None:
    url = listens.app.url
    event = make_event(event_type("node", "length"))
    absolute = url + "?source=absolute-form"
    payload = request(url, event.body, signed(event), target=absolute)
    base = url.rsplit("/", 2)[0]
    payload += request(url, b"", [], target=base + "/", method="GET")

    answers = exchange(url, payload, answers=2)

    assert answers[0] == Answer(200, answer_body("node", "length"))
    assert answers[1].status == 200  # the health check, asked in absolute form
    row = logged(listens.app.db, event)
    assert row.path == "/webhooks/mux?source=absolute-form"
    assert len(peers.apps["node"].received(event.sha256)) == 1


# -- a recorded Expect ------------------------------------------------------------------


def test_a_recorded_expect_is_never_sent_again(
    listens: Listens, peers: Peers, tmp_path: Path
) -> None:
    """An event that came with ``Expect: 100-continue`` is recorded with it, as it came;
    neither ``log replay`` nor ``replay --from-log`` sends it to the app."""
    event = make_event(event_type("node", "replayed"))
    (reply,) = curl_expect(listens.app.url, [event])
    assert reply.status == 200, reply
    row = logged(listens.app.db, event)
    assert ("Expect", "100-continue") in row.headers
    target = f"{peers.apps['node'].url}/length"
    db = str(listens.app.db)
    env = {"MUX_WEBHOOK_SECRET": SECRET}

    again = run_muxhook(tmp_path, "log", "replay", str(row.id), "--to", target, "--db", db, env=env)
    assert again.returncode == 0, again.stderr
    ci = run_muxhook(
        tmp_path,
        "replay",
        "--from-log",
        "--type",
        event.event_type,
        "--to",
        target,
        "--db",
        db,
        env=env,
    )
    assert ci.returncode == 0, ci.stderr

    records = peers.apps["node"].received(event.sha256, count=3)
    assert [record["expect"] for record in records] == [None, None, None]


# -- two signature headers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_listen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Listener, Path]]:
    """listen forwarding everything, even what it finds invalid, to a Node app that
    verifies with the official SDK: the app's answer is the SDK's verdict."""
    home = tmp_path_factory.mktemp("listen-sdk")
    db = home / "events.db"
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    with (
        sdk_receiver(SECRET) as receiver,
        listen_locally(
            home, db, "--forward-to", receiver, "--forward-invalid", env=env
        ) as listener,
    ):
        yield listener, db


def _pairs(body: bytes, now: int) -> dict[str, tuple[str, str]]:
    def at(t: int) -> str:
        return mux.sign(body, secret=SECRET, timestamp=t)["Mux-Signature"]

    forged = f"t={now},v1={'0' * 64}"
    return {
        "valid-then-forged": (at(now), forged),
        "forged-then-valid": (forged, at(now)),
        "forged-earlier-then-valid": (f"t={now - 5},v1={'0' * 64}", at(now)),
        "valid-at-two-times": (at(now), at(now - 60)),
        "stale-then-valid": (at(now - 3600), at(now)),
        "valid-twice": (at(now), at(now)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "valid-then-forged",
        "forged-then-valid",
        "forged-earlier-then-valid",
        "valid-at-two-times",
        "stale-then-valid",
        "valid-twice",
    ],
)
def test_two_signature_headers_are_judged_as_the_sdk_judges_them(
    case: str, sdk_listen: tuple[Listener, Path], sdk: Judge
) -> None:
    """Node hands an app repeated headers joined with ", "; muxhook decides on that value,
    as the official SDK does, and says on the event's line that there were two."""
    listener, db = sdk_listen
    event = make_event(f"conformance.signatures.{case}")
    now = int(time.time())
    first, second = _pairs(event.body, now)[case]
    headers = [("Content-Type", "application/json"), ("Mux-Signature", first)]
    headers.append(("Mux-Signature", second))

    (answer,) = exchange(listener.url, request(listener.url, event.body, headers))

    sdk_says = sdk.verify(event.body, f"{first}, {second}", SECRET, now)["ok"]
    row = logged(db, event)
    assert (row.verdict == "valid") is sdk_says, row.reason
    assert (row.attempts[0].status == 200) is sdk_says  # the SDK, behind Node's http
    assert answer.status == (200 if sdk_says else 400)  # the SDK receiver's, relayed
    lines = listener.wait_for_stdout(1)
    deadline = time.monotonic() + BOUND
    while not any(re.search(rf"#{row.id}\b", line) for line in lines):
        assert time.monotonic() < deadline, lines
        time.sleep(0.02)
        lines = list(listener.stdout)
    (line,) = [line for line in lines if re.search(rf"#{row.id}\b", line)]
    assert "(2 signature headers)" in line
