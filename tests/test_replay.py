"""``muxhook replay`` end to end: real apps on loopback, exit codes, JUnit, bad input."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from muxhook import replay, signing
from muxhook.records import Attempt
from muxhook.render import Output, ReplayView
from tests.apps import Received, RecordingApp, free_port, serve
from tests.conftest import FIXTURES
from tests.listening import listen_locally, muxhook_env, run_muxhook
from tests.mux_judge import sdk_receiver

SECRET = "replay-test-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
ANSWER = '{"received":true}'  # what tests.apps.ok answers


def muxhook(
    home: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_muxhook(home, *args, env={**ENV, **(env or {})}, stdin=stdin, timeout=300)


def in_terminal(home: Path, *args: str) -> tuple[int, list[str]]:
    """``muxhook ARGS`` with stdout and stderr on a pseudo-terminal (as a person runs it:
    progress bar, rich table), 200 columns wide; its exit code and the lines it drew, with
    escape sequences taken out and each line as it was last drawn (after its last \\r)."""
    env = muxhook_env(home, {**ENV, "COLUMNS": "200", "LINES": "50"})
    main, side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "muxhook", *args],
        stdin=subprocess.DEVNULL,
        stdout=side,
        stderr=side,
        env=env,
        cwd=home,
    )
    os.close(side)
    drawn = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: every holder of the terminal's other side has closed it
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main)
    code = process.wait(timeout=30)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode("utf-8", "replace"))
    return code, [line.rsplit("\r", 1)[-1] for line in text.split("\r\n")]


#: What --tamper sends besides the genuine event, in order.
FORGERIES = (
    "signed with another secret",
    "body changed after signing",
    "no signature header",
    "timestamp a day old",
)


def test_the_terminal_table_names_each_forgery_in_its_row(
    tmp_path: Path, app: RecordingApp
) -> None:
    code, lines = in_terminal(tmp_path, "replay", "video.asset.ready", "--to", app.url, "--tamper")
    assert code == 1, lines
    assert "event ┃ source ┃ expected ┃ got ┃ latency".split() in [line.split() for line in lines]
    table = [line for line in lines if "│" in line]  # the rows of the summary table
    rows = {line.split("│")[0].strip(): line for line in table}
    for label in FORGERIES:
        row = rows[f"video.asset.ready [forged: {label}]"]  # as data, not as rich markup
        assert [cell.strip() for cell in row.split("│")[2:4]] == ["4xx", "200"], row
    assert [cell.strip() for cell in rows["video.asset.ready"].split("│")[2:4]] == ["2xx", "200"]
    assert len(rows) == 5
    # After the table, the failures once more, then the counts: what stays on screen.
    end = lines[lines.index(table[-1]) + 1 :]
    assert end[:5] == [
        "failed:",
        *(
            f"  ✗ video.asset.ready [forged: {label}]: expected 4xx, got 200: {ANSWER}"
            for label in FORGERIES
        ),
    ]
    assert end[5].startswith("1 of 5 events handled as expected; 4 failed"), end


def test_every_mux_fixture_is_accepted_by_an_sdk_verifying_receiver(tmp_path: Path) -> None:
    with sdk_receiver(SECRET) as url:
        result = muxhook(
            tmp_path, "replay", str(FIXTURES / "mux"), "--to", url, "--concurrency", "8"
        )
    count = len(list((FIXTURES / "mux").glob("*.json")))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert f"{count} of {count} events handled as expected" in result.stderr


def test_one_failing_event_type_fails_the_run_and_the_junit_names_it(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    with sdk_receiver(SECRET, fail_type="video.asset.errored") as url:
        result = muxhook(
            tmp_path, "replay", str(FIXTURES / "mux"), "--to", url, "--junit", str(junit)
        )
    assert result.returncode == 1
    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 - our own output
    assert suite is not None
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["video.asset.errored"]
    failure = failed[0].find("failure")
    assert failure is not None and failure.get("message") == "expected 2xx, got 500"
    assert suite.get("failures") == "1"
    assert "✗ 500" in result.stdout and "expected 2xx, got 500" in result.stdout


def test_tamper_fails_against_an_app_that_does_not_verify(
    tmp_path: Path, app: RecordingApp
) -> None:
    result = muxhook(tmp_path, "replay", "video.asset.ready", "--to", app.url, "--tamper")
    assert result.returncode == 1
    during, _, after = result.stdout.partition("failed:\n")
    assert during.count("expected 4xx, got 200") == 4  # each failure as it happens
    assert "[forged: signed with another secret]" in during
    # Then, at the end, the failures once more: one line each, naming the forgery.
    assert after.splitlines() == [
        f"  ✗ video.asset.ready [forged: {label}]: expected 4xx, got 200: {ANSWER}"
        for label in FORGERIES
    ]
    assert result.stderr.splitlines()[-1].startswith("1 of 5 events handled as expected; 4 failed")


def test_failures_are_summarised_at_the_end_with_what_the_app_said(tmp_path: Path) -> None:
    crash = b"Traceback (most recent call last):\n  ...\nKeyError: 'passthrough'\n"

    def upload_only(request: Received) -> tuple[int, bytes]:
        uploads = json.loads(request.body)["type"] == "video.upload.created"
        return (200, b"{}") if uploads else (500, crash)

    with serve(RecordingApp(upload_only)) as app:
        result = muxhook(
            tmp_path,
            "replay",
            "video.asset.ready",
            str(FIXTURES / "mux" / "video.upload.created.json"),
            str(FIXTURES / "mux" / "video.asset.errored.json"),
            "--to",
            app.url,
        )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    summary = lines[lines.index("failed:") :]
    assert summary == [
        "failed:",
        "  ✗ video.asset.ready: expected 2xx, got 500: KeyError: 'passthrough'",
        "  ✗ video.asset.errored  mux/video.asset.errored.json: "
        "expected 2xx, got 500: KeyError: 'passthrough'",
    ]
    assert result.stderr.splitlines()[-1].startswith("1 of 3 events handled as expected; 2 failed")


def test_tamper_passes_against_an_app_that_verifies(tmp_path: Path) -> None:
    with sdk_receiver(SECRET) as url:
        result = muxhook(
            tmp_path, "replay", "video.asset.ready", "video.upload.created", "--to", url, "--tamper"
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 of 10 events handled as expected" in result.stderr


def test_a_slow_app_gets_a_rate_under_one_event_a_second(tmp_path: Path) -> None:
    with serve(RecordingApp(delay=1.2)) as app:
        result = muxhook(tmp_path, "replay", "video.asset.ready", "--to", app.url)
    assert result.returncode == 0, result.stderr
    last = result.stderr.splitlines()[-1]
    # More than 1.2 s for one event: a rate of 0.something, not "(0 events/s)".
    assert re.fullmatch(
        r"1 of 1 events handled as expected, sent in \d+\.\d\d s \(0\.\d+ events/s\)", last
    ), last


@pytest.mark.parametrize(
    ("count", "seconds", "rate"),
    [
        (1, 2.0, "0.5"),
        (1, 12.0, "0.083"),
        (5, 2.0, "2.5"),
        (1445, 1.0, "1,445"),
        (1, 500, "under 0.01"),
    ],
)
def test_the_rate_has_the_precision_it_is_worth(count: int, seconds: float, rate: str) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    view = ReplayView(Output(stdout, stderr), total=count, json_lines=False, github=False)
    delivery = replay.Delivery("a.json", "mux", "video.asset.ready", b"{}", None)
    answer = Attempt(0.0, "http://127.0.0.1:9/", 200, 1.0, b"", None)
    view.summary([replay.Result(delivery, replay.ANY_SUCCESS, answer)] * count, seconds=seconds)
    assert stderr.getvalue().endswith(f" ({rate} events/s)\n"), stderr.getvalue()


def test_wait_for_app_handles_an_app_that_starts_late(tmp_path: Path) -> None:
    port = free_port()
    late = RecordingApp()

    def start_late() -> None:
        time.sleep(1.5)
        with serve(late, port=port):
            time.sleep(8)

    starter = threading.Thread(target=start_late, daemon=True)
    starter.start()
    result = muxhook(
        tmp_path,
        "replay",
        "video.asset.ready",
        "--to",
        f"http://127.0.0.1:{port}/hooks",
        "--wait-for-app",
        "20",
    )
    assert result.returncode == 0, result.stderr
    assert len(late.requests) == 1
    # It says it waits (the app is not there yet), then that the app answered: not silent.
    lines = result.stderr.splitlines()
    url = f"http://127.0.0.1:{port}/hooks"
    assert lines[0] == f"waiting up to 20 s for {url} to answer"
    assert re.fullmatch(rf"{re.escape(url)} answered after \d+\.\d s", lines[1]), lines


def test_wait_for_app_says_nothing_when_the_app_is_already_up(tmp_path: Path) -> None:
    with serve(RecordingApp()) as app:
        result = muxhook(
            tmp_path, "replay", "video.asset.ready", "--to", app.url, "--wait-for-app", "20"
        )
    assert result.returncode == 0, result.stderr
    assert "waiting" not in result.stderr and "answered after" not in result.stderr


def test_wait_for_app_gives_up_with_exit_3(tmp_path: Path) -> None:
    port = free_port()
    result = muxhook(
        tmp_path,
        "replay",
        "video.asset.ready",
        "--to",
        f"http://127.0.0.1:{port}/hooks",
        "--wait-for-app",
        "1",
    )
    assert result.returncode == 3
    url = f"http://127.0.0.1:{port}/hooks"
    lines = result.stderr.splitlines()
    assert lines[0] == f"waiting up to 1 s for {url} to answer"
    assert lines[-1] == f"error: nothing accepted connections at {url} within 1 s (--wait-for-app)"


def test_unreachable_app_is_exit_3(tmp_path: Path) -> None:
    result = muxhook(
        tmp_path, "replay", "video.asset.ready", "--to", f"http://127.0.0.1:{free_port()}/hooks"
    )
    assert result.returncode == 3
    assert "connection refused; is your app running on port" in result.stderr


def test_a_folder_saved_by_listen_replays_unchanged(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    with listen_locally(tmp_path, tmp_path / "e.db", "--save", str(saved), env=ENV) as listener:
        import httpx

        for name in ("video.asset.created", "video.asset.ready"):
            body = (FIXTURES / "mux" / f"{name}.json").read_bytes()
            httpx.post(listener.url, content=body, headers=signing.sign(body, secret=SECRET))
        listener.wait_for_stdout(2)
    with sdk_receiver(SECRET) as url:
        result = muxhook(tmp_path, "replay", str(saved), "--to", url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("✓")]
    assert [line.split()[4] for line in lines] == ["video.asset.created", "video.asset.ready"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["./missing.json"], "missing.json: no such file"),
        (["video.asset.redy"], "did you mean video.asset.ready"),
        (["video.asset.ready", "--set", "data.tracks.9.id=x"], "index 9 is out of range"),
        (["video.asset.ready", "--expect", "often"], "expect 'often'"),
        (["video.asset.ready", "--shard", "3/2"], "--shard 3/2"),
    ],
)
def test_bad_input_is_exit_2_before_anything_is_sent(
    tmp_path: Path, app: RecordingApp, args: list[str], message: str
) -> None:
    result = muxhook(tmp_path, "replay", *args, "--to", app.url)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert app.requests == []


def test_invalid_json_fixture_names_the_file(tmp_path: Path, app: RecordingApp) -> None:
    (tmp_path / "broken.json").write_text('{"type": "video.asset.ready",')
    result = muxhook(tmp_path, "replay", "broken.json", "--set", "data.x=1", "--to", app.url)
    assert result.returncode == 2
    assert "broken.json" in result.stderr and app.requests == []


def test_an_empty_folder_is_bad_input(tmp_path: Path, app: RecordingApp) -> None:
    (tmp_path / "empty").mkdir()
    result = muxhook(tmp_path, "replay", "empty", "--to", app.url)
    assert result.returncode == 2 and "no fixtures" in result.stderr


def test_shards_split_the_set_without_overlap(tmp_path: Path) -> None:
    seen: list[list[str]] = []
    for index in (1, 2, 3):
        with serve(RecordingApp()) as app:
            result = muxhook(
                tmp_path, "replay", str(FIXTURES / "mux"), "--to", app.url, "--shard", f"{index}/3"
            )
            assert result.returncode == 0
            seen.append(sorted(json.loads(r.body)["type"] for r in app.requests))
    everything = sorted(p.stem for p in (FIXTURES / "mux").glob("*.json"))
    assert sorted(t for shard in seen for t in shard) == everything
    assert all(abs(len(shard) - len(everything) / 3) <= 1 for shard in seen)


def test_duplicates_are_sent_and_compared(tmp_path: Path, app: RecordingApp) -> None:
    result = muxhook(tmp_path, "replay", "video.asset.ready", "--to", app.url, "--duplicates", "2")
    assert result.returncode == 0
    assert len(app.requests) == 3 and len({r.body for r in app.requests}) == 1


def test_duplicates_answered_differently_are_reported(tmp_path: Path) -> None:
    seen: set[bytes] = set()

    def idempotent_badly(request: Received) -> tuple[int, bytes]:
        status = 409 if request.body in seen else 200
        seen.add(request.body)
        return status, b"{}"

    with serve(RecordingApp(idempotent_badly)) as app:
        result = muxhook(
            tmp_path, "replay", "video.asset.ready", "--to", app.url, "--duplicates", "1"
        )
    assert result.returncode == 1
    assert "[duplicate 1]" in result.stdout and "expected 2xx, got 409" in result.stdout


def test_json_lines_and_github_annotations(tmp_path: Path) -> None:
    with serve(RecordingApp(lambda _: (500, b"boom"))) as app:
        result = muxhook(
            tmp_path,
            "replay",
            "video.asset.ready",
            "--to",
            app.url,
            "--json",
            env={"GITHUB_ACTIONS": "true"},
        )
    lines = result.stdout.splitlines()
    document = json.loads(lines[0])
    assert (document["status"], document["ok"], document["expected"]) == (500, False, "2xx")
    assert lines[1].startswith("::error title=muxhook replay: video.asset.ready::")
    assert result.returncode == 1


def test_expect_4xx_and_exact_codes(tmp_path: Path) -> None:
    with serve(RecordingApp(lambda _: (202, b"{}"))) as app:
        assert (
            muxhook(
                tmp_path, "replay", "video.asset.ready", "--to", app.url, "--expect", "200,202"
            ).returncode
            == 0
        )
        assert (
            muxhook(
                tmp_path, "replay", "video.asset.ready", "--to", app.url, "--expect", "200"
            ).returncode
            == 1
        )


def test_fresh_ids_give_each_run_new_ids_and_without_it_the_fixtures_own(
    tmp_path: Path, app: RecordingApp
) -> None:
    fixture = FIXTURES / "mux" / "video.asset.ready.json"
    original = json.loads(fixture.read_bytes())

    def ids(body: bytes) -> tuple[str, str]:
        document = json.loads(body)
        return document["id"], document["object"]["id"]

    for extra in ((), (), ("--fresh-ids",), ("--fresh-ids",)):
        result = muxhook(tmp_path, "replay", str(fixture), "--to", app.url, *extra)
        assert result.returncode == 0, result.stdout + result.stderr
    kept, again, fresh, fresher = (ids(request.body) for request in app.requests)
    assert kept == again == (original["id"], original["object"]["id"])
    assert fresh != fresher  # two runs, two new events
    for event_id, object_id in (fresh, fresher):
        assert event_id != original["id"] and object_id != original["object"]["id"]
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", event_id
        )
        assert len(object_id) == len(original["object"]["id"])
    # The asset's id is the same new value wherever the body had the old one.
    body = json.loads(app.requests[2].body)
    assert body["data"]["id"] == fresh[1]
    assert original["data"]["id"] == original["object"]["id"]


def test_stdin_and_from_log(tmp_path: Path, app: RecordingApp) -> None:
    body = (FIXTURES / "mux" / "video.asset.ready.json").read_text()
    assert muxhook(tmp_path, "replay", "-", "--to", app.url, stdin=body).returncode == 0
    db = tmp_path / "e.db"
    with listen_locally(tmp_path, db, env=ENV) as listener:
        import httpx

        httpx.post(
            listener.url, content=body.encode(), headers=signing.sign(body.encode(), secret=SECRET)
        )
        listener.wait_for_stdout(1)
    result = muxhook(tmp_path, "replay", "--from-log", "--db", str(db), "--to", app.url)
    assert result.returncode == 0, result.stderr
    assert [r.body for r in app.requests] == [body.encode(), body.encode()]
    for request in app.requests:
        signing.verify(request.body, request.headers, secret=SECRET)


def test_scenario_ids_stay_consistent_across_steps(tmp_path: Path, app: RecordingApp) -> None:
    result = muxhook(tmp_path, "replay", "mux-direct-upload", "--to", app.url)
    assert result.returncode == 0, result.stderr
    bodies = [json.loads(r.body) for r in app.requests]
    assert [b["type"] for b in bodies] == [
        "video.upload.created",
        "video.asset.created",
        "video.asset.ready",
        "video.upload.asset_created",
    ]
    upload, created, ready, done = bodies
    assert upload["data"]["id"] == created["data"]["upload_id"] == done["data"]["id"]
    assert created["data"]["id"] == ready["data"]["id"] == done["data"]["asset_id"]
    assert len({b["id"] for b in bodies}) == 4  # each delivery is its own event


def test_every_bundled_scenario_passes_an_sdk_verifying_receiver(tmp_path: Path) -> None:
    mux_only = sorted((FIXTURES / "scenarios").glob("mux-*.toml"))
    with sdk_receiver(SECRET) as url:
        result = muxhook(tmp_path, "replay", *map(str, mux_only), "--to", url)
    assert result.returncode == 0, result.stdout + result.stderr
