"""Headers a person types or pastes: one parser, one answer, whichever command reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from muxhook import signing
from tests.apps import RecordingApp, serve
from tests.conftest import CLI, FIXTURES
from tests.listening import run_muxhook

SECRET = "headers-test-secret-0001"
BODY = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
TWO_IN_ONE = "X-A: a\r\nX-B: b"


@pytest.mark.parametrize("command", ["trigger", "replay", "listen", "verify"])
def test_two_headers_in_one_option_are_bad_input_everywhere(tmp_path: Path, command: str) -> None:
    """Before, trigger sent it and failed on the wire (exit 3) while replay refused it (2)."""
    app = RecordingApp()
    with serve(app):
        to = {
            "trigger": ["video.asset.ready", "--to", app.url],
            "replay": ["video.asset.ready", "--to", app.url],
            "listen": ["--no-tunnel", "--port", "0", "--db", str(tmp_path / "log.db")],
            "verify": ["-"],
        }[command]
        run = run_muxhook(
            tmp_path, command, *to, "-H", TWO_IN_ONE, env={"MUX_WEBHOOK_SECRET": SECRET}
        )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.splitlines()[-1] == (
        "error: -H 'X-A: a\\r\\nX-B: b': give one header per -H, on one line"
    )
    assert app.requests == []


def test_a_signature_without_its_header_name_suggests_it(cli: CLI) -> None:
    header = signing.sign(BODY, secret=SECRET)["Mux-Signature"]
    result = cli("verify", "-H", header, "--secret", SECRET, stdin=BODY)
    assert result.code == 2
    assert f"did you mean -H 'Mux-Signature: {header}'?" in result.stderr


def test_headers_file_takes_a_pasted_raw_request(cli: CLI, tmp_path: Path) -> None:
    header = signing.sign(BODY, secret=SECRET)["Mux-Signature"]
    request = (
        "POST /api/webhooks/mux HTTP/1.1\r\n"
        "Host: example.ngrok-free.app\r\n"
        "Content-Type: application/json\r\n"
        f"Mux-Signature: {header}\r\n"
        "\r\n"
    ).encode() + BODY
    (tmp_path / "request.txt").write_bytes(request)
    (tmp_path / "body.json").write_bytes(BODY)
    result = cli("verify", "body.json", "--headers-file", "request.txt", "--secret", SECRET)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("✓ valid Mux signature · video.asset.ready")


def test_a_bad_line_in_a_headers_file_is_named(cli: CLI, tmp_path: Path) -> None:
    (tmp_path / "headers.txt").write_text("Content-Type: application/json\nnot a header\n")
    result = cli("verify", "-", "--headers-file", "headers.txt", "--secret", SECRET, stdin=BODY)
    assert result.code == 2
    assert result.stderr == "error: headers.txt, line 2: 'not a header' is not 'Name: value'\n"
