"""Signed webhooks for your own test suite: in-process, offline, no listener.

Send one to your app's test client and check that it is handled::

    from muxhook.testing import signed_event

    headers, body = signed_event("video.asset.ready", "my-test-secret",
                                 data__passthrough="order-42")
    response = client.post("/webhooks/mux", content=body, headers=headers)

Overrides are keyword arguments whose name is a dotted path written with ``__``
for the dots (``data__tracks__0__max_width=1920``); their values are Python
values, turned into JSON: ``"abc"`` stays a string, ``12.5`` a number, ``None``
becomes ``null``. A path that is not a Python name goes in ``set=`` as it is
(``set={"data.robots.job.summarize.completed.status": "errored"}``), and ``unset=``
removes fields. Without overrides the body is the fixture's exact bytes.

With the pytest plugin (installed with muxhook), the ``muxhook_webhook`` fixture
is a ``WebhookFactory`` bound to the ``muxhook_secret`` fixture::

    def test_ready(client, muxhook_webhook):
        event = muxhook_webhook("video.asset.ready", data__passthrough="order-42")
        assert client.post("/webhooks/mux", content=event.body,
                           headers=event.headers).status_code == 200

    def test_forgery(client, muxhook_webhook):
        event = muxhook_webhook.tampered("video.asset.ready")
        assert client.post("/webhooks/mux", content=event.body,
                           headers=event.headers).status_code == 400

``MemorySender`` sends without a network: a function answers each request, as httpx's
``MockTransport`` does. Hand it to anything that takes a ``muxhook.sending.Sender``
(``muxhook.replay.run``, the listen ``Pipeline``, the inspector's ``Actions``)::

    sender = MemorySender(lambda request: 200 if request.header("Mux-Signature") else 400)
    ...
    assert [r.url for r in sender.requests] == ["http://app.test/webhooks/mux"]
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeAlias

from muxhook import fixtures, forgery, providers
from muxhook.errors import UsageError
from muxhook.records import RESPONSE_KEEP, Attempt
from muxhook.signing import sign

__all__ = [
    "MemoryAnswer",
    "MemorySender",
    "SentRequest",
    "SignedWebhook",
    "Tamper",
    "WebhookFactory",
    "signed_event",
]

#: How ``WebhookFactory.tampered`` forges: another secret, or a body changed after signing.
Tamper = Literal["secret", "body"]


class SignedWebhook(NamedTuple):
    """A webhook ready for a test client: ``client.post(url, content=body, headers=headers)``.

    It unpacks like the pair that ``signed_event`` returns, plus two fields::

        headers, body, event_type, provider = muxhook_webhook("video.asset.ready")
    """

    headers: dict[str, str]
    body: bytes
    event_type: str | None
    provider: str

    def json(self) -> Any:
        """The body, parsed: ``event.json()["data"]["passthrough"]``."""
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        """The body's media type (``application/json``, or ``image/jpeg`` for a thumbnail)."""
        return providers.header_value(self.headers, "Content-Type") or "application/json"


def signed_event(
    name_or_path: str,
    secret: str,
    *,
    provider: str | None = None,
    timestamp: int | None = None,
    set: Mapping[str, object] | None = None,  # reads like the CLI's --set
    unset: Iterable[str] = (),
    **overrides: object,
) -> tuple[dict[str, str], bytes]:
    """Sign a bundled fixture or a fixture file; return ``(headers, body)``.

    ``name_or_path`` is an event name (``video.asset.ready``,
    ``fastpix:video.media.ready``, ``millicast:media.completed``) or a path to
    your own fixture file. ``provider`` is the provider of a bare name or of a
    file whose folder and shape do not say. ``timestamp`` (unix seconds, Mux
    only) defaults to now; an old one makes a stale event::

        headers, body = signed_event("video.asset.ready", secret,
                                     data__passthrough="order-42",
                                     data__tracks__0__max_width=1920,
                                     unset=["data.static_renditions"])

    ``headers`` holds the signature header and ``Content-Type``.

    Raises:
        UnknownEventError: no catalog has that event (the message suggests names).
        UsageError: a bad override path or value, an unknown provider, no secret.
    """
    webhook = _build(name_or_path, secret, provider, timestamp, set, unset, overrides)
    return webhook.headers, webhook.body


class WebhookFactory:
    """Signed webhooks with one secret; what the ``muxhook_webhook`` fixture returns.

    ::

        factory = WebhookFactory(secret="my-test-secret")      # Mux by default
        event = factory("video.asset.ready", data__passthrough="order-42")
        event.headers   # {"Mux-Signature": "t=…,v1=…", "Content-Type": "application/json"}
        event.body      # the bytes to send
        event.json()["data"]["passthrough"]                    # "order-42"
        forged = factory.tampered("video.asset.ready")        # must be refused

    ``provider`` is the provider of bare event names; ``fastpix:…`` and
    ``millicast:…`` names pick their own (the secret must then be theirs).
    """

    def __init__(self, secret: str, provider: str = providers.DEFAULT) -> None:
        providers.get(provider)  # an unknown provider fails here, not at the first call
        self.secret = secret
        self.provider = provider

    def __repr__(self) -> str:
        return f"WebhookFactory(provider={self.provider!r}, secret=<{len(self.secret)} chars>)"

    def __call__(
        self,
        name_or_path: str,
        *,
        timestamp: int | None = None,
        set: Mapping[str, object] | None = None,
        unset: Iterable[str] = (),
        **overrides: object,
    ) -> SignedWebhook:
        """A correctly signed webhook; arguments as for ``signed_event``."""
        return _build(name_or_path, self.secret, self.provider, timestamp, set, unset, overrides)

    def tampered(
        self,
        name_or_path: str,
        *,
        how: Tamper = "secret",
        timestamp: int | None = None,
        set: Mapping[str, object] | None = None,
        unset: Iterable[str] = (),
        **overrides: object,
    ) -> SignedWebhook:
        """A forgery: a well-formed signature header that does not verify.

        ``how="secret"`` (default) signs with a secret other than yours, as
        someone who does not know it would. ``how="body"`` signs the body with
        your secret and then changes it, as a tampering proxy would (your app
        must verify the raw bytes it received). A stale Mux event is
        ``factory(name, timestamp=0)``.
        """
        if how not in ("secret", "body"):
            raise UsageError(f"tampered(how={how!r}): choose 'secret' or 'body'")
        genuine = _build(name_or_path, self.secret, self.provider, timestamp, set, unset, overrides)
        stamp = int(time.time()) if timestamp is None else timestamp
        forged = forgery.forge(
            how, genuine.body, provider=genuine.provider, secret=self.secret, now=stamp
        )
        headers = {**forged.headers}
        headers.setdefault("Content-Type", "application/json")
        return genuine._replace(headers=headers, body=forged.body)


def _build(
    name_or_path: str,
    secret: str,
    provider: str | None,
    timestamp: int | None,
    sets: Mapping[str, object] | None,
    unsets: Iterable[str],
    overrides: Mapping[str, object],
) -> SignedWebhook:
    fixture = fixtures.load(name_or_path, provider=provider)
    assignments = {path.replace("__", "."): value for path, value in overrides.items()}
    assignments.update(sets or {})
    if isinstance(unsets, str):
        raise UsageError(f"unset={unsets!r}: give a list of paths, e.g. unset=[{unsets!r}]")
    removals = list(unsets)
    body = fixtures.apply_overrides(
        fixture.body,
        [f"{path}={_to_json(path, value)}" for path, value in assignments.items()],
        removals,
        origin=name_or_path,
    )
    event_type = fixture.event_type
    if assignments or removals:
        event_type = providers.get(fixture.provider).event_type(body) or event_type
    headers = sign(body, secret=secret, provider=fixture.provider, timestamp=timestamp)
    headers.setdefault("Content-Type", "application/json")
    return SignedWebhook(headers, body, event_type, fixture.provider)


def _to_json(path: str, value: object) -> str:
    """A Python value as the JSON text that ``apply_overrides`` reads back unchanged."""
    if "=" in path:
        raise UsageError(f"override {path!r}: a path cannot contain '='")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise UsageError(
            f"override {path}: {value!r} cannot be written as JSON ({error})"
        ) from None


class SentRequest(NamedTuple):
    """One request a ``MemorySender`` was asked to send."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]  # as sent, in order, repeats kept
    timeout: float

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


#: What a ``MemorySender``'s function answers: a status, or a status and a body.
MemoryAnswer: TypeAlias = "int | tuple[int, bytes]"


class MemorySender:
    """A ``muxhook.sending.Sender`` that calls ``answer(request)`` instead of the network.

    ``answer`` takes a ``SentRequest`` and returns a status or ``(status, body)``; it may be
    a coroutine function. An exception it raises is a request with no answer, as a refused
    connection is (its text is the attempt's error), and one that takes longer than the
    send's timeout is "timed out", as ``HttpSender`` says. Every request is kept in
    ``requests``, in the order they were sent::

        sender = MemorySender(lambda request: (202, b"queued"))
        results = await replay.run(deliveries, options, on_result=print, sender=sender)
        assert sender.requests[0].header("Mux-Signature")
    """

    def __init__(
        self, answer: Callable[[SentRequest], MemoryAnswer | Awaitable[MemoryAnswer]]
    ) -> None:
        self.answer = answer
        self.requests: list[SentRequest] = []

    async def __aenter__(self) -> MemorySender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Nothing to close."""

    async def send(
        self, url: str, body: bytes, headers: Sequence[tuple[str, str]], *, timeout: float
    ) -> Attempt:
        """Record the request and return what ``answer`` made of it, never an exception."""
        request = SentRequest(url, body, tuple(headers), timeout)
        self.requests.append(request)
        started_wall, started = time.time(), time.perf_counter()

        def attempt(status: int | None, answer: bytes, error: str | None) -> Attempt:
            latency = (time.perf_counter() - started) * 1000
            return Attempt(started_wall, url, status, latency, answer[:RESPONSE_KEEP], error)

        try:
            answered = self.answer(request)
            if inspect.isawaitable(answered):
                answered = await asyncio.wait_for(answered, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return attempt(None, b"", f"timed out after {timeout:g} s")
        except Exception as error:  # the app "unreachable": said, never raised
            return attempt(None, b"", str(error) or type(error).__name__)
        status, answer = (answered, b"") if isinstance(answered, int) else answered
        return attempt(status, answer, None)
