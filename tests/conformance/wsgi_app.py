"""The matrix's WSGI app, served by werkzeug, gunicorn and waitress.

Set ``CONFORMANCE_SERVER`` to the server's name (it goes into each answer and record).
A WSGI app cannot send a 1xx itself. It reaches its socket only where the server hands
it over: gunicorn's is the socket it writes to, so the reset kind is served there;
werkzeug writes through buffered files over its socket, so a reset would come after
werkzeug's own answer.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tests.conformance.kinds import (
    LYING_BODY,
    LYING_LENGTH,
    SLOW,
    TIMEOUT_SLEEP,
    answer_body,
    halves,
    kind_of,
    record,
)

SERVER = os.environ.get("CONFORMANCE_SERVER", "wsgi")
StartResponse = Callable[..., Any]


def _socket(environ: dict[str, Any]) -> socket.socket | None:
    found = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    return found if isinstance(found, socket.socket) else None


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Read the whole body, record it, answer as the path's kind says."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size) if size else b""
    path = environ.get("PATH_INFO", "/")
    record(SERVER, path, body, environ.get("HTTP_EXPECT"), environ.get("HTTP_MUX_SIGNATURE"))
    kind = kind_of(path)
    answer = answer_body(SERVER, kind)
    json_type = ("Content-Type", "application/json")
    if kind == "chunked":
        start_response("200 OK", [json_type])  # no length: the server chunks it
        return iter(halves(answer))
    if kind == "nocontent":
        start_response("204 No Content", [])
        return []
    if kind == "reset":
        sock = _socket(environ)
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        start_response("500 Internal Server Error", [])
        return []
    if kind == "lying":
        start_response("200 OK", [json_type, ("Content-Length", str(LYING_LENGTH))])
        return _then_close(environ, [LYING_BODY])
    if kind == "slow":
        time.sleep(SLOW)
    elif kind == "timeout":
        time.sleep(TIMEOUT_SLEEP)
    status = "500 Internal Server Error" if kind == "error" else "200 OK"
    start_response(status, [json_type, ("Content-Length", str(len(answer)))])
    return [answer]


def _then_close(environ: dict[str, Any], pieces: list[bytes]) -> Iterator[bytes]:
    """The pieces, then the connection closed where the app can reach its socket."""
    yield from pieces
    sock = _socket(environ)
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
