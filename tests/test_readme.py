"""The README works when pasted: its commands run from an empty folder outside the repository.

Every ``toml`` block parses. Every command in a ``sh`` block is classified in ``COMMANDS``:
run (from an empty temporary folder, through bash, with the suite's ``muxhook`` on PATH as
set-up command 1 puts it there, and expected to exit as the README says), served (a command
that runs until Ctrl-C: started, awaited, stopped with SIGINT) or skipped by design, with the
reason. A command added to the README or changed in it fails here until it is classified, so
a README command cannot break unnoticed. Placeholders (``…``, ``localhost:3000``, log ids,
the inspector's port and token) are filled in by ``Context.fill``; one left unfilled fails.

Set-up command 1 is run as written too (``test_set_up_command_1_…``): in a fresh venv, from a
copy of this repository, and ``muxhook`` is then on that shell's PATH in any folder.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from muxhook import signing
from muxhook.errors import SignatureError
from muxhook.testing import signed_event
from tests.apps import Received, RecordingApp, serve
from tests.listening import muxhook_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the suite's Python is 3.11+
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECRET = "readme-test-secret-0001"
BIN = Path(sys.executable).parent  # the suite's venv: where set-up command 1 puts muxhook


@dataclasses.dataclass(frozen=True)
class Run:
    """Run the command as pasted; it must exit ``expect``. ``setup`` prepares the folder."""

    expect: int = 0
    setup: str = ""
    shows: str = ""  # a fragment its output holds


@dataclasses.dataclass(frozen=True)
class Serve:
    """A command that runs until Ctrl-C: wait for ``ready``, SIGINT, exit ``expect``."""

    ready: str
    expect: int = 0
    during: str = ""  # what the test does while it runs (Context method)
    shows: str = ""


@dataclasses.dataclass(frozen=True)
class Instead:
    """A synopsis (``[--json]``, ``A | B``): run ``command``, a concrete instance of it."""

    command: str
    expect: int = 0
    shows: str = ""


@dataclasses.dataclass(frozen=True)
class Skip:
    """Not run here, by design; ``reason`` says why and where it is tested instead."""

    reason: str


How = Run | Serve | Instead | Skip

SETUP_1 = (
    "python3 -m venv .venv && . .venv/bin/activate && python -m pip install . && "
    "muxhook listen --forward-to http://localhost:3000/webhooks/mux"
)
SETUP_2 = (
    "python3 -m venv .venv && .venv/bin/python -m pip install -q -e '.[test]' && "
    "npm ci --prefix tests/node && .venv/bin/python -m pytest"
)
MUX_API = "needs a Mux access token and the Mux API (tests/test_muxapi.py, against a stub)"

#: Every command in the README's ``sh`` blocks (trailing comments dropped), in README order.
COMMANDS: dict[str, How] = {
    SETUP_1: Skip(
        "runs in a fresh venv in test_set_up_command_1_installs_and_puts_muxhook_on_path"
    ),
    SETUP_2: Skip("the test suite itself: .ci/run runs this line (test_ci_runs_set_up_command_2)"),
    # Quick start
    "export MUX_WEBHOOK_SECRET=…": Run(),
    "muxhook events 'video.asset.*'": Run(shows="video.asset.ready"),
    "muxhook sign video.asset.ready": Run(shows="Mux-Signature: t="),
    "muxhook sign video.asset.ready --format curl --to http://localhost:3000/webhooks/mux | sh": (
        Run(shows='{"received":true}')
    ),
    "muxhook trigger video.asset.ready --to http://localhost:3000/webhooks/mux "
    "--set data.passthrough='\"order-42\"' --set data.duration=12.5": Run(shows="200"),
    'muxhook verify body.json -H "Mux-Signature: t=…,v1=…"': Run(
        setup="body", shows="✓ valid Mux signature"
    ),
    # listen
    "muxhook listen --forward-to http://localhost:3000/webhooks/mux": Serve(
        "Ready: listening on", during="populate", shows="received 13"
    ),
    "export MUX_TOKEN_ID=…  MUX_TOKEN_SECRET=…": Run(),
    "muxhook listen --from mux-api --forward-to http://localhost:3000/webhooks/mux": Skip(MUX_API),
    "muxhook listen --register --forward-to http://localhost:3000/webhooks/mux": Skip(
        "needs the Mux API and an ngrok account (tests/test_muxapi.py, tests/test_tunnel.py)"
    ),
    "muxhook listen --register --public-url https://hooks.example.dev "
    "-f http://localhost:3000/webhooks/mux": Skip(MUX_API),
    "muxhook endpoints list [--json]": Skip(MUX_API),
    "muxhook endpoints create https://hooks.example.dev/webhooks/mux": Skip(MUX_API),
    "muxhook endpoints update ID --url https://… | --enable | --disable": Skip(MUX_API),
    "muxhook endpoints delete ID": Skip(MUX_API),
    # the log
    "muxhook log list [--type 'video.asset.*'] [--status ok|invalid|failed] [--since 2h] "
    "[--limit 50] [--json]": Instead(
        "muxhook log list --type 'video.asset.*' --status ok --since 2h --limit 50 --json",
        shows='"type": "video.asset.',
    ),
    "muxhook log show 12": Run(shows="#12"),
    # The app failed #12 and #13 while listen ran; now it takes them.
    "muxhook log replay --failed": Run(shows="200"),
    "muxhook log replay 12 13 --to http://localhost:3000/webhooks/mux": Run(shows="200"),
    "muxhook log export --since 1d --to fixtures/recorded/": Run(shows="exported 13 events"),
    "muxhook log recover": Run(shows="no damage"),
    "muxhook log list --stats": Run(shows="events     "),
    "muxhook log prune --before 30d [--dry-run]": Instead(
        "muxhook log prune --before 30d --dry-run", shows="nothing to remove"
    ),
    # the inspector
    "muxhook listen -f http://localhost:3000/webhooks/mux": Serve("inspector: http://127.0.0.1:"),
    "muxhook listen -f 'video.live_stream.*=http://localhost:4000/live' "
    "-f 'video.upload.*=http://localhost:4000/uploads,http://localhost:3000/webhooks/mux' "
    "-f http://localhost:3000/webhooks/mux": Serve(
        "inspector: http://127.0.0.1:",
        shows="forwarding to http://localhost:4000/uploads (events video.upload.*)",
    ),
    "muxhook inspect --open": Serve("inspector: http://127.0.0.1:"),
    "muxhook inspect --db ci-events.db --port 9000": Serve("inspector: http://127.0.0.1:"),
    "url=http://127.0.0.1:8701; token=…": Run(setup="inspector"),
    'curl -s "$url/api/events?type=video.asset.*&status=failed&limit=5"': Run(
        setup="inspector", shows='"events"'
    ),
    'curl -s -X POST "$url/api/events/12/replay" -H "X-Muxhook-Token: $token" '
    "-H 'Content-Type: application/json' -d '{\"url\": \"http://localhost:3000/webhooks/mux\"}'": (
        Run(setup="inspector", shows='"status":200')
    ),
    # replay in CI
    "muxhook replay webhooks/ video.asset.ready mux-direct-upload "
    "--to http://localhost:3000/webhooks/mux --wait-for-app 60 --tamper --junit webhooks.xml": Run(
        setup="webhooks", shows="handled as expected"
    ),
}


def readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks in ``language``, in order."""
    text = README.read_text(encoding="utf-8")
    fenced = r"^([ \t]*)```(\w*)\n(.*?)^\1```"  # in a list item too, indented
    return [
        textwrap.dedent(body)
        for _, lang, body in re.findall(fenced, text, flags=re.DOTALL | re.M)
        if lang == language
    ]


def readme_commands() -> list[str]:
    """Each command of the ``sh`` blocks: continuations joined, comments dropped."""
    commands = []
    for block in readme_blocks("sh"):
        for line in re.sub(r"\\\n\s*", "", block).splitlines():
            line = re.sub(r"\s+# .*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def test_every_toml_block_parses_and_is_a_scenario(tmp_path: Path) -> None:
    from muxhook.scenario import load_scenario

    blocks = readme_blocks("toml")
    assert blocks, "the README has a scenario example"
    for number, block in enumerate(blocks):
        tomllib.loads(block)
        path = tmp_path / f"readme-{number}.toml"
        path.write_text(block, encoding="utf-8")
        assert load_scenario(path).raw["steps"]  # checked: keys, events, templates


def test_every_readme_command_is_classified() -> None:
    commands = readme_commands()
    unclassified = [command for command in commands if command not in COMMANDS]
    assert not unclassified, (
        "README commands not classified in tests/test_readme.py COMMANDS "
        "(Run, Serve, Instead, or Skip with a reason):\n" + "\n".join(unclassified)
    )
    stale = [command for command in COMMANDS if command not in commands]
    assert not stale, "COMMANDS entries no longer in the README:\n" + "\n".join(stale)


def test_ci_runs_set_up_command_2() -> None:
    assert SETUP_2 in readme_commands()
    assert SETUP_2 in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


class App(RecordingApp):
    """The user's app: verifies Mux signatures (400 when not valid); 500 while ``failing``."""

    def __init__(self) -> None:
        super().__init__(self.answer)
        self.failing = False

    def answer(self, request: Received) -> tuple[int, bytes]:
        try:
            signing.verify(request.body, request.headers, secret=SECRET)
        except SignatureError as error:
            return 400, f'{{"error":"{error.reason}"}}'.encode()
        if self.failing:
            return 500, b'{"error":"failing on purpose"}'
        return 200, b'{"received":true}'


class Context:
    """An empty folder, a home of its own, the app on a free port, and what commands need."""

    def __init__(self, folder: Path, app: App) -> None:
        self.folder = folder
        self.app = app
        self.env = muxhook_env(folder / "home", {"BROWSER": "true"})  # --open opens nothing
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env['PATH']}"
        self.env.pop("PYTHONPATH", None)
        self.inspector_url = ""
        self.token = ""
        self._inspector: subprocess.Popen[str] | None = None

    def fill(self, command: str) -> str:
        """The command with its placeholders filled in for this run."""
        command = command.replace("localhost:3000", f"127.0.0.1:{self.app.port}")
        command = command.replace("MUX_WEBHOOK_SECRET=…", f"MUX_WEBHOOK_SECRET={SECRET}")
        command = command.replace("MUX_TOKEN_ID=…", "MUX_TOKEN_ID=readme-token-id")
        command = command.replace("MUX_TOKEN_SECRET=…", "MUX_TOKEN_SECRET=readme-token-secret")
        if "t=…,v1=…" in command:
            body = (self.folder / "body.json").read_bytes()
            header = signing.sign(body, secret=SECRET)["Mux-Signature"]
            command = command.replace("t=…,v1=…", header)
        command = command.replace("http://127.0.0.1:8701", self.inspector_url or "unset")
        command = command.replace("token=…", f"token={self.token}")
        command = command.replace("--port 9000", "--port 0")
        if command.startswith("muxhook listen"):
            command += " --port 0"  # the default 8700 may be taken on a shared machine
        assert "…" not in command, f"a placeholder left unfilled: {command}"
        return command

    def shell(self, command: str, prefix: str = "") -> list[str]:
        # The README's url=/token= line sets shell variables for the lines after it.
        return ["bash", "-c", f"set -o pipefail\n{prefix}{command}"]

    def setup(self, what: str) -> str:
        """Prepare the folder for a command; returns shell text to run before it."""
        if what == "body":
            fixture = ROOT / "fixtures" / "mux" / "video.asset.ready.json"
            shutil.copyfile(fixture, self.folder / "body.json")
        elif what == "webhooks":
            # A folder of the user's own fixtures, as log export writes them.
            shutil.copytree(self.folder / "fixtures" / "recorded", self.folder / "webhooks")
        elif what == "inspector":
            self.start_inspector()
            return f"url={self.inspector_url}; token={self.token}\n"
        elif what:
            raise AssertionError(f"unknown setup {what}")
        return ""

    def before_serve(self, command: str) -> None:
        if "ci-events.db" in command:
            log = self.folder / "home" / ".local" / "share" / "muxhook" / "events.db"
            shutil.copyfile(log, self.folder / "ci-events.db")  # a log from CI

    def populate(self, output: list[str]) -> None:
        """Send 13 signed events through the running listener; the app fails the last two."""
        url = next(
            re.search(r"(http://127\.0\.0\.1:\d+\S*)", line) for line in output if "Ready" in line
        )
        assert url is not None
        names = ["video.asset.created", "video.asset.ready", "video.upload.asset_created"]
        for number in range(1, 14):
            self.app.failing = number >= 12
            headers, body = signed_event(names[number % 3], SECRET, id=str(uuid.uuid4()))
            request = urllib.request.Request(url.group(1), data=body, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    assert answer.status == 200
            except urllib.error.HTTPError as error:
                assert number >= 12 and error.code == 500, error
        self.app.failing = False

    def start_inspector(self) -> None:
        if self._inspector is not None:
            return
        process, output = self.start(["muxhook", "inspect", "--port", "0"])
        self._inspector = process
        line = wait_for(output, "inspector: http://127.0.0.1:", process)
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert found, line
        self.inspector_url, self.token = found.group(1), found.group(2)

    def start(self, argv: list[str]) -> tuple[subprocess.Popen[str], list[str]]:
        """Start ``argv`` in the user's folder; its output lines are collected as they come."""
        process = subprocess.Popen(
            argv,
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        return process, watch(process)

    def close(self) -> None:
        if self._inspector is not None:
            stop(self._inspector)


def watch(process: subprocess.Popen[str]) -> list[str]:
    """Collect the process's output lines as they come, in a thread."""
    lines: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=drain, daemon=True).start()
    return lines


def wait_for(lines: list[str], fragment: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = next((line for line in list(lines) if fragment in line), None)
        if found is not None:
            return found
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    raise AssertionError(f"no {fragment!r} within 30 s:\n" + "\n".join(lines))


def stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return code


@pytest.fixture
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    folder = tmp_path_factory.mktemp("readme-user")  # outside the repository, empty
    assert not any(folder.iterdir()) and ROOT not in folder.parents
    (folder / "home").mkdir()
    with serve(App()) as app:
        assert isinstance(app, App)
        context = Context(folder, app)
        try:
            yield context
        finally:
            context.close()


def test_the_readme_commands_run_from_an_empty_folder(context: Context) -> None:
    assert (BIN / "muxhook").exists(), f"no muxhook in {BIN}: install the suite as set-up says"
    failures = []
    for command in readme_commands():
        how = COMMANDS.get(command)
        if how is None or isinstance(how, Skip):
            continue  # unclassified commands fail test_every_readme_command_is_classified
        if isinstance(how, Serve):
            context.before_serve(command)
            filled = context.fill(command)
            process, output = context.start(context.shell("exec " + filled))
            wait_for(output, how.ready, process)
            if how.during:
                getattr(context, how.during)(output)
            code = stop(process)
            print(f"$ {filled}\n" + "\n".join(output))
            if code != how.expect or how.shows not in "\n".join(output):
                failures.append(
                    f"{command}\n  exit {code}, not {how.expect}:\n" + "\n".join(output)
                )
            continue
        prefix = context.setup(how.setup) if isinstance(how, Run) else ""
        filled = context.fill(how.command if isinstance(how, Instead) else command)
        result = subprocess.run(
            context.shell(filled, prefix),
            cwd=context.folder,
            env=context.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        if filled.startswith("export "):  # the shell keeps it for the commands after it
            for assignment in shlex.split(filled)[1:]:
                name, _, value = assignment.partition("=")
                context.env[name] = value
        print(f"$ {filled}\n{result.stdout}{result.stderr}")
        if result.returncode != how.expect or how.shows not in result.stdout + result.stderr:
            failures.append(
                f"{command}\n  ran: {filled}\n  exit {result.returncode} (expected {how.expect}), "
                f"output expected to hold {how.shows!r}:\n"
                + result.stdout[-2000:]
                + result.stderr[-2000:]
            )
    assert not failures, "README commands that failed:\n\n" + "\n\n".join(failures)
    # What they did, as the README says: the app got the Quick start's sends and the
    # log's replays, and every event the app failed was delivered by log replay --failed.
    paths = {request.path for request in context.app.requests}
    assert paths == {"/webhooks/mux"}, paths
    assert (context.folder / "webhooks.xml").exists()
    left = subprocess.run(
        ["muxhook", "log", "list", "--status", "failed", "--json"],
        cwd=context.folder,
        env=context.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (left.returncode, left.stdout) == (0, ""), left.stdout + left.stderr


def _copy_of_the_repository(into: Path) -> Path:
    """The repository's tracked files (a fresh clone's), without this checkout's venv."""
    copy = into / "muxhook"
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60, check=False
    )
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = ROOT / name
            if name and source.is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy / name)
    else:  # not a git checkout (an unpacked sdist): everything but what builds produce
        ignore = shutil.ignore_patterns(
            ".venv", "node_modules", "__pycache__", ".git", "*.egg-info"
        )
        shutil.copytree(ROOT, copy, ignore=ignore)
    return copy


def test_set_up_command_1_installs_and_puts_muxhook_on_path(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Command 1 as written, in a copy of the repository with no venv: pip installs muxhook
    into a fresh .venv (from the configured index, as on any machine), listen runs until
    Ctrl-C, and afterwards bare ``muxhook`` works in that shell from another, empty folder."""
    assert SETUP_1 in readme_commands()
    checkout = _copy_of_the_repository(tmp_path_factory.mktemp("fresh"))
    elsewhere = tmp_path_factory.mktemp("my-project")
    home = tmp_path_factory.mktemp("home")
    env = muxhook_env(home, {"MUX_WEBHOOK_SECRET": SECRET})
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    # The suite's venv is not on PATH: only command 1 may put a muxhook there.
    env["PATH"] = os.pathsep.join(
        part for part in env["PATH"].split(os.pathsep) if Path(part) != BIN
    )
    with serve(App()) as app:
        command = SETUP_1.replace("localhost:3000", f"127.0.0.1:{app.port}") + " --port 0"
        script = (
            f"{command}\n"
            f'echo "listen exited $?"\n'
            f"cd {shlex.quote(str(elsewhere))} && command -v muxhook\n"
            "muxhook sign video.asset.ready\n"
        )
        process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the shell's foreground job, as in a terminal
        )
        output = watch(process)
        deadline = time.monotonic() + 600  # pip builds and installs muxhook and its dependencies
        while time.monotonic() < deadline and process.poll() is None:
            if any("Ready: listening on" in line for line in list(output)):
                break
            time.sleep(0.2)
        assert any("Ready: listening on" in line for line in output), "\n".join(output[-60:])
        os.killpg(process.pid, signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        time.sleep(0.2)  # the last lines
        assert process.stdout is not None
        process.stdout.close()
    text = "\n".join(output)
    assert code == 0, text[-4000:]
    assert "listen exited 0" in text
    assert f"{checkout}/.venv/bin/muxhook" in text
    assert "Mux-Signature: t=" in text
