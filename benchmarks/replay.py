"""``muxhook replay`` throughput, side by side with a direct load generator, in one run.

    python benchmarks/replay.py [--events 1000] [--concurrency 16]

A fast app (the same trivial uvicorn app as ``benchmarks/listen.py``) receives:
a direct burst of pre-signed events from a keep-alive load generator (the ceiling),
then ``muxhook replay DIR`` of the same number of fixture files in order, then with
``--concurrency``. Replay is timed as a person sees it: the whole command, start-up,
planning, signing each event afresh and the summary included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from listen import SECRET, app_count, bodies, burst, wait_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="muxhook-replay-bench-"))
    port_file = scratch / "app.port"
    app = subprocess.Popen([sys.executable, str(HERE / "listen.py"), "--serve-app", str(port_file)])
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text(), 20, "the app")
        url = f"http://127.0.0.1:{port_file.read_text()}/hook"
        events = bodies(args.events)
        folder = scratch / "fixtures" / "mux"
        folder.mkdir(parents=True)
        for n, (body, _) in enumerate(events):
            (folder / f"{n:05d}-video.asset.ready.json").write_bytes(body)

        asyncio.run(burst(url, bodies(200, start=10**7), 8))  # warm-up
        direct = args.events / asyncio.run(burst(url, events, args.concurrency))
        env = {**os.environ, "MUX_WEBHOOK_SECRET": SECRET, "NO_COLOR": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured as installed: with bytecode
        rows = []
        for label, extra in (
            ("muxhook replay DIR (in order)", []),
            (
                f"muxhook replay DIR --concurrency {args.concurrency}",
                ["--concurrency", str(args.concurrency)],
            ),
        ):
            before = app_count(url)
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "muxhook",
                    "replay",
                    str(scratch / "fixtures"),
                    "--to",
                    url,
                    "--json",
                    *extra,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"{label} exited {done.returncode}: {done.stderr[-500:]}")
            delivered = app_count(url) - before
            first = json.loads(done.stdout.splitlines()[0])
            assert first["ok"], first
            sent = re.search(r"sent in ([0-9.]+) s", done.stderr)
            sending = args.events / float(sent.group(1)) if sent else 0.0
            rows.append((label, args.events / elapsed, elapsed, sending, delivered))
    finally:
        app.send_signal(signal.SIGINT)
        app.wait(timeout=30)

    print(f"{args.events} events to a trivial local app (whole command timed, start-up included)")
    print(f"{'':44}{'command':>10}{'seconds':>10}{'sending':>10}{'delivered':>11}")
    print(f"{'':44}{'events/s':>10}{'':>10}{'events/s':>10}")
    print(
        f"{'direct load generator, ' + str(args.concurrency) + ' connections':44}"
        f"{'':>10}{'':>10}{direct:10.0f}"
    )
    for label, rate, elapsed, sending, delivered in rows:
        print(f"{label:44}{rate:10.0f}{elapsed:10.2f}{sending:10.0f}{delivered:11d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
