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

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping

from muxhook import providers

__all__ = ["explain_header_shape", "explain_mismatch", "explain_missing"]


def explain_missing(name: str, headers: Mapping[str, str]) -> str | None:
    """When the expected header is absent, say which provider's header is there."""
    other = providers.detect(headers)
    if other and other != name:
        module = providers.get(other)
        return (
            f"the request carries {module.HEADER}: it was signed by {module.LABEL}; "
            f"use --provider {other}"
        )
    return None


def explain_header_shape(name: str, value: str) -> str | None:
    """A header value shaped like another provider's signature says where it came from."""
    text = value.strip()
    if name != "millicast" and text.startswith("sha1="):
        return "that value looks like a Millicast signature (sha1=…); use --provider millicast"
    if name != "fastpix" and re.fullmatch(r"[A-Za-z0-9+/]{43}=", text):
        return "that value looks like a FastPix signature (base64); use --provider fastpix"
    if name != "mux" and re.match(r"t=\d+,", text):
        return "that value looks like a Mux signature (t=…,v1=…); use --provider mux"
    return None


def explain_mismatch(name: str, body: bytes, headers: Mapping[str, str], secret: str) -> str | None:
    """The usual mistake that explains a signature mismatch, or None."""
    module = providers.get(name)
    value = providers.header_value(headers, module.HEADER) or ""
    shape = explain_header_shape(name, value)
    if shape:
        return shape
    parsed = module.parse_header(value)
    if name == "mux" and any(s != s.lower() for s in parsed.signatures):
        return "the v1 signature has uppercase hex; Mux sends lowercase, so the header was altered"

    def matches(candidate_body: bytes, key: bytes) -> bool:
        expected = module.signature(candidate_body, key, parsed.timestamp)
        return providers.any_matches(expected, parsed.signatures)

    keys = list(_key_variants(name, secret))
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
    return "check that the secret is this endpoint's signing secret (not an API token secret)"


def _key_variants(name: str, secret: str) -> Iterator[tuple[str, bytes]]:
    """The right key first, then the keys of the usual mistakes, each with its story."""
    module = providers.get(name)
    yield "", module.secret_key(secret)
    stripped = secret.strip().strip("\"'").strip()
    if stripped != secret and stripped:
        yield (
            "the secret has surrounding whitespace or quotes; remove them "
            "(check --secret, the environment variable or .env)",
            module.secret_key(stripped),
        )
    if name == "mux":
        yield (
            "the signature was made with a newline after the secret (a secret read from a "
            "file without stripping it)",
            module.secret_key(secret + "\n"),
        )
        decoded = _b64decode(secret)
        if decoded is not None:
            yield (
                "the signature was made with the base64-decoded secret; Mux keys the HMAC with "
                "the secret exactly as shown (UTF-8), do not decode it",
                decoded,
            )
    else:
        yield (
            f"the signature was made with the secret used raw; {module.LABEL} keys the HMAC with "
            "the base64-decoded secret",
            secret.encode("utf-8"),
        )


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


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
