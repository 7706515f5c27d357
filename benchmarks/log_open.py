"""What the event log's safety checks cost: the damage check at open, and the path check
after each commit.

    python benchmarks/log_open.py [-n 100000] [--rounds 7] [--db PATH]

Builds a log of ``-n`` events (1.2 KB bodies, one attempt each, as ``listen`` writes
them) in a temporary folder, or uses ``--db``. Then, median and range over ``--rounds``:

- opening it read-only (``log list``) and read-write (``listen``, ``log replay``), each
  with the damage check (``muxhook.integrity`` walk, plus SQLite's schema read);
- the walk alone, and SQLite's own ``PRAGMA quick_check`` (plain and memory-mapped),
  which the check stands in for;
- the path check run after every commit (one ``stat`` and a comparison), per call, and
  a lone request's commit (``record`` in a transaction) for scale.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from muxhook import integrity, store
from muxhook.records import Attempt, Incoming, Target
from muxhook.store import EventLog

HEADERS = [
    ("Host", "127.0.0.1:8700"),
    ("Content-Type", "application/json"),
    ("Mux-Signature", "t=1700000000,v1=" + "ab" * 32),
]
BODY = b'{"type":"video.asset.ready","data":{"id":"x"},"pad":"' + b"y" * 1100 + b'"}'
TARGETS = [Target("http://127.0.0.1:3000/webhooks/mux")]


def build(path: Path, events: int) -> None:
    """``events`` delivered events, written in transactions of a thousand."""
    with EventLog(path) as log:
        for start in range(0, events, 1000):
            with log.transaction():
                for n in range(start, min(events, start + 1000)):
                    now = time.time()
                    event_id = log.record(
                        Incoming(now, "POST", "/webhooks/mux", HEADERS, BODY, "127.0.0.1:1"),
                        provider="mux",
                        event_type="video.asset.ready",
                        event_key=f"evt-{n}",
                        object_id=f"asset-{n % 500}",
                        verdict="valid",
                        targets=TARGETS,
                    )
                    log.add_attempt(event_id, Attempt(now, TARGETS[0].url, 200, 1.2, b"ok", None))


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    """Milliseconds per round."""
    taken = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        taken.append((time.perf_counter() - started) * 1000)
    return taken


def line(label: str, milliseconds: list[float], unit: str = "ms") -> None:
    median = statistics.median(milliseconds)
    print(f"{label:<44} {median:8.2f} {unit}  ({min(milliseconds):.2f}–{max(milliseconds):.2f})")


def quick_check(path: Path, mapped: bool) -> None:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if mapped:
            conn.execute("PRAGMA mmap_size = 4294967296")
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
    finally:
        conn.close()


def roots(path: Path) -> list[int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [1] + [r for (r,) in conn.execute("SELECT rootpage FROM sqlite_master") if r]
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", type=Path, help="measure this log instead of building one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or Path(scratch) / "events.db"
        if args.db is None:
            started = time.perf_counter()
            build(path, args.events)
            print(f"built {args.events:,} events in {time.perf_counter() - started:.1f} s")
        size = path.stat().st_size
        print(f"log: {size / 2**20:.0f} MiB, {size // 4096:,} pages of 4 KiB\n")
        timed(lambda: EventLog(path, read_only=True).close(), 2)  # the page cache, warm

        line("open read-only (log list), check included", timed(
            lambda: EventLog(path, read_only=True).close(), args.rounds))  # fmt: skip
        line("open read-write (listen), check included", timed(
            lambda: EventLog(path).close(), args.rounds))  # fmt: skip
        found = roots(path)
        line("  the page walk alone", timed(lambda: integrity.walk(path, found), args.rounds))
        line("PRAGMA quick_check (what the walk stands for)", timed(
            lambda: quick_check(path, False), args.rounds))  # fmt: skip
        line("PRAGMA quick_check, memory-mapped", timed(
            lambda: quick_check(path, True), args.rounds))  # fmt: skip

        calls = 100_000
        identity = store._identity(path)

        def checks() -> None:
            for _ in range(calls):
                if store._identity(path) != identity:
                    raise AssertionError("the log moved")

        per_call = [ms * 1000 / calls for ms in timed(checks, args.rounds)]
        print()
        line("path check after a commit (stat + compare)", per_call, "us")
        with EventLog(Path(scratch) / "commit.db") as log:
            incoming = Incoming(time.time(), "POST", "/webhooks/mux", HEADERS, BODY, "x")

            def commits() -> None:
                for _ in range(1000):
                    with log.transaction():
                        log.record(incoming, provider="mux", verdict="valid", targets=TARGETS)

            per_commit = timed(commits, args.rounds)  # ms per 1,000 commits: us per commit
            line("a lone request's commit, that check included", per_commit, "us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
