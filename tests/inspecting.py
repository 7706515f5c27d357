"""The web inspector for the tests: a log to show, the server in-process or as a process,
and the page's address as printed."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from muxhook import providers, signing
from muxhook.inspector.actions import Actions, secrets_from
from muxhook.inspector.server import InspectorServer, bind
from muxhook.records import Attempt, Incoming
from muxhook.store import EventLog
from tests.listening import Listener, muxhook_env

INSPECTOR = re.compile(r"inspector: (http://\S+)")


def record(
    log: EventLog,
    body: bytes,
    *,
    provider: str = "mux",
    secret: str | None = None,
    at: float | None = None,
    headers: Mapping[str, str] | None = None,
    path: str = "/webhooks/mux",
    attempt: Attempt | None = None,
    verdict: str = "valid",
) -> int:
    """One event as listen records it (what the body says, its verdict), with an attempt."""
    when = time.time() if at is None else at
    sent = dict(headers or {})
    if secret is not None:
        sent.update(signing.sign(body, secret=secret, provider=provider, timestamp=int(when)))
    described = providers.get(provider).describe(body, sent)
    row = log.record(
        Incoming(when, "POST", path, list(sent.items()), body, "127.0.0.1:50000"),
        provider=provider,
        event_type=described.event_type,
        event_key=described.event_id,
        object_id=described.object_id,
        verdict=verdict,
        duplicate=bool(described.event_id and log.seen(provider, described.event_id)),
        forwarding=attempt is not None,
    )
    if attempt is not None:
        log.add_attempt(row, attempt)
    return row


def attempt(target: str, status: int | None = 200, answer: bytes = b"{}") -> Attempt:
    """A forward attempt as the log keeps it."""
    error = None if status is not None else "connection refused"
    return Attempt(time.time(), target, status, 3.5, answer, error)


@contextmanager
def inspector_in_thread(
    db: Path,
    secrets: Mapping[str, str] | None = None,
    *,
    save_dir: Path | None = None,
) -> Iterator[InspectorServer]:
    """``InspectorServer`` on its own loop in a thread, port 0, until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    actions = Actions(db, secrets_from(dict(secrets or {})), timeout=10, save_dir=save_dir)
    server = InspectorServer(db, actions, bind("127.0.0.1", 0))
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(20)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(20)
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _cancel_the_rest() -> None:
    """End what libraries left running on the loop (sse-starlette's shutdown watcher)."""
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def base(url: str) -> str:
    """``http://127.0.0.1:PORT`` of a page URL."""
    return url.split("/?", 1)[0].rstrip("/")


def printed_inspector(listener: Listener, timeout: float = 20.0) -> str:
    """The ``inspector: URL`` a running listener printed (bounded wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(listener.stderr):
            found = INSPECTOR.match(line)
            if found:
                return found.group(1)
        time.sleep(0.02)
    raise AssertionError("no inspector line:\n" + "\n".join(listener.stderr))


@contextmanager
def inspecting(
    home: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    """``muxhook inspect ARGS`` as a process: its page URL, the process, its stderr lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "muxhook", "inspect", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=muxhook_env(home, env),
        cwd=home,
    )
    lines: list[str] = []

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        url = ""
        while not url and time.monotonic() < deadline and process.poll() is None:
            url = next((m.group(1) for m in map(INSPECTOR.match, list(lines)) if m), "")
            time.sleep(0.02)
        if not url:
            raise AssertionError("muxhook inspect did not start:\n" + "\n".join(lines))
        yield url, process, lines
    finally:
        if process.poll() is None:
            process.send_signal(2)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
