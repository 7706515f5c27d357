"""Take the README's screenshot of the inspector (docs/inspector.png) with Debian's Chromium.

    python scripts/inspector_screenshot.py [--out docs/inspector.png]

Builds a small event log from the bundled fixtures (an asset's life with a few oddities,
a FastPix media, a Millicast recording, a Cloudflare Stream video, a forged signature),
serves it with ``muxhook inspect`` and photographs the page with an asset's event open.
Needs ``chromium`` on PATH (``apt-get install -y chromium``) and Playwright for Python
(the test extra); no browser is downloaded.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from muxhook import providers, signing
from muxhook.records import Attempt, Incoming
from muxhook.store import EventLog

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SECRET = "ZGVtby1zZWNyZXQtZm9yLXRoZS1zY3JlZW5zaG90"  # noqa: S105  (made up, base64)
FORGER = "YW5vdGhlci1zZWNyZXQ="  # another made-up secret: a forged signature
APP = "http://localhost:3000/webhooks/mux"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def record(
    log: EventLog,
    provider: str,
    body: bytes,
    at: float,
    *,
    status: int | None = 200,
    forged: bool = False,
) -> None:
    """One event as listen would have recorded it, with one forward attempt."""
    platform = providers.get(provider)
    headers = signing.sign(body, secret=SECRET, provider=provider, timestamp=int(at))
    if forged:
        headers = signing.sign(body, secret=FORGER, provider=provider, timestamp=int(at))
    described = platform.describe(body, headers)
    row = log.record(
        Incoming(at, "POST", f"/webhooks/{provider}", [*headers.items()], body, "127.0.0.1:52144"),
        provider=provider,
        event_type=described.event_type,
        event_key=described.event_id,
        object_id=described.object_id,
        verdict="invalid" if forged else "valid",
        reason=f"{platform.HEADER} does not match the body and secret" if forged else None,
        duplicate=bool(described.event_id and log.seen(provider, described.event_id)),
        forwarding=not forged,
    )
    if not forged:
        answer = b'{"received":true}' if status == 200 else b'{"error":"asset not found"}'
        log.add_attempt(row, Attempt(at + 0.01, APP, status, 4.2 + row % 5, answer, None))


def fixture(provider: str, name: str, at: float | None = None, **changes: object) -> bytes:
    """A bundled fixture with some fields changed; a Mux one says it happened at ``at``."""
    document = json.loads((FIXTURES / provider / name).read_bytes())
    if at is not None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
        changes = {"created_at": f"{stamp}.000000Z", **changes}
    document.update(changes)
    return json.dumps(document, separators=(",", ":")).encode()


def build_log(path: Path) -> None:
    """The demo log: an asset's life with its oddities (ready before created, a duplicate,
    a failed forward), and one event of each other platform."""
    start = time.time() - 600
    asset = {"type": "asset", "id": "a1B2c3D4e5F6g7H8i9J0kLmN"}
    ready = fixture("mux", "video.asset.ready.json", start + 25, object=asset, id="evt-ready-1")
    created = fixture("mux", "video.asset.created.json", start + 19, object=asset)
    updated = fixture("mux", "video.asset.updated.json", start + 89, object=asset)
    deleted = fixture("mux", "video.asset.deleted.json", start + 499, object=asset)
    with EventLog(path) as log:
        record(log, "mux", fixture("mux", "video.upload.created.json", start - 1), start)
        record(log, "mux", ready, start + 26)  # arrived before the created event
        record(log, "mux", created, start + 27)
        record(log, "mux", ready, start + 80)  # the platform sent it again
        record(log, "mux", updated, start + 90, status=500)
        record(log, "fastpix", fixture("fastpix", "video.media.ready.json"), start + 200)
        record(log, "millicast", fixture("millicast", "media.completed.json"), start + 260)
        record(log, "cloudflare", fixture("cloudflare", "video.ready.json"), start + 300)
        live = fixture("mux", "video.live_stream.active.json", start + 399)
        record(log, "mux", live, start + 400, forged=True)
        record(log, "mux", deleted, start + 500)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "inspector.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium on PATH: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "events.db"
        build_log(db)
        env = {"HOME": scratch, "PATH": "/usr/bin:/bin", "MUX_WEBHOOK_SECRET": SECRET}
        server = subprocess.Popen(
            [sys.executable, "-m", "muxhook", "inspect", "--db", str(db), "--port", "0"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert server.stderr is not None
            url = ""
            deadline = time.monotonic() + 30
            while not url and time.monotonic() < deadline:
                found = re.search(r"inspector: (http://\S+)", server.stderr.readline())
                url = found.group(1) if found else ""
            if not url:
                raise SystemExit("muxhook inspect did not start")
            with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
                browser = playwright.chromium.launch_persistent_context(
                    profile,
                    executable_path=chromium,
                    headless=True,
                    args=BROWSER_ARGS,
                    viewport={"width": 1400, "height": 820},
                )
                page = browser.new_page()
                page.goto(
                    url.replace("/?", "/?object=a1B2c3D4e5F6g7H8i9J0kLmN&provider=mux&timeline=1&")
                )
                page.wait_for_selector("body[data-ready=true]")
                page.wait_for_selector("#panel h2")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
