"""Start-up time of muxhook's fast commands, side by side with a baseline, in one run.

    python benchmarks/startup.py [--runs 30] [--mux-cli PATH]

Each command runs ``--runs`` times, interleaved round-robin so that drift in the
machine's load touches every row alike; the table shows the median and the 90th
percentile of wall time. ``python -c pass`` is the floor. The official Mux CLI
joins the table when ``--mux-cli`` (or ``MUX_CLI``) names its binary, e.g. the
compiled one from the ``@mux/cli-linux-x64`` npm package.

muxhook is measured as installed: its modules are compiled to bytecode first (pip
does this at install time) and PYTHONDONTWRITEBYTECODE is dropped for the runs, since
compiling every module from source on each start would measure something no user runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "benchmark-secret-0123456789"  # noqa: S105  (a test value)


def measure(
    commands: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, list[float]]:
    """Wall times in ms per command, each run once per round, ``runs`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # one warm-up each: caches, bytecode
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            done = subprocess.run(
                argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
            times[name].append((time.perf_counter() - started) * 1000)
            if done.returncode != 0:
                raise SystemExit(f"{name}: exited {done.returncode}: {' '.join(argv)}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--mux-cli", default=os.environ.get("MUX_CLI"))
    args = parser.parse_args()

    muxhook = shutil.which("muxhook", path=str(Path(sys.executable).parent)) or "muxhook"
    env = {**os.environ, "MUX_WEBHOOK_SECRET": SECRET}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    package = Path(__file__).resolve().parent.parent / "muxhook"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, env=env)
    with tempfile.TemporaryDirectory() as scratch:
        body = Path(scratch) / "body.json"
        signed = subprocess.run(
            [muxhook, "sign", "video.asset.ready", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        import json

        document = json.loads(signed)
        body.write_text(document["body"], encoding="utf-8")
        header = f"Mux-Signature: {document['headers']['Mux-Signature']}"
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "muxhook --version": [muxhook, "--version"],
            "muxhook sign video.asset.ready": [muxhook, "sign", "video.asset.ready"],
            "muxhook verify body.json -H …": [muxhook, "verify", str(body), "-H", header],
            "muxhook events": [muxhook, "events"],
            "muxhook --help (through Typer)": [muxhook, "--help"],
        }
        if args.mux_cli:
            commands["official Mux CLI: mux --version"] = [args.mux_cli, "--version"]
        times = measure(commands, args.runs, env)

    width = max(map(len, times))
    print(f"{'command':<{width}}  {'median':>8}  {'p90':>8}   ({args.runs} runs each, interleaved)")
    for name, samples in times.items():
        ordered = sorted(samples)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(f"{name:<{width}}  {statistics.median(samples):7.1f}ms  {p90:7.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
