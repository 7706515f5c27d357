"""The inspector's Starlette application: the page, its files, the ``/api/`` routes.

Reads go through ``EventLog.list`` and ``EventLog.get`` (the code behind ``log list``
and ``log show``) on a read-only connection of the inspector's own, in a worker thread,
so a page never holds the listener's connection or its event loop. Live updates are
server-sent events (sse-starlette): each open page polls the log's newest ids, cheaply,
and is woken at once when ``listen`` says an event was recorded.

Security, since the page holds every payload the user receives:

- the ``Host`` header must name a loopback address (or the ``--host`` given) with the
  right port, so a foreign site that rebinds its DNS name to 127.0.0.1 is refused;
- everything that sends or writes needs the per-run token (``X-Muxhook-Token``, from the
  URL printed at start), a JSON body and, when the browser sends one, a same-origin
  ``Origin``: a cross-site form post fails;
- every answer carries a Content-Security-Policy without inline script, and the page
  shows payloads with ``textContent`` only;
- secrets never reach the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import typing
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import anyio.to_thread
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from muxhook.errors import MuxhookError
from muxhook.inspector import documents
from muxhook.inspector.actions import Actions
from muxhook.records import StoredEvent
from muxhook.store import EventLog

__all__ = ["LiveFeed", "Settings", "build_app"]

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_HEADER = "x-muxhook-token"  # noqa: S105  (a header name, not a secret)
PAGE_SIZE = 50
MAX_PAGE = 200
#: New or changed events sent one by one at most; past it (a burst), the newest page instead.
LIVE_BATCH = PAGE_SIZE
#: Seconds between two looks at the log's newest ids while a page is open.
POLL = 0.1
#: The longest rest of an open page's stream after a look at the log, and the rest per event
#: it sent: under a burst, a few looks a second, so an open page costs listen little
#: (benchmarks/inspector.py); a lone event reaches the page at once.
COALESCE = 0.15
REST_PER_EVENT = 0.005
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # the token is in the page's URL
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
FILTERS = ("provider", "type", "verdict", "status", "object", "q")


class Settings(typing.NamedTuple):
    """What the application is told when it is built."""

    log_path: Path
    actions: Actions
    token: str
    mode: str  # "listen" or "inspect"
    hosts: frozenset[str]  # the Host values accepted: "127.0.0.1:8701", …


class LiveFeed:
    """Wakes every open page's stream when something was recorded."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Event] = set()
        self.stopping = asyncio.Event()

    def notify(self) -> None:
        """Something was recorded: every stream looks at the log now, not at its next poll."""
        for event in self._waiting:
            event.set()

    def stop(self) -> None:
        """End every stream (the server is stopping)."""
        self.stopping.set()
        self.notify()

    @property
    def watchers(self) -> int:
        """How many pages have a stream open."""
        return len(self._waiting)

    def register(self) -> asyncio.Event:
        """A new stream's wake-up call."""
        event = asyncio.Event()
        self._waiting.add(event)
        return event

    def unregister(self, event: asyncio.Event) -> None:
        """A stream ended."""
        self._waiting.discard(event)


def build_app(settings: Settings, feed: LiveFeed) -> Starlette:
    """The application: ``/`` (the page), ``/static/`` and ``/api/``."""
    reader = _Reader(settings.log_path)
    api = _Api(settings, reader, feed)
    routes = [
        Route("/", _index),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/api/status", api.status),
        Route("/api/events", api.events),
        Route("/api/events/{id:int}", api.event),
        Route("/api/events/{id:int}/attempts", api.attempts),
        Route("/api/events/{id:int}/fixture", api.fixture, methods=["GET"]),
        Route("/api/events/{id:int}/fixture", api.save_fixture, methods=["POST"]),
        Route("/api/events/{id:int}/replay", api.replay, methods=["POST"]),
        Route("/api/events/{id:int}/curl", api.curl, methods=["POST"]),
        Route("/api/timeline", api.timeline),
        Route("/api/stream", api.stream),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        reader.close()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, MuxhookError: _muxhook_error},
        lifespan=lifespan,
    )
    return typing.cast(Starlette, _Guard(app, settings))


async def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


async def _muxhook_error(request: Request, exc: Exception) -> Response:
    status = 400 if getattr(exc, "exit_code", 1) == 2 else 500
    return JSONResponse({"error": str(exc)}, status_code=status)


class _Guard:
    """The Host check on every request, and the security headers on every answer."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = settings.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
        if host not in self.hosts:
            # A foreign name (DNS rebinding) or the wrong port: nothing of the log answers it.
            refusal = JSONResponse(
                {"error": "this Host is not the inspector's: open the URL muxhook printed"},
                status_code=421,
                headers={"content-security-policy": CSP},
            )
            await refusal(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, secured)


class _Reader:
    """The log, read-only, from a worker thread: opened on first use (the file may not
    exist yet when ``listen`` starts on a fresh log)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log: EventLog | None = None

    async def run(self, work: Callable[[EventLog], typing.Any]) -> typing.Any:
        return await anyio.to_thread.run_sync(lambda: work(self._open()))

    def _open(self) -> EventLog:
        if self._log is None:
            self._log = EventLog(self.path, read_only=True)
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


def _filters(query: Mapping[str, str]) -> dict[str, typing.Any]:
    """``EventLog.list`` arguments from the page's query string."""
    options: dict[str, typing.Any] = {}
    for name, option in (
        ("provider", "provider"),
        ("type", "type_glob"),
        ("verdict", "verdict"),
        ("status", "status"),
        ("object", "object_id"),
        ("q", "text"),
    ):
        value = query.get(name, "").strip()
        if value:
            options[option] = value
    return options


def _number(
    query: Mapping[str, str], name: str, default: int | None, *, positive: bool = False
) -> int | None:
    """The query's ``name`` as a whole number (≥ 1 when ``positive``); 400 otherwise."""
    text = query.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or (positive and int(text) == 0):
        kind = "a positive whole number" if positive else "a whole number"
        raise HTTPException(400, f"{name} must be {kind}, not {text!r}")
    return int(text)


class _Api:
    def __init__(self, settings: Settings, reader: _Reader, feed: LiveFeed) -> None:
        self.settings = settings
        self.reader = reader
        self.feed = feed
        self.actions = settings.actions

    # -- reads ------------------------------------------------------------------------------

    async def status(self, request: Request) -> Response:
        from muxhook import __version__, providers

        return JSONResponse(
            {
                "version": __version__,
                "mode": self.settings.mode,
                "log": str(self.settings.log_path),
                "providers": {p.NAME: p.LABEL for p in providers.all_providers()},
                "can_sign": {name: bool(self.actions.secrets(name)) for name in providers.NAMES},
                "save_dir": self.actions.save_dir is not None,
            }
        )

    async def events(self, request: Request) -> Response:
        query = request.query_params
        limit = min(_number(query, "limit", PAGE_SIZE, positive=True) or PAGE_SIZE, MAX_PAGE)
        before = _number(query, "before", None)
        filters = _filters(query)
        rows: list[StoredEvent] = await self.reader.run(
            lambda log: log.list(**filters, before=before, limit=limit + 1)
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return JSONResponse(
            {
                "events": [documents.summary(row) for row in rows],
                "next": rows[-1].id if more and rows else None,
            }
        )

    async def _row(self, request: Request) -> StoredEvent:
        event_id = int(request.path_params["id"])
        row: StoredEvent | None = await self.reader.run(lambda log: log.get(event_id))
        if row is None:
            raise HTTPException(404, f"no event #{event_id} in the log")
        return row

    async def event(self, request: Request) -> Response:
        return JSONResponse(documents.detail(await self._row(request)))

    async def attempts(self, request: Request) -> Response:
        return JSONResponse({"attempts": documents.detail(await self._row(request))["attempts"]})

    async def timeline(self, request: Request) -> Response:
        query = request.query_params
        provider, object_id = query.get("provider", ""), query.get("object", "")
        if not object_id:
            raise HTTPException(400, "say which object: ?object=<id>&provider=<name>")
        filters: dict[str, typing.Any] = {"object_id": object_id}
        if provider:
            filters["provider"] = provider
        rows = await self.reader.run(
            lambda log: log.list(**filters, limit=documents.TIMELINE_LIMIT)
        )
        return JSONResponse(documents.timeline(rows))

    async def fixture(self, request: Request) -> Response:
        row = await self._row(request)
        name = self.actions.fixture_name(row)
        kind = "image/jpeg" if name.endswith(".jpg") else "application/json"
        return Response(
            row.body,
            media_type=kind,
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def stream(self, request: Request) -> Response:
        filters = _filters(request.query_params)
        return EventSourceResponse(self._live(filters), ping=15, send_timeout=30)

    async def _live(self, filters: dict[str, typing.Any]) -> AsyncIterator[ServerSentEvent]:
        """New events that match the page's filters, and changes to the ones it shows."""
        wake = self.feed.register()
        try:
            marks: tuple[int, int] = await self.reader.run(lambda log: log.marks())
            yield ServerSentEvent(json.dumps({"latest": marks[0]}), event="hello")
            pending: set[int] = set()  # shown before their verdict was written
            while not self.feed.stopping.is_set():
                with anyio.move_on_after(POLL):
                    await wake.wait()
                wake.clear()
                if self.feed.stopping.is_set():
                    break
                now: tuple[int, int] = await self.reader.run(lambda log: log.marks())
                if now == marks and not pending:
                    continue
                look = functools.partial(_changes, filters=filters, old=marks, now=now)
                messages, pending = await self.reader.run(functools.partial(look, pending=pending))
                marks = now
                for name, data, _ in messages:
                    yield ServerSentEvent(data, event=name)
                # Rest in proportion to what was sent: a lone event goes out at once, a
                # burst is sent a page at a time, a few times a second.
                sent = sum(count for _, _, count in messages)
                await asyncio.sleep(min(COALESCE, REST_PER_EVENT * sent))
        finally:
            self.feed.unregister(wake)

    # -- actions (the token) ------------------------------------------------------------------

    async def _authorised(self, request: Request) -> dict[str, typing.Any]:
        """The JSON body of an action, once the token, the content type and the origin pass."""
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.settings.token.encode()):
            raise HTTPException(
                403, "this action needs the token from the URL muxhook printed at start"
            )
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1].lower() not in self.settings.hosts:
            raise HTTPException(403, "cross-origin requests cannot use the inspector's actions")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(415, "send the action's options as application/json")
        try:
            document = json.loads(await request.body() or b"{}")
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None
        if not isinstance(document, dict):
            raise HTTPException(400, "the body must be a JSON object")
        return document

    def _url(self, options: Mapping[str, typing.Any], row: StoredEvent) -> str:
        url = options.get("url")
        if url is None or url == "":
            targets = documents.event_targets(row)
            if not targets:
                raise HTTPException(400, f"event #{row.id} was never forwarded: give a URL")
            return targets[0]
        if not isinstance(url, str):
            raise HTTPException(400, "url must be text")
        return url

    async def replay(self, request: Request) -> Response:
        options = await self._authorised(request)
        row = await self._row(request)
        url = self._url(options, row)
        body = options.get("body")
        if body is None:
            sent = await self.actions.replay(row, url)
        elif isinstance(body, str):
            sent = await self.actions.replay_edited(row, body.encode("utf-8"), url)
        else:
            raise HTTPException(400, "body must be text")
        self.feed.notify()
        attempt = sent.attempt
        return JSONResponse(
            {
                "attempt": {
                    "attempted_at": attempt.attempted_at,
                    "target": attempt.target,
                    "status": attempt.status,
                    "latency_ms": attempt.latency_ms,
                    "error": attempt.error,
                    **documents.answer(attempt),
                },
                "signed": sent.signed,
                "recorded": sent.recorded,
            }
        )

    async def curl(self, request: Request) -> Response:
        options = await self._authorised(request)
        row = await self._row(request)
        url = options.get("url") or (documents.event_targets(row) or [_default_url(row)])[0]
        if not isinstance(url, str):
            raise HTTPException(400, "url must be text")
        command, signed = self.actions.curl(row, url)
        return JSONResponse({"command": command, "signed": signed})

    async def save_fixture(self, request: Request) -> Response:
        await self._authorised(request)
        row = await self._row(request)
        path = await anyio.to_thread.run_sync(lambda: self.actions.save_fixture(row))
        return JSONResponse({"path": str(path)})


def _changes(
    log: EventLog,
    filters: dict[str, typing.Any],
    old: tuple[int, int],
    now: tuple[int, int],
    pending: set[int],
) -> tuple[list[tuple[str, str, int]], set[int]]:
    """The messages for one look at the log (in a worker thread, JSON included, so the
    event loop only writes them out), and the events still waiting for their verdict.

    Quiet: ``events`` (recorded in ``(old, now]`` and matching) and ``changed`` (earlier
    ones with new attempts). Busy (more than a page of either, as in a burst): one
    ``reset`` with the newest page, which the page shows instead of its list.
    """
    fresh = log.list(**filters, after=old[0], before=now[0] + 1, limit=LIVE_BATCH + 1)
    touched = {event_id for event_id in log.attempted_after(old[1]) if event_id <= old[0]}
    touched |= pending
    if len(fresh) > LIVE_BATCH or len(touched) > LIVE_BATCH:
        page = log.list(**filters, before=now[0] + 1, limit=LIVE_BATCH + 1)
        shown = page[:LIVE_BATCH]
        reset = {
            "events": [documents.summary(row) for row in shown],
            "next": shown[-1].id if len(page) > LIVE_BATCH else None,
        }
        waiting = {row.id for row in shown if row.verdict is None}
        return [("reset", json.dumps(reset), len(shown))], waiting
    changed = log.list(ids=sorted(touched), limit=None) if touched else []
    messages = []
    for name, rows in (("events", fresh), ("changed", changed)):
        if rows:
            data = json.dumps({"events": [documents.summary(row) for row in rows]})
            messages.append((name, data, len(rows)))
    return messages, {row.id for row in (*fresh, *changed) if row.verdict is None}


def _default_url(row: StoredEvent) -> str:
    from muxhook.commands.sign import DEFAULT_URL
    from muxhook.providers import DEFAULT

    return DEFAULT_URL.format(provider=row.provider or DEFAULT)
