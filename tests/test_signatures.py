"""Signing and verifying for every provider, against vectors computed here, independently."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from muxhook import signing
from muxhook.errors import SignatureError, UsageError
from muxhook.providers import fastpix, millicast, mux

# -- Mux ----------------------------------------------------------------------

V1_BODY = b'{"test":"body"}'
V1_HEADER = "t=1565125718,v1=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"
SECRET = "SuperSecret123"


def mux_v1(body: bytes, secret: str, t: int | str) -> str:
    """The Mux scheme, written out here so the tests do not trust muxhook's own code."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_mux_known_vector_signs_and_verifies() -> None:
    assert mux.sign(V1_BODY, secret=SECRET, timestamp=1565125718)["Mux-Signature"] == V1_HEADER
    verdict = mux.verify(V1_BODY, {"mux-signature": V1_HEADER}, secret=SECRET, now=1565125718)
    assert (verdict.timestamp, verdict.age) == (1565125718, 0)


def test_mux_header_lookup_ignores_case() -> None:
    verdict = mux.verify(V1_BODY, {"MUX-SIGNATURE": V1_HEADER}, secret=SECRET, now=1565125718)
    assert verdict.provider == "mux"


def test_mux_any_v1_may_match_and_other_schemes_are_ignored() -> None:
    good = mux_v1(V1_BODY, SECRET, 1565125718)
    for header in (f"t=1565125718,v1=invalid-sig,v1={good}", f"t=1565125718,v2={good},v1={good}"):
        mux.verify(V1_BODY, {"Mux-Signature": header}, secret=SECRET, now=1565125718)
    with pytest.raises(SignatureError) as caught:
        mux.verify(V1_BODY, {"Mux-Signature": f"t=1565125718,v2={good}"}, secret=SECRET, now=1)
    assert caught.value.reason == "no_signature"


@pytest.mark.parametrize(
    ("age", "accepted"), [(0, True), (299, True), (300, True), (301, False), (360, False)]
)
def test_mux_tolerance_boundary(age: int, accepted: bool) -> None:
    now = 1565125718 + age
    if accepted:
        mux.verify(V1_BODY, {"Mux-Signature": V1_HEADER}, secret=SECRET, now=now)
        return
    with pytest.raises(SignatureError) as caught:
        mux.verify(V1_BODY, {"Mux-Signature": V1_HEADER}, secret=SECRET, now=now)
    assert caught.value.reason == "stale"
    assert f"{age} s old, over the 300 s tolerance" in str(caught.value)


def test_mux_rejects_future_timestamps_the_sdk_accepts() -> None:
    t = 1565125718 + 3600
    header = f"t={t},v1={mux_v1(V1_BODY, SECRET, t)}"
    with pytest.raises(SignatureError) as caught:
        mux.verify(V1_BODY, {"Mux-Signature": header}, secret=SECRET, now=1565125718)
    assert caught.value.reason == "future"
    assert "3600 s in the future" in str(caught.value)


def test_mux_millisecond_timestamp_is_named() -> None:
    t = 1565125718000
    header = f"t={t},v1={mux_v1(V1_BODY, SECRET, t)}"
    with pytest.raises(SignatureError, match="looks like milliseconds"):
        mux.verify(V1_BODY, {"Mux-Signature": header}, secret=SECRET, now=1565125718)


@pytest.mark.parametrize("t", ["abc", "", "1565125718.5", "-5", "0x10"])
def test_mux_rejects_a_timestamp_that_is_not_an_integer(t: str) -> None:
    header = f"t={t},v1={mux_v1(V1_BODY, SECRET, 'NaN')}"
    with pytest.raises(SignatureError) as caught:
        mux.verify(V1_BODY, {"Mux-Signature": header}, secret=SECRET, now=1565125718)
    assert caught.value.reason == "malformed_header"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_header"),
        (
            {"Mux-Signature": "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"},
            "malformed_header",
        ),
        ({"Mux-Signature": "v1=abc"}, "malformed_header"),
        ({"Mux-Signature": "t=1565125718"}, "no_signature"),
        (
            {"Mux-Signature": V1_HEADER.upper().replace("T=", "t=").replace("V1=", "v1=")},
            "mismatch",
        ),
    ],
)
def test_mux_bad_headers_name_the_problem(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        mux.verify(V1_BODY, headers, secret=SECRET, now=1565125718)
    assert caught.value.reason == reason


def test_mux_changed_byte_fails() -> None:
    with pytest.raises(SignatureError) as caught:
        mux.verify(b'{"test":"bodY"}', {"Mux-Signature": V1_HEADER}, secret=SECRET, now=1565125718)
    assert caught.value.reason == "mismatch"


def test_mux_non_ascii_vector_v4() -> None:
    body = '{"type":"video.asset.ready","id":"evt-1","data":{"title":"café ☕"}}'.encode()
    expected = "79f3b67891961b9554aa38406d4e9b2c8e74cbbc020622d3839023dec21612d9"
    assert mux_v1(body, SECRET, 1700000000) == expected
    header = mux.sign(body, secret=SECRET, timestamp=1700000000)["Mux-Signature"]
    assert header == f"t=1700000000,v1={expected}"


# -- FastPix ------------------------------------------------------------------

FP_BODY = b'{"type":"video.media.ready","data":{"id":"abc-123"}}'


def fastpix_sig(body: bytes, secret_b64: str) -> str:
    key = base64.b64decode(secret_b64)
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(
    ("secret", "body", "expected"),
    [
        ("ZGVtby1zZWNyZXQ=", FP_BODY, "SXTZYhjRshplUTerYmYX0D3d2LSTG3PWD2lY6XFLzd0="),
        ("dGVzdC1zaWduaW5nLXNlY3JldA==", FP_BODY, "NydfScFr47S0FIsw82ifxAK7zNDQOQMI7QNtSO4nExI="),
        ("ZGVtby1zZWNyZXQ=", b"{}", "5AShvk/YAAbRC0D+O6ZUm2zjq089w7wjUiJtS14xH2g="),
    ],
)
def test_fastpix_vectors(secret: str, body: bytes, expected: str) -> None:
    assert fastpix_sig(body, secret) == expected  # the vector, computed independently
    assert fastpix.sign(body, secret=secret)["FastPix-Signature"] == expected
    fastpix.verify(body, {"fastpix-signature": expected}, secret=secret)


def test_fastpix_rejects_the_raw_key_variant() -> None:
    raw_key_sig = "lMUHnS5bLs+GAIqyLhDCg2OAxI7qpQ9HJCjfsrgGi98="
    expected = hmac.new(b"ZGVtby1zZWNyZXQ=", FP_BODY, hashlib.sha256).digest()
    assert base64.b64encode(expected).decode() == raw_key_sig
    with pytest.raises(SignatureError) as caught:
        signing.verify(FP_BODY, {"FastPix-Signature": raw_key_sig}, secret="ZGVtby1zZWNyZXQ=")
    assert caught.value.reason == "mismatch"
    assert caught.value.hint is not None and "secret used raw" in caught.value.hint


def test_fastpix_changed_byte_fails() -> None:
    sig = fastpix_sig(FP_BODY, "ZGVtby1zZWNyZXQ=")
    with pytest.raises(SignatureError):
        fastpix.verify(FP_BODY + b" ", {"FastPix-Signature": sig}, secret="ZGVtby1zZWNyZXQ=")


def test_fastpix_secret_that_is_not_base64_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not base64"):
        fastpix.sign(FP_BODY, secret="not base64!")


# -- Millicast ----------------------------------------------------------------

MC_SECRET = "bWlsbGljYXN0LWRlbW8tc2VjcmV0"
MC_MEDIA = (
    b'{"type":"media","event":"completed","timestamp":1725260343575,"data":{"mediaAssetId":'
    b'"e0ca421e3ee748629d073b6991d4d93d","tokenId":1187282,"streamName":"test-record-clip",'
    b'"streamId":"dkxfvY/test-record-clip","startTime":1725259874671,"metadata":{},'
    b'"type":"clip","expiration":1733900336143}}'
)
MC_FEEDS = (
    b'{"type":"feeds","event":"started","timestamp":1638463486489,"data":{"feedId":'
    b'"369e4a86-f937-4254-bd9f-99dc484d2bd6","accountId":"ZG6NWV","name":"sample_stream",'
    b'"streamId":"ZG6NWV/sample_stream","started":1638463486359,"active":true}}'
)


def millicast_sig(body: bytes, secret_b64: str) -> str:
    key = base64.b64decode(secret_b64)
    return "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (MC_MEDIA, "sha1=3343b9f2dcc21cc0fc18ab45646a50296681512e"),
        (MC_FEEDS, "sha1=f63b2901ea4fa9f50ec342cdb76765c97744b67e"),
    ],
)
def test_millicast_vectors(body: bytes, expected: str) -> None:
    assert millicast_sig(body, MC_SECRET) == expected
    assert millicast.sign(body, secret=MC_SECRET)["X-Millicast-Signature"] == expected
    millicast.verify(body, {"x-millicast-signature": expected}, secret=MC_SECRET)


def test_millicast_rejects_raw_key_and_missing_prefix() -> None:
    raw = "sha1=649fcf2c0ed533e082599a89d1846bc64a75c4aa"
    assert "sha1=" + hmac.new(MC_SECRET.encode(), MC_MEDIA, hashlib.sha1).hexdigest() == raw
    with pytest.raises(SignatureError) as caught:
        signing.verify(MC_MEDIA, {"X-Millicast-Signature": raw}, secret=MC_SECRET)
    assert caught.value.hint is not None and "secret used raw" in caught.value.hint
    bare = "3343b9f2dcc21cc0fc18ab45646a50296681512e"
    with pytest.raises(SignatureError) as caught:
        millicast.verify(MC_MEDIA, {"X-Millicast-Signature": bare}, secret=MC_SECRET)
    assert caught.value.reason == "malformed_header"


def test_millicast_signs_binary_thumbnails() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) + b"\xff\xd9"
    headers = millicast.sign(jpeg, secret=MC_SECRET, timestamp=1700000000)
    assert headers["X-Millicast-Signature"] == millicast_sig(jpeg, MC_SECRET)
    assert headers["Content-Type"] == "image/jpeg"
    assert millicast.event_type(jpeg) == "thumbnail"
    millicast.verify(jpeg, headers, secret=MC_SECRET)


# -- Detection ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "provider"),
    [
        ({"Mux-Signature": V1_HEADER}, "mux"),
        ({"FastPix-Signature": fastpix_sig(FP_BODY, "ZGVtby1zZWNyZXQ=")}, "fastpix"),
        ({"X-Millicast-Signature": millicast_sig(FP_BODY, MC_SECRET)}, "millicast"),
    ],
)
def test_provider_is_detected_from_headers(headers: dict[str, str], provider: str) -> None:
    secret = {"mux": SECRET, "fastpix": "ZGVtby1zZWNyZXQ=", "millicast": MC_SECRET}[provider]
    body = V1_BODY if provider == "mux" else FP_BODY
    assert signing.verify(body, headers, secret=secret, now=1565125718).provider == provider


def test_no_signature_header_names_all_three() -> None:
    with pytest.raises(SignatureError) as caught:
        signing.verify(V1_BODY, {"Content-Type": "application/json"}, secret=SECRET)
    message = str(caught.value)
    assert "Mux-Signature" in message and "FastPix-Signature" in message
    assert "X-Millicast-Signature" in message
