"""``muxhook log``: list, show, replay, export and recover what ``listen`` recorded."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import typing
from pathlib import Path
from typing import Annotated, Any

from muxhook.commands.common import logged_events, open_log, parse_since, run_loop
from muxhook.errors import EnvironmentProblem, ExitCode, UsageError
from muxhook.options import Db, Ids, Secret, Since, State, TypeGlob, argument, option

if typing.TYPE_CHECKING:
    from collections.abc import Sequence

    from muxhook.records import StoredEvent, Target
    from muxhook.render import Output
    from muxhook.store import EventLog

__all__ = [
    "LogExportOptions",
    "LogListOptions",
    "LogPruneOptions",
    "LogRecoverOptions",
    "LogReplayOptions",
    "LogShowOptions",
    "log_export",
    "log_list",
    "log_prune",
    "log_recover",
    "log_replay",
    "log_show",
]


@dataclasses.dataclass(frozen=True)
class LogListOptions:
    """``muxhook log list``'s options."""

    type_: TypeGlob = None
    status: State = None
    since: Since = None
    limit: Annotated[int, option("--limit", help="At most this many, newest first.")] = 50
    json_: Annotated[bool, option("--json", help="One JSON object per event, per line.")] = False
    stats: Annotated[
        bool,
        option(
            "--stats",
            help="Counts by provider, verdict and status, the time span, and the log's size "
            "on disk, instead of the events.",
        ),
    ] = False
    db: Db = None


@dataclasses.dataclass(frozen=True)
class LogShowOptions:
    """``muxhook log show``'s options."""

    event_id: Annotated[int, argument(metavar="ID", help="An id from 'muxhook log list'.")]
    json_: Annotated[bool, option("--json", help="Print JSON, body included.")] = False
    db: Db = None


@dataclasses.dataclass(frozen=True)
class LogReplayOptions:
    """``muxhook log replay``'s options."""

    ids: Ids = ()
    failed: Annotated[
        bool, option("--failed", help="Every event not delivered to where it was going.")
    ] = False
    since: Since = None
    to: Annotated[
        str | None,
        option(
            "--to",
            help="Send here instead (default: where listen was forwarding each one).",
            show_default=False,
        ),
    ] = None
    secret: Secret = None
    forward_secret: Annotated[
        str | None,
        option(
            "--forward-secret",
            help="The secret listen re-signed with (default: MUXHOOK_FORWARD_SECRET, then .env).",
            show_default=False,
        ),
    ] = None
    timeout: Annotated[float, option("--timeout", help="Seconds to wait for the app.")] = 30.0
    db: Db = None


@dataclasses.dataclass(frozen=True)
class LogExportOptions:
    """``muxhook log export``'s options."""

    ids: Ids = ()
    to_dir: Annotated[
        str, option("--to", metavar="DIR", help="Folder for the fixture files.", show_default=False)
    ] = "."
    since: Since = None
    failed: Annotated[bool, option("--failed", help="Events not delivered.")] = False
    db: Db = None


@dataclasses.dataclass(frozen=True)
class LogPruneOptions:
    """``muxhook log prune``'s options."""

    before: Annotated[
        str | None,
        option(
            "--before",
            metavar="TIME",
            help="Remove the events recorded before this: 30d, 12h, a unix time or an ISO time.",
            show_default=False,
        ),
    ] = None
    dry_run: Annotated[
        bool, option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False
    db: Db = None


@dataclasses.dataclass(frozen=True)
class LogRecoverOptions:
    """``muxhook log recover``'s options."""

    db: Db = None


def log_list(out: Output, options: LogListOptions) -> ExitCode:
    """List recorded events, newest first.

    With ``--stats``, what the log holds instead: counts, the time span and its size.
    """
    path = _log_path(options.db)
    if options.stats and (options.type_ or options.status or options.since):
        raise UsageError("--stats counts the whole log: drop --type, --status and --since")
    if _not_yet(path):
        out.say(_NO_EVENTS.format(path=path))
        return ExitCode.OK
    if options.stats:
        return _stats(out, path, options.json_)
    rows = logged_events(options)
    if options.json_:
        from muxhook.records import event_json

        for row in rows:  # JSON lines, like every --json
            out.result(json.dumps(event_json(row), ensure_ascii=False))
    else:
        out.log_rows(rows)
    return ExitCode.OK


def log_show(out: Output, options: LogShowOptions) -> ExitCode:
    """Show one event: verdict, headers, forward attempts and the body."""
    path = _log_path(options.db)
    if _not_yet(path):
        raise UsageError(f"no event #{options.event_id}: {_NO_LOG.format(path=path)}")
    with open_log(options.db, read_only=True) as log:
        row = log.get(options.event_id)
    if row is None:
        raise UsageError(
            f"no event #{options.event_id} in the log ('muxhook log list' shows the ids)"
        )
    if options.json_:
        from muxhook.records import event_json

        out.result(json.dumps(event_json(row, body=True), ensure_ascii=False))
    else:
        out.log_event(row)
    return ExitCode.OK


def log_replay(out: Output, options: LogReplayOptions) -> ExitCode:
    """Send recorded events again, the exact bytes, freshly signed, where each was going.

    Each event goes to the targets stored with it (its routes, ``-H`` headers, and
    ``--forward-secret`` re-signing); with ``--failed``, to those not delivered yet.
    ``--to`` sends to one URL instead, which changes nothing about where a later
    ``--failed`` sends. One event that cannot be sent (no secret to re-sign with, no
    known target) is said on its line; the rest still go. The exit code is the worst
    outcome: 3 an app unreachable, 2 an event not sent, 1 a non-2xx answer, 0 all 2xx.
    """
    from muxhook.sending import check_url

    if options.to:
        check_url(options.to)
    _check_selection(list(options.ids), options.failed, options.since)
    if _no_log_yet(out, options.db, "replay", options.ids):
        return ExitCode.OK
    with open_log(options.db) as log:
        rows = _select(log, list(options.ids), options.failed, options.since)
        if not rows:
            out.say("nothing to replay")
            return ExitCode.OK
        signer = _Signer(options.secret, options.forward_secret, out)
        sends = [send for row in rows for send in _sends(row, options.to, options.failed, signer)]
        return run_loop(_replay_sends(sends, log, options.timeout, out))


def log_export(out: Output, options: LogExportOptions) -> ExitCode:
    """Write recorded events as fixture files (for sign, trigger and replay)."""
    from muxhook import fixtures, providers

    _check_selection(list(options.ids), options.failed, options.since)
    if _no_log_yet(out, options.db, "export", options.ids):
        return ExitCode.OK
    with open_log(options.db, read_only=True) as log:
        rows = _select(log, list(options.ids), options.failed, options.since)
    for row in rows:
        path = fixtures.save(
            Path(options.to_dir),
            provider=row.provider or providers.guess(row.body),
            event_type=row.event_type,
            number=row.id,
            at=row.received_at,
            body=row.body,
        )
        out.result(str(path))
    out.say(f"exported {len(rows)} events to {options.to_dir}")
    return ExitCode.OK


def log_recover(out: Output, options: LogRecoverOptions) -> ExitCode:
    """Set a damaged log aside: its readable events go into a new log at its path."""
    from muxhook.recovery import recover
    from muxhook.store import default_db_path

    if _no_log_yet(out, options.db, "recover"):
        return ExitCode.OK
    path = Path(options.db) if options.db else default_db_path()
    done = recover(path)
    if done is None:
        out.say(f"the event log at {path} has no damage SQLite can find; nothing was changed")
        return ExitCode.OK
    out.recovered(done)
    return ExitCode.OK


def log_prune(out: Output, options: LogPruneOptions) -> ExitCode:
    """Delete the events recorded before a time, with their attempts, and give the space back.

    Safe while ``listen`` writes to the same log (see ``muxhook.store.prune``).
    """
    from muxhook import store

    if not options.before:
        raise UsageError(
            "say which events to remove: --before 30d (or 12h, a unix time, an ISO time)"
        )
    before = parse_since(options.before, "--before")
    assert before is not None
    if before > time.time():
        raise UsageError(f"--before {options.before!r} is in the future; give a time in the past")
    if _no_log_yet(out, options.db, "prune"):
        return ExitCode.OK
    when = _moment(before)
    with open_log(options.db) as log:
        whole = store.log_stats(log)
        try:
            done = store.prune(log, before, dry_run=options.dry_run)
        except store.LogReplaced:
            raise EnvironmentProblem(
                f"the event log at {_log_path(options.db)} was replaced while it was being pruned; "
                "run 'muxhook log prune' again"
            ) from None
    if not done.events:
        out.say(f"no events recorded before {when}; nothing to remove")
        return ExitCode.OK
    what = (
        f"{_count(done.events, 'event')} ({_id_range(done.first_id, done.last_id)}) and "
        f"{_count(done.attempts, 'attempt')} recorded before {when}"
    )
    if options.dry_run:
        # Their share of the bodies and headers, as a share of the bytes on disk.
        share = min(done.payload / max(whole.payload, 1), 1.0)
        out.say(
            f"would remove {what}, about {_bytes(int(done.before.total * share))} "
            f"of the log's {_bytes(done.before.total)}; nothing removed (--dry-run)"
        )
        return ExitCode.OK
    freed = done.before.total - done.after.total
    out.say(
        f"removed {what}; the log went from {_bytes(done.before.total)} to "
        f"{_bytes(done.after.total)} on disk ({_bytes(max(freed, 0))} given back)"
    )
    if done.compacted:
        out.say("  (rewritten once so that later prunes give space back in small steps)")
    return ExitCode.OK


_NO_EVENTS = "no events yet: run 'muxhook listen' to record some (the log will be at {path})"
_NO_LOG = "there is no event log at {path} yet; run 'muxhook listen' first, or pass --db"


def _log_path(db: str | None) -> Path:
    from muxhook.store import default_db_path

    return Path(db).expanduser() if db else default_db_path()


def _no_log_yet(out: Output, db: str | None, doing: str, ids: Sequence[int] = ()) -> bool:
    """True when there is no log yet, said as "nothing to <doing>"; asking for an event by
    its id is a usage error then (exit 2)."""
    path = _log_path(db)
    if not _not_yet(path):
        return False
    if ids:
        raise UsageError(f"no event #{ids[0]}: {_NO_LOG.format(path=path)}")
    out.say(f"nothing to {doing}: {_NO_LOG.format(path=path)}")
    return True


def _not_yet(path: Path) -> bool:
    """No log at ``path`` yet, and nothing in the way of one (a regular file where a folder
    should be is bad input, said by ``open_log``)."""
    if os.path.lexists(path):
        return False
    for parent in path.absolute().parents:
        if parent.exists():
            return parent.is_dir()
    return True


def _stats(out: Output, path: Path, as_json: bool) -> ExitCode:
    """``log list --stats``."""
    from muxhook import store

    with open_log(str(path), read_only=True) as log:
        found = store.log_stats(log)
    size = found.size
    per_event = size.total // found.events if found.events else 0
    if as_json:
        document = {
            "path": str(path),
            "events": found.events,
            "attempts": found.attempts,
            "first_id": found.first_id,
            "last_id": found.last_id,
            "oldest": found.oldest,
            "newest": found.newest,
            "providers": found.providers,
            "verdicts": found.verdicts,
            "statuses": found.statuses,
            "bytes": {"file": size.file, "wal": size.wal, "total": size.total},
            "bytes_per_event": per_event,
            "payload_bytes_per_event": found.payload // found.events if found.events else 0,
        }
        out.result(json.dumps(document, ensure_ascii=False))
        return ExitCode.OK

    def spread(counts: dict[str, int]) -> str:
        return " · ".join(f"{name} {count:,}" for name, count in counts.items()) or "-"

    out.result(f"log        {path}")
    if not found.events:
        out.result("events     0")
    else:
        assert found.oldest is not None and found.newest is not None
        days = (found.newest - found.oldest) / 86400
        out.result(
            f"events     {found.events:,} ({_id_range(found.first_id, found.last_id)}), "
            f"{_count(found.attempts, 'forward attempt')}"
        )
        out.result(f"span       {_moment(found.oldest)} to {_moment(found.newest)} ({_span(days)})")
        out.result(f"providers  {spread(found.providers)}")
        out.result(f"verdicts   {spread(found.verdicts)}")
        out.result(f"status     {spread(found.statuses)}")
    size_line = f"size       {_bytes(size.total)} on disk ({path.name} {_bytes(size.file)}"
    size_line += f" + WAL {_bytes(size.wal)})"
    if found.events:
        size_line += (
            f", about {_bytes(per_event)} an event "
            f"({_bytes(found.payload // found.events)} of body and headers)"
        )
    out.result(size_line)
    return ExitCode.OK


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _id_range(first: int | None, last: int | None) -> str:
    return f"#{first}" if first == last else f"#{first}-#{last}"


def _moment(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _span(days: float) -> str:
    if days >= 2:
        return _count(round(days), "day")
    hours = days * 24
    if hours >= 2:
        return _count(round(hours), "hour")
    return _count(round(hours * 60), "minute")


def _bytes(size: int) -> str:
    """1,023 bytes, 4.0 KiB, 12.3 MiB, 1.2 GiB."""
    if size < 1024:
        return f"{size:,} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def _check_selection(ids: list[int], failed: bool, since: str | None) -> None:
    if not ids and not failed and not since:
        raise UsageError("say which events: IDs, --failed or --since (e.g. --since 1h)")
    parse_since(since)  # a bad time is bad input, log or no log


def _select(log: Any, ids: list[int], failed: bool, since: str | None) -> list[Any]:
    _check_selection(ids, failed, since)
    if ids:
        rows = [log.get(event_id) for event_id in ids]
        missing = [str(i) for i, row in zip(ids, rows, strict=True) if row is None]
        if missing:
            raise UsageError(f"no event #{', #'.join(missing)} in the log")
        return rows
    if failed:
        return list(log.failed(since=parse_since(since)))
    return sorted(log.list(since=parse_since(since), limit=None), key=lambda row: row.id)


class _Send(typing.NamedTuple):
    """One recorded event on its way to one URL, or the reason it cannot go."""

    row: StoredEvent
    url: str
    headers: list[tuple[str, str]]
    possibly_delivered: bool  # it may have reached this URL before a crash
    problem: str | None = None  # why it is not sent (what to pass instead)


def _sends(row: StoredEvent, to: str | None, failed: bool, signer: _Signer) -> list[_Send]:
    """Where one recorded event goes, with which headers."""
    if to:
        return [_Send(row, to, signer.platform(row), _possibly_delivered(row, None))]
    if row.targets:
        targets = row.undelivered() if failed else list(row.targets)
        return [signer.to_target(row, target) for target in targets]
    if row.attempts:  # recorded by a v1 log: where it went last
        url = row.attempts[-1].target
        return [_Send(row, url, signer.platform(row), False)]
    return [
        _Send(
            row,
            "",
            [],
            _possibly_delivered(row, None),
            "the log does not say where it was going (recorded by an older muxhook, or "
            "never forwarded): pass --to URL",
        )
    ]


def _possibly_delivered(row: StoredEvent, target: Target | None) -> bool:
    """Whether the event was due at ``target`` (any, for None) and no attempt says what
    became of it: after a crash or a forward cut off, it may have reached the app."""
    if target is not None:
        return target in row.unknown_outcome()
    return bool(row.unknown_outcome()) or (row.delivered is False and not row.attempts)


class _Signer:
    """Signs replayed events: with the platform's secret (found as ``sign`` finds it), or
    re-signed with the forward secret listen used, found again and checked against the
    fingerprint the log kept."""

    def __init__(self, secret: str | None, forward_secret: str | None, out: Output) -> None:
        from muxhook.secrets import resolve_forward_secret

        self.secret = secret
        self.forward = resolve_forward_secret(forward_secret)
        self.out = out
        self._keys: dict[str, str | None] = {}  # provider → its signing secret, if found
        self._matches: dict[tuple[str, str], bool] = {}  # (secret, fingerprint) → a match
        self._generated: dict[Path, str | None] = {}  # a generated secret's file → its secret

    def platform(self, row: StoredEvent) -> list[tuple[str, str]]:
        """The recorded headers, freshly signed with the platform's secret when there is one."""
        from muxhook import providers, signing
        from muxhook.forward import forwardable_headers
        from muxhook.secrets import resolve_secret

        name = row.provider or providers.guess(row.body)
        if name not in self._keys:
            found = resolve_secret(name, self.secret)
            self._keys[name] = None if found is None else found.value
        key = self._keys[name]
        extra: list[tuple[str, str]] = []
        if key:
            fresh = signing.sign(row.body, secret=key, provider=name)
            extra = [(k, v) for k, v in fresh.items() if k.lower() != "content-type"]
        else:
            self.out.warn(
                f"#{row.id}: no {providers.get(name).LABEL} secret, so the original "
                "signature is sent (a Mux timestamp may be too old by now)"
            )
        return forwardable_headers(row.headers, extra)

    def _fingerprint_is(self, secret: str, stored: str) -> bool:
        from muxhook.secrets import fingerprint_matches

        if (secret, stored) not in self._matches:  # PBKDF2: worth doing once per secret
            self._matches[secret, stored] = fingerprint_matches(secret, stored)
        return self._matches[secret, stored]

    def _generated_secret(self, path: Path) -> str | None:
        from muxhook.muxlisten import read_local_secret

        if path not in self._generated:
            self._generated[path] = read_local_secret(path)
        return self._generated[path]

    def to_target(self, row: StoredEvent, target: Target) -> _Send:
        """The event as listen sent it to ``target``: its ``-H`` headers, re-signed as it was."""
        from muxhook import providers, signing
        from muxhook.forward import forwardable_headers
        from muxhook.muxlisten import generated_secret_file
        from muxhook.secrets import FORWARD_SECRET_ENV, resolve_secret

        possibly = _possibly_delivered(row, target)
        if target.resign is None:
            headers = self.platform(row)
            return _Send(row, target.url, forwardable_headers(headers, target.headers), possibly)
        name = row.provider or providers.guess(row.body)
        if name not in self._keys:
            found = resolve_secret(name, self.secret)
            self._keys[name] = None if found is None else found.value
        # The forward secret, the platform's own (listen --from mux-api signs forwards with
        # the app's secret), or the one listen --from mux-api generated, from its file:
        # whichever has the fingerprint the log kept.
        generated = generated_secret_file(target.resign.source)
        problem = None
        kept = None
        if generated is not None:
            try:
                kept = self._generated_secret(generated)
            except (OSError, UnicodeDecodeError) as error:
                reason = getattr(error, "strerror", None) or str(error)
                problem = f"cannot read the secret listen generated, {generated} ({reason})"
        candidates = [
            c for c in (self.forward.value if self.forward else None, self._keys[name], kept) if c
        ]
        stored = target.resign.fingerprint
        key = next((c for c in candidates if self._fingerprint_is(c, stored)), None)
        if key is None:
            if generated is not None:
                if problem is None:
                    problem = (
                        f"listen signed it with the secret it generated in {generated}, which "
                        "is gone"
                        if kept is None
                        else f"the secret in {generated} is not the one listen signed it with "
                        "(the file was made again)"
                    )
                problem += (
                    f"; set {providers.get(name).SECRET_ENV} to the secret your app verifies "
                    "with, or pass --forward-secret"
                )
            else:
                problem = (
                    f"listen re-signed it with a forward secret (from {target.resign.source}); "
                    f"pass --forward-secret or set {FORWARD_SECRET_ENV}"
                    if self.forward is None
                    else f"the forward secret from {self.forward.source} is not the one listen "
                    f"re-signed it with (from {target.resign.source}); pass that one with "
                    f"--forward-secret or {FORWARD_SECRET_ENV}"
                )
            return _Send(row, target.url, [], possibly, problem)
        fresh = signing.sign(row.body, secret=key, provider=name)
        extra = [(k, v) for k, v in fresh.items() if k.lower() != "content-type"]
        extra += list(target.headers)
        return _Send(row, target.url, forwardable_headers(row.headers, extra), possibly)


async def _replay_sends(sends: list[_Send], log: EventLog, timeout: float, out: Output) -> ExitCode:
    """Send one after another, oldest first; each attempt is in the log before the next."""
    from muxhook.sending import HttpSender

    worst = ExitCode.OK
    async with HttpSender(connections=1) as sender:
        for send in sends:
            if send.problem is not None:
                out.replay_skipped(send.row, send.url, send.problem, send.possibly_delivered)
                worst = max(worst, ExitCode.USAGE)
                continue
            attempt = await sender.send(send.url, send.row.body, send.headers, timeout=timeout)
            log.add_attempt(send.row.id, attempt)
            out.replay_line(send.row, attempt, possibly_delivered=send.possibly_delivered)
            if attempt.status is None:
                worst = max(worst, ExitCode.UNREACHABLE)
            elif not 200 <= attempt.status < 300:
                worst = max(worst, ExitCode.FAILED)
    return worst
