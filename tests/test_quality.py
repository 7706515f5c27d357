"""ruff and mypy (strict) are part of the suite, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_ruff_check_is_clean() -> None:
    run = _run("ruff", "check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format_is_clean() -> None:
    run = _run("ruff", "format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_strict_is_clean() -> None:
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr


def test_rich_is_imported_only_by_the_renderer() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "muxhook").rglob("*.py")
        if path.name != "render.py"
        and any(f"{word} rich" in path.read_text() for word in ("import", "from"))
    ]
    assert offenders == []
