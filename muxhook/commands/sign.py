"""``muxhook sign``: the headers (or a curl/HTTPie command, or JSON) that sign a fixture."""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Literal

from muxhook.commands.common import load_fixture, signing_secret
from muxhook.errors import ExitCode
from muxhook.options import (
    Event,
    FreshIds,
    ProviderName,
    Secret,
    Sets,
    Timestamp,
    Unsets,
    option,
)

if typing.TYPE_CHECKING:
    from muxhook.render import Output

__all__ = ["DEFAULT_URL", "SignOptions", "sign"]

DEFAULT_URL = "http://localhost:3000/webhooks/{provider}"


@dataclasses.dataclass(frozen=True)
class SignOptions:
    """``muxhook sign``'s options."""

    event: Event
    secret: Secret = None
    provider: ProviderName = None
    timestamp: Timestamp = None
    set_: Sets = ()
    unset: Unsets = ()
    format_: Annotated[
        Literal["header", "json", "curl", "httpie"],
        option(
            "--format",
            help="What to print: the header, JSON (headers and body) or a command that sends it.",
        ),
    ] = "header"
    to: Annotated[
        str | None,
        option(
            "--to",
            help="URL for the curl and httpie formats "
            "(default: http://localhost:3000/webhooks/<provider>).",
            show_default=False,
        ),
    ] = None
    fresh_ids: FreshIds = False


def sign(out: Output, options: SignOptions) -> ExitCode:
    """Sign a fixture and print the headers, JSON, or a curl/HTTPie command."""
    from muxhook import render, signing

    fixture = load_fixture(
        options.event,
        options.provider,
        list(options.set_),
        list(options.unset),
        fresh_ids=options.fresh_ids,
    )
    key = signing_secret(fixture.provider, options.secret)
    headers = signing.sign(
        fixture.body, secret=key, provider=fixture.provider, timestamp=options.timestamp
    )
    url = options.to or DEFAULT_URL.format(provider=fixture.provider)
    path = str(fixture.path) if fixture.path else None
    if options.format_ == "header":
        out.result(render.format_headers(headers))
    elif options.format_ == "json":
        out.result(
            render.format_signed_json(fixture.provider, fixture.event_type, headers, fixture.body)
        )
    elif options.format_ == "curl":
        out.result(render.format_curl(url, headers, fixture.body, path))
    else:
        out.result(render.format_httpie(url, headers, fixture.body, path))
    return ExitCode.OK
