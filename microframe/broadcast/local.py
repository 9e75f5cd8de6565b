"""What every broadcast backend shares: this process's subscribers, each with
a bounded queue, and the fan-out of a channel's messages to them.

A backend (:mod:`.memory`, :mod:`.redis`) decides where messages travel
between publishers and processes; once a message reaches a process it is
handed to :meth:`Hub.deliver`, which never waits: each subscriber's queue
takes it, or, when full, marks that subscriber as having fallen behind.
So one slow subscriber can neither hold up the others nor grow memory.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from logging import Logger
from typing import Self


class BroadcastError(Exception):
    """Base class of the broadcast's errors."""


class BroadcastUnavailableError(BroadcastError):
    """The backend (Redis) cannot be reached, so the message was not published.

    Raised by :meth:`~microframe.broadcast.Broadcast.publish` after its
    retries, and by startup when Redis cannot be reached at all.
    """


class SubscriberOverflowError(BroadcastError):
    """A subscriber fell more than its queue size behind and was dropped.

    Raised by the subscriber's iteration once the messages queued before the
    overflow have been read; the messages after them are lost to it. End what
    depended on it (close the websocket with code 1013, "try again later", or
    end the event stream; browsers reconnect), or subscribe again.
    """


class Subscriber:
    """One subscription to a channel; iterate it for the channel's messages.

    Made by :meth:`~microframe.broadcast.Broadcast.subscribe`::

        async with broadcast.subscribe("room") as subscriber:
            async for message in subscriber:
                await websocket.send(message)

    The iteration ends when the broadcast shuts down, and raises
    :class:`SubscriberOverflowError` when more than :attr:`max_queue`
    messages wait unread.
    """

    __slots__ = ("_closed", "_messages", "_overflowed", "_waiter", "channel", "max_queue")

    def __init__(self, channel: str, max_queue: int) -> None:
        #: The channel subscribed to.
        self.channel = channel
        #: How many unread messages may wait before the subscriber is dropped.
        self.max_queue = max_queue
        self._messages: deque[str] = deque()
        # The future the reader waits on while the queue is empty. A bare
        # future rather than an asyncio.Event: a fan-out wakes thousands of
        # subscribers per message, and the Event's waiter list costs more.
        self._waiter: asyncio.Future[None] | None = None
        self._overflowed = False
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        while not self._messages:
            if self._overflowed:
                raise SubscriberOverflowError(
                    f"The subscriber to {self.channel!r} fell more than {self.max_queue} messages"
                    " behind and was dropped (BROADCAST_QUEUE_SIZE); subscribe again to resume."
                )
            if self._closed:
                raise StopAsyncIteration
            # Cancelling this wait loses nothing: a message is only taken
            # off the queue below, after the wait.
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._messages.popleft()

    @property
    def pending(self) -> int:
        """How many messages wait to be read."""
        return len(self._messages)

    def deliver(self, message: str) -> None:
        """Queue ``message``; never waits (called by the backend)."""
        if self._overflowed or self._closed:
            return
        if len(self._messages) >= self.max_queue:
            self._overflowed = True
        else:
            self._messages.append(message)
        self._wake()

    def close(self) -> None:
        """End the iteration once the queued messages are read."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Hub:
    """This process's subscribers, by channel."""

    def __init__(self) -> None:
        self._channels: dict[str, set[Subscriber]] = {}

    def add(self, subscriber: Subscriber) -> bool:
        """Add ``subscriber``; return whether it is its channel's first."""
        members = self._channels.setdefault(subscriber.channel, set())
        members.add(subscriber)
        return len(members) == 1

    def remove(self, subscriber: Subscriber) -> bool:
        """Remove ``subscriber``; return whether its channel has none left."""
        members = self._channels.get(subscriber.channel)
        if members is None or subscriber not in members:
            return False
        members.discard(subscriber)
        if members:
            return False
        del self._channels[subscriber.channel]
        return True

    def deliver(self, channel: str, message: str) -> None:
        """Queue ``message`` for each subscriber to ``channel``."""
        for subscriber in self._channels.get(channel, ()):
            subscriber.deliver(message)

    def channels(self) -> list[str]:
        """The channels with at least one subscriber."""
        return list(self._channels)

    def count(self, channel: str) -> int:
        """How many subscribers ``channel`` has."""
        return len(self._channels.get(channel, ()))

    def close_all(self) -> None:
        """End every subscriber's iteration (at shutdown)."""
        for members in self._channels.values():
            for subscriber in members:
                subscriber.close()


class Backend(ABC):
    """Carries messages from publishers to subscribers; subclasses say how.

    :param url: the ``BROADCAST_URL`` the backend was made for.
    :param logger: where the backend reports trouble (the app's logger).
    """

    def __init__(self, url: str, logger: Logger) -> None:
        self.url = url
        self.logger = logger
        #: This process's subscribers.
        self.hub = Hub()

    async def connect(self) -> None:
        """Get ready to publish and deliver (at startup); nothing by default."""
        return None

    async def close(self) -> None:
        """Stop; every subscriber's iteration ends (at shutdown)."""
        self.hub.close_all()

    @abstractmethod
    async def publish(self, channel: str, message: str) -> None:
        """Send ``message`` to every subscriber to ``channel``, in every process."""

    async def join(self, subscriber: Subscriber) -> None:
        """Add ``subscriber``; return once messages published from now on reach it."""
        self.hub.add(subscriber)

    def leave(self, subscriber: Subscriber) -> None:
        """Remove ``subscriber`` and end its iteration; never waits."""
        subscriber.close()
        self.hub.remove(subscriber)


__all__ = [
    "Backend",
    "BroadcastError",
    "BroadcastUnavailableError",
    "Hub",
    "Subscriber",
    "SubscriberOverflowError",
]
