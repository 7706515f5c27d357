"""The matrix's app servers as processes: started together, each on 127.0.0.1 port 0.

Each server writes one JSON line to stdout per request it received (``kinds.record``)
and says where it listens on stdout or stderr; ``AppServer`` reads both in threads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
LISTENING = re.compile(r"http://127\.0\.0\.1:([1-9][0-9]*)")

#: Kinds every server can answer.
COMMON = ("length", "nocontent", "error", "slow", "lying", "timeout")


class ServerSpec(NamedTuple):
    """How to start one server, and the kinds (``kinds.KINDS``) it can answer."""

    kinds: tuple[str, ...]
    family: str  # node | wsgi | django | asgi | aiohttp | stdlib: how it is started


SERVERS: dict[str, ServerSpec] = {
    "node": ServerSpec((*COMMON, "chunked", "close", "interim", "reset"), "node"),
    "express": ServerSpec((*COMMON, "chunked", "close", "interim", "reset"), "node"),
    "werkzeug": ServerSpec((*COMMON, "chunked"), "serve"),
    "gunicorn": ServerSpec((*COMMON, "chunked", "reset"), "gunicorn"),
    "waitress": ServerSpec((*COMMON, "chunked"), "serve"),
    "django": ServerSpec((*COMMON, "close"), "django"),
    "uvicorn-httptools": ServerSpec((*COMMON, "chunked"), "uvicorn"),
    "uvicorn-h11": ServerSpec((*COMMON, "chunked"), "uvicorn"),
    "hypercorn": ServerSpec((*COMMON, "chunked"), "hypercorn"),
    "aiohttp": ServerSpec((*COMMON, "chunked", "reset"), "serve"),
    "stdlib10": ServerSpec((*COMMON, "close", "reset"), "serve"),
    "stdlib11": ServerSpec((*COMMON, "chunked", "close", "interim", "reset"), "serve"),
}


def command(name: str, idle: float) -> tuple[list[str], dict[str, str]]:
    """The command line and extra environment that start server ``name``.

    ``idle``: seconds an idle kept-alive connection stays open; 0 for a long time (300 s),
    so that no server closes a pooled connection in the middle of the other cases.
    """
    python = sys.executable
    family = SERVERS[name].family
    keep = str(int(idle or 300))
    env = {"CONFORMANCE_SERVER": name}
    if family == "node":
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not on PATH: install Node >= 18", pytrace=False)
        mode = "http" if name == "node" else "express"
        return [node, str(NODE_DIR / "app.mjs"), mode, str(idle)], env
    if family == "serve":
        return [python, "-m", "tests.conformance.serve", name, str(idle)], env
    if family == "gunicorn":
        app = "tests.conformance.wsgi_app:app"
        threads = ["--worker-class", "gthread", "--threads", "8", "--workers", "1"]
        return [
            python,
            "-m",
            "gunicorn",
            "--bind",
            "127.0.0.1:0",
            *threads,
            "--keep-alive",
            keep,
            app,
        ], env
    if family == "django":
        env["DJANGO_SETTINGS_MODULE"] = "tests.conformance.django_site"
        if idle:
            env["CONFORMANCE_IDLE"] = str(idle)
        return [python, "-m", "django", "runserver", "127.0.0.1:0", "--noreload"], env
    if family == "uvicorn":
        http = name.removeprefix("uvicorn-")
        options = ["--host", "127.0.0.1", "--port", "0", "--http", http, "--no-access-log"]
        app = "tests.conformance.asgi_app:app"
        return [python, "-m", "uvicorn", *options, "--timeout-keep-alive", keep, app], env
    if family == "hypercorn":
        app = "tests.conformance.asgi_app:app"
        return [python, "-m", "hypercorn", "--bind", "127.0.0.1:0", "--keep-alive", keep, app], env
    raise AssertionError(f"no command for {name}")


class AppServer:
    """A running app server: its base URL and every request it has recorded."""

    def __init__(self, name: str, idle: float = 0.0) -> None:
        self.name = name
        self.idle = idle
        argv, extra = command(name, idle)
        env = {**os.environ, **extra, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.url = ""
        self.records: list[dict[str, Any]] = []
        self.log: list[str] = []  # every other line it printed
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, stream: Iterable[str] | None) -> None:
        assert stream is not None
        for line in stream:
            line = line.rstrip("\n")
            with self._changed:
                if line.startswith("{"):
                    self.records.append(json.loads(line))
                else:
                    self.log.append(line)
                    found = LISTENING.search(line)
                    if found and not self.url:
                        self.url = f"http://127.0.0.1:{found.group(1)}"
                self._changed.notify_all()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the server said where it listens (bounded)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.url and self.process.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.5))
        if not self.url:
            self.stop()
            pytest.fail(f"{self.name} did not start:\n" + "\n".join(self.log[-30:]), pytrace=False)

    def received(self, sha256: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The records of requests whose body hashes to ``sha256``, once there are ``count``
        (or when ``timeout`` runs out)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.records if r["sha256"] == sha256]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._changed.wait(min(left, 0.5))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for thread in self._threads:
            thread.join(5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def running(
    names: Iterable[str], idle: float = 0.0, *, start_only: bool = False
) -> Iterator[dict[str, AppServer]]:
    """Start every named server at once, wait until all listen (unless ``start_only``: then
    the caller calls ``wait_ready``), and stop them all at the end."""
    servers: dict[str, AppServer] = {}
    try:
        for name in names:
            servers[name] = AppServer(name, idle)
        if not start_only:
            for server in servers.values():
                server.wait_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()
