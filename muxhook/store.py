"""The durable event log: every webhook ``listen`` receives, in one SQLite file.

``listen`` calls ``record`` before it answers the HTTP request, so a delivery is
on disk even if muxhook is killed a moment later; ``set_verdict`` and
``add_attempt`` then fill in what verification and forwarding found. The ``log``
commands read it back with ``get``, ``list`` and ``failed``.

The file holds payloads, so it is created ``0o600`` in a ``0o700`` folder. It runs
in WAL mode with ``synchronous=NORMAL``: a commit survives the process dying at
any point, and only an OS crash or power cut can lose the last few commits. Several
muxhook processes may share one file; each opens its own connection and waits up
to ``timeout`` seconds for another's write to finish.

Schema (``PRAGMA user_version`` is its version; ``_MIGRATIONS`` moves a file up):

- ``events``: one row per HTTP request as received (headers as JSON text, body
  as a BLOB, byte for byte), plus the verdict columns, ``targets`` (v2: where listen
  was to forward it, as JSON; see ``Target``) and ``delivered`` (NULL: nothing due;
  1: every target's latest attempt was 2xx; 0: not yet), kept up to date by a trigger
  on ``attempts`` so status filters need no join.
- ``attempts``: one row per forwarding attempt, in order.

v1 had no ``targets``: its events keep NULL there, and take their status from their
latest attempt, whatever its URL, as v1 did. v3 adds ``attempts.response_headers`` (the
headers of the app's answer, as JSON); the attempts of older files keep NULL there, read
as no headers. A file of an older version is read as it is (``read_only``), and migrated
the first time it is written.

Speed: the listener calls ``record``, ``set_verdict`` and ``add_attempt`` on its hot
path, so each is one statement and one commit on a long-lived connection, with
statements prepared once (sqlite3's cache) and no per-call PRAGMAs; indexes are
only the ones a query needs. ``benchmarks/store_write.py`` measures it.

Every failure of the machine (an unwritable folder, a read-only file, a file that
is not a muxhook log, a full disk, a lock held too long) raises one
``EnvironmentProblem`` whose message names the path and the fix; a damaged file is
found when it is opened (``muxhook.integrity``) and raises ``DamagedLog``, leaving the
file untouched.

The log stays where it says: after each commit, the file at the path is compared
with the open one (device and inode, one ``stat``). When it was deleted, moved or
replaced, the log is opened again at the path (created, schema included, if need
be), and the writes of that commit are made again there (``LogReplaced``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fnmatch
import json
import os
import sqlite3
import struct
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from muxhook import integrity
from muxhook._files import private_folder
from muxhook.errors import EnvironmentProblem, UsageError
from muxhook.records import (
    RESPONSE_KEEP,
    STATUSES,
    VERDICTS,
    Attempt,
    Incoming,
    StoredEvent,
    Target,
    decode_targets,
    encode_targets,
)

__all__ = [
    "SCHEMA_VERSION",
    "DamagedLog",
    "EventLog",
    "GroupCommit",
    "LogBusy",
    "LogReplaced",
    "LogSize",
    "LogStats",
    "Pruned",
    "default_db_path",
    "log_size",
    "log_stats",
    "prune",
]

SCHEMA_VERSION = 3

_CHUNK = 500  # ids per ``IN (...)``: well under SQLite's oldest limit of 999 variables


def default_db_path(
    environ: Mapping[str, str] | None = None, *, platform: str | None = None
) -> Path:
    """Where the event log lives when ``--db`` is not given.

    ``MUXHOOK_DB`` wins; otherwise the user data folder: ``$XDG_DATA_HOME`` (when
    absolute) or ``~/.local/share`` on Linux and other Unixes, ``~/Library/Application
    Support`` on macOS, ``%LOCALAPPDATA%`` on Windows, each with ``muxhook/events.db``.

    Args:
        environ: the environment to read; ``os.environ`` by default.
        platform: a ``sys.platform`` value; the running one by default.
    """
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    if env.get("MUXHOOK_DB"):
        chosen = Path(env["MUXHOOK_DB"])
        if chosen.parts[:1] == ("~",):  # "~/x" from a config file that no shell expanded
            return home.joinpath(*chosen.parts[1:])
        return chosen
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME", "")
        # The XDG spec says a relative value is invalid and must be ignored.
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / "muxhook" / "events.db"


# -- schema -------------------------------------------------------------------

_V1 = """
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    received_at REAL    NOT NULL,
    method      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    headers     TEXT    NOT NULL,                   -- JSON [[name, value], ...]
    body        BLOB    NOT NULL,
    remote      TEXT    NOT NULL,
    provider    TEXT,
    event_type  TEXT,
    event_key   TEXT,                               -- the platform's event id
    object_id   TEXT,
    verdict     TEXT,
    reason      TEXT,
    duplicate   INTEGER NOT NULL DEFAULT 0,
    delivered   INTEGER                             -- NULL: none due; 1 ok; 0 failed or due
);
CREATE INDEX events_by_key ON events (provider, event_key, id) WHERE event_key IS NOT NULL;
CREATE INDEX events_failed ON events (id) WHERE delivered = 0;
CREATE TABLE attempts (
    id             INTEGER PRIMARY KEY,
    event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempted_at   REAL    NOT NULL,
    target         TEXT    NOT NULL,
    status         INTEGER,
    latency_ms     REAL,
    response_start BLOB    NOT NULL,
    error          TEXT
);
CREATE INDEX attempts_by_event ON attempts (event_id, id);
CREATE TRIGGER attempts_set_delivered AFTER INSERT ON attempts BEGIN
    UPDATE events SET delivered = (
        NEW.error IS NULL AND coalesce(NEW.status BETWEEN 200 AND 299, 0)
    ) WHERE id = NEW.event_id;
END;
"""

# v2: each event's targets, and a status taken from its targets' own attempts. The
# trigger replaces v1's: an attempt to a URL that is not one of the event's targets
# (``log replay --to`` elsewhere) leaves ``delivered`` as it was. ALTER TABLE ADD
# COLUMN does not rewrite the table, so a large v1 log migrates at once.
_V2 = """
ALTER TABLE events ADD COLUMN targets TEXT;         -- JSON [{"url", ...}]; NULL: none known
DROP TRIGGER attempts_set_delivered;
CREATE TRIGGER attempts_set_delivered AFTER INSERT ON attempts BEGIN
    UPDATE events SET delivered = CASE
        WHEN targets IS NULL THEN
            NEW.error IS NULL AND coalesce(NEW.status BETWEEN 200 AND 299, 0)
        ELSE NOT EXISTS (
            SELECT 1 FROM json_each(events.targets) AS target
            WHERE NOT coalesce((
                SELECT latest.error IS NULL AND coalesce(latest.status BETWEEN 200 AND 299, 0)
                FROM attempts AS latest
                WHERE latest.event_id = NEW.event_id
                    AND latest.target = json_extract(target.value, '$.url')
                ORDER BY latest.id DESC LIMIT 1
            ), 0)
        )
    END
    WHERE id = NEW.event_id AND (
        targets IS NULL OR EXISTS (
            SELECT 1 FROM json_each(events.targets) AS target
            WHERE json_extract(target.value, '$.url') = NEW.target
        )
    );
END;
"""

# v3: the headers of the app's answer to each attempt, as JSON [[name, value], ...]
# (``listen -v``, ``log show``). Added, not rewritten: older attempts keep NULL.
_V3 = """
ALTER TABLE attempts ADD COLUMN response_headers TEXT;
"""

#: _MIGRATIONS[n] takes a file from user_version n to n + 1.
_MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
_OURS = {"events", "attempts"}

_INSERT = (
    "INSERT INTO events (received_at, method, path, headers, body, remote, provider,"
    " event_type, event_key, object_id, verdict, reason, duplicate, delivered, targets)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The first row after the log was opened again at its path: its id follows every id
# this process gave before, so that no late attempt for an event of the old file can
# land on a new event that happens to share its number.
_INSERT_ABOVE = (
    "INSERT INTO events (id, received_at, method, path, headers, body, remote, provider,"
    " event_type, event_key, object_id, verdict, reason, duplicate, delivered, targets)"
    " VALUES ((SELECT max(coalesce(max(id), 0) + 1, ?) FROM events),"
    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_VERDICT = (
    "UPDATE events SET provider = ?, event_type = ?, event_key = ?, object_id = ?,"
    " verdict = ?, reason = ?, duplicate = ? WHERE id = ?"
)
_ATTEMPT = (
    "INSERT INTO attempts (event_id, attempted_at, target, status, latency_ms,"
    " response_start, error, response_headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_ANY_ID = 2**63 - 1  # above every row id SQLite can give
_SCHEMA = "SELECT type, name, rootpage FROM sqlite_master"
_SEEN = "SELECT 1 FROM events WHERE provider = ? AND event_key = ? AND id < ? LIMIT 1"
_COLUMNS = (
    "SELECT id, received_at, method, path, headers, body, remote, provider, event_type,"
    " event_key, object_id, verdict, reason, duplicate, delivered, targets FROM events"
)
_COLUMNS_V1 = _COLUMNS.replace(", targets FROM", ", NULL FROM")  # a v1 file read as it is
_ATTEMPTS = (
    "SELECT event_id, attempted_at, target, status, latency_ms, response_start, error,"
    " response_headers FROM attempts WHERE event_id IN ({}) ORDER BY id"
)
_ATTEMPTS_V2 = _ATTEMPTS.replace(" response_headers FROM", " NULL FROM")  # v1, v2 as they are
_MARKS = (
    "SELECT coalesce((SELECT max(id) FROM events), 0), coalesce((SELECT max(id) FROM attempts), 0)"
)
_ATTEMPTED_AFTER = "SELECT DISTINCT event_id FROM attempts WHERE id > ? ORDER BY event_id"
# The SQL twin of StoredEvent.status; a test checks that the two agree.
_STATUS = (
    "CASE WHEN verdict IN ('invalid', 'rejected') THEN 'invalid'"
    " WHEN delivered = 1 THEN 'ok' WHEN delivered = 0 THEN 'failed' ELSE 'received' END"
)

_Events = list["StoredEvent"]  # ``list`` is a method name inside EventLog
_Row = tuple[
    int, float, str, str, str, bytes, str,
    str | None, str | None, str | None, str | None, str | None, str | None, int, int | None,
    str | None,
]  # fmt: skip
_Rows = list[_Row]
_Where = list[str]
_Params = list[object]
_Attempts = list[Attempt]
_Ids = list[int]


class EventLog:
    """The event log in one SQLite file; one connection, safe to share between threads.

    Args:
        path: the database file; created, with its folder, when missing.
        timeout: seconds to wait for another process's write before giving up.

    Raises:
        EnvironmentProblem: the file cannot be created, opened or written, or is
            not a muxhook event log.
    """

    def __init__(self, path: Path | str, *, timeout: float = 5.0, read_only: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.timeout = timeout
        self.read_only = read_only
        self._guard = _Guard(self.path, timeout)
        self._conn: sqlite3.Connection | None = None
        self._last_id = 0  # the latest id ``record`` gave
        self._floor = 0  # ids below it are in a file that is no longer at the path
        self._above = False  # the next row's id must be at least ``_floor``
        self._encoded: dict[tuple[Target, ...], str | None] = {}
        self._fresh = "the"  # how the notice names the file opened again at the path
        self._connect()

    def _connect(self) -> None:
        """Open the file at the path, and remember which file that is."""
        if self.read_only:
            self._conn, version = _open_read_only(self.path, self.timeout)
        else:
            self._conn, version = _open(self.path, self.timeout), SCHEMA_VERSION
        self._columns = _COLUMNS if version >= 2 else _COLUMNS_V1
        self._attempts = _ATTEMPTS if version >= 3 else _ATTEMPTS_V2
        # Filters on the type are fnmatch's own, so they mean what they mean everywhere else
        # (routes, --events); the cost over GLOB on a full scan is small (benchmarks/).
        self._conn.create_function("muxhook_fnmatch", 2, _fnmatch, deterministic=True)
        self._timeout_ms = self._busy_ms = int(self.timeout * 1000)  # as ``_open`` set it
        self._identity = _identity(self.path)

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (for the few readers that need SQL of their own)."""
        if self._conn is None:
            raise EnvironmentProblem(f"the event log at {self.path} is not open")
        return self._conn

    # -- writes (the listener's hot path) --------------------------------------

    def record(
        self,
        incoming: Incoming,
        *,
        provider: str | None = None,
        event_type: str | None = None,
        event_key: str | None = None,
        object_id: str | None = None,
        verdict: str | None = None,
        reason: str | None = None,
        duplicate: bool = False,
        forwarding: bool = False,
        targets: Sequence[Target] = (),
    ) -> int:
        """Store a request and commit it; returns its id. Call before answering.

        ``targets`` are where it is to be forwarded, stored with it so that ``log replay
        --failed`` sends it there after any crash. With targets (or ``forwarding``) it
        counts as not delivered until every target's latest attempt is 2xx: a forward
        cut short (muxhook killed mid-way) then counts as failed, and ``failed()``
        finishes it.

        What the body says about itself (provider, type, event id, object id) and
        its verdict may be stored with it in the same row, so that ``seen`` finds it
        from the start and one write does the work of two.
        """
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        row = (
            incoming.received_at,
            incoming.method,
            incoming.path,
            _encode_headers(incoming.headers),
            bytes(incoming.body),
            incoming.remote,
            provider,
            event_type,
            event_key,
            object_id,
            verdict,
            reason,
            int(duplicate),
            0 if forwarding or targets else None,
            self._encode(targets),
        )
        with self._guard:
            if self._above:
                rowid = self._run(_INSERT_ABOVE, (self._floor, *row)).lastrowid
                self._above = False
            else:
                rowid = self._run(_INSERT, row).lastrowid
        assert rowid is not None  # an INSERT always sets it
        self._last_id = rowid
        return rowid

    def _encode(self, targets: Sequence[Target]) -> str | None:
        """``encode_targets``, once per set of targets: listen has a handful, each used by
        thousands of events."""
        if not targets:
            return None
        key = tuple(targets)
        found = self._encoded.get(key)
        if found is None:
            if len(self._encoded) > 256:
                self._encoded.clear()
            found = self._encoded[key] = encode_targets(key)
        return found

    def set_verdict(
        self,
        event_id: int,
        *,
        provider: str | None,
        event_type: str | None,
        event_key: str | None,
        object_id: str | None,
        verdict: str | None,
        reason: str | None,
        duplicate: bool = False,
    ) -> None:
        """Store what verification found about a recorded request.

        Args:
            event_id: the id ``record`` returned.
            event_key: the platform's own event id, which ``seen`` looks up.
            verdict: one of ``VERDICTS``.

        Raises:
            UsageError: no event has that id.
        """
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        row = (provider, event_type, event_key, object_id, verdict, reason, int(duplicate))
        if event_id < self._floor:
            return  # its event is in the file that was at the path before (LogReplaced)
        with self._guard:
            if self._run(_VERDICT, (*row, event_id)).rowcount == 0:
                raise self._no_such(event_id)

    def add_attempt(self, event_id: int, attempt: Attempt) -> None:
        """Store one forwarding attempt; the answer is cut to ``RESPONSE_KEEP`` bytes.

        Raises:
            UsageError: no event has that id.
        """
        row = (
            event_id,
            attempt.attempted_at,
            attempt.target,
            attempt.status,
            attempt.latency_ms,
            bytes(attempt.response_start[:RESPONSE_KEEP]),
            attempt.error,
            _encode_headers(attempt.response_headers) if attempt.response_headers else None,
        )
        if event_id < self._floor:
            return  # its event is in the file that was at the path before (LogReplaced)
        with self._guard:
            try:
                self._run(_ATTEMPT, row)  # its trigger updates events.delivered
            except sqlite3.IntegrityError:  # the foreign key: no such event
                raise self._no_such(event_id) from None

    # -- reads ----------------------------------------------------------------

    def seen(self, provider: str, event_key: str, *, before: int | None = None) -> bool:
        """Whether an earlier event (id < ``before``; any, without it) had this provider
        and event id."""
        limit = _ANY_ID if before is None else before
        with self._guard:
            found = self._run(_SEEN, (provider, event_key, limit)).fetchone()
        return found is not None

    def get(self, event_id: int) -> StoredEvent | None:
        """One event with its attempts, or None when no event has that id."""
        with self._guard:
            rows = self._run(self._columns + " WHERE id = ?", (event_id,)).fetchall()
            return self._build(rows)[0] if rows else None

    def list(
        self,
        *,
        type_glob: str | None = None,
        status: str | None = None,
        since: float | None = None,
        limit: int | None = 50,
        ids: Sequence[int] | None = None,
        provider: str | None = None,
        verdict: str | None = None,
        object_id: str | None = None,
        text: str | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> _Events:
        """Events newest first, filtered.

        Args:
            type_glob: an ``fnmatch`` pattern on the event type, case-sensitive
                (``fnmatch.fnmatchcase``); events with no type never match.
            status: one of ``STATUSES``, as ``StoredEvent.status`` computes it.
            since: only events received at or after this unix time.
            limit: at most this many; None for all.
            ids: only these ids (missing ones are skipped).
            provider: only this provider's events.
            verdict: one of ``VERDICTS``.
            object_id: only events about this object.
            text: only events whose body holds this text (its UTF-8 bytes, case-sensitive).
            before: only ids below this one: the next page after a page that ended there.
            after: only ids above this one: what arrived since.

        Raises:
            UsageError: an unknown status or verdict.
        """
        where: _Where = []
        params: _Params = []
        for column, value in (("provider", provider), ("object_id", object_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if verdict is not None:
            if verdict not in VERDICTS:
                raise UsageError(f"unknown verdict {verdict!r}; use one of: {', '.join(VERDICTS)}")
            where.append("verdict = ?")
            params.append(verdict)
        if text:
            where.append("instr(body, ?) > 0")
            params.append(text.encode("utf-8", "surrogatepass"))
        if before is not None:
            where.append("id < ?")
            params.append(before)
        if after is not None:
            where.append("id > ?")
            params.append(after)
        if type_glob is not None:
            where.append("muxhook_fnmatch(event_type, ?)")
            params.append(type_glob)
        if status is not None:
            if status not in STATUSES:
                raise UsageError(f"unknown status {status!r}; use one of: {', '.join(STATUSES)}")
            where.append(f"({_STATUS}) = ?")
            params.append(status)
        if since is not None:
            where.append("received_at >= ?")
            params.append(since)
        if limit is not None and limit <= 0:
            return []
        if ids is None:
            return self._select(where, params, order="DESC", limit=limit)
        wanted = sorted(set(ids))
        found: _Events = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found += self._select(
                [*where, f"id IN ({', '.join('?' * len(chunk))})"], [*params, *chunk], "DESC"
            )
        found.sort(key=lambda event: event.id, reverse=True)
        return found if limit is None else found[:limit]

    def marks(self) -> tuple[int, int]:
        """The newest event id and the newest attempt id (0 when none): a change in either
        says something was recorded since, by this process or another."""
        with self._guard:
            row = self._run(_MARKS, ()).fetchone()
        return int(row[0]), int(row[1])

    def attempted_after(self, attempt_id: int) -> _Ids:
        """The ids of the events that got an attempt with an id above ``attempt_id``."""
        with self._guard:
            rows = self._run(_ATTEMPTED_AFTER, (attempt_id,)).fetchall()
        return [int(row[0]) for row in rows]

    def failed(self, *, since: float | None = None) -> _Events:
        """Events not delivered yet, oldest first: some target's latest attempt was not
        2xx, or it has none (see ``StoredEvent.status``).

        Failed means no 2xx answer (another status, or an error such as a refused
        connection); a later 2xx attempt to that target clears it. The verdict is not
        looked at: an event forwarded despite a bad signature and then failed is here too.
        """
        where = ["delivered = 0"]
        params: _Params = []
        if since is not None:
            where.append("received_at >= ?")
            params.append(since)
        return self._select(where, params, order="ASC")

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; calling it again does nothing."""
        with self._guard:
            if self._conn is not None:
                self._conn.close()  # kept: a later call raises sqlite3's ProgrammingError

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r})"

    # -- internals ------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[None]:
        """Group the writes inside into one commit: one WAL append instead of one each.

        A failure rolls every write of the group back and is raised, as one line. With
        ``wait=False`` a log locked by another process raises ``LogBusy`` at once, instead
        of waiting for it up to the timeout.
        """
        with self._guard:
            if self._conn is None:  # the path's file went away and could not be made again
                self._reconnect()  # raises while it still cannot be
                raise LogReplaced(self._notice())
            conn = self.conn
            if wait:
                self._patience(self._timeout_ms)
                conn.execute("BEGIN IMMEDIATE")
            else:
                self._patience(0)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as error:
                    if "locked" in str(error) or "busy" in str(error):
                        raise LogBusy(str(error)) from None
                    raise
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            # After the commit, not before: a file removed between a check and the commit
            # would take the rows with it. One stat.
            if _identity(self.path) != self._identity:
                self._reconnect()
                raise LogReplaced(self._notice())

    def _notice(self) -> str:
        return (
            f"the event log at {self.path} was deleted, moved or replaced while in use; "
            f"recording to {self._fresh} event log at {self.path} from now on"
        )

    def _reconnect(self) -> None:
        """Open the log at the path again (creating it, schema included, when it is gone).

        Caller holds the guard. The old file's write-ahead log is copied into it first
        (SQLite does not do that on closing a file that moved, and a moved log would
        lose its latest rows), then the old connection is closed: a new file must not
        find the old one's write-ahead log beside it. Until the path can be opened
        again, ``transaction`` raises (the listener answers 503) and tries once more.
        """
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        if self._floor <= self._last_id:
            self._floor = self._last_id + 1
            self._above = True
        gone = not self.path.exists()
        if gone:  # leftovers of a file that is no longer there
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{self.path}{suffix}")
        self._connect()
        self._fresh = "a new" if gone else "the"

    def _patience(self, milliseconds: int) -> None:
        """Set how long SQLite waits for another process's lock (caller holds the guard).

        Only on a change: the listener's group commits never wait, and a PRAGMA on each
        of them was two statements per commit.
        """
        if self._busy_ms != milliseconds:
            self.conn.execute(f"PRAGMA busy_timeout = {milliseconds}")
            self._busy_ms = milliseconds

    def _run(self, sql: str, params: Sequence[object]) -> sqlite3.Cursor:
        """Execute one statement (caller holds the guard)."""
        conn = self._conn
        if conn is None:
            conn = self.conn
        if not conn.in_transaction:  # on its own, it may wait for the lock
            self._patience(self._timeout_ms)
        try:
            return conn.execute(sql, params)
        except UnicodeEncodeError:  # a lone surrogate from a lax decoder: store U+FFFD
            return conn.execute(sql, [_text(value) for value in params])

    def _no_such(self, event_id: int) -> UsageError:
        return UsageError(f"no event {event_id} in the event log at {self.path}")

    def _select(
        self, where: _Where, params: _Params, order: str, limit: int | None = None
    ) -> _Events:
        sql = self._columns
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY id {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params = [*params, limit]
        with self._guard:
            return self._build(self._run(sql, params).fetchall())

    def _build(self, rows: _Rows) -> _Events:
        """StoredEvents from event rows, with their attempts (caller holds the guard)."""
        attempts: dict[int, _Attempts] = {row[0]: [] for row in rows}
        keys = list(attempts)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            sql = self._attempts.format(", ".join("?" * len(chunk)))
            for event_id, at, target, status, latency, start, error, answered in self.conn.execute(
                sql, chunk
            ):
                attempts[event_id].append(
                    Attempt(at, target, status, latency, start, error, _decode_headers(answered))
                )
        return [self._event(row, attempts[row[0]]) for row in rows]

    def _event(self, row: _Row, attempts: _Attempts) -> StoredEvent:
        """One StoredEvent; a row whose JSON does not read is damage, said as such."""
        try:
            headers = [(name, value) for name, value in json.loads(row[4])]
            targets = tuple(decode_targets(row[15]))
        except (ValueError, TypeError, KeyError):
            raise DamagedLog(self.path, f"event #{row[0]} does not read") from None
        return StoredEvent(
            id=row[0],
            received_at=row[1],
            method=row[2],
            path=row[3],
            headers=headers,
            body=row[5],
            remote=row[6],
            provider=row[7],
            event_type=row[8],
            event_id=row[9],
            object_id=row[10],
            verdict=row[11],
            reason=row[12],
            duplicate=bool(row[13]),
            attempts=attempts,
            delivered=None if row[14] is None else bool(row[14]),
            targets=targets,
        )


class _Guard:
    """The EventLog's lock, which also turns SQLite's failures into one line.

    One lock for reads and writes: a connection is not safe for interleaved use,
    and every call is short. A class rather than ``contextlib.contextmanager``
    because it is entered on every hot-path call.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        # Re-entrant, so that the writes inside ``EventLog.transaction`` take it again.
        self._lock = threading.RLock()
        self._path = path
        self._timeout = timeout

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()
        # The machine's failures only: OperationalError (locked, full, read-only, I/O)
        # and plain DatabaseError (not a database, malformed). Integrity and
        # programming errors are the caller's, and keep their type.
        if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
            raise _problem(self._path, exc, self._timeout) from None


def _encode_headers(headers: Sequence[tuple[str, str]]) -> str:
    """``json.dumps(headers, separators=(",", ":"))``, built from the C string escaper
    directly: the general encoder's set-up was a tenth of a quiet listener's commit.
    ASCII-escaped, so any str is stored, even a lone surrogate."""
    if not headers:
        return "[]"
    return "[[" + "],[".join([_quote(name) + "," + _quote(value) for name, value in headers]) + "]]"


_quote = json.encoder.encode_basestring_ascii


def _decode_headers(text: str | None) -> tuple[tuple[str, str], ...]:
    """The headers of an app's answer as stored (``_encode_headers``); none for NULL (an
    attempt of a v1 or v2 log), or for a value that does not read."""
    if not text:
        return ()
    try:
        return tuple((str(name), str(value)) for name, value in json.loads(text))
    except (ValueError, TypeError):
        return ()


# -- opening --------------------------------------------------------------------


def _open(path: Path, timeout: float) -> sqlite3.Connection:
    """Create the folder and file with private modes, check the file, connect, and migrate."""
    fix = "pass --db PATH or fix the permissions"
    folder = path.parent
    if not folder.is_dir():
        try:
            private_folder(folder)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot create the folder {folder} for the event log: {_strerror(exc)}; {fix}"
            ) from None
    try:
        # Create it ourselves so it is 0o600 from the first byte; SQLite gives the
        # -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and path.is_file():
            reason = "the file is read-only"
        else:
            reason = _strerror(exc)
        raise EnvironmentProblem(f"cannot write the event log at {path}: {reason}; {fix}") from None
    _screen(path, timeout)
    try:
        conn = sqlite3.connect(
            path,
            timeout=timeout,
            isolation_level=None,  # autocommit: each write is its own transaction
            check_same_thread=False,  # shared by the listener's threads, under a lock
            cached_statements=128,
        )
    except sqlite3.Error as exc:
        raise _problem(path, exc, timeout) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        _use_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise _problem(path, exc, timeout) from None
    except EnvironmentProblem:
        conn.close()
        raise
    return conn


def _screen(path: Path, timeout: float) -> None:
    """Look at the file before SQLite opens it for good (``muxhook.integrity``).

    Raises ``DamagedLog`` for a damaged file, and EnvironmentProblem for one that is
    not an SQLite database; what looks wrong is settled by SQLite's own ``PRAGMA
    quick_check`` first, so a page misread while another process wrote is no verdict.
    Reads only, through read-only connections: the file is left as it was.
    """
    try:
        header = integrity.examine_header(path)
    except OSError:
        return  # unreadable: connecting says why, in SQLite's words
    if header.kind == "empty":
        return
    if header.kind == "foreign":
        raise EnvironmentProblem(
            f"{path} is not a muxhook event log ({header.detail}); "
            "pass --db PATH to use another file"
        )
    if header.kind == "damaged":
        raise DamagedLog(path, header.detail)
    asked = _ask(path, timeout, _SCHEMA, "PRAGMA user_version")
    if asked is None:
        return  # locked, or cannot be opened: the real open says which
    schema, [(version,)] = asked
    tables = {str(name) for kind, name, _ in schema if kind == "table"}
    if version == 0 and tables - _OURS:  # refused before anything could change it
        raise EnvironmentProblem(
            f"{path} is an SQLite database but not a muxhook event log; "
            "pass --db PATH to use another file"
        )
    roots = [1] + [root for _, _, root in schema if root]
    # The walk maps the file itself, while no connection of this process has it open
    # (closing a descriptor drops the process's locks on the file, SQLite's included).
    try:
        found = integrity.walk(path, roots)
    except (OSError, ValueError, IndexError, struct.error):
        found = "its pages cannot be read"
    suspicion = header.detail or found
    if suspicion is None:
        return
    verdict = _ask(path, timeout, "PRAGMA quick_check(1)", suspicion=suspicion)
    if verdict is not None and verdict != [[("ok",)]]:
        raise DamagedLog(path, suspicion)


def _ask(
    path: Path, timeout: float, *queries: str, suspicion: str | None = None
) -> list[list[typing.Any]] | None:
    """The rows of each query, on a read-only connection closed after; None when the
    file cannot be asked (locked, cannot be opened). SQLite finding the file damaged
    raises ``DamagedLog`` (with ``suspicion`` as the reason, when there is one)."""
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error:
        return None
    try:
        return [probe.execute(sql).fetchall() for sql in queries]
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            raise DamagedLog(path, suspicion or f"SQLite says: {_first_line(exc)}") from None
        return None
    finally:
        probe.close()


def _is_damage(exc: sqlite3.Error) -> bool:
    lowered = str(exc).lower()
    return "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device, inode); None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL mode (it stays so), waiting out other openers.

    Changing the journal mode returns "database is locked" at once, without the
    busy timeout, while another process holds the file; two listeners starting
    on a fresh file race here, so retry until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return  # a file system without WAL support keeps its mode; still usable
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def _open_read_only(path: Path, timeout: float) -> tuple[sqlite3.Connection, int]:
    """Open an existing log only to read it (``log list``, ``show``, ``export``): a
    read-only file can be read, and nothing is created or changed (a v1 file is read as
    it is, not migrated). Returns the connection and the file's schema version."""
    if path.is_dir():
        raise EnvironmentProblem(
            f"cannot read the event log at {path}: is a directory; pass --db PATH"
        )
    _screen(path, timeout)
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=timeout,
            check_same_thread=False,
        )
        version = _user_version(conn)
    except sqlite3.Error as exc:
        raise _problem(path, exc, timeout) from None
    if not 1 <= version <= SCHEMA_VERSION:
        conn.close()
        raise EnvironmentProblem(
            f"{path} is not a muxhook event log of this version (v{version}, this muxhook "
            f"reads v1 to v{SCHEMA_VERSION}); pass --db PATH"
        )
    return conn, version


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, once, even with several processes racing."""
    if _user_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")  # the loser of a race waits here, then sees it done
    try:
        version = _user_version(conn)
        if version > SCHEMA_VERSION:
            raise EnvironmentProblem(
                f"the event log at {path} was written by a newer muxhook (schema v{version}, "
                f"this one knows v{SCHEMA_VERSION}); upgrade muxhook or pass --db PATH"
            )
        if version == 0:
            tables = {row[0] for row in conn.execute("SELECT tbl_name FROM sqlite_master")}
            if tables - _OURS:
                raise EnvironmentProblem(
                    f"{path} is an SQLite database but not a muxhook event log; "
                    "pass --db PATH to use another file"
                )
        for script in _MIGRATIONS[version:]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _fnmatch(text: str | None, pattern: str) -> bool:
    return text is not None and fnmatch.fnmatchcase(text, pattern)


def _statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, trigger bodies kept whole."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement: {pending.strip()!r}")


def _user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def _problem(path: Path, exc: sqlite3.Error, timeout: float = 5.0) -> EnvironmentProblem:
    """One line for what SQLite said, naming the file and what to do about it."""
    message = _first_line(exc)
    lowered = message.lower()
    if "malformed" in lowered or "corrupt" in lowered:
        return DamagedLog(path, f"SQLite says: {message}")
    if "not a database" in lowered:
        text = (
            f"{path} is not a muxhook event log (SQLite says: {message}); "
            "pass --db PATH to use another file"
        )
    elif "locked" in lowered or "busy" in lowered:
        text = (
            f"the event log at {path} stayed locked by another process for over "
            f"{timeout:g} s; stop the other muxhook or pass --db PATH"
        )
    elif "full" in lowered:
        text = (
            f"cannot write the event log at {path}: the disk is full; "
            "free some space or pass --db PATH"
        )
    elif ("readonly" in lowered or "read-only" in lowered) and (
        path.parent.is_dir() and not os.access(path.parent, os.W_OK)
    ):
        text = (
            f"cannot write the event log at {path}: its folder is read-only and SQLite "
            "keeps a -wal file beside it; pass --db PATH or fix the permissions"
        )
    elif "readonly" in lowered or "read-only" in lowered:
        text = (
            f"cannot write the event log at {path}: the file is read-only; "
            "pass --db PATH or fix the permissions"
        )
    elif "unable to open" in lowered:
        text = (
            f"cannot open the event log at {path} (SQLite says: {message}); "
            "pass --db PATH or fix the permissions of the file and its folder"
        )
    else:
        text = f"the event log at {path} failed: {message}; pass --db PATH to use another file"
    return EnvironmentProblem(text)


def _strerror(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


def _text(value: object) -> object:
    """A str SQLite can store (lone surrogates become U+FFFD); other values pass."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


class LogBusy(Exception):
    """Another process holds the event log's write lock right now."""


class LogReplaced(Exception):
    """The file at the log's path was not the one written to: it was deleted, moved or
    replaced. The log is open at the path again; nothing of the transaction that raised
    this is there, so its writes are to be made again. ``str()`` is one line to show."""


class DamagedLog(EnvironmentProblem):
    """The event log's file is damaged; muxhook left it as it was."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"the event log at {path} is damaged ({detail}); muxhook left it untouched: "
            f"run 'muxhook log recover --db {path}' to move its readable events to a new "
            "log, or pass --db PATH to use another file"
        )


class GroupCommit:
    """The event log's writes from an asyncio loop, committed many to a transaction.

    Writes issued in the same turn of the event loop share one commit: the requests
    parsed together are committed together, once every callback already due has
    run. ``record`` resolves only after the commit that holds its row, so the
    listener still answers nothing it has not stored. A quiet listener commits each
    request on its own, at once (``alone``: no turn of the loop in between); a burst
    is committed in groups, so that a burst is not held to one commit's system calls
    per event (``benchmarks/store_write.py``). ``set_verdict`` and ``add_attempt``
    are queued and join the next commit.

    A writer thread was measured too: no more throughput, and more latency per request,
    spent waking the thread and then the loop.
    """

    def __init__(
        self,
        log: EventLog,
        on_error: Callable[[Exception], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.log = log
        self.on_error = on_error  # told of a failed commit that no ``record`` waits on
        self.on_notice = on_notice  # told when the log was opened again at its path
        self._waiting: asyncio.Task[None] | None = None  # a batch waiting for the lock
        self._pending: list[_Write] = []
        self._scheduled = False

    async def record(
        self,
        incoming: Incoming,
        *,
        provider: str | None = None,
        event_type: str | None = None,
        event_key: str | None = None,
        object_id: str | None = None,
        verdict: str | None = None,
        reason: str | None = None,
        forwarding: bool = False,
        targets: Sequence[Target] = (),
        alone: bool = False,
    ) -> tuple[int, bool]:
        """Store a request; once its row is committed, return its id and whether an
        earlier request carried the same provider and event id (a duplicate).

        The duplicate check runs in the same transaction as the insert, so
        duplicates within one group are found too. ``alone``: no other request is in
        hand, so there is no group to wait for; the row is committed at once.
        """

        def write() -> tuple[int, bool]:
            earlier = bool(provider and event_key and self.log.seen(provider, event_key))
            row = self.log.record(
                incoming,
                provider=provider,
                event_type=event_type,
                event_key=event_key,
                object_id=object_id,
                verdict=verdict,
                reason=reason,
                duplicate=earlier,
                forwarding=forwarding,
                targets=targets,
            )
            return row, earlier

        if alone and not self._pending and self._waiting is None:
            # Committed now, not on the loop's next turn, and no future to wake up: less of a
            # quiet listener's answer.
            try:
                with self.log.transaction(wait=False):
                    return write()
            except LogBusy:
                pass  # another process is writing: queued, its batch waits for the lock
            except LogReplaced as notice:
                self._notify([str(notice)])  # queued: the batch is written at the path
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._put(_Write(write, future))
        result = await future
        assert isinstance(result, tuple)
        return result

    def set_verdict(self, event_id: int, **fields: typing.Any) -> None:
        """Queue ``EventLog.set_verdict`` for the next commit."""
        self._put(_Write(lambda: self.log.set_verdict(event_id, **fields), None))

    def add_attempt(self, event_id: int, attempt: Attempt) -> None:
        """Queue ``EventLog.add_attempt`` for the next commit."""
        self._put(_Write(lambda: self.log.add_attempt(event_id, attempt), None))

    def flush(self, *, wait: bool = False) -> None:
        """Commit everything queued now (the loop calls this; shutdown with ``wait``).

        If another process holds the log's lock, the batch is handed to a worker thread
        that waits for it (up to the log's timeout) while the event loop keeps serving;
        later writes queue behind that batch, so the order of rows holds.
        """
        self._scheduled = False
        if self._waiting is not None and not wait:
            return  # a batch is waiting for the lock: the rest follow it
        batch, self._pending = self._pending, []
        if not batch:
            return
        notices: list[str] = []
        try:
            results = self._commit(batch, wait, notices)
        except LogBusy:
            self._waiting = asyncio.get_running_loop().create_task(self._commit_later(batch))
            return
        except Exception as error:  # every waiter learns why its row is not stored
            self._settle(batch, None, error)
            return
        finally:
            self._notify(notices)
        self._settle(batch, results, None)

    def _commit(self, batch: list[_Write], wait: bool, notices: list[str]) -> list[object]:
        """Run the batch in one transaction; when the file at the log's path turned out
        not to be the one written to, once more in the file now there."""
        for _ in range(3):
            try:
                with self.log.transaction(wait=wait):
                    return [write.run() for write in batch]
            except LogReplaced as notice:
                notices.append(str(notice))
        raise EnvironmentProblem(
            f"the event log at {self.log.path} was replaced again each time it was opened; "
            "stop whatever replaces it, or pass --db PATH"
        )

    def _notify(self, notices: list[str]) -> None:
        for notice in notices:
            if self.on_notice is not None:
                self.on_notice(notice)

    async def _commit_later(self, batch: list[_Write]) -> None:
        notices: list[str] = []
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                None, self._commit, batch, True, notices
            )
        except Exception as error:  # every waiter learns why its row is not stored
            self._settle(batch, None, error)
        else:
            self._settle(batch, results, None)
        finally:
            self._notify(notices)
            self._waiting = None
            if self._pending:
                self.flush()

    async def drain(self) -> None:
        """Wait for a batch that waits for the lock, then commit what is queued."""
        if self._waiting is not None:
            await self._waiting
        self.flush(wait=True)

    def _settle(
        self, batch: list[_Write], results: list[object] | None, error: Exception | None
    ) -> None:
        if error is not None:
            for write in batch:
                if write.future is not None and not write.future.done():
                    write.future.set_exception(error)
            if all(write.future is None for write in batch):
                if self.on_error is None:
                    raise error
                self.on_error(error)
            return
        assert results is not None
        for write, result in zip(batch, results, strict=True):
            if write.future is not None and not write.future.done():
                write.future.set_result(result)

    def _put(self, write: _Write) -> None:
        self._pending.append(write)
        if not self._scheduled:
            self._scheduled = True
            # call_soon runs after every callback already due in this turn of the loop.
            asyncio.get_running_loop().call_soon(self.flush)


class _Write(typing.NamedTuple):
    run: Callable[[], object]
    future: asyncio.Future[object] | None


# -- housekeeping: how big the log is, and pruning it -------------------------------------------

_OLD = (
    "SELECT min(id), max(id), count(*), coalesce(sum(length(body) + length(headers)), 0)"
    " FROM events WHERE received_at < ?"
)
_OLD_ATTEMPTS = (
    "SELECT count(*) FROM attempts WHERE event_id IN (SELECT id FROM events WHERE received_at < ?)"
)
_BATCH_ATTEMPTS = (
    "SELECT count(*) FROM attempts WHERE event_id IN"
    " (SELECT id FROM events WHERE received_at < ? ORDER BY id LIMIT ?)"
)
_BATCH_DELETE = (
    "DELETE FROM events WHERE id IN"
    " (SELECT id FROM events WHERE received_at < ? ORDER BY id LIMIT ?)"
)
_SPAN = (
    "SELECT count(*), min(id), max(id), min(received_at), max(received_at),"
    " coalesce(sum(length(body) + length(headers)), 0) FROM events"
)
_BY = {
    "provider": "SELECT coalesce(provider, '?') AS k, count(*) FROM events"
    " GROUP BY k ORDER BY 2 DESC, 1",
    "verdict": "SELECT coalesce(verdict, 'none') AS k, count(*) FROM events"
    " GROUP BY k ORDER BY 2 DESC, 1",
    "status": "SELECT " + _STATUS + " AS k, count(*) FROM events"  # noqa: S608 - constants
    " GROUP BY k ORDER BY 2 DESC, 1",
}


class LogSize(typing.NamedTuple):
    """The log's bytes on disk: the database file and its write-ahead log."""

    file: int
    wal: int

    @property
    def total(self) -> int:
        """Both together."""
        return self.file + self.wal


class LogStats(typing.NamedTuple):
    """What ``log list --stats`` shows: counts, the time span and the size on disk."""

    events: int
    attempts: int
    first_id: int | None
    last_id: int | None
    oldest: float | None  # received_at of the oldest event
    newest: float | None
    providers: dict[str, int]  # "?" for events whose provider is unknown
    verdicts: dict[str, int]  # "none" for events not judged
    statuses: dict[str, int]  # as StoredEvent.status computes it
    payload: int  # bytes of bodies and headers, as received
    size: LogSize


class Pruned(typing.NamedTuple):
    """What ``prune`` removed (or, on a dry run, would remove)."""

    events: int
    attempts: int
    first_id: int | None
    last_id: int | None
    payload: int  # bytes of the removed bodies and headers, as received
    before: LogSize
    after: LogSize
    compacted: bool  # the file was rewritten once, so that later prunes give space back in steps


def log_size(path: Path) -> LogSize:
    """The bytes of the log file and its ``-wal`` file (0 for one that is not there)."""
    sizes = []
    for name in (str(path), f"{path}-wal"):
        try:
            sizes.append(os.stat(name).st_size)
        except OSError:
            sizes.append(0)
    return LogSize(*sizes)


def log_stats(log: EventLog) -> LogStats:
    """Counts by provider, verdict and status, the time span and the size on disk."""
    with log._guard:
        conn = log.conn
        events, first, last, oldest, newest, payload = conn.execute(_SPAN).fetchone()
        attempts = conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
        providers, verdicts, statuses = (
            {str(key): int(count) for key, count in conn.execute(_BY[name]).fetchall()}
            for name in ("provider", "verdict", "status")
        )
    return LogStats(
        events=int(events),
        attempts=int(attempts),
        first_id=first,
        last_id=last,
        oldest=oldest,
        newest=newest,
        providers=providers,
        verdicts=verdicts,
        statuses=statuses,
        payload=int(payload),
        size=log_size(log.path),
    )


def prune(log: EventLog, before: float, *, dry_run: bool = False, batch: int = 500) -> Pruned:
    """Delete the events received before ``before`` (a unix time) and their attempts, then
    give the freed space back to the file system.

    Safe while a listener writes to the same log: the rows go in small transactions
    (``batch`` events each), so a listener's commit waits milliseconds, not the whole
    prune. The space comes back through SQLite's incremental vacuum, in steps of the
    same kind. A log that was not created for it (``auto_vacuum`` off, as every log
    before this) is rewritten once with VACUUM, which holds the write lock while it
    runs; listen waits for it up to its busy timeout.

    Raises:
        EnvironmentProblem: the log cannot be written (one line, naming the file).
    """
    size_before = log_size(log.path)
    with log._guard:
        conn = log.conn
        first, last, events, payload = conn.execute(_OLD, (before,)).fetchone()
        attempts = conn.execute(_OLD_ATTEMPTS, (before,)).fetchone()[0]
    if dry_run or not events:
        return Pruned(
            int(events), int(attempts), first, last, int(payload),
            size_before, size_before, False,
        )  # fmt: skip
    removed = removed_attempts = 0
    while True:
        with log.transaction():
            conn = log.conn
            removed_attempts += conn.execute(_BATCH_ATTEMPTS, (before, batch)).fetchone()[0]
            # Their attempts go with them: ON DELETE CASCADE.
            count = conn.execute(_BATCH_DELETE, (before, batch)).rowcount
        removed += count
        if count < batch:
            break
    compacted = _give_space_back(log)
    return Pruned(
        removed, removed_attempts, first, last, int(payload),
        size_before, log_size(log.path), compacted,
    )  # fmt: skip


def _give_space_back(log: EventLog, step: int = 256) -> bool:
    """Return the log's free pages to the file system; True when that took a full VACUUM
    (the first time, on a log made without incremental vacuum)."""
    compacted = False
    with log._guard:
        conn = log.conn
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # 2: INCREMENTAL
            # The mode of an existing file changes only with a VACUUM, which rewrites it.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("VACUUM")
            compacted = True
    # ``step`` pages (1 MiB at 4 KiB a page) per transaction, each its own short write.
    for _ in range(1_000_000):
        with log._guard:
            conn = log.conn
            if not conn.execute("PRAGMA freelist_count").fetchone()[0]:
                break
            conn.execute(f"PRAGMA incremental_vacuum({step})").fetchall()
    with log._guard, contextlib.suppress(sqlite3.OperationalError):
        # The WAL now holds the moved pages; copy them home and cut the WAL to nothing.
        # A busy reader may keep part of it: the next checkpoint finishes the job.
        log.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return compacted
