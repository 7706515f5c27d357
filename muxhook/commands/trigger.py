"""``muxhook trigger``: sign a fixture now and POST it to an app."""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated

from muxhook.commands.common import load_fixture, run_loop, signing_secret
from muxhook.errors import DeliveryError, ExitCode
from muxhook.options import Event, Headers, Insecure, ProviderName, Secret, Sets, Unsets, option

if typing.TYPE_CHECKING:
    from muxhook.records import Attempt
    from muxhook.render import Output

__all__ = ["TriggerOptions", "trigger"]


@dataclasses.dataclass(frozen=True)
class TriggerOptions:
    """``muxhook trigger``'s options."""

    event: Event
    to: Annotated[
        str,
        option(
            "--to",
            help="Your app's webhook URL (e.g. http://localhost:3000/webhooks/<provider>, "
            "the path listen uses).",
            show_default=False,
        ),
    ]
    secret: Secret = None
    provider: ProviderName = None
    set_: Sets = ()
    unset: Unsets = ()
    header: Headers = ()
    timeout: Annotated[float, option("--timeout", help="Seconds to wait for the answer.")] = 10.0
    insecure: Insecure = False
    keep_ids: Annotated[
        bool,
        option(
            "--keep-ids",
            help="Send the fixture's event id and object id (default: fresh ones each time, "
            "so an app that ignores duplicates takes every trigger).",
        ),
    ] = False


def trigger(out: Output, options: TriggerOptions) -> ExitCode:
    """Sign a fixture now and POST it to your app; fail unless it answers 2xx.

    The event id and object id are fresh on every call (unless ``keep_ids``), so an app
    that ignores duplicates takes each trigger as a new event.
    """
    from muxhook import render, signing
    from muxhook.headers import parse_extra_headers
    from muxhook.sending import HttpSender, check_url

    check_url(options.to)  # a bad URL is bad input: said before anything else
    fixture = load_fixture(
        options.event,
        options.provider,
        list(options.set_),
        list(options.unset),
        fresh_ids=not options.keep_ids,
    )
    key = signing_secret(fixture.provider, options.secret)
    headers = signing.sign(fixture.body, secret=key, provider=fixture.provider)
    headers.update(parse_extra_headers(list(options.header)))
    out.request_line(options.to, fixture.event_type, fixture.provider)

    async def send() -> Attempt:
        async with HttpSender(insecure=options.insecure, connections=1) as sender:
            return await sender.send(
                options.to, fixture.body, list(headers.items()), timeout=options.timeout
            )

    attempt = run_loop(send())
    if attempt.status is None:
        raise DeliveryError(f"could not reach {options.to}: {attempt.error}")
    out.response_line(
        attempt.status,
        (attempt.latency_ms or 0) / 1000,
        render.printable_body(attempt.response_start),
    )
    return ExitCode.OK if attempt.ok else ExitCode.FAILED
