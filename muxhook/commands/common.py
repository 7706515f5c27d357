"""What several commands share: where a secret, a fixture or the log comes from, the
event loop, and times written as ``--since`` takes them."""

from __future__ import annotations

import os
import sys
import time
import typing
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from muxhook.errors import EnvironmentProblem, UsageError

if typing.TYPE_CHECKING:
    from muxhook.fixtures import Fixture
    from muxhook.records import StoredEvent

__all__ = [
    "LogFilter",
    "check_port",
    "load_fixture",
    "logged_events",
    "open_log",
    "parse_since",
    "run_loop",
    "signing_secret",
    "usable_folder",
]

T = TypeVar("T")


def signing_secret(provider: str, explicit: str | None) -> str:
    """The provider's signing secret (``--secret``, its variable, ``.env``), or a UsageError
    saying where to put it."""
    from muxhook import providers
    from muxhook.secrets import resolve_secret

    found = resolve_secret(provider, explicit)
    if found is None:
        module = providers.get(provider)
        raise UsageError(
            f"no {module.LABEL} signing secret: pass --secret, set {module.SECRET_ENV}, "
            f"or add {module.SECRET_ENV}=… to .env"
        )
    return found.value


def load_fixture(
    ref: str, provider: str | None, sets: list[str], unsets: list[str], *, fresh_ids: bool = False
) -> Fixture:
    """A bundled event, a fixture file or stdin (``-``), with fresh ids and overrides."""
    from muxhook import fixtures, providers

    if ref == "-":
        body = sys.stdin.buffer.read()
        name = provider or providers.guess(body)
        fixture = fixtures.Fixture(name, body, providers.get(name).event_type(body))
    else:
        fixture = fixtures.load(ref, provider=provider)
    body = fixture.body
    if fresh_ids:
        body = fixtures.with_fresh_ids(body, fixture.provider)
    body = fixtures.apply_overrides(body, sets, unsets, origin=ref)
    if body is fixture.body:
        return fixture
    module = providers.get(fixture.provider)
    return fixture._replace(body=body, event_type=module.event_type(body))


def check_port(port: int | None, option: str) -> None:
    """One UsageError line when a port to listen on is not one from 0 to 65535 (``None``:
    not given)."""
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"{option} {port}: give a port from 0 to 65535")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its result on uvloop when it is installed (faster sockets),
    else on asyncio."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    uvloop.install()  # pragma: no cover - Python 3.10
    return asyncio.run(main)  # pragma: no cover


def parse_since(text: str | None, option: str = "--since") -> float | None:
    """``10m``, ``2h``, ``1d``, ``30s``, a unix time, or an ISO date/time → unix seconds
    (``option`` names the flag in the error line)."""
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip()
    if value[-1:] in units and value[:-1].replace(".", "", 1).isdigit():
        return time.time() - float(value[:-1]) * units[value[-1]]
    try:
        return float(value)
    except ValueError:
        pass
    import datetime

    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: give 10m, 2h, 1d, a unix time or an ISO time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


def open_log(db: str | None, *, read_only: bool = False) -> Any:
    from muxhook.store import EventLog, default_db_path

    path = Path(db) if db else default_db_path()
    if not path.exists():
        raise UsageError(f"no event log at {path} yet: run 'muxhook listen' first, or pass --db")
    return EventLog(path, read_only=read_only)


class LogFilter(typing.Protocol):
    """The options that pick events from the log (``log list``, ``replay --from-log``)."""

    @property
    def db(self) -> str | None: ...
    @property
    def type_(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def since(self) -> str | None: ...
    @property
    def limit(self) -> int | None: ...


def logged_events(options: LogFilter) -> list[StoredEvent]:
    """The logged events ``--type``, ``--status``, ``--since`` and ``--limit`` pick."""
    with open_log(options.db, read_only=True) as log:
        rows: list[StoredEvent] = log.list(
            type_glob=options.type_,
            status=options.status,
            since=parse_since(options.since),
            limit=options.limit,
        )
    return rows


def usable_folder(folder: Path, option: str) -> None:
    """Create ``folder`` (owner-only) or say in one line why it cannot be used."""
    from muxhook._files import private_folder

    try:
        private_folder(folder)
    except OSError as error:
        raise EnvironmentProblem(f"{option} {folder}: cannot use it ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise EnvironmentProblem(f"{option} {folder}: cannot write in it")
