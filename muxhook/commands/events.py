"""``muxhook events``: every event type each platform sends, with what it means."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Annotated

from muxhook.errors import ExitCode, UsageError
from muxhook.options import ProviderName, argument, option

if typing.TYPE_CHECKING:
    from muxhook.render import Output

__all__ = ["EventsOptions", "events"]


@dataclasses.dataclass(frozen=True)
class EventsOptions:
    """``muxhook events``' options."""

    pattern: Annotated[
        str | None,
        argument(
            metavar="PATTERN", help="A glob (video.asset.*) or part of a name.", show_default=False
        ),
    ] = None
    provider: ProviderName = None
    json_: Annotated[bool, option("--json", help="Print the catalog as JSON.")] = False


def events(out: Output, options: EventsOptions) -> ExitCode:
    """List every event type muxhook knows, with what it means."""
    from muxhook import catalog, providers

    if options.provider:
        providers.get(options.provider)  # an unknown provider is a usage error
    rows = catalog.find(options.pattern, options.provider)
    if options.json_:
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
        raise UsageError(
            f"no event matches {options.pattern!r}; run 'muxhook events' to list them all"
        )
    out.catalog(rows)
    return ExitCode.OK
