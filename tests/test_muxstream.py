"""``muxhook.muxstream`` against the stub API: back-off, repeats, the bytes, refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from muxhook.errors import UsageError
from muxhook.muxapi import Credentials, Whoami
from muxhook.muxstream import EventStream, StreamEvent
from tests.mux_api_stub import STREAM, TOKEN_ID, TOKEN_SECRET, MuxApiStub, serve

CREDENTIALS = Credentials(TOKEN_ID, TOKEN_SECRET, "test")


@pytest.fixture
def stub() -> Iterator[MuxApiStub]:
    with serve(MuxApiStub(heartbeat=0.1)) as running:
        yield running


class Heard:
    """A watcher that keeps what it hears."""

    def __init__(self) -> None:
        self.news: list[tuple[str, object]] = []

    def opened(self, *, first: bool, gap: float | None) -> None:
        self.news.append(("opened", first))

    def dropped(self, reason: str, retry_in: float) -> None:
        self.news.append(("dropped", retry_in))

    def retrying(self, reason: str, retry_in: float) -> None:
        self.news.append(("retrying", retry_in))


async def run_until(
    stream: EventStream, done: asyncio.Event, events: list[StreamEvent], heard: Heard
) -> None:
    task = asyncio.create_task(stream.run(events.append, heard))
    waiter = asyncio.create_task(done.wait())
    finished, _ = await asyncio.wait({task, waiter}, timeout=20, return_when="FIRST_COMPLETED")
    task.cancel()
    waiter.cancel()
    await asyncio.wait({task, waiter})
    assert finished, "bounded: nothing happened within 20 s"
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def test_the_back_off_doubles_and_connected_resets_it(stub: MuxApiStub) -> None:
    stub.fail(STREAM, 500, times=3)
    events: list[StreamEvent] = []
    heard = Heard()

    async def main() -> None:
        stream = EventStream(CREDENTIALS, stub.url, initial_backoff=0.05, max_backoff=0.15)
        done = asyncio.Event()

        async def script() -> None:
            while stub.streams_opened < 1:
                await asyncio.sleep(0.01)
            stub.publish(b'{"id":"a","type":"video.asset.ready"}')
            while len(events) < 1:
                await asyncio.sleep(0.01)
            stub.drop()
            while stub.streams_opened < 2:
                await asyncio.sleep(0.01)
            done.set()

        driver = asyncio.create_task(script())
        await run_until(stream, done, events, heard)
        await driver

    asyncio.run(main())
    assert heard.news == [
        ("retrying", 0.05),
        ("retrying", 0.1),
        ("retrying", 0.15),  # capped
        ("opened", True),
        ("dropped", 0.05),  # `connected` came: back to the first wait
        ("opened", False),
    ]
    assert [e.event_id for e in events] == ["a"]


def test_bytes_are_kept_and_repeats_are_marked(stub: MuxApiStub) -> None:
    pretty = '{\n  "id": "x",\n  "type": "video.asset.ready",\n  "n": 1.50, "t": "é"\n}'
    events: list[StreamEvent] = []

    async def main() -> None:
        stream = EventStream(CREDENTIALS, stub.url)
        done = asyncio.Event()

        async def script() -> None:
            while stub.streams_opened < 1:
                await asyncio.sleep(0.01)
            stub.publish(pretty.encode())
            stub.publish(pretty.encode())
            stub.publish_raw("event: ping\ndata:\n\n")  # no data: a keep-alive
            stub.publish_raw("data: [1, 2]\n\n")
            while len(events) < 3:
                await asyncio.sleep(0.01)
            done.set()

        driver = asyncio.create_task(script())
        await run_until(stream, done, events, Heard())
        await driver

    asyncio.run(main())
    assert [e.body for e in events[:2]] == [pretty.encode()] * 2
    assert [e.repeat for e in events] == [False, True, False]
    assert events[2].problem == "the stream sent data that is not a JSON webhook event"
    assert json.loads(events[0].body)["n"] == 1.5


@pytest.mark.parametrize(
    ("permissions", "message"),
    [
        (
            ("video:read",),
            "the Mux API token 't' may not read the webhook event stream (403): it lacks "
            "system:read (it has: video:read); give a token System read access in Dashboard › "
            "Settings › Access Tokens",
        ),
        (
            ("system:read",),
            "Mux refused to read the webhook event stream (404) although the token has "
            "system:read: Mux says 'stub failure 404'",
        ),
    ],
)
def test_a_refused_stream_is_one_line(
    stub: MuxApiStub, permissions: tuple[str, ...], message: str
) -> None:
    stub.permissions = permissions
    if "system:read" in permissions:
        stub.fail(STREAM, 404, times=1)  # what Mux answers a route it will not show
    whoami = Whoami("t", "e", "E", "development", "o", permissions)

    async def main() -> None:
        stream = EventStream(CREDENTIALS, stub.url, whoami=whoami)
        await run_until(stream, asyncio.Event(), [], Heard())

    with pytest.raises(UsageError) as caught:
        asyncio.run(main())
    assert str(caught.value) == message
