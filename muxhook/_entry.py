"""The console entry point, with a fast path for the commands that must start quickly.

Importing Typer costs ~140 ms here (and ~200 ms more once it pulls in pydantic to
convert parameters), more than the whole start-up budget of ``muxhook sign``
(150 ms; the official Mux CLI's compiled binary takes 198 ms), and a large part of
a CI replay. So ``--version``, ``sign``, ``verify``, ``events`` and ``replay`` are parsed here
from a small table that mirrors their Typer declarations; ``tests/test_entry.py`` fails when the two
drift apart. Anything this parser does not fully understand (help, completion,
an unknown or malformed option, a missing argument) goes to the Typer app, so
errors and help look the same whichever door a command came in by.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple

__all__ = ["FAST_COMMANDS", "Opt", "main", "parse_fast"]


class Opt(NamedTuple):
    """One option or argument of a fast command, as its Typer declaration has it."""

    dest: str
    flags: tuple[str, ...]  # empty for a positional argument
    kind: str  # "str", "int", "float", "flag" or "multi"
    default: object = None
    required: bool = False


FAST_COMMANDS: dict[str, tuple[Opt, ...]] = {
    "sign": (
        Opt("event", (), "str", required=True),
        Opt("secret", ("--secret",), "str"),
        Opt("provider", ("--provider",), "str"),
        Opt("timestamp", ("--timestamp",), "int"),
        Opt("set_", ("--set",), "multi"),
        Opt("unset", ("--unset",), "multi"),
        Opt("format_", ("--format", "-f"), "str", "header"),
        Opt("to", ("--to",), "str"),
        Opt("fresh_ids", ("--fresh-ids",), "flag", False),
    ),
    "verify": (
        Opt("body_file", (), "str", "-"),
        Opt("header", ("--header", "-H"), "multi"),
        Opt("headers_file", ("--headers-file",), "str"),
        Opt("secret", ("--secret",), "str"),
        Opt("provider", ("--provider",), "str"),
        Opt("now", ("--now",), "float"),
        Opt("tolerance", ("--tolerance",), "float", 300.0),
        Opt("max_future", ("--max-future",), "float", 300.0),
        Opt("json_", ("--json",), "flag", False),
    ),
    "events": (
        Opt("pattern", (), "str"),
        Opt("provider", ("--provider",), "str"),
        Opt("json_", ("--json",), "flag", False),
    ),
    "replay": (
        Opt("inputs", (), "multi"),
        Opt("to", ("--to",), "str", ""),
        Opt("secret", ("--secret",), "str"),
        Opt("provider", ("--provider",), "str"),
        Opt("set_", ("--set",), "multi"),
        Opt("unset", ("--unset",), "multi"),
        Opt("timestamp", ("--timestamp",), "int"),
        Opt("expect", ("--expect",), "str", "2xx"),
        Opt("tamper", ("--tamper",), "flag", False),
        Opt("duplicates", ("--duplicates",), "int", 0),
        Opt("concurrency", ("--concurrency",), "int", 1),
        Opt("timeout", ("--timeout",), "float", 30.0),
        Opt("wait_for_app", ("--wait-for-app",), "float", 0.0),
        Opt("shard", ("--shard",), "str"),
        Opt("json_", ("--json",), "flag", False),
        Opt("junit", ("--junit",), "str"),
        Opt("header", ("--header", "-H"), "multi"),
        Opt("insecure", ("--insecure",), "flag", False),
        Opt("from_log", ("--from-log",), "flag", False),
        Opt("type_", ("--type",), "str"),
        Opt("status", ("--status",), "str"),
        Opt("since", ("--since",), "str"),
        Opt("limit", ("--limit",), "int"),
        Opt("db", ("--db",), "str"),
        Opt("fresh_ids", ("--fresh-ids",), "flag", False),
    ),
}

_CONVERT = {"str": str, "int": int, "float": float, "multi": str}


def parse_fast(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """``(command, options)`` when ``argv`` is a plain fast command; None to use Typer."""
    if not argv or argv[0] not in FAST_COMMANDS:
        return None
    spec = FAST_COMMANDS[argv[0]]
    by_flag = {flag: opt for opt in spec for flag in opt.flags}
    positionals = [opt for opt in spec if not opt.flags]
    values: dict[str, Any] = {
        opt.dest: ([] if opt.kind == "multi" else opt.default) for opt in spec
    }
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
        if opt.kind == "multi":
            values[opt.dest].append(value)
        else:
            values[opt.dest] = value
    if positionals and positionals[-1].kind == "multi":  # FILES...: takes the rest
        values[positionals[-1].dest] = given[len(positionals) - 1 :]
        given = given[: len(positionals) - 1]
        positionals = positionals[:-1]
    if len(given) > len(positionals):
        return None
    for opt, arg in zip(positionals, given, strict=False):
        values[opt.dest] = arg
    if any(opt.required and values[opt.dest] is None for opt in positionals):
        return None  # a required argument is missing: let Typer say so
    if argv[0] == "replay" and not values["to"]:
        return None  # Typer says that --to is needed
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
        from muxhook import commands

        name, options = fast
        sys.exit(commands.run(getattr(commands, name), **options))
    from muxhook.cli import run

    run()
