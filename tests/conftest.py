"""Shared test fixtures: a clean environment, the CLI run in-process, a local app."""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.apps import RecordingApp, serve
from tests.mux_judge import Judge, start_judge

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

_ENV_PREFIXES = ("MUX_", "FASTPIX_", "MILLICAST_", "NGROK_", "MUXHOOK_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No secret, colour setting or .env from the machine leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path)


@dataclasses.dataclass
class Result:
    """What a command printed and how it exited."""

    stdout: str
    stderr: str
    code: int


CLI = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CLI:
    """Run ``muxhook ARGS`` in-process through the real entry point."""

    def run(*args: str, stdin: bytes = b"") -> Result:
        from muxhook import _entry

        out, err = io.StringIO(), io.StringIO()
        fake_in = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        monkeypatch.setattr(sys, "argv", ["muxhook", *args])
        monkeypatch.setattr(sys, "stdin", fake_in)
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        code = 0
        try:
            _entry.main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        return Result(out.getvalue(), err.getvalue(), code)

    return run


@pytest.fixture
def app() -> Iterator[RecordingApp]:
    """A local webhook receiver answering 200, recording every request."""
    with serve(RecordingApp()) as running:
        yield running


@pytest.fixture(scope="session")
def sdk() -> Iterator[Judge]:
    """The official @mux/mux-node SDK, running in one node process for the session."""
    with start_judge() as judge:
        yield judge
