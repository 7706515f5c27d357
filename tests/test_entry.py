"""The fast path and the Typer app accept the same options; completions stay current."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
import typer.main

from muxhook import cli
from muxhook._entry import FAST_COMMANDS, Opt, parse_fast
from muxhook.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _kind(annotation: object) -> str:
    """The fast path's kind for a parameter's Python type (Optional and Annotated removed)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = (
        args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) else annotation
    )
    if typing.get_origin(base) is list:
        return "multi"
    return {bool: "flag", int: "int", float: "float", str: "str"}[base]  # type: ignore[index]


def _declared(command: str) -> tuple[Opt, ...]:
    """The Typer declaration of ``command``, in the fast path's terms."""
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    hints = typing.get_type_hints(getattr(cli, command))
    result = []
    for param in cmd.params:
        if param.name in ("help",):
            continue
        is_option = param.param_type_name == "option"
        flags = tuple(param.opts) if is_option else ()
        kind = _kind(hints[str(param.name)])
        default = None if param.multiple else param.default
        required = bool(param.required) and not is_option
        result.append(Opt(str(param.name), flags, kind, default, required))
    return tuple(result)


@pytest.mark.parametrize("command", sorted(FAST_COMMANDS))
def test_fast_spec_matches_the_typer_declaration(command: str) -> None:
    assert FAST_COMMANDS[command] == _declared(command)


@pytest.mark.parametrize(
    "argv",
    [
        ["sign"],  # missing argument: Typer says so
        ["sign", "--help"],
        ["sign", "x", "--bogus"],
        ["sign", "x", "--timestamp", "soon"],  # not an int: Typer's message
        ["sign", "a", "b"],
        ["verify", "--json=yes"],
        ["events", "--bogus"],
        [],
    ],
)
def test_anything_unusual_goes_to_typer(argv: list[str]) -> None:
    assert parse_fast(argv) is None


def test_fast_parse_reads_options_like_click() -> None:
    parsed = parse_fast(
        ["sign", "--set", "a=1", "video.asset.ready", "--set=b=2", "-f", "curl", "--timestamp=5"]
    )
    assert parsed is not None
    name, options = parsed
    assert name == "sign"
    assert options["event"] == "video.asset.ready"
    assert options["set_"] == ["a=1", "b=2"]
    assert (options["format_"], options["timestamp"]) == ("curl", 5)
    assert parse_fast(["verify", "--", "-x"]) == (
        "verify",
        {
            **{o.dest: ([] if o.kind == "multi" else o.default) for o in FAST_COMMANDS["verify"]},
            "body_file": "-x",
        },
    )


def test_completion_scripts_are_current() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "completions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout


def test_event_names_complete() -> None:
    env = {
        **os.environ,
        "_MUXHOOK_COMPLETE": "complete_bash",
        "COMP_WORDS": "muxhook sign video.asset.rea",
        "COMP_CWORD": "2",
    }
    run = subprocess.run(
        [sys.executable, "-m", "muxhook"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert run.stdout.split() == ["video.asset.ready"]
