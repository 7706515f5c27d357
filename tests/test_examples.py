"""The examples run: each example test file passes under pytest, in its own process.

They are what the README shows for testing handlers with muxhook's pytest plugin, so
they run the way a user runs them: ``python -m pytest examples/tests/<file>``, the
plugin loaded through its ``pytest11`` entry point.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TESTS = ROOT / "examples" / "tests"
FILES = ["test_fastapi_example.py", "test_flask_example.py", "test_django_example.py"]


def _entry_point_installed() -> bool:
    return any(
        entry.name == "muxhook" and entry.value == "muxhook.pytest_plugin"
        for entry in importlib.metadata.entry_points(group="pytest11")
    )


def test_the_plugin_is_declared_as_a_pytest11_entry_point() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points.pytest11]\nmuxhook = "muxhook.pytest_plugin"\n' in text


def test_every_example_test_file_is_run_here() -> None:
    assert sorted(path.name for path in EXAMPLE_TESTS.glob("test_*.py")) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_example_passes(name: str) -> None:
    # the plugin's default secret, and no options from the outer run
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUX_")}
    env.pop("PYTEST_ADDOPTS", None)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        f"examples/tests/{name}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    if not _entry_point_installed():
        argv += ["-p", "muxhook.pytest_plugin"]  # a source checkout that is not installed
    elif env.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "muxhook"]  # by entry-point name: the module path would load it twice
    run = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    passed = re.search(r"\b(\d+) passed\b", output)
    assert passed is not None and int(passed.group(1)) >= 2, output
