"""The app servers answer as the matrix says they do, checked on the wire.

Without this, a server that quietly answered ``chunked`` with a length, or never sent
``100 Continue``, would make its matrix cases prove nothing.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.conformance.conftest import Peers
from tests.conformance.events import BOUND
from tests.conformance.kinds import LYING_BODY, LYING_LENGTH
from tests.conformance.peers import SERVERS

SHAPED = ("length", "chunked", "close", "nocontent", "interim", "reset", "lying")
CASES = [
    pytest.param(name, kind, id=f"{name}-{kind}")
    for name, spec in SERVERS.items()
    for kind in SHAPED
    if kind in spec.kinds
]


class Wire:
    """What came back on one connection: bytes, and how the connection ended."""

    def __init__(self, data: bytes, ending: str) -> None:
        self.data = data
        self.ending = ending  # "close", "reset" or "open"

    def heads(self) -> list[str]:
        """The head of every answer, in order (interim ones first)."""
        found, rest = [], self.data
        while rest.startswith(b"HTTP/"):
            head, _, rest = rest.partition(b"\r\n\r\n")
            text = head.decode("latin-1").lower()
            found.append(text)
            if not text.split()[1].startswith("1"):
                break
        return found


def exchange(url: str, kind: str, *, expect: bool = False, settle: float = 0.5) -> Wire:
    """POST /kind on a fresh connection; read until the server closes it, or until it has
    said nothing for ``settle`` seconds."""
    host, port = url.removeprefix("http://").split(":")
    body = b'{"probe":true}'
    head = (
        f"POST /{kind} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        + ("Expect: 100-continue\r\n" if expect else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    data, ending = b"", "open"
    with socket.create_connection((host, int(port)), timeout=BOUND) as sock:
        sock.sendall(head.encode() + body)
        sock.settimeout(settle)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if data:
                    break
                continue
            except ConnectionResetError:
                ending = "reset"
                break
            if not chunk:
                ending = "close"
                break
            data += chunk
    return Wire(data, ending)


@pytest.mark.parametrize(("server", "kind"), CASES)
def test_server_answers_as_claimed(server: str, kind: str, peers: Peers) -> None:
    wire = exchange(peers.apps[server].url, kind)
    heads = wire.heads()
    if kind == "reset":
        assert wire.ending == "reset" and not wire.data
        return
    final = heads[-1]
    if kind == "interim":
        assert [h.split()[1] for h in heads] == ["100", "103", "200"]
    elif kind == "nocontent":
        assert final.split()[1] == "204"
    elif kind == "length":
        assert "\r\ncontent-length:" in final and "transfer-encoding" not in final
    elif kind == "chunked":
        assert "\r\ntransfer-encoding: chunked" in final and wire.data.endswith(b"0\r\n\r\n")
    elif kind == "close":
        assert "content-length" not in final and "transfer-encoding" not in final
        assert wire.ending == "close"
    elif kind == "lying":
        assert f"\r\ncontent-length: {LYING_LENGTH}" in final
        assert wire.data.endswith(b"\r\n\r\n" + LYING_BODY)
        assert wire.ending == ("open" if server == "django" else "close")


@pytest.mark.parametrize("server", list(SERVERS))
def test_server_sends_100_continue_when_asked(server: str, peers: Peers) -> None:
    """Every HTTP/1.1 server here answers ``Expect: 100-continue`` with a 100 (werkzeug with
    two), then the final answer; http.server speaking HTTP/1.0 sends no 1xx."""
    heads = exchange(peers.apps[server].url, "length", expect=True).heads()
    statuses = [head.split()[1] for head in heads]
    interim = {"stdlib10": [], "werkzeug": ["100", "100"]}.get(server, ["100"])
    assert statuses == [*interim, "200"]
