"""The commands: each builds its objects, runs the core and renders the result.

Both front doors call these functions: the Typer app in ``muxhook.cli`` and the
fast path in ``muxhook._entry`` (which skips importing Typer for ``sign`` and
``verify``). Each returns an ``ExitCode``; ``run`` is the one place where an
exception becomes a line on stderr and an exit code.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import typing
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from muxhook.errors import (
    DeliveryError,
    EnvironmentProblem,
    ExitCode,
    MuxhookError,
    SignatureError,
    UsageError,
)

if typing.TYPE_CHECKING:
    import asyncio
    import socket

    from muxhook._files import ReportFile
    from muxhook.fixtures import Fixture
    from muxhook.forward import Route
    from muxhook.inspector.server import InspectorServer
    from muxhook.muxlisten import Companion, MuxApiListen
    from muxhook.pipeline import ListenSettings
    from muxhook.records import Attempt, StoredEvent, Target
    from muxhook.render import Output, TerminalView
    from muxhook.secrets import ResolvedSecret
    from muxhook.store import EventLog
    from muxhook.subscribers import Subscriber
    from muxhook.tunnel import Tunnel, WatchTiming

__all__ = ["events", "inspect", "run", "sign", "trigger", "verify"]

T = TypeVar("T")

DEFAULT_URL = "http://localhost:3000/webhooks/{provider}"
FORMATS = ("header", "json", "curl", "httpie")


def run(command: Callable[..., ExitCode], /, *, out: Output | None = None, **options: Any) -> int:
    """Run ``command`` and map every failure to one line and a documented exit code."""
    from muxhook.render import Output

    out = out or Output()
    try:
        return int(command(out, **options))
    except MuxhookError as error:
        out.error(str(error))
        return int(error.exit_code)
    except KeyboardInterrupt:
        out.say("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader of our stdout went away (| head): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except OSError as error:
        # The machine refused something nothing above expected (stdout on a full disk,
        # /dev/full): one line, not a traceback; then stop the final flush failing again.
        out.error(f"{error.strerror or error}: muxhook could not finish")
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.ENVIRONMENT)


def _secret(provider: str, explicit: str | None) -> str:
    from muxhook import providers
    from muxhook.secrets import resolve_secret

    found = resolve_secret(provider, explicit)
    if found is None:
        module = providers.get(provider)
        raise UsageError(
            f"no {module.LABEL} signing secret: pass --secret, set {module.SECRET_ENV}, "
            f"or add {module.SECRET_ENV}=… to .env"
        )
    return found.value


def _load_fixture(
    ref: str, provider: str | None, sets: list[str], unsets: list[str], *, fresh_ids: bool = False
) -> Fixture:
    from muxhook import fixtures, providers

    if ref == "-":
        body = sys.stdin.buffer.read()
        name = provider or providers.guess(body)
        fixture = fixtures.Fixture(name, body, providers.get(name).event_type(body))
    else:
        fixture = fixtures.load(ref, provider=provider)
    body = fixture.body
    if fresh_ids:
        body = fixtures.with_fresh_ids(body, fixture.provider)
    body = fixtures.apply_overrides(body, sets, unsets, origin=ref)
    if body is fixture.body:
        return fixture
    module = providers.get(fixture.provider)
    return fixture._replace(body=body, event_type=module.event_type(body))


def sign(
    out: Output,
    *,
    event: str,
    secret: str | None = None,
    provider: str | None = None,
    timestamp: int | None = None,
    set_: list[str] | None = None,
    unset: list[str] | None = None,
    format_: str = "header",
    to: str | None = None,
    fresh_ids: bool = False,
) -> ExitCode:
    """Print the headers (or a curl/HTTPie command, or JSON) that sign a fixture."""
    from muxhook import render, signing

    if format_ not in FORMATS:
        raise UsageError(f"--format {format_!r}: choose one of {', '.join(FORMATS)}")
    fixture = _load_fixture(event, provider, set_ or [], unset or [], fresh_ids=fresh_ids)
    key = _secret(fixture.provider, secret)
    headers = signing.sign(fixture.body, secret=key, provider=fixture.provider, timestamp=timestamp)
    url = to or DEFAULT_URL.format(provider=fixture.provider)
    path = str(fixture.path) if fixture.path else None
    if format_ == "header":
        out.result(render.format_headers(headers))
    elif format_ == "json":
        out.result(
            render.format_signed_json(fixture.provider, fixture.event_type, headers, fixture.body)
        )
    elif format_ == "curl":
        out.result(render.format_curl(url, headers, fixture.body, path))
    else:
        out.result(render.format_httpie(url, headers, fixture.body, path))
    return ExitCode.OK


def _read_headers(header: list[str], headers_file: str | None) -> dict[str, str]:
    from muxhook.headers import parse_header_line, read_headers_file

    pairs = [parse_header_line(text) for text in header]
    if headers_file:
        pairs += read_headers_file(headers_file)
    return dict(pairs)


def verify(
    out: Output,
    *,
    body_file: str = "-",
    header: list[str] | None = None,
    headers_file: str | None = None,
    secret: str | None = None,
    provider: str | None = None,
    now: float | None = None,
    tolerance: float = 300.0,
    max_future: float = 300.0,
    json_: bool = False,
) -> ExitCode:
    """Check a body against its signature header and print the verdict and diagnosis."""
    from muxhook import providers, signing

    headers = _read_headers(header or [], headers_file)
    if not headers:
        raise UsageError("no signature header: pass --header 'Mux-Signature: …' or --headers-file")
    if body_file == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = Path(body_file).read_bytes()
        except OSError as error:
            raise UsageError(f"{body_file}: cannot read it ({error.strerror})") from None
    name = provider or providers.detect(headers)
    module = providers.get(name) if name else None
    key = _secret(name, secret) if name else ""
    event_type = module.event_type(body, headers) if module else None
    try:
        verdict = signing.verify(
            body,
            headers,
            secret=key,
            provider=name,
            now=now,
            tolerance=tolerance,
            max_future=max_future,
        )
    except SignatureError as error:
        label = module.LABEL if module else "webhook"
        if json_:
            out.result(
                json.dumps(
                    {
                        "valid": False,
                        "provider": name,
                        "event_type": event_type,
                        "reason": error.reason,
                        "message": str(error),
                        "hint": error.hint,
                    }
                )
            )
        else:
            out.verdict_invalid(label, str(error))
        return ExitCode.FAILED
    assert module is not None
    if json_:
        out.result(
            json.dumps(
                {
                    "valid": True,
                    "provider": verdict.provider,
                    "event_type": event_type,
                    "timestamp": verdict.timestamp,
                    "age": verdict.age,
                }
            )
        )
    else:
        detail = ""
        if verdict.timestamp is not None and verdict.age is not None:
            detail = f" · t={verdict.timestamp} ({_age(verdict.age)})"
        out.verdict_valid(module.LABEL, event_type, detail)
    return ExitCode.OK


def _age(seconds: float) -> str:
    if seconds < 0:
        return f"{-seconds:.0f} s in the future"
    return f"{seconds:.0f} s ago"


def trigger(
    out: Output,
    *,
    event: str,
    to: str,
    secret: str | None = None,
    provider: str | None = None,
    set_: list[str] | None = None,
    unset: list[str] | None = None,
    header: list[str] | None = None,
    timeout: float = 10.0,
    insecure: bool = False,
    keep_ids: bool = False,
) -> ExitCode:
    """Sign a fixture now and POST it to ``to``; exit non-zero unless the app answers 2xx.

    The event id and object id are fresh on every call (unless ``keep_ids``), so an app
    that ignores duplicates takes each trigger as a new event."""
    from muxhook import render, signing
    from muxhook.headers import parse_extra_headers
    from muxhook.sending import HttpSender, check_url

    check_url(to)  # a bad URL is bad input: said before anything else
    fixture = _load_fixture(event, provider, set_ or [], unset or [], fresh_ids=not keep_ids)
    key = _secret(fixture.provider, secret)
    headers = signing.sign(fixture.body, secret=key, provider=fixture.provider)
    headers.update(parse_extra_headers(header or []))
    out.request_line(to, fixture.event_type, fixture.provider)

    async def send() -> Attempt:
        async with HttpSender(insecure=insecure, connections=1) as sender:
            return await sender.send(to, fixture.body, list(headers.items()), timeout=timeout)

    attempt = _run_loop(send())
    if attempt.status is None:
        raise DeliveryError(f"could not reach {to}: {attempt.error}")
    out.response_line(
        attempt.status,
        (attempt.latency_ms or 0) / 1000,
        render.printable_body(attempt.response_start),
    )
    return ExitCode.OK if attempt.ok else ExitCode.FAILED


def events(
    out: Output, *, pattern: str | None = None, provider: str | None = None, json_: bool = False
) -> ExitCode:
    """List the event catalog, optionally filtered by a glob or substring."""
    from muxhook import catalog, providers

    if provider:
        providers.get(provider)  # an unknown provider is a usage error
    rows = catalog.find(pattern, provider)
    if json_:
        out.result(
            json.dumps(
                [
                    {
                        "provider": name,
                        "name": event.name,
                        "qualified_name": catalog.qualified(name, event.name),
                        "description": event.description,
                        "legacy": event.legacy,
                    }
                    for name, event in rows
                ],
                indent=2,
            )
        )
        return ExitCode.OK
    if not rows:
        raise UsageError(f"no event matches {pattern!r}; run 'muxhook events' to list them all")
    out.catalog(rows)
    return ExitCode.OK


def _parse_size(text: str) -> int:
    """``1048576``, ``512k``, ``1M``, ``1MiB`` → bytes."""
    cleaned = text.strip().lower().removesuffix("ib").removesuffix("b")
    factor = 1
    if cleaned and cleaned[-1] in "km":
        factor = 1024 if cleaned[-1] == "k" else 1024 * 1024
        cleaned = cleaned[:-1]
    try:
        size = int(float(cleaned) * factor)
    except ValueError:
        raise UsageError(f"--max-body {text!r}: give bytes, or a size such as 512k or 4M") from None
    if size <= 0:
        raise UsageError("--max-body must be positive")
    return size


def _listen_secrets(provider: str | None, secret: str | None, out: Output) -> dict[str, str]:
    from muxhook import providers
    from muxhook.secrets import mask, resolve_secret

    found: dict[str, str] = {}
    for name in (provider,) if provider else providers.NAMES:
        resolved = resolve_secret(name, secret)
        if resolved is not None:
            found[name] = resolved.value
            label = providers.get(name).LABEL
            shown = f"secret {mask(resolved.value)} from {resolved.source}"
            out.say(f"  verifying {label} signatures ({shown})")
    if not found:
        module = providers.get(provider or providers.DEFAULT)
        out.warn(
            f"no signing secret: events are recorded and forwarded unverified; set "
            f"{module.SECRET_ENV}, add it to .env, or pass --secret"
        )
    return found


def _forward_secret(explicit: str | None, out: Output) -> ResolvedSecret | None:
    """The secret forwards are re-signed with (``--forward-secret``, then
    ``MUXHOOK_FORWARD_SECRET``, then ``.env``), said once, masked."""
    from muxhook.secrets import mask, resolve_forward_secret

    found = resolve_forward_secret(explicit)
    if found is not None:
        out.say(f"  re-signing forwards (secret {mask(found.value)} from {found.source})")
    return found


def _check_app(url: str, out: Output) -> None:
    """Say at start when the app is not listening yet: events will be answered 502."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=0.5):
            return
    except OSError:
        out.warn(
            f"nothing answers at {parts.hostname}:{port} yet (is your app running on port "
            f"{port}?); events are recorded and answered 502 until it is up, then "
            "'muxhook log replay --failed' delivers them"
        )


def listen(
    out: Output,
    *,
    forward_to: list[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8700,
    path: str | None = None,
    provider: str | None = None,
    secret: str | None = None,
    tolerance: float = 300.0,
    forward_invalid: bool = False,
    forward_secret: str | None = None,
    header: list[str] | None = None,
    insecure: bool = False,
    ack: str = "app",
    retries: int = 5,
    concurrency: int = 8,
    forward_timeout: float = 30.0,
    max_body: str = "1M",
    events: str | None = None,
    verbose: bool = False,
    json_: bool = False,
    db: str | None = None,
    save: str | None = None,
    save_all: bool = False,
    tunnel: str = "auto",
    public_url: str | None = None,
    no_tunnel: bool = False,
    domain: str | None = None,
    ngrok_path: str | None = None,
    inspect_port: int | None = None,
    no_inspect: bool = False,
    source: str = "tunnel",
    register: bool = False,
    keep_endpoint: bool = False,
    token_id: str | None = None,
    token_secret: str | None = None,
    env_file: str = ".env",
    stream_silence: float = 90.0,
    stop: asyncio.Event | None = None,
) -> ExitCode:
    """Receive webhooks locally (behind a tunnel, or from the Mux API's event stream),
    record, verify, show and forward them."""
    from muxhook import listener, pipeline, providers
    from muxhook.forward import parse_route
    from muxhook.headers import parse_extra_headers
    from muxhook.render import JsonLines, TerminalView
    from muxhook.store import EventLog, default_db_path

    if provider:
        providers.get(provider)
    if ack not in ("app", "immediate"):
        raise UsageError(f"--ack {ack!r}: choose app or immediate")
    if tunnel not in ("auto", "ngrok", "none"):
        raise UsageError(f"--tunnel {tunnel!r}: choose auto, ngrok or none")
    if concurrency < 1 or retries < 0 or forward_timeout <= 0:
        raise UsageError("--concurrency must be ≥ 1, --retries ≥ 0 and --forward-timeout > 0")
    routes = tuple(parse_route(text) for text in forward_to or [])
    extra = parse_extra_headers(header or [])
    limit = _parse_size(max_body)
    url_path = path or f"/webhooks/{provider or 'mux'}"
    if not url_path.startswith("/"):
        url_path = "/" + url_path

    out.say("muxhook listen")
    if host not in ("127.0.0.1", "localhost", "::1"):
        out.warn(f"listening on {host}: other machines on your network can post to muxhook")
    mux = _mux_api_listen(  # --from mux-api, --register: None without them
        out,
        source=source,
        register=register,
        keep_endpoint=keep_endpoint,
        token_id=token_id,
        token_secret=token_secret,
        env_file=env_file,
        silence=stream_silence,
        provider=provider,
        tunnel=tunnel,
        public_url=public_url,
        no_tunnel=no_tunnel,
        domain=domain,
    )
    if mux is not None and mux.streaming:
        resign: ResolvedSecret | None = mux.app_secret(secret, forward_secret)
        assert resign is not None
        secrets = {"mux": resign.value}
    else:
        # With --register, the endpoint's secret comes once it is registered.
        secrets = {} if mux is not None else _listen_secrets(provider, secret, out)
        resign = _forward_secret(forward_secret, out)
    log_path = Path(db) if db else default_db_path()
    try:
        log = EventLog(log_path)
    except BaseException:
        if mux is not None:
            mux.close()
        raise
    out.say(f"  recording every request to {log_path}")
    if routes:
        for route in routes:
            only = f" (events {route.pattern})" if route.pattern else ""
            out.say(f"  forwarding to {route.url}{only}")
            _check_app(route.url, out)
    else:
        out.say("  not forwarding (no --forward-to): events are recorded and shown")
    try:
        sock = listener.bind(host, port)
    except BaseException:
        log.close()
        if mux is not None:
            mux.close()
        raise
    local_port = sock.getsockname()[1]
    if mux is not None and mux.streaming:
        mux.tunnel_line()
        chosen = None
    else:
        chosen = _choose_tunnel(tunnel, public_url, no_tunnel, domain, ngrok_path, out)
    try:
        public = chosen.start(local_port) if chosen is not None else None
        if mux is not None and mux.register:
            secrets["mux"] = mux.register_endpoint(public, url_path)
    except BaseException:
        if mux is not None:
            mux.close()
        if chosen is not None:
            chosen.stop()  # its watchdog too
        sock.close()
        log.close()
        raise
    if save:
        _usable_folder(Path(save), "--save")
    try:
        inspector = None
        if not no_inspect:
            inspector = _listen_inspector(
                log_path,
                inspect_port,
                secrets,
                forward_secret,
                save_dir=Path(save) if save else None,
                timeout=forward_timeout,
                insecure=insecure,
            )
    except BaseException:
        if chosen is not None:
            chosen.stop()
        sock.close()
        log.close()
        raise
    settings = pipeline.ListenSettings(
        secrets=secrets,
        provider=provider,
        tolerance=tolerance,
        routes=routes,
        forward_invalid=forward_invalid,
        forward_secret=resign.value if resign else None,
        forward_secret_source=resign.source if resign else "--forward-secret",
        extra_headers=extra,
        ack=ack,
        retries=retries,
        forward_timeout=forward_timeout,
        shown_events=tuple(g.strip() for g in (events or "").split(",") if g.strip()),
    )
    view = TerminalView(out, lines=not json_, verbose=verbose)
    subscribers: list[Subscriber] = [view]
    if json_:
        subscribers.append(JsonLines(out))
    if save:
        subscribers.append(pipeline.FixtureSaver(Path(save), everything=save_all))
    local = f"http://{host if ':' not in host else f'[{host}]'}:{local_port}{url_path}"
    platform = providers.get(provider or providers.DEFAULT)
    where = f"{platform.LABEL}: {platform.DASHBOARD}"

    def ready() -> None:
        if public:
            out.say(f"  public URL: {public.rstrip('/')}{url_path}")
            registered = mux.ready_line() if mux is not None else None
            out.say(registered or f"  paste it into {where}")
        out.say(f"Ready: listening on {local} (Ctrl-C to stop)")
        if inspector is not None:
            from muxhook.inspector.server import DEFAULT_PORT

            wanted = DEFAULT_PORT if inspect_port is None else inspect_port
            busy = "" if wanted in (0, inspector.port) else f" (port {wanted} was busy)"
            out.say(f"inspector: {inspector.url}{busy}")

    watch = None
    if chosen is not None and chosen.timing is not None and public:
        watch = _TunnelWatch(
            chosen,
            chosen.timing,
            view,
            public=public,
            url_path=url_path,
            where=where,
            keep_hint="" if domain else " (--domain keeps one URL across restarts)",
            # serve() closes the listening socket first thing when listen stops: from then
            # on the tunnel only has to last until the answers in hand have gone out.
            serving=lambda: sock.fileno() != -1,
        )

    companion = mux.companion(chosen, local_port, forward_timeout) if mux is not None else None

    try:
        _run_loop(
            _serve(
                settings,
                log,
                view,
                subscribers,
                sock,
                ready,
                watch if mux is None or not mux.register else None,  # it restarts the tunnel
                concurrency,
                forward_timeout,
                insecure,
                limit,
                routes,
                stop,
                inspector,
                companion,
            )
        )
    finally:
        if mux is not None:
            mux.close()  # the endpoint goes before the tunnel: Mux stops sending first
        if chosen is not None:
            chosen.stop()
        if inspector is not None:
            inspector.sock.close()
        log.close()
    return ExitCode.OK


def _mux_api_listen(out: Output, **options: Any) -> MuxApiListen | None:
    """``--from mux-api`` / ``--register`` checked, with the token, or None without them."""
    if options["source"] == "tunnel" and not options["register"] and not options["keep_endpoint"]:
        return None  # the common case imports nothing more
    from muxhook.muxlisten import MuxApiListen

    return MuxApiListen.prepare(out, **options)


def _choose_tunnel(
    mode: str,
    public_url: str | None,
    no_tunnel: bool,
    domain: str | None,
    ngrok_path: str | None,
    out: Output,
) -> Tunnel | None:
    """The tunnel ``listen`` starts, or None for local only; says why in plain words."""
    if no_tunnel or mode == "none":
        out.say("  local only (--no-tunnel)")
        return None
    from muxhook import tunnel

    if public_url:
        out.say("  using your own tunnel (--public-url): nothing is started")
        return tunnel.StaticUrl(public_url)
    agent = tunnel.resolve_ngrok_path(ngrok_path)
    if mode == "auto" and not tunnel.authtoken_configured():
        out.say(
            "  local only: ngrok has no authtoken configured (run 'ngrok config add-authtoken "
            "<token>'), or pass --public-url URL if you run your own tunnel"
        )
        return None
    if agent is None:
        if mode == "ngrok":
            raise EnvironmentProblem(tunnel.missing_agent_message())
        out.say("  local only: " + tunnel.missing_agent_message())
        return None
    out.say(f"  starting an ngrok tunnel ({agent})")
    return tunnel.NgrokTunnel(
        ngrok_path=agent,
        domain=domain,
        on_agent_log=out.warn,
        # Short intervals for tests only; not a documented setting.
        timing=tunnel.WatchTiming.parse(os.environ.get("MUXHOOK_TUNNEL_TIMING")),
    )


class _TunnelWatch:
    """listen's watch over its tunnel agent, on the event loop; the agent's blocking calls
    (probe, restart) run in threads of their own, so a hung agent never holds up an answer.

    A tick reads the clocks every ``timing.tick`` seconds. A tick that wakes far later
    than due means listen itself was not running (suspended with SIGSTOP, a laptop
    asleep: CLOCK_BOOTTIME or the wall clock counts the sleep that the monotonic clock
    may not), and the tunnel is checked at once. Otherwise the agent is probed every
    ``timing.every``. Two failed probes in a row (one after a suspension, or an agent
    that exited) are one line; an agent still failing ``timing.restart`` seconds after
    the first failure (at once if it exited) is replaced, and the public URL shown again,
    saying whether the platform needs the new one. When the agent recovers by itself,
    one line says so. Nothing happens once listen is stopping.
    """

    def __init__(
        self,
        tunnel: Tunnel,
        timing: WatchTiming,
        view: TerminalView,
        *,
        public: str,
        url_path: str,
        where: str,
        keep_hint: str,
        serving: Callable[[], bool],
    ) -> None:
        self.tunnel = tunnel
        self.timing = timing
        self.view = view
        self.public = public.rstrip("/")
        self.url_path = url_path
        self.where = where
        self.keep_hint = keep_hint
        self.serving = serving
        self.failures = 0
        self.down_since: float | None = None
        self.reported = False
        self.retry_at = 0.0
        self.retry_wait = timing.retry
        self.refused = ""  # why the last restart failed

    async def run(self) -> None:
        """Watch until cancelled, or until listen stops serving."""
        try:
            await self._watch()
        except Exception as error:  # never a traceback from a side task
            if self.serving():
                self.view.out.warn(f"stopped watching the tunnel: {error}")

    async def _watch(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        timing = self.timing
        due = loop.time() + timing.every
        while True:
            started, awake = loop.time(), _awake_clock()
            await asyncio.sleep(timing.tick)
            if not self.serving():
                return
            now = loop.time()
            gap = max(now - started, _awake_clock() - awake)
            suspended = gap if gap > timing.tick + timing.late else None
            if suspended is None and now < due:
                continue
            problem = await _off_loop(self.tunnel.check)
            if not self.serving():
                return
            now = loop.time()
            due = now + timing.every
            if problem is None:
                if suspended is not None:
                    self.view.tunnel_resumed(suspended)
                elif self.reported and self.down_since is not None:
                    self.view.tunnel_back(now - self.down_since)
                self._healthy()
                continue
            await self._unhealthy(problem, suspended, now)
            due = loop.time() + timing.every

    async def _unhealthy(self, problem: str, suspended: float | None, now: float) -> None:
        import asyncio

        self.failures += 1
        if self.down_since is None:
            self.down_since = now
        exited = not self.tunnel.alive()
        restart_in = 0.0 if exited else self.down_since + self.timing.restart - now
        if not self.reported and (exited or suspended is not None or self.failures >= 2):
            self.view.tunnel_down(problem, restart_in=restart_in, suspended=suspended)
            self.reported = True
        if restart_in > 0 or now < self.retry_at:
            return
        try:
            url = await _off_loop(self.tunnel.restart)
        except Exception as error:  # EnvironmentProblem: one line naming the cause
            if not self.serving():
                return
            reason = str(error) or type(error).__name__
            if reason != self.refused:  # the same reason again is no news
                self.view.tunnel_restart_failed(reason, self.retry_wait)
                self.refused = reason
            self.retry_at = asyncio.get_running_loop().time() + self.retry_wait
            self.retry_wait = min(self.retry_wait * 2, 300.0)
            return
        if not self.serving() or url is None:
            return
        fresh = url.rstrip("/")
        self.view.tunnel_restarted(
            f"{fresh}{self.url_path}",
            changed=fresh != self.public,
            where=self.where,
            keep_hint=self.keep_hint,
        )
        self.public = fresh
        self._healthy()

    def _healthy(self) -> None:
        self.failures = 0
        self.down_since = None
        self.reported = False
        self.retry_at = 0.0
        self.retry_wait = self.timing.retry
        self.refused = ""


def _awake_clock() -> float:
    """Seconds on a clock that goes on while the computer sleeps: CLOCK_BOOTTIME on Linux,
    else the wall clock (a change of the wall clock only brings a check forward)."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        return time.clock_gettime(boottime)
    return time.time()


async def _off_loop(call: Callable[[], T]) -> T:
    """``call()`` in a daemon thread of its own, awaited without blocking the event loop.

    Not the loop's default executor: at exit, asyncio waits for that executor's
    threads, and a probe of a hung agent (or a restart) must not hold up listen's exit.
    """
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: Exception | None) -> None:
        if done.done():  # the watch was cancelled meanwhile
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(typing.cast("T", value))

    def work() -> None:
        value: T | None = None
        failure: Exception | None = None
        try:
            value = call()
        except Exception as error:
            failure = error
        with contextlib.suppress(RuntimeError):  # the loop has closed: listen is gone
            loop.call_soon_threadsafe(settle, value, failure)

    threading.Thread(target=work, name="muxhook-tunnel-watch", daemon=True).start()
    return await done


def _run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its result on uvloop when it is installed (faster sockets),
    else on asyncio."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    uvloop.install()  # pragma: no cover - Python 3.10
    return asyncio.run(main)  # pragma: no cover


async def _serve(
    settings: ListenSettings,
    log: EventLog,
    view: TerminalView,
    subscribers: list[Subscriber],
    sock: socket.socket,
    ready: Callable[[], None],
    watch: _TunnelWatch | None,
    concurrency: int,
    forward_timeout: float,
    insecure: bool,
    limit: int,
    routes: tuple[Route, ...],
    stop: asyncio.Event | None,
    inspector: InspectorServer | None = None,
    companion: Companion | None = None,
) -> None:
    import asyncio
    import gc

    from muxhook import listener, pipeline
    from muxhook.render import StreamView
    from muxhook.sending import HttpSender

    if inspector is not None:  # started first, so its objects are frozen with the rest
        from muxhook.inspector.subscriber import InspectorSubscriber

        await inspector.start()
        subscribers = [*subscribers, InspectorSubscriber(inspector)]

    # Everything built at start-up lives as long as the listener: keep it out of the cyclic
    # collector's walks, and collect young objects less often under a burst.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)

    async with HttpSender(insecure=insecure, connections=concurrency * 2) as sender:
        flow = pipeline.Pipeline(
            settings, log, sender if routes else None, subscribers, concurrency=concurrency
        )
        server = listener.Listener(flow, max_body=limit)
        for subscriber in subscribers:
            if isinstance(subscriber, StreamView):
                subscriber.batch_flushes()

        watcher = asyncio.create_task(watch.run()) if watch is not None else None
        # Beside the listener (--from mux-api: the event stream), until the listener stops;
        # it sets ``stop`` itself when it cannot go on, and its error is the exit code.
        stop = stop or asyncio.Event()
        beside = asyncio.create_task(companion(flow, stop)) if companion else None
        failure: MuxhookError | None = None
        try:
            await server.serve(sock, on_started=ready, grace=forward_timeout, stop=stop)
        finally:
            if watcher is not None:
                watcher.cancel()
            if beside is not None:
                stop.set()
                try:
                    await beside
                except MuxhookError as error:
                    failure = error
            view.summary(flow.stats)  # serve has drained: every forward is finished or cut off
            if inspector is not None:
                await inspector.stop()
        if failure is not None:
            raise failure


def _listen_inspector(
    log_path: Path,
    port: int | None,
    secrets: dict[str, str],
    forward_secret: str | None,
    *,
    save_dir: Path | None,
    timeout: float,
    insecure: bool,
) -> InspectorServer:
    """listen's inspector, bound on loopback (never the webhook port, never tunnelled);
    started on listen's loop by ``_serve``. The default port gives way to a free one when
    busy; a port asked for does not."""
    from muxhook.inspector import server
    from muxhook.inspector.actions import Actions, secrets_from

    if port is not None and not 0 <= port < 65536:
        raise UsageError(f"--inspect-port {port}: give a port from 0 to 65535")
    sock = server.bind(
        "127.0.0.1",
        server.DEFAULT_PORT if port is None else port,
        fallback=port is None,
        option="--inspect-port",
    )
    actions = Actions(
        log_path,
        secrets_from(secrets, forward_secret),
        timeout=timeout,
        save_dir=save_dir,
        insecure=insecure,
    )
    return server.InspectorServer(log_path, actions, sock, mode="listen")


def inspect(
    out: Output,
    *,
    db: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_: bool = False,
    allow_remote: bool = False,
    timeout: float = 30.0,
    stop: asyncio.Event | None = None,
) -> ExitCode:
    """Serve the web inspector over an event log, without listening."""
    from muxhook.inspector import server
    from muxhook.inspector.actions import Actions, secrets_from_environment

    if port is not None and not 0 <= port < 65536:
        raise UsageError(f"--port {port}: give a port from 0 to 65535")
    if not server.check_host(host, allow_remote=allow_remote):
        out.warn(
            f"the inspector listens on {host}: other machines can read every event in the "
            "log (actions still need the token in the URL)"
        )
    with _open_log(db, read_only=True) as log:  # a missing or foreign file: one line, now
        path = log.path
    sock = server.bind(host, server.DEFAULT_PORT if port is None else port, fallback=port is None)
    actions = Actions(path, secrets_from_environment(), timeout=timeout)
    inspector = server.InspectorServer(path, actions, sock, mode="inspect")

    async def main() -> None:
        import asyncio
        import signal

        stopping = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        if sys.platform != "win32":
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(number, stopping.set)
        await inspector.start()
        out.say(f"muxhook inspect: showing the event log at {path}")
        out.say(f"inspector: {inspector.url} (Ctrl-C to stop)")
        if open_:
            import webbrowser

            await loop.run_in_executor(None, webbrowser.open, inspector.url)
        try:
            await stopping.wait()
        finally:
            await inspector.stop()

    try:
        _run_loop(main())
    finally:
        sock.close()
    out.say("inspector stopped")
    return ExitCode.OK


def _parse_since(text: str | None) -> float | None:
    """``10m``, ``2h``, ``1d``, ``30s``, a unix time, or an ISO date/time → unix seconds."""
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip()
    if value[-1:] in units and value[:-1].replace(".", "", 1).isdigit():
        return time.time() - float(value[:-1]) * units[value[-1]]
    try:
        return float(value)
    except ValueError:
        pass
    import datetime

    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give 10m, 2h, 1d, a unix time or an ISO time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


def _open_log(db: str | None, *, read_only: bool = False) -> Any:
    from muxhook.store import EventLog, default_db_path

    path = Path(db) if db else default_db_path()
    if not path.exists():
        raise UsageError(f"no event log at {path} yet: run 'muxhook listen' first, or pass --db")
    return EventLog(path, read_only=read_only)


def log_list(
    out: Output,
    *,
    type_: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int = 50,
    json_: bool = False,
    db: str | None = None,
) -> ExitCode:
    """List recorded events, newest first."""
    if status not in (None, "ok", "invalid", "failed"):
        raise UsageError(f"--status {status!r}: choose ok, invalid or failed")
    with _open_log(db, read_only=True) as log:
        rows = log.list(type_glob=type_, status=status, since=_parse_since(since), limit=limit)
    if json_:
        from muxhook.records import event_json

        for row in rows:  # JSON lines, like every --json
            out.result(json.dumps(event_json(row), ensure_ascii=False))
    else:
        out.log_rows(rows)
    return ExitCode.OK


def log_show(out: Output, *, event_id: int, json_: bool = False, db: str | None = None) -> ExitCode:
    """Show one recorded event: verdict, headers, attempts and the body."""
    with _open_log(db, read_only=True) as log:
        row = log.get(event_id)
    if row is None:
        raise UsageError(f"no event #{event_id} in the log ('muxhook log list' shows the ids)")
    if json_:
        from muxhook.records import event_json

        out.result(json.dumps(event_json(row, body=True), ensure_ascii=False))
    else:
        out.log_event(row)
    return ExitCode.OK


def _select(log: Any, ids: list[int], failed: bool, since: str | None) -> list[Any]:
    if not ids and not failed and not since:
        raise UsageError("say which events: IDs, --failed or --since (e.g. --since 1h)")
    if ids:
        rows = [log.get(event_id) for event_id in ids]
        missing = [str(i) for i, row in zip(ids, rows, strict=True) if row is None]
        if missing:
            raise UsageError(f"no event #{', #'.join(missing)} in the log")
        return rows
    if failed:
        return list(log.failed(since=_parse_since(since)))
    return sorted(log.list(since=_parse_since(since), limit=None), key=lambda row: row.id)


class _Send(typing.NamedTuple):
    """One recorded event on its way to one URL, or the reason it cannot go."""

    row: StoredEvent
    url: str
    headers: list[tuple[str, str]]
    possibly_delivered: bool  # it may have reached this URL before a crash
    problem: str | None = None  # why it is not sent (what to pass instead)


def log_replay(
    out: Output,
    *,
    ids: list[int] | None = None,
    failed: bool = False,
    since: str | None = None,
    to: str | None = None,
    secret: str | None = None,
    forward_secret: str | None = None,
    timeout: float = 30.0,
    db: str | None = None,
) -> ExitCode:
    """Send recorded events again, the exact bytes, oldest first, where each was going.

    Each event goes to the targets stored with it (its routes, ``-H`` headers, and
    ``--forward-secret`` re-signing); with ``--failed``, to those not delivered yet.
    ``--to`` sends to one URL instead, which changes nothing about where a later
    ``--failed`` sends. One event that cannot be sent (no secret to re-sign with, no
    known target) is said on its line; the rest still go. The exit code is the worst
    outcome: 3 an app unreachable, 2 an event not sent, 1 a non-2xx answer, 0 all 2xx.
    """
    from muxhook.sending import check_url

    if to:
        check_url(to)
    with _open_log(db) as log:
        rows = _select(log, ids or [], failed, since)
        if not rows:
            out.say("nothing to replay")
            return ExitCode.OK
        signer = _Signer(secret, forward_secret, out)
        sends = [send for row in rows for send in _sends(row, to, failed, signer)]
        return _run_loop(_replay_sends(sends, log, timeout, out))


def _sends(row: StoredEvent, to: str | None, failed: bool, signer: _Signer) -> list[_Send]:
    """Where one recorded event goes, with which headers."""
    if to:
        return [_Send(row, to, signer.platform(row), _possibly_delivered(row, None))]
    if row.targets:
        targets = row.undelivered() if failed else list(row.targets)
        return [signer.to_target(row, target) for target in targets]
    if row.attempts:  # recorded by a v1 log: where it went last
        url = row.attempts[-1].target
        return [_Send(row, url, signer.platform(row), False)]
    return [
        _Send(
            row,
            "",
            [],
            _possibly_delivered(row, None),
            "the log does not say where it was going (recorded by an older muxhook, or "
            "never forwarded): pass --to URL",
        )
    ]


def _possibly_delivered(row: StoredEvent, target: Target | None) -> bool:
    """Whether the event was due at ``target`` (any, for None) and no attempt says what
    became of it: after a crash, its forward may have reached the app all the same."""
    if target is not None:
        return target in row.unattempted()
    return bool(row.unattempted()) or (row.delivered is False and not row.attempts)


class _Signer:
    """Signs replayed events: with the platform's secret (found as ``sign`` finds it), or
    re-signed with the forward secret listen used, found again and checked against the
    fingerprint the log kept."""

    def __init__(self, secret: str | None, forward_secret: str | None, out: Output) -> None:
        from muxhook.secrets import resolve_forward_secret

        self.secret = secret
        self.forward = resolve_forward_secret(forward_secret)
        self.out = out
        self._keys: dict[str, str | None] = {}  # provider → its signing secret, if found
        self._matches: dict[tuple[str, str], bool] = {}  # (secret, fingerprint) → a match

    def platform(self, row: StoredEvent) -> list[tuple[str, str]]:
        """The recorded headers, freshly signed with the platform's secret when there is one."""
        from muxhook import providers, signing
        from muxhook.forward import forwardable_headers
        from muxhook.secrets import resolve_secret

        name = row.provider or providers.guess(row.body)
        if name not in self._keys:
            found = resolve_secret(name, self.secret)
            self._keys[name] = None if found is None else found.value
        key = self._keys[name]
        extra: list[tuple[str, str]] = []
        if key:
            fresh = signing.sign(row.body, secret=key, provider=name)
            extra = [(k, v) for k, v in fresh.items() if k.lower() != "content-type"]
        else:
            self.out.warn(
                f"#{row.id}: no {providers.get(name).LABEL} secret, so the original "
                "signature is sent (a Mux timestamp may be too old by now)"
            )
        return forwardable_headers(row.headers, extra)

    def _fingerprint_is(self, secret: str, stored: str) -> bool:
        from muxhook.secrets import fingerprint_matches

        if (secret, stored) not in self._matches:  # PBKDF2: worth doing once per secret
            self._matches[secret, stored] = fingerprint_matches(secret, stored)
        return self._matches[secret, stored]

    def to_target(self, row: StoredEvent, target: Target) -> _Send:
        """The event as listen sent it to ``target``: its ``-H`` headers, re-signed as it was."""
        from muxhook import providers, signing
        from muxhook.forward import forwardable_headers
        from muxhook.secrets import FORWARD_SECRET_ENV, resolve_secret

        possibly = _possibly_delivered(row, target)
        if target.resign is None:
            headers = self.platform(row)
            return _Send(row, target.url, forwardable_headers(headers, target.headers), possibly)
        name = row.provider or providers.guess(row.body)
        if name not in self._keys:
            found = resolve_secret(name, self.secret)
            self._keys[name] = None if found is None else found.value
        # The forward secret, or the platform's own (listen --from mux-api signs forwards with
        # the app's secret): whichever has the fingerprint the log kept.
        candidates = [
            c for c in (self.forward.value if self.forward else None, self._keys[name]) if c
        ]
        stored = target.resign.fingerprint
        key = next((c for c in candidates if self._fingerprint_is(c, stored)), None)
        if key is None:
            problem = (
                f"listen re-signed it with a forward secret (from {target.resign.source}); "
                f"pass --forward-secret or set {FORWARD_SECRET_ENV}"
                if self.forward is None
                else f"the forward secret from {self.forward.source} is not the one listen "
                f"re-signed it with (from {target.resign.source}); pass that one with "
                f"--forward-secret or {FORWARD_SECRET_ENV}"
            )
            return _Send(row, target.url, [], possibly, problem)
        fresh = signing.sign(row.body, secret=key, provider=name)
        extra = [(k, v) for k, v in fresh.items() if k.lower() != "content-type"]
        extra += list(target.headers)
        return _Send(row, target.url, forwardable_headers(row.headers, extra), possibly)


async def _replay_sends(sends: list[_Send], log: EventLog, timeout: float, out: Output) -> ExitCode:
    """Send one after another, oldest first; each attempt is in the log before the next."""
    from muxhook.sending import HttpSender

    worst = ExitCode.OK
    async with HttpSender(connections=1) as sender:
        for send in sends:
            if send.problem is not None:
                out.replay_skipped(send.row, send.url, send.problem, send.possibly_delivered)
                worst = max(worst, ExitCode.USAGE)
                continue
            attempt = await sender.send(send.url, send.row.body, send.headers, timeout=timeout)
            log.add_attempt(send.row.id, attempt)
            out.replay_line(send.row, attempt, possibly_delivered=send.possibly_delivered)
            if attempt.status is None:
                worst = max(worst, ExitCode.UNREACHABLE)
            elif not 200 <= attempt.status < 300:
                worst = max(worst, ExitCode.FAILED)
    return worst


def log_export(
    out: Output,
    *,
    ids: list[int] | None = None,
    since: str | None = None,
    failed: bool = False,
    to_dir: str,
    db: str | None = None,
) -> ExitCode:
    """Write recorded events as fixture files that sign, trigger and replay take."""
    from muxhook import fixtures, providers

    with _open_log(db, read_only=True) as log:
        rows = _select(log, ids or [], failed, since)
    for row in rows:
        path = fixtures.save(
            Path(to_dir),
            provider=row.provider or providers.guess(row.body),
            event_type=row.event_type,
            number=row.id,
            at=row.received_at,
            body=row.body,
        )
        out.result(str(path))
    out.say(f"exported {len(rows)} events to {to_dir}")
    return ExitCode.OK


def log_recover(out: Output, *, db: str | None = None) -> ExitCode:
    """Set a damaged event log aside: its readable events go into a new log at its path."""
    from muxhook.recovery import recover
    from muxhook.store import default_db_path

    path = Path(db) if db else default_db_path()
    done = recover(path)
    if done is None:
        out.say(f"the event log at {path} has no damage SQLite can find; nothing was changed")
        return ExitCode.OK
    out.recovered(done)
    return ExitCode.OK


def _mux_api(out: Output, token_id: str | None, token_secret: str | None, needs: str) -> Any:
    """A System API client whose token is checked (``whoami``) and has ``needs``."""
    from muxhook import muxapi

    credentials = muxapi.resolve_credentials(token_id, token_secret)
    api = muxapi.MuxApi(
        credentials,
        muxapi.base_url(),
        on_wait=lambda seconds, why: out.warn(f"{why}; waiting {seconds:g} s"),
    )
    try:
        whoami = api.whoami()
        if whoami.lacks(needs):
            action = (
                "list webhook endpoints" if needs == muxapi.READ else "change webhook endpoints"
            )
            raise muxapi.api_error(
                403, b"", action=action, credentials=credentials, needs=needs, whoami=whoami
            )
    except BaseException:
        api.close()
        raise
    return api


def endpoints_list(
    out: Output,
    *,
    json_: bool = False,
    token_id: str | None = None,
    token_secret: str | None = None,
) -> ExitCode:
    """The environment's webhook endpoints: id, enabled, address, creation time."""
    from muxhook import muxapi

    with _mux_api(out, token_id, token_secret, muxapi.READ) as api:
        found = api.list_endpoints()
        environment = api.whoami_seen.environment_name if api.whoami_seen else ""
    for endpoint in found:
        if json_:
            fields = endpoint._asdict()
            fields.pop("signing_secret")
            out.result(json.dumps(fields, ensure_ascii=False, separators=(",", ":")))
        else:
            state = "enabled " if endpoint.enabled else "disabled"
            out.result(f"{endpoint.id}  {state}  {endpoint.address}  {endpoint.created_at}")
    if not found:
        where = f" in environment {environment!r}" if environment else ""
        out.say(f"no webhook endpoints{where}")
    return ExitCode.OK


def endpoints_create(
    out: Output,
    *,
    url: str,
    env_file: str = ".env",
    token_id: str | None = None,
    token_secret: str | None = None,
) -> ExitCode:
    """A new endpoint for ``url``; its signing secret goes into ``env_file``, never shown."""
    from muxhook import envfile, muxapi
    from muxhook.secrets import mask
    from muxhook.sending import check_url

    check_url(url, "URL")
    with _mux_api(out, token_id, token_secret, muxapi.WRITE) as api:
        created = api.create_endpoint(url)
    out.result(f"{created.id}  enabled   {created.address}  {created.created_at}")
    if not created.signing_secret:
        out.warn("Mux sent no signing secret for it; nothing was written to " + env_file)
        return ExitCode.OK
    kept = envfile.put_secret(
        Path(env_file),
        "MUX_WEBHOOK_SECRET",
        created.signing_secret,
        endpoint_id=created.id,
        address=created.address,
    )
    previous = " (your previous value is kept there as a comment)" if kept else ""
    out.say(
        f"its signing secret {mask(created.signing_secret)} is in {env_file} as "
        f"MUX_WEBHOOK_SECRET (0600){previous}; Mux shows it only once"
    )
    return ExitCode.OK


def endpoints_update(
    out: Output,
    *,
    endpoint_id: str,
    url: str | None = None,
    enable: bool | None = None,
    token_id: str | None = None,
    token_secret: str | None = None,
) -> ExitCode:
    """Point an endpoint at another URL, or enable or disable it."""
    from muxhook import muxapi
    from muxhook.sending import check_url

    if url is not None:
        check_url(url, "--url")
    if url is None and enable is None:
        raise UsageError("say what to change: --url URL, --enable or --disable")
    with _mux_api(out, token_id, token_secret, muxapi.WRITE) as api:
        updated = api.update_endpoint(endpoint_id, address=url, enabled=enable)
    state = "enabled " if updated.enabled else "disabled"
    out.result(f"{updated.id}  {state}  {updated.address}  {updated.created_at}")
    return ExitCode.OK


def endpoints_delete(
    out: Output,
    *,
    endpoint_id: str,
    env_file: str = ".env",
    token_id: str | None = None,
    token_secret: str | None = None,
) -> ExitCode:
    """Delete an endpoint; a secret muxhook wrote for it leaves ``env_file``."""
    from muxhook import envfile, muxapi

    with _mux_api(out, token_id, token_secret, muxapi.WRITE) as api:
        api.delete_endpoint(endpoint_id)
    out.say(f"deleted Mux endpoint {endpoint_id}: Mux stops sending to it")
    if envfile.take_back(Path(env_file), "MUX_WEBHOOK_SECRET", endpoint_id=endpoint_id):
        out.say(f"its signing secret left {env_file}")
    return ExitCode.OK


def ngrok_install(out: Output, *, path: str | None = None) -> ExitCode:
    """Download the ngrok agent through pyngrok, on the user's explicit request."""
    from muxhook import tunnel

    out.say("downloading the ngrok agent…")
    installed = tunnel.install_ngrok(path)
    out.result(installed)
    out.say("done; muxhook listen finds it there (or pass --ngrok-path)")
    return ExitCode.OK


def replay(
    out: Output,
    *,
    inputs: list[str] | None = None,
    to: str,
    secret: str | None = None,
    provider: str | None = None,
    set_: list[str] | None = None,
    unset: list[str] | None = None,
    timestamp: int | None = None,
    expect: str = "2xx",
    tamper: bool = False,
    duplicates: int = 0,
    concurrency: int = 1,
    timeout: float = 30.0,
    wait_for_app: float = 0.0,
    shard: str | None = None,
    json_: bool = False,
    junit: str | None = None,
    header: list[str] | None = None,
    insecure: bool = False,
    from_log: bool = False,
    type_: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    db: str | None = None,
    fresh_ids: bool = False,
) -> ExitCode:
    """Send fixtures, scenarios or logged events, freshly signed; check what the app answers."""
    from muxhook import providers
    from muxhook import replay as engine
    from muxhook.errors import DeliveryError
    from muxhook.headers import parse_extra_headers
    from muxhook.render import ReplayView
    from muxhook.sending import check_url

    # Everything is checked before anything is sent.
    check_url(to)
    expectation = engine.Expectation.parse(expect)
    if concurrency < 1 or duplicates < 0 or timeout <= 0:
        raise UsageError("--concurrency must be ≥ 1, --duplicates ≥ 0 and --timeout > 0")
    if provider:
        providers.get(provider)
    extra = parse_extra_headers(header or [])
    deliveries: list[engine.Delivery] = []
    if inputs:
        deliveries += engine.plan(
            inputs,
            provider=provider,
            sets=set_ or [],
            unsets=unset or [],
            environ=os.environ,
            fresh_ids=fresh_ids,
        )
    if from_log:
        with _open_log(db, read_only=True) as log:
            rows = log.list(type_glob=type_, status=status, since=_parse_since(since), limit=limit)
        deliveries += engine.from_log(rows)
    elif not inputs:
        raise UsageError(
            "nothing to replay: give fixture files, folders, event names or scenarios, "
            "or --from-log"
        )
    if shard:
        index, _, count = shard.partition("/")
        if not (index.isdigit() and count.isdigit()):
            raise UsageError(f"--shard {shard!r}: write I/N, e.g. --shard 2/4")
        deliveries = engine.shard(deliveries, int(index), int(count))
    secrets = {name: _secret(name, secret) for name in sorted({d.provider for d in deliveries})}
    deliveries = engine.with_duplicates(deliveries, duplicates)
    if tamper:
        now = int(time.time()) if timestamp is None else timestamp
        deliveries = [
            item
            for d in deliveries
            for item in (
                [d, *engine.forgeries(d, secrets[d.provider], now)] if d.kind == "event" else [d]
            )
        ]
    options = engine.ReplayOptions(
        to=to,
        secrets=secrets,
        expect=expectation,
        concurrency=concurrency,
        timeout=timeout,
        timestamp=timestamp,
        extra_headers=extra,
        insecure=insecure,
    )
    report = _report_file(junit, "--junit") if junit else None
    view = ReplayView(
        out,
        total=len(deliveries),
        json_lines=json_,
        github=os.environ.get("GITHUB_ACTIONS") == "true",
    )
    done: list[engine.Result] = []  # as they come: a run cut short still reports them

    def on_result(result: engine.Result) -> None:
        done.append(result)
        view.result(result)

    async def main() -> list[engine.Result]:
        if wait_for_app > 0 and not await engine.wait_for_app(to, wait_for_app):
            raise DeliveryError(
                f"nothing accepted connections at {to} within {wait_for_app:g} s (--wait-for-app)"
            )
        return await engine.run(deliveries, options, on_result=on_result)

    started = time.perf_counter()
    try:
        results = _run_loop(main())
    except BaseException as error:
        # Stopped early (Ctrl-C, --wait-for-app gave up): the report still says what was
        # sent, what was not, and why, as an error case; then the error takes its course.
        answered = {id(result.delivery) for result in done}
        unsent = [d for d in deliveries if id(d) not in answered]
        view.summary(done, seconds=time.perf_counter() - started, unsent=len(unsent))
        if report is not None:
            why = _why_stopped(error, len(done), len(deliveries))
            try:
                report.write(engine.junit_xml(done, aborted=why, unsent=unsent))
            except OSError as problem:
                out.warn(f"--junit {junit}: could not write the report ({problem.strerror})")
        raise
    view.summary(results, seconds=time.perf_counter() - started)
    if report is not None:
        try:
            report.write(engine.junit_xml(results))
        except OSError as problem:
            raise EnvironmentProblem(
                f"--junit {junit}: cannot write it ({problem.strerror})"
            ) from None
    if any(not r.reached for r in results):
        unreachable = next(r for r in results if not r.reached)
        out.error(f"the app did not answer: {unreachable.attempt.error}")
        return ExitCode.UNREACHABLE
    if any(not r.ok for r in results):
        return ExitCode.FAILED
    _check_duplicates(results, out)
    return ExitCode.OK


def _check_duplicates(results: list[Any], out: Output) -> None:
    """With --duplicates: say whether the app answered every copy the same way."""
    by_source: dict[str, set[int | None]] = {}
    for result in results:
        if result.delivery.kind == "event" or result.delivery.kind.startswith("duplicate"):
            by_source.setdefault(result.delivery.source, set()).add(result.attempt.status)
    varied = [source for source, statuses in by_source.items() if len(statuses) > 1]
    if varied:
        out.warn(f"the app answered duplicates differently for: {', '.join(varied[:5])}")


def _report_file(path: str, option: str) -> ReportFile:
    """A ``ReportFile`` at ``path``, checked now: a bad path is bad input before anything
    is sent."""
    from muxhook._files import ReportFile

    try:
        return ReportFile(Path(path))
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot write it ({error.strerror})") from None


def _why_stopped(error: BaseException, sent: int, planned: int) -> str:
    """Why a replay stopped early, for its report."""
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted (Ctrl-C) after {sent} of {planned} deliveries"
    if isinstance(error, MuxhookError):
        return str(error)
    return f"muxhook stopped after {sent} of {planned} deliveries: {type(error).__name__}"


def _usable_folder(folder: Path, option: str) -> None:
    """Create ``folder`` (owner-only) or say in one line why it cannot be used."""
    from muxhook._files import private_folder

    try:
        private_folder(folder)
    except OSError as error:
        raise EnvironmentProblem(f"{option} {folder}: cannot use it ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise EnvironmentProblem(f"{option} {folder}: cannot write in it")
