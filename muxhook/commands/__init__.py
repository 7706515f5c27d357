"""The commands: one module each, and ``run``, where every failure becomes an exit code.

A command module holds the command's options (a frozen dataclass, declared once: see
``muxhook.options``) and a function ``command(out, options) -> ExitCode`` that builds
the objects it needs, runs the core and renders the result. Both front doors call it
through ``run``: the Typer app in ``muxhook.cli``, and the fast path in
``muxhook._entry`` for ``sign`` and ``verify``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import typing
from collections.abc import Callable
from typing import TypeVar

from muxhook.errors import ExitCode, MuxhookError

if typing.TYPE_CHECKING:
    from muxhook.render import Output

__all__ = ["run"]

OptionsT = TypeVar("OptionsT")


def run(
    command: Callable[[Output, OptionsT], ExitCode],
    options: OptionsT,
    /,
    *,
    out: Output | None = None,
) -> int:
    """Run ``command`` and map every failure to one line and a documented exit code."""
    from muxhook.render import Output

    out = out or Output()
    try:
        return int(command(out, options))
    except MuxhookError as error:
        out.error(str(error))
        return int(error.exit_code)
    except KeyboardInterrupt:
        out.say("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader of our stdout went away (| head): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except OSError as error:
        # The machine refused something nothing above expected (stdout on a full disk,
        # /dev/full): one line, not a traceback; then stop the final flush failing again.
        out.error(f"{error.strerror or error}: muxhook could not finish")
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.ENVIRONMENT)
