"""A failed signature names the mistake that explains it."""

from __future__ import annotations

import json

import pytest

from muxhook import signing
from muxhook.errors import SignatureError

SECRET = "whsec-like-dev-secret-0123"
NOW = 1_700_000_000
BODY = (
    '{"type":"video.asset.ready","id":"e1","data":{"id":"a1","duration":5,"title":"café"}}'.encode()
)
HEADERS = signing.sign(BODY, secret=SECRET, timestamp=NOW)


def hint_for(body: bytes, headers: dict[str, str], secret: str = SECRET, **kw: str) -> str:
    with pytest.raises(SignatureError) as caught:
        signing.verify(body, headers, secret=secret, now=NOW, **kw)  # type: ignore[arg-type]
    return str(caught.value)


def test_pretty_printed_body() -> None:
    pretty = json.dumps(json.loads(BODY), indent=2, ensure_ascii=False).encode()
    assert "the body was re-serialised: it was pretty-printed" in hint_for(pretty, HEADERS)


def test_trailing_newline() -> None:
    assert "a trailing newline was added" in hint_for(BODY + b"\n", HEADERS)


def test_escaped_non_ascii() -> None:
    escaped = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert "non-ASCII text was escaped" in hint_for(escaped, HEADERS)


def test_numbers_reformatted() -> None:
    assert "numbers were reformatted" in hint_for(BODY.replace(b":5,", b":5.0,"), HEADERS)


def test_python_default_separators() -> None:
    spaced = json.dumps(json.loads(BODY), ensure_ascii=False).encode()
    assert "its spacing was changed" in hint_for(spaced, HEADERS)


def test_keys_sorted() -> None:
    shuffled = json.dumps(json.loads(BODY), sort_keys=True, indent=1).encode()
    assert "alphabetical order" in hint_for(shuffled, HEADERS)


@pytest.mark.parametrize("wrapped", [f" {SECRET}\n", f'"{SECRET}"', f"'{SECRET}'"])
def test_secret_with_whitespace_or_quotes(wrapped: str) -> None:
    assert "surrounding whitespace or quotes" in hint_for(BODY, HEADERS, secret=wrapped)


def test_mux_secret_base64_decoded_by_the_signer() -> None:
    import base64
    import hashlib
    import hmac

    secret = base64.b64encode(b"raw-key-bytes-here").decode()
    signed = hmac.new(b"raw-key-bytes-here", f"{NOW}.".encode() + BODY, hashlib.sha256)
    headers = {"Mux-Signature": f"t={NOW},v1={signed.hexdigest()}"}
    assert "base64-decoded secret" in hint_for(BODY, headers, secret=secret)


def test_header_of_another_provider() -> None:
    headers = {"FastPix-Signature": "SXTZYhjRshplUTerYmYX0D3d2LSTG3PWD2lY6XFLzd0="}
    message = hint_for(BODY, headers, provider="mux")
    assert "signed by FastPix; use --provider fastpix" in message


def test_value_shaped_like_another_provider() -> None:
    message = hint_for(BODY, {"Mux-Signature": "sha1=3343b9f2dcc21cc0fc18ab45646a50296681512e"})
    assert "looks like a Millicast signature" in message


def test_uppercase_hex() -> None:
    value = HEADERS["Mux-Signature"]
    t, v1 = value.split(",v1=")
    assert "uppercase hex" in hint_for(BODY, {"Mux-Signature": f"{t},v1={v1.upper()}"})


def test_plain_wrong_secret_says_which_secret_to_use() -> None:
    assert "endpoint's signing secret" in hint_for(BODY, HEADERS, secret="another-secret-entirely")


def test_a_changed_value_is_not_blamed_on_the_secret_alone() -> None:
    changed = BODY.replace(b'"duration":5', b'"duration":6')
    assert hint_for(changed, HEADERS).endswith(
        "the body changed after signing, or the secret is not this endpoint's signing secret "
        "(not an API token secret)"
    )


def test_a_stale_timestamp_says_how_old_in_words() -> None:
    three_years = 3 * 365 * 86_400
    old = signing.sign(BODY, secret=SECRET, timestamp=NOW - three_years)
    message = hint_for(BODY, old)
    assert (
        f"the timestamp is {three_years} s old, over the 300 s tolerance (signed 3 years ago:"
        in message
    )
    assert "(signed 3 years ago: re-sign it" in message
    assert "(signed 5 minutes ago: " in hint_for(
        BODY, signing.sign(BODY, secret=SECRET, timestamp=NOW - 301)
    )
