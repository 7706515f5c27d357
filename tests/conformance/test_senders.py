"""Every sender × three answers, through one listen process to a Node app.

Each sender posts its events one after another over the connections it keeps alive
(raw-pipelined writes them all at once). Each event checks the status and body the
sender saw, the bytes the app read (once), and the verdict and outcome in the log.
"""

from __future__ import annotations

import pytest

from tests.conformance.conftest import Listens, Peers, event_type
from tests.conformance.events import logged, make_event
from tests.conformance.kinds import answer_body
from tests.conformance.senders import SENDERS

APP = "node"
#: kind → (status the sender sees, delivered)
ANSWERS = {"length": (200, True), "nocontent": (204, True), "error": (500, False)}


@pytest.mark.parametrize("sender", list(SENDERS))
def test_sender(sender: str, peers: Peers, listens: Listens) -> None:
    events = [
        make_event(event_type(APP, kind), size=size)
        for kind, size in zip(ANSWERS, (300, 5000, 70000), strict=True)
    ]

    replies = SENDERS[sender](listens.app.url, events)

    app = peers.apps[APP]
    for (kind, (status, delivered)), event, reply in zip(
        ANSWERS.items(), events, replies, strict=True
    ):
        assert reply.error is None, f"{kind}: {reply.error}"
        assert reply.status == status, f"{kind}: {reply}"
        if status == 204:
            assert reply.body == b""
            assert "content-length" not in reply.headers, kind
        else:
            assert reply.body == answer_body(APP, kind)
        records = app.received(event.sha256)
        assert len(records) == 1, f"{kind}: the app got it {len(records)} times"
        assert records[0]["expect"] is None
        row = logged(listens.app.db, event)
        assert row.body == event.body
        assert row.verdict == "valid", f"{kind}: {row.reason}"
        assert [a.status for a in row.attempts] == [status]
        assert row.status == ("ok" if delivered else "failed")
