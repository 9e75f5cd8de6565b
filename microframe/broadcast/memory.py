"""The ``memory://`` broadcast backend: one process, no dependency.

For development and tests. Messages go straight from :meth:`publish` to this
process's subscribers, so with several workers or machines each process
broadcasts only to its own; use ``redis://`` there.
"""

from __future__ import annotations

from .local import Backend


class MemoryBackend(Backend):
    """Delivers each message to the subscribers of this process only."""

    async def publish(self, channel: str, message: str) -> None:
        """Queue ``message`` for this process's subscribers to ``channel``."""
        self.hub.deliver(channel, message)


__all__ = ["MemoryBackend"]
