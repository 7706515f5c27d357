"""The README's walk-through in a real terminal: tmux runs bash in pseudo-terminals, and the
test types what a new user types and reads the screen.

Activate the venv (set-up command 1's step), ``muxhook listen`` in front of an app, two
``muxhook trigger`` from a second pane (the app takes the first and fails the second),
Ctrl-C, ``muxhook log list``, ``muxhook log replay --failed``. The screen is asserted by
words and numbers, not by column widths, and every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apps import Received, RecordingApp, serve
from tests.listening import muxhook_env
from tests.test_readme import BIN

SECRET = "transcript-secret-0001"


class Terminal:
    """A tmux server of its own (its own socket), one window 200 columns wide, two panes."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        tmux = shutil.which("tmux")
        assert tmux, "tmux is needed for this test (.ci/run installs it)"
        self.tmux = tmux
        self.socket = f"muxhook-transcript-{uuid.uuid4().hex[:8]}"
        self.env = env
        # bash without the machine's rc files, so the prompt and PATH are the test's own.
        shell = "bash --norc --noprofile"
        self.run(
            *("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "60"),
            *("-c", str(cwd), shell),
        )
        self.run("set-option", "-g", "history-limit", "5000")
        self.run("split-window", "-t", "t:0", "-v", "-c", str(cwd), shell)
        self.listen_pane, self.other_pane = "t:0.0", "t:0.1"
        for pane in (self.listen_pane, self.other_pane):
            self.type(pane, f"PS1='$ '; cd {cwd}")

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, f"tmux {' '.join(args)}: {result.stderr}"
        return result.stdout

    def type(self, pane: str, line: str) -> None:
        """Type a line and press Enter, as a person does."""
        self.run("send-keys", "-t", pane, "-l", line)
        self.run("send-keys", "-t", pane, "Enter")

    def ctrl_c(self, pane: str) -> None:
        self.run("send-keys", "-t", pane, "C-c")

    def screen(self, pane: str) -> str:
        """What the pane shows, scrollback included, wrapped lines joined."""
        return self.run("capture-pane", "-p", "-J", "-t", pane, "-S", "-5000")

    def wait_for(self, pane: str, pattern: str, after: int = 0, timeout: float = 30.0) -> str:
        """Wait (bounded) until the pane's text after offset ``after`` matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen(pane)
            if re.search(pattern, text[after:], flags=re.MULTILINE):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} on the screen within {timeout} s:\n{text}")
            time.sleep(0.1)

    def command(self, pane: str, line: str) -> str:
        """Type a command line; once it has ended, what it printed and its ``exit=N``."""
        mark = len(self.screen(pane).rstrip())
        self.type(pane, f"{line}; echo exit=$?")
        return self.wait_for(pane, r"^exit=\d+$", after=mark)[mark:]

    def close(self) -> None:
        subprocess.run(
            [self.tmux, "-L", self.socket, "kill-server"],
            env=self.env,
            capture_output=True,
            timeout=30,
            check=False,
        )


class App(RecordingApp):
    """The user's app: 200, or 500 while ``failing``."""

    def __init__(self) -> None:
        super().__init__(self.answer)
        self.failing = False

    def answer(self, request: Received) -> tuple[int, bytes]:
        if self.failing:
            return 500, b'{"error":"KeyError: passthrough"}'
        return 200, b'{"received":true}'


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "my-project"  # the user's own folder, empty
    folder.mkdir()
    env = muxhook_env(home, {"MUX_WEBHOOK_SECRET": SECRET, "PS1": "$ ", "CI": "true"})
    for name in ("NO_COLOR", "TMUX", "TMUX_PANE", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)  # a terminal as a person has it: colours allowed
    env["MUXHOOK_DB"] = str(tmp_path / "events.db")
    env["SHELL"] = "/bin/bash"
    env["PATH"] = os.pathsep.join(
        part for part in env["PATH"].split(os.pathsep) if Path(part) != BIN
    )
    term = Terminal(env, folder)
    try:
        yield term
    finally:
        term.close()


def test_the_walk_through_in_a_real_terminal(terminal: Terminal) -> None:
    listen, other = terminal.listen_pane, terminal.other_pane
    with serve(App()) as app:
        assert isinstance(app, App)
        # Set-up command 1 leaves the venv active; a new terminal activates it.
        for pane in (listen, other):
            terminal.type(pane, f". {BIN}/activate; command -v muxhook")
            terminal.wait_for(pane, rf"^{re.escape(str(BIN))}/muxhook$")

        terminal.type(listen, f"muxhook listen --no-tunnel --port 0 --forward-to {app.url}")
        screen = terminal.wait_for(
            listen, r"Ready: listening on http://127\.0\.0\.1:\d+/webhooks/mux"
        )
        found = re.search(r"Ready: listening on (http://127\.0\.0\.1:\d+/webhooks/mux)", screen)
        assert found
        url = found.group(1)
        assert f"forwarding to {app.url}" in screen

        terminal.type(other, f"muxhook trigger video.asset.ready --to {url}; echo exit=$?")
        shown = terminal.wait_for(other, r"^exit=\d+$")
        assert "exit=0" in shown and "200" in shown, shown
        terminal.wait_for(listen, r"video\.asset\.ready.*✓ valid.*200")

        app.failing = True
        terminal.type(other, f"muxhook trigger video.asset.created --to {url}; echo exit=$?")
        shown = terminal.wait_for(other, r"^exit=1$")
        assert "500" in shown, shown
        terminal.wait_for(listen, r"video\.asset\.created.*✓ valid.*500")

        terminal.ctrl_c(listen)
        screen = terminal.wait_for(listen, r"received 2 .*failed 1")
        assert re.search(r"received 2 · valid 2 · invalid 0 .*forwarded 1 · failed 1", screen)
        assert "'muxhook log replay --failed'" in screen
        echoed = [line for line in screen.splitlines() if "^C" in line]
        assert echoed == ["^C"], echoed  # the terminal's ^C stands alone on its line
        terminal.wait_for(listen, r"^\(\.venv\) \$\s*\Z")  # listen exited: the prompt

        listed = terminal.command(listen, "muxhook log list")
        assert "exit=0" in listed, listed
        assert re.search(r"#?2\b.*video\.asset\.created.*(failed|500)", listed), listed
        assert re.search(r"#?1\b.*video\.asset\.ready", listed), listed

        app.failing = False
        replayed = terminal.command(listen, "muxhook log replay --failed")
        assert "exit=0" in replayed, replayed
        assert re.search(r"#?2\b.*video\.asset\.created.*200", replayed), replayed
        assert "video.asset.ready" not in replayed  # delivered the first time: not sent again

        again = terminal.command(listen, "muxhook log replay --failed")
        assert "exit=0" in again and "nothing to replay" in again
        assert "video.asset" not in again  # nothing left to deliver

    kinds = [request.body.split(b'"type":"', 2)[1].split(b'"', 1)[0] for request in app.requests]
    assert kinds == [b"video.asset.ready", b"video.asset.created", b"video.asset.created"]
