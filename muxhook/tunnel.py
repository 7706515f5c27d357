"""Public URLs for ``muxhook listen``: ngrok through pyngrok, a URL you bring, or none.

Three ``Tunnel`` implementations share one small protocol (``start`` returns the
public base URL, ``stop`` never raises, ``alive`` turns False when an agent dies,
``check`` says what is wrong with a running tunnel, ``restart`` opens it again, and
``timing`` tells ``listen`` how to watch it, or None when there is nothing to watch):

- ``NgrokTunnel`` drives the ngrok agent binary through pyngrok. This is the
  only module that imports pyngrok, and only inside functions: importing
  muxhook stays fast;
- ``StaticUrl`` (``--public-url``) starts nothing and hands back the URL;
- ``NoTunnel`` (``--no-tunnel``) is local only.

pyngrok downloads the agent by itself whenever its ``ngrok_path`` is missing.
muxhook never lets that happen silently: ``resolve_ngrok_path`` looks for an
agent that is already there, ``NgrokTunnel.start`` refuses a missing path, and
only ``install_ngrok`` (``muxhook ngrok install``) downloads, when asked to.

The agent belongs to ``listen`` and to nothing else. It runs in a session of its
own, so the terminal's Ctrl-C (or SIGHUP) reaches ``listen`` only: ``listen``
answers what it has in hand through the tunnel, then closes it. And a small
watchdog process (``_Watchdog``) ends the agent when ``listen`` dies without
closing it, ``kill -9`` included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from muxhook.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from pyngrok.conf import PyngrokConfig
    from pyngrok.log import NgrokLog
    from pyngrok.process import NgrokProcess

__all__ = [
    "NgrokTunnel",
    "NoTunnel",
    "StaticUrl",
    "Tunnel",
    "WatchTiming",
    "authtoken_advice",
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
#: What the agent logs when its session with ngrok drops, and when it is back (ngrok v3:
#: "session closed, starting reconnect loop", then "failed to reconnect session" until
#: "tunnel session started" / "client session established").
_SESSION_LOST = ("session closed", "failed to reconnect session")
_SESSION_BACK = ("tunnel session started", "client session established")
#: How long an agent that was asked to stop gets before it is killed.
_STOP_GRACE = 2.0


@dataclasses.dataclass(frozen=True)
class WatchTiming:
    """How ``listen`` watches a tunnel agent, in seconds.

    A tick reads the clocks every ``tick``; one that comes ``late`` seconds after it
    was due means ``listen`` itself was not running (suspended, or the computer
    slept), and the tunnel is checked at once. Otherwise the agent is probed every
    ``every``, and must answer within ``answer``. Two failed probes in a row (or an
    agent that exited) are reported; an agent still failing ``restart`` seconds
    after the first failure (or one that exited) is replaced by a new one. A
    restart that fails is tried again after ``retry``, then twice as long each
    time, up to 5 minutes.
    """

    tick: float = 1.0
    every: float = 5.0
    answer: float = 3.0
    late: float = 10.0
    restart: float = 20.0
    retry: float = 15.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, (int, float)) and 0 < value < 86400):
                raise UsageError(f"tunnel watch {field.name}={value!r}: must be positive seconds")

    @property
    def reported_within(self) -> float:
        """The longest an agent can hang before ``listen`` says so: two probes."""
        return 2 * (self.every + self.answer) + self.tick

    @classmethod
    def parse(cls, text: str | None) -> WatchTiming:
        """``"every=0.5,answer=1"`` over the defaults; None or empty gives the defaults.

        Only tests use this (through ``MUXHOOK_TUNNEL_TIMING``), to watch on short
        intervals; it is not a documented setting.
        """
        if not text or not text.strip():
            return cls()
        names = {field.name for field in dataclasses.fields(cls)}
        values: dict[str, float] = {}
        for part in text.split(","):
            name, _, number = part.partition("=")
            name = name.strip()
            try:
                value = float(number)
            except ValueError:
                value = math.nan
            if name not in names or not math.isfinite(value):
                raise UsageError(f"tunnel watch timing {part.strip()!r}: expected NAME=SECONDS")
            values[name] = value
        return dataclasses.replace(cls(), **values)


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

    #: How ``listen`` watches this tunnel; None: there is nothing to watch.
    timing: WatchTiming | None

    def check(self) -> str | None:
        """None while the tunnel works, else what is wrong in a few words; may block."""
        ...

    def restart(self) -> str | None:
        """Open the tunnel again for the same port; its (maybe new) URL; may block."""
        ...


class _Unwatched:
    """A tunnel muxhook neither runs nor can see: its URL (if any) is all there is."""

    timing: WatchTiming | None = None
    url: str | None = None

    def start(self, local_port: int) -> str | None:
        """The URL; nothing is started."""
        return self.url

    def stop(self) -> None:
        """Nothing to stop: muxhook started nothing."""

    def alive(self) -> bool:
        """Always True: there is no agent of muxhook's to die."""
        return True

    def check(self) -> str | None:
        """Always None: muxhook has nothing of its own to check."""
        return None

    def restart(self) -> str | None:
        """The same URL: nothing of muxhook's to restart."""
        return self.url


class NoTunnel(_Unwatched):
    """``--no-tunnel``: nothing public, the listener is reached on 127.0.0.1 only."""


class StaticUrl(_Unwatched):
    """``--public-url URL``: a tunnel the user runs (cloudflared, a manual ``ngrok http``, …).

    ``start`` and ``restart`` hand back the URL as given, without a trailing slash.
    """

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
    readable line for each error the agent logs once the tunnel is up (each text
    once; its session dropping is ``check``'s to report); it is called from
    pyngrok's monitor thread. ``timing`` is how ``listen`` watches the agent.

    ``start``, ``restart`` and ``stop`` may run in different threads: a lock keeps
    them in turn, and ``stop`` cuts short a restart that is under way.
    """

    def __init__(
        self,
        *,
        ngrok_path: str,
        domain: str | None = None,
        config_path: str | None = None,
        startup_timeout: float = 20.0,
        on_agent_log: Callable[[str], None] | None = None,
        timing: WatchTiming | None = None,
    ) -> None:
        if not startup_timeout > 0:
            raise UsageError(f"the ngrok start-up timeout must be positive, not {startup_timeout}")
        self.ngrok_path = ngrok_path
        self.domain = _clean_domain(domain) if domain else None
        self.config_path = config_path
        self.startup_timeout = startup_timeout
        self.on_agent_log = on_agent_log
        self._watch = timing or WatchTiming()
        self.timing: WatchTiming | None = self._watch
        self.public_url: str | None = None
        self._port = 0
        self._config: PyngrokConfig | None = None
        self._process: NgrokProcess | None = None
        self._starting: NgrokProcess | None = None  # seen during start-up, for clean-up
        self._ready = False
        self._lock = threading.Lock()  # start, restart and stop, one at a time
        self._closing = False
        self._working = True  # what the last check found
        self._session_lost: str | None = None  # the agent's words, while its session is down
        self._said: set[str] = set()  # agent errors already passed on
        self._watchdog: _Watchdog | None = None

    def start(self, local_port: int) -> str | None:
        """Start the agent, open ``https://…`` → ``http://127.0.0.1:local_port``; its URL.

        Raises:
            EnvironmentProblem: the agent is missing, did not start within
                ``startup_timeout`` seconds, or refused (one line naming the fix).
        """
        if not 0 < local_port < 65536:
            raise UsageError(f"port {local_port} is not between 1 and 65535")
        with self._lock:
            if self._config is not None:
                return self.public_url
            self._closing = False
            return self._open(local_port)

    def restart(self) -> str | None:
        """End the agent and start a new one for the same port; the public URL it gives.

        With ``domain`` (or an account's fixed dev domain) the URL stays; a random
        one is new. Blocks for up to about ``startup_timeout`` seconds: call it off
        the event loop.

        Raises:
            EnvironmentProblem: the new agent did not start (one line naming the
                cause); nothing is left running and ``restart`` can be tried again.
        """
        with self._lock:
            if self._closing or not self._port:
                raise EnvironmentProblem("the tunnel is closed")
            # A hung agent cannot answer a DELETE, and one going away needs none.
            self._close_agent(remove_endpoint=False)
            return self._open(self._port)

    def stop(self) -> None:
        """Remove the endpoint and end the agent; safe twice, never raises."""
        self._closing = True
        if not self._lock.acquire(blocking=False):
            # A restart is under way in another thread: end the agent it is starting,
            # so that its start-up gives up, then wait for it to let go.
            running = _registered(self.ngrok_path)
            if running is not None:
                with contextlib.suppress(Exception):
                    running.proc.kill()
            if not self._lock.acquire(timeout=self.startup_timeout + 10):
                return  # the watchdog ends what is left when listen exits
        try:
            self._close_agent(remove_endpoint=self._working)
        finally:
            self._lock.release()
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.close()

    def alive(self) -> bool:
        """True while the agent process started by ``start`` is running."""
        process = self._process
        return process is not None and self._config is not None and process.proc.poll() is None

    def check(self) -> str | None:
        """None while the tunnel works; else what is wrong, in a few words.

        Asks the agent's local API for its endpoints (``timing.answer`` seconds at
        most): a hung agent does not answer, one that lost its session says so in
        its log, one that lost the endpoint no longer lists it. The public URL is
        not fetched: through ngrok that request would land in the event log as a
        webhook, and count against the account's limits. Blocks: call it off the
        event loop.
        """
        process, config, url = self._process, self._config, self.public_url
        if self._closing or not self._port:
            return None  # never started, or stopped
        if process is None or config is None or url is None or not self._ready:
            self._working = False
            return "no ngrok agent is running (it could not be started again)"
        problem = self._problem(process, url)
        self._working = problem is None
        return problem

    def _problem(self, process: NgrokProcess, url: str) -> str | None:
        from pyngrok import ngrok
        from pyngrok.exception import PyngrokNgrokHTTPError, PyngrokNgrokURLError

        answer = self._watch.answer
        if process.proc.poll() is not None:
            return self._exited(process)
        if self._session_lost is not None:
            return f"the ngrok agent lost its session with ngrok ({self._session_lost})"
        try:
            listed = ngrok.api_request(f"{process.api_url}/api/endpoints", timeout=answer)
        except PyngrokNgrokURLError as error:
            if str(error.reason) == "timed out":  # it took the connection, then nothing
                return f"the ngrok agent did not answer within {answer:g} s (hung or stopped?)"
            # Refused: poll() may have said "running" while pyngrok's reader thread was
            # reaping an agent that had just died, so look again.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.proc.wait(timeout=0.5)
            if process.proc.poll() is not None:
                return self._exited(process)
            return f"the ngrok agent's API cannot be reached ({_one_line(str(error.reason))})"
        except PyngrokNgrokHTTPError as error:
            return f"the ngrok agent's API answered HTTP {error.status_code}"
        except Exception as error:  # a reset, a body that is not JSON: the agent is not well
            return f"the ngrok agent's API failed: {_one_line(str(error)) or type(error).__name__}"
        found = listed.get("endpoints") if isinstance(listed, dict) else None
        mine = f"muxhook-{self._port}"
        if not isinstance(found, list) or not any(
            isinstance(item, dict)
            and (str(item.get("url", "")).rstrip("/") == url or item.get("name") == mine)
            for item in found
        ):
            return "the ngrok agent no longer has muxhook's endpoint"
        return None

    def _exited(self, process: NgrokProcess) -> str:
        """How the agent ended, with the last reason it logged."""
        # Its last lines may still be in the pipe: pyngrok's reader leaves at the end of it.
        deadline = time.monotonic() + 1.0
        while getattr(process, "_monitor_thread", None) and time.monotonic() < deadline:
            time.sleep(0.01)
        code = process.proc.returncode
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        last = self._session_lost
        return f"the ngrok agent {how}" + (f" ({last})" if last else "")

    def _open(self, local_port: int) -> str:
        """Start an agent and open the endpoint; the caller holds ``_lock``."""
        # G1: pyngrok downloads the agent to any ngrok_path that does not exist.
        if not os.path.isfile(self.ngrok_path):
            raise EnvironmentProblem(missing_agent_message())
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
            # G10: a session of its own, so the terminal's Ctrl-C reaches listen only and
            # listen can still answer through the tunnel while it finishes.
            start_new_session=os.name == "posix",
        )
        # The agent's API answers at once or not at all: a hung agent must not hold up stop().
        config.request_timeout = self._watch.answer
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
        if self._watchdog is None:
            self._watchdog = _Watchdog.begin()
        watchdog = self._watchdog
        outcome = _Outcome()
        self._session_lost = None
        self._said = set()

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

        guarded: set[int] = set()

        def guard() -> None:
            """Hand the agent to the watchdog as soon as it exists (listen may die next)."""
            running = _registered(config.ngrok_path)
            if running is not None and watchdog is not None and running.proc.pid not in guarded:
                guarded.add(running.proc.pid)
                watchdog.watch(running.proc.pid)

        def unguard(keep: int | None = None) -> None:
            """The agents that start-up ended (and reaped) need no watching any more."""
            for pid in guarded - {keep}:
                if watchdog is not None:
                    watchdog.forget(pid)

        worker = threading.Thread(target=connect, name="muxhook-ngrok-start", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.startup_timeout
        try:
            while worker.is_alive() and time.monotonic() < deadline and not self._closing:
                guard()
                worker.join(min(0.05, max(0.0, deadline - time.monotonic())))
            guard()
        except BaseException:  # Ctrl-C while waiting: leave no agent behind
            self._starting = None
            _abort_start(config, worker)
            unguard()
            raise
        if worker.is_alive():
            self._starting = None
            _abort_start(config, worker)
            unguard()
            if self._closing:
                raise EnvironmentProblem("the tunnel was closed while its agent was starting")
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
            unguard()
            error = outcome.error
            if error is not None and not isinstance(error, Exception):
                raise error  # KeyboardInterrupt, SystemExit: not ours to explain
            raise EnvironmentProblem(self._explain(error)) from None
        unguard(keep=outcome.process.proc.pid)
        self._config = config
        self._process = outcome.process
        self.public_url = outcome.url.rstrip("/")
        self._working = True
        self._ready = True
        return self.public_url

    def _close_agent(self, *, remove_endpoint: bool) -> None:
        """Remove the endpoint (when the agent can still answer) and end the agent."""
        config, process, url = self._config, self._process, self.public_url
        self._config = None
        self._process = None
        self._ready = False
        self.public_url = None
        if config is None:
            return
        from pyngrok import ngrok

        if remove_endpoint and url and process is not None and process.proc.poll() is None:
            with contextlib.suppress(Exception):
                ngrok.disconnect(url, config)
        if process is not None:
            _end(process)
        _kill_quietly(config)  # pyngrok's registry forgets it
        if process is not None:
            _release(process)
            if self._watchdog is not None:
                self._watchdog.forget(process.proc.pid)

    def _on_agent_log(self, log: NgrokLog) -> None:
        """pyngrok's log callback: track the session, pass agent errors on once."""
        if not self._ready:
            if self._starting is None:  # runs in the start-up thread, after Popen
                self._starting = _registered(self.ngrok_path)
            return
        message = log.msg or ""
        if any(words in message for words in _SESSION_BACK):
            self._session_lost = None
            return
        if any(words in message for words in _SESSION_LOST):
            # check() reports it, once, with the agent's first reason; the agent logs a
            # failure every few seconds while it tries to reconnect.
            if self._session_lost is None:
                self._session_lost = _one_line(": ".join(p for p in (message, log.err) if p))
            return
        if self.on_agent_log is None:
            return
        # Start-up errors are not forwarded: start() raises them as one line instead.
        if log.lvl not in ("ERROR", "CRITICAL") and "ERR_NGROK_" not in log.line:
            return
        detail = ": ".join(part for part in (log.msg, log.err) if part) or log.line
        text = self._describe(detail)
        if text in self._said:
            return
        self._said.add(text)
        with contextlib.suppress(Exception):  # a failing sink must not kill the monitor
            self.on_agent_log(text)

    def _describe(self, text: str) -> str:
        """One line for an agent error text, naming the fix for the codes we know."""
        match = _CODE.search(text)
        if match is None:
            return f"ngrok: {_one_line(text)}"
        code = int(match.group(1))
        detail = _one_line(_CODE.sub("", text))
        if code == 4018:
            return (
                "ngrok needs an authtoken (ERR_NGROK_4018): "
                f"{authtoken_advice(self.ngrok_path)}; or use --public-url URL / --no-tunnel"
            )
        if code in (105, 107):
            return (
                f"ngrok rejected the authtoken (ERR_NGROK_{code}): it is malformed, was reset "
                f"or belongs to another account: {authtoken_advice(self.ngrok_path)} "
                "(a fresh one, in place of the old)"
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


def _end(process: NgrokProcess) -> None:
    """Ask the agent to stop, and kill it if it has not within ``_STOP_GRACE`` seconds.

    SIGTERM lets a working agent close its session with ngrok, so a reserved
    domain is free again at once for the next agent; SIGCONT wakes an agent that
    was stopped (SIGSTOP, a debugger) so that it can act on it. A hung agent gets
    SIGKILL.
    """
    proc = process.proc
    if proc.poll() is not None:
        return
    with contextlib.suppress(OSError):
        proc.terminate()
        if hasattr(signal, "SIGCONT"):
            proc.send_signal(signal.SIGCONT)
    try:
        proc.wait(timeout=_STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=2)


#: The watchdog's whole program, run as ``python -I -S -c``: it reads "watch PID" and
#: "forget PID" lines from listen; at end of input (listen has exited, however it
#: exited) it ends every agent still watched, as ``_end`` does. On Linux a pidfd pins
#: each agent, so a PID the system has since reused is never signalled.
_WATCHDOG_PROGRAM = r"""
import os, select, signal, sys, time
for name in ("SIGINT", "SIGHUP"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
watched = {}
def pin(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
def send(pid, fd, sig):
    try:
        if fd is not None:
            signal.pidfd_send_signal(fd, sig)
        else:
            os.kill(pid, sig)
    except OSError:
        pass
def running(pid, fd):
    if fd is not None:
        return not select.select([fd], [], [], 0)[0]
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
for line in sys.stdin.buffer:
    word, _, number = line.decode("ascii", "replace").strip().partition(" ")
    if not number.isdigit():
        continue
    pid = int(number)
    if word == "watch" and pid not in watched:
        watched[pid] = pin(pid)
    elif word == "forget" and pid in watched:
        fd = watched.pop(pid)
        if fd is not None:
            os.close(fd)
for pid, fd in watched.items():
    send(pid, fd, signal.SIGTERM)
    send(pid, fd, signal.SIGCONT)
deadline = time.monotonic() + 2.0
while watched and time.monotonic() < deadline:
    watched = {pid: fd for pid, fd in watched.items() if running(pid, fd)}
    time.sleep(0.05)
for pid, fd in watched.items():
    send(pid, fd, signal.SIGKILL)
"""


class _Watchdog:
    """A small process that ends listen's agents when listen dies without doing so.

    The agent runs in a session of its own (so that Ctrl-C does not reach it), so
    nothing would end it after a ``kill -9`` of listen. Linux's parent-death
    signal (``PR_SET_PDEATHSIG``) does not fit: pyngrok offers no hook to set it,
    and it fires when the *thread* that started the agent ends, which for listen
    is a start-up thread. So a watchdog holds the read end of a pipe that only
    listen writes to: when listen is gone, however it went, the watchdog reads the
    end of the pipe and ends the agents it was told about. It runs in a session of
    its own too, ignoring the terminal's signals, and costs one short-lived Python
    start (stdlib only, no site packages) per ``listen`` with a tunnel.
    """

    def __init__(self, process: subprocess.Popen[bytes], pipe: IO[bytes]) -> None:
        self._process = process
        self._pipe = pipe
        self._lock = threading.Lock()

    @classmethod
    def begin(cls) -> _Watchdog | None:
        """Start the watchdog; None where it cannot run (Windows, a frozen app)."""
        if os.name != "posix" or not sys.executable or getattr(sys, "frozen", False):
            return None
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG_PROGRAM],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            return None
        if process.stdin is None:  # pragma: no cover - stdin=PIPE always gives one
            process.kill()
            return None
        return cls(process, process.stdin)

    def watch(self, pid: int) -> None:
        """End ``pid`` if listen dies."""
        self._send(f"watch {pid}\n")

    def forget(self, pid: int) -> None:
        """``pid`` was ended by listen itself."""
        self._send(f"forget {pid}\n")

    def _send(self, line: str) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._pipe.write(line.encode("ascii"))
            self._pipe.flush()

    def close(self) -> None:
        """listen ended its agents itself: let the watchdog go."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._pipe.close()
        try:
            self._process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


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


def _agent_command(agent: str | None, env: Mapping[str, str]) -> str:
    """How to run ``agent`` from a shell: ``ngrok`` when that name finds it on PATH (or no
    agent is known yet), else its full path, quoted."""
    import shlex
    import shutil

    if agent is None:
        return "ngrok"
    found = shutil.which(_agent_name(), path=env.get("PATH", ""))
    if found is not None and os.path.realpath(found) == os.path.realpath(agent):
        return "ngrok"
    return shlex.quote(agent)


def authtoken_advice(agent: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Every way to give the agent its authtoken, in one clause: ``NGROK_AUTHTOKEN``, the
    agent's own ``config add-authtoken`` (``agent``, the agent muxhook found, by its path
    when PATH does not find it), and ``muxhook ngrok install`` when there is no agent."""
    env = os.environ if environ is None else environ
    command = _agent_command(agent, env)
    advice = (
        f"copy your authtoken from {AUTHTOKEN_PAGE}, then set NGROK_AUTHTOKEN=<token> or run "
        f"`{command} config add-authtoken <token>`"
    )
    if agent is None:
        advice += " once the agent is installed (`muxhook ngrok install` downloads it)"
    return advice


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
        progress = _EndedLines(sys.stderr)
        try:
            with contextlib.redirect_stdout(progress):
                installer.install_ngrok(staged, ngrok_version="3")
        finally:
            progress.end_line()
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


class _EndedLines(io.TextIOBase):
    """pyngrok's progress text, passed on to ``stream``; ``end_line`` ends its last line
    (pyngrok rewrites one line with carriage returns and never ends it), so the next
    line starts on a line of its own."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._open = False  # the last text written did not end a line

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self._stream.write(text)
            self._open = not text.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def end_line(self) -> None:
        """Write a newline if the last text left a line open."""
        if self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False


def missing_agent_message() -> str:
    """One line: the agent is missing, and every way forward."""
    return (
        "ngrok agent not found: install it with `muxhook ngrok install` "
        f"(or from {INSTALL_PAGE}) or point --ngrok-path at it; "
        "or use --public-url URL / --no-tunnel"
    )
