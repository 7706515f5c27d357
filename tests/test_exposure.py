"""Secrets and exposure: a whole session with one secret, then a grep of all it produced.

One module-scoped session uses a distinctive Mux secret everywhere muxhook takes one:
``MUX_WEBHOOK_SECRET``, ``--secret``, a ``.env`` file, and a second one as
``--forward-secret``, plus a wrong third one where a check must fail. It runs ``sign``,
``verify``, ``trigger``, two ``listen`` sessions (``--verbose --save`` and ``--json``),
``log list/show/export/replay``, ``replay`` with ``--tamper --junit --json``, the
failing cases (wrong secret, malformed header, unreachable app, unknown event, a
directory as ``--db``, a port in use) and unexpected internal errors (a full stdout,
a non-UTF-8 ``--set`` value, a scenario nested too deep), then looks for the secrets in
everything: every stdout and stderr, the requests the app received, the SQLite log
(raw bytes of the database, its -wal and its -shm, copied while the listener ran), the
saved fixtures, the exported files, the JUnit files and the JSON lines.

Each secret is ``"test"`` and a 24-character tail: the four characters muxhook may show
(``test… (28 chars)``) say nothing, and the tail is what is searched for, also
lower-cased, hex-encoded, base64-encoded and as the decoded HMAC key of the
base64 providers.

Then exposure on the network and the disk: the listener binds 127.0.0.1 by default, a
non-loopback ``--host`` prints a warning, and what muxhook creates is owner-only.

Limits, found and not testable here (see the reply that added this file):
``--secret``/``--forward-secret`` on the command line are visible to other local users
in ``ps`` and ``/proc/PID/cmdline`` for as long as the command runs (prefer the
environment or ``.env``); pyngrok would pass an ngrok authtoken on the agent's command
line, which ``muxhook.tunnel`` prevents by clearing it (the agent reads its own config
or ``NGROK_AUTHTOKEN``).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from muxhook import signing
from muxhook.errors import SignatureError
from tests.apps import Received, RecordingApp, free_port, serve
from tests.listening import Listener, listening, muxhook_env

SECRET = "test" + "Qz7vK2pXw9LmR4tYb8NcJ5hF"  # base64 too: FastPix and Millicast take it
FORWARD = "test" + "Hn3sW8dLq6ZrT1vYc9KbM4xP"
WRONG = "test" + "Ae5uJ0gRk7NpV2sXf8LwB3yD"
SECRETS = {"the secret": SECRET, "the forward secret": FORWARD, "the wrong secret": WRONG}
ROOT = Path(__file__).resolve().parent.parent
ASSET_READY = (ROOT / "fixtures" / "mux" / "video.asset.ready.json").read_bytes()
FULL = Path("/dev/full")
#: ``muxhook ARGS`` with an error no code path expects, raised where the key is a local:
#: the HMAC of every Mux signature fails. Its traceback (or line) must not show the key.
INJECTED = """
import sys
from muxhook.providers import mux

def signature(self, body, key, timestamp):
    raise RuntimeError("an internal error injected by tests/test_exposure.py")

mux.Mux.signature = signature
sys.argv[0] = "muxhook"
from muxhook._entry import main
main()
"""
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 (the point of the test)


def needles() -> dict[str, bytes]:
    """What a leak of each secret would look like, in text or in binary."""
    found: dict[str, bytes] = {}
    for label, secret in SECRETS.items():
        tail = secret[4:]
        found[f"{label} ({tail})"] = tail.encode()
        found[f"{label}, lower-cased"] = tail.lower().encode()
        found[f"{label}, hex"] = secret.encode().hex().encode()
        found[f"{label}, base64"] = base64.b64encode(secret.encode())
        found[f"{label}, as the decoded HMAC key"] = base64.b64decode(secret)
    return found


def leaks(corpus: Sequence[tuple[str, bytes]]) -> list[str]:
    return [
        f"{label} in {where}"
        for where, data in corpus
        for label, needle in needles().items()
        if needle in data
    ]


@dataclasses.dataclass
class Run:
    args: list[str]
    code: int
    stdout: bytes
    stderr: bytes


def app_answer(request: Received) -> tuple[int, bytes]:
    """200; /fail answers 500; /verify checks the signature with SECRET, as a real app would."""
    if request.path.startswith("/fail"):
        return 500, b'{"detail":"KeyError: \'errors\'"}'
    if request.path.startswith("/verify"):
        try:
            signing.verify(request.body, request.headers, secret=SECRET)
        except SignatureError:
            return 401, b'{"error":"bad signature"}'
    return 200, b'{"received":true}'


_MACHINE = ("MUX_", "FASTPIX_", "MILLICAST_", "NGROK_", "MUXHOOK_", "PYNGROK_")


@dataclasses.dataclass
class Session:
    """Everything one session produced, and where it is.

    Commands run in this process through the real entry point (as ``tests/conftest.py``'s
    ``cli`` does, to keep the session short) unless they need a process of their own: the
    listeners, and the internal errors, whose tracebacks only the interpreter prints.
    """

    root: Path
    home: Path
    app: RecordingApp
    db: Path
    save: Path
    export: Path
    environ: dict[str, str]  # muxhook_env(home), taken once: threads must not read os.environ
    runs: dict[str, Run] = dataclasses.field(default_factory=dict)
    listens: dict[str, Listener] = dataclasses.field(default_factory=dict)
    answers: dict[str, int] = dataclasses.field(default_factory=dict)
    snapshots: dict[str, bytes] = dataclasses.field(default_factory=dict)
    modes: dict[str, int] = dataclasses.field(default_factory=dict)

    def muxhook(self, name: str, *args: str, env: dict[str, str] | None = None) -> Run:
        """``muxhook ARGS`` in this process, with the session's home, cwd and environment."""
        from muxhook import _entry

        out, err = io.StringIO(), io.StringIO()
        code = 0
        with pytest.MonkeyPatch.context() as patch:
            for key in list(os.environ):
                if key.startswith(_MACHINE):
                    patch.delenv(key)
            for key, value in {**self.environ, **(env or {})}.items():
                if os.environ.get(key) != value:
                    patch.setenv(key, value)
            patch.chdir(self.home)
            patch.setattr(sys, "argv", ["muxhook", *args])
            patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
            patch.setattr(sys, "stdout", out)
            patch.setattr(sys, "stderr", err)
            try:
                _entry.main()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        text = [out.getvalue(), err.getvalue()]
        run = Run(list(args), code, *(t.encode("utf-8", "surrogateescape") for t in text))
        self.runs[name] = run
        return run

    def process(
        self,
        name: str,
        *args: str | bytes,
        env: dict[str, str] | None = None,
        stdout_to: Path | None = None,
        injected: bool = False,
    ) -> Run:
        """``muxhook ARGS`` as a process of its own (thread-safe: several may run at once)."""
        sink = stdout_to.open("wb") if stdout_to else None
        start = ["-c", INJECTED] if injected else ["-m", "muxhook"]
        try:
            done = subprocess.run(
                [sys.executable, *start, *args],
                stdin=subprocess.DEVNULL,
                stdout=sink or subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**self.environ, **(env or {})},
                cwd=self.home,
                timeout=120,
                check=False,
            )
        finally:
            if sink is not None:
                sink.close()
        shown = [a.decode("utf-8", "surrogateescape") if isinstance(a, bytes) else a for a in args]
        run = Run(shown, done.returncode, done.stdout or b"", done.stderr)
        self.runs[name] = run
        return run

    def corpus(self) -> list[tuple[str, bytes]]:
        """Every byte the session produced (the .env file we wrote aside)."""
        found: list[tuple[str, bytes]] = []
        for name, run in self.runs.items():
            found += [(f"`{name}` stdout", run.stdout), (f"`{name}` stderr", run.stderr)]
        for name, listener in self.listens.items():
            found.append((f"`{name}` stdout", "\n".join(listener.stdout).encode()))
            found.append((f"`{name}` stderr", "\n".join(listener.stderr).encode()))
        for number, request in enumerate(self.app.requests):
            shown = repr(sorted(request.headers.items())) + request.path
            found.append((f"app request {number} headers", shown.encode()))
            found.append((f"app request {number} body", request.body))
        found += [
            (f"{name} (copied while listening)", data) for name, data in self.snapshots.items()
        ]
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.name != ".env":
                found.append((str(path.relative_to(self.root)), path.read_bytes()))
        return found


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=30).status_code


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("exposure")
    home = root / "home"
    home.mkdir()
    (home / ".env").write_text(
        f"MUX_WEBHOOK_SECRET={SECRET}\n"
        f'FASTPIX_WEBHOOK_SECRET="{SECRET}"\n'
        f"export MILLICAST_WEBHOOK_SECRET={SECRET}\n"
    )
    with serve(RecordingApp(app_answer)) as app, ThreadPoolExecutor(3) as pool:
        db = root / "data" / "log" / "events.db"
        s = Session(root, home, app, db, root / "saved", root / "exported", muxhook_env(home))
        alone = [pool.submit(job, s) for job in _processes_without_the_log()]
        _offline(s)
        _trigger(s)
        _listen(s)
        alone += [pool.submit(job, s) for job in _processes_with_the_log()]
        _log(s)
        _replay(s)
        for job in alone:
            job.result()
        yield s


def _offline(s: Session) -> None:
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    s.muxhook("sign (.env)", "sign", "video.asset.ready")
    signed = s.muxhook(
        "sign --format json", "sign", "video.asset.ready", "--format", "json", env=env
    )
    assert signed.code == 0, signed.stderr
    s.muxhook("sign curl", "sign", "video.asset.ready", "--secret", SECRET, "--format", "curl")
    s.muxhook("sign httpie", "sign", "video.asset.ready", "--secret", SECRET, "--format", "httpie")
    s.muxhook("sign fastpix", "sign", "fastpix:video.media.ready", "--secret", SECRET)
    s.muxhook("sign millicast (.env)", "sign", "millicast:media.completed", "--format", "json")
    s.muxhook("sign not base64", "sign", "fastpix:video.media.ready", "--secret", SECRET + "!")
    body = s.home / "body.json"
    body.write_bytes(ASSET_READY)
    pretty = s.home / "pretty.json"
    pretty.write_text(ASSET_READY.decode().replace(",", ",\n  "))
    header = "Mux-Signature: " + signing.sign(ASSET_READY, secret=SECRET)["Mux-Signature"]
    s.muxhook("verify", "verify", str(body), "-H", header, env=env)
    s.muxhook("verify --json", "verify", str(body), "-H", header, "--json", env=env)
    s.muxhook("verify wrong", "verify", str(body), "-H", header, "--secret", WRONG)
    s.muxhook("verify quoted", "verify", str(body), "-H", header, "--secret", f'" {SECRET} "')
    s.muxhook("verify pretty --json", "verify", str(pretty), "-H", header, "--json", env=env)
    s.muxhook("verify malformed", "verify", str(body), "-H", "Mux-Signature: v1=zz", env=env)
    s.muxhook("verify no file", "verify", str(s.home / "missing.json"), "-H", header)


def _trigger(s: Session) -> None:
    url = s.app.url
    s.muxhook("trigger", "trigger", "video.asset.ready", "--to", url, "--set", "data.x=1")
    base = url.rsplit("/webhooks", 1)[0]
    args = ("--secret", SECRET)
    s.muxhook("trigger 500", "trigger", "video.asset.ready", "--to", base + "/fail", *args)
    dead = f"http://127.0.0.1:{free_port()}/x"
    s.muxhook("trigger unreachable", "trigger", "video.asset.ready", "--to", dead, *args)
    s.muxhook("trigger unknown event", "trigger", "video.asset.redy", "--to", url, *args)


def _listen(s: Session) -> None:
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    fastpix_body = (ROOT / "fixtures" / "fastpix" / "video.media.ready.json").read_bytes()
    with listening(
        "--no-tunnel",
        "--port",
        "0",
        "--db",
        str(s.db),
        "--save",
        str(s.save),
        "--save-all",  # every request is copied: the sweep reads them all
        "-f",
        s.app.url,
        "--forward-secret",
        FORWARD,
        "-H",
        "X-Extra: 1",
        "--verbose",
        home=s.home,
        env=env,
    ) as listener:
        s.listens["listen --verbose --save --forward-secret"] = listener
        post = listener.url
        s.answers["valid"] = _post(post, ASSET_READY, signing.sign(ASSET_READY, secret=SECRET))
        s.answers["wrong secret"] = _post(
            post, ASSET_READY, signing.sign(ASSET_READY, secret=WRONG)
        )
        s.answers["no signature"] = _post(post, b"not json", {"Content-Type": "text/plain"})
        fastpix = signing.sign(fastpix_body, secret=SECRET, provider="fastpix")
        s.answers["fastpix"] = _post(post, fastpix_body, fastpix)
        listener.wait_for_stdout(4)
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{s.db}{suffix}")
            if path.exists():
                s.snapshots[path.name] = path.read_bytes()
                s.modes[path.name] = path.stat().st_mode
    with listening(
        "--no-tunnel",
        "--port",
        "0",
        "--db",
        str(s.db),
        "--json",
        "--secret",
        SECRET,
        "-f",
        s.app.url,
        home=s.home,
    ) as listener:
        s.listens["listen --json --secret"] = listener
        stamp = int(time.time())
        headers = signing.sign(ASSET_READY, secret=SECRET, timestamp=stamp)
        s.answers["json valid"] = _post(listener.url, ASSET_READY, headers)
        tampered = ASSET_READY.replace(b"video.asset.ready", b"video.asset.deleted")
        s.answers["json tampered"] = _post(listener.url, tampered, headers)
        listener.wait_for_stdout(2)


def _log(s: Session) -> None:
    db = ("--db", str(s.db))
    s.muxhook("log list", "log", "list", *db)
    s.muxhook("log list --json", "log", "list", "--json", *db)
    s.muxhook("log show 1", "log", "show", "1", *db)
    s.muxhook("log show 2 --json", "log", "show", "2", "--json", *db)
    s.muxhook("log show missing", "log", "show", "999", *db)
    s.muxhook("log export", "log", "export", "--since", "1h", "--to", str(s.export), *db)
    s.muxhook("log replay 1", "log", "replay", "1", "--to", s.app.url, "--secret", SECRET, *db)
    s.muxhook("log replay --failed", "log", "replay", "--failed", *db)
    not_a_log = s.root / "not-a-log.db"
    not_a_log.write_bytes(b"this is not SQLite\n" * 10)
    s.muxhook("log list not a log", "log", "list", "--db", str(not_a_log))


def _replay(s: Session) -> None:
    env = {"MUX_WEBHOOK_SECRET": SECRET}
    base = s.app.url.rsplit("/webhooks", 1)[0]
    junit = s.root / "junit"
    junit.mkdir()
    s.muxhook(
        "replay saved --tamper (app accepts forgeries)",
        "replay",
        str(s.save),
        "--to",
        s.app.url,
        "--tamper",
        "--junit",
        str(junit / "accepts.xml"),
        "--json",
        env=env,
    )
    s.muxhook(
        "replay from log --tamper",
        "replay",
        "--from-log",
        "--db",
        str(s.db),
        "--to",
        base + "/verify",
        "--secret",
        SECRET,
        "--tamper",
        "--duplicates",
        "1",
        "--junit",
        str(junit / "from-log.xml"),
    )
    s.muxhook(
        "replay scenario --json",
        "replay",
        "mux-direct-upload",
        str(s.export),
        "--to",
        base + "/verify",
        "--secret",
        SECRET,
        "--json",
        "--junit",
        str(junit / "scenario.xml"),
    )


Job = Callable[[Session], object]


def _processes_without_the_log() -> list[Job]:
    """Errors muxhook does not expect (their tracebacks must not show a secret either).

    Three are real (found by this work: a non-UTF-8 --set value, a scenario nested too
    deep; a full stdout, fixed since), one is injected so the path stays covered once
    the real ones are fixed.
    """
    secret = ("--secret", SECRET)
    raw = b"data.passthrough=\xff"  # not UTF-8: sys.argv hands it over as a lone surrogate
    deep = "[" * 600 + "]" * 600

    def deep_scenario(s: Session) -> Run:
        path = s.home / "deep.toml"
        path.write_text(f'[[steps]]\nevent = "video.asset.ready"\nset = {{ "data.x" = {deep} }}\n')
        return s.process("replay deep scenario", "replay", str(path), "--to", s.app.url, *secret)

    jobs: list[Job] = [
        lambda s: s.process("sign (.env), as a process", "sign", "video.asset.ready"),
        lambda s: s.process(
            "sign --set non-UTF-8", "sign", "video.asset.ready", "--set", raw, *secret
        ),
        lambda s: s.process(
            "trigger --set non-UTF-8 (Typer)",
            *("trigger", "video.asset.ready", "--to", s.app.url, "--set", raw, *secret),
        ),
        deep_scenario,
        lambda s: s.process(
            "sign, injected error", "sign", "video.asset.ready", *secret, injected=True
        ),
        lambda s: s.process(
            "trigger, injected error (Typer)",
            *("trigger", "video.asset.ready", "--to", s.app.url, *secret),
            injected=True,
        ),
        lambda s: s.process(
            "listen --db a directory", "listen", "--no-tunnel", "--db", str(s.root)
        ),
    ]
    if FULL.exists():
        jobs += [
            lambda s: s.process(
                "sign > /dev/full",
                *("sign", "video.asset.ready", "--format", "json", *secret),
                stdout_to=FULL,
            ),
            lambda s: s.process(
                "trigger > /dev/full (Typer)",
                *("trigger", "video.asset.ready", "--to", s.app.url, *secret),
                stdout_to=FULL,
            ),
        ]
    return jobs


def _processes_with_the_log() -> list[Job]:
    def port_in_use(s: Session) -> Run:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = str(taken.getsockname()[1])
            return s.process("listen port in use", "listen", "--no-tunnel", "--port", port)

    jobs: list[Job] = [port_in_use]
    if FULL.exists():
        jobs.append(
            lambda s: s.process(
                "log replay > /dev/full (Typer)",
                *("log", "replay", "1", "--to", s.app.url, "--db", str(s.db), "--secret", SECRET),
                stdout_to=FULL,
            )
        )
    return jobs


# -- the grep -----------------------------------------------------------------------------------


def test_no_secret_appears_in_anything_the_session_produced(session: Session) -> None:
    corpus = session.corpus()
    assert leaks(corpus) == []


def test_the_grep_sees_a_secret_where_one_is(session: Session) -> None:
    """Positive control: the needles match the .env file and the masked form is shown."""
    env_file = (session.home / ".env").read_bytes()
    assert leaks([(".env", env_file)]) == [f"the secret ({SECRET[4:]}) in .env"]
    started = "\n".join(session.listens["listen --verbose --save --forward-secret"].stderr)
    assert "test… (28 chars)" in started


def test_the_session_went_through_every_path(session: Session) -> None:
    """The grep is only worth what the session exercised: the outcomes it had to reach."""
    codes = {name: run.code for name, run in session.runs.items()}
    assert codes["sign (.env)"] == codes["verify"] == codes["trigger"] == 0
    assert codes["verify wrong"] == codes["verify quoted"] == codes["trigger 500"] == 1
    assert b"surrounding whitespace or quotes" in session.runs["verify quoted"].stdout
    assert codes["sign not base64"] == codes["verify no file"] == codes["log show missing"] == 2
    assert codes["trigger unreachable"] == 3
    assert codes["listen --db a directory"] == codes["listen port in use"] == 4
    assert codes["log list not a log"] == 4
    assert codes["replay saved --tamper (app accepts forgeries)"] == 1
    assert codes["replay from log --tamper"] == 0, session.runs["replay from log --tamper"].stderr
    assert codes["log export"] == codes["log replay 1"] == 0
    assert session.answers == {
        "valid": 200,
        "wrong secret": 401,
        "no signature": 401,  # a secret is configured: an unsigned request is refused
        "fastpix": 200,
        "json valid": 200,
        "json tampered": 401,
    }
    assert {"events.db", "events.db-wal", "events.db-shm"} <= set(session.snapshots)
    assert len(session.snapshots["events.db-wal"]) > 0
    assert sorted(p.name for p in (session.root / "junit").iterdir()) == [
        "accepts.xml",
        "from-log.xml",
        "scenario.xml",
    ]
    assert len(list(session.save.rglob("*.json*"))) >= 3
    assert len(list(session.export.rglob("*.json"))) >= 5
    for name in ("sign, injected error", "trigger, injected error (Typer)"):
        run = session.runs[name]  # an internal error: shown, whatever its form, and not 0
        assert run.code != 0 and b"injected by tests/test_exposure.py" in run.stderr, name
    # The app got the forward secret's signature, never a secret.
    forwarded = [r for r in session.app.requests if r.header("X-Extra") == "1"]
    assert forwarded
    signing.verify(forwarded[0].body, forwarded[0].headers, secret=FORWARD)


# -- the network --------------------------------------------------------------------------------


def _listening_addresses(port: int) -> list[str]:
    """Addresses in LISTEN state on ``port``, read from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":
                found.append(address)
    return found


def _non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: a route lookup only
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == ANY_ADDRESS else address


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_listener_binds_loopback_only_by_default(tmp_path: Path) -> None:
    with listening(
        "--no-tunnel", "--port", "0", "--db", str(tmp_path / "e.db"), home=tmp_path
    ) as listener:
        port = int(listener.url.rsplit(":", 1)[1].split("/", 1)[0])
        assert listener.url.startswith("http://127.0.0.1:")
        assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1, IPv4 only
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()
        assert not any("other machines" in line for line in listener.stderr)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_a_non_loopback_host_is_warned_about(tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    with listening(
        "--no-tunnel", "--port", "0", "--host", ANY_ADDRESS, "--db", db, home=tmp_path
    ) as listener:
        port = int(listener.url.rsplit(":", 1)[1].split("/", 1)[0])
        assert _listening_addresses(port) == ["00000000"]
        warning = f"listening on {ANY_ADDRESS}: other machines on your network can post to muxhook"
        assert any(warning in line for line in listener.stderr), listener.stderr


# -- the disk -----------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_event_log_is_owner_only(session: Session) -> None:
    assert _mode(session.db) == 0o600
    for name in ("events.db-wal", "events.db-shm"):  # gone once the last listener closed
        assert stat.S_IMODE(session.modes[name]) == 0o600, name
    assert _mode(session.db.parent) == 0o700  # the folder muxhook made for it


@pytest.mark.parametrize("written_by", ["save", "export"])
def test_saved_and_exported_fixtures_and_their_folders_are_owner_only(
    session: Session, written_by: str
) -> None:
    """Files from ``listen --save`` and ``log export``, and their provider folders."""
    folder: Path = getattr(session, written_by)
    files = list(folder.rglob("*.json"))
    assert files
    for path in files:
        assert _mode(path) == 0o600, path
        assert _mode(path.parent) == 0o700, path.parent


def test_every_folder_muxhook_creates_is_owner_only(session: Session) -> None:
    """--save DIR, log export --to DIR and every missing parent of --db's file, not only the
    innermost folder (Path.mkdir(mode=0o700, parents=True) gives the mode to the last alone).
    """
    for folder in (session.save, session.export, session.db.parent, session.db.parent.parent):
        assert _mode(folder) == 0o700, folder


def test_the_installed_ngrok_agent_is_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``muxhook ngrok install`` with pyngrok's download replaced: muxhook's own chmod."""
    from pyngrok import installer

    from muxhook import tunnel

    def fake_download(path: str, **options: object) -> None:
        Path(path).write_bytes(b"\x7fELF not really ngrok\n")
        os.chmod(path, 0o777)  # noqa: S103 (whatever the archive said)

    monkeypatch.setattr(installer, "install_ngrok", fake_download)
    target = tmp_path / "bin" / "ngrok"
    assert tunnel.install_ngrok(str(target)) == str(target)
    assert _mode(target) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["ngrok"]  # no staging left behind


# -- unexpected errors --------------------------------------------------------------------------


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
def test_a_full_stdout_is_one_line_not_a_traceback(session: Session) -> None:
    """ENOSPC on stdout (a full disk): one line and exit 4, on both doors of the CLI."""
    for name in ("sign > /dev/full", "trigger > /dev/full (Typer)"):
        run = session.runs[name]
        assert b"Traceback" not in run.stderr and run.code == 4, (name, run.stderr[-500:])
