"""Public URLs for ``muxhook listen``: ngrok through pyngrok, a URL you bring, or none.

Three ``Tunnel`` implementations share one small protocol (``start`` returns the
public base URL, ``stop`` never raises, ``alive`` turns False when an agent dies):

- ``NgrokTunnel`` drives the ngrok agent binary through pyngrok. This is the
  only module that imports pyngrok, and only inside functions: importing
  muxhook stays fast;
- ``StaticUrl`` (``--public-url``) starts nothing and hands back the URL;
- ``NoTunnel`` (``--no-tunnel``) is local only.

pyngrok downloads the agent by itself whenever its ``ngrok_path`` is missing.
muxhook never lets that happen silently: ``resolve_ngrok_path`` looks for an
agent that is already there, ``NgrokTunnel.start`` refuses a missing path, and
only ``install_ngrok`` (``muxhook ngrok install``) downloads, when asked to.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from muxhook.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    import threading

    from pyngrok.conf import PyngrokConfig
    from pyngrok.log import NgrokLog
    from pyngrok.process import NgrokProcess

__all__ = [
    "NgrokTunnel",
    "NoTunnel",
    "StaticUrl",
    "Tunnel",
    "authtoken_configured",
    "install_ngrok",
    "missing_agent_message",
    "resolve_ngrok_path",
]

INSTALL_PAGE = "https://ngrok.com/download"
AUTHTOKEN_PAGE = "https://dashboard.ngrok.com/get-started/your-authtoken"
#: A file on PATH larger than this is a real agent (tens of MB), never a shim to inspect.
_SHIM_MAX_BYTES = 2 * 1024 * 1024
_CODE = re.compile(r"ERR_NGROK_(\d+)")
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*")


class Tunnel(Protocol):
    """How ``listen`` gets a public URL; every implementation is cheap to build."""

    def start(self, local_port: int) -> str | None:
        """Expose ``127.0.0.1:local_port``; the public base URL, or None for local only."""
        ...

    def stop(self) -> None:
        """Close whatever ``start`` opened; safe to call twice, never raises."""
        ...

    def alive(self) -> bool:
        """False once the process behind the URL has died."""
        ...


class NoTunnel:
    """``--no-tunnel``: nothing public, the listener is reached on 127.0.0.1 only."""

    def start(self, local_port: int) -> str | None:
        """Start nothing."""
        return None

    def stop(self) -> None:
        """Nothing to stop."""

    def alive(self) -> bool:
        """Always True: there is no agent to die."""
        return True


class StaticUrl:
    """``--public-url URL``: a tunnel the user runs (cloudflared, a manual ``ngrok http``, …)."""

    def __init__(self, url: str) -> None:
        text = url.strip()
        parts = urlsplit(text)
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise UsageError(f"--public-url {url!r} has an invalid port") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--public-url {url!r} is not an http:// or https:// URL with a host")
        if parts.query or parts.fragment:
            raise UsageError(f"--public-url {url!r} must not have a query or fragment")
        self.url = text.rstrip("/")

    def start(self, local_port: int) -> str | None:
        """The URL as given, without a trailing slash; nothing is started."""
        return self.url

    def stop(self) -> None:
        """Nothing to stop: the user's tunnel is theirs."""

    def alive(self) -> bool:
        """Always True: muxhook cannot see the user's tunnel."""
        return True


class _Outcome:
    """What the thread running ``ngrok.connect`` found."""

    __slots__ = ("error", "process", "url")

    def __init__(self) -> None:
        self.url: str | None = None
        self.process: NgrokProcess | None = None
        self.error: BaseException | None = None


class NgrokTunnel:
    """An ngrok endpoint opened through the local ngrok agent, driven by pyngrok.

    ``ngrok_path`` must be an agent that already exists (see ``resolve_ngrok_path``);
    the authtoken comes from the agent's own config file or ``NGROK_AUTHTOKEN`` and
    is never put on the agent's command line. ``on_agent_log`` receives one
    readable line for each error the agent logs once the tunnel is up; it is
    called from pyngrok's monitor thread.
    """

    def __init__(
        self,
        *,
        ngrok_path: str,
        domain: str | None = None,
        config_path: str | None = None,
        startup_timeout: float = 20.0,
        on_agent_log: Callable[[str], None] | None = None,
    ) -> None:
        if not startup_timeout > 0:
            raise UsageError(f"the ngrok start-up timeout must be positive, not {startup_timeout}")
        self.ngrok_path = ngrok_path
        self.domain = _clean_domain(domain) if domain else None
        self.config_path = config_path
        self.startup_timeout = startup_timeout
        self.on_agent_log = on_agent_log
        self.public_url: str | None = None
        self._port = 0
        self._config: PyngrokConfig | None = None
        self._process: NgrokProcess | None = None
        self._starting: NgrokProcess | None = None  # seen during start-up, for clean-up
        self._ready = False

    def start(self, local_port: int) -> str | None:
        """Start the agent, open ``https://…`` → ``http://127.0.0.1:local_port``; its URL.

        Raises:
            EnvironmentProblem: the agent is missing, did not start within
                ``startup_timeout`` seconds, or refused (one line naming the fix).
        """
        if not 0 < local_port < 65536:
            raise UsageError(f"port {local_port} is not between 1 and 65535")
        if self._config is not None:
            return self.public_url
        # G1: pyngrok downloads the agent to any ngrok_path that does not exist.
        if not os.path.isfile(self.ngrok_path):
            raise EnvironmentProblem(missing_agent_message())
        import threading

        try:
            from pyngrok import conf, ngrok, process
        except ImportError:
            raise EnvironmentProblem(
                "the ngrok tunnel needs the pyngrok package (pip install pyngrok); "
                "or use --public-url URL / --no-tunnel"
            ) from None
        _quiet_pyngrok_logging()
        self._port = local_port
        config = conf.PyngrokConfig(
            ngrok_path=self.ngrok_path,
            config_path=self.config_path,
            # pyngrok checks its own timeout only between two log lines (G7); the
            # real deadline is the join() below.
            startup_timeout=max(1, math.ceil(self.startup_timeout)),
            monitor_thread=True,  # G8: keeps draining the agent's stdout pipe
            log_event_callback=self._on_agent_log,
        )
        # G3: PyngrokConfig copies NGROK_AUTHTOKEN (or auth_token=) into auth_token,
        # and pyngrok then starts the agent with `--authtoken <token>` on its command
        # line, where every local user can read it (ps, /proc). We clear it: the agent
        # reads the token itself, from its config file (`ngrok config add-authtoken`)
        # or from NGROK_AUTHTOKEN in the environment it inherits. The limit: an agent
        # that ignores NGROK_AUTHTOKEN starts without a token and fails with
        # ERR_NGROK_4018, whose message below says to run `ngrok config add-authtoken`.
        config.auth_token = None
        options: dict[str, object] = {}
        if self.domain:
            # G4: v3 endpoints take `url`; `domain`, `subdomain`, `bind_tls` are v2-only.
            options["url"] = f"https://{self.domain}"
        outcome = _Outcome()

        def connect() -> None:
            try:
                # G5: a full URL, never "host:port"; a fixed name keeps DELETE paths sane.
                tunnel = ngrok.connect(
                    f"http://127.0.0.1:{local_port}",
                    "http",
                    name=f"muxhook-{local_port}",
                    pyngrok_config=config,
                    **options,
                )
                outcome.url = tunnel.public_url
                # The registry entry even if the agent died this instant (alive() then
                # says so); get_process() would start a fresh agent instead.
                outcome.process = _registered(config.ngrok_path) or process.get_process(config)
            except BaseException as error:  # handed to the caller's thread below
                outcome.error = error

        worker = threading.Thread(target=connect, name="muxhook-ngrok-start", daemon=True)
        worker.start()
        try:
            worker.join(self.startup_timeout)
        except BaseException:  # Ctrl-C while waiting: leave no agent behind
            self._starting = None
            _abort_start(config, worker)
            raise
        if worker.is_alive():
            self._starting = None
            _abort_start(config, worker)
            raise EnvironmentProblem(
                f"the ngrok agent did not start within {self.startup_timeout:g} s; "
                f"run `{self.ngrok_path} http {local_port}` to see why, "
                "or use --public-url URL / --no-tunnel"
            )
        starting, self._starting = self._starting, None
        if outcome.error is not None or outcome.url is None or outcome.process is None:
            _shut_down(config)
            if starting is not None:  # pyngrok killed it but leaves its stdout pipe open
                _release(starting)
            error = outcome.error
            if error is not None and not isinstance(error, Exception):
                raise error  # KeyboardInterrupt, SystemExit: not ours to explain
            raise EnvironmentProblem(self._explain(error)) from None
        self._config = config
        self._process = outcome.process
        self.public_url = outcome.url.rstrip("/")
        self._ready = True
        return self.public_url

    def stop(self) -> None:
        """Remove the endpoint and kill the agent; safe twice, never raises (G10)."""
        config, process, url = self._config, self._process, self.public_url
        self._config = None
        self._ready = False
        self.public_url = None
        if config is None:
            return
        from pyngrok import ngrok

        # Ctrl-C reaches the agent too, so it may already be gone: nothing to report.
        if url and process is not None and process.proc.poll() is None:
            with contextlib.suppress(Exception):
                ngrok.disconnect(url, config)
        _kill_quietly(config)
        if process is not None:
            _release(process)

    def alive(self) -> bool:
        """True while the agent process started by ``start`` is running."""
        process = self._process
        return process is not None and self._config is not None and process.proc.poll() is None

    def _on_agent_log(self, log: NgrokLog) -> None:
        """pyngrok's log callback: forward agent errors once the tunnel is up."""
        if not self._ready:
            if self._starting is None:  # runs in the start-up thread, after Popen
                self._starting = _registered(self.ngrok_path)
            return
        if self.on_agent_log is None:
            return
        # Start-up errors are not forwarded: start() raises them as one line instead.
        if log.lvl not in ("ERROR", "CRITICAL") and "ERR_NGROK_" not in log.line:
            return
        detail = ": ".join(part for part in (log.msg, log.err) if part) or log.line
        with contextlib.suppress(Exception):  # a failing sink must not kill the monitor
            self.on_agent_log(self._describe(detail))

    def _describe(self, text: str) -> str:
        """One line for an agent error text, naming the fix for the codes we know."""
        match = _CODE.search(text)
        if match is None:
            return f"ngrok: {_one_line(text)}"
        code = int(match.group(1))
        detail = _one_line(_CODE.sub("", text))
        if code == 4018:
            return (
                "ngrok needs an authtoken (ERR_NGROK_4018): run "
                f"`ngrok config add-authtoken <token>` with the token from {AUTHTOKEN_PAGE} "
                "(or set NGROK_AUTHTOKEN), or use --public-url URL / --no-tunnel"
            )
        if code in (105, 107):
            return (
                f"ngrok rejected the authtoken (ERR_NGROK_{code}): it is malformed, was reset "
                f"or belongs to another account; copy a fresh one from {AUTHTOKEN_PAGE} and run "
                "`ngrok config add-authtoken <token>` (or fix NGROK_AUTHTOKEN)"
            )
        if code == 334:
            where = f"https://{self.domain}" if self.domain else "your ngrok URL"
            return (
                f"{where} is already online in another ngrok session, maybe another "
                "`muxhook listen` (ERR_NGROK_334); stop that session, or pass --domain "
                "to use another domain"
            )
        if code == 8012:
            return (
                f"ngrok could not reach the local listener at http://127.0.0.1:{self._port} "
                "(ERR_NGROK_8012); is muxhook still listening there?"
            )
        return f"ngrok: {detail} (ERR_NGROK_{code})"

    def _explain(self, error: BaseException | None) -> str:
        """One line for whatever stopped ``ngrok.connect``."""
        from pyngrok.exception import (
            PyngrokError,
            PyngrokNgrokError,
            PyngrokNgrokHTTPError,
            PyngrokNgrokURLError,
        )

        if error is None:
            return "the ngrok agent started but reported no public URL"
        if isinstance(error, PyngrokNgrokHTTPError):
            # G6: an API error carries no parsed code; the body has it.
            detail = _api_error_detail(error.body) or str(error)
            if _CODE.search(detail):
                return self._describe(detail)
            if error.status_code == 404:
                return (
                    "the ngrok agent is too old for the endpoints API; "
                    f"update it with `{self.ngrok_path} update`"
                )
            return f"the ngrok agent refused the tunnel (HTTP {error.status_code}): " + _one_line(
                detail
            )
        if isinstance(error, PyngrokNgrokURLError):
            return f"could not talk to the ngrok agent's API: {_one_line(str(error.reason))}"
        if isinstance(error, PyngrokNgrokError):
            texts = [error.ngrok_error or ""]
            texts += [log.err or "" for log in error.ngrok_logs if log.lvl in ("ERROR", "CRITICAL")]
            coded = next((text for text in texts if _CODE.search(text)), None)
            if coded is not None:
                return self._describe(coded)
            if error.ngrok_error:
                return f"the ngrok agent failed to start: {_one_line(error.ngrok_error)}"
            return (
                "the ngrok agent stopped before it was ready (it reported no error); "
                f"run `{self.ngrok_path} http {self._port}` to see why, "
                "or use --public-url URL / --no-tunnel"
            )
        if isinstance(error, PyngrokError):  # e.g. a config file pyngrok cannot work with
            where = self.config_path or "the ngrok config file"
            return f"ngrok cannot use {where}: {_one_line(str(error))}"
        if isinstance(error, PermissionError):
            return f"cannot run the ngrok agent at {self.ngrok_path}: not executable (chmod +x it)"
        if isinstance(error, OSError):
            reason = error.strerror or str(error)
            return f"cannot run the ngrok agent at {self.ngrok_path}: {_one_line(reason)}"
        return f"ngrok failed: {type(error).__name__}: {_one_line(str(error))}"


def _clean_domain(domain: str) -> str:
    """``abc.ngrok-free.app`` from a bare host or ``https://host[/]``."""
    text = domain.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "https" or parts.path not in ("", "/") or parts.query:
            raise UsageError(f"--domain {domain!r} must be a host name like abc.ngrok-free.app")
        text = parts.netloc
    text = text.rstrip("/")
    if not _HOST.fullmatch(text):
        raise UsageError(f"--domain {domain!r} must be a host name like abc.ngrok-free.app")
    return text.lower()


def _one_line(text: str) -> str:
    """Agent text (with literal or escaped newlines) squeezed onto one short line."""
    flat = re.sub(r"\\[rnt]", " ", text)
    flat = " ".join(flat.split()).strip(" .:;")
    return flat if len(flat) <= 240 else flat[:239] + "…"


def _api_error_detail(body: str) -> str:
    """The agent API's ``details.err`` (or ``msg``) from an error body."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    details = data.get("details")
    err = details.get("err") if isinstance(details, dict) else None
    for candidate in (err, data.get("msg")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return body


def _quiet_pyngrok_logging() -> None:
    """G9: with no handler, Python prints agent WARN/ERROR lines to stderr by itself.

    The agent's own lines stay out of the application's logs entirely (errors
    reach ``on_agent_log`` instead); pyngrok's own records still propagate, so a
    debug log configured by the application shows them.
    """
    import logging

    for name, propagate in (("pyngrok", True), ("pyngrok.process.ngrok", False)):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = propagate


def _kill_quietly(config: PyngrokConfig) -> None:
    from pyngrok import ngrok

    with contextlib.suppress(Exception):
        ngrok.kill(config)


def _registered(ngrok_path: str) -> NgrokProcess | None:
    """The agent pyngrok runs for ``ngrok_path``, read from its private registry.

    pyngrok has no public way to get at a process without starting one; this
    reads ``pyngrok.process._current_processes`` (pyngrok 9.x) and degrades to
    None if that ever changes.
    """
    from pyngrok import process

    registry: Mapping[str, NgrokProcess] = getattr(process, "_current_processes", {})
    return registry.get(ngrok_path)


def _shut_down(config: PyngrokConfig) -> None:
    """Kill the agent for ``config`` (if any) and release its pipe."""
    running = _registered(config.ngrok_path)
    _kill_quietly(config)
    if running is not None:
        _release(running)


def _release(process: NgrokProcess) -> None:
    """Reap the agent and close its stdout pipe once pyngrok's reader has let go."""
    import time

    with contextlib.suppress(Exception):
        process.proc.wait(timeout=2)
    process.stop_monitor_thread()
    deadline = time.monotonic() + 1.0
    # The monitor thread leaves its loop at EOF; closing the pipe under it would raise there.
    while getattr(process, "_monitor_thread", None) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    if getattr(process, "_monitor_thread", None) is None and process.proc.stdout is not None:
        with contextlib.suppress(Exception):
            process.proc.stdout.close()


def _abort_start(config: PyngrokConfig, worker: threading.Thread) -> None:
    """G7: the connect thread is stuck; kill the agent under it and let it unwind.

    ``ngrok.kill`` would wait for the lock the stuck start-up holds, so the agent
    is killed through pyngrok's process registry (keyed by ``ngrok_path``)
    instead; its ``readline`` then sees EOF and pyngrok cleans up by itself.
    """
    running = _registered(config.ngrok_path)
    if running is not None:
        with contextlib.suppress(Exception):
            running.proc.kill()
        with contextlib.suppress(Exception):
            running.proc.wait(timeout=2)
    worker.join(3.0)
    if not worker.is_alive():
        _kill_quietly(config)
        if running is not None:
            _release(running)


# -- finding, checking and installing the agent ------------------------------------------------


def _agent_name() -> str:
    return "ngrok.exe" if os.name == "nt" else "ngrok"


def _home(env: Mapping[str, str]) -> str:
    home = env.get("USERPROFILE" if os.name == "nt" else "HOME")
    return home or os.path.expanduser("~")


def _ngrok_dir(env: Mapping[str, str]) -> str:
    """ngrok's (and pyngrok's) per-user directory, computed from ``env``."""
    home = _home(env)
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "ngrok")
    if os.name == "nt":
        return os.path.join(home, "AppData", "Local", "ngrok")
    return os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "ngrok")


def _is_under(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives on Windows
        return False


def _is_pyngrok_shim(path: str) -> bool:
    """G2: pyngrok installs an ``ngrok`` console script that downloads the agent.

    Skipped: anything inside the active virtual environment (where pip puts the
    shim), a Python script, and a small launcher that mentions pyngrok (Windows'
    ``ngrok.exe`` wrappers). The real agent is a native binary of tens of MB.
    """
    real = os.path.realpath(path)
    if sys.prefix != sys.base_prefix:
        prefix = os.path.realpath(sys.prefix)
        if _is_under(real, prefix) or _is_under(os.path.abspath(path), sys.prefix):
            return True
    try:
        size = os.path.getsize(real)
        with open(real, "rb") as handle:
            head = handle.read(size if size <= _SHIM_MAX_BYTES else 256)
    except OSError:
        return False  # unreadable but executable: let the agent speak for itself
    first_line = head.split(b"\n", 1)[0]
    if head.startswith(b"#!") and b"python" in first_line:
        return True
    return size <= _SHIM_MAX_BYTES and b"pyngrok" in head


def _existing(path: str, source: str, *, required: bool) -> str | None:
    full = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(full):
        return full
    if required:
        raise UsageError(f"{source} {path!r}: no such file; {missing_agent_message()}")
    return None


def resolve_ngrok_path(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The ngrok agent to run, or None when there is none; never downloads.

    Order: ``explicit`` (``--ngrok-path``), ``MUXHOOK_NGROK_PATH``,
    ``PYNGROK_NGROK_PATH``, an ``ngrok`` on PATH that is not pyngrok's shim, then
    pyngrok's default install location. A missing ``--ngrok-path`` or
    ``MUXHOOK_NGROK_PATH`` file is a UsageError; a missing ``PYNGROK_NGROK_PATH``
    is skipped, since pyngrok uses it as the place to download to.
    """
    env = os.environ if environ is None else environ
    if explicit:
        return _existing(explicit, "--ngrok-path", required=True)
    if env.get("MUXHOOK_NGROK_PATH"):
        return _existing(env["MUXHOOK_NGROK_PATH"], "MUXHOOK_NGROK_PATH", required=True)
    if env.get("PYNGROK_NGROK_PATH"):
        found = _existing(env["PYNGROK_NGROK_PATH"], "PYNGROK_NGROK_PATH", required=False)
        if found:
            return found
    name = _agent_name()
    for folder in env.get("PATH", "").split(os.pathsep):
        if not folder:
            continue
        candidate = os.path.join(folder, name)
        if (
            os.path.isfile(candidate)
            and os.access(candidate, os.X_OK)
            and not _is_pyngrok_shim(candidate)
        ):
            return os.path.abspath(candidate)
    default = os.path.join(_ngrok_dir(env), name)
    return default if os.path.isfile(default) else None


def _config_candidates(env: Mapping[str, str]) -> list[str]:
    """Where the agent looks for its config file: today's location, then v2's."""
    return [
        os.path.join(_ngrok_dir(env), "ngrok.yml"),
        os.path.join(_home(env), ".ngrok2", "ngrok.yml"),
    ]


_AUTHTOKEN_LINE = re.compile(r"^\s*authtoken\s*:\s*(.*?)\s*$")


def _file_has_authtoken(path: str) -> bool:
    """An ``authtoken:`` key with a value (v3 under ``agent:``, v2 at the top)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(1024 * 1024)
    except OSError:
        return False
    for line in text.splitlines():
        match = _AUTHTOKEN_LINE.match(line)
        if match is None:
            continue
        value = match.group(1)
        if not value.startswith(("'", '"')):
            value = value.split(" #", 1)[0].strip()
        value = value.strip("'\"").strip()
        if value and value not in ("~", "null", "Null", "NULL"):
            return True
    return False


def authtoken_configured(
    config_path: str | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether the agent will find an authtoken: ``NGROK_AUTHTOKEN`` or its config file.

    With ``config_path`` only that file counts (the agent reads only it); without,
    ngrok's default locations do. ``listen`` opens an ngrok tunnel by default when
    this is True.
    """
    env = os.environ if environ is None else environ
    if env.get("NGROK_AUTHTOKEN", "").strip():
        return True
    paths = [os.path.expanduser(config_path)] if config_path else _config_candidates(env)
    return any(_file_has_authtoken(path) for path in paths)


def install_ngrok(destination: str | None = None) -> str:
    """Download the ngrok agent (``muxhook ngrok install``); the path it was installed to.

    Without ``destination`` it goes where pyngrok and ``resolve_ngrok_path`` look
    by default. The download is staged next to the destination and moved into
    place, so a failed download never leaves half a binary. pyngrok's progress
    text goes to stderr.

    Raises:
        EnvironmentProblem: the download or the install failed (one line).
    """
    import shutil
    import tempfile

    target = (
        os.path.abspath(os.path.expanduser(destination))
        if destination
        else os.path.join(_ngrok_dir(os.environ), _agent_name())
    )
    try:
        from pyngrok import installer
        from pyngrok.exception import PyngrokError
    except ImportError:
        raise EnvironmentProblem(
            "installing ngrok needs the pyngrok package (pip install pyngrok); "
            f"or download the agent from {INSTALL_PAGE}"
        ) from None
    staging = ""
    try:
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".muxhook-ngrok-", dir=parent)
        staged = os.path.join(staging, installer.get_ngrok_bin())
        with contextlib.redirect_stdout(sys.stderr):
            installer.install_ngrok(staged, ngrok_version="3")
        os.chmod(staged, 0o700)
        os.replace(staged, target)
        os.chmod(target, 0o700)
    except (PyngrokError, OSError) as error:
        raise EnvironmentProblem(
            f"could not install the ngrok agent to {target}: {_one_line(str(error))}; "
            f"download it from {INSTALL_PAGE} instead"
        ) from None
    finally:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def missing_agent_message() -> str:
    """One line: the agent is missing, and every way forward."""
    return (
        "ngrok agent not found: install it with `muxhook ngrok install` "
        f"(or from {INSTALL_PAGE}) or point --ngrok-path at it; "
        "or use --public-url URL / --no-tunnel"
    )
