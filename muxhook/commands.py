"""The commands: each builds its objects, runs the core and renders the result.

Both front doors call these functions: the Typer app in ``muxhook.cli`` and the
fast path in ``muxhook._entry`` (which skips importing Typer for ``sign`` and
``verify``). Each returns an ``ExitCode``; ``run`` is the one place where an
exception becomes a line on stderr and an exit code.
"""

from __future__ import annotations

import json
import os
import sys
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from muxhook.errors import ExitCode, MuxhookError, SignatureError, UsageError

if typing.TYPE_CHECKING:
    from muxhook.fixtures import Fixture
    from muxhook.render import Output

__all__ = ["events", "run", "sign", "trigger", "verify"]

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


def _load_fixture(ref: str, provider: str | None, sets: list[str], unsets: list[str]) -> Fixture:
    from muxhook import fixtures, providers

    if ref == "-":
        body = sys.stdin.buffer.read()
        name = provider or providers.guess(body)
        fixture = fixtures.Fixture(name, body, providers.get(name).event_type(body))
    else:
        fixture = fixtures.load(ref, provider=provider)
    body = fixtures.apply_overrides(fixture.body, sets, unsets, origin=ref)
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
) -> ExitCode:
    """Print the headers (or a curl/HTTPie command, or JSON) that sign a fixture."""
    from muxhook import render, signing

    if format_ not in FORMATS:
        raise UsageError(f"--format {format_!r}: choose one of {', '.join(FORMATS)}")
    fixture = _load_fixture(event, provider, set_ or [], unset or [])
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
    pairs: list[str] = list(header)
    if headers_file:
        try:
            text = Path(headers_file).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{headers_file}: cannot read it ({error.strerror})") from None
        pairs += [line for line in text.splitlines() if line.strip()]
    parsed: dict[str, str] = {}
    for line in pairs:
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise UsageError(f"header {line[:40]!r} is not 'Name: value'")
        parsed[name.strip()] = value.strip()
    return parsed


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
) -> ExitCode:
    """Sign a fixture now and POST it to ``to``; exit non-zero unless the app answers 2xx."""
    from muxhook import delivery, render, signing

    fixture = _load_fixture(event, provider, set_ or [], unset or [])
    key = _secret(fixture.provider, secret)
    headers = signing.sign(fixture.body, secret=key, provider=fixture.provider)
    headers.update(_read_headers(header or [], None))
    out.request_line(to, fixture.event_type, fixture.provider)
    started = time.perf_counter()
    answer = delivery.post(to, fixture.body, headers, timeout=timeout, verify_tls=not insecure)
    elapsed = time.perf_counter() - started
    out.response_line(answer.status, answer.reason, elapsed, render.printable_body(answer.body))
    return ExitCode.OK if 200 <= answer.status < 300 else ExitCode.FAILED


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
