"""What the matrix's apps answer, the same on every server; imported by the app processes.

An app answers ``POST /<kind>`` as the kind says, and first writes one JSON line per
request to its stdout (the test reads them): the sha256 and size of the body it read,
and the ``Expect`` and ``Mux-Signature`` headers it saw.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading

#: How each kind answers.
KINDS = {
    "length": "200 with a Content-Length",
    "chunked": "200, chunked",
    "close": "200 delimited by closing the connection (no length, no chunks)",
    "nocontent": "204",
    "error": "500 with a Content-Length",
    "slow": f"200 after {0.3} s",
    "interim": "100 Continue and 103 Early Hints, then 200",
    "reset": "the connection reset (RST) without an answer",
    # Django's runserver keeps the connection open after the short body instead: the
    # forward then waits for the rest until it times out.
    "lying": "a Content-Length of 100, 10 bytes of body, then the connection closed",
    "timeout": "200 after 2 s, past the forward timeout",
}
SLOW = 0.3
TIMEOUT_SLEEP = 2.0
LYING_LENGTH = 100
LYING_BODY = b'{"part":1}'  # 10 bytes

_lock = threading.Lock()


def answer_body(server: str, kind: str) -> bytes:
    """The body an app answers with: says which server and kind, so a stray answer shows."""
    return json.dumps({"server": server, "kind": kind}, separators=(",", ":")).encode()


def halves(body: bytes) -> tuple[bytes, bytes]:
    """A body in two pieces, for the chunked answers."""
    middle = len(body) // 2
    return body[:middle], body[middle:]


def kind_of(path: str) -> str:
    """The kind named by a request path (``/length?x`` → ``length``)."""
    return path.split("?", 1)[0].strip("/") or "length"


def record(server: str, path: str, body: bytes, expect: str | None, signature: str | None) -> None:
    """One JSON line on stdout for the test: what this app received."""
    line = json.dumps(
        {
            "server": server,
            "kind": kind_of(path),
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "expect": expect,
            "signature": signature,
        }
    )
    with _lock:  # threads of one server write whole lines
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
