"""Webhook providers: what each video platform means to muxhook, one typed object each.

A provider is an instance of a ``Provider`` subclass, defined in its own module
(``muxhook/providers/mux.py``…) as ``PROVIDER``. It knows everything that platform
means: its signature header and how to recognise its requests, its secret and how the
dashboard shows it, how it signs and verifies, what its bodies say about themselves
(type, event id, object), its event catalog and envelope model, how long it waits for
one attempt, where its dashboard takes the URL, and its own diagnosis hints. Nothing
outside this package branches on a provider's name.

``REGISTRY`` lists them, in detection order; adding a platform is one module, its
fixtures (``fixtures/<name>/``) and one line there. The README's "Adding a provider"
walks through it.

Everything here is standard library only, so ``sign`` and ``verify`` start fast; a
provider module is imported the first time it is asked for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import json
import re
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import ClassVar, NamedTuple

__all__ = [
    "DEFAULT",
    "NAMES",
    "REGISTRY",
    "Described",
    "EventType",
    "Provider",
    "SignedHeader",
    "Verdict",
    "all_providers",
    "any_matches",
    "catalog",
    "detect",
    "get",
    "guess",
    "guess_from_fields",
    "header_value",
    "json_field",
    "json_fields",
    "load_object",
    "lower_headers",
    "parse_time",
    "text_or_none",
    "timestamped_hmac",
]

#: Provider name → the module that defines its ``PROVIDER``; the order is detection order.
REGISTRY: dict[str, str] = {
    "mux": "muxhook.providers.mux",
    "fastpix": "muxhook.providers.fastpix",
    "millicast": "muxhook.providers.millicast",
    "cloudflare": "muxhook.providers.cloudflare",
}
NAMES: tuple[str, ...] = tuple(REGISTRY)
#: The provider of a bare event name and of a body nothing else claims.
DEFAULT = "mux"

#: What a provider module answers for its ``PROVIDER``: the functions and constants code
#: and tests import from the module (``from muxhook.providers import mux``; ``mux.verify``).
_MODULE_NAMES = frozenset(
    {"NAME", "LABEL", "HEADER", "SECRET_ENV", "secret_key", "signature", "parse_header"}
    | {"sign", "verify", "describe", "event_type"}
)

_loaded: dict[str, Provider] = {}  # by ``get``: the listener asks several times per request


class EventType(NamedTuple):
    """One entry of a provider's event catalog."""

    name: str
    description: str
    legacy: bool = False


class SignedHeader(NamedTuple):
    """What a signature header carries: an optional timestamp and the signatures."""

    timestamp: str | None
    signatures: tuple[str, ...]


class Described(NamedTuple):
    """What a body says about itself: its event type, event id, the object it is about,
    and when the platform says it happened (unix seconds), if it says."""

    event_type: str | None = None
    event_id: str | None = None
    object_id: str | None = None
    occurred_at: float | None = None


class Verdict(NamedTuple):
    """A signature that verified."""

    provider: str
    header: str
    timestamp: int | None = None
    age: float | None = None  # seconds between the timestamp and ``now``


class Provider:
    """One video platform. Subclasses set the constants and override what differs.

    The constants are upper case, as constants are; the methods are the platform's
    behaviour. ``verify`` is written once here: it calls ``parse_header`` and
    ``signature``, so signing and verifying cannot drift apart.
    """

    #: The name in ``--provider``, fixture folders, the log and qualified event names.
    NAME: ClassVar[str]
    #: The name people write.
    LABEL: ClassVar[str]
    #: The signature header, as the platform spells it.
    HEADER: ClassVar[str]
    #: The environment variable that holds the endpoint's signing secret.
    SECRET_ENV: ClassVar[str]
    #: The dashboard shows the secret base64-encoded, and the HMAC key is its decoding.
    SECRET_IS_BASE64: ClassVar[bool] = False
    #: The header signs a timestamp: requests expire, and a replay window is checked.
    SIGNS_TIMESTAMP: ClassVar[bool] = False
    #: The name of the signed timestamp in the header, for messages.
    TIMESTAMP_NAME: ClassVar[str] = "t"
    #: Seconds the platform waits for one attempt before counting it failed (None: unknown).
    ATTEMPT_TIMEOUT: ClassVar[float | None] = None
    #: How its signature header's value looks, for "that value looks like …" hints.
    SIGNATURE_SHAPE: ClassVar[str] = ""
    #: Where the public URL goes, completing "paste it into …".
    DASHBOARD: ClassVar[str]
    #: The envelope model's name in ``muxhook.models`` (imported only when events are parsed).
    ENVELOPE: ClassVar[str]
    #: The event catalog, in the order ``muxhook events`` lists it.
    EVENTS: ClassVar[dict[str, EventType]]
    #: The top-level body field that says when the event happened (ISO 8601 text, or unix
    #: seconds or milliseconds); None when the body carries no such time.
    OCCURRED_AT: ClassVar[str | None] = "created_at"

    def __repr__(self) -> str:
        return f"<provider {self.NAME}>"

    def module_attribute(self, name: str) -> typing.Any:
        """The provider module's spelling of this object (``mux.sign``, ``fastpix.HEADER``):
        a provider module's ``__getattr__`` answers with it."""
        if name in _MODULE_NAMES:
            return getattr(self, name)
        raise AttributeError(f"module {type(self).__module__!r} has no attribute {name!r}")

    # -- signing ----------------------------------------------------------------

    def secret_key(self, secret: str) -> bytes:
        """The HMAC key the dashboard's secret stands for; a UsageError when it cannot be one."""
        if self.SECRET_IS_BASE64:
            return _base64_secret_key(secret, self.LABEL)
        return _utf8_secret_key(secret, self.LABEL)

    def signature(self, body: bytes, key: bytes, timestamp: str | None) -> str:
        """One signature, as it appears in the header."""
        raise NotImplementedError

    def header_value(self, signature: str, timestamp: str | None) -> str:
        """The signature header's value around one signature."""
        return signature

    def sign(self, body: bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
        """The headers that sign ``body`` (at ``timestamp``, unix seconds, when it is signed)."""
        stamp: str | None = None
        if self.SIGNS_TIMESTAMP:
            if timestamp is None or not 0 <= int(timestamp) < 10**15:
                from muxhook.errors import UsageError

                raise UsageError(f"timestamp {timestamp} is not unix seconds (0 to 10^15)")
            stamp = str(int(timestamp))
        value = self.header_value(self.signature(body, self.secret_key(secret), stamp), stamp)
        return {self.HEADER: value, "Content-Type": "application/json"}

    # -- verifying ----------------------------------------------------------------

    def recognises(self, headers: Mapping[str, str]) -> bool:
        """Whether a request carries this platform's signature header."""
        wanted = self.HEADER.lower()
        return any(name.lower() == wanted for name in headers)

    def parse_header(self, value: str) -> SignedHeader:
        """The header's timestamp and signatures; a SignatureError when it has none."""
        value = value.strip()
        if not value:
            from muxhook.errors import SignatureError

            raise SignatureError("malformed_header", f"{self.HEADER} is empty", provider=self.NAME)
        return SignedHeader(None, (value,))

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        secret: str,
        now: float | None = None,
        tolerance: float | None = 300.0,
        max_future: float | None = 300.0,
    ) -> Verdict:
        """Check ``body`` against its signature header; raise SignatureError if it fails.

        The signature is checked before the age, as the official Mux SDK does, so a
        forged and old request reports the mismatch. ``now``, ``tolerance`` and
        ``max_future`` matter only to a platform that signs a timestamp.
        """
        from muxhook.errors import SignatureError

        key = self.secret_key(secret)  # an empty secret is refused before anything else
        value = header_value(headers, self.HEADER)
        if value is None:
            raise SignatureError("missing_header", f"no {self.HEADER} header", provider=self.NAME)
        parsed = self.parse_header(value)
        expected = self.signature(body, key, parsed.timestamp)
        if not any_matches(expected, parsed.signatures):
            raise SignatureError(
                "mismatch", f"{self.HEADER} does not match the body and secret", provider=self.NAME
            )
        if not self.SIGNS_TIMESTAMP or parsed.timestamp is None:
            return Verdict(self.NAME, self.HEADER)
        if now is None:
            import time

            now = time.time()
        return self._check_age(int(parsed.timestamp), now, tolerance, max_future)

    def _check_age(
        self, t: int, now: float, tolerance: float | None, max_future: float | None
    ) -> Verdict:
        from muxhook.errors import SignatureError

        age = now - t
        if tolerance is not None and age > tolerance:
            raise SignatureError(
                "stale",
                f"the timestamp is {age:.0f} s old, over the {tolerance:.0f} s tolerance "
                f"(signed {duration(age)} ago: re-sign it, or pass --now/--tolerance to check "
                "an old capture)",
                provider=self.NAME,
            )
        if max_future is not None and -age > max_future:
            hint = (
                f" (it looks like milliseconds: {self.TIMESTAMP_NAME} must be in seconds)"
                if t > 10**11
                else ""
            )
            raise SignatureError(
                "future",
                f"the timestamp is {-age:.0f} s in the future ({duration(-age)} ahead), over "
                f"the {max_future:.0f} s allowed for clock skew{hint}",
                provider=self.NAME,
            )
        return Verdict(self.NAME, self.HEADER, timestamp=t, age=age)

    # -- what a body says -----------------------------------------------------------

    def describe(self, body: bytes, headers: Mapping[str, str] | None = None) -> Described:
        """What a JSON object body names (``names``) and when it happened (``OCCURRED_AT``)."""
        parsed = load_object(body)
        if parsed is None:
            return Described()
        event_type, event_id, object_id = self.names(parsed)
        return Described(event_type, event_id, object_id, self.occurred_at(parsed))

    def names(self, payload: Mapping[str, object]) -> tuple[str | None, str | None, str | None]:
        """The event type, event id and object id of a body: here ``type``, ``id`` and
        ``object.id`` of a ``{type, id, object: {id}}`` envelope."""
        target = payload.get("object")
        object_id = text_or_none(target.get("id")) if isinstance(target, dict) else None
        return text_or_none(payload.get("type")), text_or_none(payload.get("id")), object_id

    def occurred_at(self, payload: Mapping[str, object]) -> float | None:
        """When the body says its event happened (unix seconds), from ``OCCURRED_AT``."""
        return parse_time(payload.get(self.OCCURRED_AT)) if self.OCCURRED_AT else None

    def creation_event(self, event_type: str) -> str | None:
        """The catalog's ``<family>.created`` for an event of ``event_type``, if it has one.

        ``video.asset.ready`` belongs to the family ``video.asset``, born with
        ``video.asset.created``; a family with no such event in the catalog has no birth
        to miss (None), and neither has the creation event itself.
        """
        family, dot, _ = event_type.rpartition(".")
        created = f"{family}.created"
        if not dot or created == event_type or created not in self.EVENTS:
            return None
        return created

    def event_type(self, body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
        """The event name a body carries, or None."""
        return self.describe(body, headers).event_type

    def claims(self, body: bytes, payload: Mapping[str, object] | None) -> bool:
        """Whether a body with no signature header looks like this platform's.

        ``payload`` is the body as a JSON object, or None when it is not one.
        """
        return False

    def fixture_name(self, event: str) -> str:
        """The bundled fixture file of ``event`` in ``fixtures/<NAME>/``."""
        return f"{event}.json"

    def envelope(self) -> type[typing.Any]:
        """The pydantic model of this platform's body (imports pydantic)."""
        models = importlib.import_module("muxhook.models")
        model: type[typing.Any] = getattr(models, self.ENVELOPE)
        return model

    # -- diagnosis ----------------------------------------------------------------------

    def looks_like(self, value: str) -> bool:
        """Whether a signature header's value has this platform's shape."""
        return False

    def header_hint(self, parsed: SignedHeader) -> str | None:
        """A mistake the signatures themselves show (before any HMAC is tried)."""
        return None

    def key_mistakes(self, secret: str) -> Iterator[tuple[str, bytes]]:
        """The keys of the usual secret mistakes, each with the story that explains it."""
        if self.SECRET_IS_BASE64:
            yield (
                f"the signature was made with the secret used raw; {self.LABEL} keys the HMAC "
                "with the base64-decoded secret",
                secret.encode("utf-8", "surrogateescape"),
            )
            return
        yield (
            "the signature was made with a newline after the secret (a secret read from a "
            "file without stripping it)",
            self.secret_key(secret + "\n"),
        )
        decoded = _b64decode(secret)
        if decoded:
            yield (
                f"the signature was made with the base64-decoded secret; {self.LABEL} keys the "
                "HMAC with the secret exactly as shown (UTF-8), do not decode it",
                decoded,
            )

    def other_secret(self, secret: str) -> str:
        """A secret in this platform's form that is not ``secret`` (to sign forgeries with)."""
        import hashlib

        digest = hashlib.sha256(b"muxhook-forgery:" + secret.encode("utf-8", "replace")).digest()
        if self.SECRET_IS_BASE64:
            return base64.b64encode(digest).decode("ascii")
        return "forged-" + digest.hex()[:24]


# -- the registry -----------------------------------------------------------------------


def get(name: str) -> Provider:
    """The provider called ``name``; a UsageError naming the choices otherwise."""
    provider = _loaded.get(name)
    if provider is not None:
        return provider
    if name not in REGISTRY:
        from muxhook.errors import UsageError

        raise UsageError(f"unknown provider {name!r}; choose one of: {', '.join(NAMES)}")
    # Imported on first use: ``sign`` for Mux never loads the others.
    found = importlib.import_module(REGISTRY[name]).PROVIDER
    if not isinstance(found, Provider):
        raise TypeError(f"{REGISTRY[name]}.PROVIDER is not a Provider")
    _loaded[name] = found
    return found


def all_providers() -> tuple[Provider, ...]:
    """Every provider, in detection order."""
    return tuple(get(name) for name in NAMES)


def detect(headers: Mapping[str, str]) -> str | None:
    """The provider whose signature header the request carries, or None."""
    for provider in all_providers():
        if provider.recognises(headers):
            return provider.NAME
    return None


def guess(body: bytes) -> str:
    """The provider a body's shape suggests, when no header or folder says; else DEFAULT."""
    payload = load_object(body)
    for provider in all_providers():
        if provider.claims(body, payload):
            return provider.NAME
    return DEFAULT


def guess_from_fields(payload: Mapping[str, object]) -> str:
    """The provider a JSON object's top-level fields suggest; else DEFAULT."""
    for provider in all_providers():
        if provider.claims(b"", payload):
            return provider.NAME
    return DEFAULT


def catalog(
    entries: Iterable[tuple[str, str]], legacy: Iterable[tuple[str, str]] = ()
) -> dict[str, EventType]:
    """Build an ordered catalog from ``(name, description)`` pairs."""
    events = {name: EventType(name, text) for name, text in entries}
    events.update({name: EventType(name, text, legacy=True) for name, text in legacy})
    return events


# -- helpers the providers share ----------------------------------------------------------


def load_object(body: bytes) -> dict[str, typing.Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def text_or_none(value: object) -> str | None:
    """``value`` when it is a non-empty string or a number (as text), else None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_time(value: object) -> float | None:
    """Unix seconds from ISO 8601 text (``2025-01-17T05:50:02.114035449Z``) or a number of
    seconds or milliseconds; None when ``value`` is none of these."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number / 1000 if number > 10**11 else number  # milliseconds after 1973
    if not isinstance(value, str) or not value:
        return None
    import datetime

    # fromisoformat takes at most six fractional digits (and no "Z" before Python 3.11).
    text = _FRACTION.sub(lambda m: m.group(1)[:7], value.strip().replace("Z", "+00:00"))
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


_FRACTION = re.compile(r"(\.[0-9]+)")


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased, as HTTP treats them; a repeated name keeps its last value."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name.lower(): value for name, value in items}


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, looked up without regard to case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def any_matches(expected: str, signatures: Iterable[str]) -> bool:
    """True when any of ``signatures`` equals ``expected``, compared in constant time.

    Every candidate is compared, so the time taken does not say which one matched.
    """
    found = False
    for candidate in signatures:
        found |= hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
    return found


def json_fields(body: bytes, *names: str) -> tuple[object, ...]:
    """Top-level fields of a JSON object body; None for each when the body is not one."""
    parsed = load_object(body)
    if parsed is None:
        return tuple(None for _ in names)
    return tuple(parsed.get(name) for name in names)


def json_field(body: bytes, name: str) -> object:
    """One top-level field of a JSON object body, or None."""
    return json_fields(body, name)[0]


def timestamped_hmac(body: bytes, key: bytes, timestamp: str | None) -> str:
    """Lowercase hex HMAC-SHA256 of ``"<timestamp>." + body`` (Mux's and Cloudflare Stream's)."""
    message = (timestamp or "").encode("ascii", "replace") + b"." + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def timestamped_header(value: str, *, time_key: str, signature_key: str) -> dict[str, list[str]]:
    """``k=v,k=v`` read as written: keys split on the first ``=``, repeats kept in order."""
    fields: dict[str, list[str]] = {time_key: [], signature_key: []}
    for item in value.strip().split(","):
        key, sep, val = item.partition("=")
        if sep and key in fields:
            fields[key].append(val)
    return fields


def duration(seconds: float) -> str:
    """``seconds`` in the unit a person would say: ``5 minutes``, ``3 years``."""
    units = (
        ("year", 365.25 * 86_400),
        ("month", 30.44 * 86_400),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
    )
    for name, size in units:
        if seconds >= 1.5 * size or (name == "minute" and seconds >= 90):
            count = round(seconds / size)
            return f"{count} {name}{'s' if count != 1 else ''}"
    count = round(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


_WHOLE_NUMBER = re.compile(r"[0-9]{1,15}")


def is_whole_number(text: str) -> bool:
    """A timestamp written as plain digits (at most 15 of them)."""
    return _WHOLE_NUMBER.fullmatch(text) is not None


def _utf8_secret_key(secret: str, label: str) -> bytes:
    """A secret used as it is: its UTF-8 bytes, never empty.

    A secret from the environment that is not valid UTF-8 arrives as lone surrogates
    (``os.environ`` decodes with surrogateescape): encoding it back gives the bytes
    that were set, which is the key the sender used.
    """
    from muxhook.errors import UsageError

    if not secret:
        raise UsageError(f"the {label} secret is empty: give the endpoint's signing secret")
    try:
        return secret.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise UsageError(f"the {label} secret cannot be encoded as bytes") from None


def _base64_secret_key(secret: str, label: str) -> bytes:
    """Decode a secret that the platform shows base64-encoded."""
    from muxhook.errors import UsageError

    text = secret.strip()
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        hint = "remove the quotes around it" if quoted else "copy it exactly from the dashboard"
        raise UsageError(
            f"the {label} secret is not base64: {label} shows its signing secret "
            f"base64-encoded; {hint}"
        ) from None
    if not key:
        raise UsageError(f"the {label} secret is empty: give the endpoint's signing secret")
    return key


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
