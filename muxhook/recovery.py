"""Set a damaged event log aside, keeping what can still be read: ``muxhook log recover``.

The damaged file is never written to. It is copied (with its write-ahead log) into a
private scratch folder beside it, and the copy's header is rebuilt when that is what
was overwritten, or made to fit a file cut short. The rows are read from the copy
twice over: through SQLite, a thousand ids at a time (a chunk it cannot read is left
out), then page by page (``integrity.table_rows``) for the rows SQLite could not reach
under a damaged page. Rows that read but make no sense (garbage that happens to parse)
are dropped. The rows kept go into a new log, built as ``EventLog`` builds one; then the
damaged file is renamed beside it and the new log takes its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from muxhook import integrity
from muxhook.errors import EnvironmentProblem, UsageError
from muxhook.store import DamagedLog, EventLog

__all__ = ["Recovered", "recover"]

_CHUNK = 1000  # ids read at once: bounded memory, and few queries for a whole log
_EVENT_COLUMNS = (
    "id", "received_at", "method", "path", "headers", "body", "remote", "provider",
    "event_type", "event_key", "object_id", "verdict", "reason", "duplicate", "delivered",
    "targets",
)  # fmt: skip
_ATTEMPT_COLUMNS = (
    "id", "event_id", "attempted_at", "target", "status", "latency_ms", "response_start",
    "error", "response_headers",
)  # fmt: skip
_INSERT_EVENT = (
    "INSERT INTO events (id, received_at, method, path, headers, body, remote, provider,"
    " event_type, event_key, object_id, verdict, reason, duplicate, delivered, targets)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (id, event_id, attempted_at, target, status, latency_ms,"
    " response_start, error, response_headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_BAD_JSON_V1 = "SELECT id FROM events WHERE NOT json_valid(headers) LIMIT 1"
_BAD_JSON = (
    "SELECT id FROM events WHERE NOT json_valid(headers)"
    " OR (targets IS NOT NULL AND NOT json_valid(targets)) LIMIT 1"
)


class Recovered(NamedTuple):
    """What ``recover`` kept, and where everything is now."""

    path: Path  # the new log, at the old path
    damaged: Path  # the damaged file, renamed beside it
    events: int
    attempts: int
    unreadable: list[tuple[int, int]]  # ranges of event ids [first, last] that could not be read


def recover(path: Path, *, clock: Callable[[], float] = time.time) -> Recovered | None:
    """Move the readable events of the damaged log at ``path`` into a new log there.

    Returns None, and changes nothing, when the log opens without a fault.

    Raises:
        UsageError: there is no file at ``path``.
        EnvironmentProblem: it is not an SQLite file, or the folder cannot be written.
    """
    if not path.is_file():
        raise UsageError(f"no event log at {path}; pass --db PATH")
    if not _damaged(path):
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(clock()))
    damaged = path.with_name(f"{path.name}.damaged-{stamp}")
    fresh = path.with_name(f"{path.name}.recovering-{os.getpid()}")
    try:
        with _scratch_copy(path) as copy:
            events, attempts, unreadable = _copy_rows(copy, fresh)
    except OSError as error:
        _remove(fresh)
        raise EnvironmentProblem(
            f"cannot recover the event log at {path}: {error.strerror or error}; "
            "free some space or fix the folder's permissions"
        ) from None
    except BaseException:
        _remove(fresh)
        raise
    # The damaged file and its write-ahead log move aside together (a new file must not
    # find the old one's log beside it); then the new log takes the path.
    os.replace(path, damaged)
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:  # part of the damaged file: kept with it
        os.replace(wal, Path(f"{damaged}-wal"))
    for leftover in (wal, Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    os.replace(fresh, path)
    return Recovered(path, damaged, events, attempts, unreadable)


def _damaged(path: Path) -> bool:
    """Whether the log is damaged: the check at open finds it so, SQLite's full
    ``PRAGMA quick_check`` does (it reads every page: slower, and only asked for here),
    or a row's JSON does not read (bytes changed inside it)."""
    try:
        with EventLog(path, read_only=True) as log:
            verdict = log.conn.execute("PRAGMA quick_check(1)").fetchone()
            if verdict is None or verdict[0] != "ok":
                return True
            has_targets = "targets" in _columns(log.conn, "events")
            bad = log.conn.execute(_BAD_JSON if has_targets else _BAD_JSON_V1).fetchone()
    except DamagedLog:
        return True
    except sqlite3.DatabaseError:
        return True
    return bad is not None


@contextlib.contextmanager
def _scratch_copy(path: Path) -> Iterator[Path]:
    """A private copy of the file and its write-ahead log, its header rebuilt if need be."""
    folder = Path(tempfile.mkdtemp(prefix=".muxhook-recover-", dir=path.parent))
    try:
        copy = folder / path.name
        _private_copy(path, copy)
        wal = Path(f"{path}-wal")
        if wal.exists():
            _private_copy(wal, Path(f"{copy}-wal"))
        if integrity.examine_header(copy).kind == "damaged":
            _rebuild_header(copy)
        _fit_header(copy)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private_copy(source: Path, target: Path) -> None:
    """Copy a file into a new one that is owner-only from its first byte."""
    with (
        open(source, "rb") as reader,
        open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as writer,
    ):
        shutil.copyfileobj(reader, writer, 1 << 20)


def _rebuild_header(copy: Path) -> None:
    """Write a plausible 100-byte SQLite header over an overwritten one: the page size
    is the one at which the second page reads as a b-tree page; the rest are SQLite's
    defaults for a write-ahead-logged file with no free pages."""
    with open(copy, "r+b") as file:
        size = os.fstat(file.fileno()).st_size
        page_size = integrity.plausible_page_size(file, size) or 4096
        header = struct.pack(
            ">16sHBBBBBB12I20sII",
            integrity.MAGIC,
            1 if page_size == 65536 else page_size,
            2, 2, 0, 64, 32, 32,  # WAL; no reserved bytes; the fixed payload fractions
            1, size // page_size, 0, 0,  # change counter, pages, no free pages
            1, 4, 0, 0, 1, 0, 0, 0,  # schema cookie and format, UTF-8, user version 0
            b"\x00" * 20,
            1, 3_040_001,  # valid for change 1; written by SQLite 3.40.1
        )  # fmt: skip
        file.write(header)


def _fit_header(copy: Path) -> None:
    """Make a file cut short whole again: whole pages only, and a header that says how
    many there are (SQLite refuses a file shorter than its header says)."""
    with open(copy, "r+b") as file:
        head = file.read(100)
        page_size = struct.unpack_from(">H", head, 16)[0]
        page_size = 65536 if page_size == 1 else page_size
        if not page_size:
            return
        pages = os.fstat(file.fileno()).st_size // page_size
        file.truncate(pages * page_size)
        file.seek(28)
        file.write(struct.pack(">I", pages))
        file.seek(92)
        file.write(head[24:28])  # the page count is valid for the file as it is now


def _copy_rows(copy: Path, fresh: Path) -> tuple[int, int, list[tuple[int, int]]]:
    """Read what can be read from ``copy`` into a new log at ``fresh``: through SQLite a
    thousand ids at a time, then page by page (``integrity.table_rows``) for the rows
    still missing. Both, always: a damaged page above the leaves can send a read to the
    wrong rows without an error, and leave the right ones out."""
    source = sqlite3.connect(copy)
    try:
        events = _read(source, "events", _EVENT_COLUMNS, _event)
        attempts = _read(source, "attempts", _ATTEMPT_COLUMNS, _attempt)
    finally:
        source.close()
    for rowid, values in integrity.table_rows(copy):
        if len(values) in (15, 16) and rowid not in events:  # an events row (v1, v2)
            event = _event((rowid, *values[1:], *([None] * (16 - len(values)))))
            if event is not None:
                events[rowid] = event
        elif len(values) in (8, 9) and rowid not in attempts:  # an attempts row (v1-v2, v3)
            attempt = _attempt((rowid, *values[1:], *([None] * (9 - len(values)))))
            if attempt is not None:
                attempts[rowid] = attempt
    kept = [attempts[key] for key in sorted(attempts) if attempts[key][1] in events]
    ordered = [events[key] for key in sorted(events)]
    with EventLog(fresh) as log:
        for start in range(0, len(ordered), _CHUNK):
            with log.transaction():
                log.conn.executemany(_INSERT_EVENT, ordered[start : start + _CHUNK])
        for start in range(0, len(kept), _CHUNK):
            with log.transaction():  # each insert's trigger sets ``delivered`` again
                log.conn.executemany(_INSERT_ATTEMPT, kept[start : start + _CHUNK])
    return len(events), len(kept), _gaps(sorted(events))


Row = tuple[object, ...]


def _read(
    conn: sqlite3.Connection,
    table: str,
    wanted: tuple[str, ...],
    check: Callable[[Row], Row | None],
) -> dict[int, Row]:
    """The rows of ``table`` SQLite can read, by id; a chunk it cannot read is skipped."""
    rows: dict[int, Row] = {}
    have = _columns(conn, table)
    picked = ", ".join(name if name in have else "NULL" for name in wanted)
    select = f"SELECT {picked} FROM {table} WHERE id >= ? AND id < ? ORDER BY id"  # noqa: S608
    try:
        highest = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0  # noqa: S608
    except sqlite3.DatabaseError:
        return rows
    for first in range(1, highest + 1, _CHUNK):
        try:
            found = conn.execute(select, (first, first + _CHUNK)).fetchall()
        except sqlite3.DatabaseError:
            continue  # left to the page by page reading
        for row in found:
            good = check(row)
            if good is not None:
                rows[int(str(row[0]))] = good
    return rows


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    try:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    except sqlite3.DatabaseError:
        return set()


def _gaps(ids: list[int]) -> list[tuple[int, int]]:
    """The ranges of ids missing below the highest one kept: events that could not be
    read (or, rarely, ids never given)."""
    gaps: list[tuple[int, int]] = []
    expected = 1
    for rowid in ids:
        if rowid > expected:
            gaps.append((expected, rowid - 1))
        expected = rowid + 1
    return gaps


def _event(row: tuple[object, ...]) -> tuple[object, ...] | None:
    """A row as read, or None when it cannot be an event muxhook wrote (garbage that
    parsed): ``delivered`` becomes "due" for its attempts to set again."""
    (rowid, received_at, method, path, headers, body, remote, *rest) = row
    (provider, event_type, key, object_id, verdict, reason, duplicate, delivered, targets) = rest
    texts = (method, path, headers, remote)
    optional = (provider, event_type, key, object_id, verdict, reason, targets)
    if not (
        isinstance(rowid, int)
        and isinstance(received_at, float | int)
        and all(isinstance(value, str) for value in texts)
        and isinstance(body, bytes)
        and all(value is None or isinstance(value, str) for value in optional)
        and duplicate in (0, 1)
        and delivered in (None, 0, 1)
    ):
        return None
    try:
        assert isinstance(headers, str)
        json.loads(headers)
        if isinstance(targets, str):
            json.loads(targets)
    except ValueError:
        return None
    due = None if delivered is None and not targets else 0
    return (*row[:14], due, targets)


def _attempt(row: tuple[object, ...]) -> tuple[object, ...] | None:
    rowid, event_id, attempted_at, target, status, latency, answer, error, answered = row
    if isinstance(answered, str):
        try:
            json.loads(answered)
        except ValueError:
            answered = None  # the headers are a note; the attempt itself still counts
    row = (*row[:8], answered)
    if not (
        isinstance(rowid, int)
        and isinstance(event_id, int)
        and isinstance(attempted_at, float | int)
        and isinstance(target, str)
        and (status is None or isinstance(status, int))
        and (latency is None or isinstance(latency, float | int))
        and isinstance(answer, bytes)
        and (error is None or isinstance(error, str))
        and (answered is None or isinstance(answered, str))
    ):
        return None
    return row


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")
