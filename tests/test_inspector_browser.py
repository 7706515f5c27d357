"""The inspector in a real browser: Playwright for Python driving Debian's Chromium.

The browser is the ``chromium`` on PATH (``apt-get install -y chromium``; ``.ci/run``
installs it when missing), launched through ``executable_path`` with a fresh profile
and no download of any kind. Without it these tests FAIL, never skip: a skipped
browser test looks like a passing one. Chromium maps ``evil.example`` and
``attacker.example`` to 127.0.0.1 (``--host-resolver-rules``), as a DNS-rebinding
attacker's resolver would.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from muxhook import signing
from muxhook.store import EventLog
from tests.apps import RecordingApp
from tests.conftest import FIXTURES
from tests.inspecting import attempt, base, inspecting, printed_inspector, record
from tests.listening import listen_locally
from tests.mux_judge import sdk_receiver

SECRET = "inspector-browser-secret-01"
ENV = {"MUX_WEBHOOK_SECRET": SECRET}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP evil.example 127.0.0.1, MAP attacker.example 127.0.0.1",
]
WAIT = 15_000  # ms: Playwright's bound on every wait below


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for this module (a fresh profile: Playwright's own)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("no chromium on PATH: apt-get install -y chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Open a URL in a new browser context; page errors are collected on ``page.errors``."""
    contexts: list[Any] = []

    def go(url: str) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        return page

    yield go
    for context in contexts:
        context.close()


def mux_body(kind: str, object_id: str, event_id: str, at: str | None = None) -> bytes:
    document: dict[str, object] = {
        "type": kind,
        "id": event_id,
        "object": {"type": "asset", "id": object_id},
        "data": {"id": object_id, "passthrough": f"{kind}-{event_id}"},
    }
    if at:
        document["created_at"] = at
    return json.dumps(document, separators=(",", ":")).encode()


def post_signed(url: str, body: bytes, **headers: str) -> httpx.Response:
    sent = {**signing.sign(body, secret=SECRET), **headers}
    return httpx.post(url, content=body, headers=sent, timeout=30)


def count(page: Any, selector: str, expected: int) -> None:
    """Wait until ``selector`` matches ``expected`` elements (the page's CSP forbids the
    string evaluation ``wait_for_function`` uses)."""
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_have_count(expected, timeout=WAIT)


def rows(page: Any) -> list[str]:
    """The list's rows as their type cells read."""
    return [str(text) for text in page.locator("#events tbody td.type").all_inner_texts()]


def test_an_event_posted_while_the_page_is_open_appears(tmp_path: Path, open_page: Any) -> None:
    with listen_locally(tmp_path, tmp_path / "e.db", "--inspect-port", "0", env=ENV) as listener:
        page = open_page(printed_inspector(listener))
        page.wait_for_selector("#live.ok")
        assert rows(page) == []
        post_signed(listener.url, mux_body("video.asset.created", "A1", "e1"))
        page.wait_for_selector('#events tbody tr[data-id="1"]')
        post_signed(listener.url, mux_body("video.asset.ready", "A1", "e2"))
        page.wait_for_selector('#events tbody tr[data-id="2"]')
        assert rows(page) == ["video.asset.ready", "video.asset.created"]
        assert "valid" in page.inner_text('#events tbody tr[data-id="2"]')
        assert page.errors == []


@pytest.fixture
def mixed_log(tmp_path: Path) -> Path:
    """Mux and FastPix events, one with a forged signature, one forward failed."""
    db = tmp_path / "mixed.db"
    app = "http://127.0.0.1:9/hooks"
    with EventLog(db) as log:
        record(log, mux_body("video.asset.created", "A1", "e1"), secret=SECRET)
        record(
            log,
            mux_body("video.asset.ready", "A1", "e2"),
            secret=SECRET,
            attempt=attempt(app, 500, b'{"error":"boom"}'),
        )
        fastpix = (FIXTURES / "fastpix" / "video.media.ready.json").read_bytes()
        record(log, fastpix, provider="fastpix")
        record(
            log,
            mux_body("video.live_stream.active", "L1", "e3"),
            headers={"Mux-Signature": "t=1,v1=00"},
            verdict="invalid",
        )
    return db


def test_filters_live_in_the_url_and_survive_a_reload(
    mixed_log: Path, tmp_path: Path, open_page: Any
) -> None:
    with inspecting(tmp_path, "--db", str(mixed_log)) as (url, _, _):
        page = open_page(url)
        assert len(rows(page)) == 4
        page.select_option("select[name=provider]", "fastpix")
        page.click("#filters button[type=submit]")
        count(page, "#events tbody tr", 1)
        assert rows(page) == ["video.media.ready"]
        assert "provider=fastpix" in page.url
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert rows(page) == ["video.media.ready"]
        assert page.input_value("select[name=provider]") == "fastpix"
        page.click("#clear")
        count(page, "#events tbody tr", 4)
        for name, value, expected in (
            ("verdict", "invalid", ["video.live_stream.active"]),
            ("status", "failed", ["video.asset.ready"]),
            ("type", "video.asset.*", ["video.asset.ready", "video.asset.created"]),
            ("q", "live_stream.active-e3", ["video.live_stream.active"]),
            ("object", "A1", ["video.asset.ready", "video.asset.created"]),
        ):
            page.click("#clear")
            count(page, "#events tbody tr", 4)
            if name in ("verdict", "status"):
                page.select_option(f"select[name={name}]", value)
            else:
                page.fill(f"input[name={name}]", value)
            page.click("#filters button[type=submit]")
            count(page, "#events tbody tr", len(expected))
            assert rows(page) == expected, name
            assert f"{name}=" in page.url
        assert page.errors == []


def test_detail_shows_the_diagnosis_headers_body_and_attempts(
    mixed_log: Path, tmp_path: Path, open_page: Any
) -> None:
    jpeg_log = tmp_path / "jpeg.db"
    with EventLog(jpeg_log) as log:
        jpeg = (FIXTURES / "millicast" / "thumbnail.jpg").read_bytes()
        record(log, jpeg, provider="millicast", headers={"Content-Type": "image/jpeg"})
    with inspecting(tmp_path, "--db", str(mixed_log)) as (url, _, _):
        page = open_page(url)
        page.click('#events tbody tr[data-id="4"]')
        page.wait_for_selector("#panel h2")
        panel = page.inner_text("#panel")
        assert "invalid" in panel and "Mux-Signature" in panel and "t=1,v1=00" in panel
        page.click('#events tbody tr[data-id="2"]')
        page.wait_for_selector("#panel .tree")
        assert '"passthrough"' in page.inner_text("#panel .tree")
        attempts = page.inner_text("#panel table.attempts")
        assert "http://127.0.0.1:9/hooks" in attempts and "500" in attempts
        assert '{"error":"boom"}' in attempts
        page.click("#panel button[data-view=Raw]")
        assert page.inner_text("#panel pre.raw").startswith('{"type":"video.asset.ready"')
        page.click("#panel button[data-view=Hex]")
        assert page.inner_text("#panel pre.raw").startswith("00000000  7b 22 74 79 70 65")
    with inspecting(tmp_path, "--db", str(jpeg_log)) as (url, _, _):
        page = open_page(url.replace("/?", "/?event=1&"))
        page.wait_for_selector("#panel pre.raw")  # no JSON: the hex view is the first
        assert page.inner_text("#panel pre.raw").startswith("00000000  ff d8 ff")
        assert page.errors == []


def test_replay_redelivers_to_the_app(tmp_path: Path, app: RecordingApp, open_page: Any) -> None:
    with listen_locally(
        tmp_path, tmp_path / "e.db", "-f", app.url, "--inspect-port", "0", env=ENV
    ) as listener:
        body = mux_body("video.asset.ready", "A1", "e1")
        assert post_signed(listener.url, body).status_code == 200
        page = open_page(printed_inspector(listener).replace("/?", "/?event=1&"))
        page.wait_for_selector("#panel button[name=replay]")
        assert page.input_value("#panel input[name=url]") == app.url  # the event's own target
        page.click("#panel button[name=replay]")
        page.wait_for_selector("#outcome .ok")
        outcome = page.inner_text("#outcome")
        assert f"{app.url} answered 200" in outcome and "freshly signed" in outcome
        assert len(app.requests) == 2  # a second copy
        assert app.requests[1].body == body
        signing.verify(body, app.requests[1].headers, secret=SECRET)
        count(page, "#panel table.attempts tbody tr", 2)  # the new attempt shows


def test_edit_and_replay_is_resigned_and_accepted_by_the_official_sdk(
    tmp_path: Path, open_page: Any
) -> None:
    with sdk_receiver(SECRET) as receiver, listen_locally(
        tmp_path, tmp_path / "e.db", "-f", receiver, "--inspect-port", "0", env=ENV
    ) as listener:  # fmt: skip
        assert (
            post_signed(listener.url, mux_body("video.asset.ready", "A1", "e1")).status_code == 200
        )
        page = open_page(printed_inspector(listener).replace("/?", "/?event=1&"))
        page.click("#panel button[name=edit]")
        edited = json.loads(page.input_value("#panel textarea[name=edited]"))
        edited["type"], edited["id"] = "video.asset.errored", "evt-edited-1"
        page.fill("#panel textarea[name=edited]", json.dumps(edited, indent=2))
        changes = page.inner_text("#panel .changes")
        assert '"video.asset.ready" → "video.asset.errored"' in changes
        assert '"e1" → "evt-edited-1"' in changes
        page.click("#panel button[name=send-edited]")
        page.wait_for_selector("#outcome .ok")
        outcome = page.inner_text("#outcome")
    # receiver.mjs answers 200 with the type and id the SDK's unwrap accepted.
    assert 'answered 200: {"type":"video.asset.errored","id":"evt-edited-1"}' in outcome
    assert "freshly signed" in outcome


@pytest.fixture
def timeline_log(tmp_path: Path) -> Path:
    db = tmp_path / "timeline.db"
    app = "http://127.0.0.1:9/hooks"
    with EventLog(db) as log:
        ready = mux_body("video.asset.ready", "A1", "e-ready", "2026-01-01T00:00:10Z")
        record(log, ready, attempt=attempt(app))
        record(
            log,
            mux_body("video.asset.created", "A1", "e-created", "2026-01-01T00:00:05Z"),
            attempt=attempt(app),
        )
        record(log, ready, attempt=attempt(app))
        record(
            log,
            mux_body("video.asset.updated", "A1", "e-updated", "2026-01-01T00:00:20Z"),
            attempt=attempt(app, None),
        )
        record(log, mux_body("video.asset.ready", "B2", "e-other"))
    return db


def test_the_timeline_shows_the_order_and_flags(
    timeline_log: Path, tmp_path: Path, open_page: Any
) -> None:
    with inspecting(tmp_path, "--db", str(timeline_log)) as (url, _, _):
        page = open_page(url.replace("/?", "/?event=2&"))
        page.click("#panel .meta a")  # the object id: its timeline
        page.wait_for_selector("#panel ol.timeline")
        items = page.locator("#panel ol.timeline > li").all_inner_texts()
        assert "timeline=1" in page.url
        states = page.inner_text("#panel .states")
    assert [next(t for t in item.split() if t.startswith("video.")) for item in items] == [
        "video.asset.ready",
        "video.asset.created",
        "video.asset.ready",
        "video.asset.updated",
    ]
    assert "ready without created: no video.asset.created was received before it" in items[0]
    assert "out of order: it happened before #1, which arrived earlier" in items[1]
    assert "duplicate of #1 (same event id)" in items[2]
    assert "forward failed: connection refused" in items[3]
    assert states == "ready → created → updated"


HOSTILE = "<img src=x onerror=\"window.__pwned='{where}'\">"


def test_hostile_payloads_stay_inert(tmp_path: Path, open_page: Any) -> None:
    document = {
        "type": HOSTILE.format(where="type") + "<script>window.__pwned='script'</script>",
        "id": HOSTILE.format(where="id"),
        "object": {"type": "asset", "id": HOSTILE.format(where="object")},
        "data": {"html": HOSTILE.format(where="body"), "link": "javascript:window.__pwned=1"},
    }
    body = json.dumps(document).encode()
    with listen_locally(tmp_path, tmp_path / "e.db", "--inspect-port", "0", env=ENV) as listener:
        sent = post_signed(listener.url, body, **{"X-Evil": HOSTILE.format(where="header")})
        assert sent.status_code == 200
        target = listener.url.split("://", 1)[1].split("/", 1)[0]
        with socket.create_connection(tuple(target.rsplit(":", 1))) as raw:  # type: ignore[arg-type]
            path = "/webhooks/<svg/onload=window.__pwned='path'>"
            raw.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {target}\r\nContent-Length: 2\r\n"
                "Connection: close\r\n\r\n{}".encode()
            )
            raw.recv(4096)
        page = open_page(printed_inspector(listener))
        count(page, "#events tbody tr", 2)
        listed = page.inner_text("#events")
        for number in (2, 1):  # 1 last: its timeline filters the list to its object
            page.click(f'#events tbody tr[data-id="{number}"]')
            page.wait_for_selector(f"#panel h2:has-text('#{number}')")
            if number == 1:
                page.click("#panel button[data-view=Raw]")
                raw_text = page.inner_text("#panel pre.raw")
                headers = page.inner_text("#panel table.headers")
                page.click("#panel button[data-view=Pretty]")
                page.click("#panel .meta a")  # the hostile object's timeline
                page.wait_for_selector("#panel ol.timeline")
            else:
                path_text = page.inner_text("#panel .meta")
        time.sleep(0.3)  # anything that would run has had its chance
        pwned = page.evaluate("window.__pwned")
        injected = page.evaluate(
            "document.querySelectorAll('img, svg, iframe, #panel script, #events script').length"
        )
    assert pwned is None and injected == 0
    assert HOSTILE.format(where="type") in listed  # shown as the text it is
    assert "window.__pwned='object'" in listed
    assert HOSTILE.format(where="body").replace('"', '\\"') in raw_text
    assert HOSTILE.format(where="header") in headers
    assert "<svg/onload=window.__pwned='path'>" in path_text
    assert page.errors == []


def test_a_foreign_host_is_refused(mixed_log: Path, tmp_path: Path, browser: Any) -> None:
    with inspecting(tmp_path, "--db", str(mixed_log)) as (url, _, _):
        port = base(url).rsplit(":", 1)[1]
        context = browser.new_context()
        try:
            page = context.new_page()
            # evil.example resolves to 127.0.0.1, as a rebinding attacker's name would.
            for path in ("/", "/api/events", "/api/events/1"):
                answer = page.goto(f"http://evil.example:{port}{path}")
                assert answer is not None and answer.status == 421, path
                assert "video.asset" not in page.content()
        finally:
            context.close()


def test_a_cross_site_post_fails_without_the_token(
    tmp_path: Path, app: RecordingApp, browser: Any
) -> None:
    db = tmp_path / "e.db"
    with EventLog(db) as log:
        record(log, mux_body("video.asset.ready", "A1", "e1"), secret=SECRET)
    with inspecting(tmp_path, "--db", str(db), env=ENV) as (url, _, _):
        replay = f"{base(url)}/api/events/1/replay"
        attack = f"""<!doctype html><html><body>
<form id=f method=POST action="{replay}" enctype="text/plain">
<input name='{{"url":"{app.url}","x":"' value='"}}'></form>
<script>
  window.results = [];
  fetch("{replay}", {{method: "POST", mode: "no-cors", headers: {{"content-type": "text/plain"}},
    body: JSON.stringify({{url: "{app.url}"}})}}).then(() => results.push("no-cors sent"));
  fetch("{replay}", {{method: "POST", headers: {{"content-type": "application/json",
    "x-muxhook-token": "a-guess"}}, body: JSON.stringify({{url: "{app.url}"}})}})
    .then(r => results.push("read " + r.status), e => results.push("blocked"));
</script></body></html>"""
        context = browser.new_context()
        try:
            page = context.new_page()
            page.route(
                "http://attacker.example/**",
                lambda route: route.fulfill(body=attack, content_type="text/html"),
            )
            page.goto("http://attacker.example/")
            deadline = time.monotonic() + 15
            results: list[str] = []
            while len(results) < 2 and time.monotonic() < deadline:
                results = page.evaluate("window.results")
                time.sleep(0.05)
            with page.expect_navigation():
                page.evaluate("document.getElementById('f').submit()")
            form_answer = page.content()
        finally:
            context.close()
    assert "blocked" in results  # the preflight fails: no CORS for other origins
    assert "needs the token" in form_answer, form_answer
    assert app.requests == []  # nothing was sent
    with EventLog(db, read_only=True) as log:
        row = log.get(1)
    assert row is not None and row.attempts == []


def test_inspect_serves_a_log_with_no_listener(
    mixed_log: Path, tmp_path: Path, open_page: Any
) -> None:
    with inspecting(tmp_path, "--db", str(mixed_log)) as (url, _, _):
        page = open_page(url)
        assert page.inner_text("#mode").startswith("inspect · ")
        assert rows(page) == [
            "video.live_stream.active",
            "video.media.ready",
            "video.asset.ready",
            "video.asset.created",
        ]
        page.click('#events tbody tr[data-id="3"]')
        page.wait_for_selector("#panel h2:has-text('#3')")
        assert "FastPix" in page.inner_text("#panel .meta")
        assert page.is_hidden("#token-note")


def test_without_the_token_the_page_reads_but_cannot_act(
    mixed_log: Path, tmp_path: Path, open_page: Any
) -> None:
    with inspecting(tmp_path, "--db", str(mixed_log)) as (url, _, _):
        page = open_page(f"{base(url)}/?event=1")
        page.wait_for_selector("#panel button[name=replay]")
        assert page.is_visible("#token-note")
        assert page.is_disabled("#panel button[name=replay]")
        assert page.is_disabled("#panel button[name=edit]")


def test_compare_shows_two_events_bodies_path_by_path(
    mixed_log: Path, tmp_path: Path, open_page: Any
) -> None:
    with inspecting(tmp_path, "--db", str(mixed_log)) as (url, _, _):
        page = open_page(url.replace("/?", "/?event=1&"))
        page.fill("#panel input[name=compare]", "2")
        page.click("#panel button[name=compare-go]")
        page.wait_for_selector("#panel ul.diff")
        assert "compare=1%2C2" in page.url or "compare=1,2" in page.url
        changes = page.locator("#panel ul.diff li").all_inner_texts()
    assert 'type "video.asset.created" → "video.asset.ready"' in changes
    assert 'id "e1" → "e2"' in changes
    assert len(changes) == 3  # type, id and data.passthrough
