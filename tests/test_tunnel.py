"""muxhook.tunnel against real pyngrok and a fake ngrok agent: offline, loopback only.

``tests/fake_ngrok.py`` is installed as an executable named ``ngrok`` in a
temporary directory and driven by the real pyngrok code, so these tests cover
the argv pyngrok builds, the agent API calls it makes, its log parsing and its
process handling. The tests near the end run ``muxhook listen`` as a process with
the fake agent, and hang it (SIGSTOP), drop its session (SIGUSR1), kill it, kill
``listen`` with SIGKILL, send Ctrl-C to the terminal's process group and suspend
``listen`` itself. Only the last test talks to ngrok's servers, and only when
``NGROK_AUTHTOKEN`` is set.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from muxhook import signing
from muxhook.errors import EnvironmentProblem, UsageError
from muxhook.tunnel import (
    NgrokTunnel,
    NoTunnel,
    StaticUrl,
    Tunnel,
    WatchTiming,
    _release,  # the pipe clean-up pyngrok lacks, reused by one test
    authtoken_advice,
    authtoken_configured,
    install_ngrok,
    missing_agent_message,
    resolve_ngrok_path,
)
from tests.apps import RecordingApp, serve
from tests.listening import Listener, listening, muxhook_env
from tests.test_listen import _fake_agent

FAKE = Path(__file__).resolve().parent / "fake_ngrok.py"
#: Read at import: the suite's autouse fixture removes NGROK_* before each test.
LIVE_TOKEN = os.environ.get("NGROK_AUTHTOKEN", "")
LIVE_AGENT = os.environ.get("MUXHOOK_NGROK_PATH")


# -- helpers -------------------------------------------------------------------------------------


class Agent:
    """The fake agent's files, and the tunnels a test opened (stopped at teardown)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "bin" / "ngrok"
        self.config = root / "ngrok-config" / "ngrok.yml"
        self.record = root / "record.jsonl"
        self.tunnels: list[NgrokTunnel] = []
        self.logs: list[str] = []

    def tunnel(self, **options: Any) -> NgrokTunnel:
        options.setdefault("startup_timeout", 10.0)
        tunnel = NgrokTunnel(
            ngrok_path=str(self.path),
            config_path=str(self.config),
            on_agent_log=self.logs.append,
            **options,
        )
        self.tunnels.append(tunnel)
        return tunnel

    def calls(self, kind: str) -> list[dict[str, Any]]:
        return _recorded(self.record, kind)

    def pids(self) -> list[int]:
        return [int(entry["pid"]) for entry in self.calls("argv")]


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (reaped, or a zombie waiting to be)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with open(stat, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    return False


def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


class Seen:
    """One request as the local app received it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class LocalApp:
    """A real HTTP app on 127.0.0.1:0 that records requests and answers 202."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                app.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                answer = b'{"ok":true}'
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-App", "local")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    # Loopback http:// URLs built by the tests only.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    """The fake agent as ``<tmp>/bin/ngrok``; HOME and XDG point into tmp (G11)."""
    fake = Agent(tmp_path)
    fake.path.parent.mkdir()
    source = FAKE.read_text(encoding="utf-8")
    # Run the fake with this interpreter, whatever python3 is (or is not) on PATH.
    fake.path.write_text(
        source.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1), encoding="utf-8"
    )
    fake.path.chmod(0o755)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in list(os.environ):
        if name.startswith(("FAKE_NGROK_", "PYNGROK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FAKE_NGROK_RECORD", str(fake.record))
    monkeypatch.setenv("FAKE_NGROK_MAX_LIFETIME", "120")
    yield fake
    # G12: pyngrok keeps one agent per ngrok_path in a module-level registry.
    from pyngrok import conf, ngrok

    for tunnel in fake.tunnels:
        tunnel.stop()
    ngrok.kill(conf.PyngrokConfig(ngrok_path=str(fake.path), config_path=str(fake.config)))
    for pid in fake.pids():
        if not _gone(pid):  # a leak is a failure, but never leave it running
            os.kill(pid, 9)
            pytest.fail(f"fake agent {pid} outlived its test")


@pytest.fixture
def local_app() -> Iterator[LocalApp]:
    app = LocalApp()
    yield app
    app.close()


# -- NgrokTunnel against the fake agent -----------------------------------------------------------


def test_a_webhook_reaches_the_local_app_through_the_public_url(
    agent: Agent, local_app: LocalApp
) -> None:
    tunnel = agent.tunnel()
    public = tunnel.start(local_app.port)
    assert public is not None and public.startswith("http://127.0.0.1:")
    assert tunnel.alive()
    body = b'{"type":"video.asset.ready","data":{"id":"abc"}}\n\x00\xff'
    status, headers, answer = _post(
        f"{public}/webhooks/mux?attempt=1",
        body,
        {"Content-Type": "application/json", "Mux-Signature": "t=1700000000,v1=deadbeef"},
    )
    assert (status, answer, headers["X-App"]) == (202, b'{"ok":true}', "local")
    [seen] = local_app.seen
    assert (seen.method, seen.path, seen.body) == ("POST", "/webhooks/mux?attempt=1", body)
    assert seen.headers["Mux-Signature"] == "t=1700000000,v1=deadbeef"
    assert seen.headers["Content-Type"] == "application/json"

    tunnel.stop()
    assert not tunnel.alive()
    with pytest.raises(OSError):
        _post(f"{public}/webhooks/mux", b"{}", {})
    [pid] = agent.pids()
    assert _gone(pid)


def test_pyngrok_sends_only_v3_fields_and_keeps_the_token_off_argv(
    agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGROK_AUTHTOKEN", "2secret_token_value")
    monkeypatch.setenv("FAKE_NGROK_REQUIRE_AUTHTOKEN", "1")  # the agent finds it in its env
    agent.tunnel().start(local_app.port)

    [argv] = agent.calls("argv")
    assert argv["argv"] == ["start", "--none", "--log", "stdout", "--config", str(agent.config)]
    assert argv["env_authtoken"] is True
    assert "2secret_token_value" not in agent.record.read_text(encoding="utf-8")
    [create] = [c for c in agent.calls("api") if c["method"] == "POST"]
    assert create["path"] == "/api/endpoints"
    assert create["body"] == {
        "name": f"muxhook-{local_app.port}",
        "upstream": {"url": f"http://127.0.0.1:{local_app.port}"},
    }


def test_a_domain_becomes_the_v3_url_field(agent: Agent, local_app: LocalApp) -> None:
    agent.tunnel(domain="https://Muxhook-Dev.ngrok-free.app/").start(local_app.port)
    [create] = [c for c in agent.calls("api") if c["method"] == "POST"]
    assert create["body"]["url"] == "https://muxhook-dev.ngrok-free.app"
    assert set(create["body"]) == {"name", "upstream", "url"}


def test_stop_deletes_the_endpoint_and_is_idempotent(agent: Agent, local_app: LocalApp) -> None:
    tunnel = agent.tunnel()
    tunnel.stop()  # before start: nothing to do
    tunnel.start(local_app.port)
    tunnel.stop()
    tunnel.stop()
    deletes = [c["path"] for c in agent.calls("api") if c["method"] == "DELETE"]
    assert deletes == [f"/api/endpoints/muxhook-{local_app.port}"]
    assert not tunnel.alive()


@pytest.mark.parametrize(
    ("switch", "fragments"),
    [
        (
            {"FAKE_NGROK_FAIL": "4018"},
            ["ERR_NGROK_4018", "ngrok config add-authtoken <token>", "--public-url"],
        ),
        (
            {"FAKE_NGROK_REQUIRE_AUTHTOKEN": "1"},
            ["ERR_NGROK_4018", "ngrok config add-authtoken <token>", "--public-url"],
        ),
        ({"FAKE_NGROK_FAIL": "105"}, ["rejected the authtoken", "ERR_NGROK_105"]),
        ({"FAKE_NGROK_FAIL": "107"}, ["rejected the authtoken", "ERR_NGROK_107"]),
    ],
)
def test_session_failures_become_one_line_naming_the_fix(
    agent: Agent,
    local_app: LocalApp,
    monkeypatch: pytest.MonkeyPatch,
    switch: dict[str, str],
    fragments: list[str],
) -> None:
    for name, value in switch.items():
        monkeypatch.setenv(name, value)
    tunnel = agent.tunnel()
    with pytest.raises(EnvironmentProblem) as caught:
        tunnel.start(local_app.port)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    for fragment in fragments:
        assert fragment in message
    assert not tunnel.alive()
    assert agent.logs == []  # start-up errors are raised, not also forwarded


def test_a_url_already_online_names_the_other_session_and_domain(
    agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NGROK_FAIL", "334")
    tunnel = agent.tunnel(domain="muxhook-dev.ngrok-free.app")
    with pytest.raises(EnvironmentProblem) as caught:
        tunnel.start(local_app.port)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("https://muxhook-dev.ngrok-free.app is already online")
    for fragment in ("another ngrok session", "muxhook listen", "--domain", "ERR_NGROK_334"):
        assert fragment in message
    [pid] = agent.pids()
    assert _wait_for(lambda: _gone(pid), 3), "the agent must not outlive a failed start"


def test_other_agent_codes_keep_the_agents_words(
    agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NGROK_FAIL", "3200")
    with pytest.raises(EnvironmentProblem) as caught:
        agent.tunnel().start(local_app.port)
    assert str(caught.value) == (
        "ngrok: The fake agent was told to fail this endpoint (ERR_NGROK_3200)"
    )


def test_the_fake_agent_rejects_tunnel_era_fields_as_the_real_one_does(
    agent: Agent, local_app: LocalApp
) -> None:
    """G4, the reason NgrokTunnel sends only ``url``: pyngrok passes v2 options through."""
    from pyngrok import conf, ngrok
    from pyngrok.exception import PyngrokNgrokHTTPError

    config = conf.PyngrokConfig(ngrok_path=str(agent.path), config_path=str(agent.config))
    running = ngrok.get_ngrok_process(config)
    try:
        for legacy in ({"bind_tls": True}, {"domain": "x.ngrok-free.app"}):
            with pytest.raises(PyngrokNgrokHTTPError) as caught:
                ngrok.connect(str(local_app.port), "http", pyngrok_config=config, **legacy)
            assert caught.value.status_code == 400
            assert "invalid tunnel configuration" in caught.value.body
    finally:
        ngrok.kill(config)
        _release(running)  # pyngrok leaves the agent's stdout pipe open


def test_a_silent_agent_hits_the_deadline_and_is_killed(
    agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NGROK_SILENT", "1")
    tunnel = agent.tunnel(startup_timeout=2)
    began = time.monotonic()
    with pytest.raises(EnvironmentProblem) as caught:
        tunnel.start(local_app.port)
    elapsed = time.monotonic() - began
    assert elapsed < 5, f"start() took {elapsed:.1f} s"
    assert str(caught.value).startswith("the ngrok agent did not start within 2 s; run `")
    [pid] = agent.pids()
    assert _wait_for(lambda: _gone(pid), 2)
    assert not tunnel.alive()
    starters = [t for t in threading.enumerate() if t.name == "muxhook-ngrok-start"]
    assert not any(t.is_alive() for t in starters), "the start-up thread must unwind"


def test_alive_turns_false_when_the_agent_dies_and_check_gives_its_reason(
    agent: Agent,
    local_app: LocalApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app_logs = _RootRecords()
    logging.getLogger().addHandler(app_logs)
    try:
        _die_mid_session(agent, local_app, monkeypatch)
    finally:
        logging.getLogger().removeHandler(app_logs)
    # G9: the agent's own lines reach on_agent_log, not the application's logging.
    assert [r for r in app_logs.records if r.name.startswith("pyngrok.process.ngrok")] == []


class _RootRecords(logging.Handler):
    """What an application's root logging handler would receive."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _die_mid_session(agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_NGROK_DIE_AFTER", "1")
    tunnel = agent.tunnel()
    tunnel.start(local_app.port)
    assert tunnel.alive()
    assert tunnel.check() is None
    assert _wait_for(lambda: not tunnel.alive(), 6)
    reason = (
        "the ngrok agent exited with status 1 "
        "(session closed, agent exiting: FAKE_NGROK_DIE_AFTER elapsed)"
    )
    assert _wait_for(lambda: tunnel.check() == reason, 2), tunnel.check()
    assert agent.logs == []  # the session's end is check()'s to report, once, not the log's
    tunnel.stop()
    tunnel.stop()


def test_an_unreachable_listener_is_reported_as_8012(agent: Agent, local_app: LocalApp) -> None:
    tunnel = agent.tunnel()
    public = tunnel.start(local_app.port)
    local_app.close()
    status, headers, _ = _post(f"{public}/webhooks/mux", b"{}", {})
    assert (status, headers["Ngrok-Error-Code"]) == (502, "ERR_NGROK_8012")
    assert _wait_for(lambda: agent.logs != [], 2)
    assert agent.logs == [
        f"ngrok could not reach the local listener at http://127.0.0.1:{local_app.port} "
        "(ERR_NGROK_8012); is muxhook still listening there?"
    ]


def test_a_missing_agent_is_reported_and_never_downloaded(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyngrok import installer

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("pyngrok tried to download the agent")

    monkeypatch.setattr(installer, "install_ngrok", no_download)
    tunnel = NgrokTunnel(ngrok_path=str(agent.path.parent / "missing"))
    with pytest.raises(EnvironmentProblem) as caught:
        tunnel.start(8000)
    assert str(caught.value) == missing_agent_message()


def test_an_agent_that_is_not_executable_says_so(agent: Agent) -> None:
    agent.path.chmod(0o644)
    with pytest.raises(EnvironmentProblem, match="not executable"):
        agent.tunnel().start(8000)


def test_the_agent_runs_in_a_session_of_its_own(agent: Agent, local_app: LocalApp) -> None:
    """The terminal's Ctrl-C and SIGHUP go to its foreground process group: not the agent's."""
    agent.tunnel().start(local_app.port)
    [pid] = agent.pids()
    assert os.getsid(pid) == pid
    assert os.getpgid(pid) != os.getpgrp()


def test_check_finds_a_hung_agent_and_restart_replaces_it(
    agent: Agent, local_app: LocalApp
) -> None:
    tunnel = agent.tunnel(timing=WatchTiming(answer=0.5))
    first = tunnel.start(local_app.port)
    assert tunnel.check() is None
    [old] = agent.pids()
    os.kill(old, signal.SIGSTOP)
    assert tunnel.check() == "the ngrok agent did not answer within 0.5 s (hung or stopped?)"
    assert tunnel.alive()  # a hung agent is still a running process
    fresh = tunnel.restart()
    assert _wait_for(lambda: _gone(old), 5), "the hung agent must be ended"
    assert fresh is not None and fresh != first  # a random URL is new with each agent
    assert tunnel.check() is None
    status, _, _ = _post(f"{fresh}/webhooks/mux", b"{}", {})
    assert status == 202
    tunnel.stop()
    assert not tunnel.alive()


def test_check_reads_the_session_from_the_agents_log(agent: Agent, local_app: LocalApp) -> None:
    tunnel = agent.tunnel()
    tunnel.start(local_app.port)
    [pid] = agent.pids()
    os.kill(pid, signal.SIGUSR1)
    lost = (
        "the ngrok agent lost its session with ngrok "
        "(session closed, starting reconnect loop: read EOF from remote peer)"
    )
    assert _wait_for(lambda: tunnel.check() == lost, 5), tunnel.check()
    time.sleep(1.2)  # the agent logs "failed to reconnect session" meanwhile
    assert tunnel.check() == lost  # the first reason is kept
    os.kill(pid, signal.SIGUSR2)
    assert _wait_for(lambda: tunnel.check() is None, 5), tunnel.check()
    assert agent.logs == []  # session news is check()'s, not repeated agent errors


def test_an_endpoint_the_agent_no_longer_has_is_found(agent: Agent, local_app: LocalApp) -> None:
    from pyngrok import conf, process

    tunnel = agent.tunnel()
    tunnel.start(local_app.port)
    config = conf.PyngrokConfig(ngrok_path=str(agent.path), config_path=str(agent.config))
    running = process.get_process(config)  # the agent the tunnel started: one per path
    request = urllib.request.Request(  # noqa: S310 - the fake agent's loopback API
        f"{running.api_url}/api/endpoints/muxhook-{local_app.port}", method="DELETE"
    )
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
    assert tunnel.check() == "the ngrok agent no longer has muxhook's endpoint"


def test_stop_cuts_a_restart_short_and_leaves_no_agent(
    agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    tunnel = agent.tunnel(startup_timeout=30)
    tunnel.start(local_app.port)
    monkeypatch.setenv("FAKE_NGROK_SILENT", "1")  # the next agent never becomes ready
    outcome: list[BaseException | str | None] = []

    def restart() -> None:
        try:
            outcome.append(tunnel.restart())
        except BaseException as error:
            outcome.append(error)

    restarting = threading.Thread(target=restart)
    restarting.start()
    assert _wait_for(lambda: len(agent.pids()) == 2, 10)
    began = time.monotonic()
    tunnel.stop()
    restarting.join(10)
    assert not restarting.is_alive()
    assert time.monotonic() - began < 10, "stop() must not wait out the 30 s start-up"
    [error] = outcome
    assert isinstance(error, EnvironmentProblem)
    assert all(_wait_for(lambda pid=pid: _gone(pid), 5) for pid in agent.pids())
    assert not tunnel.alive()
    with pytest.raises(EnvironmentProblem, match="the tunnel is closed"):
        tunnel.restart()


def test_watch_timing_reports_a_hung_agent_within_30_seconds_by_default() -> None:
    default = WatchTiming()
    assert default.reported_within <= 30
    assert default.restart <= 30
    quick = WatchTiming.parse(" every=0.5, answer=1 ")
    assert (quick.every, quick.answer, quick.tick) == (0.5, 1.0, default.tick)
    assert WatchTiming.parse(None) == WatchTiming.parse("") == default
    for bad in ("every", "every=x", "often=1", "every=0", "answer=-1", "tick=inf"):
        with pytest.raises(UsageError):
            WatchTiming.parse(bad)


def test_bad_options_are_usage_errors(agent: Agent) -> None:
    with pytest.raises(UsageError):
        agent.tunnel(domain="https://x.ngrok-free.app/path")
    with pytest.raises(UsageError):
        agent.tunnel(domain="not a host")
    with pytest.raises(UsageError):
        agent.tunnel(startup_timeout=0)
    with pytest.raises(UsageError):
        agent.tunnel().start(70000)


# -- the other tunnels ----------------------------------------------------------------------------


def test_no_tunnel_and_static_url_start_nothing() -> None:
    tunnels: list[Tunnel] = [NoTunnel(), StaticUrl("https://hooks.example.com/")]
    assert [t.start(8000) for t in tunnels] == [None, "https://hooks.example.com"]
    assert all(t.alive() for t in tunnels)
    for t in tunnels:
        t.stop()
        t.stop()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://abc.ngrok-free.app/", "https://abc.ngrok-free.app"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        (" https://example.com/prefix/ ", "https://example.com/prefix"),
    ],
)
def test_static_url_keeps_a_valid_url_without_its_trailing_slash(given: str, kept: str) -> None:
    assert StaticUrl(given).start(1) == kept


@pytest.mark.parametrize(
    "given",
    ["ftp://x", "example.com", "https://", "", "https://x:notaport", "https://x/?a=1"],
)
def test_static_url_rejects_what_is_not_an_http_url(given: str) -> None:
    with pytest.raises(UsageError):
        StaticUrl(given)


# -- resolve_ngrok_path ---------------------------------------------------------------------------


def _binary(path: Path) -> str:
    """A stand-in for the real agent: executable, native-looking, not Python."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(64))
    path.chmod(0o755)
    return str(path)


def _python_shim(path: Path) -> str:
    """What pip writes for pyngrok's ``ngrok`` console script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!{sys.executable}\nimport sys\nfrom pyngrok.ngrok import main\nsys.exit(main())\n"
    )
    path.chmod(0o755)
    return str(path)


def test_resolve_follows_the_documented_order(tmp_path: Path) -> None:
    explicit = _binary(tmp_path / "explicit" / "ngrok")
    muxhook = _binary(tmp_path / "muxhook" / "ngrok")
    pyngrok = _binary(tmp_path / "pyngrok" / "ngrok")
    on_path = _binary(tmp_path / "on-path" / "ngrok")
    default = _binary(tmp_path / "xdg" / "ngrok" / "ngrok")
    env = {
        "MUXHOOK_NGROK_PATH": muxhook,
        "PYNGROK_NGROK_PATH": pyngrok,
        "PATH": str(tmp_path / "on-path"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "HOME": str(tmp_path),
    }
    assert resolve_ngrok_path(explicit, env) == explicit
    assert resolve_ngrok_path(None, env) == muxhook
    del env["MUXHOOK_NGROK_PATH"]
    assert resolve_ngrok_path(None, env) == pyngrok
    env["PYNGROK_NGROK_PATH"] = str(tmp_path / "pyngrok" / "not-downloaded-yet")
    assert resolve_ngrok_path(None, env) == on_path
    del env["PATH"]
    assert resolve_ngrok_path(None, env) == default
    del env["XDG_CONFIG_HOME"]
    assert resolve_ngrok_path(None, env) is None  # HOME/.config/ngrok/ngrok does not exist
    home_default = _binary(tmp_path / ".config" / "ngrok" / "ngrok")
    assert resolve_ngrok_path(None, env) == home_default


def test_resolve_rejects_a_named_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--ngrok-path"):
        resolve_ngrok_path(str(tmp_path / "nope"), {})
    with pytest.raises(UsageError, match="MUXHOOK_NGROK_PATH"):
        resolve_ngrok_path(None, {"MUXHOOK_NGROK_PATH": str(tmp_path / "nope")})


def test_resolve_skips_pyngroks_shim_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "venv"
    monkeypatch.setattr(sys, "prefix", str(venv))  # pretend the active venv is here
    _python_shim(venv / "bin" / "ngrok")  # G2: pip's console script in the venv
    _python_shim(tmp_path / "user-bin" / "ngrok")  # `pip install --user` puts one here
    Path(_binary(tmp_path / "plain" / "ngrok")).chmod(0o644)  # not executable
    real = _binary(tmp_path / "usr-local-bin" / "ngrok")
    folders = [venv / "bin", tmp_path / "user-bin", tmp_path / "plain", tmp_path / "usr-local-bin"]
    env = {"PATH": os.pathsep.join(["", *map(str, folders)]), "HOME": str(tmp_path)}
    assert resolve_ngrok_path(None, env) == real
    # A native file inside the venv is skipped too (on Windows the shim is an .exe).
    _binary(venv / "Scripts" / "ngrok")
    assert resolve_ngrok_path(None, {"PATH": str(venv / "Scripts"), "HOME": str(tmp_path)}) is None


def test_resolve_skips_the_shim_pip_installed_with_pyngrok(tmp_path: Path) -> None:
    scripts = sysconfig.get_path("scripts")
    shim = Path(scripts, "ngrok.exe" if os.name == "nt" else "ngrok")
    assert shim.is_file(), "pyngrok installs an `ngrok` console script next to python"
    assert resolve_ngrok_path(None, {"PATH": scripts, "HOME": str(tmp_path)}) is None


# -- authtoken_configured -------------------------------------------------------------------------


def test_authtoken_from_the_environment(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert authtoken_configured(None, {**home, "NGROK_AUTHTOKEN": "2abc"})
    assert not authtoken_configured(None, {**home, "NGROK_AUTHTOKEN": " "})
    assert not authtoken_configured(None, home)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('version: "3"\nagent:\n  authtoken: 2abcDEF_ghi\n', True),
        ("version: 2\nauthtoken: 2abcDEF_ghi\n", True),
        ("agent:\n  authtoken: '2abc' # from the dashboard\n", True),
        ('version: "3"\nagent:\n  authtoken: ""\n', False),
        ("agent:\n  authtoken:\n  api_key: x\n", False),
        ("# authtoken: 2abc\nversion: 3\n", False),
        ("version: '3'\n", False),
    ],
)
def test_authtoken_from_a_config_file(tmp_path: Path, text: str, expected: bool) -> None:
    config = tmp_path / "ngrok.yml"
    config.write_text(text, encoding="utf-8")
    assert authtoken_configured(str(config), {}) is expected


def test_authtoken_in_ngroks_default_locations(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert not authtoken_configured(None, env)
    legacy = tmp_path / "home" / ".ngrok2" / "ngrok.yml"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("authtoken: 2abc\n", encoding="utf-8")
    assert authtoken_configured(None, env)
    legacy.unlink()
    current = tmp_path / "xdg" / "ngrok" / "ngrok.yml"
    current.parent.mkdir(parents=True)
    current.write_text("version: 3\nagent:\n  authtoken: 2abc\n", encoding="utf-8")
    assert authtoken_configured(None, env)
    # An explicit config file is the only one the agent reads.
    assert not authtoken_configured(str(tmp_path / "other.yml"), env)


# -- install_ngrok (pyngrok's downloader is replaced: no network) ---------------------------------


def test_install_puts_the_agent_in_place_with_mode_700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyngrok import installer

    asked: list[str] = []

    def fake_install(ngrok_path: str, ngrok_version: str | None = "3", **kwargs: object) -> None:
        asked.append(ngrok_version or "")
        print("Downloading ngrok ...")  # pyngrok's progress text
        Path(ngrok_path).write_bytes(b"\x7fELF fake agent")

    monkeypatch.setattr(installer, "install_ngrok", fake_install)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    target = tmp_path / "tools" / "ngrok"
    assert install_ngrok(str(target)) == str(target)
    assert target.read_bytes() == b"\x7fELF fake agent"
    assert target.stat().st_mode & 0o777 == 0o700
    assert asked == ["3"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["ngrok"]  # staging removed
    captured = capsys.readouterr()  # stdout is for data: the progress text goes to stderr
    assert (captured.out, captured.err) == ("", "Downloading ngrok ...\n")
    default = install_ngrok()
    assert default == str(tmp_path / "xdg" / "ngrok" / "ngrok")
    assert resolve_ngrok_path(None, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == default


def test_install_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyngrok import installer
    from pyngrok.exception import PyngrokNgrokInstallError

    def failing(ngrok_path: str, ngrok_version: str | None = "3", **kwargs: object) -> None:
        raise PyngrokNgrokInstallError(
            "An error occurred while downloading ngrok from https://example.invalid/x.tgz:\n"
            "<urlopen error [Errno -3] Temporary failure in name resolution>"
        )

    monkeypatch.setattr(installer, "install_ngrok", failing)
    target = tmp_path / "tools" / "ngrok"
    with pytest.raises(EnvironmentProblem) as caught:
        install_ngrok(str(target))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"could not install the ngrok agent to {target}: An error")
    assert message.endswith("download it from https://ngrok.com/download instead")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


# -- every way to give ngrok its authtoken ---------------------------------------------------------

TOKEN_PAGE = "https://dashboard.ngrok.com/get-started/your-authtoken"


def test_authtoken_advice_names_every_way(tmp_path: Path) -> None:
    agent = tmp_path / "tools" / "ngrok"
    agent.parent.mkdir()
    agent.write_bytes(b"\x7fELF")
    agent.chmod(0o755)
    # Found on PATH: its name is enough.
    on_path = authtoken_advice(str(agent), {"PATH": str(agent.parent)})
    assert on_path == (
        f"copy your authtoken from {TOKEN_PAGE}, then set NGROK_AUTHTOKEN=<token> or run "
        "`ngrok config add-authtoken <token>`"
    )
    # Found elsewhere (pyngrok's folder, --ngrok-path): the command names its path.
    elsewhere = authtoken_advice(str(agent), {"PATH": str(tmp_path / "empty")})
    assert f"run `{agent} config add-authtoken <token>`" in elsewhere
    assert "NGROK_AUTHTOKEN=<token>" in elsewhere
    # No agent at all: installing it is a way too.
    none = authtoken_advice(None, {"PATH": ""})
    assert none.endswith(
        "`ngrok config add-authtoken <token>` once the agent is installed "
        "(`muxhook ngrok install` downloads it)"
    )


def test_a_missing_authtoken_names_the_agent_that_was_run(
    agent: Agent, local_app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NGROK_FAIL", "4018")
    with pytest.raises(EnvironmentProblem) as caught:
        agent.tunnel().start(local_app.port)
    assert str(caught.value) == (
        "ngrok needs an authtoken (ERR_NGROK_4018): copy your authtoken from "
        f"{TOKEN_PAGE}, then set NGROK_AUTHTOKEN=<token> or run "
        f"`{agent.path} config add-authtoken <token>`; or use --public-url URL / --no-tunnel"
    )


def test_listen_without_an_authtoken_says_every_way(tmp_path: Path) -> None:
    from tests.test_listen import _fake_agent

    fake = _fake_agent(tmp_path)
    with listening(
        "--port", "0", home=tmp_path, env={"MUXHOOK_NGROK_PATH": str(fake), "PATH": "/usr/bin:/bin"}
    ) as listener:
        pass
    [line] = [line for line in listener.stderr if "local only" in line]
    assert line == (
        "  local only: ngrok has no authtoken configured: copy your authtoken from "
        f"{TOKEN_PAGE}, then set NGROK_AUTHTOKEN=<token> or run "
        f"`{fake} config add-authtoken <token>`; "
        "or pass --public-url URL if you run your own tunnel"
    )


_FAKE_INSTALLER = """
import sys
from pathlib import Path
from pyngrok import installer

def install_ngrok(ngrok_path, ngrok_version="3", **kwargs):
    # pyngrok's own progress: one line rewritten with carriage returns, never ended.
    for text in ("Downloading ngrok ...", "Downloading ngrok: 50%", "Downloading ngrok: 100%"):
        sys.stdout.write(text + "\\r")
    sys.stdout.write(" " * 100 + "\\r")
    Path(ngrok_path).write_bytes(b"\\x7fELF fake agent")

installer.install_ngrok = install_ngrok
"""


@pytest.mark.parametrize("where", ["default", "elsewhere"])
def test_ngrok_install_says_where_and_ends_its_progress_line(tmp_path: Path, where: str) -> None:
    """`muxhook ngrok install` as a process, pyngrok's download replaced (no network)."""
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "sitecustomize.py").write_text(_FAKE_INSTALLER)
    home = tmp_path / "home"
    home.mkdir()
    args = ["ngrok", "install"]
    installed = home / ".config" / "ngrok" / "ngrok"
    if where == "elsewhere":
        installed = tmp_path / "tools" / "ngrok"
        args += ["--path", str(installed)]
    result = subprocess.run(  # bytes: text mode would turn the carriage returns into newlines
        [sys.executable, "-m", "muxhook", *args],
        capture_output=True,
        env=muxhook_env(home, {"PYTHONPATH": str(patches), "PATH": "/usr/bin:/bin"}),
        cwd=home,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{installed}\n"
    assert installed.read_bytes() == b"\x7fELF fake agent"
    lines = result.stderr.decode().split("\n")
    assert lines[0] == "downloading the ngrok agent…"
    # The progress line, ended before the next line starts.
    assert lines[1].startswith("Downloading ngrok ...\r") and lines[1].endswith("\r")
    if where == "default":
        assert (
            lines[2] == f"installed the ngrok agent at {installed}; muxhook listen finds it there"
        )
    else:
        assert lines[2] == (
            f"installed the ngrok agent at {installed}; muxhook listen runs it with "
            f"--ngrok-path {installed} or MUXHOOK_NGROK_PATH={installed}"
        )
    assert lines[3] == (
        f"next, give it your authtoken: copy your authtoken from {TOKEN_PAGE}, then set "
        f"NGROK_AUTHTOKEN=<token> or run `{installed} config add-authtoken <token>`"
    )
    assert lines[4:] == [""]


def test_missing_agent_message_names_every_way_forward() -> None:
    message = missing_agent_message()
    assert "\n" not in message
    for fragment in ("muxhook ngrok install", "https://ngrok.com/download", "--ngrok-path"):
        assert fragment in message
    assert "--public-url" in message and "--no-tunnel" in message


# -- listen with a tunnel, as a process -----------------------------------------------------------

SECRET = "tunnel-test-secret-0001"
#: Short intervals (MUXHOOK_TUNNEL_TIMING, a test hook), so a fault is seen in seconds.
QUICK = "tick=0.2,every=0.5,answer=1.5,late=5,restart=4,retry=1"
PUBLIC = "  public URL: "


class Run:
    """``muxhook listen`` with the fake agent: its output, and what the agent recorded."""

    def __init__(self, listener: Listener, record: Path) -> None:
        self.listener = listener
        self.process = listener.process
        self.record = record

    def calls(self, kind: str) -> list[dict[str, Any]]:
        return _recorded(self.record, kind)

    def agent_pids(self) -> list[int]:
        return [int(entry["pid"]) for entry in self.calls("argv")]

    def probes(self) -> list[dict[str, Any]]:
        return [
            call
            for call in self.calls("api")
            if (call["method"], call["path"]) == ("GET", "/api/endpoints")
        ]

    def lines(self, text: str) -> list[str]:
        return [line for line in list(self.listener.stderr) if text in line]

    def matching(self, pattern: str) -> list[str]:
        return [line for line in list(self.listener.stderr) if re.search(pattern, line)]

    def public_urls(self) -> list[str]:
        return [line.removeprefix(PUBLIC) for line in self.lines(PUBLIC)]

    def said(self) -> str:
        return "\n".join(self.listener.stderr)


def _recorded(record: Path, kind: str) -> list[dict[str, Any]]:
    """The fake agents' record entries of one kind."""
    if not record.exists():
        return []
    lines = record.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    return [entry for entry in entries if entry["kind"] == kind]


@contextlib.contextmanager
def listen_with_agent(
    home: Path, *options: str, env: Mapping[str, str] | None = None, own_group: bool = False
) -> Iterator[Run]:
    """``muxhook listen`` through the fake agent until the block ends (SIGINT to listen);
    ``own_group`` as for ``listening``. Afterwards no agent may be left running."""
    agent = _fake_agent(home)
    record = home / "agent-calls.jsonl"
    settings = {
        "MUX_WEBHOOK_SECRET": SECRET,
        "NGROK_AUTHTOKEN": "test-token",
        "FAKE_NGROK_RECORD": str(record),
        "FAKE_NGROK_MAX_LIFETIME": "120",
        "MUXHOOK_TUNNEL_TIMING": QUICK,
        **(env or {}),
    }
    tunnel = ["--tunnel", "ngrok", "--ngrok-path", str(agent)]
    try:
        with listening(
            *("--port", "0", "--db", str(home / "e.db"), *tunnel, *options),
            home=home,
            env=settings,
            own_group=own_group,
        ) as listener:
            yield Run(listener, record)
    finally:
        pids = [int(entry["pid"]) for entry in _recorded(record, "argv")]
        leaked = [pid for pid in pids if not _wait_for(lambda p=pid: _gone(p), 5)]
        for pid in leaked:
            os.kill(pid, signal.SIGKILL)
        assert not leaked, f"agents {leaked} outlived listen"


def _send(url: str, key: str, timeout: float = 15.0) -> httpx.Response:
    """What the platform does: POST a signed event."""
    body = json.dumps({"type": "video.asset.ready", "id": key, "data": {"id": "a1"}}).encode()
    headers = signing.sign(body, secret=SECRET)
    return httpx.post(url, content=body, headers=headers, timeout=timeout)


def _wait_line(run: Run, pattern: str, seconds: float) -> bool:
    return _wait_for(lambda: bool(run.matching(pattern)), seconds)


def test_a_hung_agent_is_one_line_then_a_new_agent_and_its_new_url(tmp_path: Path) -> None:
    timing = WatchTiming.parse(QUICK)
    with serve(RecordingApp()) as app, listen_with_agent(tmp_path, "-f", app.url) as run:
        [first] = run.public_urls()
        assert _send(first, "evt-1").status_code == 200
        [agent] = run.agent_pids()
        os.kill(agent, signal.SIGSTOP)  # hung, as after a laptop sleep
        hung = time.monotonic()
        # Meanwhile the probe waits 1.5 s at a time for the hung agent, in a thread of its
        # own: the local listener goes on answering at once.
        local = []
        for n in range(5):
            local.append(_send(run.listener.url, f"evt-local-{n}", timeout=1.0).status_code)
            time.sleep(0.4)
        assert _wait_line(run, "the tunnel is down: ", 15), run.said()
        noticed = time.monotonic() - hung
        assert _wait_line(run, "the tunnel agent was restarted", 20), run.said()
        assert _wait_for(lambda: len(run.public_urls()) == 2, 5)
        second = run.public_urls()[1]
        assert _send(second, "evt-2").status_code == 200
        assert _wait_for(lambda: _gone(agent), 5), "the hung agent must be ended"
    assert local == [200] * 5
    assert noticed <= timing.reported_within + 3, noticed
    [down] = run.lines("the tunnel is down: ")
    assert down == (
        "warning: the tunnel is down: the ngrok agent did not answer within 1.5 s (hung or "
        "stopped?); webhooks sent to the public URL are not reaching muxhook (the local "
        "listener still works); "
        + re.search(r"restarting the agent in \d s", down)[0]  # type: ignore[index]
        + " unless it recovers"
    )
    assert second != first and second.endswith("/webhooks/mux")
    assert run.lines(
        "warning: the public URL changed: paste it into Mux: Dashboard › Settings › Webhooks "
        "› URL to notify again; the old one no longer reaches muxhook (--domain keeps one URL "
        "across restarts)"
    )
    assert [json.loads(r.body)["id"] for r in app.requests] == [
        "evt-1",
        *(f"evt-local-{n}" for n in range(5)),
        "evt-2",
    ]
    assert len(run.agent_pids()) == 2
    assert run.listener.code == 0 and "Traceback" not in run.said()


def test_a_dropped_session_is_one_line_a_recovery_another_and_a_domain_survives_a_restart(
    tmp_path: Path,
) -> None:
    domain = "https://muxhook-dev.ngrok-free.app/webhooks/mux"
    timing = {"MUXHOOK_TUNNEL_TIMING": "tick=0.2,every=0.5,answer=1.5,late=5,restart=5"}
    with listen_with_agent(tmp_path, "--domain", "muxhook-dev.ngrok-free.app", env=timing) as run:
        assert run.public_urls() == [domain]
        [agent] = run.agent_pids()
        os.kill(agent, signal.SIGUSR1)
        assert _wait_line(run, "the tunnel is down: ", 10), run.said()
        os.kill(agent, signal.SIGUSR2)  # the agent reconnects by itself
        assert _wait_line(run, r"the tunnel is back after \d+ s", 4), run.said()
        os.kill(agent, signal.SIGUSR1)  # and this time it does not
        assert _wait_line(run, "the tunnel agent was restarted", 20), run.said()
        assert _wait_line(run, "the public URL is the same as before: nothing to change", 5)
    first, again = run.lines("the tunnel is down: ")
    assert first == again
    assert first.startswith(
        "warning: the tunnel is down: the ngrok agent lost its session with ngrok "
        "(session closed, starting reconnect loop: read EOF from remote peer); "
    )
    assert run.public_urls() == [domain, domain]
    assert len(run.agent_pids()) == 2
    assert not run.lines("paste it into Mux: Dashboard › Settings › Webhooks › URL to notify again")
    assert not run.lines("failed to reconnect session")  # the agent's repeats stay quiet
    assert run.listener.code == 0 and "Traceback" not in run.said()


def test_ctrl_c_reaches_listen_only_and_the_drain_answers_through_the_tunnel(
    tmp_path: Path,
) -> None:
    answers: list[int | str] = []
    with (
        serve(RecordingApp(delay=2.0)) as app,
        listen_with_agent(tmp_path, "-f", app.url, own_group=True) as run,
    ):
        [public] = run.public_urls()

        def sender() -> None:
            try:
                answers.append(_send(public, "evt-drain", timeout=30).status_code)
            except httpx.HTTPError as error:
                answers.append(f"{type(error).__name__}: {error}")

        sending = threading.Thread(target=sender)
        sending.start()
        assert _wait_for(lambda: len(app.requests) == 1, 10)
        os.killpg(run.process.pid, signal.SIGINT)  # the terminal's Ctrl-C: the whole group
        sending.join(30)
        code = run.process.wait(30)
    assert answers == [200]
    assert code == 0
    assert not run.lines("the tunnel is down") and not run.lines("agent stopped")
    closed = [call for call in run.calls("api") if call["method"] == "DELETE"]
    assert [call["path"].split("/")[-1] for call in closed] == [
        f"muxhook-{run.listener.url.split(':')[2].split('/')[0]}"
    ]
    assert "received 1 · valid 1" in run.said()


def test_kill_9_of_listen_takes_the_agent_with_it(tmp_path: Path) -> None:
    with listen_with_agent(tmp_path) as run:
        [agent] = run.agent_pids()
        assert not _gone(agent)
        run.process.kill()
        run.process.wait(10)
        assert _wait_for(lambda: _gone(agent), 10), "the agent outlived listen"


def test_listen_suspended_and_resumed_checks_the_tunnel_at_once(tmp_path: Path) -> None:
    # Probes a minute apart: only the jump in the clock explains a check right after waking.
    timing = {"MUXHOOK_TUNNEL_TIMING": "tick=0.2,every=60,answer=1.5,late=1.5,restart=60"}
    with listen_with_agent(tmp_path, env=timing) as run:
        before = len(run.probes())
        run.process.send_signal(signal.SIGSTOP)
        time.sleep(3)
        resumed = time.time()
        run.process.send_signal(signal.SIGCONT)
        fine = (
            r"^  listen was suspended for \d+ s \(did the computer sleep\?\); "
            r"the tunnel still works$"
        )
        assert _wait_line(run, fine, 5), run.said()
        checks = run.probes()[before:]
        assert checks and checks[0]["at"] - resumed < 2.5, checks

        # Suspended again, and the agent dies meanwhile: found on waking and replaced.
        [agent] = run.agent_pids()
        run.process.send_signal(signal.SIGSTOP)
        os.kill(agent, signal.SIGKILL)
        time.sleep(3)
        run.process.send_signal(signal.SIGCONT)
        down = (
            r"^warning: listen was suspended for \d+ s \(did the computer sleep\?\) and the "
            r"tunnel is down: the ngrok agent was killed by signal 9; .*; restarting the agent now$"
        )
        assert _wait_line(run, down, 5), run.said()
        assert _wait_line(run, "the tunnel agent was restarted", 20), run.said()
        assert _wait_for(lambda: len(run.public_urls()) == 2, 5)
        assert _send(run.public_urls()[1], "evt-after-sleep").status_code == 200
    assert len(run.matching(fine)) == 1 and len(run.matching(down)) == 1
    assert run.listener.code == 0 and "Traceback" not in run.said()


# -- the real thing, only when asked for ---------------------------------------------------------


@pytest.mark.live
def test_live_ngrok_tunnel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_app: LocalApp
) -> None:
    assert LIVE_TOKEN, "the live ngrok test needs the network and NGROK_AUTHTOKEN"
    ngrok_path = resolve_ngrok_path(LIVE_AGENT)
    assert ngrok_path, f"NGROK_AUTHTOKEN is set but {missing_agent_message()}"
    monkeypatch.setenv("NGROK_AUTHTOKEN", LIVE_TOKEN)  # the agent reads it; never argv
    config = tmp_path / "ngrok.yml"
    config.write_text('version: "3"\nagent: {}\n', encoding="utf-8")
    tunnel = NgrokTunnel(ngrok_path=ngrok_path, config_path=str(config))
    try:
        public = tunnel.start(local_app.port)
        assert public is not None and public.startswith("https://")
        status, _, _ = _post(
            f"{public}/webhooks/mux", b'{"live":true}', {"Content-Type": "application/json"}
        )
        assert status == 202
        assert local_app.seen[-1].body == b'{"live":true}'
    finally:
        tunnel.stop()
    assert not tunnel.alive()
