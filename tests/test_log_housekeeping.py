"""The log on a new machine, ``log list --stats`` and ``log prune``, as a person runs them.

Every command runs as a real process; the prune that shares its log with a running
``listen`` is checked against requests that keep arriving while it works.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from muxhook import signing
from muxhook.records import Attempt, Incoming
from muxhook.store import EventLog
from tests.conftest import FIXTURES
from tests.listening import json_lines, listen_locally, run_muxhook

SECRET = "housekeeping-secret-0001"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
BODY = (FIXTURES / "mux" / "video.asset.ready.json").read_bytes()
DAY = 86400.0


def muxhook(home: Path, *args: str) -> tuple[int, str, str]:
    result = run_muxhook(home, *args, env=ENV, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def fill(path: Path, ages_in_days: list[float], *, provider: str = "mux") -> None:
    """Events received that many days ago, each with one forward attempt."""
    now = time.time()
    with EventLog(path) as log, log.transaction():
        for age in ages_in_days:
            at = now - age * DAY
            incoming = Incoming(at, "POST", "/webhooks/mux", [("Mux-Signature", "t=1")], BODY, "")
            event = log.record(
                incoming,
                provider=provider,
                event_type="video.asset.ready",
                verdict="valid",
                targets=(),
            )
            log.add_attempt(event, Attempt(at, "http://127.0.0.1:9/", 200, 1.0, b"ok", None))


def counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        attempts = conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
    return int(events), int(attempts)


# -- a new machine: no log yet ----------------------------------------------------------------


def test_log_list_on_a_new_machine_says_no_events_yet(tmp_path: Path) -> None:
    code, out, err = muxhook(tmp_path, "log", "list")  # the default data folder, empty
    default = tmp_path / ".local" / "share" / "muxhook" / "events.db"
    assert (code, out) == (0, "")
    assert err == (
        f"no events yet: run 'muxhook listen' to record some (the log will be at {default})\n"
    )
    assert not default.exists()  # reading created nothing


@pytest.mark.parametrize("extra", [(), ("--json",), ("--stats",)])
def test_log_list_with_a_missing_db_says_no_events_yet(tmp_path: Path, extra: tuple[str]) -> None:
    code, out, err = muxhook(tmp_path, "log", "list", "--db", "nowhere/events.db", *extra)
    assert (code, out) == (0, "")
    assert err == (
        "no events yet: run 'muxhook listen' to record some "
        "(the log will be at nowhere/events.db)\n"
    )
    assert not (tmp_path / "nowhere").exists()


def test_muxhook_db_pointing_to_a_missing_file_is_a_new_machine(tmp_path: Path) -> None:
    result = run_muxhook(tmp_path, "log", "list", env={"MUXHOOK_DB": str(tmp_path / "x.db")})
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("no events yet: run 'muxhook listen'")
    assert str(tmp_path / "x.db") in result.stderr


def test_the_other_log_commands_on_a_new_machine(tmp_path: Path) -> None:
    no_log = "there is no event log at new.db yet; run 'muxhook listen' first, or pass --db"
    # An event asked for by its id is still not there: bad input.
    assert muxhook(tmp_path, "log", "show", "3", "--db", "new.db") == (
        2,
        "",
        f"error: no event #3: {no_log}\n",
    )
    assert muxhook(tmp_path, "log", "replay", "3", "--db", "new.db")[0] == 2
    assert muxhook(tmp_path, "log", "export", "3", "--db", "new.db")[0] == 2
    # Everything that is failed, recent or old: none, which is no error.
    assert muxhook(tmp_path, "log", "replay", "--failed", "--db", "new.db") == (
        0,
        "",
        f"nothing to replay: {no_log}\n",
    )
    assert muxhook(tmp_path, "log", "export", "--since", "1d", "--db", "new.db") == (
        0,
        "",
        f"nothing to export: {no_log}\n",
    )
    assert muxhook(tmp_path, "log", "prune", "--before", "30d", "--db", "new.db") == (
        0,
        "",
        f"nothing to prune: {no_log}\n",
    )
    assert muxhook(tmp_path, "log", "recover", "--db", "new.db") == (
        0,
        "",
        f"nothing to recover: {no_log}\n",
    )
    # Saying which events is still required, log or no log.
    code, _, err = muxhook(tmp_path, "log", "replay", "--db", "new.db")
    assert (code, err) == (
        2,
        "error: say which events: IDs, --failed or --since (e.g. --since 1h)\n",
    )
    assert not (tmp_path / "new.db").exists()


# -- log list --stats -------------------------------------------------------------------------


def test_stats_counts_the_span_and_the_size(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    fill(db, [10.0, 9.0, 8.0], provider="mux")
    fill(db, [1.0], provider="fastpix")
    code, out, err = muxhook(tmp_path, "log", "list", "--stats", "--db", "events.db")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "log        events.db"
    assert lines[1] == "events     4 (#1-#4), 4 forward attempts"
    assert lines[2].startswith("span       ") and lines[2].endswith("(9 days)")
    assert lines[3] == "providers  mux 3 · fastpix 1"
    assert lines[4] == "verdicts   valid 4"
    assert lines[5] == "status     ok 4"  # each one's attempt was a 200
    size = db.stat().st_size + Path(f"{db}-wal").stat().st_size
    assert lines[6].startswith("size       ")
    assert "on disk (events.db " in lines[6] and " + WAL " in lines[6]
    assert ", about " in lines[6] and " an event (" in lines[6]
    assert len(lines) == 7
    code, out, _ = muxhook(tmp_path, "log", "list", "--stats", "--json", "--db", "events.db")
    [stats] = json_lines(out)
    assert stats["events"] == 4 and stats["attempts"] == 4
    assert stats["providers"] == {"mux": 3, "fastpix": 1}
    assert stats["bytes"]["total"] == size  # nothing wrote in between
    assert stats["bytes_per_event"] == size // 4
    assert stats["payload_bytes_per_event"] > len(BODY)


@pytest.mark.parametrize(
    ("ages", "events", "span"),
    [
        ([0.0], "events     1 (#1), 1 forward attempt", "(0 minutes)"),
        ([60 / DAY, 0.0], "events     2 (#1-#2), 2 forward attempts", "(1 minute)"),
        ([2 * 60 / DAY, 0.0], "events     2 (#1-#2), 2 forward attempts", "(2 minutes)"),
    ],
)
def test_stats_says_one_minute_and_one_attempt_in_the_singular(
    tmp_path: Path, ages: list[float], events: str, span: str
) -> None:
    fill(tmp_path / "events.db", ages)
    code, out, err = muxhook(tmp_path, "log", "list", "--stats", "--db", "events.db")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1] == events
    assert lines[2].startswith("span       ") and lines[2].endswith(span), lines[2]


def test_stats_refuses_filters(tmp_path: Path) -> None:
    fill(tmp_path / "events.db", [1.0])
    code, out, err = muxhook(
        tmp_path, "log", "list", "--stats", "--since", "1h", "--db", "events.db"
    )
    assert (code, out) == (2, "")
    assert err == "error: --stats counts the whole log: drop --type, --status and --since\n"


# -- log prune ---------------------------------------------------------------------------------


def test_prune_needs_before(tmp_path: Path) -> None:
    fill(tmp_path / "events.db", [40.0])
    code, out, err = muxhook(tmp_path, "log", "prune", "--db", "events.db")
    assert (code, out) == (2, "")
    assert err == (
        "error: say which events to remove: --before 30d (or 12h, a unix time, an ISO time)\n"
    )
    assert counts(tmp_path / "events.db") == (1, 1)


@pytest.mark.parametrize(
    ("before", "says"),
    [
        (
            "last month",
            "error: --before 'last month': give 10m, 2h, 1d, a unix time or an ISO time",
        ),
        ("2999-01-01", "error: --before '2999-01-01' is in the future; give a time in the past"),
    ],
)
def test_prune_refuses_a_bad_time(tmp_path: Path, before: str, says: str) -> None:
    fill(tmp_path / "events.db", [40.0])
    code, _, err = muxhook(tmp_path, "log", "prune", "--before", before, "--db", "events.db")
    assert (code, err) == (2, says + "\n")


def test_prune_dry_run_then_prune(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    fill(db, [age + 0.5 for age in range(59, -1, -1)])  # one a day, oldest first
    before = time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() - 30 * DAY))

    code, out, err = muxhook(
        tmp_path, "log", "prune", "--before", "30d", "--dry-run", "--db", "events.db"
    )
    assert (code, out) == (0, "")
    assert err.startswith(
        f"would remove 30 events (#1-#30) and 30 attempts recorded before {before}, about "
    )
    assert err.endswith("; nothing removed (--dry-run)\n")
    assert counts(db) == (60, 60)

    size = db.stat().st_size
    code, out, err = muxhook(tmp_path, "log", "prune", "--before", "30d", "--db", "events.db")
    assert (code, out) == (0, "")
    first, second = err.splitlines()
    assert first.startswith(
        f"removed 30 events (#1-#30) and 30 attempts recorded before {before}; the log went from "
    )
    assert first.endswith(" given back)")
    assert second == "  (rewritten once so that later prunes give space back in small steps)"
    assert counts(db) == (30, 30)
    assert db.stat().st_size < size
    _, listed, _ = muxhook(tmp_path, "log", "list", "--json", "--limit", "100", "--db", "events.db")
    assert [row["id"] for row in json_lines(listed)] == list(range(60, 30, -1))

    # Once more: nothing that old is left.
    code, _, err = muxhook(tmp_path, "log", "prune", "--before", "30d", "--db", "events.db")
    assert code == 0
    assert err == f"no events recorded before {before}; nothing to remove\n"

    # Later prunes give space back in steps, without rewriting the file.
    code, _, err = muxhook(tmp_path, "log", "prune", "--before", "20d", "--db", "events.db")
    assert code == 0
    assert err.startswith("removed 10 events (#31-#40) and 10 attempts recorded before ")
    assert "rewritten" not in err
    assert counts(db) == (20, 20)


def test_prune_accepts_the_time_forms_of_since(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    fill(db, [5.0, 3.0, 1.0])
    unix = str(int(time.time() - 4 * DAY))
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2 * DAY))
    for before, left in ((unix, 2), (iso, 1), ("12h", 0)):
        code, _, err = muxhook(tmp_path, "log", "prune", "--before", before, "--db", "events.db")
        assert code == 0, err
        assert err.startswith("removed 1 event (#")
        assert counts(db)[0] == left


def test_prune_while_listen_records_to_the_same_log(tmp_path: Path) -> None:
    """Old events go while new ones keep arriving: every request is answered 200 and kept."""
    db = tmp_path / "events.db"
    fill(db, [40.0] * 20_000 + [35.0] * 5_000)  # a log made before prune existed
    answers: list[int] = []
    sent: list[str] = []
    stop = threading.Event()

    with listen_locally(tmp_path, db, env=ENV) as listener:

        def post() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set() and len(sent) < 5_000:
                    event_id = str(uuid.uuid4())
                    body = json.dumps({"type": "video.asset.ready", "id": event_id}).encode()
                    headers = signing.sign(body, secret=SECRET)
                    answers.append(
                        client.post(listener.url, content=body, headers=headers).status_code
                    )
                    sent.append(event_id)

        poster = threading.Thread(target=post)
        poster.start()
        try:
            deadline = time.monotonic() + 20
            while len(sent) < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            first = muxhook(tmp_path, "log", "prune", "--before", "38d", "--db", str(db))
            second = muxhook(tmp_path, "log", "prune", "--before", "30d", "--db", str(db))
            during = len(sent)
            deadline = time.monotonic() + 20
            while len(sent) < during + 20 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
            poster.join(60)
        assert not poster.is_alive()

    assert first[0] == 0 and first[2].startswith("removed 20,000 events (#1-#20000) and 20,000 "), (
        first
    )
    assert second[0] == 0 and second[2].startswith("removed 5,000 events (#20001-#25000) and "), (
        second
    )
    assert "rewritten" in first[2] and "rewritten" not in second[2]
    assert len(sent) > during >= 20 and set(answers) == {200}
    with sqlite3.connect(db) as conn:
        kept = [row[0] for row in conn.execute("SELECT event_key FROM events ORDER BY id")]
        (mode,) = conn.execute("PRAGMA auto_vacuum").fetchone()
    assert kept == sent  # every request answered is in the log, in order; no old one is
    assert mode == 2  # incremental from now on
