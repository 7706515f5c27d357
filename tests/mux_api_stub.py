"""A loopback stub of Mux's System API, written from the documented shapes.

The shapes are those of the official ``@mux/mux-node`` SDK (``system.utilities.whoami``,
``system.webhooks``: ``{"data": …}`` answers, ``page``/``limit`` lists, errors as
``{"error": {"type", "messages"}}``) and of the event stream as the official Mux CLI reads
it (``event: connected``, then one SSE event whose data is one webhook event, JSON).
Every route wants HTTP Basic auth with the stub's token; a wrong one gets 401.

- ``GET /system/v1/whoami``;
- ``GET``/``POST /system/v1/webhooks``, ``GET``/``PATCH``/``DELETE /system/v1/webhooks/{id}``
  (``system:read`` to read, ``system:write`` to change; 403 without; an address that is
  not http(s), ends in ``.invalid`` or is taken gets 400);
- ``GET /system/v1/webhook-events/stream``: ``event: connected``, the events ``publish``
  hands it, and a ``: heartbeat`` comment every ``heartbeat`` seconds.

Knobs, from Python in the same process: ``publish(body)``, ``publish_raw(text)``,
``drop()`` (every open stream ends), ``silence()`` (open streams go quiet and swallow
events, as a connection that died without a close does), ``fail(path, status, times,
retry_after)`` (the next requests to a path get that status: 401, 429, 500…).

Run as a script (``python tests/mux_api_stub.py [--port N]``) it prints ``listening
<port>`` and takes ``POST /_stub/publish`` (the body is one event) and ``POST /_stub/drop``
without auth, for the benchmark and for trying ``listen --from mux-api`` by hand.
Loopback only; written from scratch.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import http.server
import json
import queue
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_ID = "stub-token-id-0123456789"
TOKEN_SECRET = "stub-token-secret-abcdefghijklmnopqrstuvwxyz"
STREAM = "/system/v1/webhook-events/stream"
WEBHOOKS = "/system/v1/webhooks"
NOT_FOUND = "The requested resource either doesn't exist or you don't have access to it."
FORBIDDEN = "The access token does not have permission"
_DROP = object()


@dataclasses.dataclass
class Request:
    """One request the stub answered."""

    method: str
    path: str
    status: int
    body: bytes


@dataclasses.dataclass
class _Stream:
    """One open event stream."""

    events: queue.Queue[object]
    silent: bool = False


@dataclasses.dataclass
class _Failure:
    status: int
    times: int
    retry_after: str | None


class MuxApiStub:
    """The stub's state; ``serve`` runs it on 127.0.0.1."""

    def __init__(
        self,
        *,
        token_id: str = TOKEN_ID,
        token_secret: str = TOKEN_SECRET,
        permissions: tuple[str, ...] = ("video:read", "system:read", "system:write"),
        heartbeat: float = 0.5,
    ) -> None:
        self.token_id = token_id
        self.token_secret = token_secret
        self.permissions = permissions
        self.heartbeat = heartbeat
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.streams: list[_Stream] = []
        self.streams_opened = 0
        self.failures: dict[str, _Failure] = {}
        self.url = ""

    # -- knobs -----------------------------------------------------------------

    def publish(self, body: bytes, *, event: str | None = None) -> int:
        """Send one webhook event to every open stream; how many streams got it."""
        lines = "".join(f"data: {line}\n" for line in body.decode("utf-8").split("\n"))
        frame = (f"event: {event}\n" if event else "") + lines + "\n"
        return self.publish_raw(frame)

    def publish_raw(self, frame: str) -> int:
        """Write ``frame`` as it is to every open stream."""
        with self.lock:
            for stream in self.streams:
                stream.events.put(frame.encode("utf-8"))
            return len(self.streams)

    def drop(self) -> None:
        """End every open stream (the server closes the connection)."""
        with self.lock:
            for stream in self.streams:
                stream.events.put(_DROP)

    def silence(self) -> None:
        """Open streams send nothing more, heartbeats included, and swallow events."""
        with self.lock:
            for stream in self.streams:
                stream.silent = True

    def fail(
        self, path: str, status: int, *, times: int = 1, retry_after: str | None = None
    ) -> None:
        """The next ``times`` requests to ``path`` are answered ``status``."""
        with self.lock:
            self.failures[path] = _Failure(status, times, retry_after)

    def open_streams(self) -> int:
        """Streams open now (silent ones included)."""
        with self.lock:
            return len(self.streams)

    def wait_for_streams(self, opened: int, timeout: float = 20.0) -> None:
        """Block until ``opened`` streams have been opened in all (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.streams_opened >= opened and self.streams:
                    return
            time.sleep(0.01)
        raise AssertionError(
            f"no stream #{opened} within {timeout} s ({self.streams_opened} opened)"
        )

    # -- routes ------------------------------------------------------------------

    def refusal(self, path: str, headers: Any) -> tuple[int, Any, dict[str, str]] | None:
        """401 for a wrong token, or a failure set with ``fail``; None to go on."""
        if not self._authorised(headers.get("Authorization", "")):
            return 401, _error("unauthorized", "Unauthorized request"), {}
        with self.lock:
            failure = self.failures.get(path)
            if failure is not None and failure.times > 0:
                failure.times -= 1
                extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return failure.status, _error("stub", f"stub failure {failure.status}"), extra
        return None

    def answer(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON document or None, extra headers) for one request."""
        path = urlsplit(target).path
        refused = self.refusal(path, headers)
        if refused is not None:
            return refused
        if path == "/system/v1/whoami" and method == "GET":
            return 200, {"data": self._whoami()}, {}
        if path == WEBHOOKS or path.startswith(WEBHOOKS + "/"):
            return self._webhooks(method, target, path, body)
        return 404, _error("not_found", NOT_FOUND), {}

    def _authorised(self, value: str) -> bool:
        expected = base64.b64encode(f"{self.token_id}:{self.token_secret}".encode()).decode()
        return secrets.compare_digest(value, f"Basic {expected}")

    def _whoami(self) -> dict[str, Any]:
        return {
            "access_token_name": "muxhook tests",
            "environment_id": "stubenv1",
            "environment_name": "Development",
            "environment_type": "development",
            "organization_id": "stuborg1",
            "organization_name": "Stub Org",
            "permissions": list(self.permissions),
        }

    def _may(self, permission: str) -> bool:
        if permission == "system:read" and "system:write" in self.permissions:
            return True
        return permission in self.permissions

    def _webhooks(
        self, method: str, target: str, path: str, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        forbidden: tuple[int, Any, dict[str, str]] = (403, _error("forbidden", FORBIDDEN), {})
        if method == "GET" and not self._may("system:read"):
            return forbidden
        if method != "GET" and not self._may("system:write"):
            return forbidden
        endpoint_id = path[len(WEBHOOKS) + 1 :] if path != WEBHOOKS else None
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            return 400, _error("invalid_parameters", "The body is not JSON"), {}
        with self.lock:
            if endpoint_id is None and method == "GET":
                query = parse_qs(urlsplit(target).query)
                page = int(query.get("page", ["1"])[0])
                limit = int(query.get("limit", ["25"])[0])
                ordered = sorted(
                    self.endpoints.values(), key=lambda e: e["created_at"], reverse=True
                )
                chosen = ordered[(page - 1) * limit : page * limit]
                return 200, {"data": [_public(e) for e in chosen]}, {}
            if endpoint_id is None and method == "POST":
                address = document.get("address") if isinstance(document, dict) else None
                problem = self._address_problem(address, None)
                if problem:
                    return 400, _error("invalid_parameters", problem), {}
                created: dict[str, Any] = {
                    "id": uuid.uuid4().hex[:20],
                    "address": address,
                    "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                        timespec="microseconds"
                    ),
                    "enabled": True,
                    "signing_secret": secrets.token_urlsafe(32),
                }
                self.endpoints[created["id"]] = created
                return 201, {"data": created}, {}
            found = self.endpoints.get(endpoint_id or "")
            if found is None:
                return 404, _error("not_found", NOT_FOUND), {}
            if method == "GET":
                return 200, {"data": _public(found)}, {}
            if method == "PATCH":
                if not isinstance(document, dict) or not ({"address", "enabled"} & set(document)):
                    return 400, _error("invalid_parameters", "give address or enabled"), {}
                if "address" in document:
                    problem = self._address_problem(document["address"], found["id"])
                    if problem:
                        return 400, _error("invalid_parameters", problem), {}
                    found["address"] = document["address"]
                if "enabled" in document:
                    found["enabled"] = bool(document["enabled"])
                return 200, {"data": _public(found)}, {}
            if method == "DELETE":
                del self.endpoints[found["id"]]
                return 204, None, {}
        return 405, _error("method_not_allowed", f"{method} is not allowed here"), {}

    def _address_problem(self, address: object, own_id: str | None) -> str | None:
        if not isinstance(address, str):
            return "address is required"
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "address must be a valid URL"
        if parts.hostname.endswith(".invalid"):
            return "address must be publicly reachable"
        if any(e["address"] == address and e["id"] != own_id for e in self.endpoints.values()):
            return "address must be unique among the environment's webhooks"
        return None


def _public(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in endpoint.items() if k != "signing_secret"}


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "messages": [message]}}


def _handler_for(stub: MuxApiStub, control: bool) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, document: Any, extra: dict[str, str]) -> None:
            payload = b"" if document is None else json.dumps(document).encode()
            self.send_response(status)
            if document is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self) -> None:
            body = self._body()
            path = urlsplit(self.path).path
            if control and path.startswith("/_stub/") and self.command == "POST":
                count = stub.publish(body) if path == "/_stub/publish" else 0
                if path == "/_stub/drop":
                    stub.drop()
                self._send(200, {"streams": count}, {})
                return
            if path == STREAM and self.command == "GET":
                refused = stub.refusal(path, self.headers)
                if refused is None and not stub._may("system:read"):
                    refused = 403, _error("forbidden", FORBIDDEN), {}
                if refused is None:
                    self._stream()
                    return
                with stub.lock:
                    stub.requests.append(Request("GET", self.path, refused[0], body))
                self._send(*refused)
                return
            status, document, extra = stub.answer(self.command, self.path, self.headers, body)
            with stub.lock:
                stub.requests.append(Request(self.command, self.path, status, body))
            self._send(status, document, extra)

        def _stream(self) -> None:
            stream = _Stream(queue.Queue())
            with stub.lock:
                stub.streams.append(stream)
                stub.streams_opened += 1
                stub.requests.append(Request("GET", self.path, 200, b""))
            self.close_connection = True
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b'event: connected\ndata: {"connected":true}\n\n')
                self.wfile.flush()
                while True:
                    try:
                        item = stream.events.get(timeout=stub.heartbeat)
                    except queue.Empty:
                        if not stream.silent:
                            self.wfile.write(b": heartbeat\n\n")
                            self.wfile.flush()
                        continue
                    if item is _DROP:
                        break
                    if stream.silent:
                        continue  # a connection that died quietly: nothing gets through
                    assert isinstance(item, bytes)
                    self.wfile.write(item)
                    self.wfile.flush()
            except OSError:
                pass  # the client went away
            finally:
                with stub.lock:
                    if stream in stub.streams:
                        stub.streams.remove(stream)
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(stub: MuxApiStub, port: int = 0, *, control: bool = False) -> Iterator[MuxApiStub]:
    """Run ``stub`` on 127.0.0.1 until the block ends; ``stub.url`` is its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler_for(stub, control))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.drop()
        server.shutdown()
        server.server_close()
        thread.join(5)


def main() -> None:
    """``python tests/mux_api_stub.py [--port N]``: serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--heartbeat", type=float, default=15.0)
    args = parser.parse_args()
    with serve(MuxApiStub(heartbeat=args.heartbeat), args.port, control=True) as stub:
        print(f"listening {stub.url.rsplit(':', 1)[1]}", flush=True)
        print(
            f"MUX_BASE_URL={stub.url} MUX_TOKEN_ID={TOKEN_ID} MUX_TOKEN_SECRET={TOKEN_SECRET}",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
