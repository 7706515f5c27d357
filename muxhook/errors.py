"""The exceptions muxhook raises, and the exit codes the CLI maps them to.

The tree:

- MuxhookError: anything muxhook can explain in one sentence.
    - UsageError: the input is wrong (missing file, invalid JSON, unknown event,
      bad --set path, no secret). Exit 2.
        - FixtureError: a fixture or scenario file cannot be used.
        - UnknownEventError: an event name that no catalog has; carries suggestions.
    - SignatureError: a signature did not verify; ``reason`` names what is wrong,
      ``hint`` the likely mistake. Exit 1.
    - DeliveryError: the app could not be reached (refused, timed out). Exit 3.
    - EnvironmentProblem: the machine refused (port in use, database unwritable,
      tunnel agent missing). Exit 4.

The core raises these and never exits or prints; ``muxhook.cli`` catches them at
one edge and maps each class to its ``ExitCode``.
"""

from __future__ import annotations

import enum

__all__ = [
    "DeliveryError",
    "EnvironmentProblem",
    "ExitCode",
    "FixtureError",
    "MuxhookError",
    "SignatureError",
    "UnknownEventError",
    "UsageError",
    "value_kind",
]


class ExitCode(enum.IntEnum):
    """Stable exit codes; the README's table is the contract."""

    OK = 0
    FAILED = 1  # the check failed: invalid signature, non-2xx answer, unmet expectation
    USAGE = 2  # bad input: options, files, JSON, event names, missing secret
    UNREACHABLE = 3  # the app could not be reached: connection refused, timeout
    ENVIRONMENT = 4  # the machine refused: port in use, database or tunnel failure
    INTERRUPTED = 130  # Ctrl-C


class MuxhookError(Exception):
    """Base class: ``str(error)`` is one line a person can act on."""

    exit_code: ExitCode = ExitCode.FAILED


class UsageError(MuxhookError):
    """The input given to muxhook cannot be used."""

    exit_code = ExitCode.USAGE


class FixtureError(UsageError):
    """A fixture, scenario or body file cannot be read or parsed."""


class UnknownEventError(UsageError):
    """An event name that is in no provider's catalog."""

    def __init__(self, name: str, provider: str, suggestions: list[str]) -> None:
        self.name = name
        self.provider = provider
        self.suggestions = suggestions
        message = f"unknown {provider} event {name!r}"
        if suggestions:
            message += "; did you mean " + ", ".join(suggestions) + "?"
        message += " (list them with: muxhook events)"
        super().__init__(message)


class SignatureError(MuxhookError):
    """A signature did not verify.

    ``reason`` is a stable code (``missing_header``, ``malformed_header``,
    ``no_signature``, ``stale``, ``future``, ``mismatch``, ``no_secret``,
    ``bad_secret``); the message says it in words, and ``hint``, when set, names
    the mistake that explains a mismatch.
    """

    exit_code = ExitCode.FAILED

    def __init__(
        self, reason: str, message: str, *, provider: str = "", hint: str | None = None
    ) -> None:
        self.reason = reason
        self.provider = provider
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message}; {self.hint}" if self.hint else message


class DeliveryError(MuxhookError):
    """The app could not be reached at all (no HTTP answer)."""

    exit_code = ExitCode.UNREACHABLE


class EnvironmentProblem(MuxhookError):
    """The machine refused: a port in use, an unwritable database, a missing agent."""

    exit_code = ExitCode.ENVIRONMENT


def value_kind(value: object, *, mapping: str = "object") -> str:
    """The JSON or TOML word for a decoded value's type, for messages ("string", "array").

    ``mapping`` names a dict (JSON's "object", TOML's "table"); what is none of JSON's
    types is TOML's "date".
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return mapping
    return "date"
