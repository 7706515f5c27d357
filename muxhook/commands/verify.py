"""``muxhook verify``: check a body against its signature header, and say what is wrong."""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from pathlib import Path
from typing import Annotated

from muxhook.commands.common import signing_secret
from muxhook.errors import ExitCode, SignatureError, UsageError
from muxhook.options import Headers, ProviderName, Secret, Tolerance, argument, option

if typing.TYPE_CHECKING:
    from muxhook.render import Output

__all__ = ["VerifyOptions", "verify"]


@dataclasses.dataclass(frozen=True)
class VerifyOptions:
    """``muxhook verify``'s options."""

    body_file: Annotated[
        str, argument(metavar="BODY_FILE", help="The raw body; - or none: stdin.")
    ] = "-"
    header: Headers = ()
    headers_file: Annotated[
        str | None,
        option(
            "--headers-file",
            help="A file of 'Name: value' lines, or a request pasted from a log.",
            show_default=False,
        ),
    ] = None
    secret: Secret = None
    provider: ProviderName = None
    now: Annotated[
        float | None,
        option(
            "--now", help="Check as if it were this unix time (default: now).", show_default=False
        ),
    ] = None
    tolerance: Tolerance = 300.0
    max_future: Annotated[
        float,
        option(
            "--max-future", help="Furthest accepted signed timestamp ahead of now (clock skew)."
        ),
    ] = 300.0
    json_: Annotated[bool, option("--json", help="Print the verdict as JSON.")] = False


def verify(out: Output, options: VerifyOptions) -> ExitCode:
    """Check a body against its signature header; say what is wrong when it fails."""
    from muxhook import providers, signing

    headers = _read_headers(list(options.header), options.headers_file)
    if not headers:
        raise UsageError("no signature header: pass --header 'Mux-Signature: …' or --headers-file")
    if options.body_file == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = Path(options.body_file).read_bytes()
        except OSError as error:
            raise UsageError(f"{options.body_file}: cannot read it ({error.strerror})") from None
    name = options.provider or providers.detect(headers)
    module = providers.get(name) if name else None
    key = signing_secret(name, options.secret) if name else ""
    event_type = module.event_type(body, headers) if module else None
    try:
        verdict = signing.verify(
            body,
            headers,
            secret=key,
            provider=name,
            now=options.now,
            tolerance=options.tolerance,
            max_future=options.max_future,
        )
    except SignatureError as error:
        label = module.LABEL if module else "webhook"
        if options.json_:
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
    if options.json_:
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


def _read_headers(header: typing.Sequence[str], headers_file: str | None) -> dict[str, str]:
    from muxhook.headers import parse_header_line, read_headers_file

    pairs = [parse_header_line(text) for text in header]
    if headers_file:
        pairs += read_headers_file(headers_file)
    return dict(pairs)


def _age(seconds: float) -> str:
    if seconds < 0:
        return f"{-seconds:.0f} s in the future"
    return f"{seconds:.0f} s ago"
