"""Write throughput of the event log, the way ``listen`` writes: three commits per event.

    python benchmarks/store_write.py [-n 10000] [--body-size 1500] [--db PATH]

Each event is ``record`` + ``set_verdict`` + ``add_attempt`` into a fresh file in a
temporary folder (or ``--db``), one after another on one thread, as the listener's
hot path does. Prints events per second.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from muxhook.records import Attempt, Incoming
from muxhook.store import EventLog

HEADERS = [
    ("host", "127.0.0.1:8787"),
    ("content-type", "application/json"),
    ("user-agent", "Mux Webhooks/1.0"),
    ("mux-signature", "t=1700000000,v1=" + "ab" * 32),
]


def run(path: Path, events: int, body_size: int) -> float:
    """Seconds taken to write ``events`` events into the log at ``path``."""
    body = os.urandom(body_size)
    with EventLog(path) as log:
        started = time.perf_counter()
        for n in range(events):
            now = time.time()
            event_id = log.record(Incoming(now, "POST", "/hooks", HEADERS, body, "127.0.0.1:1"))
            log.set_verdict(
                event_id,
                provider="mux",
                event_type="video.asset.ready",
                event_key=f"evt-{n}",
                object_id="asset-1",
                verdict="valid",
                reason=None,
                duplicate=log.seen("mux", f"evt-{n}", before=event_id),
            )
            log.add_attempt(event_id, Attempt(now, "http://127.0.0.1:3000", 200, 1.2, b"ok", None))
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--events", type=int, default=10_000)
    parser.add_argument("--body-size", type=int, default=1500, help="bytes per body")
    parser.add_argument("--db", type=Path, help="write here instead of a temporary file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or Path(scratch) / "events.db"
        seconds = run(path, args.events, args.body_size)
    rate = args.events / seconds
    print(
        f"{args.events} events (record + seen + set_verdict + add_attempt, "
        f"{args.body_size} B bodies) in {seconds:.2f} s: {rate:,.0f} events/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
