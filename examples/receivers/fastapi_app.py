"""A FastAPI receiver for Mux webhooks.

Run it:   MUX_WEBHOOK_SECRET=… uvicorn examples.receivers.fastapi_app:app --port 3000
Try it:   muxhook trigger video.asset.ready --to http://localhost:3000/webhooks/mux
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

import muxhook

app = FastAPI()
handled: list[str] = []  # the event types handled, newest last


def webhook_secret() -> str:
    """The endpoint's signing secret; tests override this dependency."""
    return os.environ["MUX_WEBHOOK_SECRET"]


@app.post("/webhooks/mux")
async def mux_webhook(
    request: Request, secret: Annotated[str, Depends(webhook_secret)]
) -> dict[str, str]:
    body = await request.body()  # the raw bytes: a re-serialised body would not verify
    try:
        muxhook.verify(body, request.headers, secret=secret)
    except muxhook.SignatureError:
        raise HTTPException(status_code=400, detail="invalid signature") from None
    event = muxhook.parse_event(body, request.headers)
    handled.append(event.type)
    return {"received": event.type}
