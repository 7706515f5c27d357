"""What the inspector does besides showing: Replay, Edit & replay, Copy as curl, Save.

Everything that sends or writes is here, behind one object, so the web layer only
parses requests; sending goes through a ``muxhook.sending.Sender`` (one of its own
unless one is handed in). Sending re-signs with the endpoint's
secret, as ``muxhook log replay`` does: the exact bytes, a fresh signature.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from pathlib import Path

from muxhook import providers, signing
from muxhook.errors import UsageError

if typing.TYPE_CHECKING:
    from muxhook.records import Attempt, StoredEvent
    from muxhook.sending import Sender

__all__ = ["Actions", "SecretSource", "Sent", "secrets_from_environment"]

#: The signing secret for a provider's events, or None when there is none.
SecretSource = Callable[[str], "str | None"]


def secrets_from_environment() -> SecretSource:
    """Secrets as every command finds them: the provider's variable, then ``.env``."""
    from muxhook.secrets import resolve_secret

    def find(provider: str) -> str | None:
        found = resolve_secret(provider)
        return found.value if found else None

    return find


def secrets_from(mapping: Mapping[str, str], override: str | None = None) -> SecretSource:
    """Secrets ``listen`` resolved; ``override`` (its ``--forward-secret``) signs every event."""
    return lambda provider: override or mapping.get(provider)


class Sent(typing.NamedTuple):
    """One send's outcome: the attempt, whether it was freshly signed, whether it is logged."""

    attempt: Attempt
    signed: bool
    recorded: str | None  # None: recorded in the log; else why it is not


@dataclasses.dataclass(eq=False)
class Actions:
    """Sends and saves events for the inspector.

    Args:
        log_path: the event log, opened for writing only to record a replay's attempt.
        secrets: where a provider's signing secret comes from.
        timeout: seconds to wait for the app.
        save_dir: ``--save DIR`` of listen, where Save as fixture writes; None: download only.
        insecure: accept the app's self-signed certificate.
        sender: what sends; a fresh ``HttpSender`` per send when None.
    """

    log_path: Path
    secrets: SecretSource
    _: dataclasses.KW_ONLY
    timeout: float = 30.0
    save_dir: Path | None = None
    insecure: bool = False
    sender: Sender | None = None

    def can_sign(self, row: StoredEvent) -> bool:
        """Whether a secret is at hand to sign this event's provider with."""
        return bool(self.secrets(_provider_name(row)))

    async def replay(self, row: StoredEvent, url: str) -> Sent:
        """Send the event's exact bytes again, freshly signed, and record the attempt."""
        headers, signed = self._headers(row, row.body, required=False)
        attempt = await self._post(url, row.body, headers)
        return Sent(attempt, signed, await self._record(row.id, attempt))

    async def replay_edited(self, row: StoredEvent, body: bytes, url: str) -> Sent:
        """Send an edited body, signed with the secret (a changed body needs a new signature).

        Not recorded as an attempt of the event: these are not the event's bytes.
        """
        headers, _ = self._headers(row, body, required=True)
        attempt = await self._post(url, body, headers)
        return Sent(attempt, True, "an edited body is not the event's: not recorded")

    def curl(self, row: StoredEvent, url: str) -> tuple[str, bool]:
        """A curl command that sends the event freshly signed (original signature without a
        secret), and whether it is freshly signed."""
        from muxhook.render import format_curl

        name = _provider_name(row)
        secret = self.secrets(name)
        if secret:
            headers = signing.sign(row.body, secret=secret, provider=name)
        else:
            provider = providers.get(name)
            original = providers.header_value(dict(row.headers), provider.HEADER)
            content_type = providers.header_value(dict(row.headers), "Content-Type")
            headers = {provider.HEADER: original} if original else {}
            if content_type:
                headers["Content-Type"] = content_type
        return format_curl(url, headers, row.body, self.fixture_name(row)), bool(secret)

    def fixture_name(self, row: StoredEvent) -> str:
        """The file name Save as fixture gives the event."""
        from muxhook.fixtures import saved_name

        return saved_name(
            event_type=row.event_type, number=row.id, at=row.received_at, body=row.body
        )

    def save_fixture(self, row: StoredEvent) -> Path:
        """Write the event's exact body into listen's ``--save`` folder."""
        from muxhook.fixtures import save

        if self.save_dir is None:
            raise UsageError("no --save folder: download the fixture instead")
        return save(
            self.save_dir,
            provider=_provider_name(row),
            event_type=row.event_type,
            number=row.id,
            at=row.received_at,
            body=row.body,
        )

    # -- internals ----------------------------------------------------------------------

    def _headers(
        self, row: StoredEvent, body: bytes, *, required: bool
    ) -> tuple[list[tuple[str, str]], bool]:
        """The original headers for the app, with a fresh signature when a secret is known."""
        from muxhook.forward import forwardable_headers

        name = _provider_name(row)
        secret = self.secrets(name)
        if not secret:
            if required:
                provider = providers.get(name)
                raise UsageError(
                    f"no {provider.LABEL} signing secret to sign the edited body: set "
                    f"{provider.SECRET_ENV} (or add it to .env) and start muxhook again"
                )
            return forwardable_headers(row.headers), False
        fresh = signing.sign(body, secret=secret, provider=name)
        extra = [(key, value) for key, value in fresh.items() if key.lower() != "content-type"]
        return forwardable_headers(row.headers, extra), True

    async def _post(self, url: str, body: bytes, headers: list[tuple[str, str]]) -> Attempt:
        from muxhook.sending import HttpSender, check_url

        check_url(url, "url")
        if self.sender is not None:
            return await self.sender.send(url, body, headers, timeout=self.timeout)
        async with HttpSender(insecure=self.insecure, connections=1) as sender:
            return await sender.send(url, body, headers, timeout=self.timeout)

    async def _record(self, event_id: int, attempt: Attempt) -> str | None:
        """Add the attempt to the log, in a worker thread; why not, when it cannot be."""
        import asyncio

        from muxhook.errors import MuxhookError
        from muxhook.store import EventLog

        def write() -> None:
            with EventLog(self.log_path) as log:
                log.add_attempt(event_id, attempt)

        try:
            await asyncio.get_running_loop().run_in_executor(None, write)
        except MuxhookError as error:
            return f"not recorded in the log: {error}"
        return None


def _provider_name(row: StoredEvent) -> str:
    if row.provider in providers.REGISTRY:
        return row.provider
    return providers.guess(row.body)
