"""The web inspector's speed: reads over a large log, live latency, and listen's burst
drain with the page open, side by side with it closed, in one run.

    python benchmarks/inspector.py [--events 100000] [--runs 30] [--live 40]
                                   [--burst 1000] [--rounds 4]

1. Reads: a log of ``--events`` events (Mux and FastPix, 40 assets, some invalid, some
   failed forwards) served by ``muxhook inspect``; each API call ``--runs`` times, the
   median and the 95th percentile of its round trip on loopback (an upper bound of the
   time spent in the server).
2. Live: ``--live`` events posted one every 100 ms to ``muxhook listen``; the time from
   the moment the listener received each one (its ``received_at``) to its arrival on an
   open stream: listen's own inspector (woken by the pipeline) and ``muxhook inspect``
   beside it on the same log (which polls the log's newest id).
3. Burst drain: ``--burst`` events over 32 connections to two listeners forwarding to the
   same fast app: one with ``--no-inspect``, one with its inspector open in headless
   Chromium (the page, rendering every event as it arrives). ``--rounds`` bursts each, in
   turn; median and range of events per second.

Needs Debian's ``chromium`` on PATH and Playwright (the test extra). Every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import listen as listen_bench

from muxhook import signing
from muxhook.records import Attempt, Incoming
from muxhook.store import EventLog

SECRET = listen_bench.SECRET
INSPECTOR = re.compile(r"inspector: (http://\S+)")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


# -- 1. reads over a large log -------------------------------------------------------------------


def build_log(path: Path, count: int) -> None:
    """``count`` events as listen would have recorded them, committed 1,000 at a time."""
    template = json.loads((FIXTURES / "mux" / "video.asset.ready.json").read_bytes())
    fastpix = (FIXTURES / "fastpix" / "video.media.ready.json").read_bytes()
    start = time.time() - count
    with EventLog(path) as log:
        for first in range(0, count, 1000):
            with log.transaction():
                for n in range(first, min(first + 1000, count)):
                    provider = "fastpix" if n % 10 == 9 else "mux"
                    if provider == "mux":
                        template["id"] = f"bench-{n}"
                        template["object"]["id"] = f"asset-{n % 40}"
                        body = json.dumps(template, separators=(",", ":")).encode()
                        kind, key, target = "video.asset.ready", f"bench-{n}", f"asset-{n % 40}"
                    else:
                        body, kind, key, target = fastpix, "video.media.ready", None, "media-1"
                    headers = list(signing.sign(body, secret=SECRET).items())
                    row = log.record(
                        Incoming(start + n, "POST", "/webhooks/mux", headers, body, "127.0.0.1:1"),
                        provider=provider,
                        event_type=kind,
                        event_key=key,
                        object_id=target,
                        verdict="invalid" if n % 50 == 7 else "valid",
                        forwarding=True,
                    )
                    status = 500 if n % 100 == 3 else 200
                    log.add_attempt(
                        row,
                        Attempt(start + n, "http://127.0.0.1:3000/hook", status, 2.0, b"{}", None),
                    )


def start_inspect(db: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``muxhook inspect`` on a free port; the process and its page URL."""
    command = [sys.executable, "-m", "muxhook", "inspect", "--db", str(db), "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    return process, _printed_url(process)


def _printed_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = INSPECTOR.search(process.stderr.readline())
        if found:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
            return found.group(1)
    process.kill()
    raise SystemExit("the inspector did not start")


def reads(base: str, runs: int, count: int) -> list[tuple[str, float, float]]:
    """Each API call ``runs`` times: its name, median and p95 round trip in ms."""
    middle = count // 2
    calls = {
        "first page": "/api/events",
        f"a page in the middle (before={middle})": f"/api/events?before={middle}",
        "the last page (before=60)": "/api/events?before=60",
        "first page, provider=fastpix": "/api/events?provider=fastpix",
        "first page, verdict=invalid": "/api/events?verdict=invalid",
        "first page, status=failed": "/api/events?status=failed",
        "first page, type=video.media.*": "/api/events?type=video.media.*",
        "first page, object=asset-7": "/api/events?object=asset-7",
        "first page, text in the body (common)": "/api/events?q=Customer%20interview",
        "text in the body found nowhere (full scan)": "/api/events?q=no-such-text",
        "one event in detail": f"/api/events/{middle}",
        "timeline of asset-7 (its newest 1,000)": "/api/timeline?provider=mux&object=asset-7",
    }
    results = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, path in calls.items():
            client.get(path).raise_for_status()  # warm: caches, first import
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            results.append((name, statistics.median(times), percentile(times, 0.95)))
    return results


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- 2. live latency -------------------------------------------------------------------------


def watch_stream(base: str, arrivals: dict[int, float], stop: threading.Event) -> None:
    """Read a live stream, noting when each event arrived (until ``stop``)."""
    with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client:
        with client.stream("GET", f"{base}/api/stream") as stream:
            for line in stream.iter_lines():
                if stop.is_set():
                    return
                if line.startswith('data: {"events"'):
                    now = time.time()
                    for event in json.loads(line.removeprefix("data: "))["events"]:
                        arrivals.setdefault(event["id"], now - event["received_at"])


# -- 3. burst drain with the page open ------------------------------------------------------------


def start_listener(
    db: Path, app_url: str, env: dict[str, str], *, inspect: bool
) -> tuple[subprocess.Popen[str], str, str | None]:
    """``muxhook listen`` forwarding to ``app_url``; its webhook URL and inspector URL."""
    command = [sys.executable, "-m", "muxhook", "listen", "--no-tunnel", "--port", "0"]
    command += ["--db", str(db), "--concurrency", "32", "--json", "-f", app_url]
    command += ["--inspect-port", "0"] if inspect else ["--no-inspect"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stderr is not None
    webhook, page = "", None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not webhook or (inspect and page is None)):
        line = process.stderr.readline()
        ready = listen_bench.READY.search(line)
        webhook = ready.group(1) if ready else webhook
        found = INSPECTOR.search(line)
        page = found.group(1) if found else page
    if not webhook:
        process.kill()
        raise SystemExit("the listener did not start")
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return process, webhook, page


def open_page(url: str, stop: threading.Event, shown: list[int]) -> None:
    """The inspector's page in headless Chromium until ``stop``; ``shown`` gets its row count."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=BROWSER_ARGS
        )
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        shown.append(0)
        while not stop.wait(0.2):
            shown[0] = page.locator("#events tbody tr").count()
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--live", type=int, default=40)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        raise SystemExit("no chromium on PATH: apt-get install -y chromium")
    scratch = Path(tempfile.mkdtemp(prefix="muxhook-inspector-bench-"))
    env = {**os.environ, "MUX_WEBHOOK_SECRET": SECRET, "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    processes: list[subprocess.Popen[str]] = []
    try:
        # 1. reads
        big = scratch / "big.db"
        started = time.perf_counter()
        build_log(big, args.events)
        built = time.perf_counter() - started
        inspect, url = start_inspect(big, env)
        processes.append(inspect)
        read_figures = reads(url.split("/?")[0], args.runs, args.events)

        # 2. live
        live_db = scratch / "live.db"
        listener, webhook, page = start_listener(live_db, "http://127.0.0.1:9/none", env,
                                                 inspect=True)  # fmt: skip
        processes.append(listener)
        assert page is not None
        beside, other = start_inspect(live_db, env)
        processes.append(beside)
        arrivals: dict[str, dict[int, float]] = {"listen's inspector": {}, "muxhook inspect": {}}
        stop_watching = threading.Event()
        for name, address in (("listen's inspector", page), ("muxhook inspect", other)):
            threading.Thread(
                target=watch_stream,
                args=(address.split("/?")[0], arrivals[name], stop_watching),
                daemon=True,
            ).start()
        time.sleep(1.0)
        with httpx.Client(timeout=10) as client:
            for body, headers in listen_bench.bodies(args.live, start=90 * 10**6):
                client.post(webhook, content=body, headers=headers)
                time.sleep(0.1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(len(a) < args.live for a in arrivals.values()):
            time.sleep(0.05)
        stop_watching.set()
        latency = {name: [s * 1000 for s in found.values()] for name, found in arrivals.items()}

        # 3. burst drain, page open and closed, in turn
        port_file = scratch / "app.port"
        app = subprocess.Popen(
            [sys.executable, listen_bench.__file__, "--serve-app", str(port_file)], text=True
        )
        processes.append(app)
        listen_bench.wait_for(lambda: port_file.exists() and port_file.read_text(), 20, "the app")
        app_url = f"http://127.0.0.1:{port_file.read_text()}/hook"
        closed, closed_url, _ = start_listener(scratch / "closed.db", app_url, env, inspect=False)
        opened, open_url, open_page_url = start_listener(
            scratch / "open.db", app_url, env, inspect=True
        )
        processes += [closed, opened]
        assert open_page_url is not None
        stop_page = threading.Event()
        shown: list[int] = []
        viewer = threading.Thread(target=open_page, args=(open_page_url, stop_page, shown))
        viewer.start()
        listen_bench.wait_for(lambda: bool(shown), 60, "the page")
        warm = listen_bench.bodies(200, start=10**7)
        for address in (closed_url, open_url):
            asyncio.run(listen_bench.burst(address, warm, 8))
        drain: dict[str, list[float]] = {"page closed (--no-inspect)": [], "page open": []}
        for number in range(args.rounds):
            for name, address in (
                ("page closed (--no-inspect)", closed_url),
                ("page open", open_url),
            ):
                events = listen_bench.bodies(args.burst, start=(30 + number) * 10**6)
                seconds = asyncio.run(listen_bench.burst(address, events, 32))
                drain[name].append(args.burst / seconds)
        time.sleep(1.0)
        rows_on_page = shown[0]
        stop_page.set()
        viewer.join(30)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(2)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"reads over a log of {args.events:,} events (built in {built:.0f} s), "
          f"{args.runs} runs each, round trip on loopback:")  # fmt: skip
    print(f"  {'call':<48} {'median':>9} {'p95':>9}")
    for name, median, p95 in read_figures:
        print(f"  {name:<48} {median:>7.1f}ms {p95:>7.1f}ms")
    print(f"live: {args.live} events, one every 100 ms; ms from receipt to an open stream:")
    for name, samples in latency.items():
        if not samples:
            print(f"  {name:<24} none arrived")
            continue
        print(
            f"  {name:<24} median {statistics.median(samples):6.1f}  p95 "
            f"{percentile(samples, 0.95):6.1f}  max {max(samples):6.1f}  "
            f"({len(samples)}/{args.live} arrived)"
        )
    print(f"burst drain: {args.burst} events over 32 connections, {args.rounds} rounds each, "
          "in turn (events/s):")  # fmt: skip
    medians = {}
    for name, rates in drain.items():
        medians[name] = statistics.median(rates)
        print(f"  {name:<28} median {medians[name]:7.0f}  range {min(rates):.0f}–{max(rates):.0f}")
    ratio = medians["page open"] / medians["page closed (--no-inspect)"]
    print(f"  page open / closed: {ratio:.2f} (the page showed {rows_on_page} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
