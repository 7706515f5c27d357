"""The offline commands as a person runs them: output as text, exit codes as documented."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from muxhook import signing
from tests.apps import Received, RecordingApp, free_port, serve
from tests.conftest import CLI, FIXTURES

SECRET = "dev-secret-for-tests-0001"
FP_SECRET = "ZGVtby1zZWNyZXQ="
MC_SECRET = "bWlsbGljYXN0LWRlbW8tc2VjcmV0"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUX_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("FASTPIX_WEBHOOK_SECRET", FP_SECRET)
    monkeypatch.setenv("MILLICAST_WEBHOOK_SECRET", MC_SECRET)


def test_version(cli: CLI) -> None:
    from muxhook import __version__

    result = cli("--version")
    assert (result.stdout, result.code) == (f"muxhook {__version__}\n", 0)


def test_sign_prints_only_the_header(cli: CLI, secrets: None) -> None:
    result = cli("sign", "video.asset.ready", "--timestamp", "1700000000")
    body = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
    expected = signing.sign(body, secret=SECRET, timestamp=1700000000)["Mux-Signature"]
    assert result.stdout == f"Mux-Signature: {expected}\n"
    assert (result.stderr, result.code) == ("", 0)


def test_sign_json_carries_the_exact_fixture_bytes(cli: CLI, secrets: None) -> None:
    result = cli("sign", "video.asset.ready", "--format", "json", "--timestamp", "1700000000")
    document = json.loads(result.stdout)
    body = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
    assert document["body"].encode() == body
    assert document["event_type"] == "video.asset.ready"
    signing.verify(body, document["headers"], secret=SECRET, now=1700000000)


def test_sign_with_overrides_reserialises_compactly(cli: CLI, secrets: None) -> None:
    result = cli(
        "sign",
        "video.asset.ready",
        "--format",
        "json",
        "--set",
        'data.passthrough="order-42"',
        "--set",
        "data.duration=12.5",
        "--set",
        "data.tracks.0.max_width=1920",
        "--set",
        "data.note=hello",
        "--unset",
        "data.aspect_ratio",
    )
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    data = json.loads(document["body"])["data"]
    assert data["passthrough"] == "order-42" and data["duration"] == 12.5
    assert data["tracks"][0]["max_width"] == 1920 and data["note"] == "hello"
    assert "aspect_ratio" not in data
    assert "\n" not in document["body"] and ", " not in document["body"][:40]
    signing.verify(document["body"].encode(), document["headers"], secret=SECRET)


def test_sign_bad_set_path_is_one_line_with_exit_2(cli: CLI, secrets: None) -> None:
    result = cli("sign", "video.asset.ready", "--set", "data.tracks.99.max_width=1")
    assert result.code == 2
    assert result.stderr.count("\n") == 1
    assert "index 99 is out of range" in result.stderr


def test_unknown_event_suggests_close_names(cli: CLI, secrets: None) -> None:
    result = cli("sign", "video.asset.redy")
    assert result.code == 2
    assert "unknown Mux event 'video.asset.redy'; did you mean video.asset.ready" in result.stderr


def test_another_providers_event_name_is_suggested_with_its_prefix(cli: CLI, secrets: None) -> None:
    result = cli("sign", "video.media.ready")
    assert result.code == 2
    assert "did you mean fastpix:video.media.ready" in result.stderr


def test_missing_secret_says_where_to_put_it(cli: CLI) -> None:
    result = cli("sign", "video.asset.ready")
    assert result.code == 2
    assert result.stderr == (
        "error: no Mux signing secret: pass --secret, set MUX_WEBHOOK_SECRET, "
        "or add MUX_WEBHOOK_SECRET=… to .env\n"
    )


def test_f_is_forward_to_only_so_sign_refuses_it(cli: CLI, secrets: None) -> None:
    # -f means listen's --forward-to everywhere; sign spells its format out.
    result = cli("sign", "video.asset.ready", "-f", "json")
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: No such option: -f")
    assert len(result.stderr.splitlines()) == 1


def test_secret_from_dotenv(cli: CLI, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f'# local\nexport MUX_WEBHOOK_SECRET="{SECRET}"\n')
    result = cli("sign", "video.asset.ready", "--format", "json")
    document = json.loads(result.stdout)
    signing.verify(document["body"].encode(), document["headers"], secret=SECRET)


def test_missing_file(cli: CLI, secrets: None) -> None:
    result = cli("sign", "./nope.json")
    assert (result.code, result.stderr) == (2, "error: nope.json: no such file\n")


def test_fastpix_and_millicast_names(cli: CLI, secrets: None) -> None:
    fp = json.loads(cli("sign", "fastpix:video.media.ready", "--format", "json").stdout)
    assert "FastPix-Signature" in fp["headers"]
    mc = json.loads(cli("sign", "millicast:thumbnail", "--format", "json").stdout)
    assert mc["headers"]["Content-Type"] == "image/jpeg" and "body_base64" in mc


def test_verify_valid_from_stdin(cli: CLI) -> None:
    body = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
    header = signing.sign(body, secret=SECRET, timestamp=1700000000)["Mux-Signature"]
    result = cli(
        "verify",
        "-H",
        f"Mux-Signature: {header}",
        "--secret",
        SECRET,
        "--now",
        "1700000012",
        stdin=body,
    )
    assert result.code == 0
    assert result.stdout == (
        "✓ valid Mux signature · video.asset.ready · t=1700000000 (12 s ago)\n"
    )


def test_verify_pretty_printed_copy_says_re_serialised(cli: CLI, tmp_path: Path) -> None:
    body = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
    header = signing.sign(body, secret=SECRET)["Mux-Signature"]
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(body), indent=2))
    (tmp_path / "headers.txt").write_text(f"Mux-Signature: {header}\n")
    result = cli("verify", str(pretty), "--headers-file", "headers.txt", "--secret", SECRET)
    assert result.code == 1
    assert result.stdout.startswith("✗ invalid Mux signature: Mux-Signature does not match")
    assert "the body was re-serialised: it was pretty-printed" in result.stdout


def test_verify_json_verdict(cli: CLI) -> None:
    result = cli(
        "verify", "-H", "Mux-Signature: t=1,v1=00", "--secret", SECRET, "--json", stdin=b"{}"
    )
    document = json.loads(result.stdout)
    assert result.code == 1
    assert (document["valid"], document["reason"]) == (False, "mismatch")


def test_verify_without_headers_is_usage(cli: CLI) -> None:
    result = cli("verify", "--secret", SECRET, stdin=b"{}")
    assert result.code == 2 and "no signature header" in result.stderr


def test_events_lists_the_catalog(cli: CLI) -> None:
    result = cli("events", "video.asset.static_rendition.*")
    lines = result.stdout.splitlines()
    assert lines[0] == "Mux (5 events)"
    assert all(line.startswith("  video.asset.static_rendition.") for line in lines[1:])


def test_events_json_and_provider_filter(cli: CLI) -> None:
    rows = json.loads(cli("events", "--provider", "millicast", "--json").stdout)
    names = {row["qualified_name"] for row in rows}
    assert "millicast:media.completed" in names and "millicast:thumbnail" in names


def test_events_marks_legacy(cli: CLI) -> None:
    assert "[legacy]" in cli("events", "video.space.created").stdout


def test_events_unknown_provider(cli: CLI) -> None:
    result = cli("events", "--provider", "youtube")
    assert result.code == 2 and "unknown provider 'youtube'" in result.stderr


def _verifying_app(secret: str) -> RecordingApp:
    def check(request: Received) -> tuple[int, bytes]:
        try:
            signing.verify(request.body, request.headers, secret=secret)
        except Exception as error:
            return 400, str(error).encode()
        return 200, b'{"ok":true}'

    return RecordingApp(check)


def test_sign_curl_command_passes_a_real_apps_verification(cli: CLI, secrets: None) -> None:
    with serve(_verifying_app(SECRET)) as receiver:
        command = cli("sign", "video.asset.ready", "--format", "curl", "--to", receiver.url).stdout
        run = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
        )
    assert run.returncode == 0, run.stderr
    assert run.stdout == '{"ok":true}'
    body = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
    assert receiver.requests[0].body == body


def test_sign_httpie_command_is_a_printf_pipe(cli: CLI, secrets: None) -> None:
    command = cli("sign", "video.asset.ready", "--format", "httpie", "--to", "http://x/y").stdout
    words = shlex.split(command)
    assert words[:2] == ["printf", "%s"] and words[3:6] == ["|", "http", "POST"]


def test_trigger_posts_and_reports(cli: CLI, app: RecordingApp, secrets: None) -> None:
    result = cli("trigger", "video.asset.ready", "--to", app.url)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("← 200 OK  ") and '{"received":true}' in result.stdout
    assert f"→ POST {app.url}  video.asset.ready (mux)" in result.stderr
    request = app.requests[0]
    signing.verify(request.body, request.headers, secret=SECRET)


def test_trigger_non_2xx_fails(cli: CLI, secrets: None) -> None:
    with serve(RecordingApp(lambda _: (500, b"boom"))) as failing:
        result = cli("trigger", "video.asset.ready", "--to", failing.url)
    assert result.code == 1
    assert result.stdout.startswith("← 500 Internal Server Error") and "boom" in result.stdout


def test_trigger_refused_connection_hints_at_the_port(cli: CLI, secrets: None) -> None:
    port = free_port()
    result = cli("trigger", "video.asset.ready", "--to", f"http://127.0.0.1:{port}/hook")
    assert result.code == 3
    assert f"connection refused; is your app running on port {port}?" in result.stderr


def test_typer_usage_errors_exit_2(cli: CLI) -> None:
    assert cli("sign").code == 2
    assert cli("trigger", "video.asset.ready").code == 2  # --to is required


def test_python_dash_m_entry_point() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "muxhook", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ},
    )
    assert run.returncode == 0 and run.stdout.startswith("muxhook ")


def test_trigger_sends_fresh_ids_so_a_deduplicating_app_takes_each_one(
    cli: CLI, secrets: None
) -> None:
    """Mux tells apps to ignore an event id they have seen: a second trigger must not be one."""
    seen: set[str] = set()

    def deduplicating(request: Received) -> tuple[int, bytes]:
        event_id = json.loads(request.body)["id"]
        answer = (200, b"processed") if event_id not in seen else (200, b"duplicate, ignored")
        seen.add(event_id)
        return answer

    with serve(RecordingApp(deduplicating)) as app:
        first = cli("trigger", "video.asset.ready", "--to", app.url)
        second = cli("trigger", "video.asset.ready", "--to", app.url)
        kept = cli("trigger", "video.asset.ready", "--to", app.url, "--keep-ids")
        again = cli("trigger", "video.asset.ready", "--to", app.url, "--keep-ids")
    assert [r.code for r in (first, second, kept, again)] == [0, 0, 0, 0]
    assert "processed" in first.stdout and "processed" in second.stdout
    assert "duplicate, ignored" in again.stdout
    bodies = [json.loads(r.body) for r in app.requests]
    fixture = json.loads((FIXTURES / "mux" / "video.asset.ready.json").read_bytes())
    assert bodies[2]["id"] == bodies[3]["id"] == fixture["id"]
    assert len({b["id"] for b in bodies[:3]}) == 3
    for body in bodies[:2]:  # the asset is new too, and consistently so
        assert body["object"]["id"] == body["data"]["id"] != fixture["data"]["id"]
        fresh_playback = body["data"]["playback_ids"][0]["id"]
        assert fresh_playback != fixture["data"]["playback_ids"][0]["id"]
        assert body["environment"] == fixture["environment"]  # the account's: kept
        assert _ids_blanked(body) == _ids_blanked(fixture)  # nothing else changed


def _ids_blanked(node: object) -> object:
    """``node`` with the value of every key naming an id (``id``, ``*_id``) set to 0."""
    if isinstance(node, dict):
        return {
            key: 0 if key == "id" or key.endswith("_id") else _ids_blanked(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ids_blanked(item) for item in node]
    return node


def test_trigger_gives_the_objects_an_event_names_fresh_ids_too(cli: CLI, secrets: None) -> None:
    with serve(RecordingApp()) as app:
        for _ in range(2):
            assert cli("trigger", "video.upload.asset_created", "--to", app.url).code == 0
    fixture = json.loads((FIXTURES / "mux" / "video.upload.asset_created.json").read_bytes())
    first, second = (json.loads(r.body)["data"] for r in app.requests)
    assert len({first["asset_id"], second["asset_id"], fixture["data"]["asset_id"]}) == 3
    assert first["id"] != second["id"]


def test_sign_keeps_the_fixtures_ids_unless_asked(cli: CLI, secrets: None) -> None:
    fixture = json.loads((FIXTURES / "mux" / "video.asset.ready.json").read_bytes())
    kept = json.loads(
        json.loads(cli("sign", "video.asset.ready", "--format", "json").stdout)["body"]
    )
    fresh = json.loads(
        json.loads(cli("sign", "video.asset.ready", "--format", "json", "--fresh-ids").stdout)[
            "body"
        ]
    )
    assert kept == fixture
    assert fresh["id"] != fixture["id"] and fresh["data"]["id"] != fixture["data"]["id"]


def test_bare_muxhook_prints_its_help_once_and_exits_0(tmp_path: Path) -> None:
    from tests.listening import run_muxhook

    for args in ((), ("log",)):
        run = run_muxhook(tmp_path, *args)
        assert run.returncode == 0
        assert run.stdout.count("Usage: muxhook") == 1, run.stdout
        assert run.stderr == ""


def test_help_reads_cleanly(tmp_path: Path) -> None:
    from tests.listening import run_muxhook

    listen = run_muxhook(tmp_path, "listen", "--help").stdout
    assert "<bool>" not in listen  # a flag takes no value, so it shows none
    assert "--forward-invalid " in listen
    replay = run_muxhook(tmp_path, "log", "replay", "--help").stdout
    assert replay.startswith("Usage: muxhook log replay [OPTIONS] [ID]...\n")
    sign = run_muxhook(tmp_path, "sign", "--help").stdout
    assert "--format" in sign and "-f," not in sign  # -f is listen's --forward-to only
    assert "cloudflare" in sign
    events = run_muxhook(tmp_path, "events", "--help").stdout
    assert events.startswith("Usage: muxhook events [OPTIONS] [PATTERN]\n")


def test_one_default_webhook_path_everywhere(tmp_path: Path) -> None:
    """sign's curl, trigger's --to and listen's path all say /webhooks/<provider>, and
    what they do matches what they say."""
    from tests.listening import run_muxhook

    for command in ("sign", "trigger", "listen"):
        shown = " ".join(run_muxhook(tmp_path, command, "--help").stdout.split())
        assert "/webhooks/<provider>" in shown, command
    curl = run_muxhook(
        tmp_path, "sign", "fastpix:video.media.created", "--secret", "abc", "--format", "curl"
    ).stdout
    assert "http://localhost:3000/webhooks/fastpix" in curl
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"localhost:3000(/[\w/<>-]*)", readme))
    assert paths <= {
        "/webhooks/mux",
        "/webhooks/fastpix",
        "/webhooks/millicast",
        "/webhooks/cloudflare",
        "/webhooks/<provider>",
    }, paths
