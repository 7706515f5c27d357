"""Headers a person types (``-H 'Name: value'``) or pastes (``--headers-file``).

One parser for every command, so the same input gets the same answer everywhere: a
header muxhook would have to send as something else (a name with spaces, a value
with a line break) is bad input, exit 2, before anything is sent. Standard library
only: ``verify`` must start fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from muxhook.errors import UsageError

__all__ = ["parse_extra_headers", "parse_header_line", "read_headers_file"]

# RFC 9110 §5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A request line, as in a request pasted from a log or a proxy: "POST /path HTTP/1.1".
_REQUEST_LINE = re.compile(r"[A-Z]+ \S+ HTTP/\d(\.\d)?")


def parse_header_line(text: str, option: str = "-H") -> tuple[str, str]:
    """``'Name: value'`` → ``("Name", "value")``; one UsageError line for anything else."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if "\r" in text or "\n" in text:
        raise UsageError(f"{option} {text[:40]!r}: give one header per {option}, on one line")
    if sep and _TOKEN.fullmatch(name) and not any(ord(c) < 32 and c != "\t" for c in value):
        return name, value
    where = _signature_header_for(text.strip())
    hint = f"; did you mean {option} '{where}: {text.strip()}'?" if where else ""
    raise UsageError(f"{option} {text[:40]!r} is not 'Name: value'{hint}")


def parse_extra_headers(texts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The ``-H`` headers a command sends with every request: as ``parse_header_line``
    reads them, without ``Expect`` (muxhook sends the whole body at once, and an ``Expect``
    would have the app answer ``100 Continue`` first)."""
    given = list(texts)
    parsed = tuple(parse_header_line(text) for text in given)
    for (name, _), text in zip(parsed, given, strict=True):
        if name.lower() == "expect":
            raise UsageError(
                f"-H {text!r}: muxhook never forwards Expect (it sends your app the whole body "
                "at once); leave it out"
            )
    return parsed


def read_headers_file(path: str) -> list[tuple[str, str]]:
    """The headers in a file of ``Name: value`` lines, or in a pasted raw request.

    A request line (``POST /webhooks HTTP/1.1``) is skipped, and the headers end at the
    first blank line after a header, as in a request, so the body may follow.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; give a file of 'Name: value' lines") from None
    found: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            if found:
                break  # the end of a request's head: a body may follow
            continue
        if not found and _REQUEST_LINE.fullmatch(stripped):
            continue
        found.append(parse_header_line(stripped, option=f"{path}, line {number}:"))
    return found


def _signature_header_for(value: str) -> str | None:
    """The signature header whose values look like ``value``, for a header with no name."""
    from muxhook import providers

    for provider in providers.all_providers():
        if provider.looks_like(value):
            return provider.HEADER
    return None
