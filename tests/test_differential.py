"""A differential check of Mux signatures: muxhook against the official SDK, row by row.

Each row of ``CASES`` is a body and a ``Mux-Signature`` header, with the verdict muxhook
gives (``ok``, or the ``SignatureError.reason``) and the verdict ``@mux/mux-node`` gives
(``ok``, or its error message); both are asserted exactly. A row where one accepts and
the other refuses is a *disagreement*: every one is listed in ``DISAGREEMENTS`` with the
reason, and a test asserts that the rows that disagree are exactly those, so a new
disagreement fails loudly.

The SDK's verdict is its signature check. ``unwrap`` also runs ``JSON.parse`` on the
body, which ``verify`` does not do; a body that is not JSON (empty, BOM, NUL) whose
signature verified counts as ``ok`` (the harness reports ``signature_ok``).

Signatures are made here with Python's ``hmac`` over the timestamp *as written*;
``test_python_signer_matches_node`` checks that helper against ``node:crypto``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import NamedTuple

import pytest

from muxhook.errors import SignatureError, UsageError
from muxhook.providers import mux
from tests.mux_judge import Judge


class Case(NamedTuple):
    name: str
    body: bytes
    header: str
    secret: str
    now: float
    muxhook: str  # "ok" or SignatureError.reason
    sdk: str  # "ok" or the SDK's error message


S = "SuperSecret123"
T = 1_700_000_000
BODY = b'{"type":"video.asset.ready","id":"evt-1","object":{"type":"asset","id":"a1"}}'


def v1(t: object, body: bytes = BODY, secret: str = S) -> str:
    """The v1 value for ``"<t>." + body``, ``t`` exactly as written."""
    message = f"{t}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def hdr(t: object, *signatures: str) -> str:
    """``t=<t>,v1=<sig>,…``"""
    return ",".join([f"t={t}", *(f"v1={s}" for s in signatures)])


def signed(body: bytes, t: object = T, secret: str = S) -> str:
    return hdr(t, v1(t, body, secret))


GOOD = v1(T)
BAD = "0" * 64
NAN = v1("NaN")  # what the SDK computes for a t that parseInt cannot read
OK = "ok"

# The SDK's messages, verbatim (resources/webhooks/webhooks.mjs, 15.3.0).
SDK_MISMATCH = "No signatures found matching the expected signature for payload."
SDK_TOO_OLD = "Webhook timestamp is too old"
SDK_NO_V1 = "No v1 signatures found"
SDK_NO_T = "Unable to extract timestamp and signatures from header"
SDK_NO_HEADER = "Could not find a mux-signature header"
SDK_NOT_LATIN1 = (  # from the Headers class, for a header value that is not Latin-1
    "Cannot convert argument to a ByteString because the character at index 2 has a value "
    "of 1633 which is greater than 255."
)
SDK_NO_SECRET = (
    "The webhook secret must either be set using the env var, MUX_WEBHOOK_SECRET, on the "
    "client class, Mux({ webhookSecret: '123' }), or passed to this function"
)

CAFE = '{"type":"video.asset.ready","data":{"title":"café"}}'.encode()
COFFEE = '{"type":"video.asset.ready","data":{"title":"☕ break"}}'.encode()
EMOJI = '{"type":"video.asset.ready","data":{"title":"🎬👩🏽‍💻"}}'.encode()
NEWLINE = BODY + b"\n"
CRLF = b'{\r\n  "type": "video.asset.ready",\r\n  "id": "evt-1"\r\n}\r\n'
BOM = b"\xef\xbb\xbf" + BODY
NUL = b'{"type":"video.asset.ready"}\x00trailing'
BIG = b'{"type":"video.asset.ready","data":{"blob":"' + b"x" * (1 << 20) + b'"}}'
MANY_BAD = ",".join([f"v1={BAD}"] * 125)  # 8.4 KB of wrong signatures
MS = T * 1000  # a millisecond timestamp
HUGE_T = 10**16  # 17 digits: past muxhook's 15-digit limit, still exact in a JS number
ARABIC_T = "١٧٠٠٠٠٠٠٠٠"  # T in Arabic-Indic digits: Python's int() reads them
ARABIC_WIRE = ARABIC_T.encode().decode("latin-1")  # the same, as HTTP servers decode headers

# fmt: off
CASES: list[Case] = [
    # --- the plain cases
    Case("good", BODY, hdr(T, GOOD), S, T, OK, OK),
    Case("wrong-secret", BODY, hdr(T, GOOD), "SuperSecret124", T, "mismatch", SDK_MISMATCH),
    Case("non-ascii-secret", BODY, signed(BODY, secret="sécret-☕"), "sécret-☕", T, OK, OK),
    Case("secret-plus-newline", BODY, signed(BODY, secret=S + "\n"), S, T, "mismatch",
         SDK_MISMATCH),
    Case("empty-secret", BODY, signed(BODY, secret=""), "", T, "empty_secret", SDK_NO_SECRET),
    # --- several v1
    Case("v1-good-first", BODY, hdr(T, GOOD, BAD, BAD), S, T, OK, OK),
    Case("v1-good-last", BODY, hdr(T, BAD, BAD, GOOD), S, T, OK, OK),
    Case("v1-all-bad", BODY, hdr(T, BAD, "1" * 64, "f" * 64), S, T, "mismatch", SDK_MISMATCH),
    Case("v1-duplicate", BODY, hdr(T, GOOD, GOOD), S, T, OK, OK),
    Case("v1-many-bad-then-good", BODY, f"t={T},{MANY_BAD},v1={GOOD}", S, T, OK, OK),
    Case("v1-many-bad-8kb", BODY, f"t={T},{MANY_BAD}", S, T, "mismatch", SDK_MISMATCH),
    # --- whitespace
    Case("space-after-commas", BODY, f"t={T}, v1={GOOD}", S, T, "no_signature", SDK_NO_V1),
    Case("tab-after-comma", BODY, f"t={T},\tv1={GOOD}", S, T, "no_signature", SDK_NO_V1),
    Case("space-then-good-v1", BODY, f"t={T}, v1={BAD},v1={GOOD}", S, T, OK, OK),
    Case("space-before-t", BODY, f" t={T},v1={GOOD}", S, T, OK, OK),
    Case("space-after-header", BODY, f"t={T},v1={GOOD} ", S, T, OK, OK),
    Case("space-before-eq-v1", BODY, f"t={T},v1 ={GOOD}", S, T, "no_signature", SDK_NO_V1),
    Case("space-after-eq-v1", BODY, f"t={T},v1= {GOOD}", S, T, "mismatch", SDK_MISMATCH),
    Case("space-before-eq-t", BODY, f"t ={T},v1={GOOD}", S, T, "malformed_header", SDK_NO_T),
    Case("space-after-eq-t", BODY, f"t= {T},v1={GOOD}", S, T, "malformed_header", OK),
    # --- case and length of the signature
    Case("uppercase-hex", BODY, hdr(T, GOOD.upper()), S, T, "mismatch", SDK_MISMATCH),
    Case("mixed-case-V1", BODY, f"t={T},V1={GOOD}", S, T, "no_signature", SDK_NO_V1),
    Case("uppercase-T", BODY, f"T={T},v1={GOOD}", S, T, "malformed_header", SDK_NO_T),
    Case("v1-63-chars", BODY, hdr(T, GOOD[:-1]), S, T, "mismatch", SDK_MISMATCH),
    Case("v1-65-chars", BODY, hdr(T, GOOD + "0"), S, T, "mismatch", SDK_MISMATCH),
    Case("v1-non-hex", BODY, hdr(T, "z" * 64), S, T, "mismatch", SDK_MISMATCH),
    Case("v1-non-ascii", BODY, hdr(T, "é" * 64), S, T, "mismatch", SDK_MISMATCH),
    Case("v1-empty", BODY, f"t={T},v1=", S, T, "mismatch", SDK_MISMATCH),
    Case("v1-no-equals", BODY, f"t={T},v1", S, T, "no_signature", SDK_NO_V1),
    Case("v1-eq-inside", BODY, f"t={T},v1={GOOD}=extra", S, T, "mismatch", OK),
    # --- the timestamp's text
    Case("t-empty", BODY, hdr("", NAN), S, T, "malformed_header", OK),
    Case("t-abc", BODY, hdr("abc", NAN), S, T, "malformed_header", OK),
    Case("t-abc-signed-as-written", BODY, signed(BODY, "abc"), S, T, "malformed_header",
         SDK_MISMATCH),
    Case("t-arabic-digits", BODY, hdr(ARABIC_T, NAN), S, T, "malformed_header", SDK_NOT_LATIN1),
    Case("t-arabic-digits-wire", BODY, hdr(ARABIC_WIRE, NAN), S, T, "malformed_header", OK),
    Case("t-1.5", BODY, hdr("1.5", v1(1)), S, T, "malformed_header", SDK_TOO_OLD),
    Case("t-fraction", BODY, hdr(f"{T}.5", GOOD), S, T, "malformed_header", OK),
    Case("t-trailing-junk", BODY, hdr(f"{T}abc", GOOD), S, T, "malformed_header", OK),
    Case("t-eq-inside", BODY, hdr(f"{T}=5", GOOD), S, T, "malformed_header", OK),
    Case("t-plus-sign", BODY, hdr(f"+{T}", GOOD), S, T, "malformed_header", OK),
    Case("t-leading-zero-as-written", BODY, signed(BODY, f"0{T}"), S, T, OK, SDK_MISMATCH),
    Case("t-leading-zero-as-sdk", BODY, hdr(f"0{T}", GOOD), S, T, "mismatch", OK),
    Case("t-negative", BODY, signed(BODY, -T), S, T, "malformed_header", SDK_TOO_OLD),
    Case("t-minus-one", BODY, signed(BODY, -1), S, T, "malformed_header", SDK_NO_T),
    Case("t-zero", BODY, signed(BODY, 0), S, T, "stale", SDK_TOO_OLD),
    Case("t-17-digits", BODY, signed(BODY, HUGE_T), S, T, "malformed_header", OK),
    Case("t-milliseconds", BODY, signed(BODY, MS), S, T, "future", OK),
    Case("t-missing", BODY, f"v1={GOOD}", S, T, "malformed_header", SDK_NO_T),
    Case("t-after-v1", BODY, f"v1={GOOD},t={T}", S, T, OK, OK),
    Case("t-semicolon", BODY, f"t={T};v1={GOOD}", S, T, "malformed_header", SDK_NO_V1),
    Case("t-dup-signed-first", BODY, f"t={T},t={T - 60},v1={GOOD}", S, T, "mismatch",
         SDK_MISMATCH),
    Case("t-dup-signed-last", BODY, f"t={T - 60},t={T},v1={GOOD}", S, T, OK, OK),
    Case("t-dup-last-abc", BODY, f"t={T},t=abc,v1={GOOD}", S, T, "malformed_header",
         SDK_MISMATCH),
    # --- age and clock skew
    Case("future-1min", BODY, hdr(T, GOOD), S, T - 60, OK, OK),
    Case("future-300s", BODY, hdr(T, GOOD), S, T - 300, OK, OK),
    Case("future-301s", BODY, hdr(T, GOOD), S, T - 301, "future", OK),
    Case("future-10min", BODY, hdr(T, GOOD), S, T - 600, "future", OK),
    Case("future-1h", BODY, hdr(T, GOOD), S, T - 3600, "future", OK),
    Case("old-300s", BODY, hdr(T, GOOD), S, T + 300, OK, OK),
    Case("old-300.5s", BODY, hdr(T, GOOD), S, T + 300.5, "stale", OK),
    Case("old-301s", BODY, hdr(T, GOOD), S, T + 301, "stale", SDK_TOO_OLD),
    Case("old-1day", BODY, hdr(T, GOOD), S, T + 86400, "stale", SDK_TOO_OLD),
    Case("old-and-forged", BODY, hdr(T, BAD), S, T + 3600, "mismatch", SDK_MISMATCH),
    # --- schemes and separators
    Case("only-v0-v2", BODY, f"t={T},v0={GOOD},v2={GOOD}", S, T, "no_signature", SDK_NO_V1),
    Case("v0-then-v1", BODY, f"t={T},v0={BAD},v1={GOOD}", S, T, OK, OK),
    Case("trailing-comma", BODY, hdr(T, GOOD) + ",", S, T, OK, OK),
    Case("leading-comma", BODY, "," + hdr(T, GOOD), S, T, OK, OK),
    Case("doubled-commas", BODY, f"t={T},,,v1={GOOD}", S, T, OK, OK),
    Case("empty-header", BODY, "", S, T, "malformed_header", SDK_NO_HEADER),
    Case("only-commas", BODY, ",,,", S, T, "malformed_header", SDK_NO_T),
    Case("bare-hash", BODY, GOOD, S, T, "malformed_header", SDK_NO_T),
    # --- bodies
    Case("body-cafe", CAFE, signed(CAFE), S, T, OK, OK),
    Case("body-coffee", COFFEE, signed(COFFEE), S, T, OK, OK),
    Case("body-emoji", EMOJI, signed(EMOJI), S, T, OK, OK),
    Case("body-newline-added", NEWLINE, signed(BODY), S, T, "mismatch", SDK_MISMATCH),
    Case("body-newline-signed", NEWLINE, signed(NEWLINE), S, T, OK, OK),
    Case("body-crlf", CRLF, signed(CRLF), S, T, OK, OK),
    Case("body-crlf-to-lf", CRLF.replace(b"\r\n", b"\n"), signed(CRLF), S, T, "mismatch",
         SDK_MISMATCH),
    Case("body-bom", BOM, signed(BOM), S, T, OK, OK),
    Case("body-bom-stripped", BODY, signed(BOM), S, T, "mismatch", SDK_MISMATCH),
    Case("body-empty", b"", signed(b""), S, T, OK, OK),
    Case("body-nul", NUL, signed(NUL), S, T, OK, OK),
    Case("body-1mb", BIG, signed(BIG), S, T, OK, OK),
    Case("body-1mb-one-byte-off", BIG[:-3] + b"!}}", signed(BIG), S, T, "mismatch",
         SDK_MISMATCH),
]
# fmt: on

#: Every row where one side accepts and the other refuses, and why.
DISAGREEMENTS: dict[str, str] = {
    # Deliberate: muxhook is stricter where the SDK is wrong.
    "t-empty": "parseInt('') is NaN; the SDK signs 'NaN.' + body and NaN > 300 is false, "
    "so a NaN-signed request never expires",
    "t-abc": "as t-empty: any t that parseInt cannot read is signed as 'NaN'",
    "t-arabic-digits-wire": "as t-abc: parseInt reads no digits in the UTF-8 bytes of "
    "Arabic-Indic digits; muxhook's [0-9] refuses them (Python's int() would accept them)",
    "t-fraction": "the SDK reads the integer prefix (parseInt) and signs that; muxhook wants "
    "the whole number Mux sends, not a prefix of the text",
    "t-trailing-junk": "as t-fraction: parseInt stops at the first non-digit",
    "t-eq-inside": "the SDK splits on every '=' and keeps the second piece; muxhook splits "
    "on the first '=' and the value '1700000000=5' is not a number",
    "t-plus-sign": "parseInt accepts a sign; Mux never sends one",
    "space-after-eq-t": "parseInt skips leading whitespace; muxhook wants digits only",
    "t-17-digits": "muxhook caps t at 15 digits (year 33658); the SDK accepts any number, "
    "and with no upper bound this t never expires",
    "t-milliseconds": "a millisecond t is 1,700 years ahead: the SDK has no upper bound; "
    "muxhook refuses it as 'future' and says it looks like milliseconds",
    "future-301s": "the SDK has no upper bound; muxhook allows 300 s of clock skew",
    "future-10min": "as future-301s",
    "future-1h": "as future-301s",
    "v1-eq-inside": "the SDK keeps what is between the first and second '=', so a v1 with "
    "text appended after '=' still passes; muxhook compares the whole value",
    # The timestamp's text: muxhook signs it as written, the SDK re-formats parseInt(t).
    "t-leading-zero-as-written": "muxhook signs the t text as written ('01700000000.'), as "
    "Mux documents the signed payload; the SDK signs String(parseInt(t)), '1700000000.'",
    "t-leading-zero-as-sdk": "the other half of t-leading-zero-as-written; Mux never sends "
    "leading zeros, so neither reading changes a real delivery",
    # Harmless: an exact boundary.
    "old-300.5s": "the SDK floors the clock to whole seconds (accepts up to 300.999 s old); "
    "muxhook compares the exact age with the 300 s tolerance",
}


def muxhook_verdict(case: Case) -> str:
    try:
        mux.verify(case.body, {"Mux-Signature": case.header}, secret=case.secret, now=case.now)
    except SignatureError as error:
        return error.reason
    except UsageError as error:
        assert "empty" in str(error), error
        return "empty_secret"
    return OK


def sdk_verdict(sdk: Judge, case: Case) -> str:
    result = sdk.verify(case.body, case.header, case.secret, case.now)
    if result["ok"] is True:
        return OK
    if result["signature_ok"] is True:
        # The signature verified, then unwrap's JSON.parse threw: the body is not JSON.
        assert result["error_name"] == "SyntaxError", result
        return OK
    error = result["error"]
    assert isinstance(error, str), result
    return error


@pytest.fixture(scope="module")
def sdk_verdicts(sdk: Judge) -> Iterator[dict[str, str]]:
    """The SDK's verdict on every row, computed once for the module."""
    yield {case.name: sdk_verdict(sdk, case) for case in CASES}


def test_the_table() -> None:
    names = [case.name for case in CASES]
    assert len(names) >= 40
    assert len(set(names)) == len(names), "row names must be unique"
    assert set(DISAGREEMENTS) <= set(names), set(DISAGREEMENTS) - set(names)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_muxhook(case: Case) -> None:
    assert muxhook_verdict(case) == case.muxhook


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_sdk(sdk_verdicts: dict[str, str], case: Case) -> None:
    assert sdk_verdicts[case.name] == case.sdk


def test_disagreements_are_exactly_the_listed_ones(sdk_verdicts: dict[str, str]) -> None:
    """Measured, not read from the table: a new disagreement fails here by name."""
    disagreeing = {
        case.name
        for case in CASES
        if (muxhook_verdict(case) == OK) != (sdk_verdicts[case.name] == OK)
    }
    assert disagreeing == set(DISAGREEMENTS), {
        "new": sorted(disagreeing - set(DISAGREEMENTS)),
        "gone": sorted(set(DISAGREEMENTS) - disagreeing),
    }


@pytest.mark.parametrize(
    ("body", "t"),
    [
        (BODY, T),
        (CAFE, T),
        (EMOJI, "NaN"),
        (BOM, f"0{T}"),
        (b"", -T),
        (NUL, HUGE_T),
        (CRLF, ""),
    ],
)
def test_python_signer_matches_node(sdk: Judge, body: bytes, t: object) -> None:
    """The table's signatures, made with Python's hmac, equal node:crypto's."""
    assert sdk.sign(body, S, str(t)) == signed(body, t)
    assert sdk.sign(body, "sécret-☕", str(t)) == signed(body, t, "sécret-☕")


def test_muxhook_signs_what_the_table_signs() -> None:
    for body in (BODY, CAFE, COFFEE, EMOJI, NEWLINE, CRLF, BOM, b"", NUL):
        assert mux.sign(body, secret=S, timestamp=T)["Mux-Signature"] == signed(body)
