"""The matrix's peers, started once per session: every app server, and three listeners.

- ``listens.app``: ``--ack app`` (the sender gets the app's answer), 5 s forward timeout;
  one route per server and answer kind, by event type ``conformance.<server>.<kind>``.
- ``listens.immediate``: ``--ack immediate`` with retries: answered 200 at once.
- ``listens.short``: a 0.5 s forward timeout, for apps that answer too late, or never
  finish their answer and keep the connection open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conformance.events import SECRET
from tests.conformance.peers import SERVERS, AppServer, running
from tests.listening import Listener, listening

#: Servers whose idle kept-alive connections the idle case closes (werkzeug and
#: http.server 1.0 close every connection after one answer already).
IDLE_SERVERS = tuple(name for name in SERVERS if name not in ("werkzeug", "stdlib10"))
IDLE_SECONDS = 1.0


class Peers(NamedTuple):
    apps: dict[str, AppServer]  # long keep-alive
    idle: dict[str, AppServer]  # close idle connections after IDLE_SECONDS


class Listen(NamedTuple):
    url: str
    db: Path
    process: Listener


class Listens(NamedTuple):
    app: Listen
    immediate: Listen
    short: Listen


def event_type(server: str, kind: str) -> str:
    """The event type listen routes to ``kind`` on ``server``."""
    return f"conformance.{server}.{kind}"


@pytest.fixture(scope="session")
def peers() -> Iterator[Peers]:
    """Every app server of the matrix, twice: as configured, and quick to close idle
    connections. All start at once."""
    with ExitStack() as stack:
        apps = stack.enter_context(running(SERVERS, start_only=True))
        idle = stack.enter_context(running(IDLE_SERVERS, idle=IDLE_SECONDS, start_only=True))
        for server in [*apps.values(), *idle.values()]:
            server.wait_ready()
        yield Peers(apps, idle)


def _routes(peers: Peers, kinds: dict[str, str]) -> list[str]:
    """``--forward-to TYPE=URL`` for every server; ``kinds`` maps a route's name to the
    kind the app answers (``expect`` is answered as ``length``)."""
    options = []
    for name, server in peers.apps.items():
        for route, kind in kinds.items():
            if kind in SERVERS[name].kinds:
                options += ["--forward-to", f"{event_type(name, route)}={server.url}/{kind}"]
    return options


@pytest.fixture(scope="session")
def listens(peers: Peers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listens]:
    """Three listen processes, started at once."""
    every = {kind: kind for kind in ("length", "chunked", "close", "nocontent", "error")}
    every |= {kind: kind for kind in ("slow", "interim", "reset", "lying")}
    every["expect"] = every["replayed"] = "length"
    idle_routes = []
    for name, server in peers.idle.items():
        idle_routes += ["--forward-to", f"{event_type(name, 'idle')}.*={server.url}/length"]
    setups = {
        "app": [*_routes(peers, every), *idle_routes, "--forward-timeout", "5"],
        "immediate": [*_routes(peers, {"expect": "length"}), "--ack", "immediate"],
        "short": [
            *_routes(peers, {"timeout": "timeout", "lying": "lying"}),
            "--forward-timeout",
            "0.5",
        ],
    }
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    with ExitStack() as stack:
        started = {}
        for name, options in setups.items():
            home = tmp_path_factory.mktemp(f"listen-{name}")
            db = home / "events.db"
            common = ["--port", "0", "--no-tunnel", "--json", "--db", str(db)]
            process = stack.enter_context(
                listening(*common, *options, home=home, env=env, ready=False)
            )
            started[name] = (process, db)
        done = {}
        for name, (process, db) in started.items():
            process.wait_ready()
            done[name] = Listen(process.url, db, process)
        yield Listens(**done)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Senders go straight to 127.0.0.1 whatever proxy the machine sets."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
