"""Every command's options, declared once.

A command's options are a frozen dataclass whose fields are annotated with what the
command line needs (``Annotated[str | None, option("--secret", help=…)]``). From that
one declaration ``muxhook.cli`` builds the Typer command (help, choices, defaults),
``muxhook._entry`` parses the commands that must start fast without importing Typer,
and the command itself receives one typed object, which mypy checks.

``Literal[...]`` types are choices: ``--help`` lists them, and ``build`` refuses any
other value with one line, whichever front door parsed it. A ``tuple[str, ...]`` field is
a repeatable option. Standard library only: ``sign`` must start fast.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, NamedTuple, TypeVar

from muxhook import providers

T = TypeVar("T")

__all__ = [
    "Arg",
    "Field",
    "Opt",
    "argument",
    "build",
    "fields",
    "option",
]


class Opt(NamedTuple):
    """How an option appears on the command line."""

    flags: tuple[str, ...]
    help: str
    metavar: str | None = None
    show_default: bool = True
    complete: str | None = None  # "events": event names complete


class Arg(NamedTuple):
    """How a positional argument appears on the command line."""

    help: str
    metavar: str | None = None
    show_default: bool = True
    complete: str | None = None


def option(
    *flags: str,
    help: str,
    metavar: str | None = None,
    show_default: bool = True,
    complete: str | None = None,
) -> Opt:
    """An option: ``option("--format", "-f", help="What to print.")``."""
    return Opt(flags, help, metavar, show_default, complete)


def argument(
    *,
    help: str,
    metavar: str | None = None,
    show_default: bool = True,
    complete: str | None = None,
) -> Arg:
    """A positional argument."""
    return Arg(help, metavar, show_default, complete)


class Field(NamedTuple):
    """One option of a command, as both front doors read it."""

    name: str
    type: object  # the Python type, without its Annotated metadata
    default: object  # dataclasses.MISSING when required
    spec: Opt | Arg

    @property
    def required(self) -> bool:
        """No default: it must be given."""
        return self.default is dataclasses.MISSING

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The allowed values of a ``Literal`` type, or None."""
        inner = _without_none(self.type)
        if typing.get_origin(inner) is typing.Literal:
            return tuple(str(choice) for choice in typing.get_args(inner))
        return None

    @property
    def flag(self) -> str:
        """How the user names it: its long flag, or its metavar."""
        if isinstance(self.spec, Opt):
            return max(self.spec.flags, key=len)
        return self.spec.metavar or self.name.upper()

    @property
    def repeated(self) -> bool:
        """A repeatable option (or an argument taking the rest): ``tuple[str, ...]``."""
        return typing.get_origin(_without_none(self.type)) is tuple


_FIELDS: dict[type[typing.Any], tuple[Field, ...]] = {}


def fields(options: type[typing.Any]) -> tuple[Field, ...]:
    """The fields of an options dataclass with their command-line spec, in order."""
    known = _FIELDS.get(options)
    if known is not None:
        return known
    hints = typing.get_type_hints(options, include_extras=True)
    found = []
    for item in dataclasses.fields(options):
        hint = hints[item.name]
        if typing.get_origin(hint) is not Annotated:
            raise TypeError(f"{options.__name__}.{item.name}: annotate it with option()")
        base, *extras = typing.get_args(hint)
        spec = next(extra for extra in extras if isinstance(extra, Opt | Arg))
        default: object = item.default
        if default is dataclasses.MISSING and item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        found.append(Field(item.name, base, default, spec))
    known = _FIELDS[options] = tuple(found)
    return known


def build(options: type[T], values: Mapping[str, object]) -> T:
    """The options object from parsed values (repeated values as tuples).

    Raises ``UsageError`` for a value that is not one of a field's choices.
    """
    ready: dict[str, object] = {}
    for field in fields(options):
        if field.name in values:
            value = values[field.name]
            choices = field.choices
            if choices is not None and value is not None and value not in choices:
                from muxhook.errors import UsageError

                listed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
                raise UsageError(f"{field.flag} {value!r}: choose {listed}")
            if field.repeated:
                value = tuple(typing.cast(Iterable[object], value or ()))
            ready[field.name] = value
    return options(**ready)


def _without_none(annotation: object) -> object:
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


# -- options several commands share ----------------------------------------------------------

Event = Annotated[
    str,
    argument(
        metavar="EVENT_OR_FILE",
        help="An event name (video.asset.ready, fastpix:video.media.ready), a fixture file, "
        "or - for stdin.",
        complete="events",
        show_default=False,
    ),
]
Secret = Annotated[
    str | None,
    option(
        "--secret",
        help="Signing secret (default: the provider's *_WEBHOOK_SECRET variable, then .env).",
        show_default=False,
    ),
]
ProviderName = Annotated[
    str | None,
    option(
        "--provider",
        help=f"Provider: one of {', '.join(providers.NAMES)} (default: detected).",
        show_default=False,
    ),
]
Sets = Annotated[
    tuple[str, ...],
    option(
        "--set",
        metavar="PATH=JSON",
        help="Override a field: --set data.duration=12.5, --set data.tracks.0.max_width=1920 "
        "(a value that is not JSON is a string).",
        show_default=False,
    ),
]
Unsets = Annotated[
    tuple[str, ...], option("--unset", metavar="PATH", help="Remove a field.", show_default=False)
]
Headers = Annotated[
    tuple[str, ...],
    option("--header", "-H", metavar="'NAME: VALUE'", help="A request header.", show_default=False),
]
Insecure = Annotated[bool, option("--insecure", help="Accept a self-signed TLS certificate.")]
FreshIds = Annotated[
    bool,
    option(
        "--fresh-ids",
        help="Give each event a new event id and object id (default: the fixture's, for a "
        "deterministic run).",
    ),
]
Db = Annotated[
    str | None,
    option(
        "--db",
        help="The event log (default: your data directory, or MUXHOOK_DB).",
        show_default=False,
    ),
]
Since = Annotated[
    str | None,
    option(
        "--since",
        help="Only events since: 10m, 2h, 1d, a unix time or an ISO time.",
        show_default=False,
    ),
]
Timestamp = Annotated[
    int | None,
    option(
        "--timestamp",
        help="Unix seconds to sign at (default: now; a fixed one makes runs reproducible).",
        show_default=False,
    ),
]
Tolerance = Annotated[
    float, option("--tolerance", help="Oldest accepted signed timestamp, in seconds.")
]
TypeGlob = Annotated[
    str | None,
    option("--type", help="Only event types matching this glob.", show_default=False),
]
State = Annotated[
    typing.Literal["ok", "invalid", "failed", "received"] | None,
    option("--status", help="Only events in this state.", show_default=False),
]
Ids = Annotated[
    tuple[int, ...],
    argument(metavar="ID", help="Event ids from 'muxhook log list'.", show_default=False),
]
ForwardSecret = Annotated[
    str | None,
    option(
        "--forward-secret",
        help="Re-sign forwarded events with this secret (default: MUXHOOK_FORWARD_SECRET, "
        "then .env).",
        show_default=False,
    ),
]
TokenId = Annotated[
    str | None,
    option(
        "--token-id",
        help="Mux API access token id (default: MUX_TOKEN_ID, then .env).",
        show_default=False,
    ),
]
TokenSecret = Annotated[
    str | None,
    option(
        "--token-secret",
        help="Mux API access token secret (default: MUX_TOKEN_SECRET, then .env).",
        show_default=False,
    ),
]
EnvFile = Annotated[
    str,
    option(
        "--env-file", help="Where an endpoint's signing secret is written (MUX_WEBHOOK_SECRET)."
    ),
]
