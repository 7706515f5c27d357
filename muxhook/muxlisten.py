"""What ``listen --from mux-api`` and ``listen --register`` add to ``listen``'s set-up.

Both talk to Mux's System API (``muxhook.muxapi``) with the user's access token, checked
with ``whoami`` before anything starts. ``MuxApiListen`` is built once by ``listen`` and
called at a few fixed points of its set-up; everything else of ``listen`` (the listener,
the log, the pipeline) is unchanged, so the local port keeps taking ``trigger``,
``replay`` and local POSTs beside the stream.

- ``--from mux-api``: no tunnel. The event stream (``muxhook.muxstream``) is read beside
  the listener, and each event goes through ``Pipeline.handle_trusted`` as a ``Trusted`` event:
  recorded first (the bytes as the stream gave them), shown, forwarded in its object's
  turn, signed over the exact bytes sent with the app's secret: ``--forward-secret``,
  else ``--secret``/``MUX_WEBHOOK_SECRET``/``.env``, else a local secret generated once and
  kept ``0600`` in muxhook's data folder (the official Mux CLI does the same).
- ``--register``: the public URL (ngrok or ``--public-url``) plus the path becomes a Mux
  webhook endpoint (created, or reused when muxhook wrote its secret), whose secret goes
  into ``.env`` and verifies what arrives; a tunnel that restarts with a new URL updates
  it; on exit it is deleted (``--keep-endpoint`` keeps it) and ``.env`` is put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets as random_secrets
import typing
from collections.abc import Callable, Coroutine
from pathlib import Path
from urllib.parse import urlsplit

from muxhook.errors import MuxhookError, UsageError

if typing.TYPE_CHECKING:
    from muxhook.commands.listen import ListenOptions
    from muxhook.muxapi import Credentials, Endpoint, MuxApi, Whoami
    from muxhook.muxstream import EventStream
    from muxhook.pipeline import Pipeline
    from muxhook.render import Output
    from muxhook.secrets import ResolvedSecret
    from muxhook.tunnel import Tunnel

__all__ = [
    "SOURCES",
    "STREAM_METHOD",
    "MuxApiListen",
    "generated_secret_file",
    "local_secret_path",
    "read_local_secret",
]

SOURCES = ("tunnel", "mux-api")
#: How a stream event is recorded: not an HTTP method, so ``log`` shows where it came from.
STREAM_METHOD = "SSE"
SECRET_ENV = "MUX_WEBHOOK_SECRET"  # noqa: S105  (a variable name, not a secret)

#: How the files of generated secrets are named: ``stream-secret-<environment id>``.
_LOCAL_SECRET_PREFIX = "stream-secret-"  # noqa: S105 (a file name's start, not a secret)

Companion = Callable[["Pipeline", asyncio.Event], Coroutine[typing.Any, typing.Any, None]]


def local_secret_path(environment_id: str, environ: typing.Mapping[str, str] | None = None) -> Path:
    """Where the generated forward secret of one Mux environment is kept.

    muxhook's data folder (the event log's default folder, whatever ``MUXHOOK_DB`` says).
    """
    from muxhook.store import default_db_path

    env = dict(os.environ if environ is None else environ)
    env.pop("MUXHOOK_DB", None)
    safe = "".join(c for c in environment_id if c.isalnum() or c in "-_") or "default"
    return default_db_path(env).parent / f"{_LOCAL_SECRET_PREFIX}{safe}"


def generated_secret_file(source: str) -> Path | None:
    """The file of a generated secret, when ``source`` (where the event log says listen's
    forward secret came from) is one: ``app_secret`` gives its path as the source."""
    path = Path(source)
    return path if path.name.startswith(_LOCAL_SECRET_PREFIX) else None


def read_local_secret(path: Path) -> str | None:
    """The secret kept at ``path``; None when the file is missing or empty. Raises
    ``OSError`` or ``UnicodeDecodeError`` when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


@dataclasses.dataclass(eq=False)
class MuxApiListen:
    """The Mux API side of one ``listen`` run; see the module docstring."""

    out: Output
    api: MuxApi
    credentials: Credentials
    whoami: Whoami
    _: dataclasses.KW_ONLY
    streaming: bool
    register: bool
    keep_endpoint: bool
    env_file: Path
    silence: float
    base: str
    endpoint: Endpoint | None = dataclasses.field(default=None, init=False)
    url_path: str = dataclasses.field(default="", init=False)
    _wrote_env: bool = dataclasses.field(default=False, init=False)

    # -- 1. before anything starts --------------------------------------------

    @classmethod
    def prepare(cls, out: Output, options: ListenOptions) -> MuxApiListen | None:
        """Check the options and the token (``whoami``); None when neither is asked for."""
        source, register, keep_endpoint = options.source, options.register, options.keep_endpoint
        if source not in SOURCES:
            raise UsageError(f"--from {source!r}: choose {' or '.join(SOURCES)}")
        streaming = source == "mux-api"
        if not streaming and not register:
            if keep_endpoint:
                raise UsageError("--keep-endpoint goes with --register")
            return None
        if options.provider not in (None, "mux"):
            what = "--from mux-api" if streaming else "--register"
            raise UsageError(f"{what} is for Mux events: drop --provider {options.provider}")
        if streaming:
            tunnel_asked = options.public_url or options.domain or options.tunnel == "ngrok"
            if register or tunnel_asked:
                raise UsageError(
                    "--from mux-api needs no tunnel and no endpoint: drop --register, "
                    "--public-url, --domain and --tunnel ngrok (or drop --from mux-api)"
                )
            if not options.stream_silence > 0:
                raise UsageError("--stream-silence must be > 0 seconds")
        elif options.no_tunnel or options.tunnel == "none":
            raise UsageError(
                "--register needs a public URL for Mux to send to: ngrok (with an authtoken) "
                "or --public-url URL; drop --no-tunnel"
            )
        if keep_endpoint and not register:
            raise UsageError("--keep-endpoint goes with --register")
        from muxhook import muxapi

        credentials = muxapi.resolve_credentials(options.token_id, options.token_secret)
        base = muxapi.base_url()
        api = muxapi.MuxApi(
            credentials, base, on_wait=lambda s, why: out.warn(f"{why}; waiting {s:g} s")
        )
        try:
            whoami = api.whoami()
            if register and whoami.lacks(muxapi.WRITE):
                raise muxapi.api_error(
                    403,
                    b"",
                    action="create a webhook endpoint (--register)",
                    credentials=credentials,
                    needs=muxapi.WRITE,
                    whoami=whoami,
                )
        except BaseException:
            api.close()
            raise
        where = f" · environment {whoami.environment_name!r}" if whoami.environment_name else ""
        org = f" of {whoami.organization_name!r}" if whoami.organization_name else ""
        host = "" if base == muxapi.DEFAULT_BASE_URL else f" at {base}"
        name = f"{whoami.token_name!r} " if whoami.token_name else ""
        token = f"{name}({credentials.masked}, from {credentials.source})"
        out.say(f"  Mux API{host}: token {token}{where}{org}")
        return cls(
            out,
            api,
            credentials,
            whoami,
            streaming=streaming,
            register=register,
            keep_endpoint=keep_endpoint,
            env_file=Path(options.env_file),
            silence=options.stream_silence,
            base=base,
        )

    def app_secret(self, secret: str | None, forward_secret: str | None) -> ResolvedSecret:
        """``--from mux-api``: the secret the app verifies with, said once; generated if none.

        It signs every forward and verifies local POSTs (``trigger``, ``replay``).
        """
        from muxhook.secrets import ResolvedSecret, mask, resolve_secret

        if forward_secret:
            self.out.say(f"  signing forwards with --forward-secret {mask(forward_secret)}")
            return ResolvedSecret(forward_secret, "--forward-secret")
        found = resolve_secret("mux", secret)
        if found is not None:
            self.out.say(
                f"  signing forwards with your app's secret {mask(found.value)} from {found.source}"
            )
            return found
        path = local_secret_path(self.whoami.environment_id)
        value, created = _load_or_create_secret(path)
        if created:
            self.out.say(f"  generated a signing secret for your app: {path} (0600)")
            self.out.say(
                f'  give it to your app once: echo "{SECRET_ENV}=$(cat {path})" >> .env '
                "(then restart your app)"
            )
        else:
            self.out.say(f"  signing forwards with the local secret {mask(value)} from {path}")
        return ResolvedSecret(value, str(path))

    def tunnel_line(self) -> None:
        """``--from mux-api``: say why no tunnel starts."""
        self.out.say(
            "  no tunnel: events come from the Mux API's event stream (events sent while "
            "muxhook is not connected are not replayed by the stream)"
        )

    # -- 2. once the tunnel is up (--register) --------------------------------

    def register_endpoint(self, public: str | None, url_path: str) -> str:
        """Create or reuse the endpoint for ``public + url_path``; its secret, for verifying."""
        from muxhook import envfile
        from muxhook.secrets import mask, read_dotenv

        if not public:
            raise UsageError(
                "--register needs a public URL for Mux to send to: ngrok (with an authtoken) "
                "or --public-url URL"
            )
        self.url_path = url_path
        address = public.rstrip("/") + url_path
        existing = [e for e in self.api.list_endpoints() if e.address == address]
        known = read_dotenv(self.env_file).get(SECRET_ENV)
        ours = envfile.written_for(self.env_file, SECRET_ENV)
        for endpoint in existing:
            if endpoint.id == ours and known:
                if not endpoint.enabled:
                    endpoint = self.api.update_endpoint(endpoint.id, enabled=True)
                self.endpoint = endpoint
                self.out.say(
                    f"  reusing Mux endpoint {endpoint.id} → {address}; verifying with its "
                    f"secret {mask(known)} from {self.env_file}"
                )
                return known
        for endpoint in existing:  # pointing here, but its secret is nowhere: replace it
            self.api.delete_endpoint(endpoint.id)
            self.out.say(
                f"  replaced Mux endpoint {endpoint.id}: its signing secret was not in "
                f"{self.env_file}"
            )
        created = self.api.create_endpoint(address)
        self.endpoint = created
        if not created.signing_secret:
            raise MuxhookError(
                f"Mux created endpoint {created.id} but sent no signing secret; delete it "
                f"with: muxhook endpoints delete {created.id}"
            )
        kept = envfile.put_secret(
            self.env_file,
            SECRET_ENV,
            created.signing_secret,
            endpoint_id=created.id,
            address=address,
        )
        self._wrote_env = True
        self.out.say(f"  registered Mux endpoint {created.id} → {address}")
        previous = "; your previous value is kept there as a comment" if kept else ""
        self.out.say(
            f"  its signing secret {mask(created.signing_secret)} is in {self.env_file} as "
            f"{SECRET_ENV} (0600){previous}; restart your app to pick it up"
        )
        return created.signing_secret

    def ready_line(self) -> str | None:
        """What replaces "paste it into Mux: …" once the endpoint is registered."""
        if self.endpoint is None:
            return None
        return f"  Mux sends to it already (endpoint {self.endpoint.id}): nothing to paste"

    # -- 3. beside the listener ------------------------------------------------

    def companion(self, chosen: Tunnel | None, local_port: int, grace: float) -> Companion | None:
        """What runs beside the listener: the stream, or the endpoint kept current."""
        if self.streaming:
            return self._stream_companion(grace)
        if self.register and chosen is not None:
            return self._endpoint_companion(chosen, local_port)
        return None

    def _stream_companion(self, grace: float) -> Companion:
        from muxhook.muxapi import STREAM_PATH
        from muxhook.muxstream import EventStream, StreamEvent
        from muxhook.pipeline import Trusted
        from muxhook.records import Incoming

        stream = EventStream(self.credentials, self.base, silence=self.silence, whoami=self.whoami)
        remote = urlsplit(self.base).netloc
        headers = [("content-type", "application/json")]
        watcher = _StreamLines(self.out)

        async def run(flow: Pipeline, stop: asyncio.Event) -> None:
            in_hand: set[asyncio.Task[object]] = set()

            def on_event(event: StreamEvent) -> None:
                incoming = Incoming(
                    event.received_at, STREAM_METHOD, STREAM_PATH, headers, event.body, remote
                )
                trusted = Trusted("mux", event.problem, event.repeat)
                # One task per event, made in stream order: records are queued in that order
                # and forwards reach their object's turn in it, as with HTTP requests.
                task: asyncio.Task[object] = asyncio.create_task(
                    flow.handle_trusted(incoming, trusted)
                )
                in_hand.add(task)
                task.add_done_callback(in_hand.discard)

            await _until_stopped(stream, on_event, watcher, stop, in_hand, grace)

        return run

    def _endpoint_companion(self, chosen: Tunnel, local_port: int) -> Companion:
        async def run(flow: Pipeline, stop: asyncio.Event) -> None:
            loop = asyncio.get_running_loop()
            wait = 2.0
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                if stop.is_set() or chosen.alive():
                    wait = 2.0
                    continue
                self.out.warn("the tunnel agent stopped; starting it again")
                try:
                    await loop.run_in_executor(None, chosen.stop)
                    public = await loop.run_in_executor(None, chosen.start, local_port)
                    if public:
                        await self._point_endpoint_at(public.rstrip("/") + self.url_path)
                    wait = 2.0
                except MuxhookError as error:
                    wait = min(wait * 2, 30.0)
                    self.out.warn(
                        f"could not bring the tunnel back ({error}); trying again in {wait:g} s"
                    )

        return run

    async def _point_endpoint_at(self, address: str) -> None:
        """The tunnel came back with another URL: the endpoint follows it."""
        endpoint = self.endpoint
        if endpoint is None or address == endpoint.address:
            return
        loop = asyncio.get_running_loop()
        self.endpoint = await loop.run_in_executor(
            None, lambda: self.api.update_endpoint(endpoint.id, address=address)
        )
        self.out.say(
            f"  the tunnel's URL changed: Mux endpoint {endpoint.id} now points at {address}"
        )

    # -- 4. on the way out ----------------------------------------------------

    def close(self) -> None:
        """Delete the endpoint (unless --keep-endpoint) and put ``.env`` back; never raises."""
        from muxhook import envfile

        endpoint, self.endpoint = self.endpoint, None
        try:
            if endpoint is None:
                return
            if self.keep_endpoint:
                self.out.say(
                    f"kept Mux endpoint {endpoint.id} → {endpoint.address} (--keep-endpoint); "
                    f"delete it with: muxhook endpoints delete {endpoint.id}"
                )
                return
            try:
                self.api.delete_endpoint(endpoint.id)
            except MuxhookError as error:
                self.out.warn(
                    f"could not delete Mux endpoint {endpoint.id} ({error}); Mux keeps sending "
                    f"to {endpoint.address}: run muxhook endpoints delete {endpoint.id}"
                )
                return
            self.out.say(
                f"deleted Mux endpoint {endpoint.id}: Mux stops sending to {endpoint.address}"
            )
            if self._wrote_env:
                try:
                    envfile.take_back(self.env_file, SECRET_ENV, endpoint_id=endpoint.id)
                except MuxhookError as error:
                    self.out.warn(str(error))
        finally:
            self.api.close()


class _StreamLines:
    """The stream's connection news as lines on stderr."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def opened(self, *, first: bool, gap: float | None) -> None:
        if first and gap is None:
            self.out.say("connected to the Mux event stream")
        elif first:
            self.out.say(f"connected to the Mux event stream after {gap:.1f} s of retries")
        else:
            self.out.say(
                f"reconnected to the Mux event stream: events could not arrive for "
                f"{gap or 0:.1f} s (the stream does not resend what Mux sent meanwhile)"
            )

    def dropped(self, reason: str, retry_in: float) -> None:
        self.out.warn(f"the Mux event stream dropped ({reason}); reconnecting in {retry_in:g} s")

    def retrying(self, reason: str, retry_in: float) -> None:
        self.out.warn(f"could not open the Mux event stream ({reason}); retrying in {retry_in:g} s")


async def _until_stopped(
    stream: EventStream,
    on_event: Callable[..., None],
    watcher: _StreamLines,
    stop: asyncio.Event,
    in_hand: set[asyncio.Task[object]],
    grace: float,
) -> None:
    """Read the stream until ``stop``; then give the events in hand ``grace`` seconds.

    A refused token ends the stream: ``stop`` is set (the listener stops too) and its
    error is raised, to become the exit code.
    """
    reader = asyncio.create_task(stream.run(on_event, watcher))
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        reader.cancel()
        await asyncio.wait({reader})  # its end, whatever it was: never raises here
    failure = None if reader.cancelled() else reader.exception()
    if failure is not None:
        stop.set()
    if in_hand:
        # Each is recorded at its first step; these waits let forwards finish. One cut off
        # is in the log, counted failed until 'log replay --failed' delivers it.
        _, still = await asyncio.wait(set(in_hand), timeout=grace)
        for task in still:
            task.cancel()
    if failure is not None:
        raise failure


def _load_or_create_secret(path: Path, *, again: bool = True) -> tuple[str, bool]:
    """The secret kept at ``path``, or a new one (16 random bytes as hex, like the official
    Mux CLI's) written there ``0600`` in a ``0700`` folder; and whether it was made now."""
    from muxhook._files import private_folder
    from muxhook.errors import EnvironmentProblem

    try:
        text = read_local_secret(path) or ""
    except (OSError, UnicodeDecodeError) as error:
        raise EnvironmentProblem(
            f"cannot read the local signing secret at {path}: {error}; remove it or pass "
            "--forward-secret"
        ) from None
    if text:
        return text, False
    value = random_secrets.token_hex(16)
    try:
        private_folder(path.parent)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(value + "\n")
    except FileExistsError:
        if again:  # made meanwhile by another muxhook: use that one
            return _load_or_create_secret(path, again=False)
        raise EnvironmentProblem(
            f"the local signing secret at {path} is empty; remove it or pass --forward-secret"
        ) from None
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot keep a signing secret at {path}: {error.strerror or error}; pass "
            "--forward-secret or set MUX_WEBHOOK_SECRET"
        ) from None
    return value, True
