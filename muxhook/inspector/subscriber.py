"""How ``listen``'s pipeline tells the inspector: its reporter, with the inspector beside it.

The pipeline reports to one ``Reporter`` today; this class is that reporter, passing
every report to the terminal view and telling the inspector which event was recorded
or forwarded. Reports arrive after the answer has gone out (``Pipeline._show``), and
``notify`` only wakes open pages, so none of this is on the path from receipt to answer.
When the pipeline publishes to a list of subscribers (issue #11), ``received`` and
``delivered`` below become the inspector's subscriber and the view goes back to being
one on its own.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from muxhook.inspector.server import InspectorServer
    from muxhook.pipeline import Delivered, Received, Reporter
    from muxhook.store import Incoming

__all__ = ["InspectorReporter"]


class InspectorReporter:
    """A ``Reporter`` that passes everything to ``view`` and wakes the inspector's pages."""

    def __init__(self, view: Reporter, inspector: InspectorServer) -> None:
        self.view = view
        self.inspector = inspector

    def received(self, event: Received) -> None:
        """An event was recorded."""
        self.view.received(event)
        self.inspector.notify(event.row)

    def delivered(self, event: Delivered) -> None:
        """A forward attempt was made (its row joins the next commit)."""
        self.view.delivered(event)
        self.inspector.notify(event.received.row)

    def slow(self, event: Delivered, limit: float, provider: str) -> None:
        """Passed to the view."""
        self.view.slow(event, limit, provider)

    def rejected(self, incoming: Incoming, status: int, reason: str) -> None:
        """A request refused before the flow was recorded."""
        self.view.rejected(incoming, status, reason)
        self.inspector.notify()

    def unrecorded(self, incoming: Incoming, reason: str) -> None:
        """Passed to the view."""
        self.view.unrecorded(incoming, reason)

    def log_failed(self, error: Exception) -> None:
        """Passed to the view."""
        self.view.log_failed(error)

    def draining(self, forwards: int, seconds: float) -> None:
        """Passed to the view."""
        self.view.draining(forwards, seconds)

    def log_replaced(self, notice: str) -> None:
        """Passed to the view."""
        self.view.log_replaced(notice)
