#!/usr/bin/env python3
"""A fake ngrok v3 agent for offline tests: stdlib only, loopback only.

pyngrok drives the real agent as ``ngrok start --none --log stdout [--config P]
[--authtoken T] [--region R]``, reads its logfmt lines from stdout until it has
seen the web service address and the two session lines, probes
``GET /api/endpoints`` and then creates endpoints through the agent API. This
script answers the same way without any network beyond 127.0.0.1:

- the agent API (``/api/endpoints``, ``/api/tunnels``, ``/api/status``,
  ``/api/requests/http``) on an ephemeral port, bound before the address is
  printed; unknown fields in a create call get the agent's 400 "invalid tunnel
  configuration" answer;
- for each endpoint a "public" listener on ``http://127.0.0.1:<ephemeral>`` that
  proxies every request (method, path, query, headers, exact body bytes) to the
  endpoint's upstream and hands back the upstream's answer; an upstream that
  cannot be reached gets a 502 carrying ``ERR_NGROK_8012``, as ngrok's edge does.

Switches (environment variables):

- ``FAKE_NGROK_FAIL=4018|105|107``: fail at session start the way the agent does
  (error lines on stdout, then exit 1). Any other code N: creating an endpoint
  answers 502 with ``ERR_NGROK_N`` in the body (334 gets the real "already online"
  text).
- ``FAKE_NGROK_REQUIRE_AUTHTOKEN=1``: behave like ``FAKE_NGROK_FAIL=4018`` unless a
  token is on argv, in ``NGROK_AUTHTOKEN`` or in the config file.
- ``FAKE_NGROK_SILENT=1``: start, print nothing, answer nothing.
- ``FAKE_NGROK_DIE_AFTER=<seconds>``: log an error line and exit that long after
  becoming ready (an agent that dies mid-session).
- ``FAKE_NGROK_FAULTS_ONCE=<file>``: the switches above apply only to the first agent
  started with this file (it creates the file); a restarted agent is a healthy one.
- ``FAKE_NGROK_RECORD=<file>``: append one JSON line per fact: argv (and whether
  ``NGROK_AUTHTOKEN`` was in the environment, never its value), every API call
  with its JSON body, every proxied request.
- ``FAKE_NGROK_WEB_ADDR=127.0.0.1:<port>``: pin the API address.
- ``FAKE_NGROK_MAX_LIFETIME=<seconds>``: exit after this long anyway (600).

An endpoint created with a ``url`` (``https://<domain>``) reports that URL, as the
agent does for a reserved or dev domain (its proxy still listens on 127.0.0.1); one
without gets a new ``http://127.0.0.1:<port>`` from each agent, as a random ngrok URL
is new after every restart.

Signals: SIGTERM and SIGINT stop every server and exit 0. SIGUSR1 drops the session
with ngrok the way the agent logs it ("session closed, starting reconnect loop", then
"failed to reconnect session" every second) and closes the public listeners; SIGUSR2
brings it back ("tunnel session started", "client session established"). SIGSTOP
hangs it for real. Like the real agent, it does not watch the process that started
it: it goes on when that process is killed, until a log line finds no reader
(the real agent dies of SIGPIPE then) or ``FAKE_NGROK_MAX_LIFETIME`` passes.
Written from scratch; it copies only ngrok's wire formats.
"""

from __future__ import annotations

import datetime
import http.client
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from typing import Any

__all__ = ["main"]

VERSION = os.environ.get("FAKE_NGROK_VERSION", "3.99.0-fake")
#: Codes that make the session fail at start (authentication), not an endpoint.
STARTUP_FAILURES = {
    "4018": (
        "authentication failed: Usage of ngrok requires a verified account and authtoken.\n\n"
        "Sign up for an account: https://dashboard.ngrok.com/signup\n"
        "Install your authtoken: https://dashboard.ngrok.com/get-started/your-authtoken\r\n\r\n"
        "ERR_NGROK_4018\r\n"
    ),
    "105": (
        "authentication failed: The authtoken you specified does not look like a proper ngrok "
        "tunnel authtoken.\nYour authtoken: fake\nInstructions to install your authtoken are on "
        "your ngrok dashboard:\nhttps://dashboard.ngrok.com/get-started/your-authtoken\r\n\r\n"
        "ERR_NGROK_105\r\n"
    ),
    "107": (
        "authentication failed: The authtoken you specified is properly formed, but it is "
        "invalid.\nYour authtoken: fake\nThis usually happens when:\n"
        "    - You reset your authtoken\n    - Your authtoken was for a team account\n\r\n\r\n"
        "ERR_NGROK_107\r\n"
    ),
}
#: Top-level fields the agent accepts when creating an endpoint (v3) or a tunnel (v2).
ENDPOINT_FIELDS = {
    "name",
    "url",
    "upstream",
    "traffic_policy",
    "pooling_enabled",
    "description",
    "metadata",
    "bindings",
    "inspect",
}
UPSTREAM_FIELDS = {"url", "protocol", "proxy_protocol"}
TUNNEL_FIELDS = {
    "name",
    "addr",
    "proto",
    "schemes",
    "inspect",
    "basic_auth",
    "host_header",
    "subdomain",
    "domain",
    "hostname",
    "metadata",
    "traffic_policy",
    "verify_webhook",
    "oauth",
    "circuit_breaker",
    "compression",
    "request_header",
    "response_header",
    "ip_restriction",
    "remote_addr",
    "crt",
    "key",
    "pooling_enabled",
}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
UPSTREAM_TIMEOUT = 30.0
MAX_BODY = 64 * 1024 * 1024

_print_lock = threading.Lock()
_record_lock = threading.Lock()
_stopping = threading.Event()


# -- output ------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    """A logfmt value: bare when safe, else double-quoted with Go-style escapes."""
    if value and re.fullmatch(r"[A-Za-z0-9_.:/\[\]@+,-]+", value):
        return value
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def log(lvl: str, msg: str, **fields: object) -> None:
    """Print one logfmt line the way the agent does with ``--log stdout``."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")
    parts = [f"t={stamp}", f"lvl={lvl}", f"msg={_quote(msg)}"]
    parts += [f"{key}={_quote(str(value))}" for key, value in fields.items()]
    line = " ".join(parts) + "\n"
    with _print_lock:
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except (BrokenPipeError, ValueError, OSError):
            # Nobody reads our logs any more: the parent is gone.
            _stopping.set()


def record(kind: str, **data: object) -> None:
    """Append one JSON line to ``FAKE_NGROK_RECORD`` when it is set."""
    target = os.environ.get("FAKE_NGROK_RECORD")
    if not target:
        return
    entry = {"kind": kind, "pid": os.getpid(), "at": time.time(), **data}
    with _record_lock, open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


def _error_body(status: int, code: int, msg: str, err: str) -> dict[str, Any]:
    return {"error_code": code, "status_code": status, "msg": msg, "details": {"err": err}}


# -- the agent's state ---------------------------------------------------------------------------


class Endpoint:
    """One online endpoint: its definition and its public proxy listener."""

    def __init__(self, name: str, upstream: str, definition: dict[str, Any]) -> None:
        self.name = name
        self.upstream = upstream
        self.definition = definition
        self.id = uuid.uuid4().hex
        self.requests = 0
        self.server: _ProxyServer | None = None
        self.thread: threading.Thread | None = None
        self.port = 0
        self.open()
        self.proxy_url = f"http://127.0.0.1:{self.port}"
        wanted = definition.get("url")
        self.public_url = wanted if isinstance(wanted, str) and "://" in wanted else self.proxy_url

    def open(self) -> None:
        """Listen on the public side (the same port again after a reconnect)."""
        server = _ProxyServer(("127.0.0.1", self.port), _ProxyHandler)
        server.endpoint = self
        self.port = server.server_address[1]
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        server, thread, self.server, self.thread = self.server, self.thread, None, None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(5)

    def as_endpoint(self) -> dict[str, Any]:
        """The ``/api/endpoints`` shape."""
        return {
            "ID": self.id,
            "name": self.name,
            "uri": f"/api/endpoints/{urllib.parse.quote(self.name, safe='')}",
            "url": self.public_url,
            "upstream": {"url": self.upstream, "protocol": "http1"},
            "inspect": bool(self.definition.get("inspect", True)),
            "traffic_policy": self.definition.get("traffic_policy", ""),
            "pooling_enabled": bool(self.definition.get("pooling_enabled", False)),
            "metrics": {"http": {"count": self.requests}},
        }

    def as_tunnel(self) -> dict[str, Any]:
        """The legacy ``/api/tunnels`` shape."""
        return {
            "ID": self.id,
            "name": self.name,
            "uri": f"/api/tunnels/{urllib.parse.quote(self.name, safe='')}",
            "public_url": self.public_url,
            "proto": "http",
            "config": {"addr": self.upstream, "inspect": True},
            "metrics": {"http": {"count": self.requests}},
        }


class Agent:
    """Endpoints by name, and the proxied requests the inspection API lists."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.endpoints: dict[str, Endpoint] = {}
        self.captured: list[dict[str, Any]] = []

    def create(self, name: str, upstream: str, definition: dict[str, Any]) -> Endpoint:
        endpoint = Endpoint(name, upstream, definition)
        with self.lock:
            self.endpoints[name] = endpoint
        log(
            "info",
            "started tunnel",
            obj="tunnels",
            name=name,
            addr=upstream,
            url=endpoint.public_url,
        )
        return endpoint

    def remove(self, name: str) -> bool:
        with self.lock:
            endpoint = self.endpoints.pop(name, None)
        if endpoint is None:
            return False
        endpoint.close()
        log("info", "stopped tunnel", obj="tunnels", name=name)
        return True

    def close(self) -> None:
        with self.lock:
            names = list(self.endpoints)
        for name in names:
            self.remove(name)

    def drop_session(self) -> None:
        """SIGUSR1: the session with ngrok is gone; the public side stops answering."""
        with self.lock:
            online = list(self.endpoints.values())
        for endpoint in online:
            endpoint.close()

    def restore_session(self) -> None:
        """SIGUSR2: the session is back; every endpoint answers again at its URL."""
        with self.lock:
            online = list(self.endpoints.values())
        for endpoint in online:
            if endpoint.server is None:
                endpoint.open()


AGENT = Agent()


def _normalise_upstream(raw: object) -> str | None:
    """``8000``, ``host:port`` or ``http://host:port``; None when unusable."""
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        return None
    if raw.isdigit():
        return f"http://localhost:{raw}"
    if "://" not in raw:
        raw = f"http://{raw}"
    parts = urllib.parse.urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if port is None and parts.scheme == "http":
        return f"{raw.rstrip('/')}:80"
    return raw


# -- the agent API -----------------------------------------------------------------------------


class _ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ngrok-fake"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, MAX_BODY)) if length else b""
        if not raw:
            return raw, None
        try:
            return raw, json.loads(raw)
        except ValueError:
            return raw, ...

    def _answer(self, status: int, payload: object | None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _dispatch(self) -> None:
        raw, body = self._body()
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        record(
            "api",
            method=self.command,
            path=path,
            query=split.query,
            body=body if body is not ... else raw.decode("utf-8", "replace"),
        )
        log("info", "start", pg=path, obj="web")
        if body is ...:
            self._answer(400, _error_body(400, 100, "invalid JSON", "request body is not JSON"))
            return
        status, payload = _route(self.command, path, body, urllib.parse.parse_qs(split.query))
        self._answer(status, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


def _collection(path: str) -> tuple[str, str | None] | None:
    for family in ("endpoints", "tunnels"):
        prefix = f"/api/{family}"
        if path in (prefix, prefix + "/"):
            return family, None
        if path.startswith(prefix + "/"):
            return family, urllib.parse.unquote(path[len(prefix) + 1 :])
    return None


def _route(
    method: str, path: str, body: Any, query: dict[str, list[str]]
) -> tuple[int, object | None]:
    if path == "/api/status" and method == "GET":
        return 200, {"status": "online", "agent_version": VERSION, "session": {"legs": []}}
    if path.rstrip("/") == "/api/requests/http":
        if method == "GET":
            wanted = query.get("tunnel_name", [None])[0]
            with AGENT.lock:
                items = [r for r in AGENT.captured if wanted in (None, r["tunnel_name"])]
            return 200, {"uri": "/api/requests/http", "requests": items}
        if method == "DELETE":
            with AGENT.lock:
                AGENT.captured.clear()
            return 204, None
    found = _collection(path)
    if found is None:
        return 404, _error_body(404, 100, "not found", f"no route for {method} {path}")
    family, name = found
    if name is None and method == "GET":
        with AGENT.lock:
            online = list(AGENT.endpoints.values())
        if family == "endpoints":
            return 200, {"endpoints": [e.as_endpoint() for e in online], "uri": "/api/endpoints"}
        return 200, {"tunnels": [e.as_tunnel() for e in online], "uri": "/api/tunnels"}
    if name is None and method == "POST":
        return _create(family, body)
    if name is not None and method == "GET":
        with AGENT.lock:
            endpoint = AGENT.endpoints.get(name)
        if endpoint is None:
            return 404, _error_body(404, 100, "tunnel not found", f"tunnel {name!r} not found")
        return 200, endpoint.as_endpoint() if family == "endpoints" else endpoint.as_tunnel()
    if name is not None and method == "DELETE":
        if AGENT.remove(name):
            return 204, None
        return 404, _error_body(404, 100, "tunnel not found", f"tunnel {name!r} not found")
    return 405, _error_body(405, 100, "method not allowed", f"{method} {path}")


def _create(family: str, body: Any) -> tuple[int, object]:
    def invalid(err: str) -> tuple[int, object]:
        return 400, _error_body(400, 102, "invalid tunnel configuration", err)

    if not isinstance(body, dict):
        return invalid("the request body must be a JSON object")
    allowed = ENDPOINT_FIELDS if family == "endpoints" else TUNNEL_FIELDS
    type_name = "config.EndpointConfig" if family == "endpoints" else "config.HTTPv2Tunnel"
    for key in body:
        if key not in allowed:
            return invalid(
                f"yaml: unmarshal errors:\n  line 1: field {key} not found in type {type_name}"
            )
    if family == "endpoints":
        upstream = body.get("upstream")
        if not isinstance(upstream, dict):
            return invalid("an endpoint needs an upstream")
        for key in upstream:
            if key not in UPSTREAM_FIELDS:
                return invalid(
                    "yaml: unmarshal errors:\n"
                    f"  line 1: field {key} not found in type config.Upstream"
                )
        target = _normalise_upstream(upstream.get("url"))
    else:
        if body.get("proto", "http") not in ("http", "https"):
            return invalid(f"the fake agent only serves http tunnels, not {body.get('proto')!r}")
        target = _normalise_upstream(body.get("addr"))
    if target is None:
        return invalid(f"invalid upstream address in {json.dumps(body)}")
    failure = os.environ.get("FAKE_NGROK_FAIL", "")
    if failure and failure not in STARTUP_FAILURES:
        url = body.get("url") or body.get("domain") or "https://example.ngrok-free.app"
        if failure == "334":
            err = (
                f"The endpoint '{url}' is already online. Either\n"
                "1. stop your existing endpoint first, or\n"
                "2. start both endpoints with `--pooling-enabled` to load balance between them."
                "\r\n\r\nERR_NGROK_334\r\n"
            )
        else:
            err = f"The fake agent was told to fail this endpoint.\r\n\r\nERR_NGROK_{failure}\r\n"
        log("eror", "failed to start tunnel", obj="tunnels", name=body.get("name"), err=err)
        return 502, _error_body(502, 103, "failed to start tunnel", err)
    name = body.get("name") or f"{uuid.uuid4()}"
    if not isinstance(name, str):
        return invalid("name must be a string")
    with AGENT.lock:
        duplicate = name in AGENT.endpoints
    if duplicate:
        return invalid(f"a tunnel or endpoint named {name!r} already exists")
    endpoint = AGENT.create(name, target, body)
    return 201, endpoint.as_endpoint() if family == "endpoints" else endpoint.as_tunnel()


# -- the public side: a reverse proxy per endpoint -------------------------------------------------


class _QuietServer(http.server.ThreadingHTTPServer):
    """A server that prints nothing on stderr: a client gone before its answer (after
    SIGSTOP, say) is not news, and the agent's only output is its log on stdout."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class _ProxyServer(_QuietServer):
    endpoint: Endpoint


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ngrok-fake-edge"
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while total <= MAX_BODY:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(16)
                total += size
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY)) if length else b""

    def _proxy(self) -> None:
        endpoint = self.server.endpoint
        body = self._read_body()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        client = self.client_address[0]
        headers += [
            ("X-Forwarded-For", client),
            ("X-Forwarded-Host", self.headers.get("Host") or ""),
            ("X-Forwarded-Proto", "http"),
        ]
        record(
            "proxy",
            endpoint=endpoint.name,
            method=self.command,
            path=self.path,
            headers=dict(self.headers.items()),
            body_bytes=len(body),
        )
        endpoint.requests += 1
        target = urllib.parse.urlsplit(endpoint.upstream)
        connection_type = (
            http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(
            target.hostname or "localhost", target.port, timeout=UPSTREAM_TIMEOUT
        )
        try:
            connection.putrequest(
                self.command, self.path, skip_host=True, skip_accept_encoding=True
            )
            for key, value in headers:
                connection.putheader(key, value)
            connection.endheaders(body if body else None)
            response = connection.getresponse()
            answer = response.read()
            status, reason = response.status, response.reason
            answer_headers = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
            ]
        except OSError as error:
            err = (
                f"The endpoint {endpoint.public_url} is online, but the agent could not reach "
                f"the upstream {endpoint.upstream}: {error}\r\n\r\nERR_NGROK_8012\r\n"
            )
            log("warn", "failed to dial upstream", obj="tunnels", name=endpoint.name, err=err)
            status, reason = 502, "Bad Gateway"
            answer = f"ngrok: {err}".encode()
            answer_headers = [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Ngrok-Error-Code", "ERR_NGROK_8012"),
            ]
        finally:
            connection.close()
        with AGENT.lock:
            AGENT.captured.append(
                {
                    "id": uuid.uuid4().hex,
                    "tunnel_name": endpoint.name,
                    "remote_addr": client,
                    "request": {"method": self.command, "uri": self.path},
                    "response": {"status_code": status},
                }
            )
        log("info", "join connections", obj="join", name=endpoint.name, status=status)
        self.send_response(status, reason)
        for key, value in answer_headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _proxy


# -- the command line --------------------------------------------------------------------------


def _option(args: list[str], name: str) -> str | None:
    """The value of ``--name V`` or ``--name=V`` in ``args``."""
    for index, arg in enumerate(args):
        if arg == f"--{name}" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def _config_has_authtoken(path: str | None) -> bool:
    if not path or not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"\s*authtoken\s*:\s*['\"]?([^'\"#\s]+)", line)
            if match:
                return True
    return False


def _stop(signum: int, frame: object) -> None:
    _stopping.set()


_session_down = threading.Event()
_session_up = threading.Event()


def _drop(signum: int, frame: object) -> None:
    _session_up.clear()
    _session_down.set()


def _restore(signum: int, frame: object) -> None:
    _session_up.set()


def _keep_session() -> None:
    """Act on SIGUSR1/SIGUSR2 outside the signal handler: log as the agent does."""
    session = uuid.uuid4().hex[:12]
    while not _stopping.is_set():
        if not _session_down.wait(0.1):
            continue
        log(
            "eror",
            "session closed, starting reconnect loop",
            obj="csess",
            id=session,
            err="read EOF from remote peer",
        )
        AGENT.drop_session()
        while not _stopping.is_set() and not _session_up.wait(1.0):
            log(
                "eror",
                "failed to reconnect session",
                obj="tunnels.session",
                id=session,
                err="dial tcp: lookup connect.ngrok-agent.com: i/o timeout",
            )
        if _stopping.is_set():
            return
        _session_down.clear()
        AGENT.restore_session()
        log("info", "tunnel session started", obj="tunnels.session")
        log("info", "client session established", obj="csess", id=session)


def _serve_api() -> tuple[_QuietServer, threading.Thread]:
    host, port = "127.0.0.1", 0
    pinned = os.environ.get("FAKE_NGROK_WEB_ADDR")
    if pinned:
        host, _, port_text = pinned.rpartition(":")
        port = int(port_text)
        if host != "127.0.0.1":
            raise SystemExit("FAKE_NGROK_WEB_ADDR must be on 127.0.0.1")
    server = _QuietServer((host, port), _ApiHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
    thread.start()
    return server, thread


def _wait(seconds: float) -> None:
    """Sleep until ``seconds`` pass or a signal (or a log line without a reader) stops us."""
    deadline = time.monotonic() + seconds
    while not _stopping.is_set() and time.monotonic() < deadline:
        _stopping.wait(min(0.25, max(0.0, deadline - time.monotonic())))


def _first_agent(marker: str) -> bool:
    """True for the one agent that creates ``marker`` (FAKE_NGROK_FAULTS_ONCE)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


def start(args: list[str]) -> int:
    """``ngrok start --none --log stdout ...``: run the agent until stopped."""
    config = _option(args, "config")
    token = _option(args, "authtoken")
    record("argv", argv=sys.argv[1:], env_authtoken="NGROK_AUTHTOKEN" in os.environ)
    lifetime = float(os.environ.get("FAKE_NGROK_MAX_LIFETIME", "600"))
    once = os.environ.get("FAKE_NGROK_FAULTS_ONCE")
    if once and not _first_agent(once):
        for switch in ("FAKE_NGROK_FAIL", "FAKE_NGROK_SILENT", "FAKE_NGROK_DIE_AFTER"):
            os.environ.pop(switch, None)
    if os.environ.get("FAKE_NGROK_SILENT"):
        _wait(lifetime)
        return 0
    failure = os.environ.get("FAKE_NGROK_FAIL", "")
    has_token = bool(token or os.environ.get("NGROK_AUTHTOKEN") or _config_has_authtoken(config))
    if os.environ.get("FAKE_NGROK_REQUIRE_AUTHTOKEN") and not has_token:
        failure = "4018"
    server, thread = _serve_api()
    address = f"127.0.0.1:{server.server_address[1]}"
    try:
        log("info", "open config file", path=config or "(default)", err="nil")
        log("info", "starting web service", obj="web", addr=address, allow_hosts="[]")
        if failure in STARTUP_FAILURES:
            err = STARTUP_FAILURES[failure]
            session = uuid.uuid4().hex[:12]
            log("eror", "failed to reconnect session", obj="tunnels.session", id=session, err=err)
            log("eror", "session closing", obj="tunnels.session", err=err)
            log("crit", "command failed", err=err)
            return 1
        log("info", "client session established", obj="tunnels.session")
        log("info", "tunnel session started", obj="tunnels.session")
        threading.Thread(target=_keep_session, daemon=True).start()
        die_after = os.environ.get("FAKE_NGROK_DIE_AFTER")
        if die_after:
            _wait(float(die_after))
            if not _stopping.is_set():
                log(
                    "eror",
                    "session closed, agent exiting",
                    obj="tunnels.session",
                    err="FAKE_NGROK_DIE_AFTER elapsed",
                )
                # Give the reader a moment to take the line before the pipe's writer is gone.
                time.sleep(0.3)
                return 1
        else:
            _wait(lifetime)
        return 0
    finally:
        AGENT.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: list[str] | None = None) -> int:
    """Dispatch like the agent's command line."""
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, _drop)
        signal.signal(signal.SIGUSR2, _restore)
    words = [a for a in args if not a.startswith("-")]
    if args[:1] in (["--version"], ["-v"], ["version"]):
        print(f"ngrok version {VERSION}")
        return 0
    if words[:1] == ["start"]:
        return start(args)
    if words[:2] == ["config", "check"]:
        print(f"Valid configuration file at {_option(args, 'config') or '(default)'}")
        return 0
    if words[:2] == ["config", "upgrade"]:
        print("No upgrade needed")
        return 0
    if words[:2] == ["config", "add-authtoken"] and len(words) >= 3:
        path = _option(args, "config")
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"agent:\n  authtoken: {words[2]}\n")
        print(f"Authtoken saved to configuration file: {path or '(default)'}")
        return 0
    print(f"ERROR:  unknown command or arguments for the fake agent: {args}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
