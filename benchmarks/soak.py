"""Soak: ``muxhook listen`` under a long paced rate, then a burst, proven lossless.

    python benchmarks/soak.py [--events 100000] [--rate 2000] [--burst 10000] [--json]

Three processes on loopback, as in ``benchmarks/listen.py``: a fast app (uvicorn) that
counts every POST by its event id, the listener (``muxhook listen --no-tunnel``,
recording to SQLite, verifying each Mux signature and forwarding), and this load
generator (muxhook's own keep-alive client, ``muxhook.httpclient.Http1Pool``).

1. steady: ``--events`` signed events at ``--rate`` per second, on an open-loop
   schedule (event *i* is due at start + i/rate) over ``--connections`` keep-alive
   connections, so a slow answer makes the sender late, never the rate lower unseen;
2. burst: ``--burst`` more, as fast as the connections allow.

Every event has its own id. At the end the listener is stopped with SIGINT (it finishes
its forwards and closes the log), and three counts are compared with what was sent:
the rows of the SQLite log, the ids the app received, and the ``--json`` lines the
listener printed. It reports:

- lost: sent minus the fewest distinct ids any of the three has;
- duplicated: forwards the app received more than once for one id (and log rows or
  forward attempts beyond one per event);
- the listener's resident memory, sampled every ``--sample-every`` events: first,
  last and highest;
- the log's size on disk (database, -wal and -shm) against the events it holds.

``tests/test_soak.py`` runs this same code with small numbers on every test run, and
the full default version under ``pytest -m slow``. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from listen import READY, SECRET, bodies, rss_kib, run_app, wait_for  # noqa: E402

T = TypeVar("T")
Event = tuple[bytes, dict[str, str]]
SUMMARY = re.compile(r"received (\d+) · valid (\d+) · invalid (\d+) · unverified (\d+)")
ID_PREFIX = "bench-"  # what ``listen.bodies`` names its events: bench-<n>


@dataclasses.dataclass(frozen=True)
class SoakConfig:
    """What to send: the steady phase, then the burst."""

    events: int = 100_000
    rate: float = 2000.0
    burst: int = 10_000
    connections: int = 32
    sample_every: int = 1000
    warmup: int = 500  # sent before the first memory sample; counted like the rest
    chunk: int = 500  # events signed at a time, so timestamps stay fresh and memory flat


@dataclasses.dataclass
class Phase:
    """One phase as the load generator saw it."""

    sent: int = 0
    not_200: int = 0
    seconds: float = 0.0
    max_late_ms: float = 0.0  # how far behind its schedule the paced sender fell, at worst


@dataclasses.dataclass
class SoakResult:
    """Everything the soak measured; ``lost`` and ``duplicated`` must be 0."""

    config: SoakConfig
    sent: int
    steady: Phase
    burst: Phase
    # the log (SQLite), after the listener stopped
    recorded: int
    recorded_ids: int
    valid: int
    delivered: int
    attempts: int
    flagged_duplicate: int
    # the app
    app_posts: int
    app_ids: int
    app_duplicated: int
    app_foreign: int  # bodies the app could not attribute to an event we sent
    # the listener's --json lines and summary
    json_lines: int
    json_ids: int
    summary_received: int | None
    exit_code: int | None
    # memory and disk
    rss_samples_kib: list[tuple[int, int]]  # (events sent, VmRSS KiB)
    db_bytes: int
    wal_bytes: int
    shm_bytes: int
    max_log_bytes: int  # db + wal at the largest sample during the run

    @property
    def lost(self) -> int:
        return self.sent - min(self.recorded_ids, self.app_ids, self.json_ids)

    @property
    def duplicated(self) -> int:
        return (
            self.app_duplicated
            + (self.recorded - self.recorded_ids)
            + max(0, self.attempts - self.recorded)
        )

    @property
    def rss_first_kib(self) -> int:
        return self.rss_samples_kib[0][1] if self.rss_samples_kib else 0

    @property
    def rss_last_kib(self) -> int:
        return self.rss_samples_kib[-1][1] if self.rss_samples_kib else 0

    @property
    def rss_max_kib(self) -> int:
        return max((kib for _, kib in self.rss_samples_kib), default=0)

    @property
    def log_bytes(self) -> int:
        return self.db_bytes + self.wal_bytes + self.shm_bytes

    @property
    def bytes_per_event(self) -> float:
        return self.log_bytes / self.recorded if self.recorded else 0.0

    def as_dict(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        for name in (
            "lost",
            "duplicated",
            "rss_first_kib",
            "rss_last_kib",
            "rss_max_kib",
            "log_bytes",
            "bytes_per_event",
        ):
            document[name] = getattr(self, name)
        return document


# -- the app ----------------------------------------------------------------------------------


def serve_counting_app(port_file: str) -> None:
    """``listen.serve_app``, counting each POST by its event id; GET /count: the counts."""
    seen: collections.Counter[str] = collections.Counter()
    foreign = 0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal foreign
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            try:
                event_id = json.loads(b"".join(chunks))["id"]
            except (ValueError, KeyError, TypeError):
                event_id = None
            if isinstance(event_id, str) and event_id.startswith(ID_PREFIX):
                seen[event_id] += 1
            else:
                foreign += 1
            body = b"{}"
        else:
            counts = {
                "posts": sum(seen.values()) + foreign,
                "ids": len(seen),
                "duplicated": sum(n - 1 for n in seen.values() if n > 1),
                "foreign": foreign,
            }
            body = json.dumps(counts).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    run_app(app, port_file)


def app_counts(app_url: str) -> dict[str, int]:
    import urllib.request

    with urllib.request.urlopen(app_url.replace("/hook", "/count"), timeout=10) as answer:  # noqa: S310
        counts: dict[str, int] = json.loads(answer.read())
    return counts


# -- the load generator -----------------------------------------------------------------------


def signed_events(count: int, start: int, chunk: int) -> Iterator[Event]:
    """``count`` signed events numbered from ``start``, signed ``chunk`` at a time."""
    for first in range(start, start + count, chunk):
        yield from bodies(min(chunk, start + count - first), start=first)


class Sampler:
    """The listener's RSS and the log's size, every ``every`` events sent."""

    def __init__(self, pid: int, db: Path, every: int) -> None:
        self.pid = pid
        self.db = db
        self.every = every
        self.sent = 0
        self.rss: list[tuple[int, int]] = []
        self.max_log_bytes = 0

    def count(self, sent: int = 1) -> None:
        before = self.sent
        self.sent += sent
        if self.sent // self.every != before // self.every:
            self.sample()

    def sample(self) -> None:
        self.rss.append((self.sent, rss_kib(self.pid)))
        size = sum(_size(Path(f"{self.db}{suffix}")) for suffix in ("", "-wal"))
        self.max_log_bytes = max(self.max_log_bytes, size)


async def send(
    url: str,
    events: Iterator[Event],
    *,
    connections: int,
    rate: float | None,
    sampler: Sampler | None = None,
) -> Phase:
    """Every event once, over ``connections`` keep-alive connections; paced when ``rate``."""
    from muxhook.httpclient import Http1Pool

    pool = Http1Pool(per_origin=connections)
    phase = Phase()
    scheduled = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal scheduled
        for body, headers in events:
            index, scheduled = scheduled, scheduled + 1
            if rate:
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    phase.max_late_ms = max(phase.max_late_ms, -delay * 1000)
            answer = await pool.post(url, body, list(headers.items()))
            phase.sent += 1
            phase.not_200 += answer.status != 200
            if sampler is not None:
                sampler.count()

    try:
        await asyncio.gather(*(worker() for _ in range(connections)))
    finally:
        phase.seconds = time.perf_counter() - started
        await pool.close()
    return phase


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop when it is there (as the listener does), else asyncio's loop."""
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


# -- the soak -----------------------------------------------------------------------------------


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _drain(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line.rstrip("\n"))


def _json_ids(path: Path) -> tuple[int, int]:
    """(lines, distinct event ids whose forward was answered 200) of the --json output."""
    lines = 0
    ids: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            lines += 1
            event = json.loads(line)
            forwards = event.get("attempts") or []
            if event.get("verdict") == "valid" and forwards and forwards[-1]["status"] == 200:
                ids.add(str(event.get("event_id")))
    return lines, len(ids)


def run_soak(
    config: SoakConfig, *, scratch: Path | None = None, env: dict[str, str] | None = None
) -> SoakResult:
    """Start the app and the listener, send both phases, stop, and count everything."""
    scratch = scratch or Path(tempfile.mkdtemp(prefix="muxhook-soak-"))
    port_file = scratch / "app.port"
    db = scratch / "events.db"
    json_out = scratch / "listen.jsonl"
    base_env = dict(os.environ if env is None else env)
    app = subprocess.Popen(
        [sys.executable, __file__, "--serve-app", str(port_file)],
        stdin=subprocess.DEVNULL,
        env=base_env,
    )
    listener: subprocess.Popen[str] | None = None
    stderr: list[str] = []
    drainer: threading.Thread | None = None
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text(), 30, "the app")
        app_url = f"http://127.0.0.1:{port_file.read_text()}/hook"
        listen_env = {**base_env, "MUX_WEBHOOK_SECRET": SECRET, "NO_COLOR": "1"}
        with json_out.open("w") as stdout:
            listener = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "muxhook",
                    "listen",
                    "--no-tunnel",
                    "--port",
                    "0",
                    "--db",
                    str(db),
                    "-f",
                    app_url,
                    "--concurrency",
                    str(config.connections),
                    "--json",
                ],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.PIPE,
                text=True,
                env=listen_env,
            )
        assert listener.stderr is not None
        drainer = threading.Thread(target=_drain, args=(listener.stderr, stderr), daemon=True)
        drainer.start()

        def ready() -> str | None:
            for line in list(stderr):
                match = READY.search(line)
                if match:
                    return match.group(1)
            if listener is not None and listener.poll() is not None:
                raise SystemExit("the listener exited:\n" + "\n".join(stderr))
            return None

        wait_for(ready, 30, "the listener")
        listen_url = ready()
        assert listen_url is not None
        sampler = Sampler(listener.pid, db, config.sample_every)

        warmup = min(config.warmup, config.events)
        number = 0
        warm = run_async(
            send(
                listen_url,
                signed_events(warmup, number, config.chunk),
                connections=config.connections,
                rate=config.rate,
            )
        )
        number += warmup
        sampler.sample()  # the baseline: after the warm-up, before the soak proper
        steady = run_async(
            send(
                listen_url,
                signed_events(config.events - warmup, number, config.chunk),
                connections=config.connections,
                rate=config.rate,
                sampler=sampler,
            )
        )
        steady.sent += warm.sent
        steady.not_200 += warm.not_200
        steady.seconds += warm.seconds
        steady.max_late_ms = max(steady.max_late_ms, warm.max_late_ms)
        number += config.events - warmup
        burst = run_async(
            send(
                listen_url,
                signed_events(config.burst, number, config.chunk),
                connections=config.connections,
                rate=None,
                sampler=sampler,
            )
        )
        sampler.sample()
        counts = app_counts(app_url)
        listener.send_signal(signal.SIGINT)
        code = listener.wait(timeout=120)
    finally:
        if listener is not None:
            if listener.poll() is None:
                listener.kill()
                listener.wait(timeout=30)
            if drainer is not None:
                drainer.join(10)
            if listener.stderr is not None:
                listener.stderr.close()
        app.send_signal(signal.SIGINT)
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(timeout=30)

    db_bytes, wal_bytes, shm_bytes = (_size(Path(f"{db}{s}")) for s in ("", "-wal", "-shm"))
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT event_key), total(verdict = 'valid'),"
            " total(delivered = 1), total(duplicate) FROM events"
        ).fetchone()
        attempts = conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
    conn.close()
    lines, json_ids = _json_ids(json_out)
    summary = next((m for m in map(SUMMARY.search, stderr) if m), None)
    return SoakResult(
        config=config,
        sent=config.events + config.burst,
        steady=steady,
        burst=burst,
        recorded=row[0],
        recorded_ids=row[1],
        valid=int(row[2]),
        delivered=int(row[3]),
        attempts=attempts,
        flagged_duplicate=int(row[4]),
        app_posts=counts["posts"],
        app_ids=counts["ids"],
        app_duplicated=counts["duplicated"],
        app_foreign=counts["foreign"],
        json_lines=lines,
        json_ids=json_ids,
        summary_received=int(summary.group(1)) if summary else None,
        exit_code=code,
        rss_samples_kib=sampler.rss,
        db_bytes=db_bytes,
        wal_bytes=wal_bytes,
        shm_bytes=shm_bytes,
        max_log_bytes=sampler.max_log_bytes,
    )


def report(result: SoakResult) -> str:
    """The figures, as the README's tables put them."""
    c, s, b = result.config, result.steady, result.burst
    mib = 1024.0
    lines = [
        f"steady: {s.sent} events at {c.rate:g}/s asked, {s.sent / s.seconds:.0f}/s achieved "
        f"over {s.seconds:.1f} s ({c.connections} connections; at worst "
        f"{s.max_late_ms:.0f} ms behind schedule); non-200 answers: {s.not_200}",
        f"burst: {b.sent} events in {b.seconds:.2f} s ({b.sent / b.seconds:.0f} events/s); "
        f"non-200 answers: {b.not_200}",
        f"sent {result.sent}; logged {result.recorded} rows ({result.recorded_ids} ids, "
        f"{result.valid} valid, {result.delivered} delivered, {result.attempts} attempts); "
        f"app received {result.app_posts} ({result.app_ids} ids); --json lines "
        f"{result.json_lines} ({result.json_ids} ids); summary says received "
        f"{result.summary_received}; exit {result.exit_code}",
        f"lost: {result.lost}; duplicated forwards: {result.duplicated} "
        f"(app saw {result.app_duplicated} repeats, {result.app_foreign} unknown bodies; "
        f"log flagged {result.flagged_duplicate} as duplicate)",
        f"listener RSS over {len(result.rss_samples_kib)} samples (every {c.sample_every} "
        f"events): first {result.rss_first_kib / mib:.1f} MiB, last "
        f"{result.rss_last_kib / mib:.1f} MiB, max {result.rss_max_kib / mib:.1f} MiB "
        f"({(result.rss_last_kib - result.rss_first_kib) / mib:+.1f} MiB)",
        f"log on disk: {result.log_bytes / 2**20:.1f} MiB (db {result.db_bytes / 2**20:.1f}, "
        f"-wal {result.wal_bytes / 2**20:.1f}, -shm {result.shm_bytes / 2**10:.0f} KiB; "
        f"db+wal at most {result.max_log_bytes / 2**20:.1f} MiB during the run) for "
        f"{result.recorded} events: {result.bytes_per_event:.0f} bytes per event "
        f"(each body {len(bodies(1)[0][0])} bytes)",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the steady phase")
    parser.add_argument("--rate", type=float, default=2000.0, help="steady events per second")
    parser.add_argument("--burst", type=int, default=10_000, help="events in the burst")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sample-every", type=int, default=1000, help="events per RSS sample")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--serve-app", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_app:
        serve_counting_app(args.serve_app)
        return 0
    if args.events < 1 or args.rate <= 0 or args.burst < 0 or args.connections < 1:
        parser.error("--events and --connections must be ≥ 1, --rate > 0, --burst ≥ 0")
    config = SoakConfig(
        events=args.events,
        rate=args.rate,
        burst=args.burst,
        connections=args.connections,
        sample_every=args.sample_every,
    )
    with tempfile.TemporaryDirectory(prefix="muxhook-soak-") as scratch:  # the log: 200+ MiB
        result = run_soak(config, scratch=Path(scratch))
    print(json.dumps(result.as_dict(), indent=2) if args.json else report(result))
    return 0 if result.lost == 0 and result.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
