"""Where a signing secret comes from, and how it is shown.

Order: ``--secret``, then the provider's environment variable
(``MUX_WEBHOOK_SECRET``, ``FASTPIX_WEBHOOK_SECRET``, ``MILLICAST_WEBHOOK_SECRET``),
then a ``.env`` file in the working directory. A secret is never shown in full:
``mask`` keeps its first four characters and its length.

The secret ``listen --forward-secret`` re-signs with is found the same way
(``--forward-secret``, ``MUXHOOK_FORWARD_SECRET``, ``.env``). The event log keeps where
it came from and a ``fingerprint`` (a salted PBKDF2 digest, never the secret), so that
``log replay`` can find it again and tell whether it is the same one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from muxhook import providers

__all__ = [
    "FORWARD_SECRET_ENV",
    "ResolvedSecret",
    "fingerprint",
    "fingerprint_matches",
    "mask",
    "read_dotenv",
    "resolve_forward_secret",
    "resolve_secret",
]

FORWARD_SECRET_ENV = "MUXHOOK_FORWARD_SECRET"  # noqa: S105 (a variable's name)
#: PBKDF2 rounds for a fingerprint: paid once per listen (and per replayed fingerprint),
#: and as much again for every guess of a secret made from the log.
_ROUNDS = 100_000


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


def resolve_forward_secret(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ResolvedSecret | None:
    """The secret to re-sign forwards with: ``--forward-secret``, then
    ``MUXHOOK_FORWARD_SECRET``, then ``.env``; None when none is set."""
    if explicit:
        return ResolvedSecret(explicit, "--forward-secret")
    env = os.environ if environ is None else environ
    if env.get(FORWARD_SECRET_ENV):
        return ResolvedSecret(env[FORWARD_SECRET_ENV], FORWARD_SECRET_ENV)
    value = read_dotenv((cwd or Path.cwd()) / ".env").get(FORWARD_SECRET_ENV)
    if value:
        return ResolvedSecret(value, f".env ({FORWARD_SECRET_ENV})")
    return None


def fingerprint(secret: str, *, salt: bytes | None = None) -> str:
    """``pbkdf2-sha256$ROUNDS$SALT$DIGEST``: tells whether a secret is the same one again,
    and cannot be turned back into it (salted, slow to guess)."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", _bytes(secret), salt, _ROUNDS, dklen=16)
    return f"pbkdf2-sha256${_ROUNDS}${salt.hex()}${digest.hex()}"


def fingerprint_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (a ``fingerprint``) was made from; compared
    in constant time. A fingerprint this muxhook cannot read never matches."""
    try:
        scheme, rounds, salt, digest = stored.split("$")
        if scheme != "pbkdf2-sha256" or not 0 < int(rounds) <= 10_000_000:
            return False
        expected = bytes.fromhex(digest)
        found = hashlib.pbkdf2_hmac(
            "sha256", _bytes(secret), bytes.fromhex(salt), int(rounds), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(found, expected)


def _bytes(secret: str) -> bytes:
    """A secret as the bytes it was given as (an environment value that is not UTF-8 too)."""
    return secret.encode("utf-8", "surrogateescape")


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
