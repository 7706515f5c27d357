"""The console entry point, with a fast path for the commands that must start quickly.

Importing Typer costs more than the whole start-up budget of ``sign``, ``verify``,
``events`` and ``replay`` (``benchmarks/startup.py`` measures them), so those are parsed
here, from the same options dataclasses the Typer app is built from
(``muxhook.options``): nothing is written twice. Anything this parser does not fully
understand (help, completion, an unknown or malformed option, a value that is not among
a choice's) goes to the Typer app, so errors and help look the same whichever door a
command came in by.
"""

from __future__ import annotations

import importlib
import os
import sys
import typing
from typing import Any, NamedTuple

__all__ = ["FAST_COMMANDS", "Spec", "main", "parse_fast", "spec"]

#: The commands parsed here: command → (module in muxhook.commands, options class).
FAST_COMMANDS = {
    "sign": ("sign", "SignOptions"),
    "verify": ("verify", "VerifyOptions"),
    "events": ("events", "EventsOptions"),
    "replay": ("replay", "ReplayRunOptions"),
}


class Spec(NamedTuple):
    """One option or argument as this parser reads it."""

    dest: str
    flags: tuple[str, ...]  # empty for a positional argument
    kind: str  # "str", "int", "float", "flag" or "multi"
    default: object
    required: bool
    choices: tuple[str, ...] | None


def _options_class(command: str) -> type[Any]:
    module_name, class_name = FAST_COMMANDS[command]
    found: type[Any] = getattr(
        importlib.import_module(f"muxhook.commands.{module_name}"), class_name
    )
    return found


def spec(command: str) -> tuple[Spec, ...]:
    """How ``command``'s options are parsed, from its options dataclass."""
    from muxhook.options import Opt, fields

    specs = []
    for field in fields(_options_class(command)):
        base = typing.get_args(field.type)[0] if field.repeated else field.type
        args = [a for a in typing.get_args(base) if a is not type(None)]
        plain = args[0] if len(args) == 1 else base
        kinds: dict[object, str] = {bool: "flag", int: "int", float: "float"}
        kind = "multi" if field.repeated else kinds.get(plain, "str")
        flags = field.spec.flags if isinstance(field.spec, Opt) else ()
        default = () if field.repeated else (None if field.required else field.default)
        specs.append(Spec(field.name, flags, kind, default, field.required, field.choices))
    return tuple(specs)


_CONVERT = {"str": str, "int": int, "float": float, "multi": str}


def parse_fast(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """``(command, values)`` when ``argv`` is a plain fast command; None to use Typer."""
    if not argv or argv[0] not in FAST_COMMANDS:
        return None
    specs = spec(argv[0])
    by_flag = {flag: opt for opt in specs for flag in opt.flags}
    positionals = [opt for opt in specs if not opt.flags]
    values: dict[str, Any] = {opt.dest: [] if opt.kind == "multi" else opt.default for opt in specs}
    given: list[str] = []
    rest = argv[1:]
    only_positionals = False
    while rest:
        arg = rest.pop(0)
        if not only_positionals and arg == "--":
            only_positionals = True
            continue
        if only_positionals or arg == "-" or not arg.startswith("-"):
            given.append(arg)
            continue
        name, has_value, inline = arg.partition("=")
        opt = by_flag.get(name)
        if opt is None:
            return None  # help, an unknown option, or a short-option cluster: Typer's job
        if opt.kind == "flag":
            if has_value:
                return None
            values[opt.dest] = True
            continue
        if not has_value:
            if not rest:
                return None
            inline = rest.pop(0)
        try:
            value = _CONVERT[opt.kind](inline)
        except ValueError:
            return None
        if opt.choices is not None and value not in opt.choices:
            return None  # Typer says which values it takes
        if opt.kind == "multi":
            values[opt.dest].append(value)
        else:
            values[opt.dest] = value
    if positionals and positionals[-1].kind == "multi":  # the last takes all the rest
        *single, variadic = positionals
        values[variadic.dest] = given[len(single) :]
        given = given[: len(single)]
        positionals = single
    if len(given) > len(positionals):
        return None
    for opt, arg in zip(positionals, given, strict=False):
        values[opt.dest] = arg
    if any(opt.required and values[opt.dest] is None for opt in specs):
        return None  # a required argument is missing: let Typer say so
    return argv[0], values


def main() -> None:
    """Run muxhook: the fast path when it applies, the Typer app otherwise."""
    argv = sys.argv[1:]
    if argv == ["--version"]:
        from muxhook import __version__

        sys.stdout.write(f"muxhook {__version__}\n")
        return
    fast = None if "_MUXHOOK_COMPLETE" in os.environ else parse_fast(argv)
    if fast is not None:
        from muxhook import commands, options

        name, values = fast
        module_name, _ = FAST_COMMANDS[name]
        command = getattr(importlib.import_module(f"muxhook.commands.{module_name}"), name)
        sys.exit(commands.run(command, options.build(_options_class(name), values)))
    from muxhook.cli import run

    run()
