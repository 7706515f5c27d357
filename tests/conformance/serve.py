"""Run one of the matrix's in-process app servers: ``python -m tests.conformance.serve NAME
IDLE``, NAME one of werkzeug, waitress, aiohttp, stdlib10, stdlib11; IDLE the seconds an
idle kept-alive connection stays open (0: the server's long default). Prints
``listening on http://127.0.0.1:PORT`` on stderr once it accepts connections.
"""

from __future__ import annotations

import asyncio
import http.server
import io
import socket
import struct
import sys
import time

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


def ready(port: int) -> None:
    print(f"listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)


def werkzeug(idle: float) -> None:
    """Flask's development server (werkzeug), threaded, as ``flask run`` starts it."""
    import os

    from werkzeug.serving import WSGIRequestHandler, make_server

    os.environ["CONFORMANCE_SERVER"] = "werkzeug"
    from tests.conformance.wsgi_app import app

    class Handler(WSGIRequestHandler):
        timeout = idle or None  # seconds a kept-alive connection may wait for a request

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Handler)
    ready(server.server_port)
    server.serve_forever()


def waitress(idle: float) -> None:
    """waitress, with its idle-channel sweep made short when ``idle`` is set."""
    import os

    import waitress as waitress_package

    os.environ["CONFORMANCE_SERVER"] = "waitress"
    from tests.conformance.wsgi_app import app

    tuning = {"channel_timeout": idle, "cleanup_interval": 1} if idle else {}
    server = waitress_package.create_server(app, host="127.0.0.1", port=0, threads=8, **tuning)
    ready(server.effective_port)
    server.run()


def aiohttp(idle: float) -> None:
    """An aiohttp web application."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = request.headers
        record("aiohttp", request.path, body, headers.get("Expect"), headers.get("Mux-Signature"))
        kind = kind_of(request.path)
        answer = answer_body("aiohttp", kind)
        if kind == "chunked":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for piece in halves(answer):
                await response.write(piece)
            await response.write_eof()
            return response
        if kind == "nocontent":
            return web.Response(status=204)
        if kind == "reset":
            transport = request.transport
            assert transport is not None
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            return web.Response(status=500)
        if kind == "lying":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.content_length = LYING_LENGTH
            await response.prepare(request)
            await response.write(LYING_BODY)
            assert request.transport is not None
            request.transport.close()
            return response
        if kind == "slow":
            await asyncio.sleep(SLOW)
        elif kind == "timeout":
            await asyncio.sleep(TIMEOUT_SLEEP)
        status = 500 if kind == "error" else 200
        return web.Response(body=answer, status=status, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/{kind}", handle)
        runner = web.AppRunner(app, keepalive_timeout=idle or 300.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


def stdlib(version: str, idle: float) -> None:
    """Python's ``http.server`` speaking HTTP/``version``, threaded."""
    name = f"stdlib{version.replace('.', '')}"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = f"HTTP/{version}"
        timeout = idle or None

        def setup(self) -> None:
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record(name, self.path, body, self.headers["Expect"], self.headers["Mux-Signature"])
            kind = kind_of(self.path)
            answer = answer_body(name, kind)
            if kind == "interim":
                self.send_response_only(100)
                self.end_headers()
                self.send_response_only(103)
                self.send_header("Link", "</style.css>; rel=preload; as=style")
                self.end_headers()
            if kind == "chunked":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for piece in halves(answer):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
                return
            if kind == "close":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")  # and no length: the close ends it
                self.end_headers()
                self.wfile.write(answer)
                self.close_connection = True
                return
            if kind == "nocontent":
                self.send_response(204)
                self.end_headers()
                return
            if kind == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.shutdown(socket.SHUT_RD)
                self.close_connection = True
                self.wfile = io.BytesIO()  # the reset is the whole answer: nothing goes out
                self.connection.close()
                return
            if kind == "lying":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(LYING_LENGTH))
                self.end_headers()
                self.wfile.write(LYING_BODY)
                self.close_connection = True
                return
            if kind == "slow":
                time.sleep(SLOW)
            elif kind == "timeout":
                time.sleep(TIMEOUT_SLEEP)
            self.send_response(500 if kind == "error" else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready(server.server_address[1])
    server.serve_forever()


def main() -> None:
    name, idle = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    if name == "werkzeug":
        werkzeug(idle)
    elif name == "waitress":
        waitress(idle)
    elif name == "aiohttp":
        aiohttp(idle)
    elif name in ("stdlib10", "stdlib11"):
        stdlib("1.0" if name == "stdlib10" else "1.1", idle)
    else:
        sys.exit(f"unknown server {name!r}")


if __name__ == "__main__":
    main()
