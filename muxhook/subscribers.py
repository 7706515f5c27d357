"""What the pipeline tells, and who hears it.

``Pipeline`` tells every ``Subscriber`` it is given what happens to each request: the
terminal's lines (``render.TerminalView``), ``--json`` lines (``render.JsonLines``),
``--save`` copies (``pipeline.FixtureSaver``), the web inspector. A subscriber
overrides only what it cares about. Standard library only: the rendering module
subclasses it, and ``sign`` must start fast.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from muxhook.pipeline import Delivered, Received
    from muxhook.records import Incoming

__all__ = ["Subscriber"]


class Subscriber:
    """Hears what the pipeline does: the terminal, JSON lines, ``--save``, the inspector.

    Each method does nothing here; a subscriber overrides what it cares about. The
    pipeline tells every subscriber in turn, and tells of an event only once the
    platform's answer has gone out: no subscriber is on the sender's clock.
    """

    def received(self, event: Received) -> None:
        """An event was recorded and verified (``will_forward``: an attempt follows)."""

    def delivered(self, event: Delivered) -> None:
        """A forward attempt ended (``final``: no retry follows)."""

    def slow(self, event: Delivered, limit: float, provider: str) -> None:
        """An attempt took longer than the platform would have waited (``limit`` s)."""

    def rejected(self, row: int, incoming: Incoming, status: int, reason: str) -> None:
        """A request refused before the flow (over the limit, wrong method) was recorded."""

    def unrecorded(self, incoming: Incoming, reason: str) -> None:
        """A request could not be recorded, so it was refused (503): nothing else happened."""

    def log_failed(self, error: Exception) -> None:
        """A write that nothing waits for (a verdict, an attempt, a copy) failed."""

    def log_replaced(self, notice: str) -> None:
        """The log's file was deleted, moved or replaced, and is open at its path again."""

    def draining(self, forwards: int, seconds: float) -> None:
        """listen is stopping, and waits up to ``seconds`` for ``forwards`` forwards."""
