"""The matrix's ASGI app, served by uvicorn (httptools and h11) and hypercorn.

Set ``CONFORMANCE_SERVER`` to the server's name. ASGI gives an app no socket and, over
HTTP/1.1, no way to send a 1xx: those kinds are not served here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tests.conformance.kinds import (
    LYING_BODY,
    LYING_LENGTH,
    SLOW,
    TIMEOUT_SLEEP,
    answer_body,
    halves,
    kind_of,
    record,
)

SERVER = os.environ.get("CONFORMANCE_SERVER", "asgi")
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def app(scope: Message, receive: Receive, send: Send) -> None:
    """Read the whole body, record it, answer as the path's kind says."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    headers = {name.decode("latin-1").lower(): v.decode() for name, v in scope["headers"]}
    path = scope["path"]
    record(SERVER, path, body, headers.get("expect"), headers.get("mux-signature"))
    kind = kind_of(path)
    answer = answer_body(SERVER, kind)
    json_type = (b"content-type", b"application/json")
    if kind == "chunked":
        await send({"type": "http.response.start", "status": 200, "headers": [json_type]})
        first, second = halves(answer)
        await send({"type": "http.response.body", "body": first, "more_body": True})
        await send({"type": "http.response.body", "body": second})
        return
    if kind == "nocontent":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if kind == "lying":
        lying = [json_type, (b"content-length", str(LYING_LENGTH).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": lying})
        await send({"type": "http.response.body", "body": LYING_BODY})
        return
    if kind == "slow":
        await asyncio.sleep(SLOW)
    elif kind == "timeout":
        await asyncio.sleep(TIMEOUT_SLEEP)
    status = 500 if kind == "error" else 200
    length = (b"content-length", str(len(answer)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [json_type, length]})
    await send({"type": "http.response.body", "body": answer})
