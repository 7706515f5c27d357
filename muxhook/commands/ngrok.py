"""``muxhook ngrok install``: the ngrok agent, downloaded when asked."""

from __future__ import annotations

import dataclasses
import os
import shlex
import typing
from typing import Annotated

from muxhook.errors import ExitCode
from muxhook.options import option

if typing.TYPE_CHECKING:
    from muxhook.render import Output

__all__ = ["NgrokInstallOptions", "ngrok_install"]


@dataclasses.dataclass(frozen=True)
class NgrokInstallOptions:
    """``muxhook ngrok install``'s options."""

    path: Annotated[
        str | None,
        option(
            "--path",
            help="Where to put the agent (default: pyngrok's own place).",
            show_default=False,
        ),
    ] = None


def ngrok_install(out: Output, options: NgrokInstallOptions) -> ExitCode:
    """Download the ngrok agent (only on this explicit request)."""
    from muxhook import tunnel

    out.say("downloading the ngrok agent…")
    installed = tunnel.install_ngrok(options.path)
    out.result(installed)
    found = tunnel.resolve_ngrok_path()
    if found is not None and os.path.realpath(found) == os.path.realpath(installed):
        out.say(f"installed the ngrok agent at {installed}; muxhook listen finds it there")
    else:
        # Another agent comes first (on PATH, MUXHOOK_NGROK_PATH), or nothing looks there.
        how = f"--ngrok-path {shlex.quote(installed)}"
        first = f" (it finds {found} first)" if found else ""
        out.say(
            f"installed the ngrok agent at {installed}; muxhook listen runs it with {how} "
            f"or MUXHOOK_NGROK_PATH={shlex.quote(installed)}{first}"
        )
    if not tunnel.authtoken_configured():
        out.say(f"next, give it your authtoken: {tunnel.authtoken_advice(installed)}")
    return ExitCode.OK
