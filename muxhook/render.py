"""Everything muxhook shows a person, and the only module that imports rich.

Short lines are written as plain text with a few ANSI colours (importing rich is slow,
and ``sign``/``verify`` must start fast: ``benchmarks/startup.py``); rich is imported lazily for
pretty JSON and tables. Payloads are always printed as data: through
``rich.json.JSON``/``rich.text.Text`` or as plain text, never parsed as markup.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
import typing
from collections.abc import Mapping

from muxhook.records import RESPONSE_KEEP
from muxhook.subscribers import Subscriber

if typing.TYPE_CHECKING:
    from muxhook.pipeline import Delivered, Received, Stats
    from muxhook.providers import EventType
    from muxhook.records import Attempt, Incoming, StoredEvent
    from muxhook.recovery import Recovered
    from muxhook.replay import Result

__all__ = [
    "JsonLines",
    "Output",
    "ReplayView",
    "StreamView",
    "TerminalView",
    "format_curl",
    "format_headers",
    "format_httpie",
    "format_signed_json",
]

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}


class Output:
    """The two streams a command writes to, and whether they take colour.

    stdout carries only the command's result (so it pipes); stderr carries
    everything said to the person: warnings, errors, progress.
    """

    def __init__(
        self,
        stdout: typing.TextIO | None = None,
        stderr: typing.TextIO | None = None,
        colour: bool | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.colour = colour  # None: decide from the terminal and NO_COLOR/FORCE_COLOR
        self._gone: set[typing.TextIO] = set()  # streams whose reader went away

    #: False while a server batches its flushes: one write(2) per turn of its event loop,
    #: not one per line (see TerminalView). Lines still leave within the same turn.
    flush_now = True
    #: True for a server (listen): when a stream's reader goes away (``| head``, a closed
    #: terminal), that stream is written to no more, once said on stderr, and the work goes
    #: on. False: the error propagates, and ``commands.run`` ends the command quietly.
    outlive_readers = False

    def _use_colour(self, stream: typing.TextIO) -> bool:
        if self.colour is not None:
            return self.colour
        if os.environ.get("NO_COLOR"):
            return False
        if os.environ.get("FORCE_COLOR"):
            return True
        return hasattr(stream, "isatty") and stream.isatty()

    def paint(self, text: str, colour: str, stream: typing.TextIO | None = None) -> str:
        """``text`` in ``colour`` when the stream takes colour; unchanged otherwise."""
        if not self._use_colour(stream or self.stdout):
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"

    def result(self, text: str = "") -> None:
        """Write a line of the command's result to stdout."""
        self._write(self.stdout, text + "\n", flush=self.flush_now)

    def say(self, text: str) -> None:
        """Write a line for the person to stderr."""
        self._write(self.stderr, text + "\n", flush=True)

    def flush(self) -> None:
        """Send what stdout holds."""
        self._write(self.stdout, "", flush=True)

    def _write(self, stream: typing.TextIO, text: str, *, flush: bool) -> None:
        if stream in self._gone:
            return
        try:
            stream.write(text)
            if flush:
                stream.flush()
        except OSError as error:
            if not self.outlive_readers:
                raise
            self._lost(stream, error)

    def _lost(self, stream: typing.TextIO, error: OSError) -> None:
        """With ``outlive_readers``: a stream whose reader went away is written to no more
        (said once on stderr for stdout), and the command goes on."""
        self._gone.add(stream)
        _point_at_devnull(stream)  # what it still buffers goes there, and the last flush works
        if stream is self.stdout:
            self.say(
                f"cannot write to stdout ({error.strerror or error}): muxhook stopped "
                "printing events; it keeps recording and forwarding them ('muxhook log "
                "list' shows them)"
            )

    def error(self, message: str) -> None:
        """One line on stderr: what is wrong and what to do."""
        self.say(self.paint("error:", "red", self.stderr) + " " + message)

    def warn(self, message: str) -> None:
        """One warning line on stderr."""
        self.say(self.paint("warning:", "yellow", self.stderr) + " " + message)

    def pretty_json(self, data: object) -> None:
        """Pretty-print data as JSON on stdout, coloured on a terminal."""
        if not self._use_colour(self.stdout):
            self.result(json.dumps(data, indent=2, ensure_ascii=False))
            return
        if self.stdout in self._gone:
            return
        from rich.console import Console
        from rich.json import JSON

        console = Console(file=self.stdout, highlight=False, soft_wrap=True)
        try:
            console.print(JSON.from_data(data, ensure_ascii=False))
        except OSError as error:
            if not self.outlive_readers:
                raise
            self._lost(self.stdout, error)

    # -- verify ---------------------------------------------------------------

    def verdict_valid(self, label: str, event_type: str | None, detail: str) -> None:
        """The ✓ line of a signature that verified."""
        mark = self.paint("✓ valid", "green")
        kind = f" · {event_type}" if event_type else ""
        self.result(f"{mark} {label} signature{kind}{detail}")

    def verdict_invalid(self, label: str, reason: str) -> None:
        """The ✗ line of a signature that did not verify."""
        mark = self.paint("✗ invalid", "red")
        self.result(f"{mark} {label} signature: {reason}")

    # -- log ------------------------------------------------------------------

    def log_rows(self, rows: list[StoredEvent]) -> None:
        """One line per recorded event, newest first."""
        if not rows:
            self.say("no events recorded (yet)")
            return
        for row in rows:
            # The latest attempt that counts for its status: to one of its own targets (a
            # `log replay --to` elsewhere does not), or any for an event without targets.
            urls = {target.url for target in row.targets}
            own = [a for a in row.attempts if not urls or a.target in urls]
            self.result(
                self.event_columns(
                    _when(row.received_at),
                    row.id,
                    row.provider,
                    row.event_type or f"({row.method} {row.path})",
                    row.object_id,
                    row.verdict,
                    self.forward_cells(own[-1] if own else None),
                    [self.paint("(duplicate)", "yellow")] if row.duplicate else [],
                )
            )

    def log_event(self, row: StoredEvent) -> None:
        """Everything recorded about one event."""
        kind = row.event_type or "(no type)"
        self.result(
            self.paint(f"#{row.id}  {kind}  ({row.provider or 'unknown provider'})", "bold")
        )
        self.result(
            f"received  {_when(row.received_at)} from {row.remote}: {row.method} {row.path}"
        )
        self.result(f"verdict   {self._verdict(row.verdict, row.duplicate)}")
        if row.reason:
            self.result(f"          {row.reason}")
        if row.event_id or row.object_id:
            self.result(f"ids       event {row.event_id or '-'}, object {row.object_id or '-'}")
        self.result("headers")
        for name, value in row.headers:
            self.result(f"  {self.paint(name, 'blue')}: {value}")
        if row.targets:
            self.result("targets")
            unattempted = row.unattempted()
            for target in row.targets:
                added = ", ".join(name for name, _ in target.headers)
                notes = [f"with {added}"] if added else []
                if target.resign is not None:
                    notes.append(f"re-signed with the forward secret from {target.resign.source}")
                if target in unattempted:
                    notes.append("no attempt recorded")
                detail = f"  ({'; '.join(notes)})" if notes else ""
                self.result(f"  {target.url}{detail}")
        self.result(f"attempts  {len(row.attempts) or 'none'}")
        for attempt in row.attempts:
            self.result("  " + self._attempt_text(attempt))
            for name, value in attempt.response_headers:  # the app's answer (schema v3)
                self.result(f"      {self.paint(_clean(name), 'blue')}: {_clean(value)}")
        self.result(f"body      {len(row.body)} bytes")
        try:
            data = json.loads(row.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return
        self.pretty_json(data)

    def replay_line(
        self, row: StoredEvent, attempt: Attempt, *, possibly_delivered: bool = False
    ) -> None:
        """The outcome of sending one recorded event again; ``possibly_delivered``: no
        attempt of the first send was recorded, so it may have arrived already."""
        line = f"#{row.id}  {row.event_type or '(no type)'}  " + self._attempt_text(attempt)
        self.result(line + self._possibly(possibly_delivered))

    def replay_skipped(
        self, row: StoredEvent, url: str, problem: str, possibly_delivered: bool
    ) -> None:
        """An event ``log replay`` could not send, and what to pass so it can."""
        where = f" to {url}" if url else ""
        mark = self.paint(f"not sent{where}", "red")
        line = f"#{row.id}  {row.event_type or '(no type)'}  {mark}: {problem}"
        self.result(line + self._possibly(possibly_delivered))

    def recovered(self, done: Recovered) -> None:
        """The one line ``log recover`` ends with."""
        lost = ""
        if done.unreadable:
            count = sum(last - first + 1 for first, last in done.unreadable)
            spans = ", ".join(
                f"#{first}" if first == last else f"#{first}-#{last}"
                for first, last in done.unreadable[:5]
            )
            more = ", …" if len(done.unreadable) > 5 else ""
            noun = "event" if count == 1 else "events"
            lost = f"; unreadable: ids {spans}{more} (at most {count:,} {noun})"
        self.say(
            f"recovered {done.events:,} events and {done.attempts:,} attempts into a new log "
            f"at {done.path}{lost}; the damaged file is kept as {done.damaged}"
        )

    def _possibly(self, possibly_delivered: bool) -> str:
        if not possibly_delivered:
            return ""
        return self.paint(
            "  (possibly delivered before: muxhook stopped before it knew)",
            "yellow",
        )

    def _attempt_text(self, attempt: Attempt) -> str:
        timing = f"  {attempt.latency_ms:.1f} ms" if attempt.latency_ms is not None else ""
        if attempt.status is None:
            failed = f"→ failed{timing}: {attempt.error}"
            return f"{_when(attempt.attempted_at)}  {attempt.target}  {failed}"
        colour = "green" if 200 <= attempt.status < 300 else "red"
        answer = printable_body(attempt.response_start, 60)
        return (
            f"{_when(attempt.attempted_at)}  {attempt.target}  → "
            f"{self.paint(str(attempt.status), colour)}{timing}  {answer}".rstrip()
        )

    def _verdict(self, verdict: str | None, duplicate: bool) -> str:
        text = {
            "valid": self.paint("✓ valid", "green"),
            "invalid": self.paint("✗ invalid", "red"),
            "rejected": self.paint("✗ rejected", "red"),
        }.get(verdict or "", self.paint("· unverified", "yellow"))
        return text + (self.paint(" (duplicate)", "yellow") if duplicate else "")

    def event_columns(
        self,
        when: str,
        row: int,
        provider: str | None,
        event_type: str,
        object_id: str | None,
        verdict: str | None,
        outcome: str,
        notes: typing.Sequence[str] = (),
    ) -> str:
        """One event as aligned columns (``listen`` and ``log list`` alike): time, id,
        provider, type, object, verdict, then ``outcome`` (``forward_cells``) and notes.
        Each column has a fixed width; a longer value is cut with "…"."""
        word, colour = _VERDICTS.get(verdict or "", ("· unverified", "yellow"))
        cells = [
            self.paint(when, "dim"),
            f"#{row}".ljust(_ID_WIDTH),
            _fit(provider or "?", _PROVIDER_WIDTH),
            _fit(event_type, _TYPE_WIDTH),
            _fit(object_id or "-", _OBJECT_WIDTH),
            self.paint(word, colour) + " " * (_VERDICT_WIDTH - len(word)),
            outcome,
            *notes,
        ]
        return "  ".join(cells).rstrip()

    def forward_cells(self, attempt: Attempt | None) -> str:
        """The app's status and the latency, as two aligned columns, and after them what
        the app said when it was not 2xx (its body's first line, or why there was no
        answer); empty for no attempt."""
        if attempt is None:
            return ""
        latency = "" if attempt.latency_ms is None else f"{attempt.latency_ms:.1f} ms"
        if attempt.status is None:
            status, colour, said = "failed", "red", _clean(attempt.error or "", _SAID_WIDTH)
        else:
            status = str(attempt.status)
            colour = "green" if 200 <= attempt.status < 300 else "red"
            said = "" if colour == "green" else app_said(attempt.response_start)
        cells = "→ " + self.paint(status, colour) + " " * (_STATUS_WIDTH - 2 - len(status))
        cells += "  " + latency.rjust(_LATENCY_WIDTH)
        return cells + (f"  {said}" if said else "")

    # -- trigger --------------------------------------------------------------

    def request_line(self, url: str, event_type: str | None, provider: str) -> None:
        """``→ POST url  event.type (provider)`` on stderr."""
        kind = event_type or "(no type)"
        self.say(self.paint("→", "dim", self.stderr) + f" POST {url}  {kind} ({provider})")

    def response_line(self, status: int, elapsed: float, body_start: str) -> None:
        """``← 200 OK  3.1 ms  {"ok":true}`` on stdout: the command's result."""
        colour = "green" if 200 <= status < 300 else "red"
        code = self.paint(f"{status} {_phrase(status)}".rstrip(), colour)
        snippet = f"  {body_start}" if body_start else ""
        self.result(f"← {code}  {elapsed * 1000:.1f} ms{snippet}")

    # -- events (the catalog) -------------------------------------------------

    def catalog(self, rows: list[tuple[str, EventType]]) -> None:
        """The event catalog as aligned text, one event a line, grouped by provider."""
        from muxhook import catalog, providers

        width = max((len(catalog.qualified(p, e.name)) for p, e in rows), default=0)
        current = None
        for provider, event in rows:
            if provider != current:
                if current is not None:
                    self.result()
                count = sum(1 for p, _ in rows if p == provider)
                title = providers.get(provider).LABEL
                self.result(self.paint(f"{title} ({count} events)", "bold"))
                current = provider
            name = catalog.qualified(provider, event.name).ljust(width)
            legacy = self.paint(" [legacy]", "yellow") if event.legacy else ""
            self.result(f"  {self.paint(name, 'blue')}  {event.description}{legacy}")


def _point_at_devnull(stream: typing.TextIO) -> None:
    """Point a stream's file descriptor at /dev/null, so what it still buffers goes there."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return  # not a file (a test's StringIO)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def printable_body(body: bytes, limit: int = 120) -> str:
    """The start of a body as one printable line (for response snippets)."""
    text = _clean(body[:limit].decode("utf-8", "replace"))
    return text + ("…" if len(body) > limit else "")


def format_headers(headers: Mapping[str, str]) -> str:
    """``Name: value`` lines for the signature headers (Content-Type left out)."""
    return "\n".join(f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-type")


def format_signed_json(
    provider: str, event_type: str | None, headers: Mapping[str, str], body: bytes
) -> str:
    """One JSON object with everything a test needs: headers and the exact body."""
    document: dict[str, object] = {
        "provider": provider,
        "event_type": event_type,
        "headers": dict(headers),
    }
    try:
        document["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        document["body_base64"] = base64.b64encode(body).decode("ascii")
    return json.dumps(document, ensure_ascii=False)


def _body_argument(body: bytes, path: str | None) -> str | None:
    """The body as one shell word, or None when it is binary (then a file is named)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return shlex.quote(text)


def format_curl(url: str, headers: Mapping[str, str], body: bytes, path: str | None) -> str:
    """A curl command that sends exactly ``body`` with ``headers`` (no trailing newline added)."""
    parts = ["curl", "-sS", "-X", "POST", shlex.quote(url)]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    word = _body_argument(body, path)
    parts += ["--data-binary", word if word is not None else shlex.quote(f"@{path}")]
    return " ".join(parts)


def format_httpie(url: str, headers: Mapping[str, str], body: bytes, path: str | None) -> str:
    """An HTTPie command; the body goes in on stdin with printf, which adds no newline."""
    items = " ".join(shlex.quote(f"{name}:{value}") for name, value in headers.items())
    word = _body_argument(body, path)
    if word is None:
        return f"http POST {shlex.quote(url)} {items} < {shlex.quote(path or 'body.bin')}"
    return f"printf '%s' {word} | http POST {shlex.quote(url)} {items}"


def _when(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _clock(seconds: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(seconds))


def _short(value: str | None, width: int = 14) -> str:
    if not value:
        return "-"
    return value if len(value) <= width else value[: width - 1] + "…"


# The columns of an event's line, in ``listen`` and ``log list``: fixed widths, so that
# the lines of a burst line up; a longer value is cut with "…" (an id never is).
_ID_WIDTH = 5
_PROVIDER_WIDTH = 10  # "cloudflare"
_TYPE_WIDTH = 32
_OBJECT_WIDTH = 14
_VERDICT_WIDTH = 12  # "· unverified"
_STATUS_WIDTH = 8  # "→ failed"
_LATENCY_WIDTH = 8
#: At most this many characters of what an app said, on an event's line.
_SAID_WIDTH = 80
#: ``-v``: the start of an app's answer, at most this many lines of this many characters.
_ANSWER_LINES = 20
_ANSWER_WIDTH = 160
_VERDICTS = {
    "valid": ("✓ valid", "green"),
    "invalid": ("✗ invalid", "red"),
    "rejected": ("✗ rejected", "red"),
}


def _fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` characters: padded, or cut with "…"."""
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def _clean(text: str, width: int | None = None) -> str:
    """``text`` as one line of data: control characters (a terminal's escape sequences
    among them) shown as ``\\xNN``, runs of whitespace as one space, cut to ``width``."""
    text = " ".join(text.split())
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def app_said(body: bytes, width: int = _SAID_WIDTH) -> str:
    """What an app's answer says, in one line for an event's line: its first line that
    is not blank; from a Python traceback, its last line (the exception); from an HTML
    page, its title."""
    text = body.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    if first.startswith("Traceback (most recent call last)") and len(lines) > 1:
        first = lines[-1]
    elif first.lower().startswith(("<!doctype html", "<html")):
        import re

        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        if title and title.group(1).strip():
            import html

            first = html.unescape(title.group(1))
    return _clean(first, width)


class StreamView(Subscriber):
    """A subscriber that writes events to stdout, flushed once per turn of the event loop
    (``batch_flushes``): under a burst, one write(2) for many lines."""

    def __init__(self, out: Output) -> None:
        self.out = out
        out.outlive_readers = True  # listen records and forwards whoever reads its output
        self._flush_pending = False

    def batch_flushes(self) -> None:
        """From now on, flush stdout once per turn of the running event loop."""
        self.out.flush_now = False

    def _flush_soon(self) -> None:
        if self.out.flush_now or self._flush_pending:
            return
        import asyncio

        self._flush_pending = True
        asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self.out.flush()


class JsonLines(StreamView):
    """``listen --json``: one line per event on stdout, its JSON form
    (``muxhook.records.event_json``, the same as ``log list --json``), written when its
    story is complete: at once when nothing is forwarded, else after its last attempt."""

    def __init__(self, out: Output) -> None:
        super().__init__(out)
        self._attempts: dict[int, list[Attempt]] = {}
        self._finished: dict[int, set[str]] = {}  # row → targets with no attempt to come

    def received(self, event: Received) -> None:
        """Write it now, unless its forwards will complete it."""
        if not event.shown:
            return
        if event.will_forward:
            self._attempts[event.row] = []
            return
        self._write(event.stored())

    def delivered(self, event: Delivered) -> None:
        """Keep the attempt; the event's last one writes the line."""
        row = event.received.row
        self._attempts.setdefault(row, []).append(event.attempt)
        if not event.final:
            return
        finished = self._finished.setdefault(row, set())
        finished.add(event.attempt.target)
        if len(finished) >= len(event.received.targets):
            del self._finished[row]
            self._write(event.received.stored(self._attempts.pop(row)))

    def rejected(self, row: int, incoming: Incoming, status: int, reason: str) -> None:
        """A refused request is an event too: verdict ``rejected``."""
        from muxhook.records import StoredEvent

        self._write(
            StoredEvent(
                row, incoming.received_at, incoming.method, incoming.path, incoming.headers,
                incoming.body, incoming.remote, None, None, None, None, "rejected",
                f"{status}: {reason}", False, [],
            )
        )  # fmt: skip

    def _write(self, event: StoredEvent) -> None:
        from muxhook.records import event_json

        self.out.result(json.dumps(event_json(event), ensure_ascii=False, separators=(",", ":")))
        self._flush_soon()


class TerminalView(StreamView):
    """What ``listen`` shows a person: a line per event on stdout (``lines``), and on
    stderr every warning, the tunnel's news and the summary. With ``--json`` the lines
    are ``JsonLines``' and this view says only the rest.

    An event's line ends with its first forward's outcome; each later attempt (a retry,
    or another target) has a line of its own under it, naming the target when the event
    has several.
    """

    def __init__(self, out: Output, *, lines: bool = True, verbose: bool = False) -> None:
        super().__init__(out)
        self.lines = lines
        self.verbose = verbose
        self._waiting: set[int] = set()  # rows whose line waits for their first outcome
        self._hinted: set[tuple[str, int]] = set()  # (target, status) already explained

    # -- Subscriber --------------------------------------------------------------

    def received(self, event: Received) -> None:
        """Show an event now, unless its first forward will end its line."""
        if not self.lines or not event.shown:
            return
        if event.will_forward:
            self._waiting.add(event.row)
            return
        self._line(event, None)
        self._flush_soon()

    def delivered(self, event: Delivered) -> None:
        """The first outcome ends the event's line; every later one has a line of its own,
        under it, naming its target when the event has several."""
        if self.lines:
            received = event.received
            if received.row in self._waiting:
                self._waiting.discard(received.row)
                self._line(received, event)
            else:
                what = f"attempt {event.number}" if event.number > 1 else "forward"
                if event.number == 0:
                    what = "cut off"
                where = f" to {event.attempt.target}" if len(received.targets) > 1 else ""
                self.out.result(
                    f"    {self.out.paint('↳', 'dim')} #{received.row} {what}{where} "
                    + self._outcome(event.attempt)
                    + self._next(event)
                )
                if self.verbose:
                    self._answer(event.attempt)
        self._hint(event)
        self._flush_soon()

    def slow(self, event: Delivered, limit: float, provider: str) -> None:
        """Warn that production would have counted this delivery as failed."""
        from muxhook import providers

        latency = (event.attempt.latency_ms or 0) / 1000
        label = providers.get(provider).LABEL
        self.out.warn(
            f"your app took {latency:.1f} s to answer {event.received.described.event_type}; "
            f"{label} gives up after {limit:g} s and retries, so in production this delivery "
            "would have failed"
        )

    def rejected(self, row: int, incoming: Incoming, status: int, reason: str) -> None:
        """A request refused before the flow."""
        if not self.lines:
            return
        mark = self.out.paint(f"✗ {status}", "red")
        self.out.result(
            f"{_clock(incoming.received_at)}  #{row}  {incoming.method} {incoming.path}  "
            f"{mark}  {reason}"
        )
        self._flush_soon()

    def unrecorded(self, incoming: Incoming, reason: str) -> None:
        """A request that could not be stored, and was answered 503 so it is sent again."""
        if incoming.method == "SSE":  # muxlisten.STREAM_METHOD: nobody to answer 503 to
            self.out.error(
                f"could not record an event from the Mux event stream ({reason}); it was not "
                "forwarded, and the stream does not send it again"
            )
            return
        self.out.error(
            f"could not record {incoming.method} {incoming.path} ({reason}); answered 503, "
            "so the platform will send it again"
        )

    def log_failed(self, error: Exception) -> None:
        """A verdict, an attempt or a --save copy that could not be written (the request
        itself was recorded)."""
        self.out.warn(f"could not write ({error}); the request itself is in the event log")

    def log_replaced(self, notice: str) -> None:
        """The log's file was deleted, moved or replaced, and is open at its path again."""
        self.out.warn(notice)

    # -- the tunnel ------------------------------------------------------------

    def tunnel_down(self, problem: str, *, restart_in: float, suspended: float | None) -> None:
        """One line: the public URL stopped reaching listen, why, and what happens next."""
        then = (
            "restarting the agent now"
            if restart_in <= 0
            else f"restarting the agent in {restart_in:.0f} s unless it recovers"
        )
        before = (
            f"listen was suspended for {suspended:.0f} s (did the computer sleep?) and "
            if suspended is not None
            else ""
        )
        self.out.warn(
            f"{before}the tunnel is down: {problem}; webhooks sent to the public URL are not "
            f"reaching muxhook (the local listener still works); {then}"
        )

    def tunnel_back(self, after: float) -> None:
        """The agent recovered by itself: the public URL works again."""
        self.out.say(f"  the tunnel is back after {after:.0f} s; the public URL is unchanged")

    def tunnel_resumed(self, suspended: float) -> None:
        """listen woke from a suspension and found the tunnel working."""
        self.out.say(
            f"  listen was suspended for {suspended:.0f} s (did the computer sleep?); "
            "the tunnel still works"
        )

    def tunnel_restarted(self, url: str, *, changed: bool, where: str, keep_hint: str) -> None:
        """A new agent is up: the public URL again, and whether the platform must be told."""
        self.out.say("  the tunnel agent was restarted")
        self.out.say(f"  public URL: {url}")
        if changed:
            self.out.warn(
                f"the public URL changed: paste it into {where} again; the old one no longer "
                f"reaches muxhook{keep_hint}"
            )
        else:
            self.out.say("  the public URL is the same as before: nothing to change")

    def tunnel_restart_failed(self, reason: str, retry_in: float) -> None:
        """A restart that did not work, and when the next one is (said once per reason)."""
        self.out.warn(
            f"could not restart the tunnel agent: {reason}; trying again in {retry_in:.0f} s, "
            "then less and less often (every 5 min at most)"
        )

    # -- lines -----------------------------------------------------------------

    def _line(self, event: Received, first: Delivered | None) -> None:
        notes = []
        if first is not None:
            outcome = self.out.forward_cells(first.attempt)
            if not first.final:
                notes.append("(retrying)")
            if len(event.targets) > 1:
                notes.append(f"to {first.attempt.target}")
        elif event.verdict == "invalid":  # a stream event ("SSE") had nobody to answer 401
            outcome = "not forwarded" if event.incoming.method == "SSE" else "not forwarded (401)"
        else:
            outcome = "recorded"
        if event.duplicate:
            notes.append(self.out.paint("(duplicate)", "yellow"))
        if event.signature_headers > 1:
            # Judged as Node hands them to an app: joined with ", " (see pipeline.as_node_sees).
            notes.append(self.out.paint(f"({event.signature_headers} signature headers)", "yellow"))
        self.out.result(
            self.out.event_columns(
                _clock(event.incoming.received_at),
                event.row,
                event.provider,
                event.described.event_type or "(no type)",
                event.described.object_id,
                event.verdict,
                outcome,
                notes,
            )
        )
        if event.reason:
            self.out.result("    " + self.out.paint(_clean(event.reason), "red"))
        if self.verbose:
            self._details(event)
            if first is not None:
                self._answer(first.attempt)

    def _outcome(self, attempt: Attempt) -> str:
        """An attempt's outcome on a line of its own: one arrow, the status, the latency,
        and what the app said when it was not 2xx."""
        timing = "" if attempt.latency_ms is None else f" {attempt.latency_ms:.1f} ms"
        if attempt.status is not None:
            ok = 200 <= attempt.status < 300
            said = "" if ok else app_said(attempt.response_start)
            status = self.out.paint(str(attempt.status), "green" if ok else "red")
            return f"→ {status}{timing}" + (f"  {said}" if said else "")
        error = _clean(attempt.error or "", _SAID_WIDTH)
        return f"→ {self.out.paint('failed', 'red')}{timing}: {error}"

    @staticmethod
    def _next(event: Delivered) -> str:
        return "" if event.final else "  (retrying)"

    def _details(self, event: Received) -> None:
        for name, value in event.incoming.headers:
            self.out.result(f"    {self.out.paint(name, 'blue')}: {_clean(value)}")
        try:
            data = json.loads(event.incoming.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            self.out.result(f"    ({len(event.incoming.body)} bytes, not JSON)")
            return
        self.out.pretty_json(data)

    def _answer(self, attempt: Attempt) -> None:
        """``-v``: the app's answer to one attempt, its headers and the start of its body,
        as data (each line cleaned of control characters)."""
        if attempt.status is None:
            return
        self.out.result(f"    your app's answer ({attempt.target}): {attempt.status}")
        for name, value in attempt.response_headers:
            self.out.result(f"      {self.out.paint(_clean(name), 'blue')}: {_clean(value)}")
        body = attempt.response_start
        if not body:
            return
        text = body.decode("utf-8", "replace").splitlines()
        for line in text[:_ANSWER_LINES]:
            self.out.result("      | " + _clean(line, _ANSWER_WIDTH))
        if len(text) > _ANSWER_LINES or len(body) >= RESPONSE_KEEP:
            self.out.result("      | …")

    def _hint(self, event: Delivered) -> None:
        """Once per target and status: the app refused (400/401/403) an event whose
        signature muxhook found valid, and the two usual reasons why."""
        from muxhook import diagnose, providers

        received, status = event.received, event.attempt.status
        if received.verdict != "valid" or status not in diagnose.REJECTS_SIGNATURE:
            return
        key = (event.attempt.target, status)
        if key in self._hinted:
            return
        self._hinted.add(key)
        label = providers.get(received.provider).LABEL if received.provider else "its"
        target = next((t for t in received.targets if t.url == event.attempt.target), None)
        resigned = target.resign.source if target is not None and target.resign else None
        hint = diagnose.app_rejected_valid(label, status, resigned)
        if self.lines:  # under the event's line, on stdout with it
            self.out.result("    " + self.out.paint("hint:", "yellow") + " " + hint)
        else:  # stdout is JSON lines
            self.out.say(self.out.paint("hint:", "yellow", self.out.stderr) + " " + hint)

    def interrupted(self, signum: int) -> None:
        """A stop signal arrived. After Ctrl-C a terminal that echoes it has written ``^C``
        and left the cursor there: end that line, so nothing lands on it."""
        import signal

        if signum != signal.SIGINT:
            return
        for stream in (self.out.stderr, self.out.stdout):
            if _echoes_control(stream):
                self.out._write(stream, "\n", flush=True)
                return

    def draining(self, forwards: int, seconds: float) -> None:
        """listen is stopping and waits for forwards: how many, and for how long at most."""
        self.out.say(
            f"finishing {forwards} forward{'s' if forwards != 1 else ''}, up to {seconds:g} s; "
            "Ctrl-C again to stop now"
        )

    def summary(self, stats: Stats) -> None:
        """The closing lines, on stderr: every event counted, then what is left to do."""
        self.out.flush_now = True
        self.out.flush()
        cut = f" ({stats.cut_off} cut off)" if stats.cut_off else ""
        self.out.say(
            f"received {stats.received} · valid {stats.valid} · invalid {stats.invalid} · "
            f"unverified {stats.unverified} · forwarded {stats.forwarded} · "
            f"failed {stats.failed}{cut}"
            + (f" · rejected {stats.rejected}" if stats.rejected else "")
        )
        if not stats.left:
            return
        left = list(stats.left)
        cut_off = list(stats.left_cut_off)
        why = ""
        if cut_off:
            which = "" if len(cut_off) == len(left) else _ids(cut_off) + " "
            why = f" ({which}cut off when muxhook stopped)"
        count = f"{len(left)} event{'s' if len(left) != 1 else ''}"
        self.out.say(
            f"{count} not delivered: {_ids(left)}{why}; "
            f"'muxhook log replay --failed' sends {'them' if len(left) != 1 else 'it'} again"
        )


def _echoes_control(stream: typing.TextIO) -> bool:
    """Whether ``stream`` is a terminal that echoes control characters (Ctrl-C as ``^C``)."""
    try:
        if not stream.isatty():
            return False
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    try:
        import termios
    except ImportError:  # Windows: its console shows ^C too
        return True
    try:
        local_modes = termios.tcgetattr(fd)[3]
    except termios.error:
        return False
    return bool(local_modes & termios.ECHO and local_modes & termios.ECHOCTL)


def _phrase(status: int) -> str:
    """The reason phrase of an HTTP status (``OK``, ``Not Found``), or nothing."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _ids(rows: list[int], shown: int = 10) -> str:
    """``#3, #4, #7``, and how many more past ``shown``."""
    text = ", ".join(f"#{row}" for row in rows[:shown])
    return text + (f" and {len(rows) - shown} more" if len(rows) > shown else "")


def _rate(count: int, seconds: float) -> str:
    """Events a second, as precise as it is worth: 1,445, 2.5, 0.5, 0.083."""
    rate = count / seconds
    if rate >= 10:
        return f"{rate:,.0f}"
    if rate >= 1:
        return f"{rate:.1f}"
    if rate >= 0.01:
        return f"{rate:.2g}"
    return "under 0.01"


class ReplayView:
    """What ``replay`` shows: a progress bar on a terminal, one line per event otherwise.

    Failures are shown as they happen, with the start of the app's answer; the summary
    table follows (on a terminal), then the failures again, one line each, just before
    the counts, so they stay on screen. ``--json`` writes one JSON object per event
    instead; under GitHub Actions each failure is also an ``::error`` annotation.
    """

    def __init__(self, out: Output, *, total: int, json_lines: bool, github: bool) -> None:
        self.out = out
        self.total = total
        self.json_lines = json_lines
        self.github = github
        self._progress: typing.Any = None
        self._task: typing.Any = None
        if not json_lines and self.out.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), transient=True
            )
            self._task = self._progress.add_task("replay", total=total)
            self._progress.start()

    def result(self, result: Result) -> None:
        """One delivery's outcome."""
        from muxhook.replay import describe_failure

        if self.json_lines:
            attempt = result.attempt
            self.out.result(
                json.dumps(
                    {
                        "source": result.delivery.source,
                        "provider": result.delivery.provider,
                        "type": result.delivery.event_type,
                        "kind": result.delivery.kind,
                        "expected": result.expect.text,
                        "status": attempt.status,
                        "ok": result.ok,
                        "latency_ms": None
                        if attempt.latency_ms is None
                        else round(attempt.latency_ms, 2),
                        "error": attempt.error,
                        "response_start": printable_body(attempt.response_start, 200),
                    },
                    ensure_ascii=False,
                )
            )
        elif self._progress is not None:
            self._progress.advance(self._task)
            if not result.ok:
                self._progress.console.print(
                    self._line(result), markup=False, highlight=False, emoji=False
                )
        else:
            self.out.result(self._line(result))
        if not result.ok and self.github:
            where = result.delivery.source.replace(",", "%2C").replace("::", ":")
            self.out.result(
                f"::error title=muxhook replay: {result.delivery.event_type or 'event'}::"
                f"{where}: {describe_failure(result)}"
            )

    def _line(self, result: Result) -> str:
        from muxhook.replay import describe_failure

        attempt = result.attempt
        mark = "✓" if result.ok else "✗"
        status = str(attempt.status) if attempt.status is not None else "---"
        timing = f"{attempt.latency_ms:7.1f} ms" if attempt.latency_ms is not None else ""
        kind = "" if result.delivery.kind == "event" else f" [{result.delivery.kind}]"
        line = (
            f"{self.out.paint(mark, 'green' if result.ok else 'red')} {status}  {timing}  "
            f"{result.delivery.event_type or '(no type)'}{kind}  {result.delivery.source}"
        )
        if not result.ok:
            line += "\n    " + describe_failure(result)
            if attempt.response_start:
                line += ": " + printable_body(attempt.response_start, 160)
        return line

    def _failures(self, failed: list[Result], limit: int = 20) -> None:
        """The failures again, one line each, after the table (or the lines of a piped
        run): what is left on screen when the run ends."""
        from muxhook.replay import describe_failure

        self.out.result(self.out.paint("failed:", "red"))
        for r in failed[:limit]:
            event_type = r.delivery.event_type or "(no type)"
            kind = "" if r.delivery.kind == "event" else f" [{r.delivery.kind}]"
            source = r.delivery.source.removesuffix(f" ({event_type})")
            where = "" if source == event_type else f"  {_clean(source)}"
            said = app_said(r.attempt.response_start)
            line = f"  {self.out.paint('✗', 'red')} {_clean(event_type + kind)}{where}: "
            line += _clean(describe_failure(r)) + (f": {said}" if said else "")
            self.out.result(line)
        if len(failed) > limit:
            self.out.result(f"  … and {len(failed) - limit} more (listed above)")

    def summary(
        self, results: list[Result], *, seconds: float, unsent: int = 0, limit: int = 60
    ) -> None:
        """The table of every delivery (failures only past ``limit`` rows), the failures
        once more, then the counts; ``unsent``: deliveries a run stopped early did not
        send."""
        if self._progress is not None:
            self._progress.stop()
        if unsent and not results:
            self.out.say(f"none of {unsent} events sent")
            return
        failed = [r for r in results if not r.ok]
        rows = results if len(results) <= limit else failed
        if rows and self.out.stdout.isatty() and not self.json_lines:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            table = Table(title=None, show_edge=False, pad_edge=False)
            for column in ("event", "source", "expected", "got", "latency"):
                table.add_column(column, overflow="fold")
            for r in rows:
                got = str(r.attempt.status) if r.attempt.status is not None else "no answer"
                latency = (
                    f"{r.attempt.latency_ms:.1f} ms" if r.attempt.latency_ms is not None else ""
                )
                kind = "" if r.delivery.kind == "event" else f" [{r.delivery.kind}]"
                event_type = r.delivery.event_type or "(no type)"
                # Every cell is data (a forgery's "[forged: …]", a file name, a type from
                # a fixture): rich.text.Text, never read as markup.
                cells = (
                    event_type + kind,
                    r.delivery.source.removesuffix(f" ({event_type})"),  # said in "event"
                    r.expect.text,
                    got,
                    latency,
                )
                table.add_row(
                    *(Text(_clean(cell)) for cell in cells), style=None if r.ok else "red"
                )
            Console(file=self.out.stdout, highlight=False).print(table)
        if failed and not self.json_lines:
            self._failures(failed)
        rate = f" ({_rate(len(results), seconds)} events/s)" if seconds > 0 else ""
        self.out.say(
            f"{len(results) - len(failed)} of {len(results)} events handled as expected"
            + (f"; {len(failed)} failed" if failed else "")
            + f", sent in {seconds:.2f} s{rate}"
            + (f"; {unsent} not sent" if unsent else "")
        )
