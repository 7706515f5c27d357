"""A damaged event log: found when it is opened, left untouched, and set aside on request.

One healthy log of 3,000 events is built once; each test damages its own copy the way
files really break (cut short, garbage over the header, garbage over pages in the middle,
over an index, over a table's root) and checks what every command and ``listen`` say,
that the file is byte for byte as it was, and what ``muxhook log recover`` keeps.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from muxhook import integrity, signing
from muxhook.errors import EnvironmentProblem
from muxhook.records import Attempt, Incoming, Target
from muxhook.store import DamagedLog, EventLog
from tests.apps import RecordingApp, serve
from tests.listening import run_muxhook

EVENTS = 3000
BODY = b'{"type":"video.asset.ready","object":{"type":"asset","id":"a"},"pad":"' + b"y" * 1100
URL = "http://127.0.0.1:9/hooks"
SECRET = "integrity-test-secret-01"


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of 3,000 delivered events (about 1,700 pages), checkpointed, closed."""
    path = tmp_path_factory.mktemp("healthy") / "events.db"
    with EventLog(path) as log:
        with log.transaction():
            for n in range(EVENTS):
                event_id = log.record(
                    Incoming(1_700_000_000.0 + n, "POST", "/webhooks/mux", [], BODY + b'"}', "x"),
                    provider="mux",
                    event_type="video.asset.ready",
                    event_key=f"evt-{n}",
                    object_id=f"asset-{n}",
                    verdict="valid",
                    targets=[Target(URL)],
                )
                log.add_attempt(event_id, Attempt(1.0, URL, 200, 1.0, b"ok", None))
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def root_page(path: Path, name: str) -> int:
    raw = sqlite3.connect(path)
    try:
        [(page,)] = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,))
    finally:
        raw.close()
    return int(page)


def overwrite(path: Path, offset: int, size: int) -> None:
    garbage = random.Random(offset).randbytes(size)
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(garbage)


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as file:
        file.truncate(size)


Damage = Callable[[Path], None]
DAMAGE: dict[str, Damage] = {
    "cut short": lambda p: truncate(p, p.stat().st_size // 2),
    "cut mid-page": lambda p: truncate(p, p.stat().st_size // 2 + 1000),
    "garbage over the header": lambda p: overwrite(p, 0, 100),
    "garbage mid-file": lambda p: overwrite(p, p.stat().st_size // 2 + 123, 16384),
    "garbage over one page": lambda p: overwrite(p, (p.stat().st_size // 4096 // 3) * 4096, 4096),
    "garbage over an index": lambda p: overwrite(
        p, (root_page(p, "events_by_key") - 1) * 4096, 4096
    ),
    "garbage over the events root": lambda p: overwrite(
        p, (root_page(p, "events") - 1) * 4096, 4096
    ),
}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, healthy: Path, tmp_path: Path) -> Path:
    path = tmp_path / "events.db"
    shutil.copyfile(healthy, path)
    DAMAGE[request.param](path)
    return path


def test_a_healthy_log_opens(healthy: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    shutil.copyfile(healthy, path)
    with EventLog(path, read_only=True) as log:
        assert len(log.list(limit=None)) == EVENTS
    with EventLog(path) as log:
        assert log.failed() == []


def test_damage_is_found_when_the_log_is_opened_and_the_file_is_left_as_it_was(
    damaged: Path,
) -> None:
    before = digest(damaged)
    for read_only in (True, False):
        with pytest.raises(DamagedLog) as found:
            EventLog(damaged, read_only=read_only)
        message = str(found.value)
        assert message.startswith(f"the event log at {damaged} is damaged (")
        assert "muxhook left it untouched" in message
        assert f"run 'muxhook log recover --db {damaged}'" in message
        assert "\n" not in message
        assert isinstance(found.value, EnvironmentProblem)  # exit 4
    assert digest(damaged) == before
    wal = Path(f"{damaged}-wal")  # SQLite may make an empty one to read: nothing is in it
    assert not wal.exists() or wal.stat().st_size == 0


def test_someone_elses_sqlite_file_and_a_text_file_are_not_called_damaged(tmp_path: Path) -> None:
    theirs = tmp_path / "app.db"
    raw = sqlite3.connect(theirs)
    raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    raw.executemany("INSERT INTO users (name) VALUES (?)", [("x" * 500,)] * 200)
    raw.commit()
    raw.close()
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"these are my notes\n" * 1000)
    for path in (theirs, notes):
        before = digest(path)
        with pytest.raises(EnvironmentProblem) as refused:
            EventLog(path)
        assert not isinstance(refused.value, DamagedLog)
        assert "not a muxhook event log" in str(refused.value)
        assert digest(path) == before


def test_the_screen_walks_a_log_whose_latest_pages_are_in_the_write_ahead_log(
    tmp_path: Path,
) -> None:
    """After a kill -9 the newest pages are only in the -wal file: the check reads them
    there, as SQLite does, and finds nothing wrong."""
    path = tmp_path / "events.db"
    writer = EventLog(path)
    writer.conn.execute("PRAGMA wal_autocheckpoint = 0")  # everything stays in the WAL
    with writer.transaction():
        for n in range(500):
            writer.record(Incoming(1.0, "POST", "/", [], BODY + str(n).encode(), "x"))
    assert Path(f"{path}-wal").stat().st_size > 500 * 1024
    roots = [1, root_page(path, "events"), root_page(path, "events_by_key")]
    assert integrity.walk(path, roots) is None
    with EventLog(path, read_only=True) as reader:
        assert len(reader.list(limit=None)) == 500
    writer.close()


@pytest.mark.parametrize(
    "command",
    [
        ["log", "list"],
        ["log", "show", "1"],
        ["log", "replay", "--failed"],
        ["log", "export", "--since", "36500d", "--to", "exported"],
        ["replay", "--from-log", "--to", URL, "--secret", SECRET],
        ["listen", "--no-tunnel", "--port", "0"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_on_a_damaged_log_says_so_in_one_line_and_exits_4(
    healthy: Path, tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "events.db"
    shutil.copyfile(healthy, path)
    DAMAGE["garbage mid-file"](path)
    before = digest(path)
    run = run_muxhook(tmp_path, *command, "--db", str(path))
    assert run.returncode == 4, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error: the event log at {path} is damaged (")
    assert "Traceback" not in run.stderr + run.stdout
    assert digest(path) == before


def test_log_recover_keeps_the_readable_events_and_sets_the_damaged_file_aside(
    damaged: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    before = digest(damaged)
    run = run_muxhook(tmp_path, "log", "recover", "--db", str(damaged))
    assert run.returncode == 0, run.stderr
    [line] = run.stderr.splitlines()
    [aside] = tmp_path.glob("events.db.damaged-*")
    assert digest(aside) == before  # kept beside, byte for byte
    assert line.startswith("recovered ") and line.endswith(f"the damaged file is kept as {aside}")
    kept = int(line.split()[1].replace(",", ""))
    assert f"into a new log at {damaged}" in line
    with EventLog(damaged) as log:
        events = log.list(limit=None)
        assert len(events) == kept
        assert all(e.body == BODY + b'"}' and e.status == "ok" for e in events)
        assert all(e.targets == (Target(URL),) for e in events)
    if "cut" in request.node.name:  # the rows in the half that is left
        assert EVENTS // 3 < kept < EVENTS and "unreadable: ids" not in line
    else:  # every row but those on the pages the garbage covers
        assert EVENTS - 20 <= kept <= EVENTS
        if kept < EVENTS:
            assert f"(at most {EVENTS - kept} event" in line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("events.db")) == [
        "events.db",
        aside.name,
    ]
    again = run_muxhook(tmp_path, "log", "recover", "--db", str(damaged))
    assert again.returncode == 0
    assert again.stderr.strip().endswith("has no damage SQLite can find; nothing was changed")


def test_recovered_events_replay_where_they_were_going(healthy: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    shutil.copyfile(healthy, path)
    body = b'{"type":"video.asset.created"}'
    with serve(RecordingApp()) as app:
        with EventLog(path) as log:  # cut short by a crash: due, no attempt
            log.record(Incoming(time.time(), "POST", "/", [], body, "x"), provider="mux",
                       targets=[Target(app.url)])  # fmt: skip
        DAMAGE["garbage mid-file"](path)
        assert run_muxhook(tmp_path, "log", "recover", "--db", str(path)).returncode == 0
        replay = run_muxhook(
            tmp_path, "log", "replay", "--failed", "--db", str(path),
            env={"MUX_WEBHOOK_SECRET": SECRET},
        )  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert [r.body for r in app.requests] == [body]
    signing.verify(app.requests[0].body, app.requests[0].headers, secret=SECRET)
    assert "possibly delivered" in replay.stdout


def test_a_row_whose_bytes_changed_inside_is_said_to_be_damaged_when_read(tmp_path: Path) -> None:
    """Garbage inside a row's payload leaves every page's structure intact, so the check
    at open passes; reading that row is one line and exit 4, not a traceback."""
    path = tmp_path / "events.db"
    with EventLog(path) as log:
        for n in range(3):
            log.record(Incoming(1.0, "POST", "/", [("a", "b")], b"{}", "x"), event_key=f"e{n}")
    raw = sqlite3.connect(path)
    raw.execute("UPDATE events SET headers = '[[\"a\",' WHERE id = 2")  # as bytes gone bad would
    raw.commit()
    raw.close()
    listed = run_muxhook(tmp_path, "log", "list", "--db", str(path))
    shown = run_muxhook(tmp_path, "log", "show", "1", "--db", str(path))
    assert listed.returncode == 4 and "Traceback" not in listed.stderr
    assert listed.stderr.strip() == (
        f"error: the event log at {path} is damaged (event #2 does not read); muxhook left it "
        f"untouched: run 'muxhook log recover --db {path}' to move its readable events to a "
        "new log, or pass --db PATH to use another file"
    )
    assert shown.returncode == 0  # the rows around it read as ever
    recovered = run_muxhook(tmp_path, "log", "recover", "--db", str(path))
    assert recovered.returncode == 0
    assert "recovered 2 events and 0 attempts" in recovered.stderr
    assert "unreadable: ids #2 (at most 1 event)" in recovered.stderr
    assert run_muxhook(tmp_path, "log", "list", "--db", str(path)).returncode == 0
