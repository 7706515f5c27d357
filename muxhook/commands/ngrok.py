"""``muxhook ngrok install``: the ngrok agent, downloaded when asked."""

from __future__ import annotations

import dataclasses
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
    out.say("done; muxhook listen finds it there (or pass --ngrok-path)")
    return ExitCode.OK
