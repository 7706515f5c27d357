"""``muxhook listen`` as a real process, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

READY = re.compile(r"Ready: listening on (http://\S+)")


class Listener:
    """A running listener: its URL, and what it has printed so far."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.url = ""
        self.public_url: str | None = None
        self.code: int | None = None
        self._threads = [  # a stream not piped here (stdout into another process) is left
            threading.Thread(target=self._drain, args=(stream, into), daemon=True)
            for stream, into in ((process.stdout, self.stdout), (process.stderr, self.stderr))
            if stream is not None
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _drain(stream: object, into: list[str]) -> None:
        assert stream is not None
        for line in stream:  # type: ignore[attr-defined]
            into.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stderr):
                if line.startswith("  public URL: "):
                    self.public_url = line.removeprefix("  public URL: ").strip()
                match = READY.search(line)
                if match:
                    self.url = match.group(1)
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise AssertionError("listener did not start:\n" + "\n".join(self.stderr))

    def wait_for_stdout(self, count: int, timeout: float = 20.0) -> list[str]:
        """Block until stdout has ``count`` lines (bounded)."""
        deadline = time.monotonic() + timeout
        while len(self.stdout) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.stdout)

    def wait_for_stderr(self, fragment: str, timeout: float = 20.0) -> str:
        """Block until a stderr line holds ``fragment`` (bounded); that line, or ""."""
        return self._wait_for_line(self.stderr, fragment, timeout)

    def wait_for_line(self, fragment: str, timeout: float = 20.0) -> str:
        """Block until a stdout line holds ``fragment`` (bounded); that line, or ""."""
        return self._wait_for_line(self.stdout, fragment, timeout)

    def _wait_for_line(self, lines: list[str], fragment: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in list(lines) if fragment in line), None)
            if found is not None:
                return found
            if self.process.poll() is not None and self.process.returncode is not None:
                time.sleep(0.1)  # what it printed last may still be on its way
                return next((line for line in list(lines) if fragment in line), "")
            time.sleep(0.02)
        return ""

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.code = self.process.wait()
        for thread in self._threads:
            thread.join(5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return self.code


def run_muxhook(
    home: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60.0,
    wrapper: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``muxhook ARGS`` as a process in ``home``: ``env`` on top of a clean environment,
    ``stdin`` as its input (else none, as in CI), ``wrapper`` before the interpreter."""
    return subprocess.run(
        [*wrapper, sys.executable, "-m", "muxhook", *args],
        capture_output=True,
        text=True,
        env=muxhook_env(home, env),
        cwd=home,
        timeout=timeout,
        check=False,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
    )


def muxhook_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a muxhook process: no secrets or ngrok config from this machine."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MUX_", "FASTPIX_", "MILLICAST_", "NGROK_", "MUXHOOK_", "PYNGROK_"))
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1")
    env.update(XDG_DATA_HOME=str(home / ".local" / "share"))
    env.update(extra or {})
    return env


@contextmanager
def listening(
    *args: str,
    home: Path,
    env: Mapping[str, str] | None = None,
    ready: bool = True,
    own_group: bool = False,
) -> Iterator[Listener]:
    """Start ``muxhook listen ARGS`` and stop it with SIGINT when the block ends.

    ``own_group`` puts it in a process group of its own, as a shell does with a command
    it runs in the foreground, so that a test can send the group a terminal's Ctrl-C.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "muxhook", "listen", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=muxhook_env(home, env),
        cwd=home,
        start_new_session=own_group,
    )
    listener = Listener(process)
    try:
        if ready:
            listener.wait_ready()
        yield listener
    finally:
        listener.stop()


def listen_locally(
    home: Path, db: Path, *options: str, env: Mapping[str, str] | None = None
) -> AbstractContextManager[Listener]:
    """``muxhook listen`` on a free port, no tunnel, its log at ``db``; its inspector on
    a free port too, unless the options say otherwise (the suite leaves 8701 to the user)."""
    said = any(o.startswith(("--inspect-port", "--no-inspect")) for o in options)
    inspector = () if said else ("--inspect-port", "0")
    return listening(
        "--port", "0", "--no-tunnel", "--db", str(db), *inspector, *options, home=home, env=env
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """The objects of a ``--json`` output: one JSON object per line."""
    import json

    return [json.loads(line) for line in text.splitlines() if line.strip()]
