"""The Typer app, built from each command's options (``muxhook.options``).

A command's options are declared once, as a dataclass in its module; this module turns
each into a Typer command (its help, choices and defaults) whose callback builds the
options object and runs the command through ``muxhook.commands.run``. It holds no
option of its own but ``--version``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer

from muxhook import __version__, commands, options
from muxhook.errors import ExitCode, UsageError

__all__ = ["COMMANDS", "app", "main", "run"]

app = typer.Typer(
    name="muxhook",
    help="Sign, verify, trigger, listen to and replay video-platform webhooks "
    "(Mux, FastPix, Millicast, Cloudflare Stream), offline.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: no boxes, and flags without a "<bool>" type
    pretty_exceptions_show_locals=False,  # a secret must never reach a traceback
    context_settings={"help_option_names": ["-h", "--help"]},
)
_GROUPS = {
    "log": "The event log: every request listen received, with its verdict and attempts.",
    "endpoints": "Mux webhook endpoints, through Mux's System API (MUX_TOKEN_ID/MUX_TOKEN_SECRET).",
    "ngrok": "The ngrok agent that listen's tunnel runs.",
}

#: The commands, as typed. ``log list`` runs ``log_list`` of ``muxhook.commands.log``, whose
#: ``options`` parameter names its options class and whose docstring's first paragraph is
#: its help.
COMMANDS: tuple[str, ...] = (
    *("sign", "verify", "trigger", "events", "listen", "inspect", "replay"),
    *("log list", "log show", "log replay", "log export", "log prune", "log recover"),
    *("endpoints list", "endpoints create", "endpoints update", "endpoints delete"),
    "ngrok install",
)


def _complete_event(incomplete: str) -> list[str]:
    from muxhook import catalog

    names = [catalog.qualified(p, e.name) for p, e in catalog.iter_events()]
    return [name for name in names if name.startswith(incomplete)]


_COMPLETIONS: dict[str, Callable[[str], list[str]]] = {"events": _complete_event}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"muxhook {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Sign, verify, trigger, listen to and replay video-platform webhooks, offline."""


def _parameter(field: options.Field) -> inspect.Parameter:
    """The Typer parameter for one option: its type (a repeated one as a list), default and
    Typer's own description of it."""
    spec = field.spec
    complete = _COMPLETIONS[spec.complete] if spec.complete else None
    choices = field.choices
    # Choices reach Typer as plain text, listed in the metavar: options.build checks them,
    # so that both front doors refuse a wrong one with the same line.
    metavar = spec.metavar or ("[" + "|".join(choices) + "]" if choices else None)
    described: Any
    if isinstance(spec, options.Opt):
        described = typer.Option(
            *spec.flags,
            help=spec.help,
            metavar=metavar,
            show_default=spec.show_default,
            autocompletion=complete,
        )
    else:
        described = typer.Argument(
            help=spec.help,
            metavar=metavar,
            show_default=spec.show_default,
            autocompletion=complete,
        )
    kind: object = field.type
    default = field.default
    if choices:
        kind = str | None if default is None else str
    if field.repeated:
        (item, _) = typing.get_args(field.type)
        kind, default = list[item] | None, None  # type: ignore[valid-type]
    return inspect.Parameter(
        field.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=inspect.Parameter.empty if field.required else default,
        annotation=Annotated[kind, described],
    )


def _command(options_class: type[Any], command: Callable[..., ExitCode]) -> Callable[..., None]:
    """A Typer callback taking ``options_class``'s fields and running ``command``."""

    def callback(**values: Any) -> None:
        try:
            chosen = options.build(options_class, values)
        except UsageError as error:
            sys.stderr.write(f"error: {error}\n")
            raise typer.Exit(int(error.exit_code)) from None
        code = commands.run(command, chosen)
        if code:
            raise typer.Exit(code)

    parameters = [_parameter(field) for field in options.fields(options_class)]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in parameters}
    return callback


def _register() -> None:
    groups: dict[str, typer.Typer] = {}
    for line in COMMANDS:
        module = importlib.import_module(f"muxhook.commands.{line.split()[0]}")
        function = getattr(module, line.replace(" ", "_"))
        options_name = inspect.signature(function).parameters["options"].annotation
        callback = _command(getattr(module, options_name), function)
        (summary, *_) = (inspect.getdoc(function) or "").split("\n\n")
        callback.__doc__ = " ".join(summary.split())
        group_name, _, name = line.rpartition(" ")
        group = app
        if group_name:
            group = groups.get(group_name) or typer.Typer(
                help=_GROUPS[group_name], no_args_is_help=True, rich_markup_mode=None
            )
            if group_name not in groups:
                groups[group_name] = group
                app.add_typer(group, name=group_name)
        group.command(name)(callback)


_register()


def _click_class(name: str) -> type[Exception]:
    """One of Click's exception classes, whether Typer vendors Click or depends on it."""
    found = next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)
    return typing.cast(type[Exception], found)


def run() -> None:
    """Run the Typer app (the slow path: help, completion, and every command).

    A usage error is one line on stderr and exit 2, as every other error is, rather
    than Click's usage block.
    """
    usage_error = _click_class("UsageError")
    click_exception = _click_class("ClickException")
    try:
        code = app(prog_name="muxhook", standalone_mode=False)
    except usage_error as error:
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":
            # Bare `muxhook` or `muxhook log`: the help, once. Typer's rich formatter has
            # printed it already while making the error; a plain one returns it as text.
            text = error.format_message()  # type: ignore[attr-defined]
            if text:
                sys.stdout.write(text + "\n")
            sys.exit(0)
        where = f" (see '{context.command_path} --help')" if context is not None else ""
        message = error.format_message()  # type: ignore[attr-defined]
        sys.stderr.write(f"error: {message}{where}\n")
        sys.exit(int(ExitCode.USAGE))
    except click_exception as error:
        sys.stderr.write(f"error: {error.format_message()}\n")  # type: ignore[attr-defined]
        sys.exit(int(getattr(error, "exit_code", 1)))
    except typer.Abort:
        sys.stderr.write("interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)
