"""``muxhook replay --junit``: a report CI can always read, whatever the app answered and
however the run ended. Real replay processes against real apps; every report is read
with an XML parser."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from muxhook import replay
from muxhook.records import Attempt
from tests.apps import Received, RecordingApp, free_port, serve
from tests.listening import muxhook_env, run_muxhook

SECRET = "report-test-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
#: An answer as a Python app's error page may send it: ANSI colours, and a NUL.
COLOURED_500 = b"\x1b[31mKeyError: 'passthrough'\x1b[0m\x00 in handle_webhook"


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The usual umask for the processes started in the block, whatever this one has."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def suite(report: Path) -> ET.Element:
    """The report's <testsuite>, read by an XML parser (which refuses a malformed file)."""
    found = ET.parse(report).getroot().find("testsuite")  # noqa: S314 - our own output
    assert found is not None
    return found


def owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_report_is_well_formed_xml_whatever_the_app_answered(tmp_path: Path) -> None:
    """ANSI colours and a NUL in a 500's body: replaced visibly, and the file parses."""
    report = tmp_path / "reports" / "webhooks.xml"
    report.parent.mkdir()
    with serve(RecordingApp(lambda _: (500, COLOURED_500))) as app, umask(0o022):
        result = run_muxhook(
            tmp_path,
            "replay",
            "video.asset.ready",
            "--to",
            app.url,
            "--junit",
            str(report),
            env=ENV,
        )
    assert result.returncode == 1, result.stderr
    failure = suite(report).find("testcase/failure")
    assert failure is not None and failure.get("message") == "expected 2xx, got 500"
    assert failure.text == "␛[31mKeyError: 'passthrough'␛[0m␀ in handle_webhook"
    assert owner_only(report)
    assert [p.name for p in report.parent.iterdir()] == ["webhooks.xml"]  # no temporary left


def test_every_character_xml_forbids_is_replaced_visibly() -> None:
    """Each C0 control but tab, LF and CR, U+FFFE, U+FFFF and a lone surrogate (a file
    name that is not UTF-8), in the answer, the source and the error: the XML parses and
    each one can still be seen."""
    forbidden = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\ufffe\uffff"
    delivery = replay.Delivery("fixtures/bad-\udcff.json", "mux", "video.asset.ready", b"{}", None)
    answered = Attempt(0.0, "http://app", 500, 1.0, forbidden.encode(), None)
    unanswered = Attempt(0.0, "http://app", None, 1.0, b"", f"refused {forbidden}")
    results = [
        replay.Result(delivery, replay.ANY_SUCCESS, answered),
        replay.Result(delivery, replay.ANY_SUCCESS, unanswered),
    ]
    document = ET.fromstring(replay.junit_xml(results).encode())  # noqa: S314
    failure, error = document.find(".//failure"), document.find(".//error")
    assert failure is not None and error is not None
    pictures = "".join(chr(0x2400 + c) for c in range(0x20) if chr(c) not in "\t\n\r")
    assert failure.text == pictures + "\\ufffe\\uffff"
    assert (error.get("message") or "").endswith(f"refused {pictures}\\ufffe\\uffff)")
    case = document.find(".//testcase")
    assert case is not None and case.get("classname") == "fixtures/bad-\\udcff.json"


def test_an_unreachable_app_is_an_error_case_in_the_report(tmp_path: Path) -> None:
    report = tmp_path / "webhooks.xml"
    port = free_port()
    result = run_muxhook(
        tmp_path,
        "replay",
        "video.asset.ready",
        "video.asset.created",
        "--to",
        f"http://127.0.0.1:{port}/hooks",
        "--junit",
        str(report),
        env=ENV,
    )
    assert result.returncode == 3
    found = suite(report)
    assert (found.get("tests"), found.get("errors"), found.get("failures")) == ("2", "2", "0")
    errors = found.findall("testcase/error")
    assert len(errors) == 2
    assert all("connection refused" in (e.get("message") or "") for e in errors)


def test_wait_for_app_giving_up_writes_a_report_that_says_why(tmp_path: Path) -> None:
    """Not an empty file: an error case saying why, and the events it did not send."""
    report = tmp_path / "webhooks.xml"
    url = f"http://127.0.0.1:{free_port()}/hooks"
    with umask(0o022):
        result = run_muxhook(
            tmp_path,
            "replay",
            "video.asset.ready",
            "video.asset.created",
            "--to",
            url,
            "--wait-for-app",
            "1",
            "--junit",
            str(report),
            env=ENV,
        )
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1] == (
        f"error: nothing accepted connections at {url} within 1 s (--wait-for-app)"
    )
    found = suite(report)
    assert (found.get("tests"), found.get("errors"), found.get("skipped")) == ("3", "1", "2")
    error = found.find("testcase/error")
    assert error is not None
    assert (
        error.get("message") == f"nothing accepted connections at {url} within 1 s (--wait-for-app)"
    )
    skipped = [case.get("name") for case in found if case.find("skipped") is not None]
    assert skipped == ["video.asset.ready", "video.asset.created"]
    assert owner_only(report)


def test_ctrl_c_during_replay_writes_a_complete_report(tmp_path: Path) -> None:
    """SIGINT while the app holds the second of three events: exit 130, and a report
    with the first answered, why the run stopped, and the two not answered as skipped.
    While the run goes on, no half-written (or stale) report is at the path."""
    report = tmp_path / "webhooks.xml"
    report.write_text("<a report from an earlier run/>")
    release = threading.Event()

    def holds_the_second(request: Received) -> tuple[int, bytes]:
        if b"video.asset.ready" in request.body:
            release.wait(30)
        return 200, b"{}"

    with serve(RecordingApp(holds_the_second)) as app, umask(0o022):
        events = ("video.asset.created", "video.asset.ready", "video.asset.deleted")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "muxhook",
                "replay",
                *events,
                "--to",
                app.url,
                "--junit",
                report,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=muxhook_env(tmp_path, ENV),
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 20
            while len(app.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(app.requests) == 2
            assert not report.exists()  # not half of this run's report, nor a stale one
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        finally:
            release.set()
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    found = suite(report)
    assert (found.get("tests"), found.get("errors"), found.get("skipped")) == ("4", "1", "2")
    error = found.find("testcase/error")
    assert error is not None
    assert error.get("message") == "interrupted (Ctrl-C) after 1 of 3 deliveries"
    cases = {case.get("name"): case for case in found if case.get("name") != "the run"}
    assert list(cases) == ["video.asset.created", "video.asset.ready", "video.asset.deleted"]
    assert len(cases["video.asset.created"]) == 0  # passed
    assert cases["video.asset.ready"].find("skipped") is not None
    assert cases["video.asset.deleted"].find("skipped") is not None
    assert owner_only(report)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".webhooks")] == []
