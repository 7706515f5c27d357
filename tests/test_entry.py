"""The fast path and the Typer app read options the same way, from one declaration;
completions stay current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from muxhook._entry import FAST_COMMANDS, parse_fast, spec
from muxhook.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _typer_view(command: str) -> list[tuple[str, tuple[str, ...], bool, object]]:
    """``(name, flags, required, default)`` of each of the Typer command's parameters."""
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    found = []
    for param in cmd.params:
        if param.name == "help":
            continue
        flags = tuple(param.opts) if param.param_type_name == "option" else ()
        default = () if param.multiple or param.nargs == -1 else param.default
        found.append((str(param.name), flags, bool(param.required), default))
    return found


@pytest.mark.parametrize("command", sorted(FAST_COMMANDS))
def test_the_fast_path_reads_what_the_typer_command_declares(command: str) -> None:
    fast = [(o.dest, o.flags, o.required, o.default) for o in spec(command)]
    assert fast == _typer_view(command)


@pytest.mark.parametrize(
    "argv",
    [
        ["sign"],  # missing argument: Typer says so
        ["sign", "--help"],
        ["sign", "x", "--bogus"],
        ["sign", "x", "--timestamp", "soon"],  # not an int: Typer's message
        ["sign", "x", "--format", "yaml"],  # not a choice: Typer lists them
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
        [
            "sign",
            "--set",
            "a=1",
            "video.asset.ready",
            "--set=b=2",
            "--format",
            "curl",
            "--timestamp=5",
        ]
    )
    assert parsed is not None
    name, options = parsed
    assert name == "sign"
    assert options["event"] == "video.asset.ready"
    assert options["set_"] == ["a=1", "b=2"]
    assert (options["format_"], options["timestamp"]) == ("curl", 5)
    parsed = parse_fast(["verify", "--", "-x"])
    assert parsed is not None and parsed[1]["body_file"] == "-x"


def test_a_choice_outside_the_declaration_is_refused_in_one_line(tmp_path: Path) -> None:
    from tests.listening import run_muxhook

    run = run_muxhook(tmp_path, "sign", "video.asset.ready", "--format", "yaml")
    assert run.returncode == 2
    assert run.stderr == "error: --format 'yaml': choose header, json, curl or httpie\n"
    assert "Traceback" not in run.stderr


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


@pytest.mark.parametrize(
    "argv",
    [
        ["sign", "video.asset.ready", "--secret", "abc"],
        ["verify", "-", "-H", "Mux-Signature: t=1,v1=00", "--secret", "abc"],
        ["events", "video.asset.*"],
        ["replay", "video.asset.ready", "--to", "http://127.0.0.1:9/webhooks/mux", "-H", "X-A: b"],
    ],
)
def test_the_fast_commands_start_without_typer_pydantic_or_httpx(
    argv: list[str], tmp_path: Path
) -> None:
    """What start-up time the fast path saves (benchmarks/startup.py) depends on these
    modules staying unimported; a command that loses the fast path fails here."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['muxhook', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('muxhook', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'pydantic', 'httpx'})\n"
        "sys.stderr.write(f'heavy={heavy}\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv],
        cwd=tmp_path,
        input="{}",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
    )
    assert "heavy=[]" in done.stderr.splitlines(), done.stderr
