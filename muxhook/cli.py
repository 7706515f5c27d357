"""The Typer app: options and help texts only; every command runs in ``muxhook.commands``."""

from __future__ import annotations

import sys
import typing
from typing import Annotated

import typer

from muxhook import __version__, commands, providers
from muxhook.errors import ExitCode

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="muxhook",
    help="Sign, verify, trigger, listen to and replay video-platform webhooks "
    "(Mux, FastPix, Millicast, Cloudflare Stream), offline.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: no boxes, and flags without a "<bool>" type
    pretty_exceptions_show_locals=False,  # a secret must never reach a traceback
    context_settings={"help_option_names": ["-h", "--help"]},
)

PROVIDERS = ", ".join(providers.NAMES)


def _complete_event(incomplete: str) -> list[str]:
    from muxhook import catalog

    names = [catalog.qualified(p, e.name) for p, e in catalog.iter_events()]
    return [name for name in names if name.startswith(incomplete)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"muxhook {__version__}")
        raise typer.Exit()


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


EventArg = Annotated[
    str,
    typer.Argument(
        metavar="EVENT_OR_FILE",
        help="An event name (video.asset.ready, fastpix:video.media.ready), a fixture file, "
        "or - for stdin.",
        autocompletion=_complete_event,
        show_default=False,
    ),
]
SecretOpt = Annotated[
    str | None,
    typer.Option(
        "--secret",
        help="Signing secret (default: the provider's *_WEBHOOK_SECRET variable, then .env).",
        show_default=False,
    ),
]
ProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--provider", help=f"Provider: one of {PROVIDERS} (default: detected).", show_default=False
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=JSON",
        help="Override a field: --set data.duration=12.5, --set data.tracks.0.max_width=1920 "
        "(a value that is not JSON is a string).",
        show_default=False,
    ),
]
UnsetOpt = Annotated[
    list[str] | None,
    typer.Option("--unset", metavar="PATH", help="Remove a field.", show_default=False),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="The event log (default: your data directory, or MUXHOOK_DB).",
        show_default=False,
    ),
]
ForwardSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--forward-secret",
        help="Re-sign forwarded events with this secret (default: MUXHOOK_FORWARD_SECRET, "
        "then .env).",
        show_default=False,
    ),
]
FreshIdsOpt = Annotated[
    bool,
    typer.Option(
        "--fresh-ids",
        help="Give the event a new event id and object id (default: the fixture's, "
        "for a deterministic run).",
    ),
]
HeaderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--header", "-H", metavar="'NAME: VALUE'", help="A request header.", show_default=False
    ),
]

TokenIdOpt = Annotated[
    str | None,
    typer.Option(
        "--token-id",
        help="Mux API access token id (default: MUX_TOKEN_ID, then .env).",
        show_default=False,
    ),
]
TokenSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--token-secret",
        help="Mux API access token secret (default: MUX_TOKEN_SECRET, then .env).",
        show_default=False,
    ),
]
EnvFileOpt = Annotated[
    str,
    typer.Option(
        "--env-file", help="Where an endpoint's signing secret is written (MUX_WEBHOOK_SECRET)."
    ),
]


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Sign, verify, trigger, listen to and replay video-platform webhooks, offline."""


@app.command()
def sign(
    event: EventArg,
    secret: SecretOpt = None,
    provider: ProviderOpt = None,
    timestamp: Annotated[
        int | None,
        typer.Option(
            "--timestamp", help="Unix seconds to sign at (default: now).", show_default=False
        ),
    ] = None,
    set_: SetOpt = None,
    unset: UnsetOpt = None,
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="What to print: header, json, curl or httpie (here -f is --format; in listen "
            "it is --forward-to).",
        ),
    ] = "header",
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="URL for the curl and httpie formats (default: http://localhost:3000/webhooks/<provider>).",
            show_default=False,
        ),
    ] = None,
    fresh_ids: FreshIdsOpt = False,
) -> None:
    """Sign a fixture and print the headers, JSON, or a curl/HTTPie command."""
    _exit(
        commands.run(
            commands.sign,
            event=event,
            secret=secret,
            provider=provider,
            timestamp=timestamp,
            set_=set_,
            unset=unset,
            format_=format_,
            to=to,
            fresh_ids=fresh_ids,
        )
    )


@app.command()
def verify(
    body_file: Annotated[
        str,
        typer.Argument(metavar="BODY_FILE", help="The raw body; - or none: stdin."),
    ] = "-",
    header: HeaderOpt = None,
    headers_file: Annotated[
        str | None,
        typer.Option("--headers-file", help="A file of 'Name: value' lines.", show_default=False),
    ] = None,
    secret: SecretOpt = None,
    provider: ProviderOpt = None,
    now: Annotated[
        float | None,
        typer.Option(
            "--now", help="Check as if it were this unix time (default: now).", show_default=False
        ),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Oldest accepted Mux timestamp, in seconds.")
    ] = 300.0,
    max_future: Annotated[
        float,
        typer.Option(
            "--max-future", help="Furthest accepted Mux timestamp ahead of now (clock skew)."
        ),
    ] = 300.0,
    json_: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a body against its signature header; say what is wrong when it fails."""
    _exit(
        commands.run(
            commands.verify,
            body_file=body_file,
            header=header,
            headers_file=headers_file,
            secret=secret,
            provider=provider,
            now=now,
            tolerance=tolerance,
            max_future=max_future,
            json_=json_,
        )
    )


@app.command()
def trigger(
    event: EventArg,
    to: Annotated[
        str, typer.Option("--to", help="The URL of your webhook endpoint.", show_default=False)
    ],
    secret: SecretOpt = None,
    provider: ProviderOpt = None,
    set_: SetOpt = None,
    unset: UnsetOpt = None,
    header: HeaderOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the answer.")
    ] = 10.0,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Accept a self-signed TLS certificate.")
    ] = False,
    keep_ids: Annotated[
        bool,
        typer.Option(
            "--keep-ids",
            help="Send the fixture's event id and object id (default: fresh ones each time, "
            "so an app that ignores duplicates takes every trigger).",
        ),
    ] = False,
) -> None:
    """Sign a fixture now and POST it to your app; fail unless it answers 2xx."""
    _exit(
        commands.run(
            commands.trigger,
            event=event,
            to=to,
            secret=secret,
            provider=provider,
            set_=set_,
            unset=unset,
            header=header,
            timeout=timeout,
            insecure=insecure,
            keep_ids=keep_ids,
        )
    )


@app.command()
def events(
    pattern: Annotated[
        str | None,
        typer.Argument(help="A glob (video.asset.*) or part of a name.", show_default=False),
    ] = None,
    provider: ProviderOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
) -> None:
    """List every event type muxhook knows, with what it means."""
    _exit(commands.run(commands.events, pattern=pattern, provider=provider, json_=json_))


@app.command()
def listen(
    forward_to: Annotated[
        list[str] | None,
        typer.Option(
            "--forward-to",
            "-f",
            metavar="[GLOB=]URL",
            help="Your app's webhook URL; repeatable; 'video.live_stream.*=URL' routes by type.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port to listen on (0: any free).")
    ] = 8700,
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            help="Path printed in the URL (default /webhooks/<provider>); POST is "
            "accepted on any path.",
            show_default=False,
        ),
    ] = None,
    provider: ProviderOpt = None,
    secret: SecretOpt = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Oldest accepted Mux timestamp, in seconds.")
    ] = 300.0,
    forward_invalid: Annotated[
        bool, typer.Option("--forward-invalid", help="Forward events whose signature fails too.")
    ] = False,
    forward_secret: ForwardSecretOpt = None,
    header: HeaderOpt = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Accept your app's self-signed certificate.")
    ] = False,
    ack: Annotated[
        str,
        typer.Option(
            "--ack",
            help="app: answer with your app's status (as production would see it); "
            "immediate: answer 200 once recorded, deliver in the background with retries.",
        ),
    ] = "app",
    retries: Annotated[
        int, typer.Option("--retries", help="With --ack immediate: retries, backing off 1, 2, 4 s…")
    ] = 5,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", help="Forwards at once; events about one object stay in order."
        ),
    ] = 8,
    forward_timeout: Annotated[
        float, typer.Option("--forward-timeout", help="Seconds to wait for your app.")
    ] = 30.0,
    max_body: Annotated[
        str,
        typer.Option("--max-body", help="Largest body accepted (bytes, or 512k, 4M); over: 413."),
    ] = "1M",
    events: Annotated[
        str | None,
        typer.Option(
            "--events",
            help="Show and forward only these types: 'video.asset.*,video.upload.*' "
            "(the rest is still recorded).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show headers and body.")
    ] = False,
    json_: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per event on stdout; the rest on stderr."),
    ] = False,
    db: DbOpt = None,
    save: Annotated[
        str | None,
        typer.Option(
            "--save",
            metavar="DIR",
            help="Write each event whose signature is valid as a fixture file (replayable).",
            show_default=False,
        ),
    ] = None,
    save_all: Annotated[
        bool,
        typer.Option(
            "--save-all",
            help="With --save: every request, those not valid marked (.invalid, .unverified, "
            ".body), which replay does not read.",
        ),
    ] = False,
    tunnel: Annotated[
        str,
        typer.Option("--tunnel", help="auto: ngrok when an authtoken is configured; ngrok; none."),
    ] = "auto",
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="Your own tunnel's URL (cloudflared, Tailscale…): nothing is started.",
            show_default=False,
        ),
    ] = None,
    no_tunnel: Annotated[bool, typer.Option("--no-tunnel", help="Local only.")] = False,
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="Your reserved ngrok domain.", show_default=False),
    ] = None,
    ngrok_path: Annotated[
        str | None,
        typer.Option("--ngrok-path", help="The ngrok agent to run.", show_default=False),
    ] = None,
    inspect_port: Annotated[
        int | None,
        typer.Option(
            "--inspect-port",
            help="The web inspector's loopback port (default 8701, or a free one when it is "
            "busy; 0: any free).",
            show_default=False,
        ),
    ] = None,
    no_inspect: Annotated[
        bool, typer.Option("--no-inspect", help="Do not serve the web inspector.")
    ] = False,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="tunnel: webhooks POSTed to muxhook; mux-api: read Mux events from the Mux "
            "API's event stream (needs MUX_TOKEN_ID/MUX_TOKEN_SECRET; no tunnel).",
        ),
    ] = "tunnel",
    register: Annotated[
        bool,
        typer.Option(
            "--register",
            help="Create (or reuse) the Mux webhook endpoint for the public URL, put its "
            "secret in .env, delete it on exit.",
        ),
    ] = False,
    keep_endpoint: Annotated[
        bool, typer.Option("--keep-endpoint", help="With --register: keep the endpoint on exit.")
    ] = False,
    token_id: TokenIdOpt = None,
    token_secret: TokenSecretOpt = None,
    env_file: EnvFileOpt = ".env",
    stream_silence: Annotated[
        float,
        typer.Option(
            "--stream-silence",
            help="With --from mux-api: seconds without a byte (heartbeats included) after "
            "which the stream counts as dropped.",
        ),
    ] = 90.0,
) -> None:
    """Receive webhooks through a tunnel, or from the Mux API's event stream: record,
    verify, show and forward each one."""
    _exit(
        commands.run(
            commands.listen,
            forward_to=forward_to,
            host=host,
            port=port,
            path=path,
            provider=provider,
            secret=secret,
            tolerance=tolerance,
            forward_invalid=forward_invalid,
            forward_secret=forward_secret,
            header=header,
            insecure=insecure,
            ack=ack,
            retries=retries,
            concurrency=concurrency,
            forward_timeout=forward_timeout,
            max_body=max_body,
            events=events,
            verbose=verbose,
            json_=json_,
            db=db,
            save=save,
            save_all=save_all,
            tunnel=tunnel,
            public_url=public_url,
            no_tunnel=no_tunnel,
            domain=domain,
            ngrok_path=ngrok_path,
            inspect_port=inspect_port,
            no_inspect=no_inspect,
            source=source,
            register=register,
            keep_endpoint=keep_endpoint,
            token_id=token_id,
            token_secret=token_secret,
            env_file=env_file,
            stream_silence=stream_silence,
        )
    )


@app.command()
def inspect(
    db: DbOpt = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "-p",
            help="Port to serve on (default 8701, or a free one when it is busy; 0: any free).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to serve on; loopback only unless --allow-remote."),
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --host other machines can reach (they can read every event).",
        ),
    ] = False,
    open_: Annotated[bool, typer.Option("--open", help="Open the page in your browser.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for your app on a replay.")
    ] = 30.0,
) -> None:
    """Browse the event log in a web page (no listening): filter, replay, timelines."""
    _exit(
        commands.run(
            commands.inspect,
            db=db,
            port=port,
            host=host,
            allow_remote=allow_remote,
            open_=open_,
            timeout=timeout,
        )
    )


SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Only events since: 10m, 2h, 1d, a unix time or an ISO time.",
        show_default=False,
    ),
]
IdsArg = Annotated[
    list[int] | None,
    typer.Argument(metavar="ID", help="Event ids from 'muxhook log list'.", show_default=False),
]


@app.command()
def replay(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="INPUT",
            help="What to send: fixture files, folders (recursive, sorted), globs, event names, "
            "scenario files (.toml), or - for stdin.",
            autocompletion=_complete_event,
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str, typer.Option("--to", help="Your app's webhook URL.", show_default=False)
    ] = "",
    secret: SecretOpt = None,
    provider: ProviderOpt = None,
    set_: SetOpt = None,
    unset: UnsetOpt = None,
    timestamp: Annotated[
        int | None,
        typer.Option(
            "--timestamp", help="Sign at this unix time (reproducible runs).", show_default=False
        ),
    ] = None,
    expect: Annotated[
        str, typer.Option("--expect", help="Statuses that count as handled: 2xx, 4xx, 200,202.")
    ] = "2xx",
    tamper: Annotated[
        bool,
        typer.Option(
            "--tamper", help="Also send forged signatures; the app must refuse them (4xx)."
        ),
    ] = False,
    duplicates: Annotated[
        int, typer.Option("--duplicates", help="Send each event N extra times, as platforms may.")
    ] = 0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Requests at once (scenarios stay in order).")
    ] = 1,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 30.0,
    wait_for_app: Annotated[
        float,
        typer.Option(
            "--wait-for-app", metavar="SECONDS", help="Wait for the app to accept connections."
        ),
    ] = 0.0,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Send only shard I of N (split across CI jobs).",
            show_default=False,
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
    junit: Annotated[
        str | None,
        typer.Option("--junit", metavar="FILE", help="Write JUnit XML for CI.", show_default=False),
    ] = None,
    header: HeaderOpt = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Accept a self-signed TLS certificate.")
    ] = False,
    from_log: Annotated[
        bool, typer.Option("--from-log", help="Send events from the event log (see 'muxhook log').")
    ] = False,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type", help="With --from-log: types matching this glob.", show_default=False
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="With --from-log: ok, invalid or failed.", show_default=False
        ),
    ] = None,
    since: SinceOpt = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="With --from-log: at most this many.", show_default=False),
    ] = None,
    db: DbOpt = None,
    fresh_ids: FreshIdsOpt = False,
) -> None:
    """Send saved events, freshly signed, to your app; fail when it mishandles one (for CI)."""
    if not to:
        raise typer.BadParameter(
            "give your app's URL: --to http://localhost:3000/…", param_hint="--to"
        )
    _exit(
        commands.run(
            commands.replay,
            inputs=inputs,
            to=to,
            secret=secret,
            provider=provider,
            set_=set_,
            unset=unset,
            timestamp=timestamp,
            expect=expect,
            tamper=tamper,
            duplicates=duplicates,
            concurrency=concurrency,
            timeout=timeout,
            wait_for_app=wait_for_app,
            shard=shard,
            json_=json_,
            junit=junit,
            header=header,
            insecure=insecure,
            from_log=from_log,
            type_=type_,
            status=status,
            since=since,
            limit=limit,
            db=db,
            fresh_ids=fresh_ids,
        )
    )


log_app = typer.Typer(
    help="The event log: every request listen received, with its verdict and attempts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(log_app, name="log")


@log_app.command("list")
def log_list(
    type_: Annotated[
        str | None,
        typer.Option("--type", help="Only event types matching this glob.", show_default=False),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="ok, invalid or failed.", show_default=False),
    ] = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List recorded events, newest first."""
    _exit(
        commands.run(
            commands.log_list,
            type_=type_,
            status=status,
            since=since,
            limit=limit,
            json_=json_,
            db=db,
        )
    )


@log_app.command("show")
def log_show(
    event_id: Annotated[int, typer.Argument(metavar="ID", help="An id from 'muxhook log list'.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON, body included.")] = False,
    db: DbOpt = None,
) -> None:
    """Show one event: verdict, headers, forward attempts and the body."""
    _exit(commands.run(commands.log_show, event_id=event_id, json_=json_, db=db))


@log_app.command("replay")
def log_replay(
    ids: IdsArg = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every event whose last forward failed.")
    ] = False,
    since: SinceOpt = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Send here instead (default: where listen was forwarding each one).",
            show_default=False,
        ),
    ] = None,
    secret: SecretOpt = None,
    forward_secret: Annotated[
        str | None,
        typer.Option(
            "--forward-secret",
            help="The secret listen re-signed with (default: MUXHOOK_FORWARD_SECRET, then .env).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the app.")
    ] = 30.0,
    db: DbOpt = None,
) -> None:
    """Send recorded events again, the exact bytes, freshly signed, where each was going."""
    _exit(
        commands.run(
            commands.log_replay,
            ids=ids,
            failed=failed,
            since=since,
            to=to,
            secret=secret,
            forward_secret=forward_secret,
            timeout=timeout,
            db=db,
        )
    )


@log_app.command("recover")
def log_recover(db: DbOpt = None) -> None:
    """Set a damaged log aside: its readable events go into a new log at its path."""
    _exit(commands.run(commands.log_recover, db=db))


@log_app.command("export")
def log_export(
    ids: IdsArg = None,
    to_dir: Annotated[
        str,
        typer.Option(
            "--to", metavar="DIR", help="Folder for the fixture files.", show_default=False
        ),
    ] = ".",
    since: SinceOpt = None,
    failed: Annotated[bool, typer.Option("--failed", help="Events whose forward failed.")] = False,
    db: DbOpt = None,
) -> None:
    """Write recorded events as fixture files (for sign, trigger and replay)."""
    _exit(
        commands.run(commands.log_export, ids=ids, since=since, failed=failed, to_dir=to_dir, db=db)
    )


endpoints_app = typer.Typer(
    help="Mux webhook endpoints, through Mux's System API (MUX_TOKEN_ID/MUX_TOKEN_SECRET).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(endpoints_app, name="endpoints")
EndpointIdArg = Annotated[
    str, typer.Argument(metavar="ID", help="An id from 'muxhook endpoints list'.")
]


@endpoints_app.command("list")
def endpoints_list(
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    token_id: TokenIdOpt = None,
    token_secret: TokenSecretOpt = None,
) -> None:
    """List the environment's endpoints: id, enabled, address, creation time."""
    _exit(
        commands.run(
            commands.endpoints_list, json_=json_, token_id=token_id, token_secret=token_secret
        )
    )


@endpoints_app.command("create")
def endpoints_create(
    url: Annotated[str, typer.Argument(metavar="URL", help="Where Mux sends webhooks.")],
    env_file: EnvFileOpt = ".env",
    token_id: TokenIdOpt = None,
    token_secret: TokenSecretOpt = None,
) -> None:
    """Create an endpoint; its signing secret goes into .env (0600), never printed."""
    _exit(
        commands.run(
            commands.endpoints_create,
            url=url,
            env_file=env_file,
            token_id=token_id,
            token_secret=token_secret,
        )
    )


@endpoints_app.command("update")
def endpoints_update(
    endpoint_id: EndpointIdArg,
    url: Annotated[
        str | None, typer.Option("--url", help="The new address.", show_default=False)
    ] = None,
    enable: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Send to it, or stop.", show_default=False),
    ] = None,
    token_id: TokenIdOpt = None,
    token_secret: TokenSecretOpt = None,
) -> None:
    """Change an endpoint's address, or enable or disable it."""
    _exit(
        commands.run(
            commands.endpoints_update,
            endpoint_id=endpoint_id,
            url=url,
            enable=enable,
            token_id=token_id,
            token_secret=token_secret,
        )
    )


@endpoints_app.command("delete")
def endpoints_delete(
    endpoint_id: EndpointIdArg,
    env_file: EnvFileOpt = ".env",
    token_id: TokenIdOpt = None,
    token_secret: TokenSecretOpt = None,
) -> None:
    """Delete an endpoint (Mux stops sending to it); its secret leaves .env."""
    _exit(
        commands.run(
            commands.endpoints_delete,
            endpoint_id=endpoint_id,
            env_file=env_file,
            token_id=token_id,
            token_secret=token_secret,
        )
    )


ngrok_app = typer.Typer(
    help="The ngrok agent that listen's tunnel runs.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(ngrok_app, name="ngrok")


@ngrok_app.command("install")
def ngrok_install(
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            help="Where to put the agent (default: pyngrok's location).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Download the ngrok agent (only on this explicit request)."""
    _exit(commands.run(commands.ngrok_install, path=path))


def _click_class(name: str) -> type[Exception]:
    """One of Click's exception classes, whether Typer vendors Click or depends on it."""
    found = next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)
    return typing.cast(type[Exception], found)


def run() -> None:
    """Run the Typer app (the slow path: help, completion, and every command).

    A usage error is one line on stderr and exit 2, as every other error is, rather
    than Click's usage block.
    """
    usage_error = _click_class("UsageError")
    click_exception = _click_class("ClickException")
    try:
        code = app(prog_name="muxhook", standalone_mode=False)
    except usage_error as error:
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":
            # Bare `muxhook` or `muxhook log`: the help, once. Typer's rich formatter has
            # printed it already while making the error; a plain one returns it as text.
            text = error.format_message()  # type: ignore[attr-defined]
            if text:
                sys.stdout.write(text + "\n")
            sys.exit(0)
        where = f" (see '{context.command_path} --help')" if context is not None else ""
        message = error.format_message()  # type: ignore[attr-defined]
        sys.stderr.write(f"error: {message}{where}\n")
        sys.exit(int(ExitCode.USAGE))
    except click_exception as error:
        sys.stderr.write(f"error: {error.format_message()}\n")  # type: ignore[attr-defined]
        sys.exit(int(getattr(error, "exit_code", 1)))
    except typer.Abort:
        sys.stderr.write("interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else 0)
