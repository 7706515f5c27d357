"""The inspector as one of ``listen``'s subscribers: it wakes open pages.

The pipeline tells subscribers after the answer has gone out, and ``notify`` only wakes
open pages, so none of this is on the path from receipt to answer.
"""

from __future__ import annotations

import typing

from muxhook.subscribers import Subscriber

if typing.TYPE_CHECKING:
    from muxhook.inspector.server import InspectorServer
    from muxhook.pipeline import Delivered, Received
    from muxhook.records import Incoming

__all__ = ["InspectorSubscriber"]


class InspectorSubscriber(Subscriber):
    """Tells the inspector which event was recorded, forwarded or refused."""

    def __init__(self, inspector: InspectorServer) -> None:
        self.inspector = inspector

    def received(self, event: Received) -> None:
        """An event was recorded."""
        self.inspector.notify(event.row)

    def delivered(self, event: Delivered) -> None:
        """A forward attempt was made (its row joins the next commit)."""
        self.inspector.notify(event.received.row)

    def rejected(self, row: int, incoming: Incoming, status: int, reason: str) -> None:
        """A request refused before the flow was recorded."""
        self.inspector.notify(row)
