"""Name the mistake behind a failed signature, when it is one of the usual ones.

Every official SDK's issue tracker opens with the same reports: the body was
parsed and re-serialised before verifying, the secret was base64-decoded when it
should not be (or the reverse), the secret carries whitespace or quotes from a
``.env`` file, or the request came from another provider. For a mismatch we
re-run the HMAC over the plausible originals of body and key; the first
combination that matches is the explanation. Each candidate is a few
microseconds of HMAC, so trying them all costs nothing a person would notice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from muxhook import providers

__all__ = [
    "REJECTS_SIGNATURE",
    "app_rejected_valid",
    "explain_header_shape",
    "explain_mismatch",
    "explain_missing",
]

#: The statuses with which an app says a request is not allowed in, signature included.
REJECTS_SIGNATURE = frozenset({400, 401, 403})


def explain_missing(name: str, headers: Mapping[str, str]) -> str | None:
    """When the expected header is absent, say which provider's header is there, or which
    header is there in a shape no provider signs with."""
    other = providers.detect(headers)
    if other and other != name:
        provider = providers.get(other)
        return (
            f"the request carries {provider.HEADER}: it was signed by {provider.LABEL}; "
            f"use --provider {other}"
        )
    for provider in providers.all_providers():
        value = providers.header_value(headers, provider.HEADER)
        if value is not None and not provider.recognises(headers):
            hint = (
                f"it has a {provider.HEADER} header, but not in {provider.LABEL}'s form "
                f"({provider.SIGNATURE_SHAPE})"
            )
            if value.strip().startswith("v1,"):
                hint += (
                    "; v1,<base64> is a Standard Webhooks signature, which muxhook does not check"
                )
            return hint
    return None


def explain_header_shape(name: str, value: str) -> str | None:
    """A header value shaped like another provider's signature says where it came from."""
    for other in providers.all_providers():
        if other.NAME != name and other.looks_like(value):
            return f"that value looks like a {other.LABEL} signature; use --provider {other.NAME}"
    return None


def explain_mismatch(name: str, body: bytes, headers: Mapping[str, str], secret: str) -> str | None:
    """The usual mistake that explains a signature mismatch, or None."""
    provider = providers.get(name)
    value = providers.header_value(headers, provider.HEADER) or ""
    shape = explain_header_shape(name, value)
    if shape:
        return shape
    parsed = provider.parse_header(value)
    shown = provider.header_hint(parsed)
    if shown:
        return shown

    def matches(candidate_body: bytes, key: bytes) -> bool:
        expected = provider.signature(candidate_body, key, parsed.timestamp)
        return providers.any_matches(expected, parsed.signatures)

    keys = list(_key_variants(provider, secret))
    bodies = list(_body_variants(body))
    right_key = keys[0][1]
    for body_story, candidate in bodies:
        if matches(candidate, right_key):
            return f"the body was re-serialised: {body_story}; verify the raw bytes as received"
    for key_story, key in keys[1:]:
        if matches(body, key):
            return key_story
    for key_story, key in keys[1:]:
        for body_story, candidate in bodies:
            if matches(candidate, key):
                return f"{key_story}; and the body was re-serialised: {body_story}"
    if _keys_sorted(body):
        return (
            "the body's keys are in alphabetical order, which platforms do not send: it was "
            "probably re-serialised with sorted keys; verify the raw bytes as received"
        )
    return (
        "the body changed after signing, or the secret is not this endpoint's signing secret "
        "(not an API token secret)"
    )


def _key_variants(provider: providers.Provider, secret: str) -> Iterator[tuple[str, bytes]]:
    """The right key first, then the keys of the usual mistakes, each with its story."""
    yield "", provider.secret_key(secret)
    stripped = secret.strip().strip("\"'").strip()
    if stripped != secret and stripped:
        yield (
            "the secret has surrounding whitespace or quotes; remove them "
            "(check --secret, the environment variable or .env)",
            provider.secret_key(stripped),
        )
    yield from provider.key_mistakes(secret)


def _body_variants(body: bytes) -> Iterator[tuple[str, bytes]]:
    """Plausible original bytes of a body that was altered, each with its story."""
    seen = {body}

    def fresh(candidate: bytes) -> bool:
        if candidate in seen:
            return False
        seen.add(candidate)
        return True

    trimmed = body.rstrip(b"\r\n")
    if fresh(trimmed):
        yield "a trailing newline was added", trimmed
    unix = body.replace(b"\r\n", b"\n")
    if fresh(unix):
        yield "line endings were changed to CRLF", unix
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return
    for ascii_only in (False, True):
        candidate = json.dumps(parsed, separators=(",", ":"), ensure_ascii=ascii_only).encode()
        if fresh(candidate):
            yield _describe(body, candidate), candidate
    whole = json.dumps(_whole_floats_as_ints(parsed), separators=(",", ":"), ensure_ascii=False)
    if fresh(whole.encode()):
        yield "numbers were reformatted (5 became 5.0)", whole.encode()
    for indent in (2, 4):
        candidate = json.dumps(parsed, indent=indent, ensure_ascii=False).encode()
        if fresh(candidate):
            yield f"its indentation was changed (the signed body used {indent} spaces)", candidate
    default = json.dumps(parsed, ensure_ascii=False).encode()
    if fresh(default):
        yield "it was re-serialised with spaces after ',' and ':'", default
    if fresh(body + b"\n"):
        yield "a trailing newline was removed", body + b"\n"


def _describe(received: bytes, original: bytes) -> str:
    """Say how ``received`` differs from the compact ``original`` it was made from."""
    changes = []
    if b"\n" in received.strip():
        changes.append("it was pretty-printed")
    if b"\\u" in received and b"\\u" not in original:
        changes.append("non-ASCII text was escaped as \\uXXXX")
    elif b"\\u" in original and b"\\u" not in received:
        changes.append("escaped \\uXXXX text was written out as UTF-8")
    if not changes:
        changes.append("its spacing was changed")
    return " and ".join(changes)


def _whole_floats_as_ints(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_floats_as_ints(item) for key, item in value.items()}
    return value


def _keys_sorted(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    keys = list(parsed) if isinstance(parsed, dict) else []
    return len(keys) >= 3 and keys == sorted(keys)


def app_rejected_valid(label: str, status: int, resigned_from: str | None) -> str:
    """Why an app may answer 400/401/403 to an event whose signature muxhook found valid:
    the usual two mistakes, as a question to the developer."""
    secret = (
        f"the forward secret muxhook re-signs with (from {resigned_from})"
        if resigned_from
        else "this endpoint's signing secret"
    )
    return (
        f"your app answered {status} to an event whose {label} signature is valid: does it "
        "verify the raw body as received (not JSON parsed and serialised again), and is "
        f"its secret {secret}?"
    )
