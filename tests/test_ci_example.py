"""The GitHub Actions example runs here, step for step, against the example receiver.

The commands are read from ``examples/github-actions/webhooks.yml`` itself, so the
workflow in the README cannot drift from what the suite proves.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.apps import free_port

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-actions" / "webhooks.yml"


def _run_line(starting: str) -> list[str]:
    for line in WORKFLOW.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*run: (.*?)\s*(&\s*)?(#.*)?$", line)
        if match and match.group(1).startswith(starting):
            return shlex.split(match.group(1))
    raise AssertionError(f"no 'run: {starting} …' step in {WORKFLOW}")


def _secret() -> str:
    text = WORKFLOW.read_text(encoding="utf-8")
    found = re.search(r"MUX_WEBHOOK_SECRET: (\S+)", text)
    assert found
    return found.group(1)


def test_the_workflow_passes_against_the_example_receiver(tmp_path: Path) -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUX_", "GITHUB_"))}
    env.update(MUX_WEBHOOK_SECRET=_secret(), GITHUB_ACTIONS="true", NO_COLOR="1")
    start = [part.replace("3000", port) for part in _run_line("uvicorn")]
    replay = [part.replace("3000", port) for part in _run_line("muxhook replay")]
    app = subprocess.Popen(
        [sys.executable, "-m", *start, "--host", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "muxhook", *replay[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        app.terminate()
        app.wait(timeout=30)
        if app.stderr is not None:
            app.stderr.close()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "::error" not in result.stdout
    report = ET.parse(tmp_path / "webhooks.xml").getroot()  # noqa: S314 - our own output
    # 5 events, each once more as a duplicate, and 4 forgeries of each original.
    assert report.get("tests") == str(5 * 2 + 5 * 4) and report.get("failures") == "0"
