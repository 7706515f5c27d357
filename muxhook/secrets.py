"""Where a signing secret comes from, and how it is shown.

Order: ``--secret``, then the provider's environment variable
(``MUX_WEBHOOK_SECRET``, ``FASTPIX_WEBHOOK_SECRET``, ``MILLICAST_WEBHOOK_SECRET``),
then a ``.env`` file in the working directory. A secret is never shown in full:
``mask`` keeps its first four characters and its length.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from muxhook import providers

__all__ = ["ResolvedSecret", "mask", "read_dotenv", "resolve_secret"]


class ResolvedSecret(NamedTuple):
    """A secret and where it was found; its repr never shows the value."""

    value: str
    source: str  # "--secret", "MUX_WEBHOOK_SECRET", ".env (MUX_WEBHOOK_SECRET)"

    def __repr__(self) -> str:
        return f"ResolvedSecret({mask(self.value)}, from {self.source})"


def mask(secret: str) -> str:
    """``Supe… (14 chars)``: enough to tell two secrets apart, never enough to use one."""
    shown = secret[:4] if len(secret) >= 12 else ""
    return f"{shown}… ({len(secret)} chars)"


def resolve_secret(
    provider: str,
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ResolvedSecret | None:
    """The secret for ``provider`` from the first place that has one, or None."""
    if explicit:
        return ResolvedSecret(explicit, "--secret")
    variable = providers.get(provider).SECRET_ENV
    env = os.environ if environ is None else environ
    if env.get(variable):
        return ResolvedSecret(env[variable], variable)
    dotenv = (cwd or Path.cwd()) / ".env"
    value = read_dotenv(dotenv).get(variable)
    if value:
        return ResolvedSecret(value, f".env ({variable})")
    return None


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file; ``export``, quotes and comments are understood.

    A missing or unreadable file is an empty mapping: ``.env`` is optional.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values
