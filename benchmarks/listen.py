"""``muxhook listen`` under load, side by side with a direct POST to the same app.

    python benchmarks/listen.py [--paced 500] [--rates 100,300,0] [--burst 1000] [--rounds 3]
                                [--soak 10000]

Processes on loopback: a fast app (uvicorn, answering 200 and counting), the listener
(``muxhook listen --no-tunnel``, recording to SQLite, verifying each Mux signature and
forwarding), and in front of the same app two references: a bare byte relay (no parsing,
recording or verification: the floor of any forwarder on this machine) and a minimal
forwarder (parse, check the HMAC, commit one SQLite row, forward, answer: the floor of a
Python forwarder that records before it answers, with none of listen's other work). A
second listener only records (no ``--forward-to``). It reports:

- added latency at paced rates: p50 and p95 through each path minus direct, one request
  at a time; rate 0 means back to back, with no pause (the regime of a ``wrk -c1`` run).
  A path slower than the pace cannot keep it, and is flagged;
- the drain rate of an unpaced burst (32 connections), ``--rounds`` times for every path
  in turn: median and range, with the listener's CPU time per event;
- events lost: sent minus what the app counted minus what the log recorded;
- the listener's resident memory after the bursts and after ``--soak`` more events.

The load generator is muxhook's own keep-alive client (``muxhook.httpclient``), the
same for every path, so the columns differ only by what sits in front of the app.

Every request loop is bounded by its count; every wait by a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path

SECRET = "benchmark-secret-0123456789"  # noqa: S105 (a test value)
READY = re.compile(r"Ready: listening on (http://\S+)")


# -- the app ----------------------------------------------------------------------------------


def serve_app(port_file: str) -> None:
    """A trivial ASGI app: 200 for every POST; GET /count says how many it has seen."""
    seen = 0

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        nonlocal seen
        if scope["type"] != "http":
            return
        while True:
            message = await receive()  # type: ignore[operator]
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            seen += 1
            body = b"{}"
        else:
            body = str(seen).encode()
        await send(  # type: ignore[operator]
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    run_app(app, port_file)


def run_app(app: object, port_file: str) -> None:
    """Serve an ASGI app with uvicorn on 127.0.0.1, its port written to ``port_file``,
    until SIGINT (the benchmark stops it: no traceback)."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    Path(port_file).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_relay(app_port: int, port_file: str) -> None:
    """The floor for any forwarder: bytes relayed to the app as they come, nothing else.

    One connection to the app per client connection, no parsing, no recording, no
    verification: what the extra hop alone costs on this machine.
    """

    class Upstream(asyncio.Protocol):
        def __init__(self, client: asyncio.Transport) -> None:
            self.client = client

        def data_received(self, data: bytes) -> None:
            self.client.write(data)

        def connection_lost(self, exc: Exception | None) -> None:
            self.client.close()

    class Relay(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = typing.cast(asyncio.Transport, transport)
            self.app: asyncio.Transport | None = None
            self.early: list[bytes] = []
            asyncio.get_running_loop().create_task(self.connect())

        async def connect(self) -> None:
            loop = asyncio.get_running_loop()
            app, _ = await loop.create_connection(
                lambda: Upstream(self.transport), "127.0.0.1", app_port
            )
            self.app = app
            for data in self.early:
                app.write(data)

        def data_received(self, data: bytes) -> None:
            if self.app is None:
                self.early.append(data)
            else:
                self.app.write(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.app is not None:
                self.app.close()

    serve_protocol(Relay, port_file)


def serve_minimal(app_url: str, db: str, port_file: str) -> None:
    """The floor of a Python forwarder that records before it answers: httptools parsing,
    one HMAC check, one committed SQLite row (muxhook's event log), the muxhook client's
    forward, the app's status as the answer. No description of the event, duplicate
    check, ordering, output or attempt record: what those cost in listen is the gap."""
    import hashlib
    import hmac

    import httptools

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from muxhook.httpclient import Http1Pool
    from muxhook.records import Incoming
    from muxhook.store import EventLog

    log = EventLog(db)
    pool = Http1Pool()
    key = SECRET.encode()
    skipped = {"host", "content-length", "connection"}

    class Minimal(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = typing.cast(asyncio.Transport, transport)
            self.parser = httptools.HttpRequestParser(self)
            self.headers: list[tuple[str, str]] = []
            self.chunks: list[bytes] = []

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

        def on_body(self, body: bytes) -> None:
            self.chunks.append(body)

        def on_message_complete(self) -> None:
            headers, body = self.headers, b"".join(self.chunks)
            self.headers, self.chunks = [], []
            asyncio.get_running_loop().create_task(self.answer(headers, body))

        async def answer(self, headers: list[tuple[str, str]], body: bytes) -> None:
            signed = dict(headers).get("Mux-Signature", "")
            stamp, _, given = signed.partition(",v1=")
            mac = hmac.new(key, stamp[2:].encode() + b"." + body, hashlib.sha256).hexdigest()
            verdict = "valid" if hmac.compare_digest(mac, given) else "invalid"
            log.record(Incoming(time.time(), "POST", "/", headers, body, ""), verdict=verdict)
            kept = [(name, value) for name, value in headers if name.lower() not in skipped]
            answer = await pool.post(app_url, body, kept)
            self.transport.write(
                b"HTTP/1.1 %d OK\r\ncontent-length: %d\r\n\r\n%s"
                % (answer.status, len(answer.body), answer.body)
            )

    serve_protocol(Minimal, port_file)


def serve_protocol(protocol: typing.Callable[[], asyncio.Protocol], port_file: str) -> None:
    """Serve ``protocol`` on uvloop on 127.0.0.1, its port written to ``port_file``, until
    SIGINT (the benchmark stops it: no traceback)."""
    import socket

    import uvloop

    async def main() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = await asyncio.get_running_loop().create_server(protocol, sock=sock)
        Path(port_file).write_text(str(sock.getsockname()[1]))
        await server.serve_forever()

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    uvloop.run(main())


def start_listener(
    db: Path, forward_to: str | None, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    """``muxhook listen`` on a free port, forwarding to ``forward_to`` (None: recording only);
    the process and its URL once it is ready."""
    command = [sys.executable, "-m", "muxhook", "listen", "--no-tunnel", "--port", "0"]
    command += ["--db", str(db), "--concurrency", "32", "--json"]
    command += ["-f", forward_to] if forward_to else []
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = READY.search(process.stderr.readline())
        if match:
            return process, match.group(1)
    process.kill()
    raise SystemExit("the listener did not start")


# -- helpers ------------------------------------------------------------------------------------


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bodies(count: int, start: int = 0) -> list[tuple[bytes, dict[str, str]]]:
    """Signed Mux-shaped events, 40 distinct assets, as the listener would receive them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from muxhook import signing

    template = (
        Path(__file__).resolve().parent.parent / "fixtures" / "mux" / "video.asset.ready.json"
    ).read_bytes()
    document = json.loads(template)
    out = []
    for n in range(start, start + count):
        document["id"] = f"bench-{n}"
        document["object"]["id"] = document["data"]["id"] = f"asset-{n % 40}"
        body = json.dumps(document, separators=(",", ":")).encode()
        out.append((body, signing.sign(body, secret=SECRET)))
    return out


async def paced(url: str, events: list[tuple[bytes, dict[str, str]]], rate: float) -> list[float]:
    """One request at a time, ``rate`` per second (0: back to back); each latency, in ms."""
    from muxhook.httpclient import Http1Pool

    pool = Http1Pool()
    latencies = []
    for body, headers in events:
        started = time.perf_counter()
        answer = await pool.post(url, body, list(headers.items()))
        latencies.append((time.perf_counter() - started) * 1000)
        if answer.status != 200:
            raise SystemExit(f"{url} answered {answer.status}")
        if rate:
            await asyncio.sleep(max(0.0, 1 / rate - latencies[-1] / 1000))
    await pool.close()
    return latencies


async def burst(url: str, events: list[tuple[bytes, dict[str, str]]], connections: int) -> float:
    """Every event as fast as ``connections`` keep-alive connections allow; seconds taken."""
    from muxhook.httpclient import Http1Pool

    pool = Http1Pool(per_origin=connections)
    pending = iter(events)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for body, headers in pending:
            answer = await pool.post(url, body, list(headers.items()))
            failures += answer.status != 200

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await pool.close()
    if failures:
        raise SystemExit(f"{failures} requests were not answered 200")
    return elapsed


def app_count(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url.replace("/hook", "/count"), timeout=5) as answer:  # noqa: S310
        return int(answer.read())


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paced", type=int, default=500, help="paced requests per path and rate")
    parser.add_argument(
        "--rates",
        default="100,300,0",
        help="paced rates to measure, requests per second; 0 is back to back",
    )
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="bursts per path, in turn")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--soak", type=int, default=10000, help="events for the memory check")
    parser.add_argument("--serve-app", help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--serve-minimal", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_app:
        serve_app(args.serve_app)
        return 0
    if args.serve_relay:
        serve_relay(int(args.serve_relay[0]), args.serve_relay[1])
        return 0
    if args.serve_minimal:
        serve_minimal(*args.serve_minimal)
        return 0
    rates = [float(rate) for rate in args.rates.split(",")]

    scratch = Path(tempfile.mkdtemp(prefix="muxhook-bench-"))
    port_file = scratch / "app.port"
    app = subprocess.Popen([sys.executable, __file__, "--serve-app", str(port_file)])
    helpers: list[subprocess.Popen[str]] = []
    listener = None
    sent = dict.fromkeys(PATHS, 0)
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text(), 20, "the app")
        app_url = f"http://127.0.0.1:{port_file.read_text()}/hook"
        urls = {"direct": app_url}
        for path, extra in (
            ("relay", [port_file.read_text()]),
            ("minimal", [app_url, str(scratch / "minimal.db")]),
        ):
            ready = scratch / f"{path}.port"
            command = [sys.executable, __file__, f"--serve-{path}", *extra, str(ready)]
            helpers.append(subprocess.Popen(command, text=True))
            wait_for(lambda: ready.exists() and ready.read_text(), 20, f"the {path}")  # noqa: B023
            urls[path] = f"http://127.0.0.1:{ready.read_text()}/hook"
        db = scratch / "events.db"
        env = {**os.environ, "MUX_WEBHOOK_SECRET": SECRET, "NO_COLOR": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured as installed: with bytecode
        listener, urls["listen"] = start_listener(db, app_url, env)
        recorder, record_url = start_listener(scratch / "record-only.db", None, env)
        helpers.append(recorder)

        warm = bodies(200, start=10**7)
        for path in PATHS:
            asyncio.run(burst(urls[path], warm, 8))
            sent[path] += len(warm)
        asyncio.run(burst(record_url, warm, 8))

        paced_ms: dict[tuple[float, str], list[float]] = {}
        for number, rate in enumerate(rates):
            for path in (*PATHS, "record"):
                events = bodies(args.paced, start=(number + 1) * 10**6)
                url = record_url if path == "record" else urls[path]
                paced_ms[rate, path] = asyncio.run(paced(url, events, rate))
                sent[path] = sent.get(path, 0) + args.paced

        drain: dict[str, list[float]] = {path: [] for path in PATHS}
        listen_cpu: list[float] = []
        for number in range(args.rounds):
            for path in PATHS:
                events = bodies(args.burst, start=(20 + number) * 10**6)
                used = cpu_seconds(listener.pid)
                drain[path].append(
                    args.burst / asyncio.run(burst(urls[path], events, args.connections))
                )
                if path == "listen":
                    listen_cpu.append((cpu_seconds(listener.pid) - used) / args.burst * 1000)
                sent[path] += args.burst
        rss_after_burst = rss_kib(listener.pid)
        soak = bodies(args.soak, start=40 * 10**6)
        soak_time = asyncio.run(burst(urls["listen"], soak, args.connections))
        sent["listen"] += args.soak
        rss_after_soak = rss_kib(listener.pid)

        forwarded = app_count(app_url) - sent["direct"] - sent["relay"] - sent["minimal"]
        listener.send_signal(signal.SIGINT)
        listener.wait(timeout=60)
        with sqlite3.connect(db) as conn:
            recorded = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        for process in (listener, *helpers):
            if process is not None and process.poll() is None:
                process.kill()
        app.send_signal(signal.SIGINT)
        app.wait(timeout=30)

    def pct(samples: list[float], q: float) -> float:
        ordered = sorted(samples)
        return ordered[int(q * (len(ordered) - 1))]

    print(
        f"paced: {args.paced} requests per path at each rate, one at a time; burst: "
        f"{args.burst} events over {args.connections} connections, {args.rounds} rounds; "
        f"soak: {args.soak} more"
    )
    print(
        f"{'':30}"
        + "".join(f"{path:>9}" for path in PATHS)
        + "   added by:"
        + "".join(f"{path:>9}" for path in PATHS[1:])
    )
    slow = []
    for rate in rates:
        pace = f"at {rate:g}/s" if rate else "back to back"
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            values = [pct(paced_ms[rate, path], q) for path in PATHS]
            added = "".join(f"{value - values[0]:9.2f}" for value in values[1:])
            line = "".join(f"{value:9.2f}" for value in values)
            print(f"{f'latency {name} {pace} (ms)':30}{line}{'':11}{added}")
            if rate and name == "p50":
                slow += [
                    f"{path} at {rate:g}/s"
                    for path, v in zip(PATHS, values, strict=True)
                    if v > 1000 / rate
                ]
    if slow:
        print("could not keep the pace (p50 over the interval): " + ", ".join(slow))
    print("listen recording only (no --forward-to, so no app behind it):")
    for rate in rates:
        pace = f"at {rate:g}/s" if rate else "back to back"
        samples = paced_ms[rate, "record"]
        print(f"  latency {pace} (ms): p50 {pct(samples, 0.5):.2f}, p95 {pct(samples, 0.95):.2f}")
    print("burst drain (events/s), median and range over the rounds:")
    for path in PATHS:
        rates_seen = sorted(drain[path])
        print(
            f"  {path:10}{pct(rates_seen, 0.5):7.0f}   ({rates_seen[0]:.0f}–{rates_seen[-1]:.0f})"
        )
    print(
        f"listen CPU per event in the bursts: {pct(listen_cpu, 0.5):.2f} ms "
        f"({min(listen_cpu):.2f}–{max(listen_cpu):.2f})"
    )
    print(f"soak rate through listen: {args.soak / soak_time:.0f} events/s")
    lost = max(sent["listen"] - recorded, sent["listen"] - forwarded)
    print(
        f"events sent through listen: {sent['listen']}; recorded: {recorded}; "
        f"forwarded to the app: {forwarded}; lost: {lost}"
    )
    print(
        f"listener memory: {rss_after_burst / 1024:.1f} MiB after the bursts, "
        f"{rss_after_soak / 1024:.1f} MiB after {args.soak} more events "
        f"({(rss_after_soak - rss_after_burst) / 1024:+.1f} MiB)"
    )
    return 0


PATHS = ("direct", "relay", "minimal", "listen")


if __name__ == "__main__":
    sys.exit(main())
