"""``muxhook inspect``: the web inspector over an event log, without listening."""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Annotated

from muxhook.commands.common import check_port, open_log, run_loop
from muxhook.errors import ExitCode
from muxhook.options import Db, option

if typing.TYPE_CHECKING:
    import asyncio

    from muxhook.render import Output

__all__ = ["InspectOptions", "inspect"]


@dataclasses.dataclass(frozen=True)
class InspectOptions:
    """``muxhook inspect``'s options."""

    db: Db = None
    port: Annotated[
        int | None,
        option(
            "--port",
            "-p",
            help="Port to serve on (default 8701, or a free one when it is busy; 0: any free).",
            show_default=False,
        ),
    ] = None
    host: Annotated[
        str, option("--host", help="Address to serve on; loopback only unless --allow-remote.")
    ] = "127.0.0.1"
    allow_remote: Annotated[
        bool,
        option(
            "--allow-remote",
            help="Allow a --host other machines can reach (they can read every event).",
        ),
    ] = False
    open_: Annotated[bool, option("--open", help="Open the page in your browser.")] = False
    timeout: Annotated[
        float, option("--timeout", help="Seconds to wait for your app on a replay.")
    ] = 30.0


def inspect(out: Output, options: InspectOptions, *, stop: asyncio.Event | None = None) -> ExitCode:
    """Browse the event log in a web page (no listening): filter, replay, timelines."""
    from muxhook.inspector import server
    from muxhook.inspector.actions import Actions, secrets_from_environment

    check_port(options.port, "--port")
    if not server.check_host(options.host, allow_remote=options.allow_remote):
        out.warn(
            f"the inspector listens on {options.host}: other machines can read every event in the "
            "log (actions still need the token in the URL)"
        )
    with open_log(options.db, read_only=True) as log:  # a missing or foreign file: one line, now
        path = log.path
    sock = server.bind(
        options.host,
        server.DEFAULT_PORT if options.port is None else options.port,
        fallback=options.port is None,
    )
    actions = Actions(path, secrets_from_environment(), timeout=options.timeout)
    inspector = server.InspectorServer(path, actions, sock, mode="inspect")

    async def main() -> None:
        import asyncio
        import signal

        stopping = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        if sys.platform != "win32":
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(number, stopping.set)
        await inspector.start()
        out.say(f"muxhook inspect: showing the event log at {path}")
        out.say(f"inspector: {inspector.url} (Ctrl-C to stop)")
        if options.open_:
            import webbrowser

            await loop.run_in_executor(None, webbrowser.open, inspector.url)
        try:
            await stopping.wait()
        finally:
            await inspector.stop()

    try:
        run_loop(main())
    finally:
        sock.close()
    out.say("inspector stopped")
    return ExitCode.OK
