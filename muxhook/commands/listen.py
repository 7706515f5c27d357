"""``muxhook listen``'s set-up: the log, the secrets, the tunnel, the pipeline and its
subscribers, the inspector; then serve until stopped, and say what is left."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from muxhook.commands.common import check_port, run_loop, usable_folder
from muxhook.errors import EnvironmentProblem, ExitCode, MuxhookError, UsageError
from muxhook.options import (
    Db,
    EnvFile,
    ForwardSecret,
    Headers,
    ProviderName,
    Secret,
    TokenId,
    TokenSecret,
    Tolerance,
    option,
)
from muxhook.providers.mux import PROVIDER as MUX

if typing.TYPE_CHECKING:
    import asyncio
    import socket

    from muxhook.forward import Route
    from muxhook.inspector.server import InspectorServer
    from muxhook.muxlisten import Companion, MuxApiListen
    from muxhook.pipeline import ListenSettings
    from muxhook.render import Output, TerminalView
    from muxhook.secrets import ResolvedSecret
    from muxhook.store import EventLog
    from muxhook.subscribers import Subscriber
    from muxhook.tunnel import Tunnel, WatchTiming

T = TypeVar("T")

__all__ = ["ListenOptions", "listen"]


@dataclasses.dataclass(frozen=True)
class ListenOptions:
    """``muxhook listen``'s options."""

    forward_to: Annotated[
        tuple[str, ...],
        option(
            "--forward-to",
            "-f",
            metavar="[GLOB=]URL",
            help="Your app's webhook URL; repeatable. 'video.live_stream.*=URL' routes by "
            "type: an event goes to the first route that matches, plain URLs take the rest; "
            "'GLOB=URL,URL' sends to both.",
            show_default=False,
        ),
    ] = ()
    host: Annotated[str, option("--host", help="Address to listen on.")] = "127.0.0.1"
    port: Annotated[int, option("--port", "-p", help="Port to listen on (0: any free).")] = 8700
    path: Annotated[
        str | None,
        option(
            "--path",
            help="Path printed in the URL (default /webhooks/<provider>); POST is "
            "accepted on any path.",
            show_default=False,
        ),
    ] = None
    provider: ProviderName = None
    secret: Secret = None
    tolerance: Tolerance = 300.0
    forward_invalid: Annotated[
        bool, option("--forward-invalid", help="Forward events whose signature fails too.")
    ] = False
    forward_secret: ForwardSecret = None
    header: Headers = ()
    insecure: Annotated[
        bool, option("--insecure", help="Accept your app's self-signed certificate.")
    ] = False
    ack: Annotated[
        Literal["app", "immediate"],
        option(
            "--ack",
            help="app: answer with your app's status (as production would see it); "
            "immediate: answer 200 once recorded, deliver in the background with retries.",
        ),
    ] = "app"
    retries: Annotated[
        int, option("--retries", help="With --ack immediate: retries, backing off 1, 2, 4 s…")
    ] = 5
    concurrency: Annotated[
        int,
        option("--concurrency", help="Forwards at once; events about one object stay in order."),
    ] = 8
    forward_timeout: Annotated[
        float, option("--forward-timeout", help="Seconds to wait for your app.")
    ] = 30.0
    max_body: Annotated[
        str, option("--max-body", help="Largest body accepted (bytes, or 512k, 4M); over: 413.")
    ] = "1M"
    events: Annotated[
        str | None,
        option(
            "--events",
            help="Show and forward only these types: 'video.asset.*,video.upload.*' "
            "(the rest is still recorded).",
            show_default=False,
        ),
    ] = None
    verbose: Annotated[bool, option("--verbose", "-v", help="Show headers and body.")] = False
    json_: Annotated[
        bool, option("--json", help="One JSON object per event on stdout; the rest on stderr.")
    ] = False
    db: Db = None
    save: Annotated[
        str | None,
        option(
            "--save",
            metavar="DIR",
            help="Write each event whose signature is valid as a fixture file (replayable).",
            show_default=False,
        ),
    ] = None
    save_all: Annotated[
        bool,
        option(
            "--save-all",
            help="With --save: every request, those not valid marked (.invalid, .unverified, "
            ".body), which replay does not read.",
        ),
    ] = False
    tunnel: Annotated[
        Literal["auto", "ngrok", "none"],
        option("--tunnel", help="auto: ngrok when an authtoken is configured; ngrok; none."),
    ] = "auto"
    public_url: Annotated[
        str | None,
        option(
            "--public-url",
            help="Your own tunnel's URL (cloudflared, Tailscale…): nothing is started.",
            show_default=False,
        ),
    ] = None
    no_tunnel: Annotated[bool, option("--no-tunnel", help="Local only.")] = False
    domain: Annotated[
        str | None, option("--domain", help="Your reserved ngrok domain.", show_default=False)
    ] = None
    ngrok_path: Annotated[
        str | None, option("--ngrok-path", help="The ngrok agent to run.", show_default=False)
    ] = None
    inspect_port: Annotated[
        int | None,
        option(
            "--inspect-port",
            help="The web inspector's loopback port (default 8701, or a free one when it is "
            "busy; 0: any free).",
            show_default=False,
        ),
    ] = None
    no_inspect: Annotated[bool, option("--no-inspect", help="Do not serve the web inspector.")] = (
        False
    )
    source: Annotated[
        Literal["tunnel", "mux-api"],
        option(
            "--from",
            help="tunnel: webhooks POSTed to muxhook; mux-api: read Mux events from the Mux "
            "API's event stream (needs MUX_TOKEN_ID/MUX_TOKEN_SECRET; no tunnel).",
        ),
    ] = "tunnel"
    register: Annotated[
        bool,
        option(
            "--register",
            help="Create (or reuse) the Mux webhook endpoint for the public URL, put its "
            "secret in .env, delete it on exit.",
        ),
    ] = False
    keep_endpoint: Annotated[
        bool, option("--keep-endpoint", help="With --register: keep the endpoint on exit.")
    ] = False
    token_id: TokenId = None
    token_secret: TokenSecret = None
    env_file: EnvFile = ".env"
    stream_silence: Annotated[
        float,
        option(
            "--stream-silence",
            help="With --from mux-api: seconds without a byte (heartbeats included) after "
            "which the stream counts as dropped.",
        ),
    ] = 90.0


def listen(out: Output, options: ListenOptions, *, stop: asyncio.Event | None = None) -> ExitCode:
    """Receive webhooks through a tunnel, or from the Mux API's event stream: record, verify, show
    and forward each one."""
    from muxhook import listener, pipeline, providers
    from muxhook.forward import parse_routes
    from muxhook.headers import parse_extra_headers
    from muxhook.render import JsonLines, TerminalView
    from muxhook.store import EventLog, default_db_path

    if options.provider:
        providers.get(options.provider)
    if options.concurrency < 1 or options.retries < 0 or options.forward_timeout <= 0:
        raise UsageError("--concurrency must be ≥ 1, --retries ≥ 0 and --forward-timeout > 0")
    check_port(options.port, "--port")
    check_port(options.inspect_port, "--inspect-port")
    routes = parse_routes(options.forward_to)
    extra = parse_extra_headers(list(options.header))
    limit = _parse_size(options.max_body)
    url_path = options.path or f"/webhooks/{options.provider or providers.DEFAULT}"
    if not url_path.startswith("/"):
        url_path = "/" + url_path

    out.say("muxhook listen")
    if options.host not in ("127.0.0.1", "localhost", "::1"):
        out.warn(f"listening on {options.host}: other machines on your network can post to muxhook")
    mux = _mux_api_listen(out, options)  # --from mux-api, --register: None without them
    if mux is not None and mux.streaming:
        resign: ResolvedSecret | None = mux.app_secret(options.secret, options.forward_secret)
        assert resign is not None
        secrets = {MUX.NAME: resign.value}
    else:
        # With --register, the endpoint's secret comes once it is registered.
        secrets = {} if mux is not None else _listen_secrets(options.provider, options.secret, out)
        resign = _forward_secret(options.forward_secret, out)
    log_path = Path(options.db) if options.db else default_db_path()
    try:
        log = EventLog(log_path)
    except BaseException:
        if mux is not None:
            mux.close()
        raise
    out.say(f"  recording every request to {log_path}")
    if routes:
        _say_routes(routes, options.ack, options.retries, out)
    else:
        out.say("  not forwarding (no --forward-to): events are recorded and shown")
    try:
        sock = listener.bind(options.host, options.port)
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
        chosen = _choose_tunnel(
            options.tunnel,
            options.public_url,
            options.no_tunnel,
            options.domain,
            options.ngrok_path,
            out,
        )
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
    if options.save:
        usable_folder(Path(options.save), "--save")
    try:
        inspector = None
        if not options.no_inspect:
            inspector = _listen_inspector(
                log_path,
                options.inspect_port,
                secrets,
                options.forward_secret,
                save_dir=Path(options.save) if options.save else None,
                timeout=options.forward_timeout,
                insecure=options.insecure,
            )
    except BaseException:
        if chosen is not None:
            chosen.stop()
        sock.close()
        log.close()
        raise
    settings = pipeline.ListenSettings(
        secrets=secrets,
        provider=options.provider,
        tolerance=options.tolerance,
        routes=routes,
        forward_invalid=options.forward_invalid,
        forward_secret=resign.value if resign else None,
        forward_secret_source=resign.source if resign else "--forward-secret",
        extra_headers=extra,
        ack=options.ack,
        retries=options.retries,
        forward_timeout=options.forward_timeout,
        shown_events=tuple(g.strip() for g in (options.events or "").split(",") if g.strip()),
    )
    view = TerminalView(out, lines=not options.json_, verbose=options.verbose)
    subscribers: list[Subscriber] = [view]
    if options.json_:
        subscribers.append(JsonLines(out))
    if options.save:
        subscribers.append(pipeline.FixtureSaver(Path(options.save), everything=options.save_all))
    shown_host = options.host if ":" not in options.host else f"[{options.host}]"
    local = f"http://{shown_host}:{local_port}{url_path}"
    platform = providers.get(options.provider or providers.DEFAULT)
    where = f"{platform.LABEL}: {platform.DASHBOARD}"

    def ready() -> None:
        if public:
            out.say(f"  public URL: {public.rstrip('/')}{url_path}")
            registered = mux.ready_line() if mux is not None else None
            out.say(registered or f"  paste it into {where}")
        out.say(f"Ready: listening on {local} (Ctrl-C to stop)")
        if inspector is not None:
            from muxhook.inspector.server import DEFAULT_PORT

            wanted = DEFAULT_PORT if options.inspect_port is None else options.inspect_port
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
            keep_hint="" if options.domain else " (--domain keeps one URL across restarts)",
            # serve() closes the listening socket first thing when listen stops: from then
            # on the tunnel only has to last until the answers in hand have gone out.
            serving=lambda: sock.fileno() != -1,
        )

    companion = (
        mux.companion(chosen, local_port, options.forward_timeout) if mux is not None else None
    )

    try:
        run_loop(
            _serve(
                settings,
                log,
                view,
                subscribers,
                sock,
                ready,
                watch if mux is None or not mux.register else None,  # it restarts the tunnel
                options.concurrency,
                options.forward_timeout,
                options.insecure,
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


def _say_routes(routes: tuple[Route, ...], ack: str, retries: int, out: Output) -> None:
    """Where events go, one line per target: an event goes to the targets of the first
    pattern its type matches, else to the plain URLs (``forward.choose_routes``)."""
    patterned = any(route.pattern for route in routes)
    for route in routes:
        if route.pattern:
            only = f" (events {route.pattern})"
        else:
            only = " (every other event)" if patterned else ""
        out.say(f"  forwarding to {route.url}{only}")
    if patterned and all(route.pattern for route in routes):
        out.say("  events no pattern matches are recorded, not forwarded")
    if ack == "immediate":
        out.say(
            "  the platform gets 200 once an event is recorded (--ack immediate); your app "
            f"gets it in the background, retried up to {retries} times"
        )
    from urllib.parse import urlsplit

    apps = {urlsplit(route.url).netloc: route.url for route in reversed(routes)}
    for url in reversed(apps.values()):  # one check per app, not per path on it
        _check_app(url, ack, out)


def _check_app(url: str, ack: str, out: Output) -> None:
    """Say at start when the app is not listening yet: what the platform gets meanwhile."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=0.5):
            return
    except OSError:
        meanwhile = (
            "events are recorded and answered 200, and delivery is retried in the background"
            if ack == "immediate"
            else "events are recorded and answered 502 until it is up"
        )
        out.warn(
            f"nothing answers at {parts.hostname}:{port} yet (is your app running on port "
            f"{port}?); {meanwhile}; 'muxhook log replay --failed' delivers what is left"
        )


def _mux_api_listen(out: Output, options: ListenOptions) -> MuxApiListen | None:
    """``--from mux-api`` / ``--register`` checked, with the token, or None without them."""
    if options.source == "tunnel" and not options.register and not options.keep_endpoint:
        return None  # the common case imports nothing more
    from muxhook.muxlisten import MuxApiListen

    return MuxApiListen.prepare(out, options)


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
            f"  local only: ngrok has no authtoken configured: {tunnel.authtoken_advice(agent)}; "
            "or pass --public-url URL if you run your own tunnel"
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

    from muxhook import listener, pipeline
    from muxhook.render import StreamView
    from muxhook.sending import HttpSender

    if inspector is not None:  # started first: Listener.serve freezes what start-up built
        from muxhook.inspector.subscriber import InspectorSubscriber

        await inspector.start()
        subscribers = [*subscribers, InspectorSubscriber(inspector)]

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
            await server.serve(
                sock,
                on_started=ready,
                grace=forward_timeout,
                stop=stop,
                on_signal=view.interrupted,
            )
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
