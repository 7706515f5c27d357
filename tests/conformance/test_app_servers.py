"""Every app server × every way it answers, through one listen process.

A signed event goes to listen; listen records it and forwards it to the app route its
type names; the app answers as its kind says. Each case checks the bytes the app read,
the status and body the sender got, that the app got the event once, and the verdict
and outcome in the event log. Nothing may hang: every exchange is bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import NamedTuple

import httpx
import pytest

from tests.conformance.conftest import IDLE_SECONDS, IDLE_SERVERS, Listens, Peers, event_type
from tests.conformance.events import BOUND, Event, logged, make_event
from tests.conformance.kinds import answer_body
from tests.conformance.peers import SERVERS, AppServer
from tests.conformance.senders import Reply, curl_expect


class Expected(NamedTuple):
    status: int  # what the sender sees, and the attempt's status (502/504: none)
    delivered: bool  # what the log says: ok, or failed
    error: str | None = None  # words in the attempt's error, when there was no answer


EXPECTED = {
    "length": Expected(200, True),
    "chunked": Expected(200, True),
    "close": Expected(200, True),
    "nocontent": Expected(204, True),
    "error": Expected(500, False),
    "slow": Expected(200, True),
    "interim": Expected(200, True),
    "reset": Expected(502, False, "reset"),
    "lying": Expected(502, False, "incomplete answer from your app"),
    "timeout": Expected(504, False, "timed out"),
}
#: Django's runserver keeps the connection open after a short body: the forward times out.
#: The short-timeout listener takes these, and the app that answers too late.
EXPECTED_THERE = {("django", "lying"): Expected(504, False, "timed out")}
SHORT = {("django", "lying")} | {(name, "timeout") for name in SERVERS}
CASES = [
    pytest.param(name, kind, id=f"{name}-{kind}")
    for name, spec in SERVERS.items()
    for kind in EXPECTED
    if kind in spec.kinds
]
SENT: list[tuple[AppServer, Event]] = []  # every event the module sent, for the last test


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=BOUND) as client:
        yield client


def post(client: httpx.Client, url: str, event: Event) -> Reply:
    response = client.post(url, content=event.body, headers=event.headers)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Reply(response.status_code, headers, response.content)


def delivered_once(app: AppServer, event: Event) -> None:
    """The app read exactly the event's bytes, once, without an Expect header."""
    SENT.append((app, event))
    records = app.received(event.sha256)
    assert len(records) == 1, f"{app.name} got the event {len(records)} times"
    assert records[0]["size"] == len(event.body)
    assert records[0]["expect"] is None, "listen forwarded Expect"
    assert records[0]["signature"] == event.headers["Mux-Signature"]


@pytest.mark.parametrize(("server", "kind"), CASES)
def test_app_answer(
    server: str, kind: str, peers: Peers, listens: Listens, client: httpx.Client
) -> None:
    """The app's answer of this kind reaches the sender as it should, and the log says so."""
    listen = listens.short if (server, kind) in SHORT else listens.app
    event = make_event(event_type(server, kind))
    expected = EXPECTED_THERE.get((server, kind), EXPECTED[kind])

    reply = post(client, listen.url, event)

    delivered_once(peers.apps[server], event)
    answer = b"" if kind == "nocontent" else answer_body(server, kind)
    assert reply.status == expected.status, reply
    if expected.error is None:
        assert reply.body == answer
    else:
        assert expected.error in json.loads(reply.body)["error"].lower()
    if expected.status in (204, 304):
        assert "content-length" not in reply.headers
        assert "transfer-encoding" not in reply.headers
    row = logged(listen.db, event)
    assert row.verdict == "valid"
    assert row.body == event.body
    assert len(row.attempts) == 1
    attempt = row.attempts[0]
    if expected.error is None:
        assert attempt.status == expected.status
        assert attempt.response_start == answer
    else:
        assert attempt.status is None
        assert attempt.error is not None and expected.error in attempt.error.lower()
    assert row.status == ("ok" if expected.delivered else "failed")


@pytest.mark.parametrize("server", list(SERVERS))
def test_sender_expecting_100_continue(server: str, peers: Peers, listens: Listens) -> None:
    """curl with ``Expect: 100-continue``: listen answers the 100 itself, never forwards
    Expect, and the sender gets the app's final answer."""
    event = make_event(event_type(server, "expect"))

    (reply,) = curl_expect(listens.app.url, [event])

    delivered_once(peers.apps[server], event)
    assert reply.status == 200, reply
    assert reply.body == answer_body(server, "length")
    row = logged(listens.app.db, event)
    assert [a.status for a in row.attempts] == [200]
    assert row.status == "ok"


@pytest.mark.parametrize("server", list(SERVERS))
def test_sender_expecting_100_continue_acked_at_once(
    server: str, peers: Peers, listens: Listens
) -> None:
    """The same with ``--ack immediate``: one delivery, one attempt, and no retry."""
    event = make_event(event_type(server, "expect"))

    (reply,) = curl_expect(listens.immediate.url, [event])

    assert reply.status == 200, reply
    assert json.loads(reply.body) == {"recorded": True}
    row = logged(listens.immediate.db, event)
    assert [(a.status, a.error) for a in row.attempts] == [(200, None)]
    assert row.status == "ok"
    delivered_once(peers.apps[server], event)


class IdleRound(NamedTuple):
    events: tuple[Event, Event]
    replies: tuple[Reply, Reply]
    closed_by_app: bool  # a probe connection opened with the first event was closed


@pytest.fixture(scope="module")
def idle_rounds(peers: Peers, listens: Listens, client: httpx.Client) -> dict[str, IdleRound]:
    """An event to every quick-closing server, a pause past its idle timeout, then a second
    event: listen's pooled connection was closed by the app in between. One pause serves
    every server."""
    import socket
    from contextlib import ExitStack

    first, probes = {}, {}
    with ExitStack() as closing:  # the probes are closed whatever fails
        for name, server in peers.idle.items():
            event = make_event(f"{event_type(name, 'idle')}.1")
            first[name] = (event, post(client, listens.app.url, event))
            host, port = server.url.removeprefix("http://").split(":")
            probe = closing.enter_context(
                socket.create_connection((host, int(port)), timeout=BOUND)
            )
            head = f"POST /length HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 0\r\n\r\n"
            probe.sendall(head.encode())
            probes[name] = probe
        time.sleep(IDLE_SECONDS + 2.0)  # waitress sweeps idle connections once a second
        rounds = {}
        for name in peers.idle:
            probe = probes[name]
            probe.settimeout(0.5)
            seen = b""
            try:
                while chunk := probe.recv(65536):
                    seen += chunk
                closed = seen.startswith(b"HTTP/1.1 200")
            except (TimeoutError, OSError):
                closed = False
            event = make_event(f"{event_type(name, 'idle')}.2")
            reply = post(client, listens.app.url, event)
            rounds[name] = IdleRound((first[name][0], event), (first[name][1], reply), closed)
    return rounds


@pytest.mark.parametrize("server", IDLE_SERVERS)
def test_app_closed_the_idle_connection(
    server: str, idle_rounds: dict[str, IdleRound], peers: Peers, listens: Listens
) -> None:
    """The app closing a kept-alive connection between events costs nothing: the next
    event goes on a new connection, once."""
    result = idle_rounds[server]
    assert result.closed_by_app, f"{server} kept an idle connection open: the case is void"
    for event, reply in zip(result.events, result.replies, strict=True):
        assert reply.status == 200, reply
        assert reply.body == answer_body(server, "length")
        delivered_once(peers.idle[server], event)
        row = logged(listens.app.db, event)
        assert [(a.status, a.error) for a in row.attempts] == [(200, None)]


def test_no_event_reached_an_app_twice() -> None:
    """After everything above: no late second copy of any event reached any app."""
    time.sleep(0.5)  # lets a late copy, if any, be read from the apps' output
    twice = [
        f"{app.name}: {event.event_type}"
        for app, event in SENT
        if len(app.received(event.sha256, timeout=0)) != 1
    ]
    assert not twice
