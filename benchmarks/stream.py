"""Stream-to-app latency of ``muxhook listen --from mux-api``, beside a direct POST and the
official Mux CLI, in one run.

    python benchmarks/stream.py [--events 200] [--gap 0.01] [--mux-cli PATH]

Everything on loopback, in one process except the forwarders: the Mux API is the test stub
(``tests/mux_api_stub.py``: whoami and the event stream), the app a ``ThreadingHTTPServer``
that stamps each arrival. Each event is the bundled ``video.asset.ready`` fixture with its
own id, published to the stream ``--gap`` seconds apart; latency is publish to arrival at
the app, on one clock (``time.perf_counter``). The paths:

- direct POST: this process POSTs each body to the app (one keep-alive connection): the
  floor of any path;
- ``muxhook listen --from mux-api``: recording every event, signing and forwarding it;
- ``mux webhooks listen`` (the official Mux CLI, ``npm i @mux/cli@2.0.1`` in a scratch folder;
  pass its ``node_modules/.bin/mux`` as ``--mux-cli``), pointed at the same stub with
  ``MUX_BASE_URL``. Without it, its figure from ``specs/peers.md`` §4 is printed instead
  (3.3 ms p50 in the same set-up).

Reported: p50, p95 and max in ms, events delivered, and whether they arrived in order.
Every wait is bounded.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mux_api_stub import TOKEN_ID, TOKEN_SECRET, MuxApiStub, serve  # noqa: E402

SECRET = "benchmark-secret-0123456789"  # noqa: S105 (a test value)
CLI_P50_MEASURED = 3.3  # ms, specs/peers.md §4: 200 events 10 ms apart, same kind of set-up


class Arrivals:
    """The app's side: when each event id arrived, in arrival order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at: dict[str, float] = {}
        self.order: list[str] = []

    def add(self, body: bytes) -> None:
        now = time.perf_counter()
        try:
            key = str(json.loads(body)["id"])
        except (ValueError, KeyError, TypeError):
            return
        with self.lock:
            self.at.setdefault(key, now)
            self.order.append(key)

    def clear(self) -> None:
        with self.lock:
            self.at.clear()
            self.order.clear()


def serve_app(arrivals: Arrivals) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # The answer goes out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK hold the second for 40 ms on a kept-alive connection.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.add(body)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Result(NamedTuple):
    name: str
    latencies: list[float]  # ms
    delivered: int
    in_order: bool


def bodies(count: int, run: str) -> list[tuple[str, bytes]]:
    fixture = json.loads((ROOT / "fixtures" / "mux" / "video.asset.ready.json").read_bytes())
    made = []
    for number in range(count):
        key = f"{run}-{number}"
        fixture["id"] = key
        made.append((key, json.dumps(fixture, separators=(",", ":")).encode()))
    return made


def measure(
    name: str,
    events: list[tuple[str, bytes]],
    send: Callable[[bytes], object],
    arrivals: Arrivals,
    gap: float,
) -> Result:
    arrivals.clear()
    sent: dict[str, float] = {}
    for key, body in events:
        sent[key] = time.perf_counter()
        send(body)
        time.sleep(gap)
    deadline = time.monotonic() + 30
    while len(arrivals.at) < len(events) and time.monotonic() < deadline:
        time.sleep(0.01)
    with arrivals.lock:
        latencies = [(arrivals.at[k] - sent[k]) * 1000 for k, _ in events if k in arrivals.at]
        order = [k for k in arrivals.order if k in sent]
    return Result(name, latencies, len(latencies), order == [k for k, _ in events][: len(order)])


def start(
    command: list[str], env: dict[str, str], ready: str, stream: str
) -> subprocess.Popen[str]:
    """Start a forwarder and wait (bounded) until it says ``ready`` on ``stream``."""
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    source = process.stderr if stream == "stderr" else process.stdout
    assert source is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    found = threading.Event()

    def read() -> None:
        for line in source:
            seen.append(line)
            if ready in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    other = process.stdout if stream == "stderr" else process.stderr
    if other is not None:
        threading.Thread(target=lambda: [None for _ in other], daemon=True).start()
    while not found.wait(0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"{command[0]} did not start:\n{''.join(seen)}")
    return process


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between events")
    parser.add_argument("--mux-cli", default=os.environ.get("MUX_CLI"), help="the mux binary")
    args = parser.parse_args()

    import httpx

    arrivals = Arrivals()
    app = serve_app(arrivals)
    app_url = f"http://127.0.0.1:{app.server_address[1]}/webhooks/mux"
    results: list[Result] = []
    with (
        serve(MuxApiStub(heartbeat=15.0)) as stub,
        tempfile.TemporaryDirectory(prefix="muxhook-stream-bench-") as scratch,
        httpx.Client() as client,
    ):
        base_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MUX_", "MUXHOOK_"))},
            "HOME": scratch,
            "XDG_DATA_HOME": str(Path(scratch) / "data"),
            "XDG_CONFIG_HOME": str(Path(scratch) / "config"),
            "MUX_BASE_URL": stub.url,
            "MUX_TOKEN_ID": TOKEN_ID,
            "MUX_TOKEN_SECRET": TOKEN_SECRET,
            "NO_COLOR": "1",
        }

        def direct(body: bytes) -> None:
            client.post(app_url, content=body, headers={"content-type": "application/json"})

        direct(bodies(1, "warm")[0][1])
        results.append(
            measure(
                "direct POST (floor)", bodies(args.events, "direct"), direct, arrivals, args.gap
            )
        )

        def publish(body: bytes) -> None:
            stub.publish(body)

        muxhook = start(
            [
                sys.executable,
                "-m",
                "muxhook",
                "listen",
                "--from",
                "mux-api",
                "--port",
                "0",
                "--db",
                str(Path(scratch) / "events.db"),
                "-f",
                app_url,
                "--forward-secret",
                SECRET,
            ],
            base_env,
            "connected to the Mux event stream",
            "stderr",
        )
        try:
            publish(bodies(1, "warm-muxhook")[0][1])
            time.sleep(0.5)
            results.append(
                measure(
                    "muxhook listen --from mux-api",
                    bodies(args.events, "muxhook"),
                    publish,
                    arrivals,
                    args.gap,
                )
            )
        finally:
            stop(muxhook)

        if args.mux_cli:
            official = start(
                [args.mux_cli, "webhooks", "listen", "--forward-to", app_url],
                base_env,
                "Connected to event stream",
                "stdout",
            )
            try:
                publish(bodies(1, "warm-cli")[0][1])
                time.sleep(0.5)
                results.append(
                    measure(
                        "mux webhooks listen (official CLI)",
                        bodies(args.events, "cli"),
                        publish,
                        arrivals,
                        args.gap,
                    )
                )
            finally:
                stop(official)
    app.shutdown()

    print(f"stream → app latency: {args.events} events, {args.gap * 1000:g} ms apart (one run)")
    print(f"{'path':<38}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'delivered':>11}  in order")
    for result in results:
        ordered = sorted(result.latencies)
        if not ordered:
            print(f"{result.name:<38}{'-':>8}{'-':>8}{'-':>8}{0:>11}  -")
            continue
        p50 = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(
            f"{result.name:<38}{p50:>8.2f}{p95:>8.2f}{ordered[-1]:>8.2f}"
            f"{f'{result.delivered}/{args.events}':>11}  {'yes' if result.in_order else 'NO'}"
        )
    if not args.mux_cli:
        print(
            f"{'mux webhooks listen (official CLI)':<38}{CLI_P50_MEASURED:>8.1f}"
            "   (not installed here: its p50 as measured in specs/peers.md §4)"
        )


if __name__ == "__main__":
    main()
