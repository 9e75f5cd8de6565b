"""The ``redis://`` (and ``rediss://``) broadcast backend: Redis pub/sub.

Needs the ``redis`` package (``pip install 'microframe-asgi[redis]'``), whose
asyncio client does the talking. Each process holds one pub/sub connection
for all its subscriptions, read by one task that hands each message to the
process's subscribers (:class:`~.local.Hub`); publishing and the app's own
commands use the client's connection pool.

Redis pub/sub delivers a message to whoever is subscribed when it is
published, in order per channel, and keeps nothing: what is published while
a process is cut off from Redis is lost to it. When the connection drops,
the outage is logged once, publishing fails fast with
:class:`~.local.BroadcastUnavailableError`, and the reader reconnects in the
background (0.1 s, then doubling up to 2 s between attempts), subscribing
again to every channel that has subscribers; they are never told, they just
receive again.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from logging import Logger
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .local import Backend, BroadcastUnavailableError, Subscriber

#: The errors that mean "Redis cannot be reached right now".
CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)
#: Seconds to wait for a TCP connection to Redis.
CONNECT_TIMEOUT = 2.0
#: Seconds a command (a publish) may wait for Redis's answer.
COMMAND_TIMEOUT = 5.0
#: How long a publish keeps retrying a lost connection before it raises.
PUBLISH_RETRY_SECONDS = 1.0
#: The reader pings Redis after this many idle seconds, and gives the
#: connection up when it heard nothing for three times as long.
HEALTH_INTERVAL = 5.0
#: Reconnection delays: the first, and the most it doubles to.
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 2.0
#: How long subscribing waits for Redis to confirm the subscription.
CONFIRM_TIMEOUT = 5.0


def describe_url(url: str) -> str:
    """``url`` without its password, for logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 6379
    return f"{parts.scheme}://{host}:{port}{parts.path}"


class RedisBackend(Backend):
    """Publishes through Redis and delivers what Redis sends to this process.

    :param url: ``redis://host:port/db`` or ``rediss://...`` (TLS), with
        ``user:password@`` if Redis wants them; anything
        :meth:`redis.asyncio.Redis.from_url` accepts.
    :param logger: where outages and recoveries are logged.
    """

    def __init__(self, url: str, logger: Logger) -> None:
        super().__init__(url, logger)
        self.where = describe_url(url)
        # No retries inside redis-py: this backend retries publishing and
        # reconnects the reader itself, so that how long each takes, and
        # what is logged, does not depend on the redis-py version.
        self.client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._commands: set[asyncio.Task[None]] = set()
        # Futures of subscribers waiting for Redis to confirm a SUBSCRIBE,
        # per channel, oldest first: Redis confirms in the order it was asked.
        self._confirming: dict[str, deque[asyncio.Future[None]]] = {}
        self._down_since: float | None = None

    async def connect(self) -> None:
        """Check that Redis answers, then start the reader and wait until it listens.

        :raises BroadcastUnavailableError: Redis cannot be reached.
        """
        try:
            await self.client.ping()
        except CONNECTION_ERRORS as error:
            await self.client.aclose()
            raise BroadcastUnavailableError(
                f"Cannot reach Redis at {self.where} (BROADCAST_URL): {error}"
            ) from error
        self._reader = asyncio.create_task(self._read_forever(), name=f"broadcast reader ({self.where})")
        try:
            await asyncio.wait_for(self._connected.wait(), CONFIRM_TIMEOUT)
        except TimeoutError:
            pass  # the reader keeps trying, and logs why

    async def close(self) -> None:
        """Stop the reader, end every subscriber's iteration, close the connections."""
        tasks = [task for task in (self._reader, *self._commands) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._reader = None
        await super().close()
        await self.client.aclose()

    async def publish(self, channel: str, message: str) -> None:
        """Publish ``message``, retrying a lost connection for up to a second.

        :raises BroadcastUnavailableError: Redis still cannot be reached
            (at once, without retrying, while the reader knows Redis is down).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PUBLISH_RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                await self.client.publish(channel, message)
                return
            except CONNECTION_ERRORS as error:
                if self._down_since is not None or loop.time() + delay > deadline:
                    self._lost(error)
                    raise BroadcastUnavailableError(
                        f"Could not publish to {channel!r}: Redis at {self.where} cannot be"
                        f" reached ({error})."
                    ) from error
            await asyncio.sleep(delay)
            delay *= 2

    async def join(self, subscriber: Subscriber) -> None:
        """Add ``subscriber``; for a new channel, subscribe and wait for Redis to confirm.

        During an outage it returns at once: the channel is subscribed when
        the reader reconnects.
        """
        channel = subscriber.channel
        first = self.hub.add(subscriber)
        pubsub = self._pubsub
        waiting = self._confirming.get(channel)
        if first and pubsub is not None:
            future = asyncio.get_running_loop().create_future()
            self._confirming.setdefault(channel, deque()).append(future)
            self._command(pubsub, functools.partial(pubsub.subscribe, channel))
        elif waiting:
            future = waiting[-1]
        else:
            return
        try:
            # Shielded: a subscriber cancelled while waiting (its client went
            # away) must not cancel the future other subscribers wait for.
            await asyncio.wait_for(asyncio.shield(future), CONFIRM_TIMEOUT)
        except TimeoutError:
            pass  # the reader's health check will notice a dead connection

    def leave(self, subscriber: Subscriber) -> None:
        """Remove ``subscriber``; unsubscribe in the background when it was the last."""
        subscriber.close()
        pubsub = self._pubsub
        if self.hub.remove(subscriber) and pubsub is not None:
            self._command(pubsub, functools.partial(pubsub.unsubscribe, subscriber.channel))

    def _command(self, pubsub: PubSub, command: Callable[[], Awaitable[Any]]) -> None:
        # Sent from a task of its own, never from the subscriber's: a
        # subscriber cancelled half-way through writing a command would
        # leave the shared connection with half a command on it.
        task = asyncio.get_running_loop().create_task(self._send(pubsub, command))
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def _send(self, pubsub: PubSub, command: Callable[[], Awaitable[Any]]) -> None:
        if pubsub is not self._pubsub:
            return  # that connection is gone; the reader resubscribes
        try:
            await command()
        except CONNECTION_ERRORS:
            pass  # the reader notices too, and reconnects

    # -- the reader -------------------------------------------------------------

    async def _read_forever(self) -> None:
        delay = RECONNECT_FIRST
        while True:
            pubsub = self.client.pubsub()
            try:
                await self._read(pubsub)
            except CONNECTION_ERRORS as error:
                self._lost(error)
            except Exception as error:
                # Not a lost connection, but the reader must live on: without
                # it this process would never hear a message again.
                self.logger.exception(f"The broadcast's Redis reader failed; reconnecting to {self.where}")
                self._lost(error)
            finally:
                self._pubsub = None
                self._release_waiters()
                await _close_quietly(pubsub)
            if self._down_since is None:
                delay = RECONNECT_FIRST
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    async def _read(self, pubsub: PubSub) -> None:
        await pubsub.ping()  # connects, or raises
        # From here on join() subscribes new channels itself; the ones
        # subscribed before are taken in this same step, with no await in
        # between, so none is missed or left out.
        self._pubsub = pubsub
        channels = self.hub.channels()
        if channels:
            await pubsub.subscribe(*channels)
        self._recovered(len(channels))
        self._connected.set()
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while True:
            message = await pubsub.get_message(timeout=HEALTH_INTERVAL)
            if message is not None:
                heard = loop.time()
                self._handle(message)
            elif loop.time() - heard > 3 * HEALTH_INTERVAL:
                raise RedisConnectionError(f"no answer from Redis for {3 * HEALTH_INTERVAL:.0f} s")
            else:
                await pubsub.ping()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            self.hub.deliver(message["channel"], message["data"])
        elif kind == "subscribe":
            waiting = self._confirming.get(message["channel"])
            if waiting:
                future = waiting.popleft()
                if not waiting:
                    del self._confirming[message["channel"]]
                if not future.done():
                    future.set_result(None)

    def _release_waiters(self) -> None:
        # The connection is gone: nobody waits for its confirmations, and
        # the channels are subscribed again on the next connection.
        for waiting in self._confirming.values():
            for future in waiting:
                if not future.done():
                    future.set_result(None)
        self._confirming.clear()

    def _lost(self, error: BaseException) -> None:
        if self._down_since is not None:
            return  # logged once per outage, not per message
        self._down_since = time.monotonic()
        self.logger.warning(
            f"Lost the connection to Redis at {self.where} ({type(error).__name__}: {error})."
            " Publishing fails until it is back; subscribers are resubscribed when it is."
        )

    def _recovered(self, channels: int) -> None:
        if self._down_since is None:
            return
        seconds = time.monotonic() - self._down_since
        self._down_since = None
        self.logger.warning(
            f"Reconnected to Redis at {self.where} after {seconds:.1f} s;"
            f" resubscribed to {channels} channel(s). Messages published meanwhile are lost."
        )


async def _close_quietly(pubsub: PubSub) -> None:
    try:
        await pubsub.aclose()
    except CONNECTION_ERRORS:
        pass


__all__ = ["RedisBackend", "describe_url"]
