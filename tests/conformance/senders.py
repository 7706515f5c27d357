"""The matrix's senders: real HTTP clients posting events to listen, one after another.

Each sender posts a list of events to one URL over whatever connections it keeps, and
returns what it saw for each: the status, the headers (names lower-cased) and the body.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import urlsplit

import pytest

from tests.conformance.events import BOUND, Event
from tests.conformance.peers import NODE_DIR


class Reply(NamedTuple):
    """What a sender saw: a status, or the error it gave instead."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    error: str | None = None


Sender = Callable[[str, Sequence[Event]], list[Reply]]


def _curl(url: str, events: Sequence[Event], options: Sequence[str]) -> list[Reply]:
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is not on PATH (apt-get install curl)", pytrace=False)
    replies = []
    with tempfile.TemporaryDirectory(prefix="curl_") as tmp:
        for number, event in enumerate(events):
            body, head, answer = (Path(tmp) / f"{name}{number}" for name in "bha")
            body.write_bytes(event.body)
            headers = [f"{name}: {value}" for name, value in event.headers.items()]
            done = subprocess.run(
                [curl, "-sS", "--max-time", str(BOUND), *options, "-D", str(head)]
                + [part for header in headers for part in ("-H", header)]
                + ["--data-binary", f"@{body}", "-o", str(answer), url],
                capture_output=True,
                text=True,
                timeout=BOUND + 5,
                check=False,
            )
            if done.returncode != 0:
                replies.append(Reply(None, {}, b"", f"curl exit {done.returncode}: {done.stderr}"))
                continue
            replies.append(_from_head(head.read_bytes().decode("latin-1"), answer.read_bytes()))
    return replies


def _from_head(text: str, body: bytes) -> Reply:
    """The final answer in a ``curl -D`` file (interim answers come first)."""
    blocks = [block for block in text.split("\r\n\r\n") if block.startswith("HTTP/")]
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status, headers, body)


def curl_expect(url: str, events: Sequence[Event]) -> list[Reply]:
    """curl asking for ``100 Continue`` first, as it does for bodies over 1 MiB."""
    return _curl(url, events, ["-H", "Expect: 100-continue"])


def curl_http2(url: str, events: Sequence[Event]) -> list[Reply]:
    """``curl --http2`` on an http:// URL: each POST offers an upgrade to h2c."""
    return _curl(url, events, ["--http2"])


def requests_session(url: str, events: Sequence[Event]) -> list[Reply]:
    """A requests Session (urllib3's keep-alive pool)."""
    import requests

    with requests.Session() as session:
        replies = []
        for event in events:
            response = session.post(url, data=event.body, headers=event.headers, timeout=BOUND)
            headers = {name.lower(): value for name, value in response.headers.items()}
            replies.append(Reply(response.status_code, headers, response.content))
        return replies


def httpx_client(url: str, events: Sequence[Event]) -> list[Reply]:
    """An httpx Client (keep-alive)."""
    import httpx

    with httpx.Client(timeout=BOUND) as client:
        replies = []
        for event in events:
            response = client.post(url, content=event.body, headers=event.headers)
            headers = {name.lower(): value for name, value in response.headers.items()}
            replies.append(Reply(response.status_code, headers, response.content))
        return replies


def aiohttp_session(url: str, events: Sequence[Event]) -> list[Reply]:
    """An aiohttp ClientSession (keep-alive)."""
    import aiohttp

    async def post_all() -> list[Reply]:
        timeout = aiohttp.ClientTimeout(total=BOUND)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            replies = []
            for event in events:
                async with session.post(url, data=event.body, headers=event.headers) as response:
                    body = await response.read()
                    headers = {name.lower(): value for name, value in response.headers.items()}
                    replies.append(Reply(response.status, headers, body))
            return replies

    return asyncio.run(post_all())


def _node(mode: str, url: str, events: Sequence[Event]) -> list[Reply]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node >= 18", pytrace=False)
    job = {
        "url": url,
        "timeout_ms": int(BOUND * 1000),
        "events": [
            {"body_b64": base64.b64encode(e.body).decode(), "headers": e.headers} for e in events
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(job, file)
    try:
        done = subprocess.run(
            [node, str(NODE_DIR / "send.mjs"), mode, file.name],
            capture_output=True,
            text=True,
            timeout=BOUND * len(events) + 10,
            check=False,
        )
    finally:
        Path(file.name).unlink()
    assert done.returncode == 0, done.stderr
    replies = []
    for result in json.loads(done.stdout):
        if "error" in result:
            replies.append(Reply(None, {}, b"", result["error"]))
            continue
        headers = {k.lower(): str(v) for k, v in result["headers"].items()}
        replies.append(Reply(result["status"], headers, base64.b64decode(result["body_b64"])))
    return replies


def node_fetch(url: str, events: Sequence[Event]) -> list[Reply]:
    """Node's fetch (undici), which keeps connections alive."""
    return _node("fetch", url, events)


def node_http(url: str, events: Sequence[Event]) -> list[Reply]:
    """Node's http.request with a keep-alive agent of one socket."""
    return _node("http", url, events)


class _Kept:
    """A reader whose ``close`` leaves it open: HTTPResponse closes its file once a body is
    read, and the next answer on the connection is still to be read from it."""

    def __init__(self, reader: IO[bytes]) -> None:
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def close(self) -> None:
        pass


class _Shared:
    """One buffered reader over a socket, handed to every HTTPResponse in turn."""

    def __init__(self, reader: IO[bytes]) -> None:
        self.reader = _Kept(reader)

    def makefile(self, *args: object, **kwargs: object) -> _Kept:
        return self.reader


def raw_pipelined(url: str, events: Sequence[Event]) -> list[Reply]:
    """Every request written at once on one socket, then the answers read in order."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = b""
    for event in events:
        lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in event.headers.items()]
        lines += [f"Content-Length: {len(event.body)}", "", ""]
        payload += "\r\n".join(lines).encode("latin-1") + event.body
    with (
        socket.create_connection((host, port), timeout=BOUND) as sock,
        sock.makefile("rb") as reader,  # the socket is closed only once this is
    ):
        sock.sendall(payload)
        replies = []
        for _ in events:
            response = http.client.HTTPResponse(_Shared(reader))  # type: ignore[arg-type]
            response.begin()
            body = response.read()
            headers = {name.lower(): value for name, value in response.getheaders()}
            replies.append(Reply(response.status, headers, body))
        return replies


SENDERS: dict[str, Sender] = {
    "curl-expect": curl_expect,
    "curl-http2": curl_http2,
    "requests": requests_session,
    "httpx": httpx_client,
    "aiohttp": aiohttp_session,
    "node-fetch": node_fetch,
    "node-http-keepalive": node_http,
    "raw-pipelined": raw_pipelined,
}
