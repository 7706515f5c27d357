"""muxhook's forwarding client (``muxhook.httpclient``) against every app server.

listen never forwards ``Expect``, so through listen only Node and ``http.server`` send a
1xx. Here the client sends ``Expect: 100-continue`` itself, so every server answers
``100 Continue`` (werkzeug twice, hypercorn with headers) before its final answer, on a
pooled connection that the next request reuses.
"""

from __future__ import annotations

import asyncio

import pytest

from muxhook.httpclient import ConnectionFailed, Http1Pool, Response
from tests.conformance.conftest import Peers
from tests.conformance.events import BOUND, make_event
from tests.conformance.kinds import LYING_LENGTH, answer_body
from tests.conformance.peers import SERVERS


@pytest.mark.parametrize("server", list(SERVERS))
def test_client_reads_past_100_continue(server: str, peers: Peers) -> None:
    """The final answer is the one returned, and the pooled connection is left at its end:
    the next request gets its own answer, not a leftover."""
    app = peers.apps[server]
    events = [make_event(f"conformance.{server}.client") for _ in range(3)]
    asked = [("Expect", "100-continue"), ("Content-Type", "application/json")]

    async def post_all() -> list[Response]:
        pool = Http1Pool()
        try:
            return [
                await pool.post(f"{app.url}/{kind}", event.body, asked, timeout=BOUND)
                for kind, event in zip(("length", "error", "nocontent"), events, strict=True)
            ]
        finally:
            await pool.close()

    answers = asyncio.run(post_all())

    assert [Response(answer.status, answer.body) for answer in answers] == [
        Response(200, answer_body(server, "length")),
        Response(500, answer_body(server, "error")),
        Response(204, b""),
    ]
    for answer in answers:  # the final answer's headers, none of an interim one's
        assert answer.headers and not any(name.lower() == "link" for name, _ in answer.headers)
    for event in events:
        (record,) = app.received(event.sha256)
        assert record["expect"] == "100-continue"


#: Django's runserver keeps the connection open after the short body (a forward then times
#: out: test_app_servers); every other server closes it.
CLOSING = [name for name in SERVERS if name != "django"]


@pytest.mark.parametrize("server", CLOSING)
def test_client_refuses_a_short_body(server: str, peers: Peers) -> None:
    """A body that ends before its Content-Length is no answer: ConnectionFailed."""
    event = make_event(f"conformance.{server}.client")
    url = f"{peers.apps[server].url}/lying"

    async def post() -> Response:
        pool = Http1Pool()
        try:
            return await pool.post(url, event.body, [], timeout=BOUND)
        finally:
            await pool.close()

    with pytest.raises(ConnectionFailed) as failure:
        asyncio.run(post())
    assert str(failure.value) == (
        f"incomplete answer from your app: the connection closed after 10 of "
        f"{LYING_LENGTH} body bytes"
    )


def test_client_refuses_101_to_a_plain_post() -> None:
    """No real app switches protocols on a POST that offered none; one that did would leave
    the connection speaking something else: refused, and the connection dropped."""
    import socket
    import threading

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer_101() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                    b"Connection: Upgrade\r\n\r\n\x00\x00\x00"
                )
                conn.recv(65536)  # until the client closes

        thread = threading.Thread(target=answer_101, daemon=True)
        thread.start()

        async def post() -> Response:
            pool = Http1Pool()
            try:
                return await pool.post(f"http://127.0.0.1:{port}/", b"{}", [], timeout=BOUND)
            finally:
                await pool.close()

        with pytest.raises(ConnectionFailed, match="101 Switching Protocols"):
            asyncio.run(post())
        thread.join(BOUND)
