"""A Flask receiver for Mux webhooks.

Run it:   MUX_WEBHOOK_SECRET=… flask --app examples.receivers.flask_app run --port 3000
Try it:   muxhook trigger video.asset.ready --to http://localhost:3000/webhooks/mux
"""

from __future__ import annotations

import os

from flask import Flask, abort, request

import muxhook

app = Flask(__name__)
app.config["MUX_WEBHOOK_SECRET"] = os.environ.get("MUX_WEBHOOK_SECRET", "")
handled: list[str] = []  # the event types handled, newest last


@app.post("/webhooks/mux")
def mux_webhook() -> dict[str, str]:
    body = request.get_data()  # the raw bytes: a re-serialised body would not verify
    headers = dict(request.headers)
    try:
        muxhook.verify(body, headers, secret=app.config["MUX_WEBHOOK_SECRET"])
    except muxhook.SignatureError:
        abort(400, "invalid signature")
    event = muxhook.parse_event(body, headers)
    handled.append(event.type)
    return {"received": event.type}
