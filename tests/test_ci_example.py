"""The GitHub Actions example runs here, step for step, against the example receiver.

The commands are read from ``examples/github-actions/webhooks.yml`` itself, so the
workflow in the README cannot drift from what the suite proves: muxhook is installed from
a checkout of this repository as the workflow's Install step does (offline here: the
wheel is built with the suite's hatchling), and the replay runs from that installed copy.
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


def _checkout_path() -> str:
    """Where the workflow checks muxhook's repository out (the step with ``repository:``)."""
    found = re.search(r"repository: \S+.*\n\s+path: (\S+)", WORKFLOW.read_text(encoding="utf-8"))
    assert found, f"no step in {WORKFLOW} checks out muxhook's repository"
    return found.group(1)


def _install(site: Path) -> None:
    """The workflow's Install step, with this repository as the checkout of muxhook."""
    install = _run_line("python -m pip install")
    checkout = f"./{_checkout_path()}"
    assert checkout in install, f"the Install step does not install {checkout}: {install}"
    # The app's own dependencies (fastapi, uvicorn) are the suite's; muxhook's too.
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"),
            *("--no-index", "--target", str(site), str(ROOT)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _secret() -> str:
    text = WORKFLOW.read_text(encoding="utf-8")
    found = re.search(r"MUX_WEBHOOK_SECRET: (\S+)", text)
    assert found
    return found.group(1)


def test_the_workflow_passes_against_the_example_receiver(tmp_path: Path) -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUX_", "GITHUB_"))}
    env.update(MUX_WEBHOOK_SECRET=_secret(), GITHUB_ACTIONS="true", NO_COLOR="1")
    site = tmp_path / "installed"
    _install(site)
    installed = dict(env, PYTHONPATH=str(site))
    where = subprocess.run(
        [sys.executable, "-c", "import muxhook; print(muxhook.__file__)"],
        cwd=tmp_path,
        env=installed,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.startswith(str(site)), where.stdout
    work = tmp_path / "work"
    work.mkdir()
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
            cwd=work,
            env=installed,
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
    report = ET.parse(work / "webhooks.xml").getroot()  # noqa: S314 - our own output
    # 5 events, each once more as a duplicate, and 4 forgeries of each original.
    assert report.get("tests") == str(5 * 2 + 5 * 4) and report.get("failures") == "0"


def test_the_readme_quotes_the_workflow_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
    workflow = WORKFLOW.read_text(encoding="utf-8").splitlines()
    quoted = [block for block in blocks if "muxhook replay" in block]
    assert len(quoted) == 1, "the README quotes the GitHub Actions workflow once"
    for line in quoted[0].splitlines():
        assert line in workflow, f"README line not in {WORKFLOW.name}: {line!r}"
