"""The event log: exact bytes in and out, filters, failures, sharing, and refusals."""

from __future__ import annotations

import fnmatch
import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from muxhook import records, store
from muxhook.errors import EnvironmentProblem, UsageError
from muxhook.records import Attempt, Incoming, StoredEvent
from muxhook.store import EventLog, default_db_path

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"

JPEG_LIKE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\x00\xff\xd9"


def incoming(
    body: bytes = b'{"type":"video.asset.ready"}',
    *,
    at: float = 1_700_000_000.0,
    headers: list[tuple[str, str]] | None = None,
) -> Incoming:
    return Incoming(
        received_at=at,
        method="POST",
        path="/webhooks/mux?x=1",
        headers=headers if headers is not None else [("content-type", "application/json")],
        body=body,
        remote="127.0.0.1:53422",
    )


def answer(status: int | None, *, error: str | None = None, at: float = 1.0) -> Attempt:
    return Attempt(
        attempted_at=at,
        target="http://127.0.0.1:3000/hooks",
        status=status,
        latency_ms=None if status is None else 4.5,
        response_start=b"" if status is None else b"ok",
        error=error,
    )


def add(
    log: EventLog,
    event_type: str | None = "video.asset.ready",
    *,
    verdict: str | None = "valid",
    statuses: tuple[int | None, ...] = (),
    at: float = 1_700_000_000.0,
    key: str | None = None,
) -> int:
    """Record one event, give it a verdict and attempts (None: connection refused)."""
    event_id = log.record(incoming(at=at))
    log.set_verdict(
        event_id,
        provider="mux",
        event_type=event_type,
        event_key=key,
        object_id="asset-1",
        verdict=verdict,
        reason=None if verdict == "valid" else "no matching v1 signature",
        duplicate=False,
    )
    for status in statuses:
        error = "connection refused" if status is None else None
        log.add_attempt(event_id, answer(status, error=error))
    return event_id


@pytest.fixture
def log(tmp_path: Path) -> EventLog:
    return EventLog(tmp_path / "events.db")


# -- round trips ------------------------------------------------------------------


def test_round_trip_keeps_exact_bytes_and_header_order(log: EventLog) -> None:
    headers = [
        ("Content-Type", "image/jpeg"),
        ("X-Dup", "first"),
        ("Mux-Signature", "t=1,v1=ab"),
        ("X-Dup", "second"),
        ("X-Latin", "caf\xe9 \x00\x7f"),
        ("X-Empty", ""),
        ("x-dup", "third"),
    ]
    sent = Incoming(1_700_000_000.123456, "POST", "/hook?a=1&a=2", headers, JPEG_LIKE, "[::1]:9")
    event_id = log.record(sent)
    got = log.get(event_id)
    assert got is not None
    assert got.body == JPEG_LIKE and isinstance(got.body, bytes)
    assert got.headers == headers
    assert (got.received_at, got.method, got.path, got.remote) == (
        1_700_000_000.123456,
        "POST",
        "/hook?a=1&a=2",
        "[::1]:9",
    )
    assert (got.provider, got.verdict, got.duplicate, got.attempts) == (None, None, False, [])
    assert got.status == "received"


@pytest.mark.parametrize("body", [b"", b"\x80\x81\xfe\xff not utf-8 \xc3\x28", bytes(70_000)])
def test_odd_bodies_come_back_unchanged(log: EventLog, body: bytes) -> None:
    got = log.get(log.record(incoming(body)))
    assert got is not None and got.body == body


def test_lone_surrogates_from_a_lax_decoder_are_stored_not_fatal(log: EventLog) -> None:
    sent = incoming(headers=[("x-raw", "\udcff")])._replace(path="/h\udc80")
    event_id = log.record(sent)
    log.set_verdict(
        event_id, provider="mux", event_type="a\ud800", event_key=None, object_id=None,
        verdict="invalid", reason=None, duplicate=False,
    )  # fmt: skip
    got = log.get(event_id)
    assert got is not None
    assert got.headers == [("x-raw", "\udcff")]  # JSON keeps even these exactly
    assert (got.path, got.event_type) == ("/h\ufffd", "a\ufffd")


def test_verdict_and_attempts_round_trip(log: EventLog) -> None:
    event_id = log.record(incoming())
    log.set_verdict(
        event_id,
        provider="mux",
        event_type="video.asset.ready",
        event_key="evt-1",
        object_id="asset-1",
        verdict="valid",
        reason=None,
        duplicate=True,
    )
    long_answer = Attempt(2.0, "http://app/h", 500, 12.25, b"x" * 5000, None)
    refused = Attempt(3.0, "http://app/h", None, None, b"", "connection refused")
    log.add_attempt(event_id, long_answer)
    log.add_attempt(event_id, refused)
    got = log.get(event_id)
    assert got is not None
    assert (got.provider, got.event_type, got.event_id, got.object_id) == (
        "mux",
        "video.asset.ready",
        "evt-1",
        "asset-1",
    )
    assert (got.verdict, got.reason, got.duplicate) == ("valid", None, True)
    assert got.attempts == [
        long_answer._replace(response_start=b"x" * records.RESPONSE_KEEP),
        refused,
    ]


def test_get_of_a_missing_id_is_none(log: EventLog) -> None:
    assert log.get(12345) is None


def test_unknown_ids_and_verdicts_are_refused(log: EventLog) -> None:
    with pytest.raises(UsageError, match="no event 99 in the event log"):
        log.add_attempt(99, answer(200))
    with pytest.raises(UsageError, match="no event 99"):
        log.set_verdict(
            99, provider=None, event_type=None, event_key=None, object_id=None,
            verdict=None, reason=None, duplicate=False,
        )  # fmt: skip
    event_id = log.record(incoming())
    with pytest.raises(ValueError, match="verdict must be one of"):
        log.set_verdict(
            event_id, provider=None, event_type=None, event_key=None, object_id=None,
            verdict="maybe", reason=None, duplicate=False,
        )  # fmt: skip
    log.add_attempt(event_id, answer(200))  # the failed ones left no half-written state
    got = log.get(event_id)
    assert got is not None and got.status == "ok"


def test_reopening_finds_everything_and_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with EventLog(path) as first:
        event_id = add(first, statuses=(200,))
    with EventLog(path) as second:
        got = second.get(event_id)
        assert got is not None and got.status == "ok"
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_close_is_idempotent(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.db")
    log.close()
    log.close()
    assert "events.db" in repr(log)
    with pytest.raises(sqlite3.ProgrammingError):  # a bug in the caller, not the machine
        log.record(incoming())


# -- list --------------------------------------------------------------------------


def test_list_is_newest_first_and_limited(log: EventLog) -> None:
    ids = [add(log, at=1000.0 + n) for n in range(60)]
    assert [e.id for e in log.list()] == ids[::-1][:50]
    assert [e.id for e in log.list(limit=3)] == ids[::-1][:3]
    assert [e.id for e in log.list(limit=None)] == ids[::-1]
    assert log.list(limit=0) == []


def test_list_since(log: EventLog) -> None:
    ids = [add(log, at=at) for at in (100.0, 200.0, 300.0)]
    assert [e.id for e in log.list(since=200.0)] == [ids[2], ids[1]]
    assert log.list(since=301.0) == []


def test_list_by_ids(log: EventLog) -> None:
    ids = [add(log) for _ in range(5)]
    assert [e.id for e in log.list(ids=[ids[3], ids[0], 999, ids[3]])] == [ids[3], ids[0]]
    assert log.list(ids=[]) == []
    assert [e.id for e in log.list(ids=ids, limit=2)] == [ids[4], ids[3]]


def test_list_by_many_ids_beyond_one_query(log: EventLog) -> None:
    ids = [log.record(incoming()) for _ in range(1200)]
    assert [e.id for e in log.list(ids=ids, limit=None)] == ids[::-1]


def test_list_type_glob(log: EventLog) -> None:
    types = ["video.asset.ready", "video.asset.errored", "video.upload.created", "Video.asset.x"]
    ids = {t: add(log, t) for t in types}
    add(log, None)  # an event with no type never matches

    def matching(pattern: str) -> set[int]:
        return {e.id for e in log.list(type_glob=pattern, limit=None)}

    assert matching("video.asset.*") == {ids["video.asset.ready"], ids["video.asset.errored"]}
    assert matching("*.created") == {ids["video.upload.created"]}
    assert matching("video.asset.[re]*") == {ids["video.asset.ready"], ids["video.asset.errored"]}
    assert matching("video.asset.[!r]*") == {ids["video.asset.errored"]}
    assert matching("[Vv]ideo.asset.?") == {ids["Video.asset.x"]}  # case-sensitive, as fnmatchcase
    assert len(matching("*")) == 4
    assert matching("video.asset") == set()


def test_type_glob_agrees_with_fnmatchcase(log: EventLog) -> None:
    """fnmatch's brackets differ from SQLite's ([!x] is [^x], odd ] - ^ placement)."""
    rnd = random.Random(7)
    alphabet = "ab-]^![.zé"
    types = sorted({"".join(rnd.choices(alphabet, k=rnd.randint(0, 4))) for _ in range(150)})
    ids = {t: add(log, t) for t in types}
    patterns = [
        "[!a]*", "[]]", "[]a]", "[^a]*", "[", "a[", "[a-]", "[-a]", "[z-a]", "[!]", "[!]]",
        "*[*]", "[?]", "[^]", "[!^]", "[]-^]", "[à-ÿ]*", "*[!é]", "[\\]", "[a-a]?",
    ]  # fmt: skip
    patterns += ["".join(rnd.choices(alphabet + "*?", k=rnd.randint(1, 6))) for _ in range(150)]
    for pattern in patterns:
        want = {ids[t] for t in types if fnmatch.fnmatchcase(t, pattern)}
        got = {e.id for e in log.list(type_glob=pattern, limit=None)}
        assert got == want, pattern


def test_list_status_matches_the_status_property(log: EventLog) -> None:
    cases = {
        add(log, statuses=(200,)): "ok",
        add(log, statuses=(500, 204)): "ok",
        add(log, statuses=(200, 500)): "failed",
        add(log, statuses=(None,)): "failed",
        add(log, statuses=(302,)): "failed",
        add(log): "received",
        add(log, verdict=None): "received",
        add(log, verdict="unverified", statuses=(200,)): "ok",
        add(log, verdict="invalid"): "invalid",
        add(log, verdict="invalid", statuses=(200,)): "invalid",
        add(log, verdict="rejected"): "invalid",
    }
    assert {e.id: e.status for e in log.list(limit=None)} == cases
    for status in records.STATUSES:
        want = sorted((i for i, s in cases.items() if s == status), reverse=True)
        assert [e.id for e in log.list(status=status, limit=None)] == want


def test_filters_combine(log: EventLog) -> None:
    add(log, "video.asset.ready", statuses=(500,), at=10.0)
    late = add(log, "video.asset.ready", statuses=(500,), at=20.0)
    add(log, "video.upload.created", statuses=(500,), at=30.0)
    add(log, "video.asset.ready", statuses=(200,), at=40.0)
    found = log.list(type_glob="video.asset.*", status="failed", since=15.0)
    assert [e.id for e in found] == [late]


def test_unknown_status_is_a_usage_error(log: EventLog) -> None:
    with pytest.raises(UsageError, match="unknown status 'broken'; use one of: ok, invalid"):
        log.list(status="broken")


# -- failed and seen ------------------------------------------------------------------


def test_failed_is_oldest_first_and_cleared_by_a_later_success(log: EventLog) -> None:
    retried = add(log, statuses=(500, 200))
    refused = add(log, statuses=(None,))
    add(log)  # never forwarded: not failed
    add(log, statuses=(201,))
    regressed = add(log, statuses=(200, 503), at=1_800_000_000.0)
    assert [e.id for e in log.failed()] == [refused, regressed]
    assert [e.id for e in log.failed(since=1_750_000_000.0)] == [regressed]
    assert all(isinstance(e, StoredEvent) and e.status == "failed" for e in log.failed())
    log.add_attempt(refused, answer(200))
    assert [e.id for e in log.failed()] == [regressed]
    got = log.get(retried)
    assert got is not None and [a.status for a in got.attempts] == [500, 200]


def test_seen_finds_only_earlier_rows_of_the_same_provider(log: EventLog) -> None:
    first = add(log, key="evt-1")
    other = log.record(incoming())
    log.set_verdict(
        other, provider="fastpix", event_type="x", event_key="evt-1", object_id=None,
        verdict="valid", reason=None, duplicate=False,
    )  # fmt: skip
    second = add(log, key="evt-1")
    assert not log.seen("mux", "evt-1", before=first)
    assert log.seen("mux", "evt-1", before=second)
    assert log.seen("fastpix", "evt-1", before=second)
    assert not log.seen("fastpix", "evt-1", before=other)
    assert not log.seen("mux", "evt-2", before=second + 1)


def test_seen_uses_an_index(log: EventLog) -> None:
    raw = sqlite3.connect(log.path)
    try:
        plan = raw.execute("EXPLAIN QUERY PLAN " + store._SEEN, ("mux", "e", 10)).fetchall()
    finally:
        raw.close()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "USING" in detail and "INDEX events_by_key" in detail, detail


# -- sharing one file ---------------------------------------------------------------------


def test_two_logs_in_two_threads_share_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "events.db"
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            start.wait()
            with EventLog(path) as log:  # both create the file and schema at once
                for n in range(200):
                    add(log, f"{tag}.{n}", statuses=(200,))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with EventLog(path) as log:
        events = log.list(limit=None)
    assert len(events) == 400 == len({e.id for e in events})
    assert {e.status for e in events} == {"ok"}


def test_one_log_shared_by_threads(log: EventLog) -> None:
    def write() -> None:
        for _ in range(100):
            add(log, statuses=(200,))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log.list(limit=None)) == 400


CHILD = textwrap.dedent(
    """
    import sys
    from muxhook.store import EventLog
    from muxhook.records import Attempt, Incoming

    with EventLog(sys.argv[1]) as log:
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(200):
            event_id = log.record(Incoming(float(n), "POST", "/", [("a", "b")], b"child", "x"))
            log.set_verdict(
                event_id, provider="mux", event_type="child", event_key=f"c{n}",
                object_id=None, verdict="valid", reason=None, duplicate=False,
            )
            log.add_attempt(event_id, Attempt(1.0, "http://app", 200, 1.0, b"", None))
    """
)


def test_a_second_process_writes_at_the_same_time(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with EventLog(path) as log:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline() == "ready\n"
        child.stdin.write("go\n")
        child.stdin.flush()
        for n in range(200):
            add(log, "parent", statuses=(200,), key=f"p{n}")
        _, stderr = child.communicate(timeout=60)
        assert (child.returncode, stderr) == (0, "")
        events = log.list(limit=None)
    assert len(events) == 400
    assert sorted(e.event_type or "" for e in events) == ["child"] * 200 + ["parent"] * 200
    assert {e.status for e in events} == {"ok"}


RACER = textwrap.dedent(
    """
    import sys
    from muxhook.store import EventLog
    from muxhook.records import Incoming

    print("ready", flush=True)
    sys.stdin.readline()
    with EventLog(sys.argv[1]) as log:
        for n in range(20):
            log.record(Incoming(float(n), "POST", "/", [], b"racer", "x"))
    """
)


def test_processes_racing_to_create_a_fresh_file(tmp_path: Path) -> None:
    """Switching a new file to WAL fails at once, not after busy_timeout, under a race."""
    path = tmp_path / "fresh" / "events.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(4)
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    outcomes = [(racer.communicate(timeout=60)[1], racer.wait()) for racer in racers]
    assert outcomes == [("", 0)] * 4
    with EventLog(path) as log:
        assert len(log.list(limit=None)) == 80


def test_a_lock_held_too_long_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    EventLog(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with EventLog(path, timeout=0.05) as log:
            with pytest.raises(EnvironmentProblem) as caught:
                log.record(incoming())
    finally:
        holder.close()
    message = str(caught.value)
    assert "locked by another process" in message and str(path) in message
    assert "\n" not in message and caught.value.__cause__ is None


# -- files, folders and refusals ----------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_new_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "events.db"
    with EventLog(path) as log:
        log.record(incoming())
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name("events.db-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in; a path under a file if chmod can't."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    (folder / "probe").unlink()  # root ignores modes: a file's "folder" fails for everyone
    folder.chmod(0o700)
    plain_file = tmp_path / "file.txt"
    plain_file.write_text("not a folder")
    return plain_file


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_an_unwritable_folder_is_one_clear_line(tmp_path: Path) -> None:
    folder = unwritable_folder(tmp_path)
    try:
        with pytest.raises(EnvironmentProblem) as caught:
            EventLog(folder / "events.db")
    finally:
        if folder.is_dir():
            folder.chmod(0o700)
    message = str(caught.value)
    assert str(folder) in message and "--db PATH" in message
    assert "\n" not in message and caught.value.__cause__ is None


def test_a_folder_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    path = tmp_path / "file.txt" / "sub" / "events.db"
    with pytest.raises(EnvironmentProblem, match=r"cannot create the folder .*file\.txt") as caught:
        EventLog(path)
    assert "\n" not in str(caught.value)


def test_a_directory_as_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="cannot write the event log at"):
        EventLog(tmp_path)


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def _as_an_ordinary_user(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` where file modes are enforced: as root (CI), CAP_DAC_OVERRIDE is
    dropped with setpriv, since root otherwise writes read-only files and folders."""
    argv = [sys.executable, "-c", code]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
        argv = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


_OPEN_AND_RECORD = """
import sys
from muxhook.errors import EnvironmentProblem
from muxhook.store import EventLog
from muxhook.records import Incoming
try:
    EventLog(sys.argv[1]).record(Incoming(1.0, "POST", "/", [], b"{}", "127.0.0.1:1"))
except EnvironmentProblem as error:
    print(error)
    sys.exit(4)
"""


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_read_only_file_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    EventLog(path).close()
    path.chmod(0o400)
    run = _as_an_ordinary_user(_OPEN_AND_RECORD.replace("sys.argv[1]", repr(str(path))))
    assert run.returncode == 4, run.stderr
    assert "the file is read-only; pass --db PATH" in run.stdout
    assert run.stdout.count("\n") == 1 and "Traceback" not in run.stderr


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_read_only_folder_around_a_writable_file_is_one_clear_line(tmp_path: Path) -> None:
    folder = tmp_path / "shelf"
    path = folder / "events.db"
    EventLog(path).close()  # closing the last connection removes -wal and -shm
    folder.chmod(0o500)
    try:
        run = _as_an_ordinary_user(_OPEN_AND_RECORD.replace("sys.argv[1]", repr(str(path))))
    finally:
        folder.chmod(0o700)
    assert run.returncode == 4, run.stderr
    assert "its folder is read-only" in run.stdout
    assert run.stdout.count("\n") == 1 and "Traceback" not in run.stderr


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(EnvironmentProblem) as caught:
        EventLog(path)
    message = str(caught.value)
    assert f"{path} is not a muxhook event log" in message and "\n" not in message
    assert path.read_bytes().startswith(b"these are my notes")  # untouched


def test_someone_elses_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE users (id INTEGER)")
    raw.commit()
    raw.close()
    with pytest.raises(EnvironmentProblem, match="an SQLite database but not a muxhook event log"):
        EventLog(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    EventLog(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    raw.close()
    newer = rf"written by a newer muxhook \(schema v{store.SCHEMA_VERSION + 1}"
    with pytest.raises(EnvironmentProblem, match=newer):
        EventLog(path)


@pytest.mark.parametrize(
    ("sqlite_says", "expected"),
    [
        ("database or disk is full", "the disk is full; free some space or pass --db PATH"),
        ("database is locked", "stayed locked by another process for over 5 s"),
        ("attempt to write a readonly database", "the file is read-only"),
        ("disk I/O error", "failed: disk I/O error; pass --db PATH"),
    ],
)
def test_sqlite_failures_become_one_line(tmp_path: Path, sqlite_says: str, expected: str) -> None:
    path = tmp_path / "events.db"
    problem = store._problem(path, sqlite3.OperationalError(sqlite_says))
    assert expected in str(problem) and str(path) in str(problem)
    assert "\n" not in str(problem)


# -- default path --------------------------------------------------------------------------


def test_default_db_path_honours_muxhook_db() -> None:
    env = {"MUXHOOK_DB": "/srv/hooks.db", "XDG_DATA_HOME": "/xdg", "HOME": "/home/me"}
    assert default_db_path(env) == Path("/srv/hooks.db")
    assert default_db_path({"MUXHOOK_DB": "~/h.db", "HOME": "/home/me"}) == Path("/home/me/h.db")


def test_default_db_path_per_platform() -> None:
    home = {"HOME": "/home/me"}
    linux = Path("/home/me/.local/share/muxhook/events.db")
    assert default_db_path(home, platform="linux") == linux
    assert default_db_path({**home, "XDG_DATA_HOME": "/xdg"}, platform="linux") == Path(
        "/xdg/muxhook/events.db"
    )
    assert default_db_path({**home, "XDG_DATA_HOME": "rel"}, platform="linux") == linux
    assert default_db_path({**home, "MUXHOOK_DB": ""}, platform="linux") == linux
    assert default_db_path({"HOME": "/Users/me"}, platform="darwin") == Path(
        "/Users/me/Library/Application Support/muxhook/events.db"
    )
    windows = default_db_path({"LOCALAPPDATA": "C:/Users/me/AppData/Local"}, platform="win32")
    assert windows == Path("C:/Users/me/AppData/Local/muxhook/events.db")


def test_default_db_path_reads_the_real_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUXHOOK_DB", "/srv/from-env.db")
    assert default_db_path() == Path("/srv/from-env.db")


def test_a_forward_cut_short_counts_as_failed(tmp_path: Path) -> None:
    """A row recorded for forwarding, with no attempt yet (muxhook killed mid-forward), is
    failed until a 2xx attempt lands: ``log replay --failed`` finishes it."""
    with EventLog(tmp_path / "events.db") as log:
        pending = log.record(incoming(), forwarding=True)
        kept = log.record(incoming())  # recorded only (no route, or refused)
        assert [e.id for e in log.failed()] == [pending]
        assert log.get(pending) is not None and log.get(kept) is not None
        log.add_attempt(pending, Attempt(1.0, "http://127.0.0.1:9/x", 200, 1.0, b"{}", None))
        assert list(log.failed()) == []


# -- targets (schema v2) ------------------------------------------------------------------

APP = "http://127.0.0.1:3000/hooks"
LIVE = "http://127.0.0.1:4000/live"
TYPO = "http://127.0.0.1:3001/hoks"
RESIGNED = records.Resign("MUXHOOK_FORWARD_SECRET", "pbkdf2-sha256$1$00$00")


def tried(url: str, status: int | None) -> Attempt:
    error = "connection refused" if status is None else None
    return Attempt(1.0, url, status, None if status is None else 1.0, b"", error)


def routed(log: EventLog, *urls: str, attempts: tuple[Attempt, ...] = ()) -> int:
    """An event recorded with one target per URL, then these attempts."""
    targets = [records.Target(url, (("X-Env", "dev"),), RESIGNED) for url in urls]
    event_id = log.record(incoming(), verdict="valid", targets=targets)
    for attempt in attempts:
        log.add_attempt(event_id, attempt)
    return event_id


def test_targets_are_stored_with_the_event_in_the_same_row(log: EventLog) -> None:
    event_id = routed(log, APP, LIVE)
    got = log.get(event_id)
    assert got is not None
    assert got.targets == (
        records.Target(APP, (("X-Env", "dev"),), RESIGNED),
        records.Target(LIVE, (("X-Env", "dev"),), RESIGNED),
    )
    assert got.status == "failed" and got.unattempted() == list(got.targets)
    assert [e.id for e in log.failed()] == [event_id]
    raw = sqlite3.connect(log.path)
    try:
        [(stored,)] = raw.execute("SELECT targets FROM events WHERE id = ?", (event_id,))
    finally:
        raw.close()
    assert json.loads(stored)[0] == {
        "url": APP,
        "headers": [["X-Env", "dev"]],
        "resign": {"source": "MUXHOOK_FORWARD_SECRET", "fingerprint": "pbkdf2-sha256$1$00$00"},
    }


def test_status_comes_from_each_targets_own_attempts_in_python_and_in_sql(
    log: EventLog,
) -> None:
    """StoredEvent.status and the SQL filter (the trigger plus _STATUS) agree, case by case."""
    # --forward-invalid: due like any other; ``failed()`` does not look at verdicts
    forwarded_invalid = log.record(incoming(), verdict="invalid", targets=[records.Target(APP)])
    cases = {
        routed(log, APP): "failed",  # due, no attempt yet
        routed(log, APP, attempts=(tried(APP, 200),)): "ok",
        routed(log, APP, attempts=(tried(APP, 200), tried(TYPO, None))): "ok",  # --to a typo
        routed(log, APP, attempts=(tried(APP, 200), tried(TYPO, 500))): "ok",
        routed(log, APP, attempts=(tried(TYPO, 200),)): "failed",  # not where it was going
        routed(log, APP, attempts=(tried(APP, 500), tried(TYPO, 200))): "failed",
        routed(log, APP, attempts=(tried(APP, 500), tried(APP, 200))): "ok",
        routed(log, APP, attempts=(tried(APP, 200), tried(APP, 503))): "failed",
        routed(log, APP, LIVE, attempts=(tried(APP, 200),)): "failed",  # one app still due
        routed(log, APP, LIVE, attempts=(tried(APP, 200), tried(LIVE, None))): "failed",
        routed(log, APP, LIVE, attempts=(tried(LIVE, 204), tried(APP, 200))): "ok",
        routed(log, APP, LIVE, attempts=(tried(APP, 200), tried(LIVE, 200), tried(TYPO, 0))): "ok",
        forwarded_invalid: "invalid",
        # without targets (not forwarded when received; a v1 row): the latest attempt
        log.record(incoming()): "received",
        add(log, statuses=(200, 500)): "failed",
    }
    legacy = log.record(incoming(), forwarding=True)
    cases[legacy] = "failed"
    log.add_attempt(legacy, tried(TYPO, 200))
    cases[legacy] = "ok"
    assert {e.id: e.status for e in log.list(limit=None)} == cases
    for status in records.STATUSES:
        want = sorted((i for i, s in cases.items() if s == status), reverse=True)
        assert [e.id for e in log.list(status=status, limit=None)] == want, status
    assert sorted(e.id for e in log.failed()) == sorted(
        [i for i, s in cases.items() if s == "failed"] + [forwarded_invalid]
    )


def test_undelivered_and_unattempted_targets(log: EventLog) -> None:
    event_id = routed(log, APP, LIVE, attempts=(tried(APP, 500),))
    got = log.get(event_id)
    assert got is not None
    assert [t.url for t in got.undelivered()] == [APP, LIVE]
    assert [t.url for t in got.unattempted()] == [LIVE]


V1_SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY, received_at REAL NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, remote TEXT NOT NULL,
    provider TEXT, event_type TEXT, event_key TEXT, object_id TEXT, verdict TEXT,
    reason TEXT, duplicate INTEGER NOT NULL DEFAULT 0, delivered INTEGER
);
CREATE INDEX events_by_key ON events (provider, event_key, id) WHERE event_key IS NOT NULL;
CREATE INDEX events_failed ON events (id) WHERE delivered = 0;
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempted_at REAL NOT NULL, target TEXT NOT NULL, status INTEGER, latency_ms REAL,
    response_start BLOB NOT NULL, error TEXT
);
CREATE INDEX attempts_by_event ON attempts (event_id, id);
CREATE TRIGGER attempts_set_delivered AFTER INSERT ON attempts BEGIN
    UPDATE events SET delivered = (
        NEW.error IS NULL AND coalesce(NEW.status BETWEEN 200 AND 299, 0)
    ) WHERE id = NEW.event_id;
END;
PRAGMA user_version = 1;
"""


def v1_log(path: Path) -> None:
    """A log as muxhook wrote it before targets: one delivered, one failed, one cut short."""
    raw = sqlite3.connect(path)
    raw.executescript(V1_SCHEMA)
    row = "INSERT INTO events VALUES (?, 1.0, 'POST', '/', '[]', x'7b7d', 'x', 'mux', 't', ?, ?, 'valid', NULL, 0, ?)"  # noqa: E501
    raw.execute(row, (1, "evt-1", "asset-1", None))
    raw.execute(row, (2, "evt-2", "asset-2", None))
    raw.execute(row, (3, "evt-3", "asset-3", 0))
    attempt = "INSERT INTO attempts (event_id, attempted_at, target, status, latency_ms, response_start, error) VALUES (?, 1.0, ?, ?, 1.0, x'', NULL)"  # noqa: E501
    raw.execute(attempt, (1, APP, 200))
    raw.execute(attempt, (2, APP, 500))
    raw.commit()
    raw.close()


def test_a_v1_log_is_read_as_it_is_and_migrated_when_written(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    v1_log(path)
    with EventLog(path, read_only=True) as reader:  # log list on an old log: no change
        assert [(e.id, e.status, e.targets) for e in reader.list(limit=None)] == [
            (3, "failed", ()),
            (2, "failed", ()),
            (1, "ok", ()),
        ]
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    raw.close()
    with EventLog(path) as log:
        assert [(e.id, e.status) for e in log.list(limit=None)] == [
            (3, "failed"),
            (2, "failed"),
            (1, "ok"),
        ]
        log.add_attempt(3, tried(TYPO, 200))  # a v1 row goes by its latest attempt
        assert [e.id for e in log.failed()] == [2]
        fresh = routed(log, APP, attempts=(tried(APP, 200), tried(TYPO, None)))
        got = log.get(fresh)
        assert got is not None and got.status == "ok"
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        raw.close()


def v2_log(path: Path) -> None:
    """A log as muxhook wrote it before the app's answer headers were kept (schema v2)."""
    v1_log(path)
    raw = sqlite3.connect(path)
    raw.executescript(store._V2 + "PRAGMA user_version = 2;")
    raw.close()


def test_a_v2_log_reads_as_it_is_and_keeps_answer_headers_once_migrated(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    v2_log(path)
    with EventLog(path, read_only=True) as reader:
        old = reader.get(2)
        assert old is not None and old.attempts[0].status == 500
        assert old.attempts[0].response_headers == ()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2  # reading changed nothing
    raw.close()
    answered = Attempt(
        2.0, APP, 500, 1.0, b"KeyError", None, (("Content-Type", "text/plain"), ("X-Req", "7"))
    )
    with EventLog(path) as log:
        log.add_attempt(2, answered)
        got = log.get(2)
    assert got is not None
    assert [a.response_headers for a in got.attempts] == [(), answered.response_headers]
    assert records.event_json(got)["attempts"][1]["response_headers"] == [
        ["Content-Type", "text/plain"],
        ["X-Req", "7"],
    ]
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        raw.close()


# -- the log stays where it says -----------------------------------------------------------


def replaced_while_open(path: Path, how: str) -> None:
    if how == "deleted":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    elif how == "moved":
        path.rename(path.with_name("moved.db"))
    else:  # replaced by another muxhook log, with events of its own
        other = path.with_name("other.db")
        with EventLog(other) as elsewhere:
            for _ in range(5):
                elsewhere.record(incoming(b"other"))
        other.rename(path)


@pytest.mark.parametrize("how", ["deleted", "moved", "replaced"])
def test_a_log_deleted_moved_or_replaced_is_noticed_and_opened_again_at_its_path(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "events.db"
    with EventLog(path) as log:
        first = log.record(incoming(b"first"), targets=[records.Target(APP)])
        replaced_while_open(path, how)
        with pytest.raises(store.LogReplaced) as noticed, log.transaction():
            log.record(incoming(b"second"))
        assert str(noticed.value) == (
            f"the event log at {path} was deleted, moved or replaced while in use; recording "
            f"to {'the' if how == 'replaced' else 'a new'} event log at {path} from now on"
        )
        with log.transaction():  # what GroupCommit does next: the same writes, again
            second = log.record(incoming(b"second"))
        log.add_attempt(first, tried(APP, 200))  # its event is in the old file: not here
        log.add_attempt(second, tried(APP, 200))
        assert second > first
        with log.transaction():
            third = log.record(incoming(b"third"))
    with EventLog(path) as reopened:
        bodies = [e.body for e in sorted(reopened.list(limit=None), key=lambda e: e.id)]
        got = reopened.get(second)
        assert got is not None and [a.target for a in got.attempts] == [APP]
        assert third == second + 1
    assert bodies == ([b"other"] * 5 if how == "replaced" else []) + [b"second", b"third"]
    if how == "moved":
        with EventLog(tmp_path / "moved.db") as moved:
            assert [e.body for e in moved.list(limit=None)] == [b"second", b"first"]


def test_a_log_that_cannot_be_made_again_refuses_every_write_until_it_can(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    with EventLog(path) as log:
        log.record(incoming())
        path.unlink()
        path.mkdir()  # something else took the path
        for _ in range(2):
            with pytest.raises(EnvironmentProblem, match=r"is a directory|unable to open"):
                with log.transaction():
                    log.record(incoming(b"lost"))
        path.rmdir()
        with pytest.raises(store.LogReplaced), log.transaction():
            log.record(incoming(b"kept"))
        with log.transaction():
            log.record(incoming(b"kept"))
    with EventLog(path) as reopened:
        assert [e.body for e in reopened.list(limit=None)] == [b"kept"]
